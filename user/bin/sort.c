/*
 * sort: the lines of FILEs (or standard input), sorted: bytewise, or by
 * leading number (-n); reversed (-r); only the first of equal lines (-u).
 * A stable merge sort, so equal lines keep their order.
 */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: sort [-nru] [FILE...]\n"
			    "  -n numeric  -r reverse  -u unique\n";

static bool opt_n, opt_r, opt_u;
static char **lines;
static size_t nlines, cap;
static struct inbuf in;

static int add_lines(int fd, const char *name)
{
	in_init(&in, fd);
	char *pending = NULL; /* a line longer than the buffer, so far */
	size_t plen = 0;
	for (;;) {
		char *l;
		ssize_t n = in_line(&in, &l);
		if (n < 0) {
			warn_errno("sort", name, n);
			return 1;
		}
		if (n == 0 && !pending)
			return 0;
		bool ends = n == 0 || l[n - 1] == '\n';
		size_t keep = (size_t)n - (n > 0 && l[n - 1] == '\n');
		char *s = malloc(plen + keep + 1);
		if (!s) {
			fdprintf(2, "sort: out of memory\n");
			return 1;
		}
		if (pending)
			memcpy(s, pending, plen);
		memcpy(s + plen, l, keep);
		s[plen + keep] = '\0';
		free(pending);
		pending = s;
		plen += keep;
		if (!ends)
			continue;
		if (nlines == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			char **v = malloc(sizeof(char *) * ncap);
			if (!v) {
				fdprintf(2, "sort: out of memory\n");
				return 1;
			}
			if (lines)
				memcpy(v, lines, sizeof(char *) * nlines);
			free(lines);
			lines = v;
			cap = ncap;
		}
		lines[nlines++] = pending;
		pending = NULL;
		plen = 0;
		if (n == 0)
			return 0;
	}
}

static long number(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return strtol(s, NULL, 10);
}

static int compare(const char *a, const char *b)
{
	int c;
	if (opt_n) {
		long x = number(a), y = number(b);
		c = x < y ? -1 : x > y;
		if (c == 0)
			c = strcmp(a, b);
	} else {
		c = strcmp(a, b);
	}
	return opt_r ? -c : c;
}

static void merge_sort(char **v, char **tmp, size_t n)
{
	if (n < 2)
		return;
	size_t h = n / 2;
	merge_sort(v, tmp, h);
	merge_sort(v + h, tmp, n - h);
	size_t i = 0, j = h, k = 0;
	while (i < h && j < n)
		tmp[k++] = compare(v[j], v[i]) < 0 ? v[j++] : v[i++];
	while (i < h)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, sizeof(char *) * n);
}

int main(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "hnru")) != -1) {
		switch (c) {
		case 'h':
			fdprintf(1, "%s", usage);
			return 0;
		case 'n': opt_n = true; break;
		case 'r': opt_r = true; break;
		case 'u': opt_u = true; break;
		default:
			fdprintf(2, "%s", usage);
			return EXIT_USAGE;
		}
	}
	int st = 0;
	if (optind == argc)
		st = add_lines(0, "stdin");
	for (int i = optind; i < argc; i++) {
		int fd = strcmp(argv[i], "-") == 0 ? 0 : open(argv[i], O_RDONLY, 0);
		if (fd < 0) {
			warn_errno("sort", argv[i], fd);
			return 2;
		}
		st |= add_lines(fd, argv[i]);
		if (fd)
			close(fd);
	}
	if (st)
		return 2;
	char **tmp = nlines ? malloc(sizeof(char *) * nlines) : NULL;
	if (nlines && !tmp) {
		fdprintf(2, "sort: out of memory\n");
		return 2;
	}
	merge_sort(lines, tmp, nlines);
	static struct outbuf o;
	out_init(&o, 1);
	for (size_t i = 0; i < nlines; i++) {
		if (opt_u && i && compare(lines[i - 1], lines[i]) == 0)
			continue;
		out_write(&o, lines[i], strlen(lines[i]));
		out_write(&o, "\n", 1);
	}
	return out_flush(&o) ? 2 : 0;
}
