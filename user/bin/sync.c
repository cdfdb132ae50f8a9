/* sync: write everything the file system has cached to the disk. */
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

int main(int argc, char **argv)
{
	if (argc > 1) {
		bool help = strcmp(argv[1], "-h") == 0;
		fdprintf(help ? 1 : 2, "usage: sync\n  flush the file system's cache to disk\n");
		return help ? 0 : 2;
	}
	int r = sync();
	if (r < 0) {
		warn_errno("sync", "/", r);
		return 1;
	}
	return 0;
}
