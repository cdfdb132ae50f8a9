/*
 * Numbers as Redis reads and writes them, without a C library.
 *
 * Integers: canonical decimal only ("12", "-3"; never "+1", "01", " 1").
 *
 * Floating point must match glibc's printf and strtod digit for digit,
 * because clients and Redis's tests compare the text: ZSCORE replies "%.17g"
 * of a double, INCRBYFLOAT "%.17Lf" of an x87 long double with its trailing
 * zeros removed. Both directions are done exactly with a small bignum:
 * formatting expands the binary value into its exact decimal digits and
 * rounds half-to-even at the wanted digit; parsing builds the decimal value
 * as a big integer (times a power of ten) and rounds it to the format's
 * precision, half-to-even, with a sticky bit for what was cut off. Inputs
 * with more than DIGITS_MAX significant digits keep only a sticky bit for
 * the rest, which can misround only a value within 10^-800 of a tie.
 *
 * Hostile input: any string of any length is either a number or refused;
 * the work is bounded by the exponent clamp (|exp| <= EXP_MAX).
 */
#include <user/srv/kvd/engine.h>

int ll2str(char *buf, long long v)
{
	char tmp[KVD_LONG_STR];
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	int n = 0, len = 0;
	do
		tmp[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		buf[len++] = '-';
	while (n)
		buf[len++] = tmp[--n];
	buf[len] = '\0';
	return len;
}

bool str2ll(const char *s, size_t n, long long *v)
{
	if (n == 0 || n > 20)
		return false;
	if (n == 1 && s[0] == '0') {
		*v = 0;
		return true;
	}
	size_t i = 0;
	bool neg = s[0] == '-';
	if (neg)
		i++;
	if (i >= n || s[i] < '1' || s[i] > '9')
		return false;
	unsigned long long u = 0;
	for (; i < n; i++) {
		if (!isdigit(s[i]))
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (u > (~0ULL - d) / 10)
			return false;
		u = u * 10 + d;
	}
	if (neg) {
		if (u > (1ULL << 63))
			return false;
		*v = (long long)(0ULL - u);
	} else {
		if (u > (unsigned long long)INT64_MAX)
			return false;
		*v = (long long)u;
	}
	return true;
}

/* --- a little bignum: little-endian 32-bit words -------------------------- */
#define BIG_WORDS 720 /* 23040 bits: 10^5800 times a 800-digit mantissa */
#define DIGITS_MAX 800
#define EXP_MAX 5000

struct big {
	int n; /* words in use; no leading zero words */
	uint32_t w[BIG_WORDS];
};

static void big_set(struct big *b, uint64_t v)
{
	b->n = 0;
	while (v) {
		b->w[b->n++] = (uint32_t)v;
		v >>= 32;
	}
}

static void big_trim(struct big *b)
{
	while (b->n && !b->w[b->n - 1])
		b->n--;
}

/* b = b * m + add; false if it no longer fits */
static bool big_muladd(struct big *b, uint32_t m, uint32_t add)
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

static uint32_t big_divsmall(struct big *b, uint32_t d)
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

static int big_bitlen(const struct big *b)
{
	if (!b->n)
		return 0;
	return (b->n - 1) * 32 + (32 - __builtin_clz(b->w[b->n - 1]));
}

static bool big_bit(const struct big *b, int i)
{
	return i >= 0 && i / 32 < b->n && (b->w[i / 32] >> (i % 32)) & 1;
}

/* any bit below i set? */
static bool big_any_below(const struct big *b, int i)
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

static bool big_shl(struct big *b, int s)
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

static void big_shr(struct big *b, int s)
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

static int big_cmp(const struct big *a, const struct big *b)
{
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	for (int i = a->n - 1; i >= 0; i--)
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i] ? -1 : 1;
	return 0;
}

static void big_sub(struct big *a, const struct big *b) /* a >= b */
{
	int64_t borrow = 0;
	for (int i = 0; i < a->n; i++) {
		int64_t t = (int64_t)a->w[i] - (i < b->n ? b->w[i] : 0) - borrow;
		borrow = t < 0;
		a->w[i] = (uint32_t)(t + (borrow << 32));
	}
	big_trim(a);
}

static bool big_mulpow10(struct big *b, int e)
{
	for (; e >= 9; e -= 9)
		if (!big_muladd(b, 1000000000u, 0))
			return false;
	static const uint32_t p10[] = { 1,      10,      100,      1000,     10000,
					100000, 1000000, 10000000, 100000000 };
	return big_muladd(b, p10[e], 0);
}

/* --- formatting ------------------------------------------------------------ */
/* The value M * 2^E (M < 2^64) as decimal digits: ip[] holds the integer
 * part's digits, and the fraction F / 2^k is expanded on demand. */
struct expand {
	char *ip; /* integer digits, most significant first, "0" for none */
	int nip;
	struct big frac;
	int k;
};

static struct big g_a, g_b, g_c;
static char g_digits[KVD_DOUBLE_STR];

static void expand_init(struct expand *x, uint64_t m, int e)
{
	struct big *ib = &g_a;
	big_set(ib, m);
	x->k = 0;
	big_set(&x->frac, 0);
	if (e >= 0) {
		big_shl(ib, e);
	} else {
		x->k = -e;
		x->frac = *ib;
		if (x->k < 64 * 2 + 32 * BIG_WORDS) {
			big_shr(ib, x->k);
			/* frac = m mod 2^k */
			struct big *f = &x->frac;
			int ws = x->k / 32, bs = x->k % 32;
			if (ws < f->n) {
				f->n = ws + 1;
				f->w[ws] &= (1U << bs) - 1;
				big_trim(f);
			}
		}
	}
	/* integer digits, in chunks of nine */
	char tmp[KVD_DOUBLE_STR];
	int n = 0;
	while (ib->n) {
		uint32_t r = big_divsmall(ib, 1000000000u);
		for (int i = 0; i < 9; i++, r /= 10)
			tmp[n++] = (char)('0' + r % 10);
	}
	while (n > 1 && tmp[n - 1] == '0')
		n--;
	if (n == 0)
		tmp[n++] = '0';
	x->ip = g_digits;
	x->nip = n;
	for (int i = 0; i < n; i++)
		x->ip[i] = tmp[n - 1 - i];
}

/* The next fraction digit. */
static int expand_frac_digit(struct expand *x)
{
	if (!x->frac.n)
		return 0;
	big_muladd(&x->frac, 10, 0);
	int d = 0;
	for (int b = 3; b >= 0; b--)
		if (big_bit(&x->frac, x->k + b))
			d |= 1 << b;
	/* clear bits from k up */
	int ws = x->k / 32, bs = x->k % 32;
	if (ws < x->frac.n) {
		x->frac.n = ws + 1;
		x->frac.w[ws] &= (1U << bs) - 1;
		big_trim(&x->frac);
	}
	return d;
}

/* Round the digit string d[0..n) up by one unit in its last place; returns
 * true if it grew a digit (all nines). */
static bool digits_inc(char *d, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		if (d[i] != '9') {
			d[i]++;
			return false;
		}
		d[i] = '0';
	}
	memmove(d + 1, d, (size_t)n);
	d[0] = '1';
	return true;
}

/*
 * Exact digits of M * 2^E rounded half-even: with sig > 0, to sig
 * significant digits (out: digits, decimal exponent of the first); with
 * sig <= 0, to `frac` digits after the point (out: all integer digits, then
 * frac fraction digits; *dexp = number of integer digits). Returns the count.
 */
static int exact_digits(uint64_t m, int e, int sig, int frac, char *out, int *dexp)
{
	struct expand x;
	expand_init(&x, m, e);
	int n = 0, rest; /* rest: the remainder vs half, -1/0/1 */
	if (sig > 0) {
		if (m == 0) {
			for (int i = 0; i < sig; i++)
				out[n++] = '0';
			*dexp = 0;
			return n;
		}
		int pos = 0; /* digits consumed of the integer part */
		int exp10;
		if (!(x.nip == 1 && x.ip[0] == '0')) {
			exp10 = x.nip - 1;
			for (; pos < x.nip && n < sig; pos++)
				out[n++] = x.ip[pos];
		} else {
			exp10 = -1;
			int d;
			while ((d = expand_frac_digit(&x)) == 0)
				exp10--;
			out[n++] = (char)('0' + d);
		}
		while (n < sig)
			out[n++] =
				(char)('0' + (pos < x.nip && exp10 >= 0 ? x.ip[pos++] - '0'
									: expand_frac_digit(&x)));
		/* what follows the cut */
		if (exp10 >= 0 && pos < x.nip) {
			int next = x.ip[pos] - '0';
			bool more = x.frac.n != 0;
			for (int i = pos + 1; i < x.nip && !more; i++)
				more = x.ip[i] != '0';
			rest = next > 5 ? 1 : next < 5 ? -1 : more ? 1 : 0;
			if (next == 0 && !more)
				rest = -1;
		} else {
			int next = expand_frac_digit(&x);
			bool more = x.frac.n != 0;
			rest = next > 5 ? 1 : next < 5 ? -1 : more ? 1 : 0;
		}
		if (rest > 0 || (rest == 0 && (out[n - 1] - '0') % 2 == 1)) {
			if (digits_inc(out, n))
				exp10++; /* n digits + 1: drop the last, it is a zero */
		}
		*dexp = exp10;
		return n;
	}
	for (int i = 0; i < x.nip; i++)
		out[n++] = x.ip[i];
	*dexp = x.nip;
	for (int i = 0; i < frac; i++)
		out[n++] = (char)('0' + expand_frac_digit(&x));
	int next = expand_frac_digit(&x);
	bool more = x.frac.n != 0;
	rest = next > 5 ? 1 : next < 5 ? -1 : more ? 1 : 0;
	if (rest > 0 || (rest == 0 && (out[n - 1] - '0') % 2 == 1)) {
		if (digits_inc(out, n)) {
			n++;
			(*dexp)++;
		}
	}
	return n;
}

struct fpparts {
	bool neg, inf, nan;
	uint64_t m;
	int e;
};

static struct fpparts split_double(double d)
{
	uint64_t bits;
	memcpy(&bits, &d, 8);
	struct fpparts p = { .neg = bits >> 63 };
	int ex = (int)((bits >> 52) & 0x7ff);
	uint64_t fr = bits & ((1ULL << 52) - 1);
	if (ex == 0x7ff) {
		p.inf = fr == 0;
		p.nan = fr != 0;
	} else if (ex == 0) {
		p.m = fr;
		p.e = -1074;
	} else {
		p.m = fr | (1ULL << 52);
		p.e = ex - 1075;
	}
	return p;
}

static struct fpparts split_ld(long double d)
{
	struct {
		uint64_t m;
		uint16_t se;
	} raw;
	memset(&raw, 0, sizeof(raw));
	memcpy(&raw, &d, 10);
	struct fpparts p = { .neg = raw.se >> 15 };
	int ex = raw.se & 0x7fff;
	p.m = raw.m;
	if (ex == 0x7fff) {
		p.inf = (raw.m << 1) == 0;
		p.nan = !p.inf;
	} else {
		p.e = (ex == 0 ? 1 : ex) - 16383 - 63;
	}
	return p;
}

static int put_special(char *buf, size_t size, const struct fpparts *p)
{
	const char *s = p->nan ? (p->neg ? "-nan" : "nan") : (p->neg ? "-inf" : "inf");
	return (int)strlcpy(buf, s, size);
}

/* %.{prec}g */
static int fmt_g(char *buf, size_t size, const struct fpparts *p, int prec)
{
	if (p->inf || p->nan)
		return put_special(buf, size, p);
	char dig[64];
	int x;
	exact_digits(p->m, p->e, prec, 0, dig, &x);
	int nd = prec;
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	if (p->m == 0)
		x = 0;
	char out[KVD_DOUBLE_STR];
	int o = 0;
	if (p->neg)
		out[o++] = '-';
	if (x < -4 || x >= prec) {
		out[o++] = dig[0];
		if (nd > 1) {
			out[o++] = '.';
			for (int i = 1; i < nd; i++)
				out[o++] = dig[i];
		}
		out[o++] = 'e';
		out[o++] = x < 0 ? '-' : '+';
		int ax = x < 0 ? -x : x;
		char eb[8];
		int en = 0;
		do
			eb[en++] = (char)('0' + ax % 10);
		while ((ax /= 10) != 0);
		if (en < 2)
			eb[en++] = '0';
		while (en)
			out[o++] = eb[--en];
	} else if (x >= 0) {
		for (int i = 0; i <= x; i++)
			out[o++] = i < nd ? dig[i] : '0';
		if (nd > x + 1) {
			out[o++] = '.';
			for (int i = x + 1; i < nd; i++)
				out[o++] = dig[i];
		}
	} else {
		out[o++] = '0';
		out[o++] = '.';
		for (int i = 0; i < -x - 1; i++)
			out[o++] = '0';
		for (int i = 0; i < nd; i++)
			out[o++] = dig[i];
	}
	out[o] = '\0';
	return (int)strlcpy(buf, out, size);
}

int d2str(char *buf, size_t size, double d)
{
	struct fpparts p = split_double(d);
	return fmt_g(buf, size, &p, 17);
}

int ld2str_g(char *buf, size_t size, long double d)
{
	struct fpparts p = split_ld(d);
	return fmt_g(buf, size, &p, 17);
}

int ld2str_human(char *buf, size_t size, long double d)
{
	struct fpparts p = split_ld(d);
	if (p.inf || p.nan)
		return put_special(buf, size, &p);
	static char dig[KVD_DOUBLE_STR];
	int nint;
	int n = exact_digits(p.m, p.e, 0, 17, dig, &nint);
	char *out = g_digits; /* free again: exact_digits is done with it */
	int o = 0;
	if (p.neg)
		out[o++] = '-';
	for (int i = 0; i < nint; i++)
		out[o++] = dig[i];
	int end = n;
	while (end > nint && dig[end - 1] == '0')
		end--;
	if (end > nint) {
		out[o++] = '.';
		for (int i = nint; i < end; i++)
			out[o++] = dig[i];
	}
	out[o] = '\0';
	if (o == 2 && out[0] == '-' && out[1] == '0') {
		out[0] = '0';
		out[1] = '\0';
	}
	return (int)strlcpy(buf, out, size);
}

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
