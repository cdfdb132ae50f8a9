/*
 * The metadata cache and its exposed registry (bcache.c): XN's only copy
 * of metadata blocks being read or changed.
 */
#ifndef EXO_KERN_DISK_BCACHE_H
#define EXO_KERN_DISK_BCACHE_H

#include <inc/disk.h>

void bc_init(void);
/* The cached page of block (in tree root: catalogue index + 1). On a
 * miss the read is started and the calling system call sleeps, to be
 * issued again (kwait.c): it must not have changed anything yet; with
 * bc_spin (mount, format) the CPU spins instead. NULL with *err: -E_IO
 * (the read failed), -E_FULL (every entry is another tree's dirty block),
 * -E_NO_MEM (no page; bc_spin: every entry dirty). */
void *bc_get(uint64_t block, uint16_t root, int *err);
/* A cached, zeroed, dirty page for a block just allocated (no read); it
 * may wait as bc_get does for room. */
void *bc_new(uint64_t block, uint16_t root, int *err);
/* Keep blocks a and b (UINT64_MAX: none) from eviction, till the next
 * bc_hold: a call needs them after its first change, when it may no
 * longer wait for a read. It lets go when it returns or sleeps. */
void bc_hold(uint64_t a, uint64_t b);
extern bool bc_spin;
/* Is block cached? Its page number in *ppn. */
bool bc_lookup(uint64_t block, ppn_t *ppn);
void bc_mark_dirty(uint64_t block);
/* Forget block (freed): its page leaves every address space binding it. */
void bc_drop(uint64_t block);
/* Forget everything (a new format). */
void bc_reset(void);
/* One write-back pass: start writing every dirty entry for which
 * ready(block, page) holds (BC_IN_FLIGHT | BC_CLEAN), while the request
 * table has room (*full set when it had none). The number started; done(block, status, clean) runs as
 * each ends (clean: BC_CLEAN now, nothing changed it meanwhile). */
typedef void bc_written_fn(uint64_t block, int status, bool clean);
long bc_write_pass(bool (*ready)(uint64_t block, const void *page), bc_written_fn *done,
		   bool *full);
/* Dirty entries now: all of them, or those of blocks in(block) picks. */
unsigned bc_dirty_count(void);
unsigned bc_dirty_count_if(bool (*in)(uint64_t block));

/* --- data blocks: copies in env pages ---------------------------------------- */
/* Register page ppn (an env's user page) as block's copy, state BC_*: the
 * entry's index, or -E_BUSY (block cached already), -E_FULL (no room, or
 * the owner holds BC_DATA_PER_ENV). */
long bc_data_insert(uint64_t block, uint16_t root, ppn_t ppn, uint16_t state);
/* block's data entry, or NULL. */
struct bc_entry *bc_data_find(uint64_t block);
/* b's index in the registry. */
unsigned bc_index(const struct bc_entry *b);
/* Set a data entry's state (BC_DATA kept). */
void bc_data_set(struct bc_entry *b, uint16_t state);
/* Take a data entry out; its page is unbound everywhere. */
void bc_data_drop(struct bc_entry *b);
/* A request for entry idx (block, page ppn) ended: op DISK_OP_*, status. */
void bc_data_done(unsigned idx, uint64_t block, ppn_t ppn, int op, int status);

#endif
