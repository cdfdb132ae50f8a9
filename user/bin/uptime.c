/*
 * uptime: the time of day, time since boot, environments and free memory,
 * all from the exposed tables (kern_info, the env table) without a system
 * call. Time since boot is the TSC's count since the kernel read the clock
 * (ki_boot_tsc), which is within milliseconds of boot.
 */
#include <common/civil.h>
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

int main(int argc, char **argv)
{
	if (argc > 1) {
		bool help = strcmp(argv[1], "-h") == 0;
		fdprintf(help ? 1 : 2, "usage: uptime\n  time of day (UTC), time since boot, envs, free pages\n");
		return help ? 0 : 2;
	}
	uint64_t s = ukinfo->ki_tsc_hz ? (rdtsc() - ukinfo->ki_boot_tsc) / ukinfo->ki_tsc_hz
				       : ukinfo->ki_ticks / ukinfo->ki_tick_hz;
	unsigned envs = 0, running = 0;
	for (uint32_t i = 0; i < ukinfo->ki_nenv; i++) {
		uint32_t st = uenvs[i].env_status;
		envs += st != ENV_FREE;
		running += st == ENV_RUNNABLE || st == ENV_RUNNING;
	}
	if (ukinfo->ki_boot_unix >= 0) {
		struct civil c;
		civil_from_unix(ukinfo->ki_boot_unix + (int64_t)s, &c);
		fdprintf(1, "%02u:%02u:%02u ", c.c_hour, c.c_min, c.c_sec);
	}
	fdprintf(1, "up %lu:%02lu:%02lu, %u envs (%u runnable), %lu of %lu pages free, %u cpu%s\n",
		 s / 3600, s / 60 % 60, s % 60, envs, running, ukinfo->ki_free_pages,
		 ukinfo->ki_npages, ukinfo->ki_ncpu, ukinfo->ki_ncpu == 1 ? "" : "s");
	return 0;
}
