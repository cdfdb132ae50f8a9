/*
 * Running pipelines and simple commands (exec.c runs the rest of the
 * tree): expansion of a command's words, redirections, programs,
 * builtins and function calls.
 *
 * A pipeline's processes are spawned (posix_spawn) with their descriptors
 * 0-9 given as a map of the shell's own: the pipe between neighbours, the
 * job's terminal (jobs.c) or /dev/null for a background job, then the
 * command's redirections in order. Files are opened with open(), so
 * redirection to files works as soon as a file system registers (until
 * then open answers ENOSYS, /dev/null and /dev/tty excepted). A builtin, a
 * function or a compound command alone in the foreground runs in the shell
 * with that map on its 0-2; in a pipeline or the background it runs in a
 * forked copy of the shell, which exits with its status. A here-document
 * is a pipe the shell fills (a forked writer when it is larger than a
 * pipe holds).
 *
 * Programs are found by name in the boot image (the kernel's env_create
 * looks them up) until programs load from /bin; a path names the program
 * its last component does. A path to a file starting with "#!" runs its interpreter.
 */
#include "sh.h"

bool interactive;
bool exit_requested;
int exit_code;

#define HEREDOC_INLINE 2048 /* bytes written straight into a pipe (it holds more) */

/* Does n plainly run in the shell (a builtin or function named by its
 * first word, unquoted; only assignments)? Then it needs no terminal of
 * its own. */
static bool runs_in_shell(const struct sh_prog *p, const struct sh_node *n)
{
	if (n->n_kind != K_CMD)
		return true;
	if (n->n_nwords == 0)
		return true;
	const char *w = p->words[n->n_word0];
	return !sh_is_assignment(w) && (builtin_find(w) != NULL || func_exists(w));
}

/* ---- expansion ---- */

static void fields_cleanup(struct sh_fields *f)
{
	sh_fields_free(f, &expand_ops);
}

/* The command's words, expanded: leading assignments into *assigns (each
 * "NAME=value"), the rest into *args. */
static int expand_cmd(const struct sh_prog *p, const struct sh_node *c, struct sh_fields *args,
		      struct sh_fields *assigns)
{
	bool leading = true;
	for (int i = 0; i < c->n_nwords; i++) {
		const char *w = p->words[c->n_word0 + i];
		if (leading && sh_is_assignment(w)) {
			/* one value, however it would split */
			char *s = sh_expand_one(w, &expand_ops, false);
			if (!s)
				return -1;
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
			return -1;
	}
	return 0;
}

/* ---- redirections ---- */

static void fdmap_close_opened(struct fdmap *m)
{
	for (int i = 0; i < m->nopened; i++)
		close(m->opened[i]);
	m->nopened = 0;
}

void fdmap_init(struct fdmap *m, const int *fd3)
{
	for (int k = 0; k < VFD; k++)
		m->fd[k] = k < 3 ? fd3[k] : -1;
	m->nopened = 0;
}

/* A pipe to read body from: its read end, or < 0 (said). */
static int heredoc_fd(const char *body)
{
	int pp[2];
	int r = pipe(pp);
	if (r < 0) {
		fdprintf(2, "sh: here-document: %s\n", strerror(r));
		return r;
	}
	size_t n = strlen(body);
	if (n <= HEREDOC_INLINE) {
		write_all(pp[1], body, n);
		close(pp[1]);
		return pp[0];
	}
	long pid = fork();
	if (pid == 0) {
		close(pp[0]);
		write_all(pp[1], body, n);
		exit(0);
	}
	close(pp[1]);
	if (pid < 0) {
		fdprintf(2, "sh: here-document: %e\n", pid);
		close(pp[0]);
		return -ENOMEM;
	}
	return pp[0]; /* the writer is reaped as a child that is no job's */
}

static int open_target(const struct sh_prog *p, const struct sh_redir *r)
{
	const char *w = p->text + r->word;
	if (r->op == R_HEREDOC_RAW)
		return heredoc_fd(w);
	if (r->op == R_HEREDOC) {
		char *body = sh_expand_heredoc(w, &expand_ops);
		if (!body)
			return -1;
		int fd = heredoc_fd(body);
		free(body);
		return fd;
	}
	struct sh_fields f = { 0 };
	if (sh_expand(w, &expand_ops, &f) < 0) {
		fields_cleanup(&f);
		return -1;
	}
	if (f.n != 1) {
		fdprintf(2, "sh: %s: ambiguous redirect\n", w);
		fields_cleanup(&f);
		return -1;
	}
	int flags = r->op == R_IN    ? O_RDONLY
		    : r->op == R_OUT ? O_WRONLY | O_CREAT | O_TRUNC
				     : O_WRONLY | O_CREAT | O_APPEND;
	int fd = open(f.v[0], flags | O_CLOEXEC, 0666);
	if (fd < 0)
		fdprintf(2, "sh: %s: %s\n", f.v[0], strerror(fd));
	fields_cleanup(&f);
	return fd;
}

int apply_redirs(const struct sh_prog *p, const struct sh_node *n, struct fdmap *m)
{
	for (int i = 0; i < n->n_nredirs; i++) {
		const struct sh_redir *r = &p->redirs[n->n_redir0 + i];
		if (r->op == R_DUP) {
			if (m->fd[r->dupfd] < 0) {
				fdprintf(2, "sh: %d: bad file descriptor\n", r->dupfd);
				return -1;
			}
			m->fd[r->fd] = m->fd[r->dupfd];
			continue;
		}
		if (m->nopened == SH_FDS_OPENED_MAX) {
			fdprintf(2, "sh: too many redirections in one command\n");
			return -1;
		}
		int fd = open_target(p, r);
		if (fd < 0)
			return -1;
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
pid_t start_program(char **argv, const struct sh_fields *assigns, const struct fdmap *m)
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

/* Run fn in the shell with fd[0..2] as its 0-2 for the while (what it
 * runs itself, as time and source do, sees them), then put ours back. */
static int run_here(const int *fd, int (*fn)(void *arg, const int *fd), void *arg)
{
	int saved[3], mine[3] = { 0, 1, 2 };
	if (fd[0] == 0 && fd[1] == 1 && fd[2] == 2)
		return fn(arg, mine); /* nothing to move: no descriptors spent */
	for (int i = 0; i < 3; i++)
		saved[i] = dup(i);
	for (int i = 0; i < 3; i++) {
		int src = fd[i] >= 0 && fd[i] < 3 ? saved[fd[i]] : fd[i];
		if (src < 0)
			close(i);
		else if (src != i)
			dup2(src, i);
	}
	int st = fn(arg, mine);
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

/* Run fn with descriptors m in a forked copy of the shell. */
static pid_t fork_with(const struct fdmap *m, int (*fn)(void *arg, const int *fd), void *arg)
{
	long pid = fork();
	if (pid < 0) {
		fdprintf(2, "sh: fork: %e\n", pid);
		return -ENOMEM;
	}
	if (pid == 0) {
		/* the copy's own 0-2 become the command's, for what it runs itself */
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
		int st = fn(arg, fds);
		exit(exit_requested ? exit_code : st);
	}
	return (pid_t)pid;
}

/* What runs in the shell or a forked copy: a builtin or function with
 * its arguments, or a compound command. */
struct inner {
	const struct builtin *b;
	int argc;
	char **argv;
	struct sh_prog *p;
	int node;
};

static int inner_run(void *arg, const int *fd)
{
	struct inner *in = arg;
	if (in->b)
		return in->b->fn(in->argc, in->argv, fd);
	if (in->argv)
		return func_call(in->argc, in->argv);
	return exec_node(in->p, in->node);
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

/* Only assignments: they set shell variables. */
static void assign_all(const struct sh_fields *assigns)
{
	for (int a = 0; a < assigns->n; a++) {
		char *eq = strchr(assigns->v[a], '=');
		*eq = '\0';
		if (var_set(assigns->v[a], eq + 1) < 0)
			fdprintf(2, "sh: %s: cannot set\n", assigns->v[a]);
		*eq = '=';
	}
}

/* One command of a pipeline with descriptors m: its status (st) if it ran
 * in the shell, else the pid of what runs it. */
static pid_t run_one(struct sh_prog *p, int idx, bool alone, struct fdmap *m, int *st,
		     bool *in_shell)
{
	const struct sh_node *c = &p->nodes[idx];
	*in_shell = false;
	*st = 0;
	if (c->n_kind != K_CMD) {
		struct inner in = { .p = p, .node = idx };
		if (apply_redirs(p, c, m) < 0) {
			*st = 1;
			return -1;
		}
		if (alone) {
			*in_shell = true;
			*st = run_here(m->fd, inner_run, &in);
			return 0;
		}
		return fork_with(m, inner_run, &in);
	}
	struct sh_fields args = { 0 }, assigns = { 0 };
	pid_t pid = -1;
	subst_ran = false; /* a command substitution in the words sets subst_status */
	if (expand_cmd(p, c, &args, &assigns) < 0 || apply_redirs(p, c, m) < 0) {
		*st = 1;
	} else if (args.n == 0) {
		assign_all(&assigns);
		*st = subst_ran ? subst_status : 0;
		*in_shell = alone;
	} else {
		struct inner in = { .b = builtin_find(args.v[0]), .argc = args.n, .argv = args.v };
		bool func = !in.b && func_exists(args.v[0]);
		if ((in.b || func) && alone) {
			*in_shell = true;
			*st = run_here(m->fd, inner_run, &in);
		} else if (in.b || func) {
			pid = fork_with(m, inner_run, &in);
		} else {
			pid = start_program(args.v, &assigns, m);
		}
		if (pid < 0 && !*in_shell)
			*st = pid == -ENOENT ? 127 : 126;
	}
	fields_cleanup(&args);
	fields_cleanup(&assigns);
	return pid;
}

int run_pipeline(struct sh_prog *p, int idx, bool background)
{
	const struct sh_node *pl = &p->nodes[idx];
	int ncmds = 0;
	for (int k = pl->n_kid; k >= 0; k = p->nodes[k].n_next)
		ncmds++;
	if (ncmds > JOB_PROCS_MAX) {
		fdprintf(2, "sh: too many commands in a pipeline (at most %d)\n", JOB_PROCS_MAX);
		return 1;
	}
	/* A job gets our 0-2, except that where ours is the console an
	 * interactive shell gives it a terminal (jobs.c, lib/posix/tty.c) */
	int def[3] = { 0, 1, 2 }, own_in = -1, tty = -1;
	if (background)
		own_in = def[0] = open("/dev/null", O_RDONLY, 0);
	bool console = false;
	for (int i = 0; i < 3; i++)
		console |= on_console(def[i]);
	bool alone = ncmds == 1 && !background;
	if (console && interactive && ukinfo->ki_console == thisenv_id &&
	    !(alone && runs_in_shell(p, &p->nodes[pl->n_kid]))) {
		tty = tty_open();
		if (tty >= 0) {
			job_intr_arm(); /* while the console is still ours */
			for (int i = 0; i < 3; i++)
				def[i] = on_console(def[i]) ? tty : def[i];
		}
	}
	bool handed = false; /* the console went to the job's first reader */
	int prev_read = -1, status = 0;
	bool in_shell = false;
	/* what ran: a job is made only if a process started (a function
	 * calling itself must not use up the job table) */
	int nprocs = 0, nstarted = 0;
	pid_t pids[JOB_PROCS_MAX];
	int stats[JOB_PROCS_MAX];
	for (int k = pl->n_kid; k >= 0; k = p->nodes[k].n_next) {
		bool last = p->nodes[k].n_next < 0;
		struct fdmap m;
		fdmap_init(&m, def);
		if (prev_read >= 0)
			m.fd[0] = prev_read;
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
		int st;
		pid_t pid = run_one(p, k, alone, &m, &st, &in_shell);
		if (pid > 0 && !handed && !background && on_terminal(m.fd[0]))
			handed = tty_hand_to(pid) > 0;
		fdmap_close_opened(&m);
		if (prev_read >= 0)
			close(prev_read);
		if (pp[1] >= 0)
			close(pp[1]);
		prev_read = pp[0];
		/* every command counts, even one that did not start */
		pids[nprocs] = pid > 0 ? pid : 0;
		stats[nprocs++] = st;
		nstarted += pid > 0;
	}
	if (prev_read >= 0)
		close(prev_read);
	if (tty >= 0)
		close(tty);
	if (own_in >= 0)
		close(own_in);
	if (in_shell || nstarted == 0) {
		status = nprocs ? stats[nprocs - 1] : status;
		return pl->n_negate ? status == 0 : status;
	}
	struct job *j = job_new(p->src + pl->n_start, (size_t)(pl->n_end - pl->n_start));
	if (!j) {
		/* no slot to watch them by: wait for them plainly */
		fdprintf(2, "sh: too many jobs: waiting for this one without job control\n");
		for (int i = 0; i < nprocs; i++)
			if (pids[i] > 0 && waitpid(pids[i], &stats[i], 0) == pids[i])
				stats[i] = WIFSIGNALED(stats[i]) ? 128 + WTERMSIG(stats[i])
								 : WEXITSTATUS(stats[i]);
		status = stats[nprocs - 1];
		return pl->n_negate ? status == 0 : status;
	}
	j->j_negate = pl->n_negate;
	j->j_fg = !background;
	for (int i = 0; i < nprocs; i++) {
		j->j_pids[i] = pids[i];
		j->j_status[i] = (stats[i] & 0xff) << 8;
		j->j_reaped[i] = pids[i] == 0;
	}
	j->j_nprocs = nprocs;
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
