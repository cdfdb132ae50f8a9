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
/* Sets the group and disk_stats hooks. */
void exo_disk_hooks(struct http_hooks *h);

#endif
