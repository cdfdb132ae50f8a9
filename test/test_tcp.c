/*
 * Host tests for the TCP core (lib/net/tcp*.c): two stacks against each
 * other over a simulated link (test/tcp_sim.h) that loses, duplicates,
 * corrupts, delays and reorders segments, in random scenarios.
 *
 * Each scenario draws from its seed: the impairments, the bytes each side
 * sends (0 to 64 KiB, or 256 KiB with TCP_BULK=1, in random pieces,
 * copied or zero-copy), buffer
 * sizes, NODELAY, and who closes first. Both sides send everything, shut
 * down, read to end of stream and close. The check: every byte arrives
 * once, in order, unchanged, then EOF - or the connection reports an error
 * (never a silent short stream); afterwards, with TIME_WAIT run out, no
 * connection, TIME_WAIT entry, zero-copy reference or byte of memory is
 * left in either stack.
 *
 * `make host-tests` runs 100,000 scenarios (in ten tests, each well
 * within check.h's time limit under ASan); TCP_SCENARIOS=N runs N per
 * test instead (make tcp-torture: a million), and TCP_SEED=S repeats
 * one scenario, printing its trace.
 */
#include "check.h"

#include <stdint.h>
#include <sys/wait.h>

#include "tcp_sim.h"

#undef snprintf /* the host's, for the message from the child */

#define A_IP 0x0a000001u
#define B_IP 0x0a000002u
#define PORT 8080
#define SIM_LIMIT_US (3000ULL * 1000000) /* simulated time a scenario may take */

struct side {
	struct tcp_stack *st;
	struct tcp_conn *c, *l;
	uint64_t seed;
	int dir;
	size_t to_send, sent, to_recv, rcvd;
	size_t max_piece;
	bool zc, shut, eof, closed, nodelay;
	int err;
	const char *bad; /* what went wrong, or NULL */
	uint16_t *zsums;
	struct tcp_zc zobj;
};

/* The bytes each side sends: a window into one table of random bytes,
 * chosen by the seed, so sending and checking cost no generation. */
#define STREAM_TABLE (1u << 20)
static uint8_t *stream_table;

static const uint8_t *stream(uint64_t seed, int dir)
{
	if (!stream_table) {
		stream_table = malloc(STREAM_TABLE);
		uint64_t x = 88172645463325252ULL;
		for (size_t i = 0; i < STREAM_TABLE; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			stream_table[i] = (uint8_t)(x >> 32);
		}
	}
	return stream_table + ((seed * 2 + (uint64_t)dir) * 7919) % (STREAM_TABLE / 2);
}

static void side_send(struct side *s)
{
	while (s->sent < s->to_send) {
		size_t n = 1 + sim_below((unsigned)s->max_piece);
		n = MIN(n, s->to_send - s->sent);
		long r;
		if (s->zc) {
			/* all or nothing: no more than fits (a piece may exceed SNDBUF) */
			n = MIN(n, tcp_send_room(s->c));
			if (n == 0)
				return;
			r = tcp_send_zc(s->c, &s->zobj, s->sent, n);
		} else {
			r = tcp_send(s->c, stream(s->seed, s->dir) + s->sent, n);
		}
		if (r == -E_AGAIN || r == -E_NO_MEM)
			return;
		if (r < 0) {
			s->err = (int)r;
			return;
		}
		s->sent += (size_t)r;
	}
	if (!s->shut) {
		s->shut = true;
		int r = tcp_shutdown(s->c);
		if (r < 0)
			s->err = r;
	}
}

static void side_recv(struct side *s)
{
	uint8_t buf[8192];
	for (;;) {
		size_t want = 1 + sim_below(sizeof(buf));
		long r = tcp_recv(s->c, buf, want);
		if (r == -E_AGAIN)
			return;
		if (r < 0) {
			s->err = (int)r;
			return;
		}
		if (r == 0) {
			s->eof = true;
			if (s->rcvd != s->to_recv)
				s->bad = "end of stream before every byte arrived";
			return;
		}
		if (s->rcvd + (size_t)r > s->to_recv) {
			s->bad = "more bytes than were sent";
			return;
		}
		if (memcmp(buf, stream(s->seed, !s->dir) + s->rcvd, (size_t)r) != 0) {
			s->bad = "a byte arrived changed or out of order";
			return;
		}
		s->rcvd += (size_t)r;
	}
}

static void side_step(struct side *s)
{
	if (s->closed || s->bad)
		return;
	if (!s->c && s->l) {
		int err;
		s->c = tcp_accept(s->l, &err);
		if (!s->c)
			return;
		if (s->nodelay)
			tcp_setopt(s->c, TCP_OPT_NODELAY, 1);
	}
	if (!s->c)
		return;
	if (!s->err && tcp_error(s->c))
		s->err = tcp_error(s->c);
	if (!s->err && (tcp_events(s->c) & TCP_EV_CONN))
		side_send(s);
	if (!s->err && !s->eof)
		side_recv(s);
	if (!s->err && tcp_error(s->c))
		s->err = tcp_error(s->c);
	if (s->err || (s->eof && s->shut)) {
		tcp_close(s->c);
		s->c = NULL;
		s->closed = true;
		if (s->l) {
			tcp_close(s->l);
			s->l = NULL;
		}
	}
}

struct scenario_result {
	const char *bad;
	bool errored;
	uint64_t sim_us;
};

static bool trace;

static void side_init(struct side *s, struct tcp_stack *st, uint64_t seed, int dir, size_t to_send,
		      size_t to_recv)
{
	memset(s, 0, sizeof(*s));
	s->st = st;
	s->seed = seed;
	s->dir = dir;
	s->to_send = to_send;
	s->to_recv = to_recv;
	s->max_piece = 1 + sim_below(sim_below(2) ? 200 : 40000);
	s->zc = sim_below(4) == 0;
	s->nodelay = sim_below(2);
	if (s->zc) {
		s->zsums = malloc((to_send / TCP_ZC_CHUNK + 1) * sizeof(uint16_t));
		tcp_zc_init(&s->zobj, stream(seed, dir), to_send, s->zsums);
	}
}

/* Mostly short exchanges (handshakes and closes are where the states
 * are), some bulk: one in 32 sends up to 64 KiB, which is 45 full-sized
 * segments and several windows: enough for recovery and congestion
 * control, and cheap enough that 100,000 scenarios fit make test. The
 * longer runs (make tcp-torture) go bigger with TCP_BULK=1. */
static bool bulk; /* TCP_BULK set: the larger sizes */

static size_t draw_size(void)
{
	switch (sim_below(8)) {
	case 0: return 0;
	case 1:
	case 2: return sim_below(200);
	case 3:
	case 4: return sim_below(5000);
	case 5:
	case 6: return sim_below(bulk ? 20000 : 8000);
	default:
		if (bulk)
			return sim_below(4) ? sim_below(60000) : sim_below(256 * 1024);
		return sim_below(4) ? sim_below(16000) : sim_below(64 * 1024);
	}
}

static struct scenario_result run_scenario(uint64_t seed, unsigned mix)
{
	struct scenario_result res = { NULL, false, 0 };
	sim_reset(seed);
	/* impairments by mix: 0 clean, 1 loss, 2 reorder, 3 dup+corrupt, 4 all */
	struct sim_impair *im = &sim.imp;
	im->delay_us = 100 + sim_below(20000);
	im->jitter_us = im->delay_us + sim_below(20000);
	if (mix == 1 || mix == 4)
		im->loss_pm = 1 + sim_below(150);
	if (mix == 2 || mix == 4)
		im->reorder_pm = 1 + sim_below(300);
	if (mix == 3 || mix == 4) {
		im->dup_pm = sim_below(50);
		im->corrupt_pm = sim_below(20);
	}
	struct tcp_stack *sa = sim_add_stack(A_IP), *sb = sim_add_stack(B_IP);
	tcp_stack_set_msl(sa, 1000 + sim_below(5000));
	tcp_stack_set_msl(sb, 1000 + sim_below(5000));
	/* a third of the stacks leave checksums, and most of those segmenting
	 * too, to the device (tcp_sim.h's sim_device) */
	struct tcp_stack *both[2] = { sa, sb };
	for (int i = 0; i < 2; i++)
		if (sim_below(3) == 0)
			tcp_stack_set_offload(both[i], true,
					      sim_below(4) ? 1 + sim_below(TCP_TSO_MAX) : 0);
	size_t ab = draw_size(), ba = draw_size();
	struct side a, b;
	side_init(&a, sa, seed, 0, ab, ba);
	side_init(&b, sb, seed, 1, ba, ab);
	int err;
	b.l = tcp_listen(sb, B_IP, PORT, 1 + (int)sim_below(8), false, &err);
	if (b.l && sim_below(3) == 0)
		tcp_setopt(b.l, TCP_OPT_RCVBUF, 2048 + (int)sim_below(300000));
	if (b.l && b.nodelay)
		tcp_setopt(b.l, TCP_OPT_NODELAY, 1);
	a.c = tcp_connect(sa, A_IP, 0, B_IP, PORT, &err);
	if (!a.c || !b.l) {
		res.bad = "could not connect or listen";
		goto out;
	}
	if (a.nodelay)
		tcp_setopt(a.c, TCP_OPT_NODELAY, 1);
	if (sim_below(3) == 0)
		tcp_setopt(a.c, TCP_OPT_SNDBUF, 2048 + (int)sim_below(300000));
	uint64_t start = sim.now_us;
	for (;;) {
		uint64_t next = sim_step();
		side_step(&a);
		side_step(&b);
		if (a.bad || b.bad)
			break;
		const struct tcp_stats *xa = tcp_stack_stats(sa), *xb = tcp_stack_stats(sb);
		bool settled = a.closed && b.closed && xa->conns_created == xa->conns_freed &&
			       xb->conns_created == xb->conns_freed && !xa->tw_count &&
			       !xb->tw_count && !sim.qlen;
		if (settled)
			break;
		next = MIN(next, sim_step()); /* the sides' calls may have armed timers */
		if (next == UINT64_MAX) {
			res.bad = "stuck: nothing pending, yet not finished";
			break;
		}
		if (next - start > SIM_LIMIT_US) {
			res.bad = "did not finish within the simulated time limit";
			break;
		}
		if (next > sim.now_us)
			sim.now_us = next;
	}
	res.sim_us = sim.now_us - start;
	if (!res.bad)
		res.bad = a.bad ? a.bad : b.bad;
	res.errored = a.err || b.err;
	if (!res.bad && !a.err && !b.err && (a.rcvd != ba || b.rcvd != ab))
		res.bad = "no error reported, yet bytes are missing";
	if (!res.bad && (a.zc && a.zobj.zc_refs))
		res.bad = "zero-copy references left";
	if (trace)
		fprintf(stderr,
			"seed %llu mix %u: %zu/%zu a->b, %zu/%zu b->a, errs %d %d, %.3f s, "
			"delivered %llu dropped %llu corrupt %llu dup %llu; %s\n",
			(unsigned long long)seed, mix, b.rcvd, ab, a.rcvd, ba, a.err, b.err,
			(double)res.sim_us / 1e6, (unsigned long long)sim.delivered,
			(unsigned long long)sim.dropped, (unsigned long long)sim.corrupted,
			(unsigned long long)sim.duplicated, res.bad ? res.bad : "ok");
out:
	if (!a.closed && a.c)
		tcp_close(a.c);
	if (!b.closed && b.c)
		tcp_close(b.c);
	if (b.l)
		tcp_close(b.l);
	sim_free_all();
	if (!res.bad && sim.mem_bytes != 0)
		res.bad = "memory left allocated after the stacks were freed";
	free(a.zsums);
	free(b.zsums);
	return res;
}

static unsigned long scenarios_per_test(void)
{
	bulk = getenv("TCP_BULK") != NULL;
	const char *e = getenv("TCP_SCENARIOS");
	return e ? strtoul(e, NULL, 10) : 10000;
}

/* Run scenarios base + k * step for k = 0, 1, ... below n: the first
 * failing seed (0 if none) and how many ended in a reported error. */
static uint64_t run_seeds(uint64_t base, unsigned long n, unsigned step, unsigned mix,
			  unsigned long *errored, const char **why)
{
	for (unsigned long i = 0; i < n; i += step) {
		struct scenario_result r = run_scenario(base + i, mix);
		if (r.bad) {
			*why = r.bad;
			return base + i;
		}
		*errored += r.errored;
	}
	return 0;
}

/* Scenarios [base, base + n) with impairment mix, half of them in a
 * child process so both CPUs work: all must pass. */
static void run_batch(uint64_t base, unsigned mix)
{
	const char *one = getenv("TCP_SEED");
	if (one) {
		trace = true;
		sim_trace = getenv("TCP_TRACE") != NULL;
		struct scenario_result r = run_scenario(strtoull(one, NULL, 10), mix);
		CHECK_MSG(!r.bad, "seed %s: %s", one, r.bad);
		return;
	}
	unsigned long n = scenarios_per_test(), errored = 0, child_errored = 0;
	const char *why = NULL;
	int fds[2];
	CHECK(pipe(fds) == 0);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		uint64_t bad = run_seeds(base + 1, n, 2, mix, &child_errored, &why);
		char msg[256];
		int len = snprintf(msg, sizeof(msg), "%llu %lu %s", (unsigned long long)bad,
				   child_errored, why ? why : "-");
		if (write(fds[1], msg, (size_t)len) != len)
			exit(3);
		exit(0);
	}
	close(fds[1]);
	uint64_t bad = run_seeds(base, n, 2, mix, &errored, &why);
	char msg[257] = { 0 };
	ssize_t got = read(fds[0], msg, sizeof(msg) - 1);
	close(fds[0]);
	int status;
	waitpid(pid, &status, 0);
	CHECK_MSG(got > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the child running odd seeds failed (status %d)", status);
	unsigned long long cbad = 0;
	char cwhy[200] = "";
	if (got > 0 && sscanf(msg, "%llu %lu %199[^\n]", &cbad, &child_errored, cwhy) >= 2 &&
	    cbad && !bad) {
		bad = cbad;
		why = cwhy;
	}
	if (bad) {
		CHECK_MSG(false, "scenario seed %llu (mix %u): %s (TCP_SEED=%llu to trace)",
			  (unsigned long long)bad, mix, why, (unsigned long long)bad);
		return;
	}
	errored += child_errored;
	/* the offload path must have been taken, or it was not tested */
	CHECK_MSG(n < 1000 || sim_tso_cuts > 0, "no segment went through segmentation offload");
	/* an error is allowed only when reported; it must still be rare */
	CHECK_MSG(errored * 20 <= n, "%lu of %lu scenarios ended in an error", errored, n);
}

TEST(tcp_random, clean_a)
{
	run_batch(1000000, 0);
}
TEST(tcp_random, clean_b)
{
	run_batch(2000000, 0);
}
TEST(tcp_random, loss_a)
{
	run_batch(3000000, 1);
}
TEST(tcp_random, loss_b)
{
	run_batch(4000000, 1);
}
TEST(tcp_random, reorder_a)
{
	run_batch(5000000, 2);
}
TEST(tcp_random, reorder_b)
{
	run_batch(6000000, 2);
}
TEST(tcp_random, dup_corrupt_a)
{
	run_batch(7000000, 3);
}
TEST(tcp_random, dup_corrupt_b)
{
	run_batch(8000000, 3);
}
TEST(tcp_random, everything_a)
{
	run_batch(9000000, 4);
}
TEST(tcp_random, everything_b)
{
	run_batch(10000000, 4);
}
