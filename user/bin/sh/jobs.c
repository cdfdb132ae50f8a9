/*
 * Jobs: the processes of one pipeline, in the foreground or the background.
 *
 * The terminal: a foreground job that reads the console gets it. The shell
 * gives the job's descriptors that were its console a terminal file
 * (lib/posix/tty.c: the console with echo and line editing, done in the
 * job's own library OS), hands the console to the job's first process that
 * reads it (tty_hand_to), and makes Ctrl-C the console's interrupt
 * character, naming itself (sys_cons_set_intr): the kernel then posts the
 * shell a message on Ctrl-C however busy the job is, and the shell kills
 * the whole job - every process descended from it. The console comes back
 * when the process holding it dies (the kernel passes it to the parent).
 * So while a job runs the shell sleeps: a Ctrl-C (ki_cons_intrs changes)
 * or the death of a child ends the sleep.
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
				fdprintf(2, "sh: %s (pid %d) killed: %s\n",
					 (const char *)e->env_name, r, (const char *)e->env_reason);
		} else if (r < 0) { /* not ours any more: count it as killed */
			j->j_status[i] = SIGKILL;
			j->j_reaped[i] = true;
		}
	}
}

int job_status(struct job *j)
{
	int st = j->j_nprocs ? j->j_status[j->j_nprocs - 1] : 0;
	int code = j->j_interrupted  ? 128 + SIGINT
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

static bool intr_armed; /* Ctrl-C is the console's interrupt character, naming us */

bool job_intr_arm(void)
{
	if (intr_armed || !interactive || ukinfo->ki_console != thisenv_id)
		return intr_armed;
	pct_serve(NULL, NULL); /* the kernel's message needs an entry; it only wakes us */
	intr_armed = sys_cons_set_intr(CTRL_C, 0, CAP_SELF) == 0;
	return intr_armed;
}

static int intr_holds;    /* loops running that keep it armed */
static uint32_t intr_seen; /* ki_cons_intrs when the outermost began */
static bool intr_hit;

/* At the prompt Ctrl-C is a byte again: the line editor drops the line. */
static void job_intr_disarm(void)
{
	if (intr_holds)
		return;
	if (intr_armed && ukinfo->ki_console == thisenv_id &&
	    sys_cons_set_intr(CONS_INTR_OFF, 0, 0) == 0)
		intr_armed = false;
}

/* Reap the ended processes of every job (the background's are reported at
 * the next prompt): a zombie child left unreaped would end every sleep at
 * once. true if one was. */
static bool jobs_poll_all(void)
{
	bool reaped = false;
	for (int i = 0; i < JOBS_MAX; i++) {
		struct job *j = &jobs[i];
		if (!j->j_id)
			continue;
		int before = 0, after = 0;
		for (int k = 0; k < j->j_nprocs; k++)
			before += j->j_reaped[k];
		job_poll(j);
		for (int k = 0; k < j->j_nprocs; k++)
			after += j->j_reaped[k];
		reaped |= after != before;
	}
	return reaped;
}

void intr_begin(void)
{
	if (intr_holds++ == 0) {
		intr_hit = false;
		job_intr_arm();
		intr_seen = ukinfo->ki_cons_intrs;
	}
}

void intr_end(void)
{
	if (--intr_holds == 0) {
		intr_hit = false;
		job_intr_disarm();
	}
}

bool intr_pending(void)
{
	if (intr_holds && intr_armed && ukinfo->ki_cons_intrs != intr_seen)
		intr_hit = true;
	return intr_hit;
}

int job_wait_fg(struct job *j)
{
	bool armed = job_intr_arm();
	uint32_t seen = ukinfo->ki_cons_intrs;
	for (;;) {
		bool reaped = jobs_poll_all();
		if (job_done(j))
			break;
		if (armed && ukinfo->ki_cons_intrs != seen) {
			seen = ukinfo->ki_cons_intrs;
			job_interrupt(j);
			continue;
		}
		/* A Ctrl-C's message or a child's death ends the sleep (at once
		 * if one is waiting); the bound is only a backstop. */
		long r = sys_env_sleep_child(ukinfo->ki_tick_hz);
		if (r == ENV_SLEEP_CHILD_ENDED && !reaped && !jobs_poll_all())
			sys_env_sleep(1); /* a child that is no job's: do not spin */
	}
	job_intr_disarm();
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
