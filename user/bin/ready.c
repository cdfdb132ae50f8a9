/* ready: wait with poll until one of the descriptors FD (standard input by
 * default) can be read, and say which and how: "ready FD in|hup|err", then
 * the line or bytes read from it; "timeout" and status 1 if MS pass first. */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: ready [-t MS] [FD...]\n"
			    "  wait until one of FD (0) can be read, say which and print what\n"
			    "  it read; -t: give up after MS milliseconds (status 1)\n";

int main(int argc, char **argv)
{
	int timeout = -1, c;
	while ((c = getopt(argc, argv, "ht:")) != -1) {
		switch (c) {
		case 'h': fdprintf(1, "%s", usage); return 0;
		case 't': {
			char *end;
			unsigned long ms = strtoul(optarg, &end, 10);
			if (*end || !isdigit(optarg[0]) || ms > 1000000000) {
				fdprintf(2, "ready: bad time '%s'\n", optarg);
				return EXIT_USAGE;
			}
			timeout = (int)ms;
			break;
		}
		default: fdprintf(2, "%s", usage); return EXIT_USAGE;
		}
	}
	struct pollfd fds[FD_MAX];
	nfds_t n = 0;
	for (int i = optind; i < argc; i++) {
		char *end;
		unsigned long fd = strtoul(argv[i], &end, 10);
		if (*end || !isdigit(argv[i][0]) || n == FD_MAX || fd > 1000000) {
			fdprintf(2, "ready: bad descriptor '%s'\n", argv[i]);
			return EXIT_USAGE;
		}
		fds[n++] = (struct pollfd){ (int)fd, POLLIN, 0 };
	}
	if (n == 0)
		fds[n++] = (struct pollfd){ 0, POLLIN, 0 };
	int r = poll(fds, n, timeout);
	if (r < 0) {
		warn_errno("ready", "poll", r);
		return 1;
	}
	if (r == 0) {
		fdprintf(1, "timeout\n");
		return 1;
	}
	for (nfds_t i = 0; i < n; i++) {
		short ev = fds[i].revents;
		if (!ev)
			continue;
		fdprintf(1, "ready %d %s\n", fds[i].fd,
			 ev & POLLNVAL  ? "nval"
			 : ev & POLLIN  ? "in"
			 : ev & POLLHUP ? "hup"
					: "err");
		if (!(ev & (POLLIN | POLLHUP)))
			continue;
		char buf[256];
		ssize_t k = read(fds[i].fd, buf, sizeof(buf));
		if (k > 0)
			write_all(1, buf, (size_t)k);
		else
			fdprintf(1, "(read %ld)\n", (long)k);
	}
	return 0;
}
