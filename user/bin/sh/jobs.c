/*
 * Jobs: the processes of one pipeline, in the foreground or the background.
 *
 * The terminal: the kernel hands console input to one env at a time, and a
 * program that spins never reads it, so a Ctrl-C typed while it runs would
 * sit in the kernel unseen. So the shell keeps the console and is the line
 * discipline: a foreground job's descriptors 0-2 are a TTY file whose input
 * is a pipe from the shell and whose output goes straight to the console.
 * While the job runs, the shell polls the console (sys_cgetc without
 * waiting), edits the line with the same editor as its own prompt, sends
 * each finished line down the pipe, ends its input on Ctrl-D and kills the
 * whole job - every process descended from it - on Ctrl-C. It looks for
 * ended processes in the exposed env table between polls; it sleeps a few
 * ticks when there is nothing to do.
 */
#include "sh.h"

static struct job jobs[JOBS_MAX];

struct job *job_new(const char *text, size_t len)
{
	for (int i = 0; i < JOBS_MAX; i++)
		if (!jobs[i].j_id) {
			struct job *j = &jobs[i];
			memset(j, 0, sizeof(*j));
			int id = 1;
			for (bool taken = true; taken; id += taken) {
				taken = false;
				for (int k = 0; k < JOBS_MAX; k++)
					taken |= jobs[k].j_id == id;
			}
			j->j_id = id;
			j->j_tty = -1;
			size_t n = MIN(len, sizeof(j->j_text) - 1);
			memcpy(j->j_text, text, n);
			while (n && (j->j_text[n - 1] == ' ' || j->j_text[n - 1] == '&'))
				n--;
			j->j_text[n] = '\0';
			return j;
		}
	return NULL;
}

void job_free(struct job *j)
{
	if (j->j_tty >= 0)
		close(j->j_tty);
	j->j_tty = -1;
	j->j_id = 0;
}

bool job_done(struct job *j)
{
	for (int i = 0; i < j->j_nprocs; i++)
		if (!j->j_reaped[i])
			return false;
	return true;
}

/* Reap what has ended of j, without waiting. */
static void job_poll(struct job *j)
{
	for (int i = 0; i < j->j_nprocs; i++) {
		if (j->j_reaped[i])
			continue;
		int st;
		pid_t r = waitpid(j->j_pids[i], &st, WNOHANG);
		if (r == j->j_pids[i]) {
			j->j_status[i] = st;
			j->j_reaped[i] = true;
			/* the kernel killed it: its slot still says why */
			const volatile struct env_info *e = &uenvs[ENVX(r)];
			if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV && e->env_id == r)
				fdprintf(2, "sh: %s (pid %d) killed: %s\n", (const char *)e->env_name, r,
					 (const char *)e->env_reason);
		} else if (r < 0) { /* not ours any more: count it as killed */
			j->j_status[i] = SIGKILL;
			j->j_reaped[i] = true;
		}
	}
}

int job_status(struct job *j)
{
	int st = j->j_nprocs ? j->j_status[j->j_nprocs - 1] : 0;
	int code = j->j_interrupted ? 128 + SIGINT
		   : WIFSIGNALED(st) ? 128 + WTERMSIG(st)
				     : WEXITSTATUS(st);
	if (j->j_negate)
		code = code == 0;
	return code;
}

static void job_interrupt(struct job *j)
{
	j->j_interrupted = true;
	for (int i = 0; i < j->j_nprocs; i++)
		if (!j->j_reaped[i])
			kill_tree(j->j_pids[i], SIGINT);
}

/* The job's line discipline echoes straight to the console. */
static void tty_echo(void *ctx UNUSED, const char *s, size_t n)
{
	sys_cputs(s, n);
}

static void *edit_alloc(size_t n)
{
	return malloc(n);
}

int job_wait_fg(struct job *j)
{
	static struct sh_edit ed;
	ed.echo = tty_echo;
	ed.alloc = edit_alloc;
	ed.release = free;
	ed.nhist = 0;
	sh_edit_init(&ed);
	bool console = ukinfo->ki_console == thisenv_id;
	unsigned idle = 0;
	for (;;) {
		job_poll(j);
		if (job_done(j))
			break;
		bool busy = false;
		long c;
		while (console && (c = sys_cgetc(CGETC_NONBLOCK)) >= 0) {
			busy = true;
			int r = sh_edit_feed(&ed, (unsigned char)c);
			if (r == ED_INTR) {
				job_interrupt(j);
				break;
			}
			if (r == ED_LINE && j->j_tty >= 0) {
				ed.line[ed.len] = '\n';
				write(j->j_tty, ed.line, (size_t)ed.len + 1); /* O_NONBLOCK: a full pipe drops */
				sh_edit_init(&ed);
			} else if (r == ED_LINE || r == ED_EOF) {
				if (j->j_tty >= 0)
					close(j->j_tty);
				j->j_tty = -1;
				sh_edit_init(&ed);
			}
		}
		/* sleep a little longer the longer nothing happens (at most
		 * 10 ms): quick to notice a short job end, cheap for a long one */
		idle = busy ? 0 : MIN(idle + 1, 10u);
		if (!busy)
			sys_env_sleep(MAX(1u, idle * ukinfo->ki_tick_hz / 1000));
	}
	return job_status(j);
}

void jobs_reap(bool report)
{
	for (int i = 0; i < JOBS_MAX; i++) {
		struct job *j = &jobs[i];
		if (!j->j_id || j->j_fg)
			continue;
		job_poll(j);
		if (!job_done(j))
			continue;
		if (report) {
			int st = job_status(j);
			if (st == 0)
				fdprintf(2, "[%d]  Done       %s\n", j->j_id, j->j_text);
			else
				fdprintf(2, "[%d]  Exit %-5d %s\n", j->j_id, st, j->j_text);
		}
		job_free(j);
	}
}

struct job *job_find(const char *spec)
{
	struct job *best = NULL;
	if (!spec) {
		for (int i = 0; i < JOBS_MAX; i++)
			if (jobs[i].j_id && !jobs[i].j_fg && (!best || jobs[i].j_id > best->j_id))
				best = &jobs[i];
		return best;
	}
	if (spec[0] == '%')
		spec++;
	char *end;
	long id = strtol(spec, &end, 10);
	if (*end || id <= 0)
		return NULL;
	for (int i = 0; i < JOBS_MAX; i++)
		if (jobs[i].j_id == id && !jobs[i].j_fg)
			return &jobs[i];
	return NULL;
}

void jobs_list(int fd)
{
	for (int i = 0; i < JOBS_MAX; i++) {
		struct job *j = &jobs[i];
		if (!j->j_id || j->j_fg)
			continue;
		job_poll(j);
		fdprintf(fd, "[%d]  %-10s %s\n", j->j_id, job_done(j) ? "Done" : "Running",
			 j->j_text);
	}
}
