/*
 * The TCP receive buffer: one ring of c_rbuf_size bytes per connection,
 * holding both the bytes received in order and not yet read, and the bytes
 * received out of order, each at the place its sequence number gives it
 * (ring index rb_head + (seq - rb_seq)). So reassembly copies each byte
 * once and needs no memory beyond the ring, and the window we advertise
 * (tcp_rcvbuf_space) is exactly the room we have.
 *
 * Out-of-order data is remembered as at most TCP_OOO_MAX disjoint ranges,
 * the most recently changed first (RFC 2018 wants the newest block first).
 * A segment that would need one range more is dropped, so a peer sending
 * scattered bytes costs us a bounded amount of work and nothing more.
 *
 * The ring exists only while it holds something: it is allocated when
 * data arrives and freed when the application has read it all (with no
 * out-of-order range left), so an idle connection costs its block alone
 * and 10,000 of them fit in a few MiB. A buffer whose window closed on
 * the sender doubles when it next empties (grow, below). Request/response
 * traffic empties its ring at every request, so emptied rings of the
 * default size go to a stack-wide list of TCP_RBUF_SPARES spares that the
 * next arrival takes, instead of back to the allocator and out again once
 * per request.
 */
#include <common/string.h>
#include <lib/net/tcp_int.h>

int tcp_rcvbuf_alloc(struct tcp_conn *c)
{
	struct tcp_stack *st = c->c_st;
	if (c->c_rbuf)
		return 0;
	if (c->c_rbuf_size == TCP_RCVBUF_DEFAULT && st->st_nspare) {
		c->c_rbuf = st->st_rbuf_spare[--st->st_nspare];
	} else {
		c->c_rbuf = tcp_alloc(st, c->c_rbuf_size);
		if (!c->c_rbuf)
			return -E_NO_MEM;
		st->st_stats.rbuf_allocs++;
	}
	c->c_rb_head = 0;
	c->c_rb_seq = c->c_rcv_nxt;
	return 0;
}

void tcp_rcvbuf_free(struct tcp_conn *c)
{
	struct tcp_stack *st = c->c_st;
	if (c->c_rbuf && c->c_rbuf_size == TCP_RCVBUF_DEFAULT && st->st_nspare < TCP_RBUF_SPARES &&
	    !st->st_dying)
		st->st_rbuf_spare[st->st_nspare++] = c->c_rbuf;
	else
		tcp_free(st, c->c_rbuf, c->c_rbuf_size);
	c->c_rbuf = NULL;
	c->c_nooo = 0;
}

/* After the last byte in order: rcv_nxt, less the peer's FIN if taken. */
static uint32_t data_end(const struct tcp_conn *c)
{
	return c->c_rcv_nxt - !!(c->c_flags & TF_FIN_RCVD);
}

uint32_t tcp_rcvbuf_unread(const struct tcp_conn *c)
{
	return c->c_rbuf ? data_end(c) - c->c_rb_seq : 0;
}

uint32_t tcp_rcvbuf_space(const struct tcp_conn *c)
{
	if (!c->c_rbuf)
		return c->c_rbuf_size;
	return c->c_rbuf_size - (data_end(c) - c->c_rb_seq);
}

static void ring_put(struct tcp_conn *c, uint32_t seq, const uint8_t *data, uint32_t len)
{
	uint32_t at = (c->c_rb_head + (seq - c->c_rb_seq)) % c->c_rbuf_size;
	uint32_t first = MIN(len, c->c_rbuf_size - at);
	memcpy(c->c_rbuf + at, data, first);
	memcpy(c->c_rbuf, data + first, len - first);
}

static void ooo_remove(struct tcp_conn *c, int i)
{
	memmove(&c->c_ooo[i], &c->c_ooo[i + 1], (size_t)(c->c_nooo - i - 1) * sizeof(c->c_ooo[0]));
	c->c_nooo--;
}

/* Put range r first, merging every range it touches. */
static void ooo_add(struct tcp_conn *c, struct tcp_seqrange r)
{
	for (int i = 0; i < c->c_nooo;) {
		struct tcp_seqrange *o = &c->c_ooo[i];
		if (SEQ_LEQ(o->l, r.r) && SEQ_LEQ(r.l, o->r)) {
			r.l = SEQ_MIN(r.l, o->l);
			r.r = SEQ_MAX(r.r, o->r);
			ooo_remove(c, i);
		} else {
			i++;
		}
	}
	memmove(&c->c_ooo[1], &c->c_ooo[0], (size_t)c->c_nooo * sizeof(c->c_ooo[0]));
	c->c_ooo[0] = r;
	c->c_nooo++;
}

static bool ooo_fits(const struct tcp_conn *c, struct tcp_seqrange r)
{
	if (c->c_nooo < TCP_OOO_MAX)
		return true;
	for (int i = 0; i < c->c_nooo; i++)
		if (SEQ_LEQ(c->c_ooo[i].l, r.r) && SEQ_LEQ(r.l, c->c_ooo[i].r))
			return true; /* merges with one: no new range */
	return false;
}

bool tcp_rcvbuf_store(struct tcp_conn *c, uint32_t seq, const uint8_t *data, uint32_t len)
{
	if (len == 0 || tcp_rcvbuf_alloc(c) < 0)
		return false; /* without memory, as if lost: it will be resent */
	/* keep to the buffer (the caller trimmed to the window; be sure) */
	uint32_t room_end = c->c_rb_seq + c->c_rbuf_size;
	if (SEQ_GT(seq + len, room_end)) {
		if (SEQ_GEQ(seq, room_end))
			return false;
		len = room_end - seq;
	}
	if (SEQ_LT(seq, c->c_rcv_nxt)) {
		uint32_t old = c->c_rcv_nxt - seq;
		if (old >= len)
			return false;
		seq += old, data += old, len -= old;
	}
	struct tcp_seqrange r = { seq, seq + len };
	if (seq != c->c_rcv_nxt) {
		if (!ooo_fits(c, r)) {
			c->c_st->st_stats.in_ooo_dropped++;
			return false;
		}
		ring_put(c, seq, data, len);
		ooo_add(c, r);
		return false;
	}
	ring_put(c, seq, data, len);
	c->c_rcv_nxt = seq + len;
	if (tcp_rcvbuf_space(c) < c->c_rbuf_size / 4)
		c->c_flags |= TF_RBUF_FULL;
	/* pull in the ranges that now follow on */
	for (bool more = true; more;) {
		more = false;
		for (int i = 0; i < c->c_nooo; i++) {
			struct tcp_seqrange *o = &c->c_ooo[i];
			if (SEQ_LEQ(o->l, c->c_rcv_nxt)) {
				c->c_rcv_nxt = SEQ_MAX(c->c_rcv_nxt, o->r);
				ooo_remove(c, i);
				more = true;
				break;
			}
		}
	}
	return true;
}

/* The buffer just emptied (and is freed). If its window closed to under a
 * quarter while it lived, the sender may have waited on us; the
 * application has now read it all: double it for next time, up to TCP_RCVBUF_AUTO_MAX and the
 * window scale offered - as Linux's receive-buffer tuning does, so a bulk
 * stream is not held to one buffer per round trip while an idle or slow
 * connection keeps the small default. The advertised window only grows. */
static void grow(struct tcp_conn *c)
{
	uint32_t max = MIN((uint32_t)TCP_RCVBUF_AUTO_MAX, 65535u << c->c_rcv_wscale);
	if ((c->c_flags & (TF_RBUF_FULL | TF_RBUF_SET)) != TF_RBUF_FULL)
		return;
	c->c_flags &= ~TF_RBUF_FULL;
	if (c->c_rbuf_size * 2 <= max) {
		c->c_rbuf_size *= 2;
		c->c_st->st_stats.rbuf_grown++;
	}
}

size_t tcp_rcvbuf_read(struct tcp_conn *c, uint8_t *buf, size_t len)
{
	size_t n = MIN(len, (size_t)tcp_rcvbuf_unread(c));
	if (n == 0)
		return 0;
	uint32_t first = (uint32_t)MIN(n, (size_t)(c->c_rbuf_size - c->c_rb_head));
	memcpy(buf, c->c_rbuf + c->c_rb_head, first);
	memcpy(buf + first, c->c_rbuf, n - first);
	c->c_rb_head = (uint32_t)((c->c_rb_head + n) % c->c_rbuf_size);
	c->c_rb_seq += (uint32_t)n;
	if (tcp_rcvbuf_unread(c) == 0 && c->c_nooo == 0) {
		tcp_rcvbuf_free(c);
		grow(c);
	}
	return n;
}
