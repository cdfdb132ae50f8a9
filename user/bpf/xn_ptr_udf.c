/*
 * A second, different metadata format: an array of 1024 32-bit block
 * numbers, 0 meaning none; each other entry claims one data block. Two
 * envs with this and the table format share one disk in test_disk.
 */
#include <inc/disk.h>
#include <lib/base/bpfprog.h>

extern uint32_t region0[1024];
extern struct xn_extent region1[XN_UDF_MAX_EXTENTS];

SEC("udf") uint64_t xn_ptr_udf(struct bpf_udf_ctx *c)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < 1024 && n < XN_UDF_MAX_EXTENTS; i++) {
		uint32_t b = region0[i];
		if (b) {
			region1[n].x_start = b;
			region1[n].x_count = 1;
			region1[n].x_type = XN_TYPE_DATA;
			n++;
		}
	}
	return n;
}
