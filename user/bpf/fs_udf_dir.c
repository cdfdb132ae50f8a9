/*
 * The library file system's UDF for its "dir" blocks (lib/fs/format.h): given
 * the block (region 0, read-only) it writes the extents the block claims
 * into region 1 (struct fs_claim[FS_MAX_CLAIMS], one page) and returns how
 * many, or -1 for a malformed block. The body is lib/fs/udf.h, the same C the
 * host XN model and fsck run natively. Registered with XN for FS_T_DIR.
 */
#include <lib/base/bpfprog.h>
#include <lib/fs/udf.h>

struct fs_block_bytes {
	uint8_t b[FS_BLOCK];
};
extern struct fs_block_bytes region0;
extern struct fs_claim region1[FS_MAX_CLAIMS];

SEC("udf") uint64_t fs_udf_dir_main(void *ctx)
{
	return (uint64_t)fs_udf_dir(region0.b, region1);
}
