/*
 * kvd's UDF for the root block of its log on XN (user/srv/kvd/xnlog.h):
 * region 0 is the block, region 1 the extents it claims (both slots' data
 * extents); returns how many, or -1 for a block that is not a root.
 */
#include <lib/base/bpfprog.h>
#include <user/srv/kvd/xnlog.h>

extern struct xnlog_root region0;
extern struct xn_extent region1[XN_UDF_MAX_EXTENTS];

SEC("udf") uint64_t kvd_aof_udf(struct bpf_udf_ctx *c)
{
	return (uint64_t)xnlog_udf(&region0, region1);
}
