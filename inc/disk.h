/*
 * The disk as an exposed resource: raw block requests, XN's persistent
 * ownership (superblock, free map, root catalogue, metadata types described
 * by downloaded functions) and the buffer-cache registry. doc/disk.md is the
 * reference; this header is the whole user<->kernel interface for it: block
 * size, request operations, on-disk formats, the UDF context and the
 * exposed registry's layout. Stable: add at the end, never renumber.
 */
#ifndef EXO_INC_DISK_H
#define EXO_INC_DISK_H

#include <inc/cap.h>
#include <inc/types.h>

#define DISK_BLOCK_SIZE 4096       /* one page: a block is DMAed into one page */
#define DISK_REQS 128              /* requests the kernel tracks at once */
#define DISK_REQS_PER_ENV 32       /* of those, one env's: a flood cannot starve others */
#define DISK_IOV_MAX 32            /* blocks one disk_iov request moves: the device
				      takes them as one request (virtio_blk.h) */

/* disk_io operations. */
#define DISK_OP_READ 0             /* block -> the caller's page */
#define DISK_OP_WRITE 1            /* the caller's page -> block */
#define DISK_OP_MORE 0x100         /* or'd in: more requests follow at once, so
				      the device is told at the next call without
				      it, a disk_wait, or the next clock tick */

/* disk_wait results (>= 0). */
#define DISK_WAIT_TIMEOUT 0        /* ticks passed: still in flight */
#define DISK_WAIT_TRANSFER 1       /* a protected control transfer came first */
#define DISK_WAIT_DONE 2           /* finished without error; the id is free again */

struct disk_info {
	uint64_t di_blocks;        /* size of the medium in DISK_BLOCK_SIZE blocks */
	uint32_t di_flush;         /* the device has a write cache to flush */
	uint32_t di_read_only;
	uint32_t di_in_flight;     /* requests with the device now */
	uint32_t di_queued;        /* requests waiting for a device slot */
	uint64_t di_reads, di_writes, di_flushes, di_errors;
	/* XN */
	uint32_t di_xn;            /* XN_STATE_* */
	uint32_t di_xn_roots;      /* roots in the catalogue */
	uint64_t di_xn_blocks;     /* blocks XN manages (min(di_blocks, XN_MAX_BLOCKS)) */
	uint64_t di_xn_free;       /* of those, free now (not counting frees in wait) */
	uint64_t di_xn_mounts;     /* times this disk was mounted (persistent) */
	uint64_t di_xn_recovered;  /* blocks the last mount's walk found leaked or
				      wrongly free in the on-disk free map */
	uint64_t di_xn_checked;    /* metadata updates checked by UDFs */
	uint64_t di_xn_refused;    /* ... and refused */
	uint64_t di_cache_dirty;   /* dirty metadata blocks in the cache */
	uint64_t di_xn_udf_runs;   /* UDF runs (an update needs one or two: XN keeps
				      a few blocks' last answers) */
	uint64_t di_sleeps;        /* system calls that slept for the kernel's own I/O
				      (a cache miss, a write-back) rather than spin */
	uint64_t di_iov;           /* disk_iov requests (their blocks count in
				      di_reads / di_writes) */
	uint64_t di_kicks;         /* times the device was notified: once a batch */
	uint32_t di_iov_max;       /* blocks one disk_iov may move on this device */
	uint32_t di_indirect;      /* the device takes indirect descriptors */
	uint64_t di_idle_polled;   /* completions found by polling before a halt
				      (blkio.c), not by the interrupt */
};

/* --- XN: on-disk format ---------------------------------------------------- */
#define XN_MAGIC 0x314e582d4f584555UL  /* "UEXO-XN1" */
#define XN_MAX_BLOCKS 65536       /* blocks XN manages: bounds the kernel's state table */
#define XN_ROOTS_MAX 32           /* catalogue entries: one block of 128-byte entries */
#define XN_TYPES_MAX 16           /* registered metadata types, one block each */
#define XN_NAME_MAX 32
#define XN_TYPE_DATA 0            /* an extent of plain data blocks */
#define XN_UDF_MAX_INSNS 500      /* a type's UDF fits its catalogue block */
#define XN_UDF_MAX_EXTENTS 256    /* extents one metadata block may claim: one page */
#define XN_WRITES_MAX 16          /* byte-range writes per metadata update */

enum xn_state {
	XN_STATE_NONE = 0,        /* no disk */
	XN_STATE_RAW = 1,         /* a disk without XN's format: raw access only */
	XN_STATE_MOUNTED = 2,
};

/* Block 0. */
struct xn_super {
	uint64_t s_magic;
	uint64_t s_nblocks;        /* blocks managed */
	uint64_t s_freemap;        /* first block of the free map: one bit a block, 1 = in use */
	uint64_t s_freemap_blocks;
	uint64_t s_catalogue;      /* the root catalogue's block */
	uint64_t s_types;          /* first of XN_TYPES_MAX type blocks */
	uint64_t s_data;           /* first block roots and their trees may use */
	uint64_t s_mounts;         /* incremented at every mount */
	uint64_t s_clean;          /* 1: the free map was written after the last change */
	/* The written map (0: none, an older format): a byte a block, the
	 * catalogue index + 1 of the tree that wrote the block since it was
	 * last freed. A tree that allocates a block again after a power cut
	 * (a file system replaying its journal) finds what it wrote there, not
	 * zeros; any other tree still gets zeros. */
	uint64_t s_written;
	uint64_t s_written_blocks;
};

/* One root of the catalogue: a named tree, its guard and its type. */
struct xn_root {
	char r_name[XN_NAME_MAX];  /* NUL-terminated; empty: a free entry */
	struct cap r_guard;        /* keys dominating it reach the whole tree */
	uint64_t r_block;          /* the root metadata block */
	uint32_t r_type;           /* its registered type */
	uint32_t r_pad;
	uint64_t r_spare[2];
};
_Static_assert(sizeof(struct xn_root) == 128, "32 roots a block");

/* A type block: the UDF that reads metadata blocks of this type. */
struct xn_type_block {
	uint32_t t_magic;          /* XN_TYPE_MAGIC: the entry is in use */
	uint32_t t_len;            /* instruction slots */
	char t_name[24];
	uint64_t t_insns[XN_UDF_MAX_INSNS]; /* struct bpf_insn, as loaded */
};
#define XN_TYPE_MAGIC 0x55444631   /* "1FDU" */
_Static_assert(sizeof(struct xn_type_block) <= DISK_BLOCK_SIZE, "a type fits a block");

/* --- XN: interface ---------------------------------------------------------- */
/* What a UDF says a metadata block claims: count blocks from start, each of
 * type x_type (XN_TYPE_DATA, or a registered metadata type). */
struct xn_extent {
	uint64_t x_start;
	uint32_t x_count;
	uint32_t x_type;
};

/* xn_type_register's argument. */
struct bpf_insn;
struct bpf_load_error;
struct xn_type_def {
	char td_name[24];
	const struct bpf_insn *td_insns;
	uint32_t td_len;
	uint32_t td_id;                  /* 0: any free id; else exactly this one,
					    since a format's UDFs name the types
					    of what they claim by number */
	struct bpf_load_error *td_error; /* filled on refusal, if not NULL */
};

/* One byte-range write of a metadata update: w_len bytes from the caller's
 * memory at w_src to offset w_off of the block. */
struct xn_write {
	uint32_t w_off;
	uint32_t w_len;
	uint64_t w_src;
};

#define XN_OP_NONE 0   /* change bytes only: the claimed set must not change */
#define XN_OP_ALLOC 1  /* the claimed set must grow by exactly u_ext (free blocks) */
#define XN_OP_FREE 2   /* it must shrink by exactly u_ext */
/* xn_move takes two updates: one XN_OP_FREE giving up u_ext, one XN_OP_ALLOC
 * claiming the same extent, applied together or not at all. */

struct xn_update {
	uint64_t u_block;           /* the metadata block to change */
	uint32_t u_op;              /* XN_OP_* */
	uint32_t u_nwrites;         /* 1..XN_WRITES_MAX */
	struct xn_extent u_ext;     /* the extent allocated or freed */
	const struct xn_write *u_writes;
};

/* xn_root_lookup's answer. */
struct xn_root_info {
	uint64_t ri_index;
	uint64_t ri_block;
	uint32_t ri_type;
	uint32_t ri_pad;
	struct cap ri_guard;
};

/* --- UDFs: BPF_KIND_UDF programs (inc/bpf.h) ---------------------------------
 * Region 0 is the metadata block (DISK_BLOCK_SIZE bytes, read-only); region 1
 * is the output, XN_UDF_MAX_EXTENTS struct xn_extent (writable). r0 is the
 * number of extents written. No helpers: a UDF sees only the block and this
 * context, so it is deterministic by construction. */
struct bpf_udf_ctx {
	uint64_t uc_block;   /* the block's number */
	uint64_t uc_type;    /* its type id */
	uint64_t uc_nblocks; /* blocks XN manages */
	uint64_t uc_pad;
};
#define BPF_BUDGET_UDF 200000

/* --- the buffer-cache registry, read-only at UBCACHE ------------------------- */
#define BC_ENTRIES 1024           /* cached metadata blocks: bounds the kernel's pages */
#define BC_PAGES 4                /* the registry's pages at UBCACHE */
#define BC_CLEAN 1                /* the page holds what is on disk */
#define BC_DIRTY 2                /* changed since; waits for its write-back */
#define BC_IN_FLIGHT 4            /* being read or written */
struct bc_entry {
	uint64_t be_block;        /* the block cached, when be_state != 0 */
	uint32_t be_ppn;          /* the physical page holding it */
	uint16_t be_state;        /* BC_* bits; 0: an empty entry */
	uint16_t be_root;         /* catalogue index + 1 of the tree it is in */
};
_Static_assert(sizeof(struct bc_entry) * BC_ENTRIES == BC_PAGES * 4096, "the registry's pages");

/* Data blocks in the registry (sys_disk_cache). A data block's cached copy
 * is a page of the env that brought it in (its memory, counted and revoked
 * like any of its pages); other envs bind it with disk_bind, writable only
 * if their key reaches the block with CAP_W. be_state has BC_DATA set, and:
 * BC_IN_FLIGHT alone, being read (not valid yet); BC_CLEAN; BC_DIRTY;
 * BC_IN_FLIGHT | BC_CLEAN, being written; BC_IN_FLIGHT | BC_DIRTY, being
 * written and changed again meanwhile. The entry goes when the page leaves its owner
 * (freed, revoked, repossessed, the owner dies), when the block is freed,
 * or on DISK_CACHE_DROP: every binding of it goes with it. */
#define BC_DATA 8
#define BC_DATA_MAX 128           /* entries data blocks may hold: metadata keeps the rest */
#define BC_DATA_PER_ENV 32        /* of those, pages of one env; each entry is
				     also charged to the family (QUOTA_DCACHE) */
#define DISK_CACHE_READ 0         /* read block into the caller's page at va, register it */
#define DISK_CACHE_ADOPT 1        /* register the caller's page at va as block's copy, dirty */
#define DISK_CACHE_DIRTY 2        /* say the cached copy was changed (needs CAP_W) */
#define DISK_CACHE_WRITE 3        /* write the cached copy back (needs CAP_W) */
#define DISK_CACHE_DROP 4         /* the page's owner takes it out of the registry */

#endif
