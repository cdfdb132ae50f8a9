/* A real loop (not unrolled): sums bytes of a region up to a 0 byte or the
 * count the env passed in wc_arg; wakes when the sum exceeds 100. The index
 * is checked against the region size, so the accesses are in bounds. */
#include "prog.h"

extern uint8_t region0[64];

SEC("wakeup") uint64_t sum_until_zero(struct bpf_wakeup_ctx *c)
{
	uint64_t sum = 0, n = c->wc_arg;
#pragma clang loop unroll(disable)
	for (uint64_t i = 0; i < n && i < 64; i++) {
		if (!region0[i])
			break;
		sum += region0[i];
	}
	return sum > 100 ? sum : 0;
}
