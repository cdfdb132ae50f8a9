#ifndef EXO_KERN_ENTROPY_H
#define EXO_KERN_ENTROPY_H

#include <inc/types.h>

/* Find the CPU's random-number instructions and seed the fallback pool
 * (TSC jitter and the clock); boot, once. Returns ENTROPY_SRC_* (inc/kinfo.h). */
unsigned entropy_init(int64_t clock);
/* n random bytes into buf: the CPU's RDSEED or RDRAND when it has them,
 * else the pool's generator. Never fails. */
void entropy_fill(void *buf, size_t n);

#endif
