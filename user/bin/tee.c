/* tee: copy standard input to standard output and to each FILE. */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: tee [-a] [FILE...]\n  -a append to the files\n";
static char buf[8192];

int main(int argc, char **argv)
{
	int c, flags = O_WRONLY | O_CREAT | O_TRUNC;
	while ((c = getopt(argc, argv, "ha")) != -1) {
		if (c == 'h') {
			fdprintf(1, "%s", usage);
			return 0;
		}
		if (c != 'a') {
			fdprintf(2, "%s", usage);
			return EXIT_USAGE;
		}
		flags = O_WRONLY | O_CREAT | O_APPEND;
	}
	int fds[FD_MAX], nfds = 0, st = 0;
	fds[nfds++] = 1;
	for (int i = optind; i < argc; i++) {
		if (nfds == FD_MAX) {
			fdprintf(2, "tee: too many files\n");
			return 1;
		}
		int fd = open(argv[i], flags, 0666);
		if (fd < 0) {
			warn_errno("tee", argv[i], fd);
			st = 1;
			continue;
		}
		fds[nfds++] = fd;
	}
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0) {
			warn_errno("tee", "read", n);
			return 1;
		}
		for (int i = 0; i < nfds; i++)
			if (fds[i] >= 0 && write_all(fds[i], buf, (size_t)n) < 0) {
				warn_errno("tee", i ? argv[optind + i - 1] : "stdout", -EIO);
				fds[i] = -1;
				st = 1;
			}
	}
	return st;
}
