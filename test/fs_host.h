/*
 * Shared by the file-system host tests: memory for lib/fs from the C
 * library, and a file system on a fresh simulated XN disk (lib/fs/xnsim.c).
 * Include after check.h and the C library's headers, before test/rename.h.
 */
#ifndef EXO_TEST_FS_HOST_H
#define EXO_TEST_FS_HOST_H

#include <stdlib.h>

#include <lib/fs/fs.h>
#include <lib/fs/xnsim.h>

void *fs_alloc(size_t size)
{
	return calloc(1, size);
}

void fs_free(void *p)
{
	free(p);
}

static uint64_t fsh_clock;
static uint64_t fsh_now(void *ctx)
{
	(void)ctx;
	return fsh_clock += 1000;
}

/* A formatted and mounted file system of nblocks blocks. */
static inline struct fs *fsh_new(struct xnsim **xp, uint64_t nblocks, uint32_t journal)
{
	struct xnsim *x;
	struct fs *fs = NULL;
	if (xnsim_format(&x, nblocks) < 0)
		return NULL;
	struct fsdev d = xnsim_dev(x);
	d.now = fsh_now;
	if (fs_format(&d, journal) < 0 || fs_mount(&fs, &d) < 0) {
		xnsim_close(x);
		return NULL;
	}
	*xp = x;
	return fs;
}

/* Mounts the file system on an existing sim. */
static inline struct fs *fsh_mount(struct xnsim *x)
{
	struct fsdev d = xnsim_dev(x);
	d.now = fsh_now;
	struct fs *fs = NULL;
	int r = fs_mount(&fs, &d);
	if (r < 0)
		fprintf(stderr, "fs_mount: %d\n", r);
	return r < 0 ? NULL : fs;
}

/* fsck's count of problems (after printing the first on stderr). */
static inline int fsh_fsck(struct xnsim *x, struct fsck_report *rep)
{
	struct fsdev d = xnsim_dev(x);
	int r = fs_fsck(&d, true, rep);
	if (r != 0)
		fprintf(stderr, "fsck: %d problems: %s\n", r, rep->msg);
	return r;
}

#endif
