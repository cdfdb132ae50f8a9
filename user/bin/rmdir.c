/* rmdir: remove empty directories. */
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

int main(int argc, char **argv)
{
	if (argc < 2 || argv[1][0] == '-') {
		bool help = argc > 1 && strcmp(argv[1], "-h") == 0;
		fdprintf(help ? 1 : 2, "usage: rmdir DIR...\n  remove empty directories\n");
		return help ? 0 : 2;
	}
	int st = 0;
	for (int i = 1; i < argc; i++) {
		int r = rmdir(argv[i]);
		if (r < 0) {
			warn_errno("rmdir", argv[i], r);
			st = 1;
		}
	}
	return st;
}
