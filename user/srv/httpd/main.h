/*
 * Between the Exo program's files (main.c, main_disk.c): the core's
 * interface plus the disk hooks main_disk.c adds with --disk.
 */
#ifndef EXO_HTTPD_MAIN_H
#define EXO_HTTPD_MAIN_H

#include <user/srv/httpd/core.h>

struct fs;
/* The file system and document root the group hook reads under. */
void exo_disk_init(struct fs *fs, const char *root);
/* --seed: the site in the program's image written under the root, each page
 * with its objects after it. 0 or a negative errno. */
int exo_seed_site(void);
/* Before a stat or read: blocks read from the disk so far, and the TSC.
 * After it: count it, and its time, as one that waited on the disk if it
 * read any. */
struct disk_mark {
	uint64_t reads, tsc;
};
struct disk_mark exo_disk_mark(void);
void exo_disk_waited(struct disk_mark before);
/* The "disk:" line of /status into buf: its length (0 without a disk). */
size_t exo_disk_status(char *buf, size_t size);
/* Sets the group hook. */
void exo_disk_hooks(struct http_hooks *h);

#endif
