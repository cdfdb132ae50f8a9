/*
 * Running the parsed tree (parse.h): lists, and-or lists, the control
 * structures (if, while, until, for, case, { }, ( )), functions with their
 * own positional parameters, break/continue/return, and command
 * substitution. Pipelines and simple commands are run.c's.
 *
 * Ownership: a parsed complete command (struct sh_prog) is counted
 * (p->refs): run_text holds it while it runs and every function it defined
 * holds it as long as the definition stands, so a function's body is the
 * tree it was parsed into.
 *
 * Hostile stance: the tree is as deep as the parser allows (SH_NEST_MAX),
 * function calls are bounded by SH_CALLS_MAX and by the stack that is
 * left (stack_low), a loop stops on Ctrl-C (the shell arms the console's
 * interrupt while one runs) and command substitution reads at most
 * SH_SUBST_MAX bytes.
 */
#include "sh.h"

#define SH_CALLS_MAX 100        /* nested function calls */
#define SH_SUBST_MAX (1 << 20)  /* bytes a command substitution gives */
#define FUNCS_MAX 64            /* functions defined at once */
#define STACK_RESERVE (24 << 10) /* stack kept free for what a leaf command needs */

int flow;        /* enum sh_flow: a break, continue or return under way */
int flow_levels; /* loops a break or continue still has to leave */
int loop_depth;  /* loops running (break and continue need one) */
static int call_depth;
int subst_status; /* the last command substitution's status */
bool subst_ran;

static struct func {
	char *name;
	struct sh_prog *prog;
	int body;
} funcs[FUNCS_MAX];

void prog_release(struct sh_prog *p)
{
	if (--p->refs > 0)
		return;
	sh_prog_free(p);
	free(p);
}

/* Has the stack come within STACK_RESERVE of its end? (Only for the
 * program's initial stack, where the shell runs.) */
bool stack_low(void)
{
	volatile char probe;
	uintptr_t here = (uintptr_t)&probe, base = USTACKTOP - USTACK_PAGES * PAGE_SIZE;
	return here > base && here < USTACKTOP && here - base < STACK_RESERVE;
}

/* Is script_argv ours (from set or shift), to free when replaced? */
static bool positional_owned;

static void positional_free(void)
{
	if (!positional_owned)
		return;
	for (int i = 1; i < script_argc; i++)
		free(script_argv[i]);
	free(script_argv);
	positional_owned = false;
}

int positional_set(char **args, int n)
{
	char **v = malloc(sizeof(char *) * (size_t)(n + 2));
	if (!v) {
		fdprintf(2, "sh: out of memory\n");
		return -ENOMEM;
	}
	v[0] = script_argc > 0 ? script_argv[0] : (char *)"sh";
	for (int i = 0; i < n; i++) {
		size_t len = strlen(args[i]) + 1;
		v[i + 1] = malloc(len);
		if (!v[i + 1]) {
			while (i-- > 0)
				free(v[i + 1]);
			free(v);
			fdprintf(2, "sh: out of memory\n");
			return -ENOMEM;
		}
		memcpy(v[i + 1], args[i], len);
	}
	v[n + 1] = NULL;
	positional_free();
	script_argc = n + 1;
	script_argv = v;
	positional_owned = true;
	return 0;
}

static struct func *func_find(const char *name)
{
	for (int i = 0; i < FUNCS_MAX; i++)
		if (funcs[i].name && strcmp(funcs[i].name, name) == 0)
			return &funcs[i];
	return NULL;
}

bool func_exists(const char *name)
{
	return func_find(name) != NULL;
}

static int func_define(struct sh_prog *p, int n)
{
	const char *name = p->words[p->nodes[n].n_word0];
	struct func *f = func_find(name);
	for (int i = 0; i < FUNCS_MAX && !f; i++)
		if (!funcs[i].name)
			f = &funcs[i];
	if (!f) {
		fdprintf(2, "sh: %s: too many functions (at most %d)\n", name, FUNCS_MAX);
		return 1;
	}
	if (!f->name) {
		f->name = malloc(strlen(name) + 1);
		if (!f->name) {
			fdprintf(2, "sh: out of memory\n");
			return 1;
		}
		strlcpy(f->name, name, strlen(name) + 1);
	} else {
		prog_release(f->prog);
	}
	p->refs++;
	f->prog = p;
	f->body = p->nodes[n].n_a;
	return 0;
}

int func_call(int argc, char **argv)
{
	struct func *f = func_find(argv[0]);
	if (!f)
		return 127;
	if (call_depth >= SH_CALLS_MAX || stack_low()) {
		fdprintf(2, "sh: %s: too deeply nested (function calls at most %d)\n", argv[0],
			 SH_CALLS_MAX);
		return 2;
	}
	/* its own $1.. and $#; $0 stays the shell's */
	int saved_argc = script_argc;
	char **saved_argv = script_argv;
	bool saved_owned = positional_owned;
	positional_owned = false;
	char *zero = argv[0];
	argv[0] = script_argc > 0 ? script_argv[0] : zero;
	script_argc = argc;
	script_argv = argv;
	struct sh_prog *p = f->prog;
	p->refs++; /* a redefinition while it runs must not free it */
	int saved_loops = loop_depth;
	loop_depth = 0;
	call_depth++;
	int st = exec_node(p, f->body);
	call_depth--;
	loop_depth = saved_loops;
	prog_release(p);
	if (flow == FLOW_RETURN) {
		flow = FLOW_NONE;
		st = last_status;
	}
	argv[0] = zero;
	positional_free(); /* what set or shift made inside */
	positional_owned = saved_owned;
	script_argc = saved_argc;
	script_argv = saved_argv;
	return st;
}

/* ---- control structures ---- */

/* Should a loop stop: a break, continue or return, exit, or Ctrl-C? */
static bool loop_leave(int *st)
{
	if (intr_pending()) {
		*st = 128 + SIGINT;
		exit_requested |= !interactive;
		return true;
	}
	if (exit_requested || flow == FLOW_RETURN)
		return true;
	if (flow == FLOW_BREAK || flow == FLOW_CONTINUE) {
		if (--flow_levels > 0)
			return true; /* an outer loop's */
		bool brk = flow == FLOW_BREAK;
		flow = FLOW_NONE;
		return brk;
	}
	return false;
}

static int exec_loop(struct sh_prog *p, const struct sh_node *n)
{
	int st = 0;
	loop_depth++;
	intr_begin();
	for (;;) {
		int c = exec_node(p, n->n_a);
		if (flow != FLOW_NONE || exit_requested || intr_pending()) {
			if (loop_leave(&st))
				break;
			continue;
		}
		if ((c == 0) != (n->n_kind == K_WHILE))
			break;
		st = exec_node(p, n->n_b);
		if (flow != FLOW_NONE || exit_requested || intr_pending())
			if (loop_leave(&st))
				break;
	}
	intr_end();
	loop_depth--;
	return st;
}

static int exec_for(struct sh_prog *p, const struct sh_node *n)
{
	struct sh_fields items = { 0 };
	const char *name = p->words[n->n_word0];
	if (n->n_in) {
		for (int i = 1; i < n->n_nwords; i++)
			if (sh_expand(p->words[n->n_word0 + i], &expand_ops, &items) < 0) {
				sh_fields_free(&items, &expand_ops);
				return 1;
			}
	}
	int count = n->n_in ? items.n : script_argc - 1;
	int st = 0;
	loop_depth++;
	intr_begin();
	for (int i = 0; i < count; i++) {
		const char *v = n->n_in ? items.v[i] : script_argv[i + 1];
		if (var_set(name, v) < 0) {
			fdprintf(2, "sh: for: cannot set %s\n", name);
			st = 1;
			break;
		}
		st = exec_node(p, n->n_b);
		if ((flow != FLOW_NONE || exit_requested || intr_pending()) && loop_leave(&st))
			break;
	}
	intr_end();
	loop_depth--;
	sh_fields_free(&items, &expand_ops);
	return st;
}

static int exec_case(struct sh_prog *p, const struct sh_node *n)
{
	char *subject = sh_expand_one(p->words[n->n_word0], &expand_ops, false);
	if (!subject)
		return 1;
	int st = 0;
	for (int it = n->n_kid; it >= 0; it = p->nodes[it].n_next) {
		const struct sh_node *item = &p->nodes[it];
		bool hit = false;
		for (int k = 0; k < item->n_nwords && !hit; k++) {
			char *pat = sh_expand_one(p->words[item->n_word0 + k], &expand_ops, true);
			if (!pat) {
				free(subject);
				return 1;
			}
			hit = sh_match_case(pat, subject);
			free(pat);
		}
		if (hit) {
			st = item->n_a >= 0 ? exec_node(p, item->n_a) : 0;
			break;
		}
	}
	free(subject);
	return st;
}

/* A subshell: the list in a forked copy of the shell. */
static int exec_subshell(struct sh_prog *p, int list)
{
	struct job *j = job_new(p->src + p->nodes[list].n_start, 0);
	long pid = j ? fork() : -E_FULL;
	if (pid == 0) {
		interactive = false;
		int st = exec_node(p, list);
		exit(exit_requested ? exit_code : st);
	}
	if (pid < 0) {
		fdprintf(2, "sh: cannot start a subshell: %e\n", pid);
		if (j)
			job_free(j);
		return 1;
	}
	j->j_pids[0] = (pid_t)pid;
	j->j_nprocs = 1;
	j->j_fg = true;
	int st = job_wait_fg(j);
	job_free(j);
	return st;
}

/* An and-or list sent to the background: a forked shell runs it. */
static int exec_background(struct sh_prog *p, int ao)
{
	const struct sh_node *n = &p->nodes[ao];
	const struct sh_node *first = &p->nodes[n->n_kid];
	if (first->n_next < 0)
		return run_pipeline(p, n->n_kid, true);
	struct job *j = job_new(p->src + n->n_start, (size_t)(n->n_end - n->n_start));
	long pid = j ? fork() : -E_FULL;
	if (pid == 0) {
		interactive = false;
		int null = open("/dev/null", O_RDONLY, 0);
		if (null >= 0)
			dup2(null, 0);
		exit(exec_node(p, ao));
	}
	if (pid < 0) {
		fdprintf(2, "sh: cannot start background list: %e\n", pid);
		if (j)
			job_free(j);
		return 1;
	}
	j->j_pids[0] = (pid_t)pid;
	j->j_nprocs = 1;
	last_bg_pid = (pid_t)pid;
	if (interactive)
		fdprintf(2, "[%d] %ld\n", j->j_id, pid);
	return 0;
}

static bool stop_here(void)
{
	return exit_requested || flow != FLOW_NONE || intr_pending();
}

int exec_node(struct sh_prog *p, int idx)
{
	if (idx < 0)
		return 0;
	const struct sh_node *n = &p->nodes[idx];
	int st = 0;
	switch (n->n_kind) {
	case K_LIST:
		st = last_status;
		for (int k = n->n_kid; k >= 0 && !stop_here(); k = p->nodes[k].n_next) {
			st = p->nodes[k].n_bg ? exec_background(p, k) : exec_node(p, k);
			last_status = st;
		}
		return st;
	case K_ANDOR:
		for (int k = n->n_kid; k >= 0 && !stop_here(); k = p->nodes[k].n_next) {
			int join = p->nodes[k].n_join;
			if (join == J_FIRST || (join == J_AND && st == 0) ||
			    (join == J_OR && st != 0))
				st = exec_node(p, k);
			last_status = st;
		}
		return st;
	case K_PIPE: return run_pipeline(p, idx, false);
	case K_FUNC: return func_define(p, idx);
	case K_SUBSHELL: return exec_subshell(p, n->n_a);
	case K_GROUP: return exec_node(p, n->n_a);
	case K_IF: {
		int c = exec_node(p, n->n_a);
		if (stop_here())
			return c;
		if (c == 0)
			return exec_node(p, n->n_b);
		return n->n_c >= 0 ? exec_node(p, n->n_c) : 0;
	}
	case K_WHILE:
	case K_UNTIL: return exec_loop(p, n);
	case K_FOR: return exec_for(p, n);
	case K_CASE: return exec_case(p, n);
	}
	return 0;
}

/* ---- reading and running text ---- */

static void *prog_alloc(size_t n)
{
	return malloc(n);
}

int run_text(const char *text)
{
	size_t pos = 0, total = strlen(text);
	while (pos < total && !exit_requested) {
		struct sh_prog *p = malloc(sizeof(*p));
		if (!p) {
			fdprintf(2, "sh: out of memory\n");
			return last_status = 1;
		}
		p->alloc = prog_alloc;
		p->release = free;
		size_t used;
		int r = sh_parse_n(text + pos, total - pos, p, &used);
		if (r != SH_PARSE_OK) {
			fdprintf(2, "sh: %s\n", p->err);
			sh_prog_free(p);
			free(p);
			last_status = 2;
			return 2;
		}
		pos += used;
		p->refs = 1;
		if (p->root >= 0)
			last_status = exec_node(p, p->root);
		if (flow == FLOW_BREAK || flow == FLOW_CONTINUE)
			flow = FLOW_NONE; /* outside any loop: nothing to leave */
		prog_release(p);
		if (used == 0)
			break;
	}
	return last_status;
}

int run_line(const char *line)
{
	return run_text(line);
}

int text_state(const char *text)
{
	size_t pos = 0, total = strlen(text);
	int r = SH_PARSE_OK;
	while (pos < total && r == SH_PARSE_OK) {
		struct sh_prog p = { .alloc = prog_alloc, .release = free };
		size_t used;
		r = sh_parse_n(text + pos, total - pos, &p, &used);
		sh_prog_free(&p);
		if (r == SH_PARSE_OK && used == 0)
			break;
		pos += used;
	}
	return r;
}

/* ---- command substitution ---- */

char *exec_subst(const char *text, size_t len)
{
	char *cmd = malloc(len + 1);
	if (!cmd) {
		fdprintf(2, "sh: out of memory\n");
		return NULL;
	}
	memcpy(cmd, text, len);
	cmd[len] = '\0';
	int pp[2];
	int r = pipe(pp);
	if (r < 0) {
		fdprintf(2, "sh: pipe: %s\n", strerror(r));
		free(cmd);
		return NULL;
	}
	long pid = fork();
	if (pid == 0) {
		close(pp[0]);
		dup2(pp[1], 1);
		close(pp[1]);
		interactive = false;
		run_text(cmd);
		exit(exit_requested ? exit_code : last_status);
	}
	free(cmd);
	close(pp[1]);
	if (pid < 0) {
		close(pp[0]);
		fdprintf(2, "sh: fork: %e\n", pid);
		return NULL;
	}
	size_t cap = 256, n = 0;
	char *out = malloc(cap);
	for (ssize_t got = 1; out && got > 0;) {
		if (n + 1 == cap) {
			if (cap >= SH_SUBST_MAX) {
				fdprintf(2, "sh: command output too long (at most %d bytes)\n",
					 SH_SUBST_MAX);
				kill_tree((pid_t)pid, SIGTERM);
				break;
			}
			char *b = malloc(cap * 2);
			if (b)
				memcpy(b, out, n);
			free(out);
			out = b;
			cap *= 2;
			if (!out)
				break;
		}
		got = read(pp[0], out + n, cap - 1 - n);
		if (got > 0)
			n += (size_t)got;
	}
	close(pp[0]);
	int st;
	if (waitpid((pid_t)pid, &st, 0) == (pid_t)pid) {
		subst_status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
		subst_ran = true;
	}
	if (!out) {
		fdprintf(2, "sh: out of memory\n");
		return NULL;
	}
	out[n] = '\0';
	return out;
}
