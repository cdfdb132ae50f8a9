/*
 * A little bignum for number.c and numparse.c: non-negative integers of up
 * to BIG_WORDS 32-bit words, with just the operations exact float
 * conversion needs. Every operation that can grow a number reports when it
 * no longer fits instead of writing past the end.
 */
#include <user/srv/kvd/bignum.h>

struct big g_a, g_b, g_c;

void big_set(struct big *b, uint64_t v)
{
	b->n = 0;
	while (v) {
		b->w[b->n++] = (uint32_t)v;
		v >>= 32;
	}
}

void big_trim(struct big *b)
{
	while (b->n && !b->w[b->n - 1])
		b->n--;
}

/* b = b * m + add; false if it no longer fits */
bool big_muladd(struct big *b, uint32_t m, uint32_t add)
{
	uint64_t carry = add;
	for (int i = 0; i < b->n; i++) {
		uint64_t t = (uint64_t)b->w[i] * m + carry;
		b->w[i] = (uint32_t)t;
		carry = t >> 32;
	}
	if (carry) {
		if (b->n == BIG_WORDS)
			return false;
		b->w[b->n++] = (uint32_t)carry;
	}
	return true;
}

uint32_t big_divsmall(struct big *b, uint32_t d)
{
	uint64_t rem = 0;
	for (int i = b->n - 1; i >= 0; i--) {
		uint64_t cur = (rem << 32) | b->w[i];
		b->w[i] = (uint32_t)(cur / d);
		rem = cur % d;
	}
	big_trim(b);
	return (uint32_t)rem;
}

int big_bitlen(const struct big *b)
{
	if (!b->n)
		return 0;
	return (b->n - 1) * 32 + (32 - __builtin_clz(b->w[b->n - 1]));
}

bool big_bit(const struct big *b, int i)
{
	return i >= 0 && i / 32 < b->n && (b->w[i / 32] >> (i % 32)) & 1;
}

/* any bit below i set? */
bool big_any_below(const struct big *b, int i)
{
	for (int w = 0; w < b->n && w * 32 < i; w++) {
		uint32_t x = b->w[w];
		if (i - w * 32 < 32)
			x &= (1U << (i - w * 32)) - 1;
		if (x)
			return true;
	}
	return false;
}

bool big_shl(struct big *b, int s)
{
	if (!b->n || !s)
		return true;
	int ws = s / 32, bs = s % 32;
	if (b->n + ws + 1 > BIG_WORDS)
		return false;
	b->w[b->n + ws] = 0;
	for (int i = b->n - 1; i >= 0; i--) {
		uint64_t x = (uint64_t)b->w[i] << bs;
		b->w[i + ws + 1] |= (uint32_t)(x >> 32);
		b->w[i + ws] = (uint32_t)x;
	}
	for (int i = 0; i < ws; i++)
		b->w[i] = 0;
	b->n += ws + 1;
	big_trim(b);
	return true;
}

void big_shr(struct big *b, int s)
{
	int ws = s / 32, bs = s % 32;
	if (ws >= b->n) {
		b->n = 0;
		return;
	}
	for (int i = 0; i < b->n - ws; i++) {
		uint64_t x = b->w[i + ws];
		if (i + ws + 1 < b->n)
			x |= (uint64_t)b->w[i + ws + 1] << 32;
		b->w[i] = (uint32_t)(x >> bs);
	}
	b->n -= ws;
	big_trim(b);
}

int big_cmp(const struct big *a, const struct big *b)
{
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	for (int i = a->n - 1; i >= 0; i--)
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i] ? -1 : 1;
	return 0;
}

void big_sub(struct big *a, const struct big *b) /* a >= b */
{
	int64_t borrow = 0;
	for (int i = 0; i < a->n; i++) {
		int64_t t = (int64_t)a->w[i] - (i < b->n ? b->w[i] : 0) - borrow;
		borrow = t < 0;
		a->w[i] = (uint32_t)(t + (borrow << 32));
	}
	big_trim(a);
}

bool big_mulpow10(struct big *b, int e)
{
	for (; e >= 9; e -= 9)
		if (!big_muladd(b, 1000000000u, 0))
			return false;
	static const uint32_t p10[] = { 1,      10,      100,      1000,     10000,
					100000, 1000000, 10000000, 100000000 };
	return big_muladd(b, p10[e], 0);
}
