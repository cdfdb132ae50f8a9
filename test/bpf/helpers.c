/* Every helper: copy a stack buffer into region 2, read back through
 * region_read_u64 (region 0), and mix in the time. */
#include "prog.h"

SEC("wakeup") uint64_t use_helpers(struct bpf_wakeup_ctx *c)
{
	uint64_t buf[2] = { c->wc_arg, 0x1122334455667788ull };
	int64_t w = bpf_region_write(2, 0, buf, 8);
	uint64_t v = bpf_region_read_u64(0, 8);
	uint64_t t = bpf_tsc();
	return (w == 0 ? v : 1) + (t == c->wc_tsc);
}
