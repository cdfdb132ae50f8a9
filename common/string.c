/*
 * Memory and string routines (see common/string.h for the interface).
 *
 * Every Exo target is x86-64, so memcpy and memset are `rep movsq` /
 * `rep stosq` for the bulk and the byte form for the tail: on CPUs with fast
 * strings that is as quick as an unrolled SSE loop (which the kernel could
 * not use anyway), and under an emulator, which steps the byte forms one byte
 * at a time, it is eight times quicker. They rely on the direction flag being
 * clear, which the ABI guarantees at every call and the kernel's trap entry
 * restores.
 *
 * The compiler may turn a byte loop back into a call to memcpy/memset/memmove;
 * inside those very functions that would recurse forever, so the only loops
 * that could match (memmove's backward copy) hide their counter from the
 * optimiser with an empty asm.
 */
#include <common/string.h>

#define ULONG_LIMIT (~0UL)
#define LONG_LIMIT ((long)(ULONG_LIMIT >> 1))

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;
	size_t words = n / 8, rest = n % 8;
	uint64_t pattern = (uint8_t)c * 0x0101010101010101UL;
	__asm__ volatile("rep stosq" : "+D"(d), "+c"(words) : "a"(pattern) : "memory");
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(rest) : "a"(pattern) : "memory");
	return dst;
}

/* Forward copy, correct also for overlapping buffers with dst below src:
 * rep movs moves in ascending order, each word read before it is written, and
 * a word written below its source never covers bytes not yet read. */
static void copy_forward(void *dst, const void *src, size_t n)
{
	size_t words = n / 8, rest = n % 8;
	__asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(words) : : "memory");
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(rest) : : "memory");
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	copy_forward(dst, src, n);
	return dst;
}

/* An unaligned, aliasing 8-byte word, for memmove's backward copy. */
typedef uint64_t __attribute__((may_alias, aligned(1))) unaligned_u64;

/* Copies from the top down, for dst above an overlapping src. Each word is
 * loaded before it is stored, and a store only lands above the bytes still to
 * be read, so any overlap distance is safe. (A backward `std; rep movsb`
 * would leave the direction flag set if an upcall arrived mid-copy.) */
static void copy_backward(unsigned char *d, const unsigned char *s, size_t n)
{
	while (n >= 8) {
		n -= 8;
		uint64_t w = *(const unaligned_u64 *)(s + n);
		*(unaligned_u64 *)(d + n) = w;
		__asm__("" : "+r"(n)); /* not a memmove idiom: see the top */
	}
	while (n > 0) {
		n--;
		d[n] = s[n];
		__asm__("" : "+r"(n));
	}
}

void *memmove(void *dst, const void *src, size_t n)
{
	/* Unsigned wrap-around: true when dst is below src or past its end. */
	if ((uintptr_t)dst - (uintptr_t)src >= n)
		copy_forward(dst, src, n);
	else
		copy_backward(dst, src, n);
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;
	for (size_t i = 0; i < n; i++)
		if (p[i] != q[i])
			return p[i] < q[i] ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

/* Strings compare as unsigned char, as in C. */
int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; n--, a++, b++)
		if (*a != *b || !*a)
			return (unsigned char)*a - (unsigned char)*b;
	return 0;
}

/* Finding '\0' returns the terminator, as in C. */
char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}

char *strrchr(const char *s, int c)
{
	const char *last = NULL;
	for (;; s++) {
		if (*s == (char)c)
			last = s;
		if (!*s)
			return (char *)last;
	}
}

size_t strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);
	if (size > 0) {
		size_t n = MIN(len, size - 1);
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

/* The value of digit c, or 36 (too big for any base) if c is not one. */
static unsigned digit_value(int c)
{
	if (isdigit(c))
		return (unsigned)(c - '0');
	if (isalpha(c))
		return (unsigned)(tolower(c) - 'a' + 10);
	return 36;
}

/* The common part of strtoul and strtol: sign, prefix and the magnitude of the
 * number, saturated at ULONG_LIMIT with *overflow set. */
static unsigned long parse_magnitude(const char *s, char **end, int base, bool *neg, bool *overflow)
{
	const char *p = s;
	*neg = false;
	*overflow = false;
	if (end)
		*end = (char *)s;
	if (base != 0 && (base < 2 || base > 36))
		return 0;

	while (isspace(*p))
		p++;
	if (*p == '+' || *p == '-')
		*neg = *p++ == '-';
	/* "0x" is a prefix only if a hex digit follows; "0xg" parses as 0. */
	if ((base == 0 || base == 16) && p[0] == '0' && tolower(p[1]) == 'x' && isxdigit(p[2])) {
		p += 2;
		base = 16;
	} else if (base == 0) {
		base = p[0] == '0' ? 8 : 10;
	}

	unsigned long value = 0, b = (unsigned long)base;
	const char *digits = p;
	for (unsigned d; (d = digit_value(*p)) < b; p++) {
		if (value > (ULONG_LIMIT - d) / b)
			*overflow = true;
		else
			value = value * b + d;
	}
	if (p == digits)
		return 0; /* *end stays at s */
	if (end)
		*end = (char *)p;
	return *overflow ? ULONG_LIMIT : value;
}

/* As in C, a '-' negates the result modulo 2^64: "-1" is ULONG_MAX. */
unsigned long strtoul(const char *s, char **end, int base)
{
	bool neg, overflow;
	unsigned long v = parse_magnitude(s, end, base, &neg, &overflow);
	if (overflow)
		return ULONG_LIMIT;
	return neg ? 0 - v : v;
}

long strtol(const char *s, char **end, int base)
{
	bool neg, overflow;
	unsigned long v = parse_magnitude(s, end, base, &neg, &overflow);
	if (neg) {
		if (overflow || v > (unsigned long)LONG_LIMIT + 1)
			return -LONG_LIMIT - 1;
		/* v - 1 fits in a long even for LONG_MIN's magnitude. */
		return v == 0 ? 0 : -(long)(v - 1) - 1;
	}
	if (overflow || v > (unsigned long)LONG_LIMIT)
		return LONG_LIMIT;
	return (long)v;
}
