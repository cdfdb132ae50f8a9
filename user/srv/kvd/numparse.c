/*
 * Parsing numbers as Redis reads them (number.c's header comment has the
 * rules): floats exactly, through the bignum, and memory sizes ("100mb").
 *
 * Hostile input: any string of any length is either a number or refused;
 * the work is bounded by the exponent clamp (|exp| <= EXP_MAX).
 */
#include <user/srv/kvd/bignum.h>

/* --- parsing --------------------------------------------------------------- */
static bool ieq(const char *s, size_t n, const char *lit)
{
	if (strlen(lit) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (tolower(s[i]) != lit[i])
			return false;
	return true;
}

/*
 * Parse s as a decimal float rounded to `prec` bits with the smallest lsb
 * exponent emin and the largest emax; out: mantissa m (prec bits, or fewer
 * when subnormal) and lsb exponent e. Returns 0 ok, 1 inf given, -1 bad,
 * -2 out of range (overflow, or underflow to zero).
 */
static int parse_float(const char *s, size_t n, int prec, int emin, int emax, bool *neg,
		       uint64_t *m, int *e)
{
	size_t i = 0;
	*neg = false;
	if (n == 0 || isspace(s[0]))
		return -1;
	if (s[i] == '+' || s[i] == '-')
		*neg = s[i++] == '-';
	if (ieq(s + i, n - i, "inf") || ieq(s + i, n - i, "infinity"))
		return 1;
	struct big *d = &g_a;
	big_set(d, 0);
	int nd = 0, dexp = 0;
	bool sticky = false, any = false, point = false;
	uint32_t chunk = 0;
	int chunk_len = 0;
	for (; i < n; i++) {
		char ch = s[i];
		if (ch == '.' && !point) {
			point = true;
			continue;
		}
		if (!isdigit(ch))
			break;
		any = true;
		if (nd == 0 && ch == '0') {
			if (point)
				dexp--;
			continue;
		}
		if (nd < DIGITS_MAX) {
			chunk = chunk * 10 + (uint32_t)(ch - '0');
			if (++chunk_len == 9) {
				big_muladd(d, 1000000000u, chunk);
				chunk = 0;
				chunk_len = 0;
			}
			nd++;
			if (point)
				dexp--;
		} else {
			sticky |= ch != '0';
			if (!point)
				dexp++;
		}
	}
	if (!any)
		return -1;
	if (chunk_len) {
		static const uint32_t p10[] = { 1,      10,      100,      1000,     10000,
						100000, 1000000, 10000000, 100000000 };
		big_muladd(d, p10[chunk_len], chunk);
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		bool eneg = false;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		if (i >= n || !isdigit(s[i]))
			return -1;
		long long ev = 0;
		for (; i < n && isdigit(s[i]); i++)
			if (ev < 1000000)
				ev = ev * 10 + (s[i] - '0');
		dexp += (int)(eneg ? -ev : ev);
		if (ev >= 1000000)
			dexp = eneg ? -2 * EXP_MAX - DIGITS_MAX : 2 * EXP_MAX;
	}
	if (i != n)
		return -1;
	if (d->n == 0) {
		*m = 0;
		*e = emin;
		return 0;
	}
	if (dexp + nd > EXP_MAX)
		return -2;
	if (dexp + nd < -EXP_MAX)
		return -2;
	/* value = (q + sticky) * 2^e0 */
	struct big *q = &g_b;
	int e0;
	if (dexp >= 0) {
		big_mulpow10(d, dexp);
		*q = *d;
		e0 = 0;
	} else {
		struct big *b = &g_c;
		big_set(b, 1);
		big_mulpow10(b, -dexp);
		int s2 = prec + 3 + big_bitlen(b) - big_bitlen(d);
		e0 = 0;
		if (s2 > 0) {
			big_shl(d, s2);
			e0 = -s2;
		} else if (s2 < 0) {
			big_shl(b, -s2);
			e0 = -s2;
		}
		/* q = d / b, by shift and subtract: q has about prec + 3 bits */
		int qbits = big_bitlen(d) - big_bitlen(b) + 1;
		big_set(q, 0);
		if (qbits > 0) {
			big_shl(b, qbits - 1);
			for (int j = 0; j < qbits; j++) {
				big_shl(q, 1);
				if (big_cmp(d, b) >= 0) {
					big_sub(d, b);
					if (q->n == 0)
						big_set(q, 1);
					else
						q->w[0] |= 1;
				}
				big_shr(b, 1);
			}
		}
		sticky |= d->n != 0;
	}
	int len = big_bitlen(q);
	int lsb = e0 + len - prec;
	if (lsb < emin)
		lsb = emin;
	int shift = lsb - e0;
	uint64_t mant;
	if (shift <= 0) {
		big_shl(q, -shift);
		mant = q->n ? q->w[0] | (q->n > 1 ? (uint64_t)q->w[1] << 32 : 0) : 0;
	} else {
		bool half = big_bit(q, shift - 1);
		bool below = sticky || big_any_below(q, shift - 1);
		big_shr(q, shift);
		mant = q->n ? q->w[0] | (q->n > 1 ? (uint64_t)q->w[1] << 32 : 0) : 0;
		if (half && (below || (mant & 1))) {
			mant++;
			if (prec < 64 && mant == (1ULL << prec)) {
				mant >>= 1;
				lsb++;
			} else if (prec == 64 && mant == 0) {
				mant = 1ULL << 63;
				lsb++;
			}
		}
	}
	if (mant == 0)
		return -2;
	if (lsb > emax)
		return -2;
	*m = mant;
	*e = lsb;
	return 0;
}

bool str2d(const char *s, size_t n, double *v)
{
	bool neg;
	uint64_t m;
	int e;
	int r = parse_float(s, n, 53, -1074, 971, &neg, &m, &e);
	if (r < 0)
		return false;
	uint64_t bits;
	if (r == 1)
		bits = 0x7ffULL << 52;
	else if (m < (1ULL << 52))
		bits = m; /* subnormal or zero */
	else
		bits = ((uint64_t)(e + 1075) << 52) | (m & ((1ULL << 52) - 1));
	bits |= (uint64_t)neg << 63;
	memcpy(v, &bits, 8);
	return true;
}

bool str2ld(const char *s, size_t n, long double *v)
{
	bool neg;
	uint64_t m;
	int e;
	if (n >= KVD_DOUBLE_STR)
		return false;
	int r = parse_float(s, n, 64, -16445, 16320, &neg, &m, &e);
	if (r < 0)
		return false;
	struct {
		uint64_t m;
		uint16_t se;
	} raw = { 0, 0 };
	if (r == 1) {
		raw.m = 1ULL << 63;
		raw.se = 0x7fff;
	} else {
		raw.m = m;
		raw.se = (m >> 63) ? (uint16_t)(e + 16383 + 63) : 0;
	}
	raw.se |= (uint16_t)(neg << 15);
	long double out = 0;
	memcpy(&out, &raw, 10);
	*v = out;
	return true;
}

bool str2mem(const char *s, long long *v)
{
	size_t n = strlen(s), i = 0;
	while (i < n && (isdigit(s[i]) || (i == 0 && s[i] == '-')))
		i++;
	long long base;
	if (!str2ll(s, i, &base))
		return false;
	const char *u = s + i;
	long long mul;
	if (!*u || ieq(u, strlen(u), "b"))
		mul = 1;
	else if (ieq(u, strlen(u), "k"))
		mul = 1000;
	else if (ieq(u, strlen(u), "kb"))
		mul = 1024;
	else if (ieq(u, strlen(u), "m"))
		mul = 1000 * 1000;
	else if (ieq(u, strlen(u), "mb"))
		mul = 1024 * 1024;
	else if (ieq(u, strlen(u), "g"))
		mul = 1000LL * 1000 * 1000;
	else if (ieq(u, strlen(u), "gb"))
		mul = 1024LL * 1024 * 1024;
	else
		return false;
	if (base > INT64_MAX / mul || base < INT64_MIN / mul)
		return false;
	*v = base * mul;
	return true;
}
