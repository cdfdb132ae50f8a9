/*
 * Host tests for the TCP core's rules, one at a time: what it sends for a
 * given segment (a scripted peer builds segments byte by byte and reads the
 * stack's answers from the capture of test/tcp_sim.h): options, resets,
 * challenge ACKs, malformed segments, PAWS, ISNs. Two stacks together are
 * test/test_tcp_pairs.c's; what both use is test/tcp_rules.h.
 */
#include "tcp_rules.h"

TEST(tcp_rules, syn_carries_options)
{
	struct tcp_stack *st = scripted(1);
	int err;
	struct tcp_conn *c = tcp_connect(st, A_IP, 0, P_IP, 80, &err);
	CHECK(c);
	CHECK_EQ(sim.ncap, 1);
	CHECK_EQ(cap_flags(0), F_SYN);
	const uint8_t *mss = cap_opt(0, 2), *ws = cap_opt(0, 3), *ok = cap_opt(0, 4),
		      *ts = cap_opt(0, 8);
	CHECK(mss && get16(mss + 2) == 1460);
	CHECK(ws && ws[1] == 3);
	CHECK(ok && ok[1] == 2);
	CHECK(ts && ts[1] == 10 && get32(ts + 6) == 0);
	tcp_close(c);
	sim_free_all();
	CHECK_EQ(sim.mem_bytes, 0);
}

TEST(tcp_rules, syn_ack_answers_only_what_was_offered)
{
	struct tcp_stack *st = scripted(2);
	int err;
	struct tcp_conn *l = tcp_listen(st, A_IP, 80, 8, false, &err);
	uint8_t opt[4] = { 2, 4, 0x02, 0x00 }; /* MSS 512 only */
	struct pseg syn = { 40000, 80, 77, 0, F_SYN, 8192, opt, 4, NULL, 0 };
	send_peer(st, &syn);
	CHECK_EQ(sim.ncap, 1);
	CHECK_EQ(cap_flags(0), F_SYN | F_ACK);
	CHECK_EQ(cap_ack(0), 78);
	CHECK(cap_opt(0, 2) != NULL);
	CHECK(!cap_opt(0, 3) && !cap_opt(0, 4) && !cap_opt(0, 8));
	tcp_close(l);
	sim_free_all();
}

TEST(tcp_rules, syn_to_closed_port_is_reset)
{
	struct tcp_stack *st = scripted(3);
	struct pseg syn = { 40000, 81, 5000, 0, F_SYN, 8192, NULL, 0, NULL, 0 };
	send_peer(st, &syn);
	CHECK_EQ(sim.ncap, 1);
	CHECK_EQ(cap_flags(0), F_RST | F_ACK);
	CHECK_EQ(cap_seq(0), 0);
	CHECK_EQ(cap_ack(0), 5001);
	/* an ACK gets a RST at its ack number; a RST gets nothing */
	struct pseg ack = { 40000, 81, 5001, 99999, F_ACK, 8192, NULL, 0, NULL, 0 };
	send_peer(st, &ack);
	CHECK_EQ(sim.ncap, 2);
	CHECK_EQ(cap_flags(1), F_RST);
	CHECK_EQ(cap_seq(1), 99999);
	struct pseg rst = { 40000, 81, 5001, 0, F_RST, 0, NULL, 0, NULL, 0 };
	send_peer(st, &rst);
	CHECK_EQ(sim.ncap, 2);
	sim_free_all();
}

TEST(tcp_rules, rst_must_match_exactly)
{
	struct tcp_stack *st = scripted(4);
	struct tcp_conn *l, *c;
	uint32_t iss;
	if (!(c = accepted(st, &l, &iss)))
		return;
	/* in the window but not rcv_nxt: a challenge ACK (RFC 5961 3.2) */
	struct pseg rst = { 40000, 80, 1500, 0, F_RST, 0, NULL, 0, NULL, 0 };
	send_peer(st, &rst);
	CHECK_EQ(sim.ncap, 1);
	CHECK_EQ(cap_flags(0), F_ACK);
	CHECK_EQ(cap_ack(0), 1001);
	CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
	/* outside the window: dropped, silently */
	rst.seq = 1001 + 10000000;
	send_peer(st, &rst);
	CHECK_EQ(sim.ncap, 1);
	CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
	/* exactly rcv_nxt: the connection is reset */
	rst.seq = 1001;
	send_peer(st, &rst);
	CHECK_EQ(tcp_state(c), TCP_CLOSED);
	CHECK_EQ(tcp_error(c), -ECONNRESET);
	CHECK_EQ(tcp_recv(c, (uint8_t[4]){ 0 }, 4), -ECONNRESET);
	CHECK_EQ(tcp_send(c, "x", 1), -ECONNRESET);
	tcp_close(c);
	tcp_close(l);
	sim_free_all();
	CHECK_EQ(sim.mem_bytes, 0);
}

TEST(tcp_rules, syn_in_established_draws_challenge_ack)
{
	struct tcp_stack *st = scripted(5);
	struct tcp_conn *l, *c;
	uint32_t iss;
	if (!(c = accepted(st, &l, &iss)))
		return;
	struct pseg syn = { 40000, 80, 1001, 0, F_SYN, 8192, NULL, 0, NULL, 0 };
	send_peer(st, &syn);
	CHECK_EQ(sim.ncap, 1);
	CHECK_EQ(cap_flags(0), F_ACK);
	CHECK_EQ(cap_seq(0), iss + 1);
	CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
	/* an ACK for data never sent: answered, ignored */
	struct pseg ack = { 40000, 80, 1001, iss + 5000, F_ACK, 8192, NULL, 0, NULL, 0 };
	send_peer(st, &ack);
	CHECK_EQ(sim.ncap, 2);
	CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
	tcp_close(c);
	tcp_close(l);
	sim_free_all();
}

TEST(tcp_rules, malformed_segments_are_counted_and_dropped)
{
	struct tcp_stack *st = scripted(6);
	struct tcp_conn *l, *c;
	uint32_t iss;
	if (!(c = accepted(st, &l, &iss)))
		return;
	const struct tcp_stats *ss = tcp_stack_stats(st);
	uint8_t buf[200];
	struct pseg p = { 40000, 80, 1001, iss + 1, F_ACK, 8192, NULL, 0, "hello", 5 };
	size_t n = build(buf, P_IP, A_IP, &p);
	/* a bad checksum */
	buf[22] ^= 0x40;
	inject(st, P_IP, A_IP, buf, n);
	CHECK_EQ(ss->in_bad_sum, 1);
	buf[22] ^= 0x40;
	/* every truncation: short header or data offset past the end */
	for (size_t k = 0; k < 20; k++)
		inject(st, P_IP, A_IP, buf, k);
	CHECK_EQ(ss->in_bad_len, 20);
	/* data offsets below 5 words and beyond the segment */
	for (uint8_t off = 0; off < 16; off++) {
		if (off == 5)
			continue;
		uint8_t b2[200];
		memcpy(b2, buf, n);
		b2[12] = (uint8_t)(off << 4);
		put16(b2 + 16, 0);
		put16(b2 + 16, seg_sum(P_IP, A_IP, b2, off == 6 ? 21 : n));
		inject(st, P_IP, A_IP, b2, off == 6 ? 21 : n);
	}
	CHECK_EQ(ss->in_bad_off, 15);
	/* an option whose length runs past the header */
	uint8_t opt[4] = { 8, 10, 0, 0 };
	struct pseg po = p;
	po.opt = opt, po.optlen = 4;
	inject(st, P_IP, A_IP, buf, build(buf, P_IP, A_IP, &po));
	uint8_t zero[4] = { 2, 0, 0, 0 }; /* length 0 would loop forever */
	po.opt = zero;
	inject(st, P_IP, A_IP, buf, build(buf, P_IP, A_IP, &po));
	CHECK_EQ(ss->in_bad_opts, 2);
	/* SYN with FIN, SYN with RST */
	struct pseg sf = { 40000, 80, 1001, 0, F_SYN | F_FIN, 8192, NULL, 0, NULL, 0 };
	send_peer(st, &sf);
	sf.flags = F_SYN | F_RST;
	send_peer(st, &sf);
	CHECK_EQ(ss->in_bad_flags, 2);
	CHECK_EQ(sim.ncap, 0); /* none of them drew an answer */
	CHECK_EQ(tcp_state(c), TCP_ESTABLISHED);
	/* and the connection still works */
	n = build(buf, P_IP, A_IP, &p);
	inject(st, P_IP, A_IP, buf, n);
	uint8_t got[8];
	CHECK_EQ(tcp_recv(c, got, sizeof(got)), 5);
	CHECK(memcmp(got, "hello", 5) == 0);
	tcp_close(c);
	tcp_close(l);
	sim_free_all();
}

TEST(tcp_rules, random_bytes_never_crash)
{
	struct tcp_stack *st = scripted(7);
	struct tcp_conn *l, *c;
	uint32_t iss;
	if (!(c = accepted(st, &l, &iss)))
		return;
	uint8_t buf[200];
	struct pseg p = { 40000, 80, 1001, iss + 1, F_ACK, 8192, NULL, 0, "abcdefgh", 8 };
	for (int i = 0; i < 20000; i++) {
		size_t n = build(buf, P_IP, A_IP, &p);
		/* scramble some bytes, keep the checksum right half the time */
		int k = 1 + (int)sim_below(6);
		for (int j = 0; j < k; j++)
			buf[sim_below((unsigned)n)] = (uint8_t)sim_rand();
		if (sim_below(2)) {
			put16(buf + 16, 0);
			put16(buf + 16, seg_sum(P_IP, A_IP, buf, n));
		}
		inject(st, P_IP, A_IP, buf, sim_below(3) ? n : sim_below((unsigned)n + 1));
		sim.ncap = 0;
		tcp_timers(st);
	}
	tcp_close(l);
	sim_free_all();
	CHECK_EQ(sim.mem_bytes, 0);
}

TEST(tcp_rules, paws_drops_old_timestamps)
{
	struct tcp_stack *st = scripted(8);
	int err;
	struct tcp_conn *l = tcp_listen(st, A_IP, 80, 8, false, &err);
	uint8_t opt[12] = { 1, 1, 8, 10 };
	put32(opt + 4, 5000);
	struct pseg syn = { 40000, 80, 1000, 0, F_SYN, 8192, opt, 12, NULL, 0 };
	send_peer(st, &syn);
	uint32_t iss = cap_seq(0);
	CHECK(cap_opt(0, 8) != NULL);
	put32(opt + 4, 5001);
	struct pseg ack = { 40000, 80, 1001, iss + 1, F_ACK, 8192, opt, 12, "new", 3 };
	send_peer(st, &ack);
	struct tcp_conn *c = tcp_accept(l, &err);
	CHECK(c);
	uint8_t got[8];
	CHECK_EQ(tcp_recv(c, got, 8), 3);
	/* an older tsval: dropped (and ACKed), even though in sequence */
	put32(opt + 4, 4000);
	struct pseg old = { 40000, 80, 1004, iss + 1, F_ACK, 8192, opt, 12, "old", 3 };
	int before = sim.ncap;
	send_peer(st, &old);
	CHECK_EQ(tcp_stack_stats(st)->in_paws, 1);
	CHECK_EQ(tcp_recv(c, got, 8), -E_AGAIN);
	CHECK(sim.ncap > before && cap_flags(sim.ncap - 1) == F_ACK);
	tcp_close(c);
	tcp_close(l);
	sim_free_all();
}

TEST(tcp_rules, isns_are_keyed_and_increase)
{
	struct tcp_stack *st = scripted(19);
	int err;
	struct tcp_conn *c1 = tcp_connect(st, A_IP, 1111, P_IP, 80, &err);
	struct tcp_conn *c2 = tcp_connect(st, A_IP, 1112, P_IP, 80, &err);
	uint32_t i1 = cap_seq(0), i2 = cap_seq(1);
	CHECK(i2 - i1 > 1000000 && i1 - i2 > 1000000); /* not a counter */
	tcp_close(c1);
	sim.now_us += 400000;
	c1 = tcp_connect(st, A_IP, 1111, P_IP, 80, &err);
	CHECK_EQ(cap_seq(2) - i1, 100000); /* 4 us ticks */
	tcp_close(c1);
	tcp_close(c2);
	sim_free_all();
}
