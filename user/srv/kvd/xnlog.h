/*
 * The on-disk format of kvd's append-only log directly on XN blocks
 * (exo_log_xn.c), shared with its UDF (user/bpf/kvd_aof_udf.c), which is
 * compiled from this header for the BPF target: hence only fixed-size
 * types, no libc, every loop bounded by a constant.
 *
 * One XN root, "kvd-aof", of kvd's own metadata type: a single root block
 * (struct xnlog_root) with two slots, each a log: its id and the data
 * extents it fills in order. `active` names the live one; the other is
 * empty, or a compaction's new log being written, or an old log whose
 * extents are still being given back. The UDF claims the extents of both
 * slots, so a compaction's switch (active = other) changes no claim and is
 * one XN_OP_NONE update: one block written by XN, all or nothing.
 *
 * A log is a stream of records, each a struct xnlog_rec header followed by
 * rec_len payload bytes (the engine's RESP), packed back to back across
 * block and extent boundaries. A record is valid when its log id is the
 * slot's, its sequence number is one more than the previous record's (1
 * for the first), its boot generation is no older than the previous
 * record's and no newer than the root's, its length is 1..XNLOG_REC_MAX
 * and its CRC-32C (over the header with rec_crc zero, then the payload)
 * matches. Recovery reads records until the first that is not valid: that
 * is the end of the log, found without a metadata write per append. The
 * generation is bumped (durably) at every start, so records a crash left
 * beyond the end of the recovered log (older generation) are never taken
 * for the continuation of the log that overwrites them.
 */
#ifndef EXO_USER_SRV_KVD_XNLOG_H
#define EXO_USER_SRV_KVD_XNLOG_H

#include <inc/disk.h>

#define XNLOG_ROOT_NAME "kvd-aof"
#define XNLOG_TAG 0x314c564bu /* "KVL1": a root block in use */
#define XNLOG_EXTENTS 127     /* per slot: 2 * 127 claims fit XN_UDF_MAX_EXTENTS */
#define XNLOG_REC_MAX 65536   /* payload bytes per record: bounds recovery's buffer */

struct xnlog_ext {
	uint32_t e_start; /* first block */
	uint32_t e_len;   /* blocks */
};

struct xnlog_slot {
	uint32_t s_log;   /* the log's id (root's r_next_log when it began); 0: empty */
	uint32_t s_count; /* extents in use */
	struct xnlog_ext s_ext[XNLOG_EXTENTS];
};

struct xnlog_root {
	uint32_t r_tag;      /* XNLOG_TAG; 0 in a block XN just handed out */
	uint32_t r_active;   /* 0 or 1: the live slot */
	uint32_t r_gen;      /* boot generation: bumped at every start */
	uint32_t r_next_log; /* the id the next log gets */
	struct xnlog_slot r_slot[2];
};
_Static_assert(sizeof(struct xnlog_root) <= DISK_BLOCK_SIZE, "the root is one block");

struct xnlog_rec {
	uint32_t rec_len; /* payload bytes */
	uint32_t rec_crc; /* CRC-32C of the header (this field 0) and the payload */
	uint32_t rec_log; /* the slot's s_log */
	uint32_t rec_gen; /* the root's r_gen when written */
	uint64_t rec_seq; /* 1, 2, 3, ... within a log */
};
_Static_assert(sizeof(struct xnlog_rec) == 24, "no padding");

/* The UDF: the data extents a root block claims, or -1 for a block that is
 * not one (a count out of range, an empty extent). */
static inline __attribute__((always_inline)) int64_t xnlog_udf(const struct xnlog_root *r,
							       struct xn_extent *out)
{
	if (r->r_tag == 0)
		return 0;
	if (r->r_tag != XNLOG_TAG || r->r_active > 1)
		return -1;
	int64_t n = 0;
	for (uint32_t s = 0; s < 2; s++) {
		uint32_t count = r->r_slot[s].s_count;
		if (count > XNLOG_EXTENTS)
			return -1;
		for (uint32_t i = 0; i < XNLOG_EXTENTS; i++) {
			if (i >= count)
				break;
			uint32_t start = r->r_slot[s].s_ext[i].e_start;
			uint32_t len = r->r_slot[s].s_ext[i].e_len;
			if (start == 0 || len == 0)
				return -1;
			out[n].x_start = start;
			out[n].x_count = len;
			out[n].x_type = XN_TYPE_DATA;
			n++;
		}
	}
	return n;
}

#endif
