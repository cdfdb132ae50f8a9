/*
 * Host tests for common/fmt.c.
 *
 * Most of it is differential: the host C library's vsnprintf is the reference
 * for every conversion both share, first over a hand-written table of corner
 * cases, then over generated formats (every flag set, several widths and
 * precisions, every length modifier, boundary values), each also checked at
 * truncating buffer sizes. Exo's own behaviour (%e, %p of NULL, unsupported
 * directives, chunked output) is checked against fixed expectations.
 */
#include "check.h"

#include <limits.h>
#include <stdint.h>

/* The host's functions, named before rename.h takes the names over: the
 * reference formatter, and helpers that should not depend on the code under
 * test. */
static int host_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	return vsnprintf(buf, size, fmt, ap);
}

__attribute__((format(printf, 3, 4))) static int host_snprintf(char *buf, size_t size,
							       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static int host_memcmp(const void *a, const void *b, size_t n)
{
	return memcmp(a, b, n);
}

static void *host_memcpy(void *dst, const void *src, size_t n)
{
	return memcpy(dst, src, n);
}

static void *host_memset(void *dst, int c, size_t n)
{
	return memset(dst, c, n);
}

static int host_strcmp(const char *a, const char *b)
{
	return strcmp(a, b);
}

static size_t host_strlen(const char *s)
{
	return strlen(s);
}

#include "rename.h"
#include <inc/error.h>
#include <common/fmt.h>

#define OUT_MAX 1024 /* longer than any output below */

/* Formats with both and compares the full output and the return value, then
 * the truncated output at a few buffer sizes. Returns whether all agreed. */
static bool check_same(const char *file, int line, const char *fmt, ...)
{
	char ours[OUT_MAX], theirs[OUT_MAX];
	va_list ap, a1, a2;
	va_start(ap, fmt);
	va_copy(a1, ap);
	va_copy(a2, ap);
	int n1 = exo_vsnprintf(ours, sizeof(ours), fmt, a1);
	int n2 = host_vsnprintf(theirs, sizeof(theirs), fmt, a2);
	va_end(a1);
	va_end(a2);
	bool ok = n1 == n2 && n2 >= 0 && n2 < OUT_MAX - 2 &&
		  host_memcmp(ours, theirs, (size_t)n2 + 1) == 0;
	if (!ok) {
		char qf[200], q1[300], q2[300];
		check_quote(qf, sizeof(qf), fmt);
		check_quote(q1, sizeof(q1), ours);
		check_quote(q2, sizeof(q2), theirs);
		check_true(false, file, line, "format %s: got %s (%d), want %s (%d)", qf, q1, n1,
			   q2, n2);
	}

	size_t sizes[] = { 0, 1, 2, (size_t)n2 / 2, (size_t)n2, (size_t)n2 + 1 };
	for (size_t i = 0; ok && i < ARRAY_SIZE(sizes); i++) {
		host_memset(ours, '#', sizeof(ours));
		host_memset(theirs, '#', sizeof(theirs));
		va_copy(a1, ap);
		va_copy(a2, ap);
		n1 = exo_vsnprintf(sizes[i] ? ours : NULL, sizes[i], fmt, a1);
		n2 = host_vsnprintf(sizes[i] ? theirs : NULL, sizes[i], fmt, a2);
		va_end(a1);
		va_end(a2);
		/* The bytes past the NUL must be untouched: compare one more. */
		ok = n1 == n2 && host_memcmp(ours, theirs, sizes[i] + 1) == 0;
		if (!ok) {
			char qf[200];
			check_quote(qf, sizeof(qf), fmt);
			check_true(false, file, line, "format %s into %zu bytes: got %d, want %d",
				   qf, sizes[i], n1, n2);
		}
	}
	va_end(ap);
	return ok;
}

#define SAME(...) check_same(__FILE__, __LINE__, __VA_ARGS__)

/* Formats with ours alone, for fixed expectations. */
static const char *fmt_ours(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	exo_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return buf;
}

#define OURS(...) fmt_ours(buf, sizeof(buf), __VA_ARGS__)

TEST(fmt, literal_text)
{
	SAME("");
	SAME("hello, world");
	SAME("100%% sure");
	SAME("%%");
	SAME("%%%%%%");
	SAME("a%%b%%c");
	SAME("tab\tnewline\n\xff high bytes");
}

TEST(fmt, integers_table)
{
	SAME("%d", 0);
	SAME("%d", 42);
	SAME("%d", -42);
	SAME("%d", INT_MAX);
	SAME("%d", INT_MIN);
	SAME("%i", -7);
	SAME("%u", 0u);
	SAME("%u", UINT_MAX);
	SAME("%x", 0xdeadbeefu);
	SAME("%X", 0xdeadbeefu);
	SAME("%o", 8u);
	SAME("%o", UINT_MAX);
	SAME("%5d|%-5d|%05d", 42, 42, 42);
	SAME("%+d %+d %+d", 5, -5, 0);
	SAME("% d % d % d", 5, -5, 0);
	SAME("%+ d % +d", 5, 5);
	SAME("%-+8d|%-08d|%0-8d", 5, 5, 5);
	SAME("%08d %08d", -123, 123);
	SAME("%.5d %.5d %.0d %.0d %.d", 42, -42, 0, 1, 0);
	SAME("%8.5d|%-8.5d|%08.5d", -42, -42, -42);
	SAME("%#x %#X %#o %#x %#o", 255u, 255u, 8u, 0u, 0u);
	SAME("%#.0o %#.0x %#.3o %#5o %#-8x|", 0u, 0u, 8u, 8u, 26u);
	SAME("%#08x %#8x %#-8x| %#.8x", 26u, 26u, 26u, 26u);
	SAME("%+u % u %+x % o", 5u, 5u, 5u, 5u);
	SAME("%0+6d %0 6d", 5, 5);
	SAME("%300d|%-300u|", 1, 2u);
	SAME("%.300d", -1);
	SAME("%1d %2d %3d", 12345, 12345, 12345);
	SAME("%d%d%d%s%c", 1, 2, 3, "x", 'y');
}

TEST(fmt, length_modifiers_table)
{
	SAME("%hhd %hhd %hhd %hhd", 127, 128, 255, 300);
	SAME("%hhu %hhu %hhx %hho", -1, 256, -1, 0x1ff);
	SAME("%hd %hd %hu %hx", 32767, 32768, -1, 70000);
	SAME("%ld %ld %lu %lx %lo", LONG_MAX, LONG_MIN, ULONG_MAX, ULONG_MAX, ULONG_MAX);
	SAME("%lld %lld %llu %llX", LLONG_MAX, LLONG_MIN, ULLONG_MAX, 0xabcdefULL);
	SAME("%zu %zx %zd", SIZE_MAX, (size_t)0x1234, (size_t)-5);
	SAME("%td %tu %tx", (ptrdiff_t)-5, (ptrdiff_t)-1, (ptrdiff_t)PTRDIFF_MAX);
	SAME("%jd %jd %ju %jx", INTMAX_MAX, INTMAX_MIN, UINTMAX_MAX, UINTMAX_MAX);
	SAME("%li %lli %hi %hhi", -1L, -2LL, -3, -4);
	SAME("%#lo %#llx %#jo", 01234567L, 0xfedcba9876543210ULL, (intmax_t)8);
	SAME("%-+24lld|%024lld|%+.20lld", LLONG_MIN, LLONG_MIN, LLONG_MAX);
}

TEST(fmt, star_width_and_precision)
{
	SAME("%*d|", 6, 42);
	SAME("%*d|", -6, 42); /* negative width means '-' */
	SAME("%-*d|", -6, 42);
	SAME("%*d|", 0, 42);
	SAME("%.*d|", 6, 42);
	SAME("%.*d|", -1, 42); /* negative precision means none */
	SAME("%0.*d|", -1, 42);
	SAME("%0*.*d|", 10, -3, 42);
	SAME("%*.*d|", 10, 5, -42);
	SAME("%*.*s|", 10, 3, "abcdef");
	SAME("%-*.*s|", 10, 3, "abcdef");
	SAME("%*s|%*s|", 3, "x", -3, "y");
	SAME("%.*s|", 0, "abc");
	SAME("%.*s|", -5, "abc");
	SAME("%*c|%-*c|", 4, 'a', 4, 'b');
}

TEST(fmt, strings_and_chars)
{
	SAME("%s", "");
	SAME("%s", "hello");
	SAME("[%10s][%-10s][%.2s][%10.2s][%-10.2s]", "hi", "hi", "hello", "hello", "hello");
	SAME("[%1s][%.0s][%.10s]", "hello", "hello", "hello");
	SAME("[%c][%5c][%-5c]", 'x', 'y', 'z');
	SAME("[%c]", 0xe9);
	SAME("[%c%c%c]", 'a', 0, 'b'); /* a NUL in the middle of the output */
	SAME("%s %s %s", "one", "two", "three");
	/* The precision stops reading: the array has no terminator. */
	char unterminated[3] = { 'a', 'b', 'c' };
	SAME("%.3s|%.2s", unterminated, unterminated);
}

TEST(fmt, pointers)
{
	int x;
	SAME("%p", (void *)&x);
	SAME("%p", (void *)1);
	SAME("%p", (void *)UINTPTR_MAX);
	SAME("[%20p][%-20p][%020p]", (void *)0x1234, (void *)0x1234, (void *)0x1234);
	SAME("[%.8p][%12.8p][%#p]", (void *)0x1234, (void *)0x1234, (void *)0x1234);
	/* Where Exo differs from glibc, on purpose: */
	char buf[64];
	CHECK_STREQ(OURS("%p", (void *)0), "0x0");
	CHECK_STREQ(OURS("[%5p]", (void *)0), "[  0x0]");
	CHECK_STREQ(OURS("%+p % p", (void *)0x10, (void *)0x10), "0x10 0x10");
}

TEST(fmt, null_string)
{
	char buf[64];
	CHECK_STREQ(OURS("%s", (char *)NULL), "(null)");
	CHECK_STREQ(OURS("[%8s]", (char *)NULL), "[  (null)]");
	CHECK_STREQ(OURS("[%-8s]", (char *)NULL), "[(null)  ]");
	CHECK_STREQ(OURS("[%.3s]", (char *)NULL), "[(nu]");
}

/* Exo's %e and the error tables. */
TEST(fmt, error_conversion)
{
	char buf[128];
	CHECK_STREQ(OURS("%e", -E_FAULT), "bad address");
	CHECK_STREQ(OURS("%e", E_FAULT), "bad address");
	CHECK_STREQ(OURS("%le", (long)-E_NO_MEM), "out of memory");
	CHECK_STREQ(OURS("%le", (long)E_INVAL), "invalid argument");
	CHECK_STREQ(OURS("%e", -99), "error -99");
	CHECK_STREQ(OURS("%e", 99), "error 99");
	CHECK_STREQ(OURS("%e", 0), "error 0");
	CHECK_STREQ(OURS("%e", INT_MIN), "error -2147483648");
	CHECK_STREQ(OURS("%le", LONG_MIN), "error -9223372036854775808");
	CHECK_STREQ(OURS("%le", LONG_MAX), "error 9223372036854775807");
	/* %le reads a whole long: a value with high bits set is not a code. */
	CHECK_STREQ(OURS("%le", (long)-E_FAULT - (1L << 40)), "error -1099511627778");
	CHECK_STREQ(OURS("[%15e]", -E_FAULT), "[    bad address]");
	CHECK_STREQ(OURS("[%-15e]", -E_FAULT), "[bad address    ]");
	CHECK_STREQ(OURS("[%.3e]", -E_FAULT), "[bad]");
	CHECK_STREQ(OURS("[%.7e]", -1000), "[error -]");
	CHECK_STREQ(OURS("[%12e]", -1000), "[ error -1000]");
	CHECK_STREQ(OURS("[%*e]", 12, -E_FAULT), "[ bad address]");
	CHECK_STREQ(OURS("%d: %e (%s)", 3, -E_PERM, "x"), "3: permission denied (x)");
	CHECK_STREQ(OURS("%le then %d", (long)-E_BUSY, 7), "resource busy then 7");
	CHECK_EQ(exo_snprintf(NULL, 0, "%e", -E_FAULT), 11);
}

TEST(fmt, error_tables)
{
	char buf[128];
#define CHECK_ONE_ERROR(name, num, msg)                          \
	CHECK_STREQ(err_name(-(name)), #name);                   \
	CHECK_STREQ(err_name(name), #name);                      \
	CHECK_STREQ(err_message(-(name)), msg);                  \
	CHECK_STREQ(err_message(name), msg);                     \
	CHECK_STREQ(OURS("%e", -(name)), msg);                   \
	CHECK_STREQ(OURS("%le", -(long)(name)), msg);            \
	CHECK_EQ(name, num);
	EXO_ERRORS(CHECK_ONE_ERROR)
#undef CHECK_ONE_ERROR
	CHECK(E_MAX >= E_TOO_BIG);
	CHECK(err_name(0) == NULL);
	CHECK(err_message(0) == NULL);
	CHECK(err_name(E_MAX + 1) == NULL);
	CHECK(err_name(-E_MAX - 1) == NULL);
	CHECK(err_message(E_MAX + 1) == NULL);
	CHECK(err_name(LONG_MIN) == NULL);
	CHECK(err_message(LONG_MIN) == NULL);
	CHECK(err_name(LONG_MAX) == NULL);
	CHECK(err_name(-(1L << 32) - E_FAULT) == NULL);
}

TEST(fmt, unsupported_directives_are_copied)
{
	char buf[128];
	CHECK_STREQ(OURS("%f"), "%f");
	CHECK_STREQ(OURS("[%5.2f]"), "[%5.2f]");
	CHECK_STREQ(OURS("%n"), "%n");
	CHECK_STREQ(OURS("%y%d", 5), "%y5");
	CHECK_STREQ(OURS("%ls|%lc|%lp", "a", 'b', (void *)0), "%ls|%lc|%lp");
	CHECK_STREQ(OURS("abc%"), "abc%");
	CHECK_STREQ(OURS("abc%-08"), "abc%-08");
	CHECK_STREQ(OURS("abc%ll"), "abc%ll");
	CHECK_EQ(exo_snprintf(NULL, 0, "abc%"), 4);
}

TEST(fmt, snprintf_truncation)
{
	char buf[16];
	host_memset(buf, 'X', sizeof(buf));
	CHECK_EQ(exo_snprintf(buf, 0, "hello"), 5);
	CHECK(buf[0] == 'X'); /* size 0 writes nothing, not even a NUL */
	CHECK_EQ(exo_snprintf(NULL, 0, "%d-%s", 12345, "abc"), 9);

	CHECK_EQ(exo_snprintf(buf, 1, "hello"), 5);
	CHECK_STREQ(buf, "");
	CHECK(buf[1] == 'X');

	CHECK_EQ(exo_snprintf(buf, 5, "hello"), 5);
	CHECK_STREQ(buf, "hell");
	CHECK_EQ(exo_snprintf(buf, 6, "hello"), 5);
	CHECK_STREQ(buf, "hello");

	host_memset(buf, 'X', sizeof(buf));
	CHECK_EQ(exo_snprintf(buf, 8, "%s=%08x", "key", 0xbeefu), 12);
	CHECK_STREQ(buf, "key=000");
	CHECK(buf[8] == 'X');

	/* Output far longer than the buffer is still counted in full. */
	CHECK_EQ(exo_snprintf(buf, sizeof(buf), "%5000d|%-3000s|", 1, "x"), 8002);
	CHECK_STREQ(buf, "               ");

	/* Appending in a loop, the way callers build strings. */
	char line[12];
	size_t len = 0;
	for (int i = 0; i < 10; i++)
		len += (size_t)exo_snprintf(line + MIN(len, sizeof(line) - 1),
					    sizeof(line) - MIN(len, sizeof(line) - 1), "%d,", i);
	CHECK_EQ(len, 20);
	CHECK_STREQ(line, "0,1,2,3,4,5");
}

/* A put callback that logs every chunk, to check how output is cut. */
struct chunk_log {
	int calls, empty;
	char text[OUT_MAX];
	size_t len;
	size_t lens[64];
};

static void log_put(void *arg, const char *s, size_t n)
{
	struct chunk_log *log = arg;
	if (n == 0)
		log->empty++;
	if (log->calls < 64)
		log->lens[log->calls] = n;
	log->calls++;
	size_t k = MIN(n, sizeof(log->text) - 1 - log->len);
	host_memcpy(log->text + log->len, s, k);
	log->len += k;
	log->text[log->len] = '\0';
}

TEST(fmt, output_comes_in_chunks)
{
	struct chunk_log log = { 0 };
	CHECK_EQ(fmt_format(log_put, &log, "a literal run of text"), 21);
	CHECK_EQ(log.calls, 1);

	log = (struct chunk_log){ 0 };
	CHECK_EQ(fmt_format(log_put, &log, "hello %d world", 12345), 17);
	CHECK_STREQ(log.text, "hello 12345 world");
	CHECK_EQ(log.calls, 3);
	CHECK_EQ(log.lens[1], 5);

	/* Padding goes out in blocks, not byte by byte. */
	log = (struct chunk_log){ 0 };
	CHECK_EQ(fmt_format(log_put, &log, "%200s", "x"), 200);
	CHECK(log.calls <= 10);
	log = (struct chunk_log){ 0 };
	CHECK_EQ(fmt_format(log_put, &log, "%-#0*.*lx|", 100, 90, 0xabcUL), 101);
	CHECK(log.calls <= 12);
	CHECK_EQ(log.empty, 0);

	log = (struct chunk_log){ 0 };
	CHECK_EQ(fmt_format(log_put, &log, ""), 0);
	CHECK_EQ(log.calls, 0);
	CHECK_EQ(fmt_format(log_put, &log, "%s%.0d%.0s", "", 0, "abc"), 0);
	CHECK_EQ(log.empty, 0);
}

/* Generated formats: every flag set x widths x precisions x length modifiers
 * x conversions x boundary values: about 775,000 formats. */
static const char *const flag_sets[] = {
	"",    "-",   "0",   "+",   " ",    "#",    "-0",   "-+",   "- ",   "-#",    "0+",
	"0 ",  "0#",  "+ ",  "+#",  " #",   "-0+",  "-0 ",  "-0#",  "-+ ",  "-+#",   "- #",
	"0+ ", "0+#", "0 #", "+ #", "-0+ ", "-0+#", "-0 #", "-+ #", "0+ #", "-0+ #",
};
static const char *const widths[] = { "", "1", "7", "25" };
static const char *const precisions[] = { "", ".", ".0", ".1", ".5", ".23" };
static const char *const lengths[] = { "hh", "h", "", "l", "ll", "z", "t", "j" };
static const long long values[] = {
	0,         1,         -1,
	7,         8,         10,
	15,        16,        127,
	-128,      255,       256,
	32767,     -32768,    65535,
	INT_MAX,   INT_MIN,   (long long)UINT_MAX,
	LLONG_MAX, LLONG_MIN, 0x123456789abcdefLL,
};

/* Calls SAME with v converted to the type the length modifier reads. */
static bool same_integer(const char *fmt, const char *len, char conv, long long v)
{
	bool sign = conv == 'd' || conv == 'i';
	unsigned long long u = (unsigned long long)v;
	if (!host_strcmp(len, "l"))
		return sign ? SAME(fmt, (long)v) : SAME(fmt, (unsigned long)u);
	if (!host_strcmp(len, "ll"))
		return sign ? SAME(fmt, v) : SAME(fmt, u);
	if (!host_strcmp(len, "z"))
		return SAME(fmt, (size_t)u);
	if (!host_strcmp(len, "t"))
		return SAME(fmt, (ptrdiff_t)v);
	if (!host_strcmp(len, "j"))
		return sign ? SAME(fmt, (intmax_t)v) : SAME(fmt, (uintmax_t)u);
	return sign ? SAME(fmt, (int)v) : SAME(fmt, (unsigned)u); /* hh, h, none */
}

TEST(fmt, generated_integers)
{
	static const char convs[] = "diuxXo";
	char fmt[64];
	for (size_t c = 0; c < sizeof(convs) - 1; c++)
		for (size_t l = 0; l < ARRAY_SIZE(lengths); l++)
			for (size_t f = 0; f < ARRAY_SIZE(flag_sets); f++)
				for (size_t w = 0; w < ARRAY_SIZE(widths); w++)
					for (size_t p = 0; p < ARRAY_SIZE(precisions); p++) {
						host_snprintf(fmt, sizeof(fmt), "[%%%s%s%s%s%c]",
							      flag_sets[f], widths[w],
							      precisions[p], lengths[l], convs[c]);
						for (size_t v = 0; v < ARRAY_SIZE(values); v++)
							if (!same_integer(fmt, lengths[l], convs[c],
									  values[v]))
								return;
					}
}

TEST(fmt, generated_strings_chars_pointers)
{
	static const char *const strs[] = { "", "a", "hello", "hello, world!", "\xe9t\xe9" };
	static const char *const text_flags[] = { "", "-" };
	static const void *const ptrs[] = { (void *)1, (void *)0xabc, (void *)0x7fffdeadbeef,
					    (void *)UINTPTR_MAX };
	char fmt[64];
	for (size_t f = 0; f < ARRAY_SIZE(text_flags); f++)
		for (size_t w = 0; w < ARRAY_SIZE(widths); w++)
			for (size_t p = 0; p < ARRAY_SIZE(precisions); p++) {
				host_snprintf(fmt, sizeof(fmt), "[%%%s%s%ss]", text_flags[f],
					      widths[w], precisions[p]);
				for (size_t s = 0; s < ARRAY_SIZE(strs); s++)
					SAME(fmt, strs[s]);
				host_snprintf(fmt, sizeof(fmt), "[%%%s%sc]", text_flags[f],
					      widths[w]);
				SAME(fmt, 'q');
				SAME(fmt, 0);
			}
	/* %p is unsigned hex with a forced 0x: the flags glibc also honours. */
	static const char *const ptr_flags[] = { "", "-", "0", "#", "-#", "0#" };
	for (size_t f = 0; f < ARRAY_SIZE(ptr_flags); f++)
		for (size_t w = 0; w < ARRAY_SIZE(widths); w++)
			for (size_t p = 0; p < ARRAY_SIZE(precisions); p++) {
				host_snprintf(fmt, sizeof(fmt), "[%%%s%s%sp]", ptr_flags[f],
					      widths[w], precisions[p]);
				for (size_t i = 0; i < ARRAY_SIZE(ptrs); i++)
					SAME(fmt, ptrs[i]);
			}
}

/* Star arguments in every combination of sign and size. */
TEST(fmt, generated_stars)
{
	static const int stars[] = { -30, -5, -1, 0, 1, 4, 30 };
	static const char *const star_formats[] = { "[%*d]",    "[%-*d]",   "[%0*d]",  "[%.*d]",
						    "[%0*.*d]", "[%-*.*x]", "[%*.*s]", "[%*s]" };
	for (size_t f = 0; f < ARRAY_SIZE(star_formats); f++) {
		const char *fmt = star_formats[f];
		bool two = strstr(fmt, "*.*") != NULL, str = fmt[host_strlen(fmt) - 2] == 's';
		for (size_t i = 0; i < ARRAY_SIZE(stars); i++)
			for (size_t j = 0; j < ARRAY_SIZE(stars); j++) {
				if (str && two)
					SAME(fmt, stars[i], stars[j], "abcdef");
				else if (str)
					SAME(fmt, stars[i], "abcdef");
				else if (two)
					SAME(fmt, stars[i], stars[j], -1234);
				else
					SAME(fmt, stars[i], 1234 * stars[j]);
			}
	}
}
