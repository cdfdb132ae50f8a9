/*
 * A received TCP segment, through RFC 9293's state machine (3.10.7).
 *
 * tcp_input parses and checks the segment (tcp_opt.c), then finds its
 * owner by hashed lookups in this order: a connection (4-tuple), a
 * TIME_WAIT entry, a listener (port); with none, it is answered by a RST
 * (never a RST to a RST).
 *
 * A listener creates a child in SYN_RECEIVED for each SYN while fewer than
 * its backlog wait (half-open or unaccepted), and beyond that answers with
 * a SYN cookie (tcp_isn.c) and keeps nothing; the ACK that returns a valid
 * cookie creates the connection then.
 *
 * For a synchronized connection, in order: PAWS (RFC 7323 5), the
 * sequence acceptability test, RST (RFC 5961 3: only an exact rcv_nxt
 * match resets; other in-window RSTs draw a challenge ACK), SYN (RFC 5961
 * 4: a challenge ACK), the ACK (RFC 5961 5: an ACK too old is challenged,
 * one for unsent data is answered and dropped), the window update, the
 * data (tcp_rcvbuf.c, delayed or immediate ACK per RFC 5681 4.2: every
 * second full segment, and at once for out-of-order data or a filled
 * hole), then the FIN. With a zero receive window, a segment at rcv_nxt
 * still has its ACK and RST processed.
 *
 * Connections are freed here when they end while orphaned (tcp_drop and
 * tcp_tw_enter), so every path returns right after those.
 */
#include <common/string.h>
#include <lib/net/tcp_int.h>

static const char *const state_names[] = {
	"CLOSED",     "LISTEN",     "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
	"FIN_WAIT_2", "CLOSE_WAIT", "CLOSING",  "LAST_ACK",     "TIME_WAIT",
};

const char *tcp_state_name(enum tcp_state s)
{
	return (unsigned)s < ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

void tcp_set_state(struct tcp_conn *c, enum tcp_state s)
{
	c->c_state = (uint8_t)s;
	tcp_wake(c);
}

void tcp_drop(struct tcp_conn *c, int err)
{
	if (err && !c->c_err)
		c->c_err = err;
	if (c->c_flags & TF_ORPHAN) {
		tcp_conn_free(c);
		return;
	}
	tcp_unhash(c);
	c->c_state = TCP_CLOSED;
	tcp_delack_cancel(c);
	c->c_rexmt_at = c->c_keep_at = c->c_close_at = 0;
	c->c_flags &= ~(TF_PERSIST | TF_ACK_NOW | TF_DELACK);
	tcp_timer_update(c);
	tcp_sndbuf_free(c);
	tcp_wake(c);
}

/* What the SYN (or SYN-ACK) s agrees to; we offered everything. */
static void syn_options(struct tcp_conn *c, const struct tcp_seg *s)
{
	uint16_t mss = s->has_mss ? s->mss : TCP_MSS_DEFAULT;
	c->c_peer_mss = (uint16_t)MAX(MIN(mss, (uint16_t)TCP_MSS_LOCAL), (uint16_t)TCP_MSS_MIN);
	if (s->has_ws && (c->c_flags & TF_WS)) {
		c->c_snd_wscale = s->ws;
	} else {
		c->c_flags &= ~TF_WS;
		c->c_snd_wscale = c->c_rcv_wscale = 0;
	}
	if (!s->has_sackok)
		c->c_flags &= ~TF_SACK;
	if (s->has_ts && (c->c_flags & TF_TS)) {
		c->c_ts_recent = s->tsval;
		c->c_ts_recent_at_ms = tcp_now(c->c_st) / 1000;
	} else {
		c->c_flags &= ~TF_TS;
	}
	c->c_mss = (uint16_t)(c->c_peer_mss - (c->c_flags & TF_TS ? 12 : 0));
}

/* Into ESTABLISHED from a handshake. Always true: the receive ring comes
 * with the first data (tcp_rcvbuf.c). */
static bool establish(struct tcp_conn *c, const struct tcp_seg *s, uint32_t wnd)
{
	c->c_snd_wnd = wnd;
	c->c_max_sndwnd = MAX(c->c_max_sndwnd, wnd);
	c->c_snd_wl1 = s->seq;
	c->c_snd_wl2 = s->ack;
	if (c->c_rexmt_count == 0 && c->c_rtt_start_us)
		tcp_rtt_sample(c, (uint32_t)(tcp_now(c->c_st) - c->c_rtt_start_us));
	c->c_rexmt_count = 0;
	c->c_backoff = 0;
	c->c_flags &= ~TF_RTT_TIMING;
	tcp_cc_init(c);
	c->c_flags |= TF_CONNECTED;
	tcp_set_state(c, TCP_ESTABLISHED);
	tcp_keep_reset(c);
	if (c->c_parent) {
		tcp_wake(c->c_parent); /* one more to accept */
	}
	return true;
}

/* --- listeners --- */
static void copy_settings(struct tcp_conn *c, const struct tcp_conn *l)
{
	c->c_flags |= l->c_flags & (TF_NODELAY | TF_KEEPALIVE | TF_RBUF_SET);
	c->c_sndbuf = l->c_sndbuf;
	c->c_rbuf_size = l->c_rbuf_size;
	c->c_keepidle_s = l->c_keepidle_s;
	c->c_keepintvl_s = l->c_keepintvl_s;
	c->c_keepcnt = l->c_keepcnt;
	c->c_linger = l->c_linger;
}

static struct tcp_conn *child_new(struct tcp_conn *l, uint32_t lip, uint16_t lport, uint32_t rip,
				  uint16_t rport)
{
	struct tcp_conn *c = tcp_conn_new(l->c_st);
	if (!c)
		return NULL;
	c->c_lip = lip, c->c_lport = lport, c->c_rip = rip, c->c_rport = rport;
	copy_settings(c, l);
	c->c_parent = l;
	c->c_flags |= TF_ORPHAN; /* the stack's until accepted */
	struct tcp_conn **pp = &l->c_children;
	while (*pp)
		pp = &(*pp)->c_lnext;
	*pp = c;
	l->c_nchildren++;
	return c;
}

static void send_cookie(struct tcp_conn *l, const struct tcp_seg *s, uint32_t lip, uint16_t lport,
			uint32_t rip, uint16_t rport)
{
	struct tcp_stack *st = l->c_st;
	uint16_t mss = s->has_mss ? s->mss : TCP_MSS_DEFAULT;
	struct tcp_conn t; /* only what tcp_send_segment reads: nothing is kept */
	memset(&t, 0, sizeof(t));
	t.c_st = st;
	t.c_lip = lip, t.c_lport = lport, t.c_rip = rip, t.c_rport = rport;
	t.c_state = TCP_SYN_RECEIVED;
	t.c_rcv_nxt = s->seq + 1;
	t.c_rbuf_size = l->c_rbuf_size;
	t.c_mss = TCP_MSS_DEFAULT;
	t.c_iss = tcp_cookie_make(st, lip, lport, rip, rport, s->seq, mss);
	tcp_send_segment(&t, t.c_iss, TCP_SYN | TCP_ACK, 0);
	st->st_cookie_sent_us = tcp_now(st);
	if (!st->st_cookie_sent_us)
		st->st_cookie_sent_us = 1;
	st->st_stats.out_cookies++;
}

static void conn_input(struct tcp_conn *c, struct tcp_seg *s);

/* An ACK for a listener: a SYN cookie coming back, or nothing of ours. */
static void cookie_ack(struct tcp_conn *l, struct tcp_seg *s, uint32_t lip, uint16_t lport,
		       uint32_t rip, uint16_t rport)
{
	struct tcp_stack *st = l->c_st;
	uint16_t mss = 0;
	bool recent =
		st->st_cookie_sent_us && tcp_now(st) - st->st_cookie_sent_us < 2 * 64000000ULL;
	if (recent && !(s->flags & TCP_SYN))
		mss = tcp_cookie_check(st, lip, lport, rip, rport, s->seq - 1, s->ack - 1);
	if (!mss) {
		if (recent)
			st->st_stats.in_cookies_bad++;
		tcp_send_rst(st, lip, lport, rip, rport, s->ack, 0, false);
		return;
	}
	if (l->c_nchildren >= 2 * l->c_backlog) {
		st->st_stats.in_syn_dropped++; /* the peer will retry */
		return;
	}
	struct tcp_conn *c = child_new(l, lip, lport, rip, rport);
	if (!c)
		return;
	st->st_stats.in_cookies_ok++;
	c->c_iss = s->ack - 1;
	c->c_snd_una = c->c_iss;
	c->c_snd_nxt = c->c_snd_max = s->ack;
	c->c_snd_end = s->ack;
	c->c_irs = s->seq - 1;
	c->c_rcv_nxt = c->c_rcv_adv = s->seq;
	c->c_peer_mss = c->c_mss = MIN(mss, (uint16_t)TCP_MSS_LOCAL);
	c->c_state = TCP_SYN_RECEIVED;
	tcp_hash_conn(c);
	conn_input(c, s); /* completes the handshake like any SYN_RECEIVED */
}

static void listen_input(struct tcp_conn *l, struct tcp_seg *s, uint32_t lip, uint16_t lport,
			 uint32_t rip, uint16_t rport)
{
	struct tcp_stack *st = l->c_st;
	if (s->flags & TCP_RST)
		return;
	if (s->flags & TCP_ACK) {
		cookie_ack(l, s, lip, lport, rip, rport);
		return;
	}
	if (!(s->flags & TCP_SYN))
		return;
	if (l->c_nchildren >= l->c_backlog) {
		send_cookie(l, s, lip, lport, rip, rport);
		return;
	}
	struct tcp_conn *c = child_new(l, lip, lport, rip, rport);
	if (!c) {
		st->st_stats.in_syn_dropped++;
		return;
	}
	c->c_flags |= TF_TS | TF_SACK | TF_WS;
	c->c_rcv_wscale = tcp_wscale_for(c);
	c->c_ts_offset = (uint32_t)tcp_keyed_hash(st->st_secret, &c->c_lip, 12);
	c->c_irs = s->seq;
	c->c_rcv_nxt = c->c_rcv_adv = s->seq + 1;
	syn_options(c, s);
	c->c_iss = tcp_isn(st, lip, lport, rip, rport);
	c->c_snd_una = c->c_snd_nxt = c->c_snd_max = c->c_iss;
	c->c_snd_end = c->c_iss + 1;
	c->c_snd_wnd = s->wnd; /* never scaled in a SYN */
	c->c_max_sndwnd = s->wnd;
	c->c_state = TCP_SYN_RECEIVED;
	tcp_hash_conn(c);
	c->c_rtt_start_us = tcp_now(st);
	tcp_send_syn(c);
	tcp_rexmt_arm(c, true);
}

/* --- TIME_WAIT entries --- */
static void tw_ack(struct tcp_stack *st, struct tcp_tw *tw)
{
	struct tcp_conn t;
	memset(&t, 0, sizeof(t));
	t.c_st = st;
	t.c_lip = tw->tw_lip, t.c_lport = tw->tw_lport, t.c_rip = tw->tw_rip,
	t.c_rport = tw->tw_rport;
	t.c_state = TCP_TIME_WAIT;
	t.c_rcv_nxt = tw->tw_rcv_nxt;
	t.c_flags = tw->tw_ts ? TF_TS : 0;
	t.c_ts_recent = tw->tw_ts_recent;
	t.c_ts_offset = tw->tw_ts_offset;
	t.c_rcv_wscale = tw->tw_rcv_wscale;
	tcp_send_segment(&t, tw->tw_snd_nxt, TCP_ACK, 0);
}

bool tcp_input_tw(struct tcp_stack *st, struct tcp_tw *tw, const struct tcp_seg *s)
{
	st->st_stats.in_tw++;
	if (s->flags & TCP_RST)
		return true; /* RFC 1337: a RST must not cut TIME_WAIT short */
	if ((s->flags & TCP_SYN) && !(s->flags & TCP_ACK)) {
		/* a new incarnation, if it cannot be an old duplicate */
		bool newer = tw->tw_ts && s->has_ts ? SEQ_GT(s->tsval, tw->tw_ts_recent)
						    : SEQ_GT(s->seq, tw->tw_rcv_nxt);
		if (newer) {
			tcp_tw_free(st, tw);
			return false;
		}
		tw_ack(st, tw);
		return true;
	}
	if (tw->tw_ts && s->has_ts && SEQ_LT(s->tsval, tw->tw_ts_recent)) {
		st->st_stats.in_paws++;
		tw_ack(st, tw);
		return true;
	}
	if (s->flags & TCP_FIN)
		tcp_tw_restart(st, tw); /* our last ACK was lost */
	if (s->dlen || (s->flags & TCP_FIN))
		tw_ack(st, tw);
	return true;
}

/* --- synchronized connections --- */
/* Our FIN is acknowledged. */
static bool fin_acked(const struct tcp_conn *c)
{
	return (c->c_flags & TF_FIN_SENT) && SEQ_GEQ(c->c_snd_una, c->c_snd_end + 1);
}

/* Into TIME_WAIT: false if c was freed (an orphan becomes a small entry). */
static bool time_wait(struct tcp_conn *c)
{
	if (c->c_flags & TF_ACK_NOW)
		tcp_send_ack(c);
	c->c_state = TCP_TIME_WAIT;
	if (c->c_flags & TF_ORPHAN) {
		tcp_tw_enter(c);
		return false;
	}
	tcp_delack_cancel(c);
	c->c_rexmt_at = c->c_keep_at = 0;
	c->c_flags &= ~TF_PERSIST;
	c->c_close_at = tcp_now(c->c_st) + 2ULL * c->c_st->st_msl_ms * 1000;
	tcp_timer_update(c);
	tcp_wake(c);
	return true;
}

/* The peer's FIN is next in sequence: take it. False if c was freed. */
static bool take_fin(struct tcp_conn *c)
{
	c->c_rcv_nxt++;
	c->c_flags |= TF_FIN_RCVD | TF_ACK_NOW;
	c->c_flags &= ~TF_OOO_FIN;
	switch (c->c_state) {
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED: tcp_set_state(c, TCP_CLOSE_WAIT); break;
	case TCP_FIN_WAIT_1:
		if (fin_acked(c))
			return time_wait(c);
		tcp_set_state(c, TCP_CLOSING);
		break;
	case TCP_FIN_WAIT_2: return time_wait(c);
	default: break;
	}
	tcp_wake(c);
	return true;
}

static bool acceptable(const struct tcp_conn *c, uint32_t seq, uint32_t len, uint32_t wnd)
{
	uint32_t nxt = c->c_rcv_nxt;
	if (len == 0)
		return wnd == 0 ? seq == nxt : SEQ_LEQ(nxt, seq) && SEQ_LT(seq, nxt + wnd);
	if (wnd == 0)
		return false;
	return (SEQ_LEQ(nxt, seq) && SEQ_LT(seq, nxt + wnd)) ||
	       (SEQ_LEQ(nxt, seq + len - 1) && SEQ_LT(seq + len - 1, nxt + wnd));
}

/* The ACK field. False if the segment is done with (or c freed). */
static bool ack_input(struct tcp_conn *c, struct tcp_seg *s, bool *freed)
{
	struct tcp_stack *st = c->c_st;
	if (c->c_state == TCP_SYN_RECEIVED) {
		if (!SEQ_LT(c->c_snd_una, s->ack) || SEQ_GT(s->ack, c->c_snd_max)) {
			tcp_send_rst(st, c->c_lip, c->c_lport, c->c_rip, c->c_rport, s->ack, 0,
				     false);
			return false;
		}
		if (!establish(c, s, s->wnd << c->c_snd_wscale)) {
			*freed = true;
			return false;
		}
	}
	if (SEQ_GT(s->ack, c->c_snd_max)) {
		c->c_flags |= TF_ACK_NOW; /* acks what we never sent */
		tcp_output(c);
		return false;
	}
	if (SEQ_LT(s->ack, c->c_snd_una - c->c_max_sndwnd)) {
		tcp_send_challenge_ack(c); /* RFC 5961 5.2 */
		return false;
	}
	uint32_t wnd = s->wnd << c->c_snd_wscale;
	tcp_sack_update(c, s);
	if (SEQ_GT(s->ack, c->c_snd_una)) {
		uint32_t acked = s->ack - c->c_snd_una;
		if ((c->c_flags & TF_TS) && s->has_ts && s->tsecr &&
		    SEQ_LEQ(s->tsecr, tcp_ts_now(c)))
			tcp_rtt_sample(c, (tcp_ts_now(c) - s->tsecr) * 1000);
		else if ((c->c_flags & TF_RTT_TIMING) && SEQ_GT(s->ack, c->c_rtt_seq))
			tcp_rtt_sample(c, (uint32_t)(tcp_now(st) - c->c_rtt_start_us));
		if ((c->c_flags & TF_RTT_TIMING) && SEQ_GT(s->ack, c->c_rtt_seq))
			c->c_flags &= ~TF_RTT_TIMING;
		/* data bytes: not the SYN before them, nor the FIN after */
		uint32_t from = SEQ_MAX(c->c_snd_una, c->c_iss + 1);
		uint32_t to = SEQ_MIN(s->ack, c->c_snd_end);
		if (SEQ_GT(to, from))
			tcp_sndbuf_ack(c, to - from);
		c->c_snd_una = s->ack;
		if (SEQ_LT(c->c_snd_nxt, c->c_snd_una))
			c->c_snd_nxt = c->c_snd_una;
		tcp_sack_update(c, s); /* drop what is now below snd_una */
		tcp_cc_ack(c, s->ack, acked);
		c->c_rexmt_count = 0;
		c->c_backoff = 0;
		tcp_rexmt_arm(c, true);
		tcp_wake(c);
	} else if (s->ack == c->c_snd_una && s->dlen == 0 && !(s->flags & TCP_FIN) &&
		   wnd == c->c_snd_wnd && c->c_snd_max != c->c_snd_una) {
		tcp_cc_dupack(c);
	}
	if (SEQ_LT(c->c_snd_wl1, s->seq) ||
	    (c->c_snd_wl1 == s->seq && SEQ_LEQ(c->c_snd_wl2, s->ack))) {
		bool opened = c->c_snd_wnd == 0 && wnd > 0;
		c->c_snd_wnd = wnd;
		c->c_snd_wl1 = s->seq;
		c->c_snd_wl2 = s->ack;
		c->c_max_sndwnd = MAX(c->c_max_sndwnd, wnd);
		if (opened && (c->c_flags & TF_PERSIST)) {
			c->c_flags &= ~TF_PERSIST;
			c->c_rexmt_at = 0;
			c->c_backoff = 0;
			tcp_rexmt_arm(c, false);
		}
		if (opened)
			tcp_wake(c);
	}
	switch (c->c_state) {
	case TCP_FIN_WAIT_1:
		if (fin_acked(c)) {
			tcp_set_state(c, TCP_FIN_WAIT_2);
			if (c->c_flags & TF_ORPHAN) {
				c->c_close_at = tcp_now(st) + TCP_FIN_WAIT_2_US;
				tcp_timer_update(c);
			}
		}
		break;
	case TCP_CLOSING:
		if (fin_acked(c) && !time_wait(c)) {
			*freed = true;
			return false;
		}
		break;
	case TCP_LAST_ACK:
		if (fin_acked(c)) {
			*freed = true;
			tcp_drop(c, 0);
			return false;
		}
		break;
	default: break;
	}
	return true;
}

static void data_input(struct tcp_conn *c, uint32_t seq, const uint8_t *data, uint32_t dlen)
{
	uint32_t before = c->c_rcv_nxt;
	bool had_holes = c->c_nooo > 0;
	bool in_order = tcp_rcvbuf_store(c, seq, data, dlen);
	if (!in_order || had_holes || c->c_nooo) {
		c->c_flags |= TF_ACK_NOW; /* out of order, or a hole filled */
	} else if (c->c_flags & TF_DELACK || c->c_rcv_nxt - before >= 2u * c->c_mss) {
		c->c_flags |= TF_ACK_NOW; /* the second full segment */
	} else {
		c->c_flags |= TF_DELACK;
		tcp_delack_arm(c);
	}
	if (c->c_rcv_nxt != before)
		tcp_wake(c);
}

static void syn_sent_input(struct tcp_conn *c, struct tcp_seg *s)
{
	struct tcp_stack *st = c->c_st;
	bool ack_ok = false;
	if (s->flags & TCP_ACK) {
		if (SEQ_LEQ(s->ack, c->c_iss) || SEQ_GT(s->ack, c->c_snd_max)) {
			if (!(s->flags & TCP_RST))
				tcp_send_rst(st, c->c_lip, c->c_lport, c->c_rip, c->c_rport, s->ack,
					     0, false);
			return;
		}
		ack_ok = true;
	}
	if (s->flags & TCP_RST) {
		if (ack_ok)
			tcp_drop(c, -ECONNREFUSED);
		return;
	}
	if (!(s->flags & TCP_SYN))
		return;
	c->c_irs = s->seq;
	c->c_rcv_nxt = c->c_rcv_adv = s->seq + 1;
	c->c_last_ack_sent = c->c_rcv_nxt;
	syn_options(c, s);
	if (ack_ok) {
		c->c_snd_una = s->ack;
		if (!establish(c, s, s->wnd))
			return;
		c->c_flags |= TF_ACK_NOW;
		tcp_rexmt_arm(c, true);
		tcp_output(c);
		return;
	}
	/* simultaneous open: SYN-ACK on our ISN (RFC 9293 3.5, figure 7) */
	c->c_snd_wnd = s->wnd;
	c->c_max_sndwnd = s->wnd;
	c->c_state = TCP_SYN_RECEIVED;
	tcp_send_syn(c);
	tcp_rexmt_arm(c, true);
}

static void conn_input(struct tcp_conn *c, struct tcp_seg *s)
{
	struct tcp_stack *st = c->c_st;
	if (c->c_state == TCP_SYN_SENT) {
		syn_sent_input(c, s);
		return;
	}
	uint64_t now_ms = tcp_now(st) / 1000;
	/* PAWS */
	if ((c->c_flags & TF_TS) && s->has_ts && !(s->flags & TCP_RST) &&
	    SEQ_LT(s->tsval, c->c_ts_recent)) {
		if (now_ms - c->c_ts_recent_at_ms <= TCP_PAWS_IDLE_MS) {
			st->st_stats.in_paws++;
			c->c_flags |= TF_ACK_NOW;
			tcp_output(c);
			return;
		}
		c->c_ts_recent = s->tsval; /* idle 24 days: the old value is void */
	}
	if (c->c_state == TCP_SYN_RECEIVED && (s->flags & TCP_SYN) && !(s->flags & TCP_ACK) &&
	    s->seq == c->c_irs) {
		tcp_send_syn(c); /* our SYN-ACK was lost */
		return;
	}
	uint32_t wnd = tcp_rcvbuf_space(c);
	uint32_t seq = s->seq, dlen = s->dlen;
	const uint8_t *data = s->data;
	if (!acceptable(c, seq, s->len, wnd)) {
		if (wnd == 0 && seq == c->c_rcv_nxt) {
			dlen = 0; /* RFC 9293: still take its ACK and RST */
			s->flags &= (uint8_t)~TCP_FIN;
			c->c_flags |= TF_ACK_NOW;
		} else {
			st->st_stats.in_out_of_window++;
			if (!(s->flags & TCP_RST)) {
				c->c_flags |= TF_ACK_NOW;
				tcp_output(c);
			}
			return;
		}
	}
	if (s->flags & TCP_RST) {
		if (seq != c->c_rcv_nxt) {
			tcp_send_challenge_ack(c);
			return;
		}
		st->st_stats.in_rst_accepted++;
		int err = -ECONNRESET;
		if (c->c_state == TCP_SYN_RECEIVED)
			err = c->c_flags & TF_ACTIVE ? -ECONNREFUSED : -ECONNRESET;
		else if (c->c_state == TCP_CLOSING || c->c_state == TCP_LAST_ACK ||
			 c->c_state == TCP_TIME_WAIT)
			err = 0;
		tcp_drop(c, err);
		return;
	}
	if (s->flags & TCP_SYN) {
		tcp_send_challenge_ack(c);
		return;
	}
	if (!(s->flags & TCP_ACK))
		return;
	/* timestamps to echo (RFC 7323 4.3), before the trimming below */
	if ((c->c_flags & TF_TS) && s->has_ts && SEQ_LEQ(seq, c->c_last_ack_sent) &&
	    SEQ_GEQ(s->tsval, c->c_ts_recent)) {
		c->c_ts_recent = s->tsval;
		c->c_ts_recent_at_ms = now_ms;
	}
	/* trim to the window: old bytes off the front, excess off the end */
	if (SEQ_LT(seq, c->c_rcv_nxt)) {
		uint32_t d = MIN(c->c_rcv_nxt - seq, dlen);
		seq += d, data += d, dlen -= d;
	}
	uint32_t wend = c->c_rcv_nxt + wnd;
	if (dlen && SEQ_GT(seq + dlen, wend)) {
		dlen = SEQ_GT(wend, seq) ? wend - seq : 0;
		s->flags &= (uint8_t)~TCP_FIN;
	}
	bool freed = false;
	if (!ack_input(c, s, &freed)) {
		if (!freed && (c->c_flags & TF_ACK_NOW))
			tcp_output(c);
		return;
	}
	c->c_last_rcv_us = tcp_now(st);
	tcp_keep_reset(c);
	bool takes_data = c->c_state == TCP_ESTABLISHED || c->c_state == TCP_FIN_WAIT_1 ||
			  c->c_state == TCP_FIN_WAIT_2;
	if (dlen && takes_data &&
	    !(c->c_flags & (TF_FIN_RCVD | TF_OOO_FIN) && SEQ_GT(seq + dlen, c->c_fin_seq)))
		data_input(c, seq, data, dlen);
	else if (dlen)
		c->c_flags |= TF_ACK_NOW;
	if ((s->flags & TCP_FIN) && !(c->c_flags & TF_FIN_RCVD)) {
		uint32_t fin = seq + dlen;
		if (fin == c->c_rcv_nxt) {
			if (!take_fin(c))
				return;
		} else if (SEQ_GT(fin, c->c_rcv_nxt)) {
			c->c_flags |= TF_OOO_FIN | TF_ACK_NOW;
			c->c_fin_seq = fin;
		}
	} else if (c->c_state == TCP_TIME_WAIT && (s->flags & TCP_FIN)) {
		/* the peer resends its FIN: our ACK was lost */
		c->c_flags |= TF_ACK_NOW;
		c->c_close_at = tcp_now(st) + 2ULL * st->st_msl_ms * 1000;
		tcp_timer_update(c);
	}
	if ((c->c_flags & TF_OOO_FIN) && c->c_rcv_nxt == c->c_fin_seq && !take_fin(c))
		return;
	tcp_output(c);
}

void tcp_input(struct tcp_stack *st, uint32_t src, uint32_t dst, const uint8_t *seg, size_t len)
{
	tcp_input_checked(st, src, dst, seg, len, false);
}

void tcp_input_checked(struct tcp_stack *st, uint32_t src, uint32_t dst, const uint8_t *seg,
		       size_t len, bool sum_ok)
{
	struct tcp_seg s;
	const struct tcp_hdr *h;
	st->st_stats.in_segs++;
	if (!tcp_parse(st, src, dst, seg, len, sum_ok, &s, &h))
		return;
	uint16_t lport = tcp_htons(h->th_dport), rport = tcp_htons(h->th_sport);
	if (lport == 0 || rport == 0) {
		st->st_stats.in_bad_flags++;
		return;
	}
	struct tcp_conn *c = tcp_lookup(st, dst, lport, src, rport);
	if (c) {
		conn_input(c, &s);
		return;
	}
	struct tcp_tw *tw = tcp_lookup_tw(st, dst, lport, src, rport);
	if (tw && tcp_input_tw(st, tw, &s))
		return;
	struct tcp_conn *l = tcp_lookup_listener(st, dst, lport);
	if (l) {
		listen_input(l, &s, dst, lport, src, rport);
		return;
	}
	st->st_stats.in_no_conn++;
	if (s.flags & TCP_RST)
		return;
	if (s.flags & TCP_ACK)
		tcp_send_rst(st, dst, lport, src, rport, s.ack, 0, false);
	else
		tcp_send_rst(st, dst, lport, src, rport, 0, s.seq + s.len, true);
}

void tcp_icmp_unreachable(struct tcp_stack *st, uint32_t src, uint16_t sport, uint32_t dst,
			  uint16_t dport)
{
	struct tcp_conn *c = tcp_lookup(st, src, sport, dst, dport);
	if (c)
		c->c_soft_err = -EHOSTUNREACH; /* reported only if it then times out */
}
