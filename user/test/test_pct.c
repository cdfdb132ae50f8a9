/*
 * Protected control transfer: calls and replies (many, with the caller's id
 * supplied by the kernel), asynchronous messages and their bounded queue,
 * sleep and wake, directed yield, every denial path, a callee that dies
 * mid-call, and pipes built on shared pages and transfers.
 */
#include <lib/base/pct.h>
#include <lib/posix/pipe.h>
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>

static volatile uint64_t *shared;

static uint64_t on_call(envid_t caller, uint64_t a0, uint64_t a1, uint64_t a2)
{
	if (a0 == 1)
		return (uint64_t)caller;
	if (a0 == 2)
		exit(0); /* dies mid-call */
	return a0 + a1 * 3 + a2 * 5;
}

static void on_msg(envid_t from, uint64_t a0, uint64_t a1, uint64_t a2)
{
	(void)from, (void)a1, (void)a2;
	shared[1] += a0;
	shared[2]++;
}

static volatile int self_msgs;

static void on_self(envid_t from, uint64_t a0, uint64_t a1, uint64_t a2)
{
	(void)from, (void)a0, (void)a1, (void)a2;
	self_msgs++;
}

/* "Look, then sleep" must not lose a message whose handler runs between
 * the look and the sleep: here the handler runs on the yield, after the
 * look, and the sleep must return at once (before the kernel knew about
 * this, it slept forever: make bench hung on it). Exit status says what
 * went wrong. */
static int look_then_sleep(void)
{
	if (pct_serve(NULL, on_self) < 0)
		return 1;
	uint64_t runs = thisenv->env_runs;
	if (pct_send(thisenv_id, 7, 0, 0) < 0)
		return 2;
	bool looked = self_msgs > 0; /* not yet: messages wait for the next run */
	if (thisenv->env_runs != runs)
		looked = false; /* a timer tick came between: that was a next run */
	sys_yield();                 /* the handler runs here */
	if (looked || self_msgs != 1)
		return 3;
	if (sys_env_sleep(UINT64_MAX) != 1)
		return 4;
	return sys_env_sleep(1) == 0 ? 0 : 5; /* once only: then it sleeps */
}

/* A server: serve, say so, then sleep until told to stop. */
static long server(void)
{
	long pid = fork();
	if (pid == 0) {
		pct_serve(on_call, on_msg);
		shared[0] = 1;
		while (shared[3] == 0)
			sys_env_sleep(UINT64_MAX);
		exit(0);
	}
	while (shared[0] == 0)
		sys_yield();
	return pid;
}

int main(void)
{
	shared = vm_alloc_shared(PAGE_SIZE);
	long srv = server();
	check("server-started", srv > 0);

	bool ok = true;
	for (uint64_t i = 0; i < 1000; i++)
		ok = ok && pct_call((envid_t)srv, i + 10, i, 7) == (long)(i + 10 + 3 * i + 35);
	check("thousand-calls", ok);
	check_eq("caller-id-from-kernel", pct_call((envid_t)srv, 1, 0, 0), thisenv_id);
	check_eq("call-self", sys_pct_call(thisenv_id, CAP_SELF, 0, 0, 0), -E_INVAL);
	check_eq("call-no-env", sys_pct_call(0x7fff0000, CAP_SELF, 0, 0, 0), -E_BAD_ENV);
	check_eq("call-bad-cap", sys_pct_call((envid_t)srv, 29, 0, 0, 0), -E_BAD_CAP);
	long spin = sys_env_create("spin", "", CAP_SELF);
	check_eq("call-no-entry", sys_pct_call((envid_t)spin, CAP_SELF, 0, 0, 0), -E_NO_ENTRY);
	check_eq("send-no-entry", sys_pct_send((envid_t)spin, CAP_SELF, 0, 0, 0), -E_NO_ENTRY);
	sys_env_destroy((envid_t)spin, CAP_SELF);
	sys_env_wait((envid_t)spin);
	check_eq("reply-not-waiting", sys_pct_reply((envid_t)srv, 0), -E_INVAL);
	check_eq("reply-no-env", sys_pct_reply(0x7fff0000, 0), -E_BAD_ENV);
	check_eq("set-guard-bad-slot", sys_pct_set_guard(31), -E_BAD_CAP);

	/* messages: delivered, in order, when the server next runs */
	shared[1] = shared[2] = 0;
	for (int i = 1; i <= 5; i++)
		check_eq("send", pct_send((envid_t)srv, (uint64_t)i, 0, 0), 0);
	uint64_t until = ukinfo->ki_ticks + 5 * ukinfo->ki_tick_hz;
	while (shared[2] < 5 && ukinfo->ki_ticks < until)
		sys_yield();
	check("messages-delivered", shared[2] == 5 && shared[1] == 15);

	/* a sibling may not call the server: a second child tries */
	long sib = fork();
	if (sib == 0) {
		long r = pct_call((envid_t)srv, 5, 0, 0);
		exit(r == -E_PERM ? 0 : 1);
	}
	check_eq("sibling-denied", wait(sib), 0);

	/* the callee dies in the middle of a call */
	check_eq("callee-dies", pct_call((envid_t)srv, 2, 0, 0), -E_BAD_ENV);
	wait(srv);
	shared[0] = 0;
	check_eq("call-dead", pct_call((envid_t)srv, 5, 0, 0), -E_BAD_ENV);

	/* the queue is bounded: a server blocked in wait() gets no CPU, so
	 * messages pile up */
	long busy = fork();
	if (busy == 0) {
		pct_serve(on_call, on_msg);
		long g = fork();
		if (g == 0) {
			while (shared[3] == 0)
				sys_env_sleep(UINT64_MAX);
			exit(0);
		}
		shared[4] = (uint64_t)g;
		shared[0] = 1;
		wait(g);
		/* now running again: the queued messages arrive one per turn */
		uint64_t t = ukinfo->ki_ticks + 5 * ukinfo->ki_tick_hz;
		while (shared[2] < PCT_QUEUE && ukinfo->ki_ticks < t)
			sys_yield();
		exit(0);
	}
	while (shared[0] == 0)
		sys_yield();
	shared[2] = 0;
	long r = 0;
	int sent = 0;
	while ((r = pct_send((envid_t)busy, 1, 0, 0)) == 0)
		sent++;
	check_eq("queue-full", r, -E_FULL);
	check_eq("queue-bound", sent, PCT_QUEUE);
	check_eq("call-busy", pct_call((envid_t)busy, 5, 0, 0), -E_AGAIN);
	shared[3] = 1;
	pct_send((envid_t)shared[4], 0, 0, 0);
	check_eq("busy-server-exits", wait(busy), 0);
	check("queued-all-delivered", shared[2] == PCT_QUEUE);
	shared[0] = shared[3] = 0;

	/* sleep */
	check_eq("sleep-zero", sys_env_sleep(0), 0);
	uint64_t t0 = ukinfo->ki_ticks;
	check_eq("sleep-times-out", sys_env_sleep(3), 0);
	check("sleep-slept", ukinfo->ki_ticks >= t0 + 3);
	long looker = fork();
	if (looker == 0)
		exit(look_then_sleep());
	check_eq("sleep-after-handler-returns-at-once", wait(looker), 0);

	/* directed yield */
	check_eq("yield-to-none", sys_yield_to(0x7fff0000), -E_BAD_ENV);
	check_eq("yield-to-self", sys_yield_to(thisenv_id), 0);
	check_eq("yield-to-next", sys_yield_to(0), 0);

	/* pipes: a megabyte through, checksummed, and a 1-byte ping-pong */
	struct pipe *down = pipe_new(), *up = pipe_new();
	long kid = fork();
	if (kid == 0) {
		pipe_reader(down);
		pipe_writer(up);
		uint8_t buf[1000];
		uint64_t sum = 0, total = 0;
		long n;
		while ((n = pipe_read(down, buf, sizeof(buf))) > 0) {
			for (long i = 0; i < n; i++)
				sum = sum * 31 + buf[i];
			total += (uint64_t)n;
			if (total == 1 << 20)
				break;
		}
		pipe_write(up, &sum, sizeof(sum));
		for (int i = 0; i < 100; i++) {
			uint8_t c;
			if (pipe_read(down, &c, 1) != 1)
				exit(1);
			c++;
			pipe_write(up, &c, 1);
		}
		exit(0);
	}
	pipe_writer(down);
	pipe_reader(up);
	uint8_t block[4096];
	uint64_t want = 0;
	for (int i = 0; i < (1 << 20) / 4096; i++) {
		for (int j = 0; j < 4096; j++) {
			block[j] = (uint8_t)(i * 7 + j);
			want = want * 31 + block[j];
		}
		pipe_write(down, block, sizeof(block));
	}
	uint64_t got = 0;
	check_eq("pipe-sum-size", pipe_read(up, &got, sizeof(got)), sizeof(got));
	check("pipe-megabyte-intact", got == want);
	ok = true;
	for (int i = 0; i < 100 && ok; i++) {
		uint8_t c = (uint8_t)i, d = 0;
		ok = pipe_write(down, &c, 1) == 1 && pipe_read(up, &d, 1) == 1 &&
		     d == (uint8_t)(i + 1);
	}
	check("pipe-ping-pong", ok);
	check_eq("pipe-child-exit", wait(kid), 0);
	check_eq("pipe-eof-after-writer-died", pipe_read(up, block, 1), 0);
	return test_finish();
}
