/*
 * kill: end processes by pid. Exo has no signal delivery yet: any signal
 * but 0 destroys the process (its parent sees the signal); 0 checks it is
 * there. The shell's own kill also takes %JOB.
 */
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: kill [-s SIGNAL | -SIGNAL] PID...\n"
			    "  SIGNAL: a number or HUP INT QUIT KILL TERM (default TERM)\n";

static int signal_of(const char *s)
{
	static const struct {
		const char *name;
		int num;
	} names[] = { { "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
		      { "KILL", SIGKILL }, { "TERM", SIGTERM } };
	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].num;
	char *end;
	long n = strtol(s, &end, 10);
	return *end || end == s || n < 0 || n >= NSIG ? -1 : (int)n;
}

int main(int argc, char **argv)
{
	int sig = SIGTERM, i = 1;
	if (argc > 1 && strcmp(argv[1], "-h") == 0) {
		fdprintf(1, "%s", usage);
		return 0;
	}
	if (argc > 2 && strcmp(argv[1], "-s") == 0) {
		sig = signal_of(argv[2]);
		i = 3;
	} else if (argc > 1 && argv[1][0] == '-') {
		sig = signal_of(argv[1] + 1);
		i = 2;
	}
	if (sig < 0 || i >= argc) {
		fdprintf(2, "%s", usage);
		return 2;
	}
	int st = 0;
	for (; i < argc; i++) {
		char *end;
		long pid = strtol(argv[i], &end, 0);
		int r = *end || pid <= 0 || pid > 0x7fffffff ? -EINVAL : kill((pid_t)pid, sig);
		if (r < 0) {
			fdprintf(2, "kill: %s: %s\n", argv[i], strerror(r));
			st = 1;
		}
	}
	return st;
}
