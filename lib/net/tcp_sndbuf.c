/*
 * The TCP send queue: every byte from snd_una (the oldest unacknowledged)
 * to the last the application queued, as a list of extents. An extent is
 * either bytes copied from the application into memory the stack owns
 * (tcp_send; small writes fill the last extent's room), or a reference into
 * an application's immutable zero-copy object (tcp_send_zc, struct tcp_zc),
 * which is never copied: segments point into it, retransmissions too, and
 * its payload checksum comes from the chunk sums computed once.
 *
 * Ownership: copied extents are the stack's; a reference holds one count
 * of zc_refs until its last byte is acknowledged or the connection is
 * freed, and then the object's release hook (if any) runs.
 *
 * tcp_sndbuf_pieces describes a segment's payload as pieces (one per
 * extent it spans) with its checksum; the output hook gathers them.
 */
#include <common/string.h>
#include <lib/net/tcp_int.h>

#define EXT_MIN 2048   /* bytes of room a new copied extent gets at least */
#define EXT_MAX 16384  /* and at most, so freeing follows acks closely */

struct tcp_ext {
	struct tcp_ext *e_next;
	uint32_t e_len, e_cap; /* e_cap 0: a reference */
	struct tcp_zc *e_zc;
	size_t e_zc_off;
	uint8_t e_data[];
};

void tcp_zc_init(struct tcp_zc *zc, const void *data, size_t len, uint16_t *sums)
{
	zc->zc_data = data;
	zc->zc_len = len;
	zc->zc_sums = sums;
	zc->zc_refs = 0;
	for (size_t i = 0; i * TCP_ZC_CHUNK < len; i++)
		sums[i] = (uint16_t)tcp_sum_add(0, zc->zc_data + i * TCP_ZC_CHUNK,
						MIN((size_t)TCP_ZC_CHUNK, len - i * TCP_ZC_CHUNK));
}

static size_t ext_size(const struct tcp_ext *e)
{
	return sizeof(*e) + e->e_cap;
}

static void ext_free(struct tcp_conn *c, struct tcp_ext *e)
{
	if (e->e_zc && --e->e_zc->zc_refs == 0 && e->e_zc->zc_release)
		e->e_zc->zc_release(e->e_zc);
	tcp_free(c->c_st, e, ext_size(e));
}

static void ext_link(struct tcp_conn *c, struct tcp_ext *e)
{
	e->e_next = NULL;
	if (c->c_sq_tail)
		c->c_sq_tail->e_next = e;
	else
		c->c_sq_head = e;
	c->c_sq_tail = e;
}

long tcp_sndbuf_append(struct tcp_conn *c, const uint8_t *buf, size_t len)
{
	size_t room = c->c_sndbuf > c->c_sq_bytes ? c->c_sndbuf - c->c_sq_bytes : 0;
	len = MIN(len, room);
	size_t done = 0;
	struct tcp_ext *t = c->c_sq_tail;
	if (t && t->e_cap > t->e_len) {
		size_t n = MIN(len, (size_t)(t->e_cap - t->e_len));
		memcpy(t->e_data + t->e_len, buf, n);
		t->e_len += (uint32_t)n;
		done = n;
	}
	while (done < len) {
		size_t cap = MAX(MIN(len - done, (size_t)EXT_MAX), (size_t)EXT_MIN);
		struct tcp_ext *e = tcp_alloc(c->c_st, sizeof(*e) + cap);
		if (!e)
			break;
		e->e_cap = (uint32_t)cap;
		e->e_len = (uint32_t)MIN(cap, len - done);
		e->e_zc = NULL;
		e->e_zc_off = 0;
		memcpy(e->e_data, buf + done, e->e_len);
		ext_link(c, e);
		done += e->e_len;
	}
	c->c_sq_bytes += (uint32_t)done;
	c->c_snd_end += (uint32_t)done;
	return done ? (long)done : (len ? -E_NO_MEM : 0);
}

int tcp_sndbuf_append_zc(struct tcp_conn *c, struct tcp_zc *zc, size_t off, size_t len)
{
	if (off > zc->zc_len || len > zc->zc_len - off)
		return -E_INVAL;
	if (len > c->c_sndbuf || c->c_sq_bytes > c->c_sndbuf - len)
		return -E_AGAIN;
	if (len == 0)
		return 0;
	struct tcp_ext *e = tcp_alloc(c->c_st, sizeof(*e));
	if (!e)
		return -E_NO_MEM;
	e->e_cap = 0;
	e->e_len = (uint32_t)len;
	e->e_zc = zc;
	e->e_zc_off = off;
	zc->zc_refs++;
	ext_link(c, e);
	c->c_sq_bytes += (uint32_t)len;
	c->c_snd_end += (uint32_t)len;
	return 0;
}

void tcp_sndbuf_ack(struct tcp_conn *c, uint32_t n)
{
	n = MIN(n, c->c_sq_bytes);
	c->c_sq_bytes -= n;
	while (n) {
		struct tcp_ext *e = c->c_sq_head;
		uint32_t avail = e->e_len - c->c_sq_off;
		if (n < avail) {
			c->c_sq_off += n;
			return;
		}
		n -= avail;
		c->c_sq_head = e->e_next;
		if (!c->c_sq_head)
			c->c_sq_tail = NULL;
		if (c->c_sq_cur == e)
			c->c_sq_cur = NULL;
		c->c_sq_off = 0;
		ext_free(c, e);
	}
}

void tcp_sndbuf_free(struct tcp_conn *c)
{
	while (c->c_sq_head) {
		struct tcp_ext *e = c->c_sq_head;
		c->c_sq_head = e->e_next;
		ext_free(c, e);
	}
	c->c_sq_tail = c->c_sq_cur = NULL;
	c->c_sq_off = c->c_sq_bytes = 0;
}

static const uint8_t *ext_bytes(const struct tcp_ext *e)
{
	return e->e_zc ? e->e_zc->zc_data + e->e_zc_off : e->e_data;
}

/* The sum of a reference's bytes [pos, pos + len), from the chunk sums
 * where whole chunks are covered. */
static uint32_t zc_sum(const struct tcp_ext *e, size_t pos, size_t len)
{
	const struct tcp_zc *zc = e->e_zc;
	size_t a = e->e_zc_off + pos, end = a + len;
	uint32_t sum = 0;
	while (a < end) {
		size_t chunk = a / TCP_ZC_CHUNK, cstart = chunk * TCP_ZC_CHUNK;
		size_t cend = MIN(cstart + TCP_ZC_CHUNK, zc->zc_len);
		size_t take = MIN(cend, end) - a;
		uint32_t s = a == cstart && take == cend - cstart
				     ? zc->zc_sums[chunk]
				     : tcp_sum_add(0, zc->zc_data + a, take);
		sum += tcp_sum_shift(s, a - (e->e_zc_off + pos));
		a += take;
	}
	return tcp_sum_fold32(sum);
}

int tcp_sndbuf_pieces(struct tcp_conn *c, uint32_t seq, uint32_t *lenp, struct tcp_piece *pieces,
		      int max, uint32_t *sum)
{
	uint32_t len = *lenp, got = 0, s = 0, skip;
	int n = 0;
	struct tcp_ext *e;
	/* segments mostly follow each other: start from where the last one
	 * ended, unless seq lies before it (a retransmission) */
	if (c->c_sq_cur && SEQ_LEQ(c->c_sq_cur_seq, seq)) {
		e = c->c_sq_cur;
		skip = seq - c->c_sq_cur_seq;
	} else {
		e = c->c_sq_head;
		skip = seq - c->c_snd_una + c->c_sq_off;
	}
	uint32_t at = seq - skip; /* sequence number of e's first byte */
	for (; e && skip >= e->e_len; e = e->e_next) {
		skip -= e->e_len;
		at += e->e_len;
	}
	c->c_sq_cur = e;
	c->c_sq_cur_seq = at;
	for (; e && got < len && n < max; e = e->e_next, skip = 0) {
		uint32_t take = MIN(e->e_len - skip, len - got);
		pieces[n].tp_data = ext_bytes(e) + skip;
		pieces[n].tp_len = take;
		pieces[n].tp_ref = e->e_zc != NULL;
		if (sum) {
			uint32_t ps = e->e_zc ? zc_sum(e, skip, take)
					      : tcp_sum_add(0, pieces[n].tp_data, take);
			s += tcp_sum_shift(ps, got);
		}
		got += take;
		n++;
	}
	*lenp = got;
	if (sum)
		*sum = tcp_sum_fold32(s);
	return n;
}
