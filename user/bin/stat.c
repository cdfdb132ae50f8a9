/* stat: what the file system says about each PATH. */
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

static const char *kind(uint32_t m)
{
	return S_ISDIR(m) ? "directory" : S_ISREG(m) ? "regular file" : S_ISLNK(m) ? "symbolic link"
	       : S_ISCHR(m) ? "character device" : S_ISFIFO(m) ? "fifo" : "other";
}

int main(int argc, char **argv)
{
	if (argc < 2 || argv[1][0] == '-') {
		bool help = argc > 1 && strcmp(argv[1], "-h") == 0;
		fdprintf(help ? 1 : 2, "usage: stat PATH...\n  size, type, mode, links, inode, times\n");
		return help ? 0 : 2;
	}
	int status = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int r = lstat(argv[i], &st);
		if (r < 0) {
			warn_errno("stat", argv[i], r);
			status = 1;
			continue;
		}
		fdprintf(1,
			 "  File: %s\n  Size: %ld  Blocks: %ld  %s\n  Mode: %04o  Links: %lu  Inode: %lu"
			 "  Uid: %u  Gid: %u\n  Modify: %ld.%09ld  Change: %ld.%09ld\n",
			 argv[i], st.st_size, st.st_blocks, kind(st.st_mode), st.st_mode & 07777,
			 st.st_nlink, st.st_ino, st.st_uid, st.st_gid, st.st_mtim.tv_sec,
			 st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	}
	return status;
}
