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
#include <user/srv/kvd/bignum.h>

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

/* --- formatting ------------------------------------------------------------ */
/* The value M * 2^E (M < 2^64) as decimal digits: ip[] holds the integer
 * part's digits, and the fraction F / 2^k is expanded on demand. */
struct expand {
	char *ip; /* integer digits, most significant first, "0" for none */
	int nip;
	struct big frac;
	int k;
};

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
