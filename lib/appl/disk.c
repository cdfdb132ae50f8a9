/*
 * The appliance's file system: lib/fs on the machine's disk through XN
 * (lib/fs/fsdev_xn.h), mounted once for the program (interface in
 * lib/appl/appl.h: appl_fs_mount, appl_fs_unmount, appl_fs_dev).
 *
 * A disk with XN and lib/fs on it is mounted as it is (the journal
 * replays). Only when asked (format) is a disk without them given XN's
 * structures and an empty file system: that erases the disk, so a server
 * does it only on the operator's word (kvd --format), and XN's format
 * needs the first env's key, so only a server started as the first env
 * can. Errors: the negative errno of lib/fs (-ENODEV no disk or no XN on
 * it, -EEXIST ...) or -E_* of the kernel.
 */
#include <lib/appl/appl.h>
#include <lib/base/libos.h>
#include <lib/fs/fs.h>
#include <lib/fs/fsdev_xn.h>

#define JOURNAL_BLOCKS 256 /* lib/fs's default, as test_fs_disk formats */

static struct fsdev dev;
static struct fs *mounted;

int appl_fs_mount(bool format, struct fs **out)
{
	if (mounted) {
		*out = mounted;
		return 0;
	}
	int r = fsdev_xn_open(&dev, CAP_SELF);
	if (r == -ENODEV && format) {
		long x = sys_xn_format(CAP_SELF);
		if (x < 0)
			return (int)x;
		r = fsdev_xn_open(&dev, CAP_SELF);
	}
	if (r < 0)
		return r;
	r = fs_mount(&mounted, &dev);
	if (r < 0 && format) {
		int f = fs_format(&dev, JOURNAL_BLOCKS);
		r = f < 0 ? f : fs_mount(&mounted, &dev);
	}
	if (r < 0) {
		mounted = NULL;
		fsdev_xn_close(&dev);
		return r;
	}
	*out = mounted;
	return 0;
}

int appl_fs_unmount(void)
{
	if (!mounted)
		return 0;
	int r = fs_unmount(mounted);
	int c = fsdev_xn_close(&dev);
	mounted = NULL;
	return r < 0 ? r : c;
}

const struct fsdev *appl_fs_dev(void)
{
	return mounted ? &dev : NULL;
}
