/* cat: copy each FILE (or standard input, also for "-") to standard output. */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: cat [FILE...]\n"
			    "  copy each FILE, or standard input, to standard output\n";

static char buf[8192];

static int copy(int fd, const char *name)
{
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n < 0) {
			warn_errno("cat", name, n);
			return 1;
		}
		ssize_t w = write_all(1, buf, (size_t)n);
		if (w < 0) {
			warn_errno("cat", "write", w);
			return 1;
		}
	}
}

int main(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "hu")) != -1) {
		if (c == 'h') {
			fdprintf(1, "%s", usage);
			return 0;
		}
		if (c != 'u') {
			fdprintf(2, "%s", usage);
			return EXIT_USAGE;
		}
	}
	if (optind == argc)
		return copy(0, "stdin");
	int st = 0;
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0) {
			st |= copy(0, "stdin");
			continue;
		}
		int fd = open(argv[i], O_RDONLY, 0);
		if (fd < 0) {
			warn_errno("cat", argv[i], fd);
			st = 1;
			continue;
		}
		st |= copy(fd, argv[i]);
		close(fd);
	}
	return st;
}
