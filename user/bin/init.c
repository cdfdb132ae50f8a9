/*
 * init: the first environment by default, and the interactive monitor.
 *
 * Everything it shows comes from the kernel's exposed tables (uenvs, upages,
 * ukinfo), read without a system call.
 */
#include <inc/net.h>
#include <lib/base/libos.h>

#define MAX_ARGS 16

static const char *status_name(uint32_t s)
{
	static const char *const names[] = { "free", "runnable", "running", "blocked",
					     "zombie" };
	return s < ARRAY_SIZE(names) ? names[s] : "?";
}

static int cmd_help(int argc, char **argv);

static int cmd_envs(int argc UNUSED, char **argv UNUSED)
{
	printf("%-8s %-8s %-9s %6s %6s %6s %8s %10s  %s\n", "ENV", "PARENT", "STATUS", "PAGES",
	       "BINDS", "SLICES", "OVERRUNS", "RUNS", "NAME");
	for (uint32_t i = 0; i < ukinfo->ki_nenv; i++) {
		const volatile struct env_info *e = &uenvs[i];
		uint32_t s = e->env_status;
		if (s == ENV_FREE)
			continue;
		printf("%08x %08x %-9s %6u %6u %6u %8u %10lu  %s\n", e->env_id, e->env_parent_id,
		       status_name(s), e->env_pages, e->env_bindings, e->env_slices,
		       e->env_overruns, e->env_runs, (const char *)e->env_name);
	}
	return 0;
}

static int cmd_pages(int argc UNUSED, char **argv UNUSED)
{
	uint64_t count[PAGE_KERNEL + 1] = { 0 };
	uint64_t mine = 0;
	for (uint64_t p = 0; p < ukinfo->ki_npages; p++) {
		uint8_t t = upages[p].pg_type;
		if (t <= PAGE_KERNEL)
			count[t]++;
		if (upages[p].pg_owner == thisenv_id)
			mine++;
	}
	printf("%lu pages (%lu MiB): %lu free, %lu user, %lu page-table, %lu kernel, "
	       "%lu reserved\n",
	       ukinfo->ki_npages, ukinfo->ki_npages * PAGE_SIZE >> 20, count[PAGE_FREE],
	       count[PAGE_USER], count[PAGE_PGTABLE], count[PAGE_KERNEL], count[PAGE_RESERVED]);
	printf("this monitor owns %lu\n", mine);
	return 0;
}

static int cmd_progs(int argc UNUSED, char **argv UNUSED)
{
	for (uint32_t i = 0; i < ukinfo->ki_nprogs; i++)
		printf("%s%s", i ? " " : "", (const char *)ukinfo->ki_progs[i]);
	printf("\n");
	return 0;
}

/* run, or trace run: start argv[1] with the rest as arguments, traced from
 * its first system call if traced. */
static int run_program(int argc, char **argv, bool traced)
{
	if (argc < 2) {
		printf("usage: run PROGRAM [ARGS...] [&]\n");
		return 1;
	}
	bool background = strcmp(argv[argc - 1], "&") == 0;
	if (background)
		argc--;
	char args[ENV_CREATE_ARGS_MAX];
	args[0] = '\0';
	size_t len = 0;
	for (int i = 2; i < argc; i++)
		len += (size_t)snprintf(args + len, sizeof(args) - MIN(len, sizeof(args)), "%s%s",
					i > 2 ? " " : "", argv[i]);
	if (len >= sizeof(args)) {
		printf("run: arguments too long\n");
		return 1;
	}
	/* Traced from its first instruction: tracing it after creating it
	 * would race with its first calls. (This stops tracing the monitor
	 * itself, if someone had turned that on.) */
	if (traced)
		sys_env_trace(0, 2, CAP_SELF);
	long id = sys_env_create(argv[1], args, CAP_SELF);
	if (traced)
		sys_env_trace(0, 0, CAP_SELF);
	if (id < 0) {
		printf("run: %s: %le\n", argv[1], id);
		return 1;
	}
	if (background) {
		printf("[%08lx] %s\n", id, argv[1]);
		return 0;
	}
	/* The child reads the console while it runs; it comes back to us when
	 * the child dies. */
	sys_cons_grant((envid_t)id);
	long status = sys_env_wait((envid_t)id);
	if (status < 0)
		printf("run: wait: %le\n", status);
	else if (status & EXIT_KILLED)
		printf("[%08lx] killed: %s\n", id, (const char *)uenvs[ENVX(id)].env_reason);
	else if (status & EXIT_DESTROYED)
		printf("[%08lx] destroyed\n", id);
	else if (status != 0)
		printf("[%08lx] exit %ld\n", id, status);
	return 0;
}

static void print_cap(const struct cap *c)
{
	printf("%c%c%c ", (c->c_rights & CAP_R) ? 'r' : '-', (c->c_rights & CAP_W) ? 'w' : '-',
	       (c->c_rights & CAP_M) ? 'm' : '-');
	if (c->c_len == 0)
		printf("(root)");
	for (unsigned i = 0; i < c->c_len; i++)
		printf("%s%x", i ? "." : "", c->c_name[i]);
	printf("\n");
}

static int cmd_caps(int argc, char **argv)
{
	char *end = NULL;
	long id = argc == 2 ? (long)strtoul(argv[1], &end, 16) : 0;
	if (argc > 2 || (end && *end != '\0')) {
		printf("usage: caps [ENVID (hex)]\n");
		return 1;
	}
	struct cap c;
	long r = sys_cap_read((envid_t)id, 0, &c);
	if (r < 0) {
		printf("caps: %le\n", r);
		return 1;
	}
	const volatile struct env_info *e = &uenvs[ENVX(id ? id : thisenv_id)];
	printf("env %08x: %u bindings, %u user pages (limit %u), %u refills, %u upcalls\n",
	       e->env_id, e->env_bindings, e->env_user_pages, e->env_page_limit,
	       e->env_refills, e->env_upcalls);
	for (unsigned slot = 0; slot < CAP_RING; slot++) {
		r = sys_cap_read((envid_t)id, slot, &c);
		if (r < 0) {
			printf("caps: %le\n", r);
			return 1;
		}
		if (c.c_valid) {
			printf("  [%2u] ", slot);
			print_cap(&c);
		}
	}
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	return run_program(argc, argv, false);
}

/* trace ENVID on|off, or trace run PROGRAM [ARGS...] [&]: the kernel logs
 * the env's system calls and upcalls, one line each (doc/debugging.md). */
static int cmd_trace(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "run") == 0)
		return run_program(argc - 1, argv + 1, true);
	bool on = argc == 3 && strcmp(argv[2], "on") == 0;
	if (argc != 3 || (!on && strcmp(argv[2], "off") != 0)) {
		printf("usage: trace ENVID on|off, or trace run PROGRAM [ARGS...] [&]\n");
		return 1;
	}
	char *end;
	long id = (long)strtoul(argv[1], &end, 16);
	if (*end != '\0' || id < 0 || id > INT32_MAX) {
		printf("trace: bad env id '%s'\n", argv[1]);
		return 1;
	}
	long r = sys_env_trace((envid_t)id, on, CAP_SELF);
	if (r < 0) {
		printf("trace: %08lx: %le\n", id, r);
		return 1;
	}
	printf("trace: %08lx %s\n", id, on ? "on" : "off");
	return 0;
}

static int cmd_filters(int argc UNUSED, char **argv UNUSED)
{
	static struct net_filter_info fi[64];
	long n = sys_net_filters(fi, ARRAY_SIZE(fi));
	if (n < 0) {
		printf("filters: %le\n", n);
		return 1;
	}
	printf("%-6s %-8s %5s %10s %s\n", "ID", "OWNER", "ATOMS", "FRAMES", "ASH");
	for (long i = 0; i < n; i++)
		printf("%-6d %08x %5u %10lu %s\n", fi[i].nf_id, fi[i].nf_owner, fi[i].nf_natoms,
		       fi[i].nf_hits, fi[i].nf_ash ? "yes" : "-");
	return 0;
}

static int cmd_kill(int argc, char **argv)
{
	if (argc != 2) {
		printf("usage: kill ENVID (hex)\n");
		return 1;
	}
	char *end;
	long id = (long)strtoul(argv[1], &end, 16);
	if (*end != '\0' || id <= 0 || id > INT32_MAX) {
		printf("kill: bad env id '%s'\n", argv[1]);
		return 1;
	}
	long r = sys_env_destroy((envid_t)id, CAP_SELF);
	if (r < 0) {
		printf("kill: %08lx: %le\n", id, r);
		return 1;
	}
	/* reap it if it was ours, so its slot is not kept as a zombie */
	if (uenvs[ENVX(id)].env_parent_id == thisenv_id)
		sys_env_wait((envid_t)id);
	return 0;
}

static int cmd_reboot(int argc UNUSED, char **argv UNUSED)
{
	long r = sys_machine_reboot();
	printf("reboot: %le\n", r);
	return 1;
}

static int cmd_poweroff(int argc UNUSED, char **argv UNUSED)
{
	long r = sys_machine_exit(0);
	printf("poweroff: %le\n", r);
	return 1;
}

static const struct command {
	const char *name, *help;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "help", "list commands", cmd_help },
	{ "envs", "list environments (from the exposed env table)", cmd_envs },
	{ "pages", "count physical pages by use (from the exposed page table)", cmd_pages },
	{ "progs", "list the programs in the boot image", cmd_progs },
	{ "run", "run PROGRAM [ARGS...] [&]: start a program, wait unless &", cmd_run },
	{ "kill", "kill ENVID: destroy an environment and its pages", cmd_kill },
	{ "trace", "trace ENVID on|off, or trace run PROGRAM...: log its system calls",
	  cmd_trace },
	{ "caps", "caps [ENVID]: an env's keys, bindings and pages", cmd_caps },
	{ "filters", "installed packet filters and the frames each won", cmd_filters },
	{ "reboot", "reset the machine", cmd_reboot },
	{ "poweroff", "stop the machine (under QEMU: exit QEMU)", cmd_poweroff },
};

static int cmd_help(int argc UNUSED, char **argv UNUSED)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		printf("  %-9s %s\n", commands[i].name, commands[i].help);
	return 0;
}

static void run_line(char *line)
{
	char *argv[MAX_ARGS + 1];
	int argc = 0;
	for (char *p = line; *p;) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			break;
		if (argc == MAX_ARGS) {
			printf("too many arguments (at most %d)\n", MAX_ARGS);
			return;
		}
		argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	argv[argc] = NULL;
	if (argc == 0)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[0], commands[i].name) == 0) {
			commands[i].fn(argc, argv);
			return;
		}
	printf("unknown command '%s' (try help)\n", argv[0]);
}

int main(int argc UNUSED, char **argv UNUSED)
{
	printf("Exo monitor. Type 'help' for commands.\n");
	char line[256];
	for (;;) {
		int n = readline("exo> ", line, sizeof(line));
		if (n < 0) {
			/* not holding the console: wait until it comes back */
			sys_yield();
			continue;
		}
		run_line(line);
	}
}
