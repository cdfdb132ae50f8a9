/*
 * grep: lines of FILEs (or standard input) matching a basic regular
 * expression (lib/posix/regex.h). Exit 0 if a line was selected, 1 if none,
 * 2 on an error.
 */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/regex.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: grep [-ivncq] PATTERN [FILE...]\n"
			    "  -i ignore case  -v select non-matching lines  -n line numbers\n"
			    "  -c count lines  -q quiet (status only)\n";

static bool opt_v, opt_n, opt_c, opt_q;
static struct regex re;
static struct inbuf in;
static struct outbuf out;

static long grep(int fd, const char *name, bool show_name)
{
	in_init(&in, fd);
	long selected = 0, lineno = 0;
	for (;;) {
		char *l;
		ssize_t n = in_line(&in, &l);
		if (n == 0)
			break;
		if (n < 0) {
			warn_errno("grep", name, n);
			return -1;
		}
		lineno++;
		size_t len = (size_t)n - (l[n - 1] == '\n');
		if (re_search(&re, l, len) == opt_v)
			continue;
		selected++;
		if (opt_q)
			return selected;
		if (opt_c)
			continue;
		if (show_name)
			out_printf(&out, "%s:", name);
		if (opt_n)
			out_printf(&out, "%ld:", lineno);
		out_write(&out, l, len);
		out_write(&out, "\n", 1);
	}
	if (opt_c) {
		if (show_name)
			out_printf(&out, "%s:", name);
		out_printf(&out, "%ld\n", selected);
	}
	return selected;
}

int main(int argc, char **argv)
{
	bool icase = false;
	int c;
	while ((c = getopt(argc, argv, "hivncq")) != -1) {
		switch (c) {
		case 'h':
			fdprintf(1, "%s", usage);
			return 0;
		case 'i': icase = true; break;
		case 'v': opt_v = true; break;
		case 'n': opt_n = true; break;
		case 'c': opt_c = true; break;
		case 'q': opt_q = true; break;
		default:
			fdprintf(2, "%s", usage);
			return EXIT_USAGE;
		}
	}
	if (optind == argc) {
		fdprintf(2, "%s", usage);
		return EXIT_USAGE;
	}
	char err[80];
	if (re_compile(&re, argv[optind++], icase, err, sizeof(err)) < 0) {
		fdprintf(2, "grep: %s\n", err);
		return EXIT_USAGE;
	}
	out_init(&out, 1);
	long total = 0;
	bool error = false;
	if (optind == argc) {
		long r = grep(0, "(standard input)", false);
		error = r < 0;
		total = MAX(r, 0);
	}
	for (int i = optind; i < argc && !(opt_q && total); i++) {
		int fd = strcmp(argv[i], "-") == 0 ? 0 : open(argv[i], O_RDONLY, 0);
		if (fd < 0) {
			warn_errno("grep", argv[i], fd);
			error = true;
			continue;
		}
		long r = grep(fd, argv[i], argc - optind > 1);
		if (fd)
			close(fd);
		error |= r < 0;
		total += MAX(r, 0);
	}
	if (out_flush(&out) < 0)
		error = true;
	return error && !(opt_q && total) ? 2 : total ? 0 : 1;
}
