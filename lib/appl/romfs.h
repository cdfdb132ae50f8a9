/*
 * Files carried in the appliance's own image (lib/appl/romfs.c): a
 * read-only tree that the build links into a program (tools/mkromfs turns
 * a host directory into a table of paths, sizes, times and contents), for
 * an appliance that must serve content before any disk is there, the way
 * a unikernel carries its site. Programs without a tree see an empty one.
 *
 * Paths are absolute, '/'-separated, without "." or ".." segments;
 * directories are implied by the files under them ("/" always exists).
 */
#ifndef EXO_LIB_APPL_ROMFS_H
#define EXO_LIB_APPL_ROMFS_H

#include <inc/types.h>

struct romfs_entry {
	const char *re_path;
	const uint8_t *re_data;
	uint64_t re_size;
	int64_t re_mtime; /* seconds since 1970 */
};

/* 0 and the file's size, time and kind; -E_NOT_FOUND when absent. A
 * directory's size is 0 and its time the newest of its files'. */
int romfs_stat(const char *path, uint64_t *size, int64_t *mtime, bool *is_dir);
/* The file's bytes (immutable, as long as the program runs), or NULL. */
const uint8_t *romfs_data(const char *path, uint64_t *size);
/* each(arg, name, is_dir) once per entry directly under dir: 0, or
 * -E_NOT_FOUND when dir is not a directory. */
int romfs_list(const char *dir, void (*each)(void *arg, const char *name, bool is_dir),
	       void *arg);
/* Files in the tree, and the i-th (i < romfs_count()) in path order. */
size_t romfs_count(void);
const struct romfs_entry *romfs_entry(size_t i);

#endif
