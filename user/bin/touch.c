/*
 * touch: create each FILE that does not exist. (Setting the times of one
 * that does needs utimensat, which the POSIX layer does not have yet: an
 * existing file is left as it is.)
 */
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

int main(int argc, char **argv)
{
	if (argc < 2 || argv[1][0] == '-') {
		bool help = argc > 1 && strcmp(argv[1], "-h") == 0;
		fdprintf(help ? 1 : 2, "usage: touch FILE...\n  create files that do not exist\n");
		return help ? 0 : 2;
	}
	int st = 0;
	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i], O_WRONLY | O_CREAT, 0666);
		if (fd < 0) {
			warn_errno("touch", argv[i], fd);
			st = 1;
			continue;
		}
		close(fd);
	}
	return st;
}
