/*
 * Host tests of the TCP core on request/response traffic (a key-value or
 * HTTP server's): what one exchange costs in segments and timers, counted
 * by tcp_stats, on two stacks over test/tcp_sim.h's link.
 *
 *   - the reply carries the ACK of its request: no pure ACK from the
 *     server, and one segment each way per exchange;
 *   - the delayed ACK that the request arms and the reply cancels stays
 *     off the timer heap (its FIFO, lib/net/tcp_timer.c): the heap sees
 *     only the retransmission timer, one insertion per exchange;
 *   - delayed ACKs armed at different times, one of them cancelled from
 *     the middle of the FIFO, each go out on their own deadline;
 *   - a stack freed with delayed ACKs pending frees every connection
 *     (ASan's leak check);
 *   - an emptied receive ring waits for the next request on the stack's
 *     spares (one allocation for 200 exchanges), which hold at most
 *     TCP_RBUF_SPARES rings.
 */
#include "check.h"
#include <stdint.h>
#include "tcp_sim.h"
#include <lib/net/tcp_int.h> /* TCP_DELACK_US */

#define A_IP 0x0a000001u
#define B_IP 0x0a000002u
#define ROUNDS 200

static void pair_new(uint64_t seed, struct tcp_stack **a, struct tcp_stack **b)
{
	sim_reset(seed);
	*a = sim_add_stack(A_IP);
	*b = sim_add_stack(B_IP);
}

static bool readable(void *arg)
{
	return tcp_events(arg) & TCP_EV_IN;
}

/* n connections from a to b's port 80, both ends, NODELAY (as kvd sets). */
static void connect_n(struct tcp_stack *a, struct tcp_stack *b, int n, struct tcp_conn **ca,
		      struct tcp_conn **cb)
{
	int err;
	struct tcp_conn *l = tcp_listen(b, B_IP, 80, 16, false, &err);
	for (int i = 0; i < n; i++) {
		ca[i] = tcp_connect(a, A_IP, 0, B_IP, 80, &err);
		run_until(readable, l, 10000000);
		cb[i] = tcp_accept(l, &err);
		CHECK(ca[i] && cb[i]);
		tcp_setopt(ca[i], TCP_OPT_NODELAY, 1);
		tcp_setopt(cb[i], TCP_OPT_NODELAY, 1);
	}
	tcp_close(l);
	run_until(NULL, NULL, 100000); /* the handshakes' last ACKs */
}

TEST(tcp_reqresp, the_reply_carries_the_ack_and_the_heap_sees_one_timer)
{
	struct tcp_stack *a, *b;
	pair_new(1, &a, &b);
	sim.imp.delay_us = 100;
	struct tcp_conn *ca, *cb;
	connect_n(a, b, 1, &ca, &cb);
	const struct tcp_stats *sa = tcp_stack_stats(a), *sb = tcp_stack_stats(b);
	struct tcp_stats a0 = *sa, b0 = *sb;
	uint8_t buf[64];
	for (int i = 0; i < ROUNDS; i++) {
		CHECK_EQ(tcp_send(ca, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 20), 20);
		if (!CHECK(run_until(readable, cb, 1000000)))
			break;
		CHECK_EQ(tcp_recv(cb, buf, sizeof(buf)), 20);
		CHECK_EQ(tcp_send(cb, "$5\r\nvalue\r\n", 11), 11); /* at once, as kvd does */
		if (!CHECK(run_until(readable, ca, 1000000)))
			break;
		CHECK_EQ(tcp_recv(ca, buf, sizeof(buf)), 11);
	}
	/* the server: one segment per exchange, its reply, which ACKs the
	 * request; and the client's next request ACKs the reply */
	CHECK_EQ(sb->out_acks - b0.out_acks, 0);
	CHECK_EQ(sb->out_segs - b0.out_segs, ROUNDS);
	CHECK_EQ(sa->out_acks - a0.out_acks, 0);
	CHECK_EQ(sa->out_segs - a0.out_segs, ROUNDS);
	CHECK_EQ(sb->delacks - b0.delacks, 0);
	/* the request's receive ring is the one the last request emptied */
	CHECK(sb->rbuf_allocs - b0.rbuf_allocs <= 1);
	/* one heap insertion per exchange (the reply's retransmission timer,
	 * taken off by the next request's ACK); the delayed ACK the request
	 * armed and the reply cancelled never reached the heap */
	CHECK_EQ(sb->timer_adds - b0.timer_adds, ROUNDS);
	CHECK_EQ(sb->timer_removes - b0.timer_removes, ROUNDS - 1); /* the last reply's waits */
	/* the last reply's ACK goes alone, when the client's delay is over */
	run_until(NULL, NULL, 100000);
	CHECK_EQ(sa->delacks - a0.delacks, 1);
	CHECK_EQ(sa->out_acks - a0.out_acks, 1);
	CHECK_EQ(sb->timer_removes - b0.timer_removes, ROUNDS);
	tcp_abort(ca);
	tcp_abort(cb);
	sim_free_all();
}

TEST(tcp_reqresp, delayed_acks_go_in_order_and_a_cancelled_one_does_not)
{
	struct tcp_stack *a, *b;
	pair_new(2, &a, &b);
	sim.imp.delay_us = 100;
	struct tcp_conn *ca[3], *cb[3];
	connect_n(a, b, 3, ca, cb);
	const struct tcp_stats *sb = tcp_stack_stats(b);
	struct tcp_stats b0 = *sb;
	uint64_t t0 = sim.now_us;
	uint8_t buf[8];
	/* one byte on each at 0, 10 and 20 ms: three delayed ACKs armed */
	for (int i = 0; i < 3; i++) {
		run_until(NULL, NULL, t0 + 10000u * (unsigned)i - sim.now_us);
		CHECK_EQ(tcp_send(ca[i], "x", 1), 1);
		CHECK(run_until(readable, cb[i], 1000));
		CHECK_EQ(tcp_recv(cb[i], buf, sizeof(buf)), 1);
	}
	CHECK_EQ(sb->delacks - b0.delacks, 0);
	/* the middle one is answered: its ACK rides on the reply */
	CHECK_EQ(tcp_send(cb[1], "y", 1), 1);
	CHECK_EQ(sb->out_acks - b0.out_acks, 0);
	/* each of the others on its own deadline, 40 ms after its byte */
	run_until(NULL, NULL, t0 + TCP_DELACK_US + 5000 - sim.now_us);
	CHECK_EQ(sb->delacks - b0.delacks, 1);
	run_until(NULL, NULL, t0 + TCP_DELACK_US + 15000 - sim.now_us);
	CHECK_EQ(sb->delacks - b0.delacks, 1); /* the middle one: cancelled */
	run_until(NULL, NULL, t0 + TCP_DELACK_US + 25000 - sim.now_us);
	CHECK_EQ(sb->delacks - b0.delacks, 2);
	CHECK_EQ(sb->out_acks - b0.out_acks, 2);
	run_until(NULL, NULL, 200000);
	CHECK_EQ(sb->delacks - b0.delacks, 2);
	for (int i = 0; i < 3; i++) {
		tcp_abort(ca[i]);
		tcp_abort(cb[i]);
	}
	sim_free_all();
}

TEST(tcp_reqresp, a_stack_freed_with_delayed_acks_pending_frees_them)
{
	struct tcp_stack *a, *b;
	pair_new(3, &a, &b);
	sim.imp.delay_us = 100;
	struct tcp_conn *ca[4], *cb[4];
	connect_n(a, b, 4, ca, cb);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(tcp_send(ca[i], "x", 1), 1);
	run_until(NULL, NULL, 1000); /* delivered; the ACKs wait */
	CHECK_EQ(tcp_stack_stats(b)->delacks, 0);
	sim_free_all(); /* ASan: nothing leaks, nothing is freed twice */
}

TEST(tcp_reqresp, emptied_receive_rings_are_kept_up_to_the_bound)
{
	struct tcp_stack *a, *b;
	pair_new(4, &a, &b);
	sim.imp.delay_us = 100;
	enum { N = TCP_RBUF_SPARES + 6 };
	static struct tcp_conn *ca[N], *cb[N];
	connect_n(a, b, N, ca, cb);
	size_t m0 = tcp_stack_memory(b);
	for (int i = 0; i < N; i++)
		CHECK_EQ(tcp_send(ca[i], "x", 1), 1);
	run_until(NULL, NULL, 1000);
	CHECK_EQ(tcp_stack_memory(b), m0 + (size_t)N * TCP_RCVBUF_DEFAULT);
	uint8_t buf[8];
	for (int i = 0; i < N; i++)
		CHECK_EQ(tcp_recv(cb[i], buf, sizeof(buf)), 1);
	/* TCP_RBUF_SPARES kept, the rest given back */
	CHECK_EQ(tcp_stack_memory(b), m0 + (size_t)TCP_RBUF_SPARES * TCP_RCVBUF_DEFAULT);
	uint64_t allocs = tcp_stack_stats(b)->rbuf_allocs;
	for (int i = 0; i < N; i++)
		CHECK_EQ(tcp_send(ca[i], "y", 1), 1);
	run_until(NULL, NULL, 1000);
	CHECK_EQ(tcp_stack_stats(b)->rbuf_allocs - allocs, N - TCP_RBUF_SPARES);
	for (int i = 0; i < N; i++) {
		tcp_abort(ca[i]);
		tcp_abort(cb[i]);
	}
	sim_free_all(); /* the spares too: ASan's leak check */
}
