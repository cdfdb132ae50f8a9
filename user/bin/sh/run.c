/*
 * Running parsed lines: and-or lists, pipelines, redirections, builtins.
 *
 * A pipeline's processes are spawned (posix_spawn) with their descriptors
 * 0-9 given as a map of the shell's own: the pipe between neighbours, the
 * job's terminal (jobs.c) or /dev/null for a background job, then the
 * command's redirections in order. Files are opened with open(), so
 * redirection to files works as soon as a file system registers (until
 * then open answers ENOSYS, /dev/null and /dev/tty excepted). A builtin
 * alone in the foreground runs in the shell with that map; in a pipeline or
 * the background it runs in a forked copy of the shell, which exits with
 * its status. An and-or list sent to the background runs in a forked shell.
 *
 * Programs are found by name in the boot image (the kernel's env_create
 * looks them up) until programs load from /bin; a path names the program
 * its last component does. A path to a file starting with "#!" runs its interpreter.
 */
#include "sh.h"

bool interactive;
bool exit_requested;
int exit_code;
extern pid_t last_bg_pid;

#define VFD 10 /* descriptors a command's redirections can name: 0-9 */

struct builtin {
	const char *name;
	int (*fn)(int argc, char **argv, const int *fd);
	const char *help;
};

static const struct builtin *builtin_find(const char *name);

/* Does c plainly name a builtin (its first word unquoted)? Then it runs in
 * the shell and needs no terminal of its own. */
static bool builtin_named(const struct sh_prog *p, const struct sh_cmd *c)
{
	if (c->nwords == 0)
		return true; /* assignments or redirections only */
	const char *w = p->words[c->word0];
	return !sh_is_assignment(w) && builtin_find(w) != NULL;
}

/* ---- expansion ---- */

static void fields_cleanup(struct sh_fields *f)
{
	sh_fields_free(f, &expand_ops);
}

/* The command's words, expanded: leading assignments into *assigns (each
 * "NAME=value"), the rest into *args. */
static int expand_cmd(const struct sh_prog *p, const struct sh_cmd *c, struct sh_fields *args,
		      struct sh_fields *assigns)
{
	bool leading = true;
	for (int i = 0; i < c->nwords; i++) {
		const char *w = p->words[c->word0 + i];
		if (leading && sh_is_assignment(w)) {
			struct sh_fields f = { 0 };
			if (sh_expand(w, &expand_ops, &f) < 0)
				return -ENOMEM;
			/* one value however it split: join the fields again */
			char buf[SH_LINE_MAX];
			size_t n = 0;
			buf[0] = '\0';
			for (int k = 0; k < f.n; k++)
				n += (size_t)snprintf(buf + n, sizeof(buf) - MIN(n, sizeof(buf)),
						      "%s%s", k ? " " : "", f.v[k]);
			fields_cleanup(&f);
			if (!strchr(buf, '=')) { /* A="" expands to "A=" anyway */
				snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "=");
			}
			char *s = malloc(strlen(buf) + 1);
			if (!s)
				return -ENOMEM;
			strlcpy(s, buf, strlen(buf) + 1);
			if (assigns->n + 2 > assigns->cap) {
				int cap = assigns->cap ? assigns->cap * 2 : 8;
				char **v = malloc(sizeof(char *) * (size_t)cap);
				if (!v) {
					free(s);
					return -ENOMEM;
				}
				for (int k = 0; k < assigns->n; k++)
					v[k] = assigns->v[k];
				free(assigns->v);
				assigns->v = v;
				assigns->cap = cap;
			}
			assigns->v[assigns->n++] = s;
			assigns->v[assigns->n] = NULL;
			continue;
		}
		leading = false;
		if (sh_expand(w, &expand_ops, args) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* ---- redirections ---- */

struct fdmap {
	int fd[VFD];
	int opened[SH_REDIRS_MAX];
	int nopened;
};

static void fdmap_close_opened(struct fdmap *m)
{
	for (int i = 0; i < m->nopened; i++)
		close(m->opened[i]);
	m->nopened = 0;
}

static int apply_redirs(const struct sh_prog *p, const struct sh_cmd *c, struct fdmap *m)
{
	for (int i = 0; i < c->nredirs; i++) {
		const struct sh_redir *r = &p->redirs[c->redir0 + i];
		if (r->op == R_DUP) {
			if (m->fd[r->dupfd] < 0) {
				fdprintf(2, "sh: %d: bad file descriptor\n", r->dupfd);
				return -1;
			}
			m->fd[r->fd] = m->fd[r->dupfd];
			continue;
		}
		struct sh_fields f = { 0 };
		const char *w = p->words[r->word];
		if (sh_expand(w, &expand_ops, &f) < 0 || f.n != 1) {
			fdprintf(2, "sh: %s: ambiguous redirect\n", w);
			fields_cleanup(&f);
			return -1;
		}
		int flags = r->op == R_IN	 ? O_RDONLY
			    : r->op == R_OUT ? O_WRONLY | O_CREAT | O_TRUNC
					     : O_WRONLY | O_CREAT | O_APPEND;
		int fd = open(f.v[0], flags | O_CLOEXEC, 0666);
		if (fd < 0) {
			fdprintf(2, "sh: %s: %s\n", f.v[0], strerror(fd));
			fields_cleanup(&f);
			return -1;
		}
		fields_cleanup(&f);
		m->opened[m->nopened++] = fd;
		m->fd[r->fd] = fd;
	}
	return 0;
}

/* ---- programs ---- */

/* The environment a command runs with: ours plus its assignments. */
static char **command_env(const struct sh_fields *assigns)
{
	if (!assigns->n)
		return environ;
	int n = 0;
	while (environ[n])
		n++;
	char **env = malloc(sizeof(char *) * (size_t)(n + assigns->n + 1));
	if (!env)
		return NULL;
	int k = 0;
	for (int i = 0; i < n; i++) {
		bool overridden = false;
		for (int a = 0; a < assigns->n && !overridden; a++) {
			size_t len = (size_t)(strchr(assigns->v[a], '=') - assigns->v[a]);
			overridden = strncmp(environ[i], assigns->v[a], len + 1) == 0;
		}
		if (!overridden)
			env[k++] = environ[i];
	}
	for (int a = 0; a < assigns->n; a++)
		env[k++] = assigns->v[a];
	env[k] = NULL;
	return env;
}

/* Start argv as a program with descriptors m: its pid, or -errno (said). */
static pid_t start_program(char **argv, const struct sh_fields *assigns, const struct fdmap *m)
{
	const char *prog = argv[0];
	char *shebang_argv[SH_WORDS_MAX + 3];
	char interp[64];
	if (strchr(prog, '/')) {
		/* a script? "#!interpreter" names the program that runs it */
		int fd = open(prog, O_RDONLY, 0);
		if (fd >= 0) {
			char head[64] = { 0 };
			ssize_t n = read(fd, head, sizeof(head) - 1);
			close(fd);
			if (n > 2 && head[0] == '#' && head[1] == '!') {
				char *e = head + 2;
				while (*e && *e != '\n' && *e != ' ')
					e++;
				*e = '\0';
				const char *slash = strrchr(head + 2, '/');
				strlcpy(interp, slash ? slash + 1 : head + 2, sizeof(interp));
				int k = 0;
				shebang_argv[k++] = interp;
				for (int i = 0; argv[i] && k < SH_WORDS_MAX + 2; i++)
					shebang_argv[k++] = argv[i];
				shebang_argv[k] = NULL;
				argv = shebang_argv;
				prog = interp;
			}
		}
	}
	const char *slash = strrchr(prog, '/');
	const char *name = slash ? slash + 1 : prog;
	char **env = command_env(assigns);
	if (!env)
		return -ENOMEM;
	pid_t pid = posix_spawn(name, argv, env, m->fd, VFD);
	if (env != environ)
		free(env);
	if (pid == -ENOENT)
		fdprintf(2, "sh: %s: not found\n", argv[0]);
	else if (pid < 0)
		fdprintf(2, "sh: %s: %s\n", argv[0], strerror(pid));
	return pid;
}

/* Run a builtin in the shell with fd[0..2] as its 0-2 for the while (what
 * it runs itself, as time and source do, sees them), then put ours back. */
static int run_builtin_here(const struct builtin *b, int argc, char **argv, const int *fd)
{
	int saved[3], mine[3] = { 0, 1, 2 };
	for (int i = 0; i < 3; i++)
		saved[i] = dup(i);
	for (int i = 0; i < 3; i++) {
		int src = fd[i] >= 0 && fd[i] < 3 ? saved[fd[i]] : fd[i];
		if (src < 0)
			close(i);
		else if (src != i)
			dup2(src, i);
	}
	int st = b->fn(argc, argv, mine);
	for (int i = 0; i < 3; i++) {
		if (saved[i] >= 0) {
			dup2(saved[i], i);
			close(saved[i]);
		} else {
			close(i);
		}
	}
	return st;
}

/* Run a builtin with descriptors m in a forked copy of the shell. */
static pid_t fork_builtin(const struct builtin *b, int argc, char **argv, const struct fdmap *m)
{
	long pid = fork();
	if (pid < 0) {
		fdprintf(2, "sh: fork: %e\n", pid);
		return -ENOMEM;
	}
	if (pid == 0) {
		/* the copy's own 0-2 become the builtin's, for what it runs itself */
		int fds[3] = { 0, 1, 2 }, tmp[3];
		for (int i = 0; i < 3; i++)
			tmp[i] = m->fd[i] >= 0 ? dup(m->fd[i]) : -1;
		for (int i = 0; i < 3; i++) {
			if (tmp[i] >= 0) {
				dup2(tmp[i], i);
				close(tmp[i]);
			} else {
				close(i);
			}
		}
		interactive = false;
		exit(b->fn(argc, argv, fds));
	}
	return (pid_t)pid;
}

static bool on_console(int fd)
{
	struct file *f = fd_file(fd);
	return f && f->f_ops->fo_kind == FILE_KIND_CONSOLE;
}

static bool on_terminal(int fd)
{
	return on_console(fd) || tty_file(fd);
}

static int run_pipeline(const struct sh_prog *p, const struct sh_pipeline *pl, bool background,
			const char *line)
{
	struct job *j = job_new(line + pl->start, (size_t)(pl->end - pl->start));
	if (!j) {
		fdprintf(2, "sh: too many jobs\n");
		return 1;
	}
	j->j_negate = pl->negate;
	j->j_fg = !background;
	/* A job gets our 0-2, except that where ours is the console an
	 * interactive shell gives it a terminal (jobs.c, lib/posix/tty.c) */
	int def[3] = { 0, 1, 2 }, own_in = -1, tty = -1;
	if (background)
		own_in = def[0] = open("/dev/null", O_RDONLY, 0);
	bool console = false;
	for (int i = 0; i < 3; i++)
		console |= on_console(def[i]);
	if (console && interactive && ukinfo->ki_console == thisenv_id &&
	    !(pl->ncmds == 1 && builtin_named(p, &p->cmds[pl->cmd0]))) {
		tty = tty_open();
		if (tty >= 0) {
			job_intr_arm(); /* while the console is still ours */
			for (int i = 0; i < 3; i++)
				def[i] = on_console(def[i]) ? tty : def[i];
		}
	}
	bool handed = false; /* the console went to the job's first reader */
	int def_in = def[0], def_out = def[1], def_err = def[2];
	int prev_read = -1, status = 0;
	bool single_builtin = false;
	for (int i = 0; i < pl->ncmds; i++) {
		const struct sh_cmd *c = &p->cmds[pl->cmd0 + i];
		bool last = i == pl->ncmds - 1;
		struct fdmap m;
		for (int k = 0; k < VFD; k++)
			m.fd[k] = -1;
		m.nopened = 0;
		m.fd[0] = prev_read >= 0 ? prev_read : def_in;
		m.fd[1] = def_out;
		m.fd[2] = def_err;
		int pp[2] = { -1, -1 };
		if (!last) {
			int r = pipe(pp);
			if (r < 0) {
				fdprintf(2, "sh: pipe: %s\n", strerror(r));
				status = 1;
				break;
			}
			m.fd[1] = pp[1];
		}
		struct sh_fields args = { 0 }, assigns = { 0 };
		pid_t pid = -1;
		int st = 0;
		if (expand_cmd(p, c, &args, &assigns) < 0) {
			fdprintf(2, "sh: out of memory expanding words\n");
			st = 1;
		} else if (apply_redirs(p, c, &m) < 0) {
			st = 1;
		} else if (args.n == 0) {
			/* only assignments (and redirections): they set shell variables */
			for (int a = 0; a < assigns.n; a++) {
				char *eq = strchr(assigns.v[a], '=');
				*eq = '\0';
				var_set(assigns.v[a], eq + 1);
				*eq = '=';
			}
		} else {
			const struct builtin *b = builtin_find(args.v[0]);
			if (b && pl->ncmds == 1 && !background) {
				single_builtin = true;
				st = run_builtin_here(b, args.n, args.v, m.fd);
			} else if (b) {
				pid = fork_builtin(b, args.n, args.v, &m);
			} else {
				pid = start_program(args.v, &assigns, &m);
			}
			if (pid < 0 && !single_builtin)
				st = pid == -ENOENT ? 127 : 126;
			if (pid > 0 && !handed && !background && on_terminal(m.fd[0]))
				handed = tty_hand_to(pid) > 0;
		}
		fdmap_close_opened(&m);
		fields_cleanup(&args);
		fields_cleanup(&assigns);
		if (prev_read >= 0)
			close(prev_read);
		if (pp[1] >= 0)
			close(pp[1]);
		prev_read = pp[0];
		/* every command counts, even one that did not start */
		j->j_pids[j->j_nprocs] = pid > 0 ? pid : 0;
		j->j_status[j->j_nprocs] = st << 8;
		j->j_reaped[j->j_nprocs] = pid <= 0;
		j->j_nprocs++;
	}
	if (prev_read >= 0)
		close(prev_read);
	if (tty >= 0)
		close(tty);
	if (own_in >= 0)
		close(own_in);
	if (single_builtin || job_done(j)) {
		status = job_status(j);
		job_free(j);
		return status;
	}
	if (background) {
		last_bg_pid = j->j_pids[j->j_nprocs - 1];
		if (interactive)
			fdprintf(2, "[%d] %d\n", j->j_id, last_bg_pid);
		return 0;
	}
	status = job_wait_fg(j);
	job_free(j);
	return status;
}

/* Pipelines first..last joined by && and ||. */
static int run_andor(const struct sh_prog *p, int first, int last, const char *line)
{
	int status = run_pipeline(p, &p->pipes[first], false, line);
	for (int i = first + 1; i <= last && !exit_requested; i++) {
		int op = p->pipes[i - 1].next;
		if ((op == N_AND && status == 0) || (op == N_OR && status != 0))
			status = run_pipeline(p, &p->pipes[i], false, line);
	}
	return status;
}

static int run_prog(const struct sh_prog *p, const char *line)
{
	int status = last_status;
	for (int i = 0; i < p->npipes && !exit_requested;) {
		int k = i;
		while (p->pipes[k].next == N_AND || p->pipes[k].next == N_OR)
			k++;
		if (p->pipes[k].next != N_BG) {
			status = run_andor(p, i, k, line);
		} else if (k == i) {
			status = run_pipeline(p, &p->pipes[i], true, line);
		} else {
			/* a background and-or list: a forked shell runs it */
			struct job *j = job_new(line + p->pipes[i].start,
						(size_t)(p->pipes[k].end - p->pipes[i].start));
			long pid = j ? fork() : -E_FULL;
			if (pid == 0) {
				interactive = false;
				int null = open("/dev/null", O_RDONLY, 0);
				if (null >= 0)
					dup2(null, 0);
				exit(run_andor(p, i, k, line));
			}
			if (pid < 0) {
				fdprintf(2, "sh: cannot start background list: %e\n", pid);
				if (j)
					job_free(j);
				status = 1;
			} else {
				j->j_pids[0] = (pid_t)pid;
				j->j_nprocs = 1;
				last_bg_pid = (pid_t)pid;
				if (interactive)
					fdprintf(2, "[%d] %ld\n", j->j_id, pid);
				status = 0;
			}
		}
		last_status = status;
		i = k + 1;
	}
	return status;
}

int run_line(const char *line)
{
	static struct sh_prog prog; /* 20 KiB: not on the stack */
	if (sh_parse(line, &prog) < 0) {
		fdprintf(2, "sh: %s\n", prog.err);
		last_status = 2;
		return 2;
	}
	/* run_prog may re-enter (source): work on a copy */
	struct sh_prog *p = malloc(sizeof(*p));
	if (!p) {
		fdprintf(2, "sh: out of memory\n");
		return last_status = 1;
	}
	memcpy(p, &prog, sizeof(*p));
	/* the copy's word pointers must point into the copy's text */
	for (int i = 0; i < p->nwords; i++)
		p->words[i] = p->text + (prog.words[i] - prog.text);
	int st = p->npipes ? run_prog(p, line) : last_status;
	free(p);
	return st;
}

int run_text(char *text)
{
	for (char *l = text; l && *l && !exit_requested;) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		run_line(l);
		l = nl ? nl + 1 : NULL;
	}
	return last_status;
}

int read_file(const char *path, char **out)
{
	int fd = open(path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap + 1);
	for (ssize_t r = 1; buf && r > 0;) {
		if (len == cap) {
			char *b = malloc(cap * 2 + 1);
			if (b)
				memcpy(b, buf, len);
			free(buf);
			buf = b;
			cap *= 2;
			if (!buf)
				break;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			close(fd);
			free(buf);
			return (int)r;
		}
		len += (size_t)r;
	}
	close(fd);
	if (!buf)
		return -ENOMEM;
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* ---- builtins ---- */

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

static int bi_set(int argc UNUSED, char **argv UNUSED, const int *fd)
{
	var_list(fd[1], false);
	return 0;
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
	uint64_t us = (rdtsc() - t0) / (ukinfo->ki_tsc_hz / 1000000 ? ukinfo->ki_tsc_hz / 1000000 : 1);
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
		fdprintf(fd[2], "usage: trace [run] COMMAND [ARGS...]: run it with its system calls logged\n"
				"       trace ENVID on|off: log a running env's system calls\n");
		return 2;
	}
	/* traced from its first instruction: tracing it after it starts would
	 * miss its first calls */
	struct fdmap m;
	for (int k = 0; k < VFD; k++)
		m.fd[k] = k < 3 ? fd[k] : -1;
	m.nopened = 0;
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
	{ "set", bi_set, "list variables" },
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
};

static const struct builtin *builtin_find(const char *name)
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
	out_printf(&o, "Programs (each takes -h): type 'progs' to list them.\n"
		       "Syntax: a | b, a && b, a || b, a; b, a &, < > >> 2> 2>&1, 'q' \"q\" \\, "
		       "$VAR $? $$, * ?\n");
	return out_flush(&o) ? 1 : 0;
}
