/* sleep: wait SECONDS (a decimal fraction allowed: 0.25). */
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: sleep SECONDS\n  wait, e.g. 2 or 0.5 seconds\n";

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "-h") == 0) {
		fdprintf(1, "%s", usage);
		return 0;
	}
	if (argc != 2) {
		fdprintf(2, "%s", usage);
		return 2;
	}
	/* whole seconds, then up to three decimals, in milliseconds */
	char *end;
	uint64_t ms = strtoul(argv[1], &end, 10) * 1000;
	if (*end == '.') {
		uint64_t scale = 100;
		for (end++; isdigit(*end); end++, scale /= 10)
			ms += (uint64_t)(*end - '0') * scale;
	}
	if (*end || !isdigit(argv[1][0]) || ms > 100000000ull * 1000) {
		fdprintf(2, "sleep: bad time '%s'\n", argv[1]);
		return 2;
	}
	uint64_t ticks = ms * ukinfo->ki_tick_hz / 1000;
	uint64_t until = ukinfo->ki_ticks + ticks;
	while (ukinfo->ki_ticks < until)
		sys_env_sleep(until - ukinfo->ki_ticks); /* a message may end it early */
	return 0;
}
