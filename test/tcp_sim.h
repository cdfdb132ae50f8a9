/*
 * A simulated network for the TCP core's host tests (test/test_tcp*.c):
 * stacks (lib/net/tcp.h) joined by a link that loses, duplicates,
 * corrupts, delays and reorders segments, all driven by a seeded
 * generator and a simulated clock, so every run is the same run.
 *
 * The hooks count memory (sim_mem), so a test can check that a stack gives
 * back all it took. A test may also capture what a stack sends
 * (sim_capture) instead of delivering it, to play the peer by hand.
 *
 * Included once per test binary: the definitions live here.
 */
#ifndef EXO_TEST_TCP_SIM_H
#define EXO_TEST_TCP_SIM_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rename.h"

#include <common/string.h>
#include <lib/net/tcp.h>

#define SIM_STACKS 4
#define SIM_QUEUE 8192    /* segments in flight on the link, at most */
#define SIM_SEG_MAX 1600
#define SIM_CAPTURE 256

struct sim_pkt {
	uint64_t at_us, order;
	uint32_t src, dst;
	uint16_t len;
	uint8_t *data;
};

struct sim_impair {
	unsigned loss_pm, dup_pm, corrupt_pm, reorder_pm; /* per mille */
	uint64_t delay_us, jitter_us;                      /* reordered: + up to jitter */
};

struct sim {
	uint64_t now_us, rng, order;
	struct sim_impair imp;
	struct tcp_stack *st[SIM_STACKS];
	uint32_t ip[SIM_STACKS];
	int nstacks;
	int qlen;
	long mem_bytes, mem_blocks;
	uint64_t delivered, dropped, corrupted, duplicated;
	/* capture mode: segments sent by stack i are kept, not delivered */
	bool capture[SIM_STACKS];
	int ncap;
};

/* Kept apart from struct sim, which sim_reset clears for every scenario. */
static struct sim sim;
static struct sim_pkt sim_q[SIM_QUEUE]; /* a min-heap by (at_us, order) */
static uint8_t sim_cap[SIM_CAPTURE][SIM_SEG_MAX];
static size_t sim_cap_len[SIM_CAPTURE];
static uint64_t sim_tso_cuts; /* segments sim_device cut from longer ones, ever */
static bool sim_trace; /* print every segment delivered */

static void sim_print(const char *what, uint32_t src, const uint8_t *d, size_t len)
{
	if (len < 20) {
		fprintf(stderr, "%10.6f %s %x short %zu\n", (double)sim.now_us / 1e6, what, src,
			len);
		return;
	}
	uint32_t seq = (uint32_t)d[4] << 24 | (uint32_t)d[5] << 16 | (uint32_t)d[6] << 8 | d[7];
	uint32_t ack = (uint32_t)d[8] << 24 | (uint32_t)d[9] << 16 | (uint32_t)d[10] << 8 | d[11];
	size_t off = (size_t)(d[12] >> 4) * 4;
	uint8_t f = d[13];
	fprintf(stderr, "%10.6f %s %s %c%c%c%c%c seq %u ack %u win %u len %zu opt %zu\n",
		(double)sim.now_us / 1e6, what, (src & 0xff) == 1 ? "A>B" : "B>A",
		f & 2 ? 'S' : '.', f & 16 ? 'A' : '.', f & 1 ? 'F' : '.', f & 4 ? 'R' : '.',
		f & 8 ? 'P' : '.', seq, ack, d[14] << 8 | d[15], len - off, off - 20);
}

static uint64_t sim_rand(void)
{
	uint64_t x = sim.rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	sim.rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static unsigned sim_below(unsigned n)
{
	return n ? (unsigned)(sim_rand() % n) : 0;
}

static bool pkt_before(const struct sim_pkt *a, const struct sim_pkt *b)
{
	return a->at_us < b->at_us || (a->at_us == b->at_us && a->order < b->order);
}

static void q_push(struct sim_pkt p)
{
	if (sim.qlen == SIM_QUEUE) {
		free(p.data);
		sim.dropped++;
		return;
	}
	int i = sim.qlen++;
	while (i > 0 && pkt_before(&p, &sim_q[(i - 1) / 2])) {
		sim_q[i] = sim_q[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	sim_q[i] = p;
}

static struct sim_pkt q_pop(void)
{
	struct sim_pkt top = sim_q[0], last = sim_q[--sim.qlen];
	int i = 0;
	for (;;) {
		int l = 2 * i + 1, m = i;
		const struct sim_pkt *best = &last;
		if (l < sim.qlen && pkt_before(&sim_q[l], best))
			m = l, best = &sim_q[l];
		if (l + 1 < sim.qlen && pkt_before(&sim_q[l + 1], best))
			m = l + 1;
		if (m == i)
			break;
		sim_q[i] = sim_q[m];
		i = m;
	}
	if (sim.qlen)
		sim_q[i] = last;
	return top;
}

static int sim_index(void *ctx)
{
	return (int)(intptr_t)ctx;
}

static void sim_enqueue(uint32_t src, uint32_t dst, const uint8_t *data, size_t len)
{
	const struct sim_impair *im = &sim.imp;
	if (sim_below(1000) < im->loss_pm) {
		sim.dropped++;
		if (sim_trace)
			sim_print("LOST", src, data, len);
		return;
	}
	int copies = sim_below(1000) < im->dup_pm ? 2 : 1;
	for (int k = 0; k < copies; k++) {
		struct sim_pkt p = { 0 };
		p.data = malloc(len ? len : 1);
		memcpy(p.data, data, len);
		p.len = (uint16_t)len;
		p.src = src, p.dst = dst;
		if (len && sim_below(1000) < im->corrupt_pm) {
			p.data[sim_below((unsigned)len)] ^= (uint8_t)(1u << sim_below(8));
			sim.corrupted++;
		}
		p.at_us = sim.now_us + im->delay_us + 1;
		if (sim_below(1000) < im->reorder_pm)
			p.at_us += 1 + sim_below((unsigned)im->jitter_us + 1);
		p.order = sim.order++;
		if (k)
			sim.duplicated++;
		q_push(p);
	}
}

/* RFC 1071's sum of len bytes (big-endian words), not folded. */
static uint32_t sim_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t sim_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Hand one segment to the wire: captured, or queued on the link. */
static void sim_wire(int me, uint32_t src, uint32_t dst, const uint8_t *seg, size_t len)
{
	if (sim.capture[me]) {
		if (sim.ncap < SIM_CAPTURE && len <= SIM_SEG_MAX) {
			memcpy(sim_cap[sim.ncap], seg, len);
			sim_cap_len[sim.ncap++] = len;
		}
		return;
	}
	sim_enqueue(src, dst, seg, len);
}

/*
 * The device's half of the offloads (tcp_stack_set_offload), done the way
 * a NIC or the host's TAP device does it, from the header alone: a
 * segment longer than one MSS is cut into MSS-sized ones (sequence numbers
 * advanced, FIN and PSH on the last only), and a partial checksum - the
 * pseudo-header's sum over the whole segment's length - is adjusted to
 * each piece's length and finished over its bytes. A stack that got either
 * wrong sends segments the peer drops as corrupt.
 */
static void sim_device(int me, uint32_t src, uint32_t dst, const struct tcp_piece *h,
		       const uint8_t *seg, size_t len)
{
	size_t hlen = h->tp_len, mss = h->tp_tso_mss ? h->tp_tso_mss : len - hlen;
	uint32_t seq =
		(uint32_t)seg[4] << 24 | (uint32_t)seg[5] << 16 | (uint32_t)seg[6] << 8 | seg[7];
	uint16_t partial = (uint16_t)(seg[16] << 8 | seg[17]);
	for (size_t off = hlen;; off += mss) {
		size_t n = MIN(mss, len - off);
		uint8_t out[SIM_SEG_MAX + 64];
		if (hlen + n > sizeof(out))
			abort(); /* a segment the MSS does not allow: a stack bug */
		memcpy(out, seg, hlen);
		memcpy(out + hlen, seg + off, n);
		uint32_t s = seq + (uint32_t)(off - hlen);
		out[4] = (uint8_t)(s >> 24), out[5] = (uint8_t)(s >> 16);
		out[6] = (uint8_t)(s >> 8), out[7] = (uint8_t)s;
		bool last = off + n >= len;
		if (!last)
			out[13] &= (uint8_t)~0x09; /* FIN, PSH */
		if (h->tp_csum_partial) {
			/* the length in the pseudo-header: the whole segment's, now this one's */
			uint32_t adj =
				(uint32_t)partial + (uint16_t)~(uint16_t)len + (uint32_t)(hlen + n);
			out[16] = (uint8_t)(sim_fold(adj) >> 8), out[17] = (uint8_t)sim_fold(adj);
			uint16_t sum = (uint16_t)~sim_fold(sim_sum(0, out, hlen + n));
			out[16] = (uint8_t)(sum >> 8), out[17] = (uint8_t)sum;
		}
		sim_wire(me, src, dst, out, hlen + n);
		sim_tso_cuts += h->tp_tso_mss != 0;
		if (last)
			break;
	}
}

static int sim_output(void *ctx, uint32_t src, uint32_t dst, const struct tcp_piece *pieces, int n)
{
	static uint8_t buf[65536 + 64];
	size_t len = 0;
	for (int i = 0; i < n; i++) {
		if (len + pieces[i].tp_len > sizeof(buf))
			abort(); /* larger than any segment may be: a stack bug */
		memcpy(buf + len, pieces[i].tp_data, pieces[i].tp_len);
		len += pieces[i].tp_len;
	}
	int me = sim_index(ctx);
	if (pieces[0].tp_tso_mss || pieces[0].tp_csum_partial)
		sim_device(me, src, dst, &pieces[0], buf, len);
	else if (len > SIM_SEG_MAX + 64)
		abort(); /* larger than any MSS allows: a stack bug */
	else
		sim_wire(me, src, dst, buf, len);
	return 0;
}

static uint64_t sim_now(void *ctx)
{
	(void)ctx;
	return sim.now_us;
}

static void *sim_alloc(void *ctx, size_t n)
{
	(void)ctx;
	void *p = malloc(n);
	if (p) {
		sim.mem_bytes += (long)n;
		sim.mem_blocks++;
	}
	return p;
}

static void sim_free(void *ctx, void *p, size_t n)
{
	(void)ctx;
	sim.mem_bytes -= (long)n;
	sim.mem_blocks--;
	free(p);
}

static void sim_reset(uint64_t seed)
{
	while (sim.qlen)
		free(q_pop().data);
	memset(&sim, 0, sizeof(sim));
	sim.rng = seed * 0x9E3779B97F4A7C15ULL + 0x1234567;
	if (!sim.rng)
		sim.rng = 1;
	sim.now_us = 1000000 + sim_below(1u << 30); /* clocks start anywhere */
}

static struct tcp_stack *sim_add_stack(uint32_t ip)
{
	int i = sim.nstacks++;
	struct tcp_hooks h = {
		(void *)(intptr_t)i, sim_output, sim_now, sim_alloc, sim_free, NULL
	};
	uint8_t key[16];
	for (int k = 0; k < 16; k++)
		key[k] = (uint8_t)sim_rand();
	sim.st[i] = tcp_stack_new(&h, key);
	sim.ip[i] = ip;
	return sim.st[i];
}

static struct tcp_stack *sim_stack_of(uint32_t ip)
{
	for (int i = 0; i < sim.nstacks; i++)
		if (sim.ip[i] == ip)
			return sim.st[i];
	return NULL;
}

/* Deliver what is due now; run every stack's timers. The next moment
 * anything happens (UINT64_MAX: nothing pending). */
static uint64_t sim_step(void)
{
	while (sim.qlen && sim_q[0].at_us <= sim.now_us) {
		struct sim_pkt p = q_pop();
		struct tcp_stack *st = sim_stack_of(p.dst);
		if (st) {
			/* an exact-size copy, so ASan sees any read past the end */
			sim.delivered++;
			if (sim_trace)
				sim_print("in ", p.src, p.data, p.len);
			tcp_input(st, p.src, p.dst, p.data, p.len);
		}
		free(p.data);
	}
	uint64_t next = sim.qlen ? sim_q[0].at_us : UINT64_MAX;
	for (int i = 0; i < sim.nstacks; i++) {
		uint64_t t = tcp_timers(sim.st[i]);
		if (t < next)
			next = t;
	}
	if (sim.qlen && sim_q[0].at_us < next)
		next = sim_q[0].at_us;
	return next;
}

/* Run the simulation until cond() holds or for at most us. */
static inline bool run_until(bool (*cond)(void *), void *arg, uint64_t us)
{
	uint64_t end = sim.now_us + us;
	for (;;) {
		uint64_t next = sim_step();
		if (cond && cond(arg))
			return true;
		if (next == UINT64_MAX || next > end) {
			sim.now_us = end;
			sim_step();
			return cond ? cond(arg) : true;
		}
		if (next > sim.now_us)
			sim.now_us = next;
	}
}

static void sim_free_all(void)
{
	for (int i = 0; i < sim.nstacks; i++)
		tcp_stack_free(sim.st[i]);
	sim.nstacks = 0;
	while (sim.qlen)
		free(q_pop().data);
}

#endif
