/*
 * xorshift64 (Marsaglia, 2003): a seeded, repeatable sequence for tests,
 * benchmarks and hostile programs. Fast and small; not for secrets.
 */
#ifndef EXO_COMMON_XORSHIFT_H
#define EXO_COMMON_XORSHIFT_H

#include <inc/types.h>

/* The next value; *state must not start at 0 (it would stay there). */
static inline uint64_t xorshift64(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

#endif
