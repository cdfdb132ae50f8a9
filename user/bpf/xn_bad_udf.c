/*
 * Hostile UDFs, for test_disk: each must be refused or contained.
 */
#include <inc/disk.h>
#include <lib/base/bpfprog.h>

extern uint32_t region0[1024];
extern struct xn_extent region1[XN_UDF_MAX_EXTENTS];

/* Never ends on a block whose first word is not 12345: the budget stops it.
 * The read is volatile, or clang would see a loop with no effect and drop it. */
SEC("loop") uint64_t xn_loop_udf(struct bpf_udf_ctx *c)
{
	volatile uint32_t *first = &region0[0];
	uint64_t n = 0;
	while (*first != 12345)
		n++;
	return n & 1;
}

/* Lies: claims the table's extents shifted by one block. */
SEC("shift") uint64_t xn_shift_udf(struct bpf_udf_ctx *c)
{
	uint32_t n = region0[0];
	if (n > 100)
		n = 100;
	for (uint32_t i = 0; i < n; i++) {
		region1[i].x_start = region0[4 + 4 * i] + (region0[0] > 1 ? 1 : 0);
		region1[i].x_count = region0[6 + 4 * i];
		region1[i].x_type = region0[7 + 4 * i];
	}
	return n;
}

/* Non-deterministic: asks the clock. The verifier refuses it (no helpers). */
SEC("clock") uint64_t xn_clock_udf(struct bpf_udf_ctx *c)
{
	region1[0].x_start = bpf_tsc() & 1023;
	region1[0].x_count = 1;
	return 1;
}

/* Claims the block after itself even when zero: refused as a root. */
SEC("greedy") uint64_t xn_greedy_udf(struct bpf_udf_ctx *c)
{
	region1[0].x_start = c->uc_block + 1;
	region1[0].x_count = 1;
	region1[0].x_type = XN_TYPE_DATA;
	return 1;
}
