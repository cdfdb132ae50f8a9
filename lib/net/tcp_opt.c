/*
 * TCP segment parsing, options and checksums.
 *
 * tcp_parse checks a received segment in this order, counting each failure
 * under its own reason before dropping it: at least a 20-byte header; a
 * data offset of 5..15 words within the segment; the checksum over the
 * pseudo-header and the whole segment; flags that make sense (SYN with FIN
 * or RST is refused); and options that stay inside the header (a length
 * below 2 or past the end drops the segment). A known option with the
 * wrong length is ignored, as Linux does, rather than trusted. Nothing is
 * read before the length that covers it is checked.
 *
 * Options sent: on SYN and SYN-ACK, MSS, window scale, SACK-permitted and
 * timestamps (a SYN-ACK only those the SYN offered); afterwards timestamps
 * on every segment when agreed (RFC 7323) and, when data sits out of
 * order, SACK blocks (RFC 2018), the newest range first, as many as fit.
 *
 * Checksums: sums of 16-bit words in memory order (as lib/net's csum_add),
 * so they are the same on any byte order; bytes summed at an odd offset of
 * the final sum are swapped into place by tcp_sum_shift.
 */
#include <common/string.h>
#include <lib/net/tcp_int.h>

#define OPT_EOL 0
#define OPT_NOP 1
#define OPT_MSS 2
#define OPT_WS 3
#define OPT_SACKOK 4
#define OPT_SACK 5
#define OPT_TS 8

uint32_t tcp_sum_fold32(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

uint32_t tcp_sum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t s = sum;
	for (; len >= 8; p += 8, len -= 8) {
		uint32_t a, b; /* __builtin_: inline loads even with -fno-builtin */
		__builtin_memcpy(&a, p, 4);
		__builtin_memcpy(&b, p + 4, 4);
		s += (uint64_t)a + b;
	}
	for (; len >= 2; p += 2, len -= 2) {
		uint16_t w;
		__builtin_memcpy(&w, p, 2);
		s += w;
	}
	if (len) {
		uint16_t w = 0;
		__builtin_memcpy(&w, p, 1); /* the odd byte, padded with zero after it */
		s += w;
	}
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

uint32_t tcp_sum_shift(uint32_t sum, size_t offset)
{
	sum = tcp_sum_fold32(sum);
	return offset & 1 ? (uint32_t)__builtin_bswap16((uint16_t)sum) : sum;
}

uint32_t tcp_pseudo_sum(uint32_t src, uint32_t dst, size_t len)
{
	struct {
		uint32_t src, dst;
		uint8_t zero, proto;
		uint16_t len;
	} __attribute__((packed)) ph = { tcp_htonl(src), tcp_htonl(dst), 0, 6,
					 tcp_htons((uint16_t)len) };
	return tcp_sum_add(0, &ph, sizeof(ph));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
	p[3] = (uint8_t)v;
}

static bool parse_opts(const uint8_t *o, size_t n, struct tcp_seg *s)
{
	for (size_t i = 0; i < n;) {
		uint8_t kind = o[i];
		if (kind == OPT_EOL)
			break;
		if (kind == OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n)
			return false; /* runs past the header */
		uint8_t l = o[i + 1];
		const uint8_t *v = o + i + 2;
		switch (kind) {
		case OPT_MSS:
			if (l == 4 && (s->flags & TCP_SYN)) {
				s->has_mss = true;
				s->mss = (uint16_t)(v[0] << 8 | v[1]);
			}
			break;
		case OPT_WS:
			if (l == 3 && (s->flags & TCP_SYN)) {
				s->has_ws = true;
				s->ws = v[0] > TCP_WSCALE_MAX ? TCP_WSCALE_MAX : v[0];
			}
			break;
		case OPT_SACKOK:
			if (l == 2 && (s->flags & TCP_SYN))
				s->has_sackok = true;
			break;
		case OPT_SACK:
			if (l >= 10 && (l - 2) % 8 == 0 && !(s->flags & TCP_SYN)) {
				s->nsack = (uint8_t)MIN((l - 2) / 8, 4);
				for (int k = 0; k < s->nsack; k++) {
					s->sack[k].l = get32(v + 8 * k);
					s->sack[k].r = get32(v + 8 * k + 4);
				}
			}
			break;
		case OPT_TS:
			if (l == 10) {
				s->has_ts = true;
				s->tsval = get32(v);
				s->tsecr = get32(v + 4);
			}
			break;
		}
		i += l;
	}
	return true;
}

bool tcp_parse(struct tcp_stack *st, uint32_t src, uint32_t dst, const uint8_t *seg, size_t len,
	       bool sum_ok, struct tcp_seg *s, const struct tcp_hdr **hp)
{
	struct tcp_stats *ss = &st->st_stats;
	if (len < TCP_HLEN || len > 65535) {
		ss->in_bad_len++;
		return false;
	}
	const struct tcp_hdr *h = (const struct tcp_hdr *)seg;
	size_t off = (size_t)(h->th_off >> 4) * 4;
	if (off < TCP_HLEN || off > len) {
		ss->in_bad_off++;
		return false;
	}
	if (!sum_ok &&
	    tcp_sum_fold32(tcp_sum_add(tcp_pseudo_sum(src, dst, len), seg, len)) != 0xffff) {
		ss->in_bad_sum++;
		return false;
	}
	memset(s, 0, sizeof(*s));
	s->flags = h->th_flags & 0x3f;
	if ((s->flags & TCP_SYN) && (s->flags & (TCP_FIN | TCP_RST))) {
		ss->in_bad_flags++;
		return false;
	}
	if (!parse_opts(seg + TCP_HLEN, off - TCP_HLEN, s)) {
		ss->in_bad_opts++;
		return false;
	}
	s->seq = tcp_htonl(h->th_seq);
	s->ack = tcp_htonl(h->th_ack);
	s->wnd = tcp_htons(h->th_win);
	s->data = seg + off;
	s->dlen = (uint32_t)(len - off);
	s->len = s->dlen + !!(s->flags & TCP_SYN) + !!(s->flags & TCP_FIN);
	*hp = h;
	return true;
}

size_t tcp_build_opts(struct tcp_conn *c, uint8_t flags, uint8_t *o)
{
	size_t n = 0;
	if (flags & TCP_SYN) {
		o[n++] = OPT_MSS;
		o[n++] = 4;
		o[n++] = TCP_MSS_LOCAL >> 8;
		o[n++] = TCP_MSS_LOCAL & 0xff;
		if (c->c_flags & TF_SACK) {
			o[n++] = OPT_NOP;
			o[n++] = OPT_NOP;
			o[n++] = OPT_SACKOK;
			o[n++] = 2;
		}
		if (c->c_flags & TF_WS) {
			o[n++] = OPT_NOP;
			o[n++] = OPT_WS;
			o[n++] = 3;
			o[n++] = c->c_rcv_wscale;
		}
	}
	if (c->c_flags & TF_TS) {
		o[n++] = OPT_NOP;
		o[n++] = OPT_NOP;
		o[n++] = OPT_TS;
		o[n++] = 10;
		put32(o + n, tcp_ts_now(c));
		/* a SYN echoes nothing; every later segment the newest tsval */
		put32(o + n + 4, (flags & TCP_SYN) && !(flags & TCP_ACK) ? 0 : c->c_ts_recent);
		n += 8;
	}
	if ((c->c_flags & TF_SACK) && c->c_nooo && !(flags & TCP_SYN)) {
		size_t fit = (TCP_OPT_MAX - n - 4) / 8;
		size_t k = MIN((size_t)c->c_nooo, fit);
		o[n++] = OPT_NOP;
		o[n++] = OPT_NOP;
		o[n++] = OPT_SACK;
		o[n++] = (uint8_t)(2 + 8 * k);
		for (size_t i = 0; i < k; i++, n += 8) {
			put32(o + n, c->c_ooo[i].l);
			put32(o + n + 4, c->c_ooo[i].r);
		}
	}
	return n;
}
