/* ln: make a hard link, or with -s a symbolic one, to TARGET named LINK. */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: ln [-s] TARGET LINK\n  -s a symbolic link\n";

int main(int argc, char **argv)
{
	bool sym = false;
	int c;
	while ((c = getopt(argc, argv, "hs")) != -1) {
		if (c == 'h') {
			fdprintf(1, "%s", usage);
			return 0;
		}
		if (c != 's') {
			fdprintf(2, "%s", usage);
			return EXIT_USAGE;
		}
		sym = true;
	}
	if (argc - optind != 2) {
		fdprintf(2, "%s", usage);
		return EXIT_USAGE;
	}
	int r = sym ? symlink(argv[optind], argv[optind + 1]) : link(argv[optind], argv[optind + 1]);
	if (r < 0) {
		warn_errno("ln", argv[optind + 1], r);
		return 1;
	}
	return 0;
}
