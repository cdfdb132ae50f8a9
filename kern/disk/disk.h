/*
 * The disk layer: block requests on behalf of envs and of the kernel
 * (blkio.c), XN's ownership and checks (xn.c, xn_check.c, xn_walk.c) and
 * the metadata cache with its write ordering (bcache.c). The system calls
 * are declared here for kern/syscall.c's dispatch.
 */
#ifndef EXO_KERN_DISK_H
#define EXO_KERN_DISK_H

#include <inc/disk.h>
#include <inc/types.h>
#include <kern/env/env.h>

/* Start the disk if there is one and mount XN if it is formatted (after
 * pci_init and lapic_init, before the first env). */
void disk_init(void);
/* IRQ_DISK. */
void disk_irq(void);
/* Each clock tick: notify the device of requests a DISK_OP_MORE call left. */
void disk_tick(void);
/* e is gone (env_gone_register): its queued requests are dropped, those with the device are
 * left to finish (their pages stay pinned, then are freed). */
void disk_env_gone(struct env *e, enum env_end how);

/* --- blkio.c: requests ------------------------------------------------------ */
/* A kernel request on kernel page ppn: done(arg, status) runs at completion. */
typedef void disk_kdone_fn(uint64_t arg, int status);
#define DISK_KOP_FLUSH 2 /* beside DISK_OP_READ and DISK_OP_WRITE: kernel requests only */
/* Queue op (DISK_OP_*) of block to or from page ppn. 0, or -E_FULL (no
 * request free). */
int disk_kernel_io(int op, uint64_t block, ppn_t ppn, disk_kdone_fn *done, uint64_t arg);
/* Queue a flush of the device's write cache: 1, 0 if the device has none
 * (its completed writes are on the medium: done is not called), -E_FULL. */
int disk_kernel_flush(disk_kdone_fn *done, uint64_t arg);
/* Read or write block synchronously, spinning on the device (mount and
 * format, the rare calls that write XN's own blocks): 0, -E_IO, -E_FULL. */
int disk_kernel_io_sync(int op, uint64_t block, ppn_t ppn);
/* Flush the device's write cache, synchronously: 0 or -E_IO. */
int disk_kernel_flush_sync(void);
/* Wait (spinning) until no request is with the device or queued. */
void disk_kernel_drain(void);
/* The number the next request submitted gets; is any request submitted
 * before number mark still queued or with the device? */
uint64_t disk_serial(void);
bool disk_pending_before(uint64_t mark);
/* At the next completion of any request, wake the restart sleepers (a
 * kernel request found the table full). */
void disk_wake_at_completion(void);

/* --- kwait.c: system calls waiting for the kernel's I/O ------------------------ */
/* Sleep, then issue the current system call again (it has changed nothing). */
void disk_sleep_restart(void) __attribute__((noreturn));
/* Sleep until disk_wake_result gives the call its result. */
void disk_sleep_result(void) __attribute__((noreturn));
void disk_wake_restart(void);
void disk_wake_result(envid_t owner, long result);
void kwait_env_gone(struct env *e);

/* --- xn_sync.c: the write-back job ------------------------------------------------ */
enum xn_job_mode {
	XN_JOB_SYNC,       /* some trees' metadata, in XN's order */
	XN_JOB_DATA,       /* disk_flush_data: env writes and the written map */
	XN_JOB_RAW,        /* no XN: env writes drained, the device flushed */
	XN_JOB_RAW_FLUSH,  /* no XN: the device flushed */
	XN_JOB_CATALOGUE,  /* a root created or removed: its block, the catalogue */
};
#define XN_JOB_WAITING 1 /* xn_job_start: the job waits for the device */
/* Start a job (none may be running); owner is woken with its status.
 * The status if it ended at once, or XN_JOB_WAITING. */
long xn_job_start(enum xn_job_mode mode, uint32_t trees, envid_t owner);
/* A request completed: a job waiting for the table or a drain goes on. */
void xn_job_poke(void);
/* Is a job running (tree 0), or one writing tree's metadata? */
bool xn_job_busy(uint16_t tree);
/* Is block in a tree a running job writes? */
bool xn_block_syncing(uint64_t block);
/* The cache is full of dirty blocks and tree needs an entry: a job writing
 * tree's own started or running (XN_JOB_WAITING: wait for it), 0 (look
 * again now), or -E_FULL (every dirty block is another tree's). */
long xn_make_room(uint16_t tree);
/* The catalogue job of a root's creation (zero_block: its block, zeroed
 * first, then the written map if it changed, with a flush) or removal
 * (UINT64_MAX; flush: the catalogue's write flushed) of tree, for the
 * calling env, which has set the catalogue in memory: it waits for a
 * running job first (restart), sleeps meanwhile, and returns what
 * finish(status, cat_sent) makes of the job's status (it runs as the
 * job ends; cat_sent: the catalogue's write was sent). */
typedef long xn_job_finish_fn(long status, bool cat_sent);
long xn_catalogue_job(uint16_t tree, uint64_t zero_block, bool flush, xn_job_finish_fn *finish);
/* The same for a type: len bytes at src (they must stay put) written to
 * block and flushed. */
long xn_type_job(uint64_t block, const void *src, size_t len, xn_job_finish_fn *finish);
/* Is block a new root's, its zeros not yet written? */
bool xn_block_zeroing(uint64_t block);
/* disk_flush (data_only: disk_flush_data) for the calling env. */
long xn_flush(bool data_only);

bool disk_present(void);
uint64_t disk_blocks(void);
extern struct disk_info disk_stats;

/* --- xn.c: who may do what ---------------------------------------------------- */
/* May e's key in slot cap read (op DISK_OP_READ) or write blocks block..
 * block+n-1? 0, or the first refused block's -E_BAD_CAP / -E_PERM /
 * -E_RANGE. */
long xn_io_check(struct env *e, int op, uint64_t block, uint64_t n, uint64_t cap);
/* The tree (catalogue index + 1) of data block `block`, or -1 if it is not
 * a data block in a tree (or XN is not mounted). */
int xn_data_root(uint64_t block);
/* A write of block by an env completed: the block is initialised on disk. */
void xn_block_written(uint64_t block);
void xn_init(void);

long sys_disk_info(uint64_t out);
long sys_disk_io(uint64_t op, uint64_t block, uint64_t va, uint64_t cap);
long sys_disk_iov(uint64_t op, uint64_t block, uint64_t uvas, uint64_t n, uint64_t cap);
long sys_disk_wait(uint64_t id, uint64_t ticks);
long sys_disk_flush(void);
long sys_disk_flush_data(void);
long sys_xn_format(uint64_t cap);
long sys_xn_type_register(uint64_t udef);
long sys_xn_root_create(uint64_t uname, uint64_t type, uint64_t cap);
long sys_xn_root_lookup(uint64_t uname, uint64_t out);
long sys_xn_update(uint64_t uupd, uint64_t cap);
long sys_disk_bind(uint64_t block, uint64_t va, uint64_t cap);
long sys_xn_move(uint64_t ufrom, uint64_t uto, uint64_t cap);
long sys_xn_free_map(uint64_t first, uint64_t count, uint64_t uout);
long sys_xn_root_remove(uint64_t uname, uint64_t cap);
long sys_xn_root_sync(uint64_t uname, uint64_t cap);
long sys_disk_cache(uint64_t op, uint64_t block, uint64_t va, uint64_t cap);

#endif
