/*
 * kvd's little bignum (bignum.c): the exact arithmetic behind number.c's
 * float formatting and numparse.c's float parsing. Internal to those two.
 */
#ifndef EXO_USER_SRV_KVD_BIGNUM_H
#define EXO_USER_SRV_KVD_BIGNUM_H

#include <user/srv/kvd/engine.h>

/* Little-endian 32-bit words. */
#define BIG_WORDS 720 /* 23040 bits: 10^5800 times a 800-digit mantissa */
#define DIGITS_MAX 800
#define EXP_MAX 5000

struct big {
	int n; /* words in use; no leading zero words */
	uint32_t w[BIG_WORDS];
};

/* Scratch numbers for one conversion at a time (the engine is single-threaded). */
extern struct big g_a, g_b, g_c;

void big_set(struct big *b, uint64_t v);
void big_trim(struct big *b);
bool big_muladd(struct big *b, uint32_t m, uint32_t add);
uint32_t big_divsmall(struct big *b, uint32_t d);
int big_bitlen(const struct big *b);
bool big_bit(const struct big *b, int i);
bool big_any_below(const struct big *b, int i);
bool big_shl(struct big *b, int s);
void big_shr(struct big *b, int s);
int big_cmp(const struct big *a, const struct big *b);
void big_sub(struct big *a, const struct big *b);
bool big_mulpow10(struct big *b, int e);

#endif
