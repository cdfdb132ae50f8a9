/*
 * What tools/fs/mkfs.c and tools/fs/fsck.c share: lib/fs's memory from the C
 * library, and a disk image file read into (and written from) the XN model.
 */
#ifndef EXO_TOOLS_FS_IMAGE_H
#define EXO_TOOLS_FS_IMAGE_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

static inline uint64_t image_now(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int image_write(const char *path, struct xnsim *x)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t n = (size_t)xnsim_nblocks(x) * FS_BLOCK;
	int ok = fwrite(xnsim_disk(x), 1, n, f) == n;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Reads an image into a sim (XN's reconstruction walk runs). */
static inline int image_read(const char *path, struct xnsim **x)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	if (size <= 0 || size % FS_BLOCK) {
		fclose(f);
		return -1;
	}
	uint8_t *img = malloc((size_t)size);
	int ok = img && fread(img, 1, (size_t)size, f) == (size_t)size;
	fclose(f);
	if (!ok) {
		free(img);
		return -1;
	}
	return xnsim_open(x, img, (uint64_t)size / FS_BLOCK, NULL);
}

#endif
