/*
 * What the TCP core's rule tests share (test/test_tcp_rules.c: segments
 * from a scripted peer; test/test_tcp_pairs.c: two stacks together):
 * building and checksumming segments byte by byte, injecting them, reading
 * the stack's answers from test/tcp_sim.h's capture, and a pair of stacks
 * on the simulated link.
 */
#ifndef EXO_TEST_TCP_RULES_H
#define EXO_TEST_TCP_RULES_H

#include "check.h"

#include <stdint.h>

#include "tcp_sim.h"

#define A_IP 0x0a000001u
#define B_IP 0x0a000002u
#define P_IP 0x0a000009u /* the scripted peer */

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}
static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16)), put16(p + 2, (uint16_t)v);
}
static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* Internet checksum in network order over the pseudo-header and seg. */
static inline uint16_t seg_sum(uint32_t src, uint32_t dst, const uint8_t *seg, size_t len)
{
	uint32_t s =
		(src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + (uint32_t)len;
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)seg[i] << 8 | seg[i + 1];
	if (len & 1)
		s += (uint32_t)seg[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

struct pseg {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	const uint8_t *opt;
	size_t optlen;
	const void *data;
	size_t dlen;
};

/* Build p into buf (checksummed): its length. */
static inline size_t build(uint8_t *buf, uint32_t src, uint32_t dst, const struct pseg *p)
{
	size_t hlen = 20 + ((p->optlen + 3) & ~3u);
	memset(buf, 0, hlen);
	put16(buf, p->sport);
	put16(buf + 2, p->dport);
	put32(buf + 4, p->seq);
	put32(buf + 8, p->ack);
	buf[12] = (uint8_t)(hlen / 4) << 4;
	buf[13] = p->flags;
	put16(buf + 14, p->win);
	if (p->optlen)
		memcpy(buf + 20, p->opt, p->optlen);
	if (p->dlen)
		memcpy(buf + hlen, p->data, p->dlen);
	put16(buf + 16, seg_sum(src, dst, buf, hlen + p->dlen));
	return hlen + p->dlen;
}

/* Hand the stack a segment from the peer, in a buffer of exactly its size. */
static inline void inject(struct tcp_stack *st, uint32_t src, uint32_t dst, const uint8_t *seg,
			  size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, seg, len);
	tcp_input(st, src, dst, copy, len);
	free(copy);
}

static inline void send_peer(struct tcp_stack *st, const struct pseg *p)
{
	uint8_t buf[2000];
	size_t n = build(buf, P_IP, A_IP, p);
	inject(st, P_IP, A_IP, buf, n);
}

/* The i-th captured segment's fields. */
static inline uint8_t cap_flags(int i)
{
	return sim_cap[i][13];
}
static inline uint32_t cap_seq(int i)
{
	return get32(sim_cap[i] + 4);
}
static inline uint32_t cap_ack(int i)
{
	return get32(sim_cap[i] + 8);
}
/* The option of kind in captured segment i: pointer to its bytes, or NULL. */
static inline const uint8_t *cap_opt(int i, uint8_t kind)
{
	size_t hlen = (size_t)(sim_cap[i][12] >> 4) * 4;
	for (size_t k = 20; k < hlen;) {
		uint8_t o = sim_cap[i][k];
		if (o == 0)
			break;
		if (o == 1) {
			k++;
			continue;
		}
		if (o == kind)
			return &sim_cap[i][k];
		k += sim_cap[i][k + 1];
	}
	return NULL;
}

/* A stack at A_IP whose segments are captured, in a fresh simulation. */
static inline struct tcp_stack *scripted(uint64_t seed)
{
	sim_reset(seed);
	struct tcp_stack *st = sim_add_stack(A_IP);
	sim.capture[0] = true;
	return st;
}

/* An established connection A:80 <- P:40000 (the peer's ISN 1000, no
 * options): the stack's ISN in *iss. */
static inline struct tcp_conn *accepted(struct tcp_stack *st, struct tcp_conn **lp, uint32_t *iss)
{
	int err;
	*lp = tcp_listen(st, A_IP, 80, 8, false, &err);
	struct pseg syn = { 40000, 80, 1000, 0, F_SYN, 8192, NULL, 0, NULL, 0 };
	send_peer(st, &syn);
	if (!CHECK_EQ(sim.ncap, 1) || !CHECK_EQ(cap_flags(0), F_SYN | F_ACK))
		return NULL;
	*iss = cap_seq(0);
	struct pseg ack = { 40000, 80, 1001, *iss + 1, F_ACK, 8192, NULL, 0, NULL, 0 };
	send_peer(st, &ack);
	struct tcp_conn *c = tcp_accept(*lp, &err);
	CHECK(c != NULL);
	sim.ncap = 0;
	return c;
}

/* --- two stacks --- */
struct pair {
	struct tcp_stack *a, *b;
};

static inline struct pair pair_new(uint64_t seed)
{
	sim_reset(seed);
	struct pair p = { sim_add_stack(A_IP), sim_add_stack(B_IP) };
	tcp_stack_set_msl(p.a, 2000);
	tcp_stack_set_msl(p.b, 2000);
	return p;
}

static inline bool settled(void *arg)
{
	(void)arg;
	for (int i = 0; i < sim.nstacks; i++) {
		const struct tcp_stats *s = tcp_stack_stats(sim.st[i]);
		if (s->conns_created != s->conns_freed || s->tw_count)
			return false;
	}
	return sim.qlen == 0;
}

static inline bool is_established(void *arg)
{
	return tcp_state(arg) == TCP_ESTABLISHED;
}

static inline bool has_accept(void *arg)
{
	return tcp_events(arg) & TCP_EV_IN;
}

/* A listening on B's port 80 and a connection to it; both ends. */
static inline void connect_pair(struct pair *p, struct tcp_conn **a, struct tcp_conn **b,
				int rcvbuf)
{
	int err;
	struct tcp_conn *l = tcp_listen(p->b, B_IP, 80, 16, false, &err);
	if (rcvbuf)
		tcp_setopt(l, TCP_OPT_RCVBUF, rcvbuf);
	*a = tcp_connect(p->a, A_IP, 0, B_IP, 80, &err);
	run_until(has_accept, l, 10000000);
	*b = tcp_accept(l, &err);
	tcp_close(l);
	CHECK(*a && *b);
}

/* Connections from 10.1.x.y:port to A:80 made by injecting handshakes
 * (the peer's side is not simulated): returns them accepted. */
static inline struct tcp_conn *inject_conn(struct tcp_stack *st, struct tcp_conn *l, uint32_t src,
					   uint16_t port)
{
	uint8_t buf[64];
	struct pseg syn = { port, 80, 1000, 0, F_SYN, 65535, NULL, 0, NULL, 0 };
	sim.ncap = 0;
	inject(st, src, A_IP, buf, build(buf, src, A_IP, &syn));
	if (sim.ncap != 1)
		return NULL;
	struct pseg ack = { port, 80, 1001, cap_seq(0) + 1, F_ACK, 65535, NULL, 0, NULL, 0 };
	inject(st, src, A_IP, buf, build(buf, src, A_IP, &ack));
	int err;
	return tcp_accept(l, &err);
}

#endif
