/*
 * The shell's builtins: what must run in the shell itself (cd, exit,
 * export, break, return, shift, read...), the monitor's old commands
 * (progs, run, trace, reboot), and test/[ (test.c). Each gets its argv and
 * its descriptors 0-2 in fd[] (run.c runs it in the shell, or in a forked
 * copy when it is in a pipeline or the background).
 */
#include "sh.h"

int bi_test(int argc, char **argv, const int *fd);

static int bi_cd(int argc, char **argv, const int *fd)
{
	const char *dir = argc > 1 ? argv[1] : getenv("HOME") ? getenv("HOME") : "/";
	int r = chdir(dir);
	if (r < 0) {
		fdprintf(fd[2], "cd: %s: %s\n", dir, strerror(r));
		return 1;
	}
	setenv("PWD", posix_cwd(), 1);
	return 0;
}

static int bi_pwd(int argc UNUSED, char **argv UNUSED, const int *fd)
{
	fdprintf(fd[1], "%s\n", posix_cwd());
	return 0;
}

static int bi_exit(int argc, char **argv, const int *fd UNUSED)
{
	exit_requested = true;
	exit_code = argc > 1 ? (int)strtol(argv[1], NULL, 10) & 0xff : last_status;
	return exit_code;
}

static int bi_export(int argc, char **argv, const int *fd)
{
	if (argc == 1) {
		var_list(fd[1], true);
		return 0;
	}
	int st = 0;
	for (int i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (eq)
			*eq = '\0';
		int r = eq ? var_set(argv[i], eq + 1) : 0;
		if (r == 0)
			r = var_export(argv[i]);
		if (r < 0) {
			fdprintf(fd[2], "export: %s: %s\n", argv[i],
				 r == -EINVAL ? "not a valid name" : strerror(r));
			st = 1;
		}
	}
	return st;
}

static int bi_unset(int argc, char **argv, const int *fd UNUSED)
{
	for (int i = 1; i < argc; i++)
		var_unset(argv[i]);
	return 0;
}

/* set: list variables; set -- ARGS: new positional parameters. */
static int bi_set(int argc, char **argv, const int *fd)
{
	if (argc == 1) {
		var_list(fd[1], false);
		return 0;
	}
	if (strcmp(argv[1], "--") != 0) {
		fdprintf(fd[2], "set: only 'set' and 'set -- ARGS...' are known\n");
		return 2;
	}
	return positional_set(argv + 2, argc - 2) < 0 ? 1 : 0;
}

static int bi_colon(int argc UNUSED, char **argv UNUSED, const int *fd UNUSED)
{
	return 0;
}

/* true and false as builtins (a loop on them spawns nothing); -h as the
 * programs answer it. */
static int bi_truth(int argc, char **argv, const int *fd)
{
	if (argc > 1 && strcmp(argv[1], "-h") == 0) {
		fdprintf(fd[2], "usage: %s\n", argv[0]);
		return 0;
	}
	return argv[0][0] == 'f';
}

/* break [N], continue [N]: leave (or go on with) the Nth enclosing loop. */
static int bi_loopctl(int argc, char **argv, const int *fd)
{
	long n = 1;
	if (argc > 1) {
		char *end;
		n = strtol(argv[1], &end, 10);
		if (*end || n < 1) {
			fdprintf(fd[2], "%s: %s: bad loop count\n", argv[0], argv[1]);
			return 2;
		}
	}
	if (loop_depth == 0)
		return 0; /* outside a loop: nothing to do, as dash */
	flow = argv[0][0] == 'b' ? FLOW_BREAK : FLOW_CONTINUE;
	flow_levels = (int)MIN(n, (long)loop_depth);
	return 0;
}

static int bi_return(int argc, char **argv, const int *fd UNUSED)
{
	flow = FLOW_RETURN;
	last_status = argc > 1 ? (int)strtol(argv[1], NULL, 10) & 0xff : last_status;
	return last_status;
}

static int bi_shift(int argc, char **argv, const int *fd)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1;
	if (n < 0 || n > script_argc - 1) {
		fdprintf(fd[2], "shift: can't shift that many\n");
		return 2;
	}
	return positional_set(script_argv + 1 + n, script_argc - 1 - (int)n) < 0 ? 1 : 0;
}

/* read [-r] NAME...: one line from fd 0, a byte at a time (what follows
 * the line is the next reader's), split on blanks; the last name takes
 * the rest. 1 at end of input. */
static int bi_read(int argc, char **argv, const int *fd)
{
	bool raw = false;
	int a = 1;
	if (a < argc && strcmp(argv[a], "-r") == 0) {
		raw = true;
		a++;
	}
	if (a >= argc) {
		fdprintf(fd[2], "usage: read [-r] NAME...\n");
		return 2;
	}
	static char line[SH_LINE_MAX + 1];
	size_t n = 0;
	bool got_eof = true;
	for (char c; read(fd[0], &c, 1) == 1;) {
		if (c == '\\' && !raw) {
			char d;
			if (read(fd[0], &d, 1) != 1)
				break;
			if (d == '\n')
				continue;
			c = d;
		} else if (c == '\n') {
			got_eof = false;
			break;
		}
		if (n < SH_LINE_MAX)
			line[n++] = c;
	}
	line[n] = '\0';
	char *s = line;
	for (; a < argc; a++) {
		while (*s == ' ' || *s == '\t')
			s++;
		char *v = s;
		if (a < argc - 1) {
			while (*s && *s != ' ' && *s != '\t')
				s++;
			if (*s)
				*s++ = '\0';
		} else {
			size_t l = strlen(v);
			while (l && (v[l - 1] == ' ' || v[l - 1] == '\t'))
				v[--l] = '\0';
		}
		if (var_set(argv[a], v) < 0) {
			fdprintf(fd[2], "read: %s: not a valid name\n", argv[a]);
			return 2;
		}
	}
	return got_eof && n == 0 ? 1 : got_eof;
}

static int bi_jobs(int argc UNUSED, char **argv UNUSED, const int *fd)
{
	jobs_list(fd[1]);
	return 0;
}

static int bi_fg(int argc, char **argv, const int *fd)
{
	struct job *j = job_find(argc > 1 ? argv[1] : NULL);
	if (!j) {
		fdprintf(fd[2], "fg: %s: no such job\n", argc > 1 ? argv[1] : "current");
		return 1;
	}
	fdprintf(fd[2], "%s\n", j->j_text);
	int st = job_wait_fg(j);
	job_free(j);
	return st;
}

static int bi_wait(int argc, char **argv, const int *fd)
{
	if (argc > 1) {
		int st = 0;
		for (int i = 1; i < argc; i++) {
			struct job *j = job_find(argv[i]);
			if (!j) {
				fdprintf(fd[2], "wait: %s: no such job\n", argv[i]);
				st = 127;
				continue;
			}
			st = job_wait_fg(j);
			job_free(j);
		}
		return st;
	}
	for (struct job *j; (j = job_find(NULL));) {
		job_wait_fg(j);
		job_free(j);
	}
	return 0;
}

static int bi_kill(int argc, char **argv, const int *fd)
{
	int sig = SIGTERM, i = 1, st = 0;
	if (argc > 1 && argv[1][0] == '-' && isdigit(argv[1][1])) {
		sig = (int)strtol(argv[1] + 1, NULL, 10);
		i++;
	}
	if (i >= argc) {
		fdprintf(fd[2], "usage: kill [-SIGNAL] %%JOB|PID...\n");
		return 2;
	}
	for (; i < argc; i++) {
		if (argv[i][0] == '%') {
			struct job *j = job_find(argv[i]);
			if (!j) {
				fdprintf(fd[2], "kill: %s: no such job\n", argv[i]);
				st = 1;
				continue;
			}
			for (int k = 0; k < j->j_nprocs; k++)
				if (j->j_pids[k])
					kill_tree(j->j_pids[k], sig);
			continue;
		}
		char *end;
		long pid = strtol(argv[i], &end, 0);
		int r = *end || pid <= 0 ? -EINVAL : kill((pid_t)pid, sig);
		if (r < 0) {
			fdprintf(fd[2], "kill: %s: %s\n", argv[i], strerror(r));
			st = 1;
		}
	}
	return st;
}

static int bi_source(int argc, char **argv, const int *fd)
{
	if (argc < 2) {
		fdprintf(fd[2], "usage: source FILE\n");
		return 2;
	}
	char *text;
	int r = read_file(argv[1], &text);
	if (r < 0) {
		fdprintf(fd[2], "source: %s: %s\n", argv[1], strerror(r));
		return 1;
	}
	int st = run_text(text);
	free(text);
	return st;
}

static int bi_progs(int argc UNUSED, char **argv UNUSED, const int *fd)
{
	struct outbuf o;
	out_init(&o, fd[1]);
	for (uint32_t i = 0; i < ukinfo->ki_nprogs && i < KI_MAX_PROGS; i++)
		out_printf(&o, "%s%.*s", i ? " " : "", KI_PROG_NAME_LEN,
			   (const char *)ukinfo->ki_progs[i]);
	out_printf(&o, "\n");
	return out_flush(&o) ? 1 : 0;
}

/* argv joined into a command line, each word single-quoted. */
static int quote_join(char **argv, int argc, char *out, size_t size)
{
	size_t n = 0;
	for (int i = 0; i < argc; i++) {
		bool amp = i == argc - 1 && strcmp(argv[i], "&") == 0;
		if (n + 4 >= size)
			return -1;
		if (i)
			out[n++] = ' ';
		if (amp) {
			out[n++] = '&';
			continue;
		}
		out[n++] = '\'';
		for (const char *c = argv[i]; *c; c++) {
			if (n + 6 >= size)
				return -1;
			if (*c == '\'') {
				memcpy(out + n, "'\\''", 4);
				n += 4;
			} else {
				out[n++] = *c;
			}
		}
		out[n++] = '\'';
	}
	out[n] = '\0';
	return 0;
}

/* run PROGRAM [ARGS...] [&]: the monitor's way of starting a program. */
static int bi_run(int argc, char **argv, const int *fd)
{
	static char line[SH_LINE_MAX + 1];
	if (argc < 2) {
		fdprintf(fd[2], "usage: run PROGRAM [ARGS...] [&]\n");
		return 2;
	}
	if (quote_join(argv + 1, argc - 1, line, sizeof(line)) < 0) {
		fdprintf(fd[2], "run: line too long\n");
		return 2;
	}
	return run_line(line);
}

/* time COMMAND...: how long it took, from the exposed tick count. */
static int bi_time(int argc, char **argv, const int *fd)
{
	static char line[SH_LINE_MAX + 1];
	if (argc < 2) {
		fdprintf(fd[2], "usage: time COMMAND [ARGS...]\n");
		return 2;
	}
	if (quote_join(argv + 1, argc - 1, line, sizeof(line)) < 0) {
		fdprintf(fd[2], "time: line too long\n");
		return 2;
	}
	uint64_t t0 = rdtsc();
	int st = run_line(line);
	uint64_t us =
		(rdtsc() - t0) / (ukinfo->ki_tsc_hz / 1000000 ? ukinfo->ki_tsc_hz / 1000000 : 1);
	fdprintf(fd[2], "real %lu.%06lus\n", us / 1000000, us % 1000000);
	return st;
}

static int bi_trace(int argc, char **argv, const int *fd)
{
	if (argc == 3 && (strcmp(argv[2], "on") == 0 || strcmp(argv[2], "off") == 0)) {
		/* trace ENVID on|off: an env of ours (ourselves, 0, or a job) */
		char *end;
		long id = (long)strtoul(argv[1], &end, 16);
		if (*end || end == argv[1] || id < 0 || id > 0x7fffffff) {
			fdprintf(fd[2], "trace: bad env id '%s'\n", argv[1]);
			return 2;
		}
		bool on = argv[2][1] == 'n';
		long r = sys_env_trace((envid_t)id, on, CAP_SELF);
		if (r < 0) {
			fdprintf(fd[2], "trace: %08lx: %le\n", id, r);
			return 1;
		}
		fdprintf(fd[1], "trace: %08lx %s\n", id, on ? "on" : "off");
		return 0;
	}
	int skip = argc > 2 && strcmp(argv[1], "run") == 0 ? 2 : 1; /* "trace run": the monitor's */
	if (argc <= skip) {
		fdprintf(
			fd[2],
			"usage: trace [run] COMMAND [ARGS...]: run it with its system calls logged\n"
			"       trace ENVID on|off: log a running env's system calls\n");
		return 2;
	}
	/* traced from its first instruction: tracing it after it starts would
	 * miss its first calls */
	struct fdmap m;
	fdmap_init(&m, fd);
	struct sh_fields none = { 0 };
	sys_env_trace(0, 2, CAP_SELF);
	pid_t pid = start_program(argv + skip, &none, &m);
	sys_env_trace(0, 0, CAP_SELF);
	if (pid < 0)
		return 127;
	struct job *j = job_new(argv[skip], strlen(argv[skip]));
	if (!j) {
		int st;
		waitpid(pid, &st, 0);
		return WEXITSTATUS(st);
	}
	j->j_pids[0] = pid;
	j->j_nprocs = 1;
	j->j_fg = true;
	int st = job_wait_fg(j);
	job_free(j);
	return st;
}

static int bi_reboot(int argc UNUSED, char **argv UNUSED, const int *fd)
{
	long r = sys_machine_reboot();
	fdprintf(fd[2], "reboot: %e\n", r);
	return 1;
}

static int bi_poweroff(int argc, char **argv, const int *fd)
{
	long r = sys_machine_exit(argc > 1 ? (uint64_t)strtol(argv[1], NULL, 10) : 0);
	fdprintf(fd[2], "poweroff: %e (only the first env may)\n", r);
	return 1;
}

static int bi_help(int argc, char **argv, const int *fd);

static const struct builtin builtins[] = {
	{ "cd", bi_cd, "cd [DIR]: change the working directory" },
	{ "pwd", bi_pwd, "print the working directory" },
	{ "exit", bi_exit, "exit [N]: leave the shell" },
	{ "export", bi_export, "export [NAME[=VALUE]...]: pass variables to programs" },
	{ "unset", bi_unset, "unset NAME...: forget variables" },
	{ "set", bi_set, "set [-- ARGS...]: list variables, or set $1.." },
	{ "jobs", bi_jobs, "list background jobs" },
	{ "fg", bi_fg, "fg [%N]: wait for a job in the foreground (Ctrl-C stops it)" },
	{ "wait", bi_wait, "wait [%N...]: wait for background jobs" },
	{ "kill", bi_kill, "kill [-SIG] %N|PID...: end a job or process" },
	{ "source", bi_source, "source FILE: run FILE's commands in this shell" },
	{ ".", bi_source, "the same as source" },
	{ "progs", bi_progs, "list the programs in the boot image" },
	{ "trace", bi_trace, "trace COMMAND... | trace ENVID on|off: log system calls" },
	{ "time", bi_time, "time COMMAND...: run it and say how long it took" },
	{ "run", bi_run, "run PROGRAM [ARGS...] [&]: start a program (as the monitor did)" },
	{ "reboot", bi_reboot, "reset the machine" },
	{ "poweroff", bi_poweroff, "stop the machine (under QEMU: exit QEMU)" },
	{ "help", bi_help, "this list" },
	{ ":", bi_colon, "do nothing, successfully" },
	{ "true", bi_truth, "succeed" },
	{ "false", bi_truth, "fail" },
	{ "test", bi_test, "test EXPR: -e -f -d -s -z -n = != -eq -ne -lt -le -gt -ge ! -a -o" },
	{ "[", bi_test, "[ EXPR ]: the same as test" },
	{ "read", bi_read, "read [-r] NAME...: a line of input into variables" },
	{ "shift", bi_shift, "shift [N]: drop the first N positional parameters" },
	{ "break", bi_loopctl, "break [N]: leave the Nth enclosing loop" },
	{ "continue", bi_loopctl, "continue [N]: next round of the Nth enclosing loop" },
	{ "return", bi_return, "return [N]: leave a function" },
};

const struct builtin *builtin_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(builtins); i++)
		if (strcmp(builtins[i].name, name) == 0)
			return &builtins[i];
	return NULL;
}

static int bi_help(int argc UNUSED, char **argv UNUSED, const int *fd)
{
	struct outbuf o;
	out_init(&o, fd[1]);
	out_printf(&o, "Builtins:\n");
	for (size_t i = 0; i < ARRAY_SIZE(builtins); i++)
		out_printf(&o, "  %-9s %s\n", builtins[i].name, builtins[i].help);
	out_printf(&o,
		   "Programs (each takes -h): type 'progs' to list them.\n"
		   "Syntax: a | b, a && b, a || b, a; b, a &, < > >> 2> 2>&1 <<EOF, 'q' \"q\" \\, "
		   "$VAR $? $$ $(cmd) $((1+2)), * ?,\n"
		   "  if/then/elif/else/fi, while/until/do/done, for/in, case/esac, ( ), { },\n"
		   "  NAME() { ...; }: doc/shell.md has the details.\n");
	return out_flush(&o) ? 1 : 0;
}
