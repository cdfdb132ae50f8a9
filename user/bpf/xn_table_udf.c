/*
 * A metadata type for XN: a "table" block - a count, then up to 255
 * extents in XN's own layout (struct xn_extent). The UDF claims exactly
 * the first `count` entries. Used by diskstorm and test_disk.
 */
#include <inc/disk.h>
#include <lib/base/bpfprog.h>

struct table {
	uint32_t count;
	uint32_t pad[3];
	struct xn_extent ent[255];
};
extern struct table region0;
extern struct xn_extent region1[XN_UDF_MAX_EXTENTS];

SEC("udf") uint64_t xn_table_udf(struct bpf_udf_ctx *c)
{
	uint32_t n = region0.count;
	if (n > 255)
		n = 255;
	for (uint32_t i = 0; i < n; i++) {
		region1[i].x_start = region0.ent[i].x_start;
		region1[i].x_count = region0.ent[i].x_count;
		region1[i].x_type = region0.ent[i].x_type;
	}
	return n;
}
