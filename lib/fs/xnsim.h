/*
 * A model of the kernel's XN over a disk image in memory: the fsdev hooks
 * (fsdev.h) for the host tools (tools/fs/mkfs, fsck) and the host tests,
 * enforcing XN's rules itself so that the file system is proven to make
 * only changes the kernel will accept. See xnsim.c.
 */
#ifndef EXO_LIB_FS_XNSIM_H
#define EXO_LIB_FS_XNSIM_H

#include <lib/fs/fsdev.h>

struct xnsim;

/* XN's own blocks are laid out exactly as the kernel's (inc/disk.h, struct
 * xn_super: the super block, free map, root catalogue, type blocks, written
 * map), so an image made here mounts in the guest. The model keeps the
 * written map's information in `shadow` instead of on the image. */

/* The first block a tree may use on a disk of nblocks blocks. */
uint64_t xnsim_first_data(uint64_t nblocks);
/* A fresh disk of nblocks blocks (at most XN_MAX_BLOCKS): XN's blocks laid
 * out, no roots, empty type blocks. */
int xnsim_format(struct xnsim **out, uint64_t nblocks);
/* The guard of the roots created from now on (default: the root name, all
 * rights, which only the first env's key dominates). */
void xnsim_set_guard(struct xnsim *x, const struct cap *guard);
/* Fills the type block of id (1..XN_TYPES_MAX) as xn_type_register would:
 * the UDF's instructions, as loaded; on disk at once. */
int xnsim_type_set(struct xnsim *x, uint32_t id, const char *name, const uint64_t *insns,
		   uint32_t len);
/* Takes an image (nblocks * FS_BLOCK bytes, ownership passes to the sim)
 * and rebuilds the free map by walking every root through the UDFs, as XN
 * does at boot. `shadow` (optional, nblocks bytes, also taken) says which
 * blocks were ever written since allocated (see xnsim_cut). Damage found
 * on the walk is counted in xnsim_walk_errors, described by xnsim_walk_error. */
int xnsim_open(struct xnsim **out, uint8_t *image, uint64_t nblocks, uint8_t *shadow);
void xnsim_close(struct xnsim *x);
/* Writes XN's free map and super block (marked clean) to the disk. */
int xnsim_sync(struct xnsim *x);
struct fsdev xnsim_dev(struct xnsim *x);
/* The durable image (nblocks * FS_BLOCK bytes). */
const uint8_t *xnsim_disk(const struct xnsim *x);
uint64_t xnsim_nblocks(const struct xnsim *x);
uint64_t xnsim_walk_errors(const struct xnsim *x);
const char *xnsim_walk_error(const struct xnsim *x);
/* Creates a named root at block blk with XN type `type`, its contents
 * `image` (which must claim nothing), on disk at once. */
int xnsim_root_create(struct xnsim *x, const char *name, uint64_t blk, uint32_t type,
		      const void *image);
/* Removes the root called name (xn_root_remove): -EINVAL a bad name,
 * -ENOENT no such root, -EBUSY its tree holds a block besides the root
 * block. On disk at once; the root block is free. */
int xnsim_root_remove(struct xnsim *x, const char *name);
/* Updates and moves submitted, each one checked by the UDFs as the
 * kernel's XN would (a system call in the guest), refused ones included. */
uint64_t xnsim_checked(const struct xnsim *x);
/* Free blocks and blocks in use by roots, as XN's free map says. */
uint64_t xnsim_free_blocks(const struct xnsim *x);

/* Power cuts. Every writeback and barrier is an event, numbered from 1.
 * At event `at` the sim captures what a power cut then would leave: the
 * disk plus, for each block with writebacks not yet behind a barrier, none
 * or any one of them (chosen from `seed`), as a device may reorder. */
void xnsim_cut_at(struct xnsim *x, uint64_t at, uint64_t seed);
uint64_t xnsim_events(const struct xnsim *x);
/* The captured image and shadow (NULL if the event was not reached); the
 * caller takes both and frees them with fs_free. */
bool xnsim_cut_take(struct xnsim *x, uint8_t **image, uint8_t **shadow);

#endif
