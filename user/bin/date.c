/*
 * date: the wall-clock time. Exo keeps none yet: the CMOS clock is behind
 * I/O ports 0x70/0x71, which user mode cannot reach, and the kernel does
 * not expose the time it could read at boot (doc/shell.md says what it
 * would need: the boot time in struct kern_info). So date says so and
 * fails, rather than print a made-up time; -u and +FORMAT are refused the
 * same way. The time since boot is `uptime`.
 */
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: date\n"
			    "  the wall-clock time (needs the kernel to expose the CMOS clock)\n";

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "-h") == 0) {
		fdprintf(1, "%s", usage);
		return 0;
	}
	if (argc > 1 && argv[1][0] != '+' && strcmp(argv[1], "-u") != 0) {
		fdprintf(2, "%s", usage);
		return 2;
	}
	fdprintf(2, "date: no wall clock: the kernel does not expose the CMOS clock "
		    "(uptime gives the time since boot)\n");
	return 1;
}
