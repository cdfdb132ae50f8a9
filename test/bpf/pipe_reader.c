/* A pipe reader sleeping until its ring has data (or the writer closed). */
#include "prog.h"

struct pipe {
	uint32_t head, tail; /* bytes written / read, mod 2^32 */
	uint32_t closed;
	uint8_t data[52];
};
extern struct pipe region0;

SEC("wakeup") uint64_t pipe_readable(struct bpf_wakeup_ctx *c)
{
	return region0.head != region0.tail || region0.closed;
}
