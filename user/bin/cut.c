/* cut: selected fields (-f, split by -d, a tab by default) or characters (-c) of each line. */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: cut -f LIST [-d DELIM] [-s] [FILE...] | cut -c LIST [FILE...]\n"
			    "  LIST: N, N-M, N-, -M, separated by commas (from 1)\n";

#define RANGES_MAX 32
static struct {
	long lo, hi;
} ranges[RANGES_MAX];
static int nranges;
static bool by_char, only_delimited;
static char delim = '\t';
static struct inbuf in;
static struct outbuf out;

static bool selected(long i)
{
	for (int r = 0; r < nranges; r++)
		if (i >= ranges[r].lo && i <= ranges[r].hi)
			return true;
	return false;
}

static int parse_list(const char *s)
{
	while (*s) {
		if (nranges == RANGES_MAX)
			return -1;
		char *end;
		long lo = 1, hi;
		if (*s != '-') {
			lo = strtol(s, &end, 10);
			if (end == s || lo < 1)
				return -1;
			s = end;
		}
		hi = lo;
		if (*s == '-') {
			s++;
			hi = 0x7fffffffffffffffL;
			if (isdigit(*s)) {
				hi = strtol(s, &end, 10);
				s = end;
			}
		}
		if (hi < lo)
			return -1;
		ranges[nranges].lo = lo;
		ranges[nranges++].hi = hi;
		if (*s == ',')
			s++;
		else if (*s)
			return -1;
	}
	return nranges ? 0 : -1;
}

static void cut_line(const char *l, size_t len)
{
	if (by_char) {
		for (size_t i = 0; i < len; i++)
			if (selected((long)i + 1))
				out_write(&out, l + i, 1);
		out_write(&out, "\n", 1);
		return;
	}
	bool has = false;
	for (size_t i = 0; i < len && !has; i++)
		has = l[i] == delim;
	if (!has) {
		if (!only_delimited) {
			out_write(&out, l, len);
			out_write(&out, "\n", 1);
		}
		return;
	}
	long field = 1;
	bool first = true;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && l[i] != delim)
			continue;
		if (selected(field)) {
			if (!first)
				out_write(&out, &delim, 1);
			out_write(&out, l + start, i - start);
			first = false;
		}
		field++;
		start = i + 1;
	}
	out_write(&out, "\n", 1);
}

static int cut(int fd, const char *name)
{
	in_init(&in, fd);
	for (;;) {
		char *l;
		ssize_t n = in_line(&in, &l);
		if (n == 0)
			return 0;
		if (n < 0) {
			warn_errno("cut", name, n);
			return 1;
		}
		cut_line(l, (size_t)n - (l[n - 1] == '\n'));
	}
}

int main(int argc, char **argv)
{
	int c;
	const char *list = NULL;
	while ((c = getopt(argc, argv, "hf:c:d:s")) != -1) {
		switch (c) {
		case 'h':
			fdprintf(1, "%s", usage);
			return 0;
		case 'f':
		case 'c':
			if (list) {
				fdprintf(2, "cut: only one of -f and -c\n");
				return EXIT_USAGE;
			}
			list = optarg;
			by_char = c == 'c';
			break;
		case 'd':
			if (strlen(optarg) != 1) {
				fdprintf(2, "cut: the delimiter must be one character\n");
				return EXIT_USAGE;
			}
			delim = optarg[0];
			break;
		case 's': only_delimited = true; break;
		default:
			fdprintf(2, "%s", usage);
			return EXIT_USAGE;
		}
	}
	if (!list || parse_list(list) < 0) {
		fdprintf(2, list ? "cut: bad list '%s'\n" : "%s", list ? list : usage);
		return EXIT_USAGE;
	}
	out_init(&out, 1);
	int st = 0;
	if (optind == argc)
		st = cut(0, "stdin");
	for (int i = optind; i < argc; i++) {
		int fd = strcmp(argv[i], "-") == 0 ? 0 : open(argv[i], O_RDONLY, 0);
		if (fd < 0) {
			warn_errno("cut", argv[i], fd);
			st = 1;
			continue;
		}
		st |= cut(fd, argv[i]);
		if (fd)
			close(fd);
	}
	return out_flush(&out) ? 1 : st;
}
