/* slices: each CPU's time-slice vector (owner of every slot), from the exposed USLICES page. */
#include <inc/slice.h>
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

int main(int argc, char **argv)
{
	if (argc > 1) {
		bool help = strcmp(argv[1], "-h") == 0;
		fdprintf(help ? 1 : 2, "usage: slices\n  the time-slice vector of each CPU\n");
		return help ? 0 : 2;
	}
	const volatile struct slice_vec *sv = (const volatile struct slice_vec *)USLICES;
	uint32_t n = MIN(sv->sv_nslots, (uint32_t)NSLICES);
	fdprintf(1, "%u slots of %u ticks (%u Hz) per CPU\n", n, sv->sv_slice_ticks,
		 ukinfo->ki_tick_hz);
	for (uint32_t cpu = 0; cpu < ukinfo->ki_ncpu && cpu < SLICE_CPUS; cpu++) {
		fdprintf(1, "cpu %u (now slot %u):\n", cpu, sv->sv_current[cpu]);
		for (uint32_t s = 0; s < n; s++) {
			envid_t id = sv->sv_owner[cpu][s];
			if (id)
				fdprintf(1, "  slot %2u  %08x %s\n", s, id,
					 (const char *)uenvs[ENVX(id)].env_name);
			else
				fdprintf(1, "  slot %2u  -\n", s);
		}
	}
	return 0;
}
