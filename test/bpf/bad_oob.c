/* Must be rejected: the C declaration is larger than the 64-byte region the
 * env grants, and the program reads past the grant. */
#include "prog.h"

extern uint64_t region0[16];

SEC("wakeup") uint64_t past_end(struct bpf_wakeup_ctx *c)
{
	return region0[8];
}
