/*
 * The TCP core's timers, one deadline each per connection (0 when off):
 *
 *	c_rexmt_at   retransmission (RFC 6298: SRTT/RTTVAR, RTO at least
 *	             TCP_RTO_MIN_US, doubled per expiry, Karn's rule in
 *	             tcp_output.c), or with TF_PERSIST the zero-window probe
 *	c_delack_at  the delayed ACK (RFC 1122: at most TCP_DELACK_US)
 *	c_keep_at    keep-alive probes, when enabled
 *	c_close_at   TIME_WAIT's 2 MSL, or an orphan's FIN_WAIT_2 limit
 *
 * tcp_timers runs what is due, earliest first, from the heap kept by
 * tcp_table.c, but the delayed ACK, which is on a FIFO of its own: every
 * delayed ACK waits the same TCP_DELACK_US on a clock that never goes
 * back, so the order they are armed in is the order they fall due. A
 * request/response connection arms one for each request and cancels it
 * when the reply carries the ACK: on the FIFO that is two pointer moves,
 * in the heap it was an insertion and a removal per request. A connection that exhausts its retransmissions or
 * keep-alive probes fails with ETIMEDOUT (or the soft error an ICMP
 * message left, RFC 1122 4.2.3.9).
 */
#include <lib/net/tcp_int.h>

#define BACKOFF_MAX 12

static uint64_t rto_now(const struct tcp_conn *c)
{
	uint64_t d = (uint64_t)c->c_rto_us << MIN(c->c_backoff, BACKOFF_MAX);
	return MIN(d, (uint64_t)TCP_RTO_MAX_US);
}

void tcp_rexmt_arm(struct tcp_conn *c, bool restart)
{
	if (c->c_snd_max != c->c_snd_una) {
		if (!c->c_rexmt_at || restart || (c->c_flags & TF_PERSIST))
			c->c_rexmt_at = tcp_now(c->c_st) + rto_now(c);
		c->c_flags &= ~TF_PERSIST;
	} else if (!(c->c_flags & TF_PERSIST)) {
		c->c_rexmt_at = 0;
	}
	tcp_timer_update(c);
}

void tcp_rtt_sample(struct tcp_conn *c, uint32_t rtt_us)
{
	if (rtt_us == 0)
		rtt_us = 1;
	if (!c->c_srtt_us) {
		c->c_srtt_us = rtt_us;
		c->c_rttvar_us = rtt_us / 2;
	} else {
		uint32_t diff =
			c->c_srtt_us > rtt_us ? c->c_srtt_us - rtt_us : rtt_us - c->c_srtt_us;
		c->c_rttvar_us = c->c_rttvar_us - c->c_rttvar_us / 4 + diff / 4;
		c->c_srtt_us = c->c_srtt_us - c->c_srtt_us / 8 + rtt_us / 8;
	}
	uint64_t rto = (uint64_t)c->c_srtt_us + MAX(4ULL * c->c_rttvar_us, 1000ULL);
	c->c_rto_us = (uint32_t)MIN(MAX(rto, (uint64_t)TCP_RTO_MIN_US), (uint64_t)TCP_RTO_MAX_US);
	c->c_backoff = 0;
}

void tcp_keep_reset(struct tcp_conn *c)
{
	c->c_keep_probes = 0;
	bool on = (c->c_flags & TF_KEEPALIVE) &&
		  (c->c_state == TCP_ESTABLISHED || c->c_state == TCP_CLOSE_WAIT ||
		   c->c_state == TCP_FIN_WAIT_1 || c->c_state == TCP_FIN_WAIT_2);
	uint64_t at = on ? tcp_now(c->c_st) + (uint64_t)c->c_keepidle_s * 1000000 : 0;
	if (at != c->c_keep_at) {
		c->c_keep_at = at;
		tcp_timer_update(c);
	}
}

static int timeout_error(const struct tcp_conn *c)
{
	return c->c_soft_err ? c->c_soft_err : -ETIMEDOUT;
}

/* Returns false if c was freed. */
static bool rexmt_fire(struct tcp_conn *c)
{
	struct tcp_stack *st = c->c_st;
	if (c->c_flags & TF_PERSIST) {
		if (c->c_snd_wnd) {
			/* a window too small for SWS avoidance: use it anyway */
			c->c_flags &= ~TF_PERSIST;
			c->c_flags |= TF_FORCE;
			tcp_output(c);
			c->c_flags &= ~TF_FORCE;
			return true;
		}
		tcp_send_probe(c);
		if (c->c_backoff < BACKOFF_MAX)
			c->c_backoff++;
		uint64_t d = MAX((uint64_t)c->c_rto_us, (uint64_t)TCP_PERSIST_MIN_US)
			     << MIN(c->c_backoff, 8);
		c->c_rexmt_at = tcp_now(st) + MIN(d, (uint64_t)TCP_RTO_MAX_US);
		return true;
	}
	if (c->c_snd_max == c->c_snd_una)
		return true; /* nothing outstanding after all */
	bool syn = c->c_state == TCP_SYN_SENT || c->c_state == TCP_SYN_RECEIVED;
	if (++c->c_rexmt_count > (syn ? TCP_SYN_REXMT_MAX : TCP_REXMT_MAX)) {
		st->st_stats.conns_timed_out++;
		tcp_drop(c, timeout_error(c));
		return false;
	}
	st->st_stats.rto_fired++;
	if (c->c_backoff < BACKOFF_MAX)
		c->c_backoff++;
	c->c_flags &= ~TF_RTT_TIMING;
	if (syn) {
		tcp_send_syn(c);
		st->st_stats.out_rexmit_segs++;
		c->c_rexmt_at = tcp_now(st) + rto_now(c);
		return true;
	}
	tcp_cc_rto(c);
	c->c_snd_nxt = c->c_snd_una;
	c->c_rexmt_at = 0;
	tcp_rexmt_arm(c, true);
	tcp_output(c);
	return true;
}

void tcp_timer_fire(struct tcp_conn *c, uint64_t now)
{
	struct tcp_stack *st = c->c_st;
	if (c->c_close_at && now >= c->c_close_at) {
		c->c_close_at = 0;
		if (c->c_state == TCP_TIME_WAIT && !(c->c_flags & TF_ORPHAN)) {
			/* 2 MSL over: the handle stays the application's */
			tcp_set_state(c, TCP_CLOSED);
			tcp_delack_cancel(c);
			c->c_rexmt_at = c->c_keep_at = 0;
			tcp_timer_update(c);
			return;
		}
		tcp_drop(c, c->c_state == TCP_FIN_WAIT_2 ? -ETIMEDOUT : 0);
		return;
	}
	if (c->c_keep_at && now >= c->c_keep_at) {
		c->c_keep_at = 0;
		if (c->c_keep_probes >= c->c_keepcnt) {
			st->st_stats.conns_timed_out++;
			tcp_drop(c, timeout_error(c));
			return;
		}
		c->c_keep_probes++;
		tcp_send_probe(c);
		c->c_keep_at = now + (uint64_t)c->c_keepintvl_s * 1000000;
	}
	if (c->c_rexmt_at && now >= c->c_rexmt_at) {
		c->c_rexmt_at = 0;
		if (!rexmt_fire(c))
			return;
	}
	tcp_timer_update(c);
}

static void da_unlink(struct tcp_conn *c)
{
	struct tcp_stack *st = c->c_st;
	if (c->c_da_prev)
		c->c_da_prev->c_da_next = c->c_da_next;
	else
		st->st_da_first = c->c_da_next;
	if (c->c_da_next)
		c->c_da_next->c_da_prev = c->c_da_prev;
	else
		st->st_da_last = c->c_da_prev;
	c->c_da_next = c->c_da_prev = NULL;
	c->c_da_on = false;
}

void tcp_delack_arm(struct tcp_conn *c)
{
	struct tcp_stack *st = c->c_st;
	if (c->c_da_on)
		return;
	c->c_delack_at = tcp_now(st) + TCP_DELACK_US;
	c->c_da_prev = st->st_da_last;
	c->c_da_next = NULL;
	if (st->st_da_last)
		st->st_da_last->c_da_next = c;
	else
		st->st_da_first = c;
	st->st_da_last = c;
	c->c_da_on = true;
}

void tcp_delack_cancel(struct tcp_conn *c)
{
	c->c_delack_at = 0;
	if (c->c_da_on)
		da_unlink(c);
}

uint64_t tcp_delack_run(struct tcp_stack *st, uint64_t now)
{
	struct tcp_conn *c;
	while ((c = st->st_da_first) && c->c_delack_at <= now) {
		tcp_delack_cancel(c);
		c->c_flags |= TF_ACK_NOW;
		st->st_stats.delacks++;
		tcp_output(c);
	}
	return c ? c->c_delack_at : UINT64_MAX;
}

uint64_t tcp_timers(struct tcp_stack *st)
{
	uint64_t now = tcp_now(st);
	tcp_tw_expire(st, now);
	uint64_t next = tcp_delack_run(st, now);
	struct tcp_conn *c;
	while ((c = tcp_heap_first(st)) && c->c_deadline <= now)
		tcp_timer_fire(c, now);
	if (c && c->c_deadline < next)
		next = c->c_deadline;
	if (st->st_tw_first && st->st_tw_first->tw_expires_us < next)
		next = st->st_tw_first->tw_expires_us;
	return next;
}
