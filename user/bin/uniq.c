/* uniq: standard input with adjacent repeated lines folded into one. */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: uniq [-cdu] [INPUT]\n"
			    "  -c prefix counts  -d only repeated lines  -u only unique lines\n";

static bool opt_c, opt_d, opt_u;
static struct inbuf in;
static struct outbuf out;
static char prev[8192 + 1];
static size_t prevlen;

static void emit(long count)
{
	if ((opt_d && count < 2) || (opt_u && count > 1))
		return;
	if (opt_c)
		out_printf(&out, "%7ld ", count);
	out_write(&out, prev, prevlen);
	out_write(&out, "\n", 1);
}

int main(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "hcdu")) != -1) {
		switch (c) {
		case 'h':
			fdprintf(1, "%s", usage);
			return 0;
		case 'c': opt_c = true; break;
		case 'd': opt_d = true; break;
		case 'u': opt_u = true; break;
		default:
			fdprintf(2, "%s", usage);
			return EXIT_USAGE;
		}
	}
	int fd = 0;
	if (optind < argc && strcmp(argv[optind], "-") != 0) {
		fd = open(argv[optind], O_RDONLY, 0);
		if (fd < 0) {
			warn_errno("uniq", argv[optind], fd);
			return 1;
		}
	}
	in_init(&in, fd);
	out_init(&out, 1);
	long count = 0;
	for (;;) {
		char *l;
		ssize_t n = in_line(&in, &l);
		if (n < 0) {
			warn_errno("uniq", "read", n);
			return 1;
		}
		if (n == 0)
			break;
		size_t len = (size_t)n - (l[n - 1] == '\n'); /* longer lines compare in pieces */
		if (count && len == prevlen && memcmp(l, prev, len) == 0) {
			count++;
			continue;
		}
		if (count)
			emit(count);
		memcpy(prev, l, len);
		prevlen = len;
		count = 1;
	}
	if (count)
		emit(count);
	return out_flush(&out) ? 1 : 0;
}
