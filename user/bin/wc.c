/* wc: count lines, words and bytes of each FILE or standard input. */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: wc [-lwc] [FILE...]\n"
			    "  -l lines, -w words, -c bytes (default: all three)\n";

static bool want_l, want_w, want_c;
static char buf[8192];

struct counts {
	uint64_t lines, words, bytes;
};

static int count(int fd, const char *name, struct counts *k)
{
	bool in_word = false;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n < 0) {
			warn_errno("wc", name, n);
			return 1;
		}
		k->bytes += (uint64_t)n;
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];
			k->lines += c == '\n';
			bool space = isspace(c);
			k->words += !space && !in_word;
			in_word = !space;
		}
	}
}

static void show(const struct counts *k, const char *name)
{
	char line[96];
	size_t n = 0;
	if (want_l)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%7lu", k->lines);
	if (want_w)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%7lu", n ? " " : "", k->words);
	if (want_c)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%7lu", n ? " " : "", k->bytes);
	fdprintf(1, "%s%s%s\n", line, name ? " " : "", name ? name : "");
}

int main(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "hlwc")) != -1) {
		switch (c) {
		case 'h':
			fdprintf(1, "%s", usage);
			return 0;
		case 'l': want_l = true; break;
		case 'w': want_w = true; break;
		case 'c': want_c = true; break;
		default:
			fdprintf(2, "%s", usage);
			return EXIT_USAGE;
		}
	}
	if (!want_l && !want_w && !want_c)
		want_l = want_w = want_c = true;
	struct counts total = { 0 };
	int st = 0;
	if (optind == argc) {
		st = count(0, "stdin", &total);
		show(&total, NULL);
		return st;
	}
	for (int i = optind; i < argc; i++) {
		struct counts k = { 0 };
		int fd = strcmp(argv[i], "-") == 0 ? 0 : open(argv[i], O_RDONLY, 0);
		if (fd < 0) {
			warn_errno("wc", argv[i], fd);
			st = 1;
			continue;
		}
		st |= count(fd, argv[i], &k);
		if (fd)
			close(fd);
		show(&k, argv[i]);
		total.lines += k.lines;
		total.words += k.words;
		total.bytes += k.bytes;
	}
	if (argc - optind > 1)
		show(&total, "total");
	return st;
}
