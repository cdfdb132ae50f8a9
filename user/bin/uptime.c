/* uptime: time since boot, environments and free memory, from the exposed tables. */
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

int main(int argc, char **argv)
{
	if (argc > 1) {
		bool help = strcmp(argv[1], "-h") == 0;
		fdprintf(help ? 1 : 2, "usage: uptime\n  time since boot, envs, free pages\n");
		return help ? 0 : 2;
	}
	uint64_t s = ukinfo->ki_ticks / ukinfo->ki_tick_hz;
	unsigned envs = 0, running = 0;
	for (uint32_t i = 0; i < ukinfo->ki_nenv; i++) {
		uint32_t st = uenvs[i].env_status;
		envs += st != ENV_FREE;
		running += st == ENV_RUNNABLE || st == ENV_RUNNING;
	}
	fdprintf(1, "up %lu:%02lu:%02lu, %u envs (%u runnable), %lu of %lu pages free, %u cpu%s\n",
		 s / 3600, s / 60 % 60, s % 60, envs, running, ukinfo->ki_free_pages,
		 ukinfo->ki_npages, ukinfo->ki_ncpu, ukinfo->ki_ncpu == 1 ? "" : "s");
	return 0;
}
