/*
 * Congestion control and loss recovery for the TCP core.
 *
 * Window growth is CUBIC (RFC 9438) after slow start (RFC 5681, with
 * RFC 3465's byte counting limited to one MSS per ACK), with its
 * Reno-friendly estimate as a floor and fast convergence. Every loss
 * signal sets ssthresh to 0.7 of the window.
 *
 * Loss recovery begins at the third duplicate ACK, or earlier when SACK
 * says more than 3 segments' worth arrived beyond a hole (RFC 6675's
 * DupThresh), and at most once per window of data (RFC 6582: not again
 * until snd_una passes recover). With SACK agreed, recovery is RFC 6675's:
 * the pipe estimate (bytes in flight, less those SACKed, less the holes
 * not yet resent) may grow to cwnd, and the holes below the highest SACKed
 * byte go first, then new data. Without SACK it is NewReno (RFC 6582):
 * resend snd_una's segment on entry and at each partial ACK, inflate the
 * window by one MSS per duplicate ACK, deflate on partial ACKs.
 *
 * A retransmission timeout (tcp_timer.c) collapses the window to one
 * segment and forgets the scoreboard (RFC 2018: SACK information must not
 * be trusted after a timeout).
 */
#include <lib/net/tcp_int.h>

#define CUBIC_BETA_X10 7 /* ssthresh = 0.7 * cwnd */

uint32_t tcp_flight(const struct tcp_conn *c)
{
	return c->c_snd_max - c->c_snd_una;
}

void tcp_cc_init(struct tcp_conn *c)
{
	uint32_t mss = c->c_mss;
	c->c_cwnd = MIN(10 * mss, MAX(2 * mss, 14600u)); /* RFC 6928 */
	c->c_ssthresh = UINT32_MAX / 2;
	c->c_cubic_wmax = 0;
	c->c_cubic_epoch_us = 0;
}

static uint64_t cube_root(uint64_t x)
{
	uint64_t lo = 0, hi = 2097152; /* 2^21: its cube passes 2^63 */
	while (lo < hi) {
		uint64_t mid = (lo + hi + 1) / 2;
		if (mid * mid * mid <= x)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* ssthresh and CUBIC's memory of the window at a loss. */
static void on_loss(struct tcp_conn *c)
{
	uint32_t mss = c->c_mss, w = MAX(c->c_cwnd, tcp_flight(c) / 2);
	/* fast convergence: a flow that lost below its last peak yields */
	if (c->c_cubic_wmax && w < c->c_cubic_wmax)
		c->c_cubic_wmax = (uint32_t)((uint64_t)w * (10 + CUBIC_BETA_X10) / 20);
	else
		c->c_cubic_wmax = w;
	c->c_ssthresh = MAX((uint32_t)((uint64_t)w * CUBIC_BETA_X10 / 10), 2 * mss);
	c->c_cubic_epoch_us = 0;
}

static void cubic_grow(struct tcp_conn *c, uint32_t acked)
{
	uint32_t mss = c->c_mss, cwnd = c->c_cwnd;
	uint64_t now = tcp_now(c->c_st);
	if (!c->c_cubic_epoch_us) {
		c->c_cubic_epoch_us = now;
		if (c->c_cubic_wmax < cwnd)
			c->c_cubic_wmax = cwnd; /* no loss yet: the curve starts here */
		/* K = cbrt(W_max (1 - beta) / C) seconds, C = 0.4, in ms */
		uint64_t wseg = c->c_cubic_wmax / mss;
		uint64_t k3 =
			(uint64_t)(wseg - wseg * CUBIC_BETA_X10 / 10) * 1000000000ULL * 10 / 4;
		c->c_cubic_k_ms = (uint32_t)cube_root(k3);
		c->c_cubic_origin = cwnd; /* Reno-friendly estimate starts at cwnd */
	}
	int64_t t_ms = (int64_t)((now - c->c_cubic_epoch_us + c->c_srtt_us) / 1000);
	int64_t d = t_ms - (int64_t)c->c_cubic_k_ms;
	if (d > 1000000)
		d = 1000000;
	if (d < -1000000)
		d = -1000000;
	int64_t cube = d * d * d; /* ms^3; W(t) = C (t - K)^3 + W_max */
	int64_t delta = cube > 1000000000000000LL || cube < -1000000000000000LL
				? cube / 2500000000LL * mss
				: cube * mss / 2500000000LL;
	int64_t target = (int64_t)c->c_cubic_wmax + delta;
	if (target > (int64_t)cwnd + cwnd / 2)
		target = (int64_t)cwnd + cwnd / 2;
	uint64_t inc;
	if (target > (int64_t)cwnd)
		inc = (uint64_t)(target - cwnd) * acked / cwnd;
	else
		inc = (uint64_t)mss * acked / (100ULL * cwnd);
	/* Reno-friendly estimate: 3 (1 - beta) / (1 + beta) MSS per window */
	c->c_cubic_origin +=
		(uint32_t)((uint64_t)mss * acked * 9 / (17ULL * MAX(c->c_cubic_origin, 1u)));
	uint64_t next = cwnd + MIN(inc, (uint64_t)acked);
	if (c->c_cubic_origin > next)
		next = c->c_cubic_origin;
	c->c_cwnd = (uint32_t)MIN(next, (uint64_t)TCP_BUF_MAX * 4);
}

void tcp_cc_ack(struct tcp_conn *c, uint32_t ack, uint32_t acked)
{
	uint32_t mss = c->c_mss;
	c->c_dupacks = 0;
	if (c->c_flags & TF_RECOVERY) {
		if (SEQ_GEQ(ack, c->c_recover)) {
			/* full ACK: recovery is over (RFC 6582 3.2 step 3) */
			c->c_flags &= ~(TF_RECOVERY | TF_LOST_RXT);
			c->c_cwnd = MAX(MIN(c->c_ssthresh, tcp_flight(c) + mss), 2 * mss);
			return;
		}
		/* partial ACK: snd_una's segment is lost too, unless it was
		 * resent already (the scoreboard may not show it) */
		if (!(c->c_flags & TF_SACK)) {
			c->c_flags |= TF_LOST_RXT;
			c->c_cwnd = c->c_cwnd > acked ? c->c_cwnd - acked + mss : mss;
		} else if (SEQ_GEQ(ack, c->c_high_rxt)) {
			c->c_flags |= TF_LOST_RXT;
		}
		return;
	}
	if (c->c_cwnd < c->c_ssthresh)
		c->c_cwnd += MIN(acked, mss);
	else
		cubic_grow(c, acked);
}

void tcp_cc_dupack(struct tcp_conn *c)
{
	uint32_t mss = c->c_mss;
	if (c->c_dupacks < 255)
		c->c_dupacks++;
	if (c->c_flags & TF_RECOVERY) {
		if (!(c->c_flags & TF_SACK))
			c->c_cwnd += mss; /* a segment left the network */
		return;
	}
	bool lost = c->c_dupacks >= 3 || ((c->c_flags & TF_SACK) && tcp_sack_bytes(c) > 3u * mss);
	/* once per window: not for the duplicates of a window already cut */
	if (!lost || SEQ_LT(c->c_snd_una, c->c_recover))
		return;
	on_loss(c);
	c->c_recover = c->c_snd_max;
	c->c_high_rxt = c->c_snd_una;
	c->c_flags |= TF_RECOVERY | TF_LOST_RXT;
	c->c_cwnd = c->c_flags & TF_SACK ? c->c_ssthresh : c->c_ssthresh + 3 * mss;
	c->c_st->st_stats.fast_rexmits++;
}

void tcp_cc_rto(struct tcp_conn *c)
{
	on_loss(c);
	c->c_cwnd = c->c_mss;
	c->c_flags &= ~(TF_RECOVERY | TF_LOST_RXT);
	c->c_recover = c->c_snd_max;
	c->c_high_rxt = c->c_snd_una;
	c->c_dupacks = 0;
	tcp_sack_clear(c);
}

/* RFC 6675's pipe: bytes thought to be in the network. */
static uint32_t pipe(const struct tcp_conn *c)
{
	uint32_t lost = 0, from = SEQ_MAX(c->c_high_rxt, c->c_snd_una);
	for (int i = 0; i < c->c_nsacked; i++) {
		const struct tcp_seqrange *r = &c->c_sacked[i];
		if (SEQ_GT(r->l, from))
			lost += r->l - from;
		from = SEQ_MAX(from, r->r);
	}
	uint32_t gone = tcp_sack_bytes(c) + lost;
	uint32_t f = tcp_flight(c);
	return f > gone ? f - gone : 0;
}

bool tcp_cc_next_rexmit(struct tcp_conn *c, uint32_t *seq, uint32_t *len)
{
	if (!(c->c_flags & TF_RECOVERY))
		return false;
	uint32_t data_end = c->c_snd_end; /* no payload beyond the queue */
	if (c->c_flags & TF_LOST_RXT) {
		/* first, always: snd_una's segment (the caller clears the flag) */
		if (!SEQ_LT(c->c_snd_una, data_end))
			return false;
		*seq = c->c_snd_una;
		*len = MIN((uint32_t)c->c_mss, data_end - c->c_snd_una);
		return true;
	}
	if (!(c->c_flags & TF_SACK) || pipe(c) + c->c_mss > c->c_cwnd)
		return false;
	uint32_t start, hole;
	uint32_t from = SEQ_MAX(c->c_high_rxt, c->c_snd_una);
	if (!tcp_sack_hole(c, from, &start, &hole) || !SEQ_LT(start, data_end))
		return false;
	*seq = start;
	*len = MIN(MIN(hole, (uint32_t)c->c_mss), data_end - start);
	return *len > 0;
}

/* For tcp_output: may new data go out in SACK recovery? */
bool tcp_cc_pipe_room(const struct tcp_conn *c, uint32_t len);
bool tcp_cc_pipe_room(const struct tcp_conn *c, uint32_t len)
{
	return pipe(c) + len <= c->c_cwnd;
}
