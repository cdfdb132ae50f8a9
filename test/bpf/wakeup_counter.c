/* The canonical wakeup predicate: wake when the counter in my shared page
 * moved past what I saw last, or when the deadline tick has passed. */
#include "prog.h"

struct shared {
	uint64_t counter;
	uint64_t seen;
	uint64_t deadline; /* in ticks; 0: none */
};
extern struct shared region0;

SEC("wakeup") uint64_t counter_or_deadline(struct bpf_wakeup_ctx *c)
{
	if (region0.counter != region0.seen)
		return 1;
	return region0.deadline && c->wc_ticks >= region0.deadline;
}
