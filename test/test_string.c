/*
 * Host tests for common/string.c.
 *
 * Memory routines are checked against a byte-at-a-time model over every small
 * size and alignment, with guard bytes around the destination; strtol/strtoul
 * and the ctype helpers are checked differentially against the host C library,
 * which has the same saturating overflow behaviour (only errno differs).
 */
#include "check.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>

/* The host's versions, named before rename.h takes the names over. */
static int host_memcmp(const void *a, const void *b, size_t n)
{
	return memcmp(a, b, n);
}

static void *host_memcpy(void *dst, const void *src, size_t n)
{
	return memcpy(dst, src, n);
}

static void *host_memmove(void *dst, const void *src, size_t n)
{
	return memmove(dst, src, n);
}

static void *host_memset(void *dst, int c, size_t n)
{
	return memset(dst, c, n);
}

static int host_strcmp(const char *a, const char *b)
{
	return strcmp(a, b);
}

static int host_strncmp(const char *a, const char *b, size_t n)
{
	return strncmp(a, b, n);
}

static long host_strtol(const char *s, char **end, int base)
{
	return strtol(s, end, base);
}

static unsigned long host_strtoul(const char *s, char **end, int base)
{
	return strtoul(s, end, base);
}

static int host_ctype(int which, int c)
{
	switch (which) {
	case 0: return isdigit(c) != 0;
	case 1: return isupper(c) != 0;
	case 2: return islower(c) != 0;
	case 3: return isalpha(c) != 0;
	case 4: return isalnum(c) != 0;
	case 5: return isxdigit(c) != 0;
	case 6: return isspace(c) != 0;
	case 7: return tolower(c);
	default: return toupper(c);
	}
}

#include "rename.h"
#include <common/string.h>

static int exo_ctype(int which, int c)
{
	switch (which) {
	case 0: return isdigit(c);
	case 1: return isupper(c);
	case 2: return islower(c);
	case 3: return isalpha(c);
	case 4: return isalnum(c);
	case 5: return isxdigit(c);
	case 6: return isspace(c);
	case 7: return tolower(c);
	default: return toupper(c);
	}
}

#define BUF 320   /* covers sizes past rep movsb's small-copy paths */
#define GUARD 16  /* untouchable bytes either side of a destination */

/* A recognisable pattern, different for each buffer so copies show. */
static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 31 + i * 7 + (i >> 3));
}

TEST(string, memset_sizes_and_alignments)
{
	static unsigned char buf[GUARD + 8 + BUF + GUARD], want[sizeof(buf)];
	for (size_t off = 0; off < 8; off++) {
		for (size_t n = 0; n <= BUF; n++) {
			fill(buf, sizeof(buf), (unsigned)n);
			fill(want, sizeof(want), (unsigned)n);
			for (size_t i = 0; i < n; i++)
				want[GUARD + off + i] = 0xa5;
			/* Only the low byte of c counts. */
			void *r = exo_memset(buf + GUARD + off, 0x7a5, n);
			if (!CHECK(r == buf + GUARD + off) ||
			    !CHECK_MSG(exo_memcmp(buf, want, sizeof(buf)) == 0 &&
					       host_memcmp(buf, want, sizeof(buf)) == 0,
				       "memset off %zu n %zu wrong or outside its range", off, n))
				return;
		}
	}
}

TEST(string, memcpy_sizes_and_alignments)
{
	static unsigned char src[8 + BUF], dst[GUARD + 8 + BUF + GUARD], want[sizeof(dst)];
	fill(src, sizeof(src), 1);
	for (size_t so = 0; so < 8; so++) {
		for (size_t d_off = 0; d_off < 8; d_off++) {
			for (size_t n = 0; n <= BUF; n += (n < 40 ? 1 : 13)) {
				fill(dst, sizeof(dst), 2);
				fill(want, sizeof(want), 2);
				for (size_t i = 0; i < n; i++)
					want[GUARD + d_off + i] = src[so + i];
				void *r = exo_memcpy(dst + GUARD + d_off, src + so, n);
				if (!CHECK(r == dst + GUARD + d_off) ||
				    !CHECK_MSG(host_memcmp(dst, want, sizeof(dst)) == 0,
					       "memcpy src+%zu dst+%zu n %zu", so, d_off, n))
					return;
			}
		}
	}
}

/* memmove within one buffer, every overlap in both directions, against a
 * copy through a temporary. */
TEST(string, memmove_overlap_both_directions)
{
	static unsigned char buf[GUARD + 2 * BUF + GUARD], want[sizeof(buf)], tmp[BUF];
	size_t base = GUARD + BUF / 2;
	for (size_t n = 0; n <= 100; n += (n < 20 ? 1 : 7)) {
		for (int dist = -40; dist <= 40; dist++) {
			fill(buf, sizeof(buf), 3);
			fill(want, sizeof(want), 3);
			unsigned char *src = buf + base, *dst = buf + base + dist;
			host_memcpy(tmp, want + base, n);
			host_memcpy(want + base + dist, tmp, n);
			void *r = exo_memmove(dst, src, n);
			if (!CHECK(r == dst) || !CHECK_MSG(host_memcmp(buf, want, sizeof(buf)) == 0,
							   "memmove n %zu dst-src %d", n, dist))
				return;
		}
	}
}

TEST(string, memmove_large_overlaps)
{
	static unsigned char buf[4096 + 64], want[sizeof(buf)];
	const size_t n = 4096;
	for (size_t dist = 1; dist < 64; dist += 3) {
		/* Up: dst above src. */
		fill(buf, sizeof(buf), 4);
		host_memcpy(want, buf, sizeof(buf));
		host_memmove(want + dist, want, n);
		exo_memmove(buf + dist, buf, n);
		CHECK_MSG(host_memcmp(buf, want, sizeof(buf)) == 0, "memmove up by %zu", dist);
		/* Down: dst below src. */
		fill(buf, sizeof(buf), 5);
		host_memcpy(want, buf, sizeof(buf));
		host_memmove(want, want + dist, n);
		exo_memmove(buf, buf + dist, n);
		CHECK_MSG(host_memcmp(buf, want, sizeof(buf)) == 0, "memmove down by %zu", dist);
	}
}

TEST(string, memmove_same_and_zero)
{
	unsigned char buf[32];
	fill(buf, sizeof(buf), 6);
	unsigned char want[32];
	host_memcpy(want, buf, sizeof(buf));
	CHECK(exo_memmove(buf, buf, sizeof(buf)) == buf);
	CHECK(host_memcmp(buf, want, sizeof(buf)) == 0);
	CHECK(exo_memmove(buf + 1, buf, 0) == buf + 1);
	CHECK(exo_memmove(buf, buf + 1, 0) == buf);
	CHECK(exo_memcpy(buf, want + 3, 0) == buf);
	CHECK(host_memcmp(buf, want, sizeof(buf)) == 0);
}

TEST(string, memcmp)
{
	unsigned char a[64], b[64];
	fill(a, sizeof(a), 7);
	host_memcpy(b, a, sizeof(a));
	CHECK(exo_memcmp(a, b, sizeof(a)) == 0);
	CHECK(exo_memcmp(a, b, 0) == 0);
	for (size_t i = 0; i < sizeof(a); i++) {
		b[i] ^= 0x80;
		/* Bytes compare unsigned: 0x80 and up sort after 0x7f. */
		int want = a[i] < b[i] ? -1 : 1;
		int got = exo_memcmp(a, b, sizeof(a));
		CHECK_MSG((got < 0 ? -1 : got > 0) == want, "byte %zu: got %d want sign %d", i, got,
			  want);
		CHECK(exo_memcmp(a, b, i) == 0);
		b[i] ^= 0x80;
	}
	CHECK(exo_memcmp("\x01", "\xff", 1) < 0);
	CHECK(exo_memcmp("\xff", "\x01", 1) > 0);
}

TEST(string, strlen_strnlen)
{
	CHECK_EQ(exo_strlen(""), 0);
	CHECK_EQ(exo_strlen("a"), 1);
	CHECK_EQ(exo_strlen("hello, world"), 12);
	CHECK_EQ(exo_strlen("\xff\x80"), 2);
	CHECK_EQ(exo_strnlen("hello", 0), 0);
	CHECK_EQ(exo_strnlen("hello", 3), 3);
	CHECK_EQ(exo_strnlen("hello", 5), 5);
	CHECK_EQ(exo_strnlen("hello", 100), 5);
	CHECK_EQ(exo_strnlen("hello", SIZE_MAX), 5);
	/* strnlen must not read past max: no terminator within reach. */
	char unterminated[4] = { 'a', 'b', 'c', 'd' };
	CHECK_EQ(exo_strnlen(unterminated, sizeof(unterminated)), 4);
}

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

TEST(string, strcmp_strncmp)
{
	static const char *const words[] = { "",  "a",    "b",    "ab",   "abc",   "abd",
					     "B", "\x7f", "\x80", "\xff", "a\xff", "abcdef" };
	for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(words); j++) {
			const char *a = words[i], *b = words[j];
			CHECK_MSG(sign(exo_strcmp(a, b)) == sign(host_strcmp(a, b)),
				  "strcmp(\"%s\", \"%s\")", a, b);
			for (size_t n = 0; n < 8; n++)
				CHECK_MSG(sign(exo_strncmp(a, b, n)) == sign(host_strncmp(a, b, n)),
					  "strncmp(\"%s\", \"%s\", %zu)", a, b, n);
		}
	}
	CHECK(exo_strncmp("abc", "abd", 2) == 0);
	CHECK(exo_strncmp("abc", "xyz", 0) == 0);
	CHECK(exo_strncmp("abc", "abc", SIZE_MAX) == 0);
}

TEST(string, strchr_strrchr)
{
	const char *s = "hello, world";
	CHECK(exo_strchr(s, 'o') == s + 4);
	CHECK(exo_strrchr(s, 'o') == s + 8);
	CHECK(exo_strchr(s, 'h') == s);
	CHECK(exo_strrchr(s, 'h') == s);
	CHECK(exo_strchr(s, 'z') == NULL);
	CHECK(exo_strrchr(s, 'z') == NULL);
	/* The terminator counts as part of the string. */
	CHECK(exo_strchr(s, '\0') == s + 12);
	CHECK(exo_strrchr(s, '\0') == s + 12);
	CHECK(exo_strchr("", 'a') == NULL);
	/* c is converted to char. */
	CHECK(exo_strchr(s, 'w' + 256) == s + 7);
	const char *hi = "a\xe9z";
	CHECK(exo_strchr(hi, 0xe9) == hi + 1);
	CHECK(exo_strrchr(hi, -23) == hi + 1); /* (char)0xe9 */
}

TEST(string, strlcpy)
{
	char buf[8];
	host_memset(buf, 'X', sizeof(buf));
	CHECK_EQ(exo_strlcpy(buf, "abc", sizeof(buf)), 3);
	CHECK_STREQ(buf, "abc");
	CHECK(buf[4] == 'X'); /* nothing written past the NUL */

	CHECK_EQ(exo_strlcpy(buf, "1234567", sizeof(buf)), 7); /* exact fit */
	CHECK_STREQ(buf, "1234567");

	CHECK_EQ(exo_strlcpy(buf, "123456789abc", sizeof(buf)), 12); /* truncated */
	CHECK_STREQ(buf, "1234567");

	CHECK_EQ(exo_strlcpy(buf, "hello", 1), 5);
	CHECK_STREQ(buf, "");

	host_memset(buf, 'X', sizeof(buf));
	CHECK_EQ(exo_strlcpy(buf, "hello", 0), 5); /* size 0 touches nothing */
	CHECK(buf[0] == 'X');

	CHECK_EQ(exo_strlcpy(buf, "", sizeof(buf)), 0);
	CHECK_STREQ(buf, "");
}

/* Inputs for the differential strtol/strtoul test; some only parse in some
 * bases, and the overflowing ones check the saturation. */
static const char *const numbers[] = {
	"0",
	"1",
	"123",
	"-123",
	"+42",
	"  \t\n\v\f\r 17",
	"0x1f",
	"0X1F",
	"0x",
	"0X",
	"0xg",
	"-0x10",
	"+0x10",
	"0x-1",
	"077",
	"-077",
	"08",
	"09",
	"0",
	"00",
	"00x1",
	"z",
	"Z",
	"zz",
	"Zz",
	"1010",
	"12abc",
	"abc",
	"1_000",
	"-",
	"+",
	"+-1",
	"-+1",
	"- 1",
	"",
	" ",
	"  ",
	"-0",
	"+0",
	"7fffffff",
	"ffffffff",
	"9223372036854775806",
	"9223372036854775807",
	"9223372036854775808",
	"-9223372036854775807",
	"-9223372036854775808",
	"-9223372036854775809",
	"18446744073709551615",
	"18446744073709551616",
	"-18446744073709551615",
	"-18446744073709551616",
	"99999999999999999999999999999",
	"-99999999999999999999999999",
	"0x7fffffffffffffff",
	"0x8000000000000000",
	"0xffffffffffffffff",
	"0x10000000000000000",
	"-0x8000000000000000",
	"-0x8000000000000001",
	"1777777777777777777777",
	"2000000000000000000000",
	"1111111111111111111111111111111111111111111111111111111111111111",
	"10000000000000000000000000000000000000000000000000000000000000000",
	"3w5e11264sgsf",
	"3w5e11264sgsg",
	"\3771",
	"1\xff",
	"1 2",
	"12\n",
};

static const int bases[] = { 0, 2, 3, 8, 10, 16, 35, 36 };

TEST(string, strtol_strtoul_match_libc)
{
	for (size_t i = 0; i < ARRAY_SIZE(numbers); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(bases); j++) {
			const char *s = numbers[i];
			int b = bases[j];
			char *e1, *e2;
			long l1 = exo_strtol(s, &e1, b), l2 = host_strtol(s, &e2, b);
			CHECK_MSG(l1 == l2 && e1 == e2,
				  "strtol(\"%s\", %d): got %ld end +%td, want %ld end +%td", s, b,
				  l1, e1 - s, l2, e2 - s);
			unsigned long u1 = exo_strtoul(s, &e1, b), u2 = host_strtoul(s, &e2, b);
			CHECK_MSG(u1 == u2 && e1 == e2,
				  "strtoul(\"%s\", %d): got %lu end +%td, want %lu end +%td", s, b,
				  u1, e1 - s, u2, e2 - s);
		}
	}
}

TEST(string, strtol_documented_behaviour)
{
	char *end;
	/* Overflow saturates and consumes every digit. */
	const char *big = "123456789012345678901234567890xyz";
	CHECK_EQ(exo_strtoul(big, &end, 10), ULONG_MAX);
	CHECK(end == big + 30);
	CHECK_EQ(exo_strtol(big, &end, 10), LONG_MAX);
	CHECK_EQ(exo_strtol("-123456789012345678901234567890", NULL, 10), LONG_MIN);
	/* strtoul negates modulo 2^64, as in C. */
	CHECK_EQ(exo_strtoul("-1", NULL, 10), ULONG_MAX);
	CHECK_EQ(exo_strtoul("-18446744073709551615", NULL, 10), 1);
	/* No digits: 0 and end at the very start, before any whitespace. */
	const char *none = "  -x";
	CHECK_EQ(exo_strtol(none, &end, 0), 0);
	CHECK(end == none);
	/* "0x" without a hex digit is the number 0 followed by "x". */
	const char *ox = "0xz";
	CHECK_EQ(exo_strtoul(ox, &end, 16), 0);
	CHECK(end == ox + 1);
	/* Bad bases convert nothing. */
	const char *ten = "10";
	for (int b = -2; b <= 40; b++) {
		if (b == 0 || (b >= 2 && b <= 36))
			continue;
		end = NULL;
		CHECK_EQ(exo_strtol(ten, &end, b), 0);
		CHECK(end == ten);
		CHECK_EQ(exo_strtoul(ten, &end, b), 0);
		CHECK(end == ten);
	}
	/* end may be NULL. */
	CHECK_EQ(exo_strtol("0x20", NULL, 0), 32);
	CHECK_EQ(exo_strtol("-020", NULL, 0), -16);
	CHECK_EQ(exo_strtoul("Z", NULL, 36), 35);
}

TEST(string, ctype_matches_libc_c_locale)
{
	static const char *const names[] = { "isdigit",  "isupper", "islower", "isalpha", "isalnum",
					     "isxdigit", "isspace", "tolower", "toupper" };
	for (int which = 0; which < 9; which++)
		for (int c = -1; c < 256; c++) /* EOF and every unsigned char */
			CHECK_MSG(exo_ctype(which, c) == host_ctype(which, c),
				  "%s(%d): got %d want %d", names[which], c, exo_ctype(which, c),
				  host_ctype(which, c));
}
