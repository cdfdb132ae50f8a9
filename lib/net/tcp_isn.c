/*
 * Keyed hashing for the TCP core: initial sequence numbers, SYN cookies and
 * the connection tables' hash, all from SipHash-2-4 under the stack's
 * 128-bit secret (tcp_stack_new's argument, which the caller draws from a
 * good random source).
 *
 * ISNs follow RFC 6528: ISN = M + F(local, remote, secret), M a clock
 * ticking every 4 microseconds, so successive connections of one 4-tuple
 * get increasing numbers while an off-path attacker cannot predict any.
 *
 * SYN cookies (used when a listener's backlog is full) put all the state of
 * a half-open connection into our ISN: 24 bits of keyed hash over the
 * 4-tuple, the peer's ISN and a 64-second time slot, 5 bits of that slot,
 * and 3 bits choosing one of eight MSS values. A cookie is valid for two
 * slots. Options beyond MSS (window scale, SACK, timestamps) are not kept:
 * a connection born of a cookie runs without them.
 *
 * The table hash is keyed too, so a peer cannot choose 4-tuples that all
 * land in one bucket.
 */
#include <lib/net/tcp_int.h>

static uint64_t rotl(uint64_t x, int b)
{
	return x << b | x >> (64 - b);
}

static uint64_t load64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#define SIPROUND                                                        \
	do {                                                            \
		v0 += v1, v1 = rotl(v1, 13), v1 ^= v0, v0 = rotl(v0, 32); \
		v2 += v3, v3 = rotl(v3, 16), v3 ^= v2;                  \
		v0 += v3, v3 = rotl(v3, 21), v3 ^= v0;                  \
		v2 += v1, v1 = rotl(v1, 17), v1 ^= v2, v2 = rotl(v2, 32); \
	} while (0)

uint64_t tcp_keyed_hash(const uint8_t key[16], const void *data, size_t len)
{
	uint64_t k0 = load64(key), k1 = load64(key + 8);
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
	const uint8_t *p = data;
	size_t left = len;
	for (; left >= 8; p += 8, left -= 8) {
		uint64_t m = load64(p);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	uint64_t b = (uint64_t)len << 56;
	for (size_t i = 0; i < left; i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

struct tuple {
	uint32_t lip, rip;
	uint16_t lport, rport;
	uint32_t extra, extra2;
} __attribute__((packed));

static uint64_t tuple_hash(struct tcp_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
			   uint16_t rport, uint32_t extra, uint32_t extra2)
{
	struct tuple t = { lip, rip, lport, rport, extra, extra2 };
	return tcp_keyed_hash(st->st_secret, &t, sizeof(t));
}

uint32_t tcp_isn(struct tcp_stack *st, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
	uint32_t m = (uint32_t)(tcp_now(st) / 4);
	return m + (uint32_t)tuple_hash(st, lip, lport, rip, rport, 0x15e, 0);
}

uint32_t tcp_tuple_hash(struct tcp_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
			uint16_t rport)
{
	return (uint32_t)tuple_hash(st, lip, lport, rip, rport, 0x7ab, 0);
}

/* MSS values a cookie can carry: the common ones, largest last. */
static const uint16_t cookie_mss[8] = { 216, 536, 1024, 1200, 1360, 1400, 1440, 1460 };
#define COOKIE_SLOT_US 64000000ULL

static uint32_t cookie_for_slot(struct tcp_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
				uint16_t rport, uint32_t peer_seq, uint32_t slot, unsigned mssi)
{
	uint32_t h = (uint32_t)tuple_hash(st, lip, lport, rip, rport, peer_seq, slot) & 0xffffff;
	return h << 8 | (slot & 0x1f) << 3 | mssi;
}

uint32_t tcp_cookie_make(struct tcp_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
			 uint16_t rport, uint32_t peer_seq, uint16_t mss)
{
	unsigned mssi = 0;
	for (unsigned i = 0; i < 8; i++)
		if (cookie_mss[i] <= mss)
			mssi = i;
	uint32_t slot = (uint32_t)(tcp_now(st) / COOKIE_SLOT_US);
	return cookie_for_slot(st, lip, lport, rip, rport, peer_seq, slot, mssi);
}

uint16_t tcp_cookie_check(struct tcp_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
			  uint16_t rport, uint32_t peer_seq, uint32_t cookie)
{
	uint32_t now_slot = (uint32_t)(tcp_now(st) / COOKIE_SLOT_US);
	unsigned mssi = cookie & 7;
	/* the slot the cookie names, if it is this one or the one before */
	for (uint32_t back = 0; back < 2; back++) {
		uint32_t slot = now_slot - back;
		if ((slot & 0x1f) != ((cookie >> 3) & 0x1f))
			continue;
		if (cookie_for_slot(st, lip, lport, rip, rport, peer_seq, slot, mssi) == cookie)
			return cookie_mss[mssi];
	}
	return 0;
}
