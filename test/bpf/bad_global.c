/* Must be refused by the loader: global data is not a granted region. */
#include "prog.h"

uint64_t calls;

SEC("wakeup") uint64_t counts(struct bpf_wakeup_ctx *c)
{
	return ++calls;
}
