/*
 * What the TCP core sends: tcp_output decides, from the windows, the
 * recovery state, Nagle and pending ACKs, which segments go out now, and
 * tcp_send_segment builds each one (header, options, checksum) around the
 * send queue's pieces and hands it to the output hook. With segmentation
 * offload (tcp_stack_set_offload) new data leaves in segments of many MSS
 * that the device cuts up, and the device finishes the checksums; every
 * decision below is still made in MSS units, so the wire sees what it
 * would have seen without (retransmissions stay one MSS).
 *
 * Order of business in tcp_output: retransmissions chosen by loss recovery
 * (tcp_cc.c); new (or, after a timeout, resent) data within
 * min(peer window, cwnd), in segments of at most one MSS; the FIN once all
 * data is out; an ACK if one is owed and nothing else carried it. Small
 * segments wait while data is unacknowledged (Nagle, RFC 896) unless
 * NODELAY is set or the FIN follows them; sender-side silly window
 * avoidance (RFC 9293 3.8.6.2.1) sends a partial segment only when it is
 * all there is, or half the largest window the peer offered. With data
 * waiting and nothing in flight (a zero window, or one too small), the
 * persist timer starts.
 *
 * The window we advertise never moves its right edge back, and grows only
 * in steps of min(buffer/2, MSS) (receiver-side silly window avoidance).
 */
#include <common/string.h>
#include <lib/net/tcp_int.h>

#define MAX_PIECES 16 /* extents one segment may gather */

bool tcp_cc_pipe_room(const struct tcp_conn *c, uint32_t len);

uint32_t tcp_ts_now(struct tcp_conn *c)
{
	return (uint32_t)(tcp_now(c->c_st) / 1000) + c->c_ts_offset;
}

uint16_t tcp_rcv_window(struct tcp_conn *c, bool syn)
{
	uint32_t right = c->c_rcv_nxt + tcp_rcvbuf_space(c);
	uint32_t step = MIN(c->c_rbuf_size / 2, (uint32_t)c->c_mss);
	if (!syn && SEQ_GEQ(c->c_rcv_adv, c->c_rcv_nxt) && SEQ_GT(right, c->c_rcv_adv) &&
	    right - c->c_rcv_adv < step)
		right = c->c_rcv_adv; /* too small a step to be worth offering */
	if (SEQ_LT(right, c->c_rcv_adv))
		right = c->c_rcv_adv; /* never shrink (RFC 9293 3.8.6.2.2) */
	uint32_t win = right - c->c_rcv_nxt;
	if (syn)
		win = MIN(win, 65535u);
	else
		win = MIN(win >> c->c_rcv_wscale, 65535u);
	uint32_t edge = c->c_rcv_nxt + (syn ? win : win << c->c_rcv_wscale);
	if (SEQ_GT(edge, c->c_rcv_adv))
		c->c_rcv_adv = edge;
	return (uint16_t)win;
}

int tcp_send_segment(struct tcp_conn *c, uint32_t seq, uint8_t flags, uint32_t dlen)
{
	struct tcp_stack *st = c->c_st;
	if (st->st_dying)
		return 0;
	uint8_t hdr[TCP_HLEN + TCP_OPT_MAX];
	struct tcp_hdr *h = (struct tcp_hdr *)hdr;
	size_t olen = tcp_build_opts(c, flags, hdr + TCP_HLEN);
	size_t hlen = TCP_HLEN + olen;
	struct tcp_piece pieces[1 + MAX_PIECES];
	uint32_t psum = 0;
	int np = 0;
	uint32_t want = dlen;
	bool tso = st->st_tso_max && dlen > c->c_mss; /* only send_new_data asks it */
	bool partial = dlen && st->st_csum_offload;
	if (dlen)
		np = tcp_sndbuf_pieces(c, seq, &dlen, pieces + 1, tso ? TCP_TSO_PIECES : MAX_PIECES,
				       partial ? NULL : &psum);
	tso = tso && dlen > c->c_mss; /* still, with the pieces it could gather */
	if (dlen < want)
		flags &= (uint8_t)~(TCP_FIN | TCP_PSH); /* cut short: the FIN is not next */
	if (dlen == 0)
		flags &= (uint8_t)~TCP_PSH;
	h->th_sport = tcp_htons(c->c_lport);
	h->th_dport = tcp_htons(c->c_rport);
	h->th_seq = tcp_htonl(seq);
	h->th_ack = flags & TCP_ACK ? tcp_htonl(c->c_rcv_nxt) : 0;
	h->th_off = (uint8_t)(hlen / 4) << 4;
	h->th_flags = flags;
	h->th_win = tcp_htons(tcp_rcv_window(c, flags & TCP_SYN));
	h->th_sum = 0;
	h->th_urp = 0;
	uint32_t sum = tcp_pseudo_sum(c->c_lip, c->c_rip, hlen + dlen);
	if (partial) {
		h->th_sum = (uint16_t)tcp_sum_fold32(sum); /* the device adds the rest */
	} else {
		sum += tcp_sum_add(0, hdr, hlen) + psum; /* hlen is even: no shift */
		h->th_sum = (uint16_t)~tcp_sum_fold32(sum);
	}
	pieces[0] = (struct tcp_piece){ .tp_data = hdr,
					.tp_len = hlen,
					.tp_csum_partial = partial,
					.tp_tso_mss = tso ? c->c_mss : 0 };
	int r = st->st_hooks.th_output(st->st_hooks.th_ctx, c->c_lip, c->c_rip, pieces, np + 1);
	st->st_stats.out_segs++;
	if (r < 0)
		st->st_stats.out_errors++;
	if (dlen)
		st->st_stats.out_data_segs++;
	else if (flags == TCP_ACK)
		st->st_stats.out_acks++;
	if (flags & TCP_ACK) {
		c->c_last_ack_sent = c->c_rcv_nxt;
		c->c_flags &= ~(TF_ACK_NOW | TF_DELACK);
		tcp_delack_cancel(c);
	}
	return (int)dlen;
}

void tcp_send_ack(struct tcp_conn *c)
{
	tcp_send_segment(c, c->c_snd_nxt, TCP_ACK, 0);
}

void tcp_send_probe(struct tcp_conn *c)
{
	tcp_send_segment(c, c->c_snd_una - 1, TCP_ACK, 0);
}

void tcp_send_challenge_ack(struct tcp_conn *c)
{
	struct tcp_stack *st = c->c_st;
	uint64_t sec = tcp_now(st) / 1000000;
	if (sec != st->st_challenge_sec) {
		st->st_challenge_sec = sec;
		st->st_challenge_count = 0;
	}
	if (st->st_challenge_count++ >= TCP_CHALLENGE_PER_S)
		return;
	st->st_stats.in_challenge_acks++;
	tcp_send_ack(c);
}

void tcp_send_rst(struct tcp_stack *st, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport,
		  uint32_t seq, uint32_t ack, bool ack_it)
{
	if (st->st_dying)
		return;
	struct tcp_hdr h = { 0 };
	h.th_sport = tcp_htons(lport);
	h.th_dport = tcp_htons(rport);
	h.th_seq = tcp_htonl(seq);
	h.th_ack = ack_it ? tcp_htonl(ack) : 0;
	h.th_off = 5 << 4;
	h.th_flags = TCP_RST | (ack_it ? TCP_ACK : 0);
	uint32_t sum = tcp_pseudo_sum(lip, rip, TCP_HLEN) + tcp_sum_add(0, &h, TCP_HLEN);
	h.th_sum = (uint16_t)~tcp_sum_fold32(sum);
	struct tcp_piece p = { .tp_data = &h, .tp_len = TCP_HLEN };
	st->st_hooks.th_output(st->st_hooks.th_ctx, lip, rip, &p, 1);
	st->st_stats.out_rst++;
	st->st_stats.out_segs++;
}

static bool sends_data(const struct tcp_conn *c)
{
	switch (c->c_state) {
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT_1:
	case TCP_CLOSING:
	case TCP_LAST_ACK: return true;
	default: return false;
	}
}

/* Account for a segment [seq, seq + len (+ FIN)) just sent. */
static void sent(struct tcp_conn *c, uint32_t seq, uint32_t len, bool fin)
{
	struct tcp_stack *st = c->c_st;
	uint32_t end = seq + len + fin;
	if (SEQ_LT(seq, c->c_snd_max)) {
		st->st_stats.out_rexmit_segs++;
		if ((c->c_flags & TF_RTT_TIMING) && SEQ_LEQ(seq, c->c_rtt_seq))
			c->c_flags &= ~TF_RTT_TIMING; /* Karn: not a clean sample */
	} else if (!(c->c_flags & (TF_TS | TF_RTT_TIMING)) && len) {
		c->c_flags |= TF_RTT_TIMING;
		c->c_rtt_seq = seq;
		c->c_rtt_start_us = tcp_now(st);
	}
	if (SEQ_GT(end, c->c_snd_max))
		c->c_snd_max = end;
	tcp_rexmt_arm(c, false);
}

/* The most payload one segment takes: an MSS, or with segmentation
 * offload as many whole MSS as fit st_tso_max. */
static uint32_t seg_max(const struct tcp_conn *c)
{
	uint32_t max = c->c_st->st_tso_max;
	return max > c->c_mss ? max - max % c->c_mss : c->c_mss;
}

static void send_new_data(struct tcp_conn *c)
{
	bool sack_recovery = (c->c_flags & (TF_RECOVERY | TF_SACK)) == (TF_RECOVERY | TF_SACK);
	for (;;) {
		uint32_t data_end = c->c_snd_end;
		if (!SEQ_LT(c->c_snd_nxt, data_end))
			return;
		/* skip what the peer holds (after a timeout the board is empty) */
		while (SEQ_LT(c->c_snd_nxt, c->c_snd_max) && tcp_sack_has(c, c->c_snd_nxt)) {
			uint32_t start, hole;
			if (!tcp_sack_hole(c, c->c_snd_nxt, &start, &hole)) {
				c->c_snd_nxt = SEQ_MIN(tcp_sack_highest(c), data_end);
				break;
			}
			c->c_snd_nxt = start;
		}
		uint32_t avail = data_end - c->c_snd_nxt;
		if (!avail)
			return;
		uint32_t wnd = sack_recovery ? c->c_snd_wnd : MIN(c->c_snd_wnd, c->c_cwnd);
		uint32_t inflight = c->c_snd_nxt - c->c_snd_una;
		uint32_t usable = wnd > inflight ? wnd - inflight : 0;
		uint32_t len = MIN(MIN(avail, seg_max(c)), usable);
		if (len > c->c_mss && len < avail)
			len -= len % c->c_mss; /* whole segments: the tail waits, as below */
		if (len == 0)
			return;
		if (sack_recovery && !tcp_cc_pipe_room(c, len))
			return;
		bool all = len == avail;
		bool fin = all && (c->c_flags & TF_SHUT_WR);
		if (len < c->c_mss && SEQ_GEQ(c->c_snd_nxt, c->c_snd_max) &&
		    !(c->c_flags & TF_FORCE)) {
			/* all there is: Nagle decides; window-limited: SWS does */
			bool nagle_ok = (c->c_flags & TF_NODELAY) || inflight == 0 || fin;
			if (all && (c->c_flags & TF_CORK) && !fin)
				return; /* corked: more is coming to merge with it */
			if (all ? !nagle_ok : len < c->c_max_sndwnd / 2)
				return;
		}
		/* a FIN rides on the last data segment when it can */
		uint8_t flags = TCP_ACK | (all ? TCP_PSH : 0) | (fin ? TCP_FIN : 0);
		int n = tcp_send_segment(c, c->c_snd_nxt, flags, len);
		if (n <= 0)
			return;
		fin = fin && (uint32_t)n == avail;
		if (fin)
			c->c_flags |= TF_FIN_SENT;
		sent(c, c->c_snd_nxt, (uint32_t)n, fin);
		c->c_snd_nxt += (uint32_t)n + fin;
		if (fin)
			return;
	}
}

void tcp_output(struct tcp_conn *c)
{
	if (c->c_st->st_dying)
		return;
	if (sends_data(c)) {
		uint32_t seq, len;
		while (tcp_cc_next_rexmit(c, &seq, &len)) {
			int n = tcp_send_segment(c, seq, TCP_ACK, len);
			if (n <= 0)
				break;
			if (seq == c->c_snd_una)
				c->c_flags &= ~TF_LOST_RXT;
			c->c_st->st_stats.out_rexmit_segs++;
			if ((c->c_flags & TF_RTT_TIMING) && SEQ_LEQ(seq, c->c_rtt_seq))
				c->c_flags &= ~TF_RTT_TIMING;
			c->c_high_rxt = SEQ_MAX(c->c_high_rxt, seq + (uint32_t)n);
			tcp_rexmt_arm(c, false);
		}
		send_new_data(c);
		/* the FIN alone, once every byte is out (also when resent) */
		if ((c->c_flags & TF_SHUT_WR) && c->c_snd_nxt == c->c_snd_end) {
			tcp_send_segment(c, c->c_snd_end, TCP_ACK | TCP_FIN, 0);
			c->c_flags |= TF_FIN_SENT;
			sent(c, c->c_snd_end, 0, true);
			c->c_snd_nxt = c->c_snd_end + 1;
		}
		/* data waits, nothing is in flight: the window is shut, or too
		 * small to be worth a segment; the persist timer probes it, or
		 * sends anyway (RFC 9293 3.8.6.2.1's override timeout) */
		if (SEQ_LT(c->c_snd_nxt, c->c_snd_end) && c->c_snd_max == c->c_snd_una &&
		    !c->c_rexmt_at) {
			c->c_flags |= TF_PERSIST;
			uint64_t d = MAX((uint64_t)c->c_rto_us, (uint64_t)TCP_PERSIST_MIN_US)
				     << MIN(c->c_backoff, 8);
			c->c_rexmt_at = tcp_now(c->c_st) + MIN(d, (uint64_t)TCP_RTO_MAX_US);
			tcp_timer_update(c);
		}
	}
	if (c->c_flags & TF_ACK_NOW)
		tcp_send_ack(c);
}

void tcp_send_syn(struct tcp_conn *c)
{
	uint8_t flags = c->c_state == TCP_SYN_SENT ? TCP_SYN : TCP_SYN | TCP_ACK;
	tcp_send_segment(c, c->c_iss, flags, 0);
	if (SEQ_LT(c->c_snd_max, c->c_iss + 1))
		c->c_snd_max = c->c_iss + 1;
	c->c_snd_nxt = SEQ_MAX(c->c_snd_nxt, c->c_iss + 1);
}
