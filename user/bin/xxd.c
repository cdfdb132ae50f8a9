/* xxd: a hex dump of FILE or standard input, 16 bytes a line. */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: xxd [-l LEN] [FILE]\n"
			    "  offset, 16 bytes in hex, and the printable ones\n";
static struct outbuf out;

static void line(uint64_t off, const uint8_t *b, size_t n)
{
	out_printf(&out, "%08lx:", off);
	for (size_t i = 0; i < 16; i++) {
		if (i % 2 == 0)
			out_write(&out, " ", 1);
		if (i < n)
			out_printf(&out, "%02x", b[i]);
		else
			out_write(&out, "  ", 2);
	}
	out_write(&out, "  ", 2);
	for (size_t i = 0; i < n; i++) {
		char c = b[i] >= 32 && b[i] < 127 ? (char)b[i] : '.';
		out_write(&out, &c, 1);
	}
	out_write(&out, "\n", 1);
}

int main(int argc, char **argv)
{
	long limit = -1;
	int c;
	while ((c = getopt(argc, argv, "hl:")) != -1) {
		char *end;
		if (c == 'h') {
			fdprintf(1, "%s", usage);
			return 0;
		}
		if (c == 'l' && (limit = strtol(optarg, &end, 0)) >= 0 && !*end)
			continue;
		fdprintf(2, "%s", usage);
		return EXIT_USAGE;
	}
	if (argc - optind > 1) {
		fdprintf(2, "%s", usage);
		return EXIT_USAGE;
	}
	int fd = optind < argc ? open(argv[optind], O_RDONLY, 0) : 0;
	if (fd < 0) {
		warn_errno("xxd", argv[optind], fd);
		return 1;
	}
	out_init(&out, 1);
	uint8_t b[16];
	size_t have = 0;
	uint64_t off = 0;
	for (;;) {
		size_t want = sizeof(b) - have;
		if (limit >= 0)
			want = MIN(want, (size_t)limit - (off + have));
		ssize_t n = want ? read(fd, b + have, want) : 0;
		if (n < 0) {
			warn_errno("xxd", "read", n);
			return 1;
		}
		have += (size_t)n;
		if (have == sizeof(b) || (n == 0 && have)) {
			line(off, b, have);
			off += have;
			have = 0;
		}
		if (n == 0)
			break;
	}
	return out_flush(&out) ? 1 : 0;
}
