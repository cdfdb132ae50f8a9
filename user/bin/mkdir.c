/* mkdir: make directories (-p: with their parents, and no error if there). */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: mkdir [-p] DIR...\n  -p make parents as needed\n";

static int make_parents(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int r = mkdir(path, 0777);
		*p = '/';
		if (r < 0 && r != -EEXIST)
			return r;
	}
	int r = mkdir(path, 0777);
	return r == -EEXIST ? 0 : r;
}

int main(int argc, char **argv)
{
	bool parents = false;
	int c;
	while ((c = getopt(argc, argv, "hp")) != -1) {
		if (c == 'h') {
			fdprintf(1, "%s", usage);
			return 0;
		}
		if (c != 'p') {
			fdprintf(2, "%s", usage);
			return EXIT_USAGE;
		}
		parents = true;
	}
	if (optind == argc) {
		fdprintf(2, "%s", usage);
		return EXIT_USAGE;
	}
	int st = 0;
	for (int i = optind; i < argc; i++) {
		int r = parents ? make_parents(argv[i]) : mkdir(argv[i], 0777);
		if (r < 0) {
			warn_errno("mkdir", argv[i], r);
			st = 1;
		}
	}
	return st;
}
