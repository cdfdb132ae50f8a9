/*
 * The file system's UDFs: given one metadata block, list the extents it
 * claims and their XN types (format.h). This is the only description of the
 * format the kernel's XN gets, so it must be exact: XN runs a type's UDF
 * before and after every metadata update and accepts the update only if the
 * claimed set changed by exactly the extent allocated or freed.
 *
 * Written in the restricted C that `clang -target bpf` compiles, and
 * compiled from this one header both ways: natively (the host XN model
 * xnsim.c, fsck.c) and as downloaded code (user/bpf/fs_udf_*.c), so the
 * checks the host tests exercise are the ones the kernel will run. Hence:
 * everything inline, every loop bounded by a constant, no globals, no calls.
 *
 * An all-zero block (tag 0) claims nothing: XN hands out new metadata
 * blocks zeroed, and the file system then fills them in by an update.
 *
 * Hostile input: the block is whatever is on disk. A block that is not
 * well-formed (wrong tag, a record running off the block, too many claims)
 * returns -1, which XN treats as "refuse the update" and fsck as damage.
 * A UDF only reports claims; ranges against the disk size and overlaps are
 * XN's to check.
 */
#ifndef EXO_LIB_FS_UDF_H
#define EXO_LIB_FS_UDF_H

#include <lib/fs/format.h>

#define UDF_INLINE static inline __attribute__((always_inline))

UDF_INLINE uint32_t udf_ld32(const uint8_t *b, uint32_t off)
{
	return *(const uint32_t *)(b + off);
}

UDF_INLINE uint16_t udf_ld16(const uint8_t *b, uint32_t off)
{
	return *(const uint16_t *)(b + off);
}

UDF_INLINE uint8_t udf_ld8(const uint8_t *b, uint32_t off)
{
	return b[off];
}

/* Appends one claim unless len or start is 0 (block 0 is never the file
 * system's: 0 is "no pointer"); returns the new count, or -1 if full. */
UDF_INLINE int64_t udf_put(struct fs_claim *out, int64_t n, uint32_t start, uint32_t len,
			   uint32_t type)
{
	if (len == 0 || start == 0)
		return n;
	if (n < 0 || n >= FS_MAX_CLAIMS)
		return -1;
	out[n].start = start;
	out[n].len = len;
	out[n].type = type;
	return n + 1;
}

/* The claims of an inode at byte `at` of the block: its inline extents (dir
 * blocks for a directory, data otherwise) and its first extent map. */
UDF_INLINE int64_t udf_inode(const uint8_t *b, uint32_t at, struct fs_claim *out, int64_t n)
{
	uint32_t mode = udf_ld32(b, at + offsetof(struct fs_inode, mode));
	uint32_t next = udf_ld32(b, at + offsetof(struct fs_inode, next));
	uint32_t type = (mode & S_IFMT) == S_IFDIR ? FS_T_DIR : FS_T_DATA;
	if (next > FS_INLINE_EXTENTS)
		return -1;
	for (uint32_t i = 0; i < FS_INLINE_EXTENTS; i++) {
		if (i >= next)
			break;
		uint32_t e = at + offsetof(struct fs_inode, ext) + i * 16;
		n = udf_put(out, n, udf_ld32(b, e + 8), udf_ld32(b, e + 12), type);
	}
	return udf_put(out, n, udf_ld32(b, at + offsetof(struct fs_inode, extmap)), 1,
		       FS_T_EXTMAP);
}

UDF_INLINE int64_t fs_udf_super(const uint8_t *b, struct fs_claim *out)
{
	if (udf_ld32(b, 0) == 0)
		return 0;
	if (udf_ld32(b, 0) != FS_TAG_SUPER)
		return -1;
	int64_t n = udf_put(out, 0, udf_ld32(b, offsetof(struct fs_super, journal_start)),
			    udf_ld32(b, offsetof(struct fs_super, journal_len)), FS_T_DATA);
	return udf_inode(b, offsetof(struct fs_super, root), out, n);
}

UDF_INLINE int64_t fs_udf_dir(const uint8_t *b, struct fs_claim *out)
{
	if (udf_ld32(b, 0) == 0)
		return 0;
	if (udf_ld32(b, 0) != FS_TAG_DIR || udf_ld16(b, 4) >= FS_DIR_MAX_DEPTH)
		return -1;
	int64_t n = 0;
	for (uint32_t i = 0; i < FS_DIR_FANOUT; i++)
		n = udf_put(out, n, udf_ld32(b, offsetof(struct fs_dirblk, child) + 4 * i), 1,
			    FS_T_DIR);
	uint32_t off = FS_DIR_RECS;
	for (uint32_t i = 0; i < FS_BLOCK / FS_REC_MIN; i++) {
		if (off >= FS_BLOCK)
			break;
		if (off > FS_BLOCK - FS_REC_MIN)
			return -1;
		uint32_t reclen = udf_ld16(b, off);
		uint32_t kind = udf_ld8(b, off + 2);
		uint32_t namelen = udf_ld8(b, off + 3);
		if (reclen < FS_REC_MIN || (reclen & 7) || reclen > FS_BLOCK - off)
			return -1;
		if (kind == FS_REC_INODE) {
			if (reclen < FS_INODE_REC(namelen))
				return -1;
			n = udf_inode(b, off + 8, out, n);
		} else if (kind == FS_REC_REF) {
			if (reclen < FS_REF_REC(namelen))
				return -1;
		} else if (kind != FS_REC_FREE) {
			return -1;
		}
		if (n < 0)
			return -1;
		off += reclen;
	}
	return n;
}

UDF_INLINE int64_t fs_udf_extmap(const uint8_t *b, struct fs_claim *out)
{
	uint32_t count = udf_ld32(b, 4);
	if (udf_ld32(b, 0) == 0)
		return 0;
	if (udf_ld32(b, 0) != FS_TAG_EXTMAP || count > FS_EXTMAP_N)
		return -1;
	int64_t n = 0;
	for (uint32_t i = 0; i < FS_EXTMAP_N; i++) {
		if (i >= count)
			break;
		uint32_t e = offsetof(struct fs_extmap, ext) + i * 16;
		n = udf_put(out, n, udf_ld32(b, e + 8), udf_ld32(b, e + 12), FS_T_DATA);
	}
	return udf_put(out, n, udf_ld32(b, 8), 1, FS_T_EXTMAP);
}

/* The UDF of an XN type; -1 for a type that is not metadata. */
UDF_INLINE int64_t fs_udf(uint32_t type, const uint8_t *b, struct fs_claim *out)
{
	switch (type) {
	case FS_T_SUPER: return fs_udf_super(b, out);
	case FS_T_DIR: return fs_udf_dir(b, out);
	case FS_T_EXTMAP: return fs_udf_extmap(b, out);
	default: return -1;
	}
}

#endif
