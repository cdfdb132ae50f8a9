/*
 * Inside kvd's log on XN (exo_log_xn.c, the hooks, recovery and set-up;
 * exo_log_xn_io.c, the mechanics): the state they share and the calls the
 * hooks make. Not an interface for anything else.
 *
 * A struct writer is one log being written (the live one, or a
 * compaction's new one): its slot in the root, its end, and two windows of
 * WIN_PAGES pages. Records go into the current one, which mirrors the
 * log's block at the end and those after it (zeros past the end); writing
 * it out starts the writes and moves on to the other, whose pages wait
 * for the next write-out to be reused. Calls return 0 or -E_*.
 */
#ifndef EXO_USER_SRV_KVD_EXO_LOG_XN_H
#define EXO_USER_SRV_KVD_EXO_LOG_XN_H

#include <user/srv/kvd/xnlog.h>

#define BLK DISK_BLOCK_SIZE
#define WIN_PAGES 32 /* blocks written or read in one batch: DISK_REQS_PER_ENV */
#define HDR ((uint64_t)sizeof(struct xnlog_rec))
#define SLOT_OFF(s) ((uint32_t)(offsetof(struct xnlog_root, r_slot) + (s) * sizeof(struct xnlog_slot)))
#define EXT_OFF(s, i) (SLOT_OFF(s) + (uint32_t)(offsetof(struct xnlog_slot, s_ext) + (i) * 8))
#define COUNT_OFF(s) (SLOT_OFF(s) + (uint32_t)offsetof(struct xnlog_slot, s_count))

struct writer {
	int slot;
	uint64_t tail;      /* bytes of records in the log */
	uint64_t seq;       /* the last record's sequence number */
	uint64_t blocks;    /* blocks its extents hold */
	uint8_t *buf[2];    /* two windows of WIN_PAGES pages */
	int cur;            /* buf[cur] holds log blocks win_first... */
	uint64_t win_first; /* the block holding tail */
	long ids[WIN_PAGES]; /* the last batch's writes, from buf[1 - cur] */
	uint32_t nids, npages;
};

extern struct xnlog_root xl_root; /* our copy of the root block */
extern struct xnlog_root xl_next; /* a change to it being made */
extern uint64_t xl_root_blk, xl_nblocks;
extern uint8_t *xl_free_bits;     /* XN's map of free blocks, (xl_nblocks + 7) / 8 bytes */
extern bool xl_unsynced;          /* blocks written since the last disk_flush_data */

void xl_crc_init(void);
/* A record's CRC-32C: its header with rec_crc 0, then rec_len payload bytes. */
uint32_t xl_rec_crc(const struct xnlog_rec *h, const void *payload);
/* Make xl_next the root by one xn_update of op (ext: what it claims or gives
 * back) writing nw byte ranges of it (offsets, lengths). */
int xl_root_update(uint32_t op, struct xn_extent ext, const uint32_t *off, const uint32_t *len,
		   uint32_t nw);
/* The same for r_active, r_gen and r_next_log. */
int xl_root_set_head(void);
/* Give back slot s's extents, newest first, and empty it. */
int xl_slot_free(int s);
/* The disk block holding block b of slot s's log; 0 past its end. */
uint64_t xl_log_block(int s, uint64_t b);
/* n (<= WIN_PAGES) blocks of slot's log from block first, to or from p. */
int xl_blocks_io(int op, int slot, uint64_t first, uint8_t *p, uint64_t n);
/* Append buf as records, growing the log first if it must (so a want of
 * space fails before anything is written); written out as the window fills. */
int xl_put_records(struct writer *w, const uint8_t *buf, size_t n);
/* Start writing the window's blocks up to the tail (after waiting for the
 * last batch); xl_wait waits for them. */
int xl_win_out(struct writer *w);
int xl_wait(struct writer *w);
/* Set the window over w->tail, reading the tail's block in. */
int xl_win_load(struct writer *w);

#endif
