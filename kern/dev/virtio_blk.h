/*
 * The virtio-blk driver: one disk, many requests in flight. It only moves
 * sectors between the device and physical pages it is handed; who may ask
 * for which blocks, and which pages stay pinned meanwhile, is kern/disk's
 * business. Completions go to the function kern/disk registered
 * (virtio_blk_set_done): this layer never calls up.
 */
#ifndef EXO_KERN_VIRTIO_BLK_H
#define EXO_KERN_VIRTIO_BLK_H

#include <inc/types.h>

#define VBLK_SECTOR 512
#define VBLK_SLOTS 32      /* requests in flight at once */
#define VBLK_SEGS_MAX 32   /* pages in one request (DISK_IOV_MAX): with indirect
			    * descriptors a request of any size takes one ring entry */

enum vblk_op {
	VBLK_READ = 0,     /* VIRTIO_BLK_T_IN */
	VBLK_WRITE = 1,    /* VIRTIO_BLK_T_OUT */
	VBLK_FLUSH = 4,    /* VIRTIO_BLK_T_FLUSH: earlier writes reach the medium */
};

/* How a request ended: 0, or -E_IO (the device reported an error, refused
 * the request type, or answered nonsense). */
typedef void vblk_done_fn(uint64_t tag, int status);

/* Find and start the first virtio-blk device (after pci_init, lapic_init
 * and trap_init). Without one, every entry point answers "not present". */
void virtio_blk_init(void);
bool virtio_blk_present(void);
/* Size of the medium in 512-byte sectors. */
uint64_t virtio_blk_sectors(void);
/* Does the device take flushes (VIRTIO_BLK_F_FLUSH)? Without it, writes
 * are on the medium when they complete. */
bool virtio_blk_has_flush(void);
bool virtio_blk_read_only(void);
/* Called once for each finished request, from virtio_blk_irq or
 * virtio_blk_poll or virtio_blk_reap, with the tag given to virtio_blk_submit. */
void virtio_blk_set_done(vblk_done_fn *fn);
/* Queue op on npages whole pages (1..virtio_blk_max_segs()) starting at
 * sector, to or from the page-aligned physical addresses pa[] in order
 * (none for a flush: npages 0). 0, or -E_AGAIN (all VBLK_SLOTS in flight, or
 * not enough free descriptors), -E_NOT_FOUND (no device), -E_INVAL (out of
 * range, too many pages, or a write to a read-only disk). The device may
 * touch the pages until the completion for tag has been delivered. The
 * device is not told: virtio_blk_kick does that once for a batch. */
int virtio_blk_submit(enum vblk_op op, uint64_t sector, const physaddr_t *pa, unsigned npages,
		      uint64_t tag);
/* Tell the device about every request submitted since the last kick. */
void virtio_blk_kick(void);
/* The most pages one request may carry on this device (VBLK_SEGS_MAX with
 * indirect descriptors; fewer if the queue or the device's seg_max is
 * smaller). */
unsigned virtio_blk_max_segs(void);
/* Does the device take indirect descriptors (VIRTIO_RING_F_INDIRECT_DESC)? */
bool virtio_blk_indirect(void);
/* Kicks so far (the device notified), for disk_info. */
uint64_t virtio_blk_kicks(void);
/* Requests with the device now. */
unsigned virtio_blk_in_flight(void);
/* The device's interrupt (IRQ_DISK): deliver every finished request. */
void virtio_blk_irq(void);
/* Deliver the requests finished now, without waiting: did any finish? */
bool virtio_blk_reap(void);
/* Interrupts for finished requests on (the default) or off, while the
 * caller polls with virtio_blk_reap (it turns them on again, then reaps
 * once more: a request that ended meanwhile raised none). */
void virtio_blk_interrupts(bool on);
/* Spin until at least one request finishes (or none is in flight) and
 * deliver it: for the kernel's own reads at mount time, with interrupts
 * off. false if none finished within a generous bound (a dead device). */
bool virtio_blk_poll(void);

#endif
