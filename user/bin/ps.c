/*
 * ps: every environment, read from the exposed env table (no system call):
 * pid (the env id in decimal, as the shell and kill take it), env id, parent, state, pages owned, bindings, time slices, overruns, runs, name.
 */
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

static const char *status_name(uint32_t s)
{
	static const char *const names[] = { "free", "runnable", "running", "blocked", "zombie" };
	return s < ARRAY_SIZE(names) ? names[s] : "?";
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		bool help = strcmp(argv[1], "-h") == 0;
		fdprintf(help ? 1 : 2, "usage: ps\n  every environment, from the exposed env table\n");
		return help ? 0 : 2;
	}
	static struct outbuf o;
	out_init(&o, 1);
	out_printf(&o, "%6s %-8s %-8s %-9s %6s %6s %6s %8s %10s  %s\n", "PID", "ENV", "PARENT", "STATUS",
		   "PAGES", "BINDS", "SLICES", "OVERRUNS", "RUNS", "NAME");
	for (uint32_t i = 0; i < ukinfo->ki_nenv; i++) {
		const volatile struct env_info *e = &uenvs[i];
		uint32_t s = e->env_status;
		if (s == ENV_FREE)
			continue;
		char name[ENV_NAME_LEN + 1];
		for (int k = 0; k < ENV_NAME_LEN; k++)
			name[k] = e->env_name[k];
		name[ENV_NAME_LEN] = '\0';
		out_printf(&o, "%6d %08x %08x %-9s %6u %6u %6u %8u %10lu  %s\n", e->env_id, e->env_id,
			   e->env_parent_id, status_name(s), e->env_pages, e->env_bindings,
			   e->env_slices, e->env_overruns, e->env_runs, name);
	}
	return out_flush(&o) ? 1 : 0;
}
