/* Must be rejected: stores the context's address where the env can read it. */
#include "prog.h"

extern uint64_t region0[8];

SEC("wakeup") uint64_t leak(struct bpf_wakeup_ctx *c)
{
	region0[0] = (uint64_t)c;
	return 0;
}
