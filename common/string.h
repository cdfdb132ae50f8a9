/*
 * Memory and string routines for the kernel and the library OS: the subset of
 * <string.h> and <stdlib.h> Exo uses, plus the <ctype.h> tests the parsers need.
 *
 * Freestanding: the compiler may itself emit calls to memcpy, memmove, memset
 * and memcmp (struct copies, zeroing), so those four keep their C names and C
 * semantics. Host unit tests compile common/string.c with test/rename.h, which
 * renames every function here to exo_<name> so it can sit beside the host libc.
 *
 * strtoul/strtol follow C, except that there is no errno: a value out of range
 * saturates (ULONG_MAX, LONG_MAX or LONG_MIN) and *end still points past every
 * digit, so callers detect overflow by comparing against the limit.
 */
#ifndef EXO_LIB_STRING_H
#define EXO_LIB_STRING_H

#include <inc/types.h>

void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
/* Copy src into dst[size], always NUL-terminated when size > 0; returns
 * strlen(src), so truncation happened iff the result is >= size. */
size_t strlcpy(char *dst, const char *src, size_t size);

/* Base 0 picks 16 for "0x"/"0X", 8 for a leading "0", else 10. Leading
 * whitespace and one sign are accepted; with no digits, returns 0 and sets
 * *end = s. A base outside 0 and 2..36 converts nothing. */
unsigned long strtoul(const char *s, char **end, int base);
long strtol(const char *s, char **end, int base);

/* ASCII only: Exo has no locales. */
static inline bool isdigit(int c)
{
	return c >= '0' && c <= '9';
}

static inline bool isupper(int c)
{
	return c >= 'A' && c <= 'Z';
}

static inline bool islower(int c)
{
	return c >= 'a' && c <= 'z';
}

static inline bool isalpha(int c)
{
	return isupper(c) || islower(c);
}

static inline bool isalnum(int c)
{
	return isalpha(c) || isdigit(c);
}

static inline bool isxdigit(int c)
{
	return isdigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static inline bool isspace(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static inline int tolower(int c)
{
	return isupper(c) ? c - 'A' + 'a' : c;
}

static inline int toupper(int c)
{
	return islower(c) ? c - 'a' + 'A' : c;
}

#endif
