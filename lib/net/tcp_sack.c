/*
 * The sender's SACK scoreboard (RFC 2018, RFC 6675): which bytes above
 * snd_una the peer says it holds, as at most TCP_SACK_MAX disjoint
 * ranges sorted by sequence. Loss recovery (tcp_cc.c) asks it for the
 * holes below the highest SACKed byte, which it resends first, and for
 * the SACKed byte count, which the pipe estimate leaves out.
 *
 * Blocks are hostile input: one that is empty, reversed, below snd_una
 * (a D-SACK or stale) or beyond what we have sent is ignored. With every
 * range in use, the highest range is given up (the lowest matter most to
 * recovery); forgetting a SACK only costs a needless retransmission.
 */
#include <common/string.h>
#include <lib/net/tcp_int.h>

static void prune(struct tcp_conn *c)
{
	int k = 0;
	for (int i = 0; i < c->c_nsacked; i++) {
		struct tcp_seqrange r = c->c_sacked[i];
		if (SEQ_LEQ(r.r, c->c_snd_una))
			continue;
		if (SEQ_LT(r.l, c->c_snd_una))
			r.l = c->c_snd_una;
		c->c_sacked[k++] = r;
	}
	c->c_nsacked = (uint8_t)k;
}

static void insert(struct tcp_conn *c, struct tcp_seqrange r)
{
	/* merge with every range it touches, then place it in order */
	int i = 0;
	while (i < c->c_nsacked) {
		struct tcp_seqrange *o = &c->c_sacked[i];
		if (SEQ_LEQ(o->l, r.r) && SEQ_LEQ(r.l, o->r)) {
			r.l = SEQ_MIN(r.l, o->l);
			r.r = SEQ_MAX(r.r, o->r);
			memmove(o, o + 1, (size_t)(c->c_nsacked - i - 1) * sizeof(*o));
			c->c_nsacked--;
		} else {
			i++;
		}
	}
	int at = 0;
	while (at < c->c_nsacked && SEQ_LT(c->c_sacked[at].l, r.l))
		at++;
	if (c->c_nsacked == TCP_SACK_MAX) {
		if (at == TCP_SACK_MAX)
			return;
		c->c_nsacked--; /* forget the highest */
	}
	memmove(&c->c_sacked[at + 1], &c->c_sacked[at],
		(size_t)(c->c_nsacked - at) * sizeof(c->c_sacked[0]));
	c->c_sacked[at] = r;
	c->c_nsacked++;
}

void tcp_sack_update(struct tcp_conn *c, const struct tcp_seg *s)
{
	prune(c);
	if (!(c->c_flags & TF_SACK))
		return;
	for (int i = 0; i < s->nsack; i++) {
		struct tcp_seqrange r = s->sack[i];
		if (!SEQ_LT(r.l, r.r) || SEQ_LEQ(r.l, c->c_snd_una) || SEQ_GT(r.r, c->c_snd_max))
			continue;
		insert(c, r);
	}
}

void tcp_sack_clear(struct tcp_conn *c)
{
	c->c_nsacked = 0;
}

uint32_t tcp_sack_bytes(const struct tcp_conn *c)
{
	uint32_t n = 0;
	for (int i = 0; i < c->c_nsacked; i++)
		n += c->c_sacked[i].r - c->c_sacked[i].l;
	return n;
}

uint32_t tcp_sack_highest(const struct tcp_conn *c)
{
	return c->c_nsacked ? c->c_sacked[c->c_nsacked - 1].r : c->c_snd_una;
}

bool tcp_sack_has(const struct tcp_conn *c, uint32_t seq)
{
	for (int i = 0; i < c->c_nsacked; i++)
		if (SEQ_LEQ(c->c_sacked[i].l, seq) && SEQ_LT(seq, c->c_sacked[i].r))
			return true;
	return false;
}

bool tcp_sack_hole(const struct tcp_conn *c, uint32_t seq, uint32_t *start, uint32_t *len)
{
	for (int i = 0; i < c->c_nsacked; i++) {
		const struct tcp_seqrange *r = &c->c_sacked[i];
		if (SEQ_LEQ(r->r, seq))
			continue;
		if (SEQ_LT(seq, r->l)) {
			*start = seq;
			*len = r->l - seq;
			return true;
		}
		seq = r->r; /* inside this range: the hole starts after it */
	}
	return false;
}
