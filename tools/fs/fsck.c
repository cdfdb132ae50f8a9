/*
 * fsck IMAGE: checks a disk image of Exo's library file system: XN's
 * reconstruction walk, the journal replayed (as a mount would), then lib/fs's
 * fsck (lib/fs/fsck.c). The image file is not changed. Exit 0 when clean.
 */
#include "image.h"

int main(int argc, char **argv)
{
	struct xnsim *x;
	if (argc != 2) {
		fprintf(stderr, "usage: fsck IMAGE\n");
		return 2;
	}
	if (image_read(argv[1], &x) < 0) {
		fprintf(stderr, "fsck: %s: not an XN disk image\n", argv[1]);
		return 2;
	}
	int bad = 0;
	if (xnsim_walk_errors(x)) {
		printf("fsck: XN walk: %lu problems: %s\n", (unsigned long)xnsim_walk_errors(x),
		       xnsim_walk_error(x));
		bad = 1;
	}
	struct fsdev d = xnsim_dev(x);
	struct fsck_report rep;
	int r = fs_fsck(&d, true, &rep);
	if (rep.journal_dirty) { /* as a mount would: replay, then check again */
		struct fs *fs;
		printf("fsck: journal not empty: replaying it (in memory)\n");
		if ((r = fs_mount(&fs, &d)) == 0 && (r = fs_unmount(fs)) == 0)
			r = fs_fsck(&d, true, &rep);
	}
	if (r < 0) {
		printf("fsck: could not check: error %d\n", r);
		return 1;
	}
	printf("fsck: %lu files, %lu directories, %lu symlinks, %lu blocks in use, %lu problems%s%s\n",
	       (unsigned long)rep.files, (unsigned long)rep.dirs, (unsigned long)rep.symlinks,
	       (unsigned long)rep.blocks_claimed, (unsigned long)rep.problems,
	       rep.problems ? ": " : "", rep.problems ? rep.msg : "");
	xnsim_close(x);
	return bad || rep.problems ? 1 : 0;
}
