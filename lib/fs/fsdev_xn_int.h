/*
 * fsdev_xn's state, shared by its two files (private to them): the
 * metadata copies, free map and hooks in fsdev_xn.c, the file-data cache
 * with its gathered writes and read-ahead in fsdev_xn_data.c.
 */
#ifndef EXO_LIB_FS_FSDEV_XN_INT_H
#define EXO_LIB_FS_FSDEV_XN_INT_H

#include <lib/fs/fsdev_xn.h>
#include <inc/disk.h>

#define DATA_SLOTS 128 /* cached data blocks: a map() pointer lives at least
			* DATA_SLOTS - AHEAD_MAX - DISK_IOV_MAX further maps */
#define IO_MAX 16      /* our disk_iov requests in flight, under DISK_REQS_PER_ENV */
#define AHEAD_MAX 64   /* blocks a sequential read keeps in flight ahead of it */
#define NO_BLOCK UINT64_MAX

struct meta {
	uint64_t blk; /* NO_BLOCK: empty */
	uint8_t *page;
};

enum slot_state {
	SL_EMPTY = 0, /* holds nothing (blk NO_BLOCK) */
	SL_CLEAN,     /* blk's contents, as on disk */
	SL_DIRTY,     /* blk's new contents, in the gathered run, not yet sent */
	SL_WRITING,   /* blk's new contents, being written (sl_io) */
	SL_READING,   /* being read from the disk (sl_io): not valid yet */
};

struct slot {
	uint64_t blk;   /* NO_BLOCK: empty */
	uint8_t state;  /* enum slot_state */
	int8_t io;      /* SL_WRITING, SL_READING: its request in io[] */
	uint64_t used;  /* last use, for eviction */
	uint8_t *page;  /* page-aligned, bound */
};

/* One disk_iov in flight: its id and the slots it moves. */
struct xio {
	long id;        /* -1: this entry is free */
	uint64_t serial;/* issue order: the oldest is waited for first */
	uint8_t n;
	uint8_t slot[DISK_IOV_MAX];
};

struct xdev {
	uint64_t cap;
	uint64_t nblocks, first_data;
	uint8_t *free_bits;            /* bit set: XN would let us allocate the block */
	struct meta *meta;             /* open addressing, power-of-two size */
	size_t nmeta, meta_cap;
	/* the data cache (fsdev_xn_data.c) */
	struct slot slots[DATA_SLOTS];
	uint8_t *slot_pages;
	uint64_t tick;
	struct xio io[IO_MAX];
	uint64_t io_serial;
	uint8_t run[DISK_IOV_MAX];     /* the gathered run: slots of consecutive blocks */
	unsigned nrun;
	uint64_t run_start;            /* the first block of the run */
	/* a gathered write failed: the next write or barrier reports it */
	int werr;
	uint64_t room_gave_up;         /* ki_ticks when a wait for room last ran out */
	uint64_t ahead_end, hint_end;  /* read-ahead issued up to ahead_end of the
					  hinted blocks, which end at hint_end */
	uint8_t *bind_va;              /* where disk_bind puts a block we copy */
	char tree[XN_NAME_MAX];        /* our root's name, once looked up: what we sync */
	struct fsdev_xn_stats st;
};

int fsdev_xn_errno(long e);
struct meta *fsdev_xn_meta_find(struct xdev *x, uint64_t blk);
/* After an E_FULL (the kernel's cache or request table held by others):
 * sleep a little and true to try again; false once the wait that *until
 * bounds (0 at the call's first E_FULL) is over. */
bool fsdev_xn_room_wait(struct xdev *x, uint64_t *until);

/* fsdev_xn_data.c */
int xd_open(struct xdev *x);  /* the slots' pages: 0 or -ENOMEM */
void xd_close(struct xdev *x);
/* blk's data page if the cache holds it (waiting for its read), or NULL */
const void *xd_cached(struct xdev *x, uint64_t blk);
/* read blk into the cache and wait: its page, or NULL on an error */
const void *xd_read(struct xdev *x, uint64_t blk);
int xd_write(struct xdev *x, uint64_t blk, const void *data);
long xd_prefetch(struct xdev *x, uint64_t blk, uint64_t count);
/* Send the gathered run (before a change that may free its blocks). */
void xd_send(struct xdev *x);
/* blk was freed: forget our copy (after its write, if one is going). */
void xd_drop(struct xdev *x, uint64_t blk);
/* Send the run and wait for every request: 0, or the first error (a
 * failed write's, kept since, included). */
int xd_wait_all(struct xdev *x);
/* Wait for everything, then forget every block. */
int xd_forget(struct xdev *x);

#endif
