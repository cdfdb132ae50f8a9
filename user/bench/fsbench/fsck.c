/*
 * fsbench's check of the tree after its run: lib/fs's fsck through a device
 * of our own (lib/fs's headers only: its errno names are lib/posix's too,
 * so this is apart from main.c). The caller has unmounted lib/posix's
 * instance first.
 */
#include <lib/base/libos.h>
#include <lib/fs/fs.h>
#include <lib/fs/fsdev_xn.h>
#include "fsbench.h"

int fsbench_fsck(uint64_t key, uint64_t *files, uint64_t *dirs, char *msg, size_t size)
{
	struct fsdev dev;
	struct fsck_report rep;
	int r = fsdev_xn_open(&dev, key);
	if (r < 0) {
		snprintf(msg, size, "cannot open the device (%d)", r);
		return r;
	}
	r = fs_fsck(&dev, false, &rep);
	fsdev_xn_close(&dev);
	*files = rep.files, *dirs = rep.dirs;
	strlcpy(msg, rep.msg, size);
	return r;
}
