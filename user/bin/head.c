/* head: the first lines of each FILE or standard input. */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: head [-n LINES | -LINES | -c BYTES] [FILE...]\n"
			    "  print the first LINES (10) lines, or the first BYTES bytes\n";
static long bytes = -1;

static struct inbuf in;

static int head_bytes(int fd, const char *name)
{
	static char buf[8192];
	for (long left = bytes; left > 0;) {
		ssize_t n = read(fd, buf, (size_t)MIN(left, (long)sizeof(buf)));
		if (n == 0)
			return 0;
		if (n < 0) {
			warn_errno("head", name, n);
			return 1;
		}
		if (write_all(1, buf, (size_t)n) < 0)
			return 1;
		left -= n;
	}
	return 0;
}

static int head(int fd, const char *name, long lines)
{
	if (bytes >= 0)
		return head_bytes(fd, name);
	in_init(&in, fd);
	for (long k = 0; k < lines;) {
		char *l;
		ssize_t n = in_line(&in, &l);
		if (n == 0)
			return 0;
		if (n < 0) {
			warn_errno("head", name, n);
			return 1;
		}
		if (write_all(1, l, (size_t)n) < 0)
			return 1;
		k += l[n - 1] == '\n';
	}
	return 0;
}

int main(int argc, char **argv)
{
	long lines = 10;
	int c;
	getopt_count_form(argc, argv);
	while ((c = getopt(argc, argv, "hn:c:")) != -1) {
		char *end;
		switch (c) {
		case 'h': fdprintf(1, "%s", usage); return 0;
		case 'c':
			bytes = strtol(optarg, &end, 10);
			if (*end || bytes < 0) {
				fdprintf(2, "head: bad byte count '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			lines = strtol(optarg, &end, 10);
			if (*end || lines < 0) {
				fdprintf(2, "head: bad line count '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		default: fdprintf(2, "%s", usage); return EXIT_USAGE;
		}
	}
	if (optind == argc)
		return head(0, "stdin", lines);
	int st = 0;
	for (int i = optind; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY, 0);
		if (fd < 0) {
			warn_errno("head", argv[i], fd);
			st = 1;
			continue;
		}
		if (argc - optind > 1)
			fdprintf(1, "%s==> %s <==\n", i > optind ? "\n" : "", argv[i]);
		st |= head(fd, argv[i], lines);
		close(fd);
	}
	return st;
}
