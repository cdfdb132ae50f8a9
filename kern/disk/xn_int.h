/*
 * XN's state and helpers, shared by its files: xn.c (format, mount and
 * recovery, types, authority, the free map, binding), xn_root.c (the
 * catalogue's calls), xn_update.c (checked updates and moves) and
 * xn_sync.c (the ordered write-back).
 * Nothing outside kern/disk/xn*.c includes this; kern/disk/disk.h is the
 * layer's interface. The big kernel lock covers all of it.
 */
#ifndef EXO_KERN_DISK_XN_INT_H
#define EXO_KERN_DISK_XN_INT_H

#include <inc/disk.h>
#include <inc/types.h>
#include <kern/bpf/dlcode.h>
#include <kern/env/env.h>

#define B_INIT 0x1    /* its contents are on disk (written since allocated) */
#define B_FREEING 0x2 /* freed; in use until the removal of its pointer is on disk */
#define B_DIRTY 0x4   /* metadata changed in the cache since its last write */
#define B_MOVED 0x8   /* moved: its new owner waits for moved_from's release */
#define WRITTEN_PER_BLOCK DISK_BLOCK_SIZE /* written-map entries a block holds */
#define WRITTEN_MAP_BLOCKS (XN_MAX_BLOCKS / WRITTEN_PER_BLOCK)

extern struct xn_super sb;
extern bool mounted;
extern uint64_t nblocks;
extern struct xn_root cat[XN_ROOTS_MAX];
extern struct xn_type_block types[XN_TYPES_MAX + 1]; /* index = type id; 0 unused */
extern struct kprog *udf[XN_TYPES_MAX + 1];
extern uint16_t root_of[XN_MAX_BLOCKS];
extern uint8_t type_of[XN_MAX_BLOCKS];
extern uint32_t parent_of[XN_MAX_BLOCKS];
extern uint8_t bflags[XN_MAX_BLOCKS];
extern uint32_t walk_stack[XN_MAX_BLOCKS];
extern uint8_t written_by[XN_MAX_BLOCKS];   /* the written map, as on disk soon */
extern bool written_dirty[WRITTEN_MAP_BLOCKS]; /* its blocks changed since written */
extern uint32_t moved_from[XN_MAX_BLOCKS]; /* for B_MOVED blocks: the giver */
extern uint8_t freed_by[XN_MAX_BLOCKS];    /* for B_FREEING blocks: the tree that freed it */
extern ppn_t undo_ppn;  /* a move's giver as it was, should the receiver fail */
extern ppn_t copy2_ppn; /* a move's second new contents */
extern ppn_t io_ppn;    /* a kernel page for XN's own blocks */
extern ppn_t zero_ppn;  /* zeros, for data blocks never written */
extern ppn_t copy_ppn;  /* an update's new contents, before they are accepted */
extern struct xn_extent before[XN_UDF_MAX_EXTENTS + 1], after[XN_UDF_MAX_EXTENTS + 1];
extern struct xn_extent scratch[XN_UDF_MAX_EXTENTS + 1];

/* Changes to what is in use, and the last one the free map on disk shows:
 * a sync writes the map (for inspection: mount never trusts it) only when
 * they differ, so a sync of a byte-only change costs its block and a flush. */
extern uint64_t usage_changes, usage_on_disk;
/* What the UDF last said a few recently updated blocks claim (normalised):
 * a block's contents change only through xn_update and xn_move, which keep
 * this current, so the next update of one of them need not run the UDF on
 * it again. A UDF sees nothing but the block and its number, so its answer
 * cannot have changed. A file system updates a handful of blocks in turn
 * (a directory block, its parent's, its super block), so several are kept,
 * least recently used out. Forgotten when the block is allocated or freed
 * (claims_forget), and all at format and mount (claims_forget_all). */
#define CLAIMS_CACHED 8
/* The cached answer for block into out: its count, or -1 if not cached. */
int claims_cached(uint64_t block, struct xn_extent *out);
void claims_remember(uint64_t block, const struct xn_extent *set, int n);
void claims_forget(uint64_t block);
void claims_forget_all(void);

static inline bool in_use(uint64_t b)
{
	return b < sb.s_data || root_of[b] || (bflags[b] & B_FREEING);
}

/* di_xn_free and di_xn_roots from the state. */
void count_free(void);
/* What block (of type, contents page) claims, normalised into out: the
 * count, or -1 (unknown type, the run failed, or not a set). */
int claims_of(uint32_t type, uint64_t block, const void *page, struct xn_extent *out);
/* The catalogue to disk (not flushed). */
int write_catalogue(void);
/* The free map and superblock as they are now. */
int write_freemap(uint64_t clean);
void set_written(uint64_t b, uint8_t root);
bool written_map_dirty(void);
long need_mounted(void);
/* The catalogue entry named by the user string at uname, or -E_*. */
long root_named(struct env *e, uint64_t uname, char name[XN_NAME_MAX]);
/* The same, after checking XN is mounted (need_mounted). */
long mounted_root(struct env *e, uint64_t uname);
long tree_check(struct env *e, uint64_t cap, uint16_t root, unsigned rights);

#endif
