/* tail: the last lines of FILE or standard input (-n +K: from line K on). */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: tail [-n [+]LINES | -LINES] [FILE]\n"
			    "  print the last LINES (10) lines, or from line +LINES on\n";

static struct inbuf in;

int main(int argc, char **argv)
{
	long lines = 10;
	bool from_start = false;
	int c;
	getopt_count_form(argc, argv);
	while ((c = getopt(argc, argv, "hn:")) != -1) {
		char *end;
		switch (c) {
		case 'h': fdprintf(1, "%s", usage); return 0;
		case 'n':
			from_start = optarg[0] == '+';
			lines = strtol(optarg + from_start, &end, 10);
			if (*end || lines < 0 || lines > 1000000) {
				fdprintf(2, "tail: bad line count '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		default: fdprintf(2, "%s", usage); return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		fdprintf(2, "%s", usage);
		return EXIT_USAGE;
	}
	const char *name = optind < argc ? argv[optind] : "stdin";
	int fd = optind < argc ? open(name, O_RDONLY, 0) : 0;
	if (fd < 0) {
		warn_errno("tail", name, fd);
		return 1;
	}
	in_init(&in, fd);
	/* the last `lines` lines, in a ring of copies */
	char **ring = from_start || lines == 0 ? NULL : calloc((size_t)lines, sizeof(char *));
	size_t *lens = ring ? calloc((size_t)lines, sizeof(size_t)) : NULL;
	if (!from_start && lines && (!ring || !lens)) {
		fdprintf(2, "tail: out of memory\n");
		return 1;
	}
	long seen = 0;
	bool partial = false; /* the last piece had no newline: same line goes on */
	for (;;) {
		char *l;
		ssize_t n = in_line(&in, &l);
		if (n < 0) {
			warn_errno("tail", name, n);
			return 1;
		}
		if (n == 0)
			break;
		bool ends = l[n - 1] == '\n';
		long line_no = partial ? seen : seen + 1;
		if (from_start) {
			if (line_no >= lines)
				write_all(1, l, (size_t)n);
		} else if (lines) {
			long slot = (line_no - 1) % lines;
			size_t old = partial ? lens[slot] : 0;
			char *s = malloc(old + (size_t)n);
			if (!s) {
				fdprintf(2, "tail: out of memory\n");
				return 1;
			}
			if (old)
				memcpy(s, ring[slot], old);
			memcpy(s + old, l, (size_t)n);
			free(ring[slot]);
			ring[slot] = s;
			lens[slot] = old + (size_t)n;
		}
		seen = line_no;
		partial = !ends;
	}
	if (!from_start && lines)
		for (long k = MAX(0, seen - lines); k < seen; k++)
			write_all(1, ring[k % lines], lens[k % lines]);
	return 0;
}
