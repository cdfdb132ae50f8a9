/*
 * virtio-blk (virtio spec 1.x, 5.2): one disk, one request queue (0).
 * Negotiated: VERSION_1 (required), FLUSH and RO when offered; nothing else
 * (no multiqueue, no discard, no geometry).
 *
 * A request is a chain of three descriptors: the 16-byte header (type,
 * sector) the device reads, the data buffer (read or written by the device)
 * and the one status byte it writes. Request slot i owns descriptors 3i..3i+2
 * and a 32-byte cell of one kernel page holding its header and status, so
 * VBLK_SLOTS requests can be with the device at once and none waits for a
 * descriptor. Data goes straight to or from the physical page the caller
 * names (zero copy): keeping that page alive and out of other hands until
 * the completion arrives is the caller's job (kern/disk pins it).
 *
 * Completions: MSI-X entry 0, vector IRQ_DISK, to the boot CPU. Each used
 * entry is checked (a head that is not the first descriptor of a busy slot
 * is ignored and logged) and handed to the function kern/disk registered,
 * with the tag it gave and 0 or -E_IO.
 *
 * No device is a normal state: every entry point answers "not present".
 *
 * Locking: the big kernel lock (interrupt and system calls alike).
 */
#include <inc/error.h>
#include <kern/arch/console.h>
#include <kern/arch/lapic.h>
#include <kern/arch/mmu.h>
#include <kern/arch/trap.h>
#include <kern/mem/pmap.h>
#include <kern/dev/virtio.h>
#include <kern/dev/virtio_blk.h>

#define VIRTIO_BLK_MODERN_ID 0x1042      /* 0x1040 + device type 2 */
#define VIRTIO_BLK_TRANSITIONAL_ID 0x1001

#define BLK_F_RO (1UL << 5)
#define BLK_F_FLUSH (1UL << 9)
#define BLK_CFG_CAPACITY 0

#define BLK_S_OK 0
#define REQ_QUEUE 0
#define MSIX_ENTRY 0
#define POLL_SPINS 200000000UL /* about a second or more of pause loops */

_Static_assert(VBLK_SLOTS * 3 <= VIRTQ_MAX, "three descriptors per slot");

/* What the device reads first, and the status byte it writes last. */
struct blk_cell {
	uint32_t c_type;
	uint32_t c_reserved;
	uint64_t c_sector;
	volatile uint8_t c_status;
	uint8_t c_pad[15];
};
_Static_assert(sizeof(struct blk_cell) == 32, "cells pack a page");

static struct virtio_dev vdev;
static struct virtq q;
static bool present, has_flush, read_only;
static uint64_t capacity;
static struct blk_cell *cells;   /* VBLK_SLOTS of them, in one kernel page */
static physaddr_t cells_pa;
static uint64_t slot_tag[VBLK_SLOTS];
static uint32_t slot_busy;       /* bit i: slot i is with the device */
static unsigned in_flight;
static vblk_done_fn *done_fn;

static int start(struct pci_dev *d)
{
	int r = virtio_attach(&vdev, d);
	if (r < 0)
		return r;
	pci_msix_route(&vdev.vd_msix, MSIX_ENTRY, IRQ_DISK, lapic_id());
	pci_msix_enable(d, &vdev.vd_msix);
	uint64_t got;
	r = virtio_negotiate(&vdev, BLK_F_RO | BLK_F_FLUSH, VIRTIO_F_VERSION_1, &got);
	if (r < 0)
		return r;
	has_flush = got & BLK_F_FLUSH;
	read_only = got & BLK_F_RO;
	if ((r = virtio_queue_init(&vdev, &q, REQ_QUEUE, VIRTQ_MAX, MSIX_ENTRY)) < 0)
		return r;
	if (q.vq_size < 3)
		return -E_NO_MEM;
	virtio_config_vector(&vdev, VIRTIO_NO_VECTOR);
	if (!virtio_config_read(&vdev, BLK_CFG_CAPACITY, &capacity, sizeof(capacity)))
		return -E_INVAL;
	long ppn = page_take(NULL, PAGE_KERNEL, PPN_ANY);
	if (ppn < 0)
		return -E_NO_MEM;
	cells_pa = (physaddr_t)ppn << PAGE_SHIFT;
	cells = KADDR(cells_pa);
	virtio_ready(&vdev);
	return 0;
}

void virtio_blk_init(void)
{
	struct pci_dev *d =
		pci_find(VIRTIO_VENDOR, VIRTIO_BLK_MODERN_ID, VIRTIO_BLK_TRANSITIONAL_ID);
	if (!d) {
		cprintf("virtio-blk: no device; no disk\n");
		return;
	}
	d->pd_claimed = true;
	int r = start(d);
	if (r < 0) {
		virtio_fail(&vdev);
		cprintf("virtio-blk: %02x:%02x.%x unusable: %e; no disk\n", d->pd_bus, d->pd_dev,
			d->pd_fn, r);
		return;
	}
	present = true;
	cprintf("virtio-blk: %02x:%02x.%x %lu MiB%s%s, %u requests in flight, vector %d\n",
		d->pd_bus, d->pd_dev, d->pd_fn, capacity * VBLK_SECTOR >> 20,
		has_flush ? ", flush" : ", write-through", read_only ? ", read-only" : "",
		MIN(VBLK_SLOTS, q.vq_size / 3), IRQ_DISK);
}

bool virtio_blk_present(void)
{
	return present;
}

uint64_t virtio_blk_sectors(void)
{
	return present ? capacity : 0;
}

bool virtio_blk_has_flush(void)
{
	return present && has_flush;
}

bool virtio_blk_read_only(void)
{
	return read_only;
}

void virtio_blk_set_done(vblk_done_fn *fn)
{
	done_fn = fn;
}

unsigned virtio_blk_in_flight(void)
{
	return in_flight;
}

static int free_slot(void)
{
	unsigned nslots = MIN(VBLK_SLOTS, q.vq_size / 3);
	for (unsigned i = 0; i < nslots; i++)
		if (!(slot_busy & (1u << i)))
			return (int)i;
	return -1;
}

int virtio_blk_submit(enum vblk_op op, uint64_t sector, physaddr_t pa, uint32_t len, uint64_t tag)
{
	if (!present)
		return -E_NOT_FOUND;
	if (op != VBLK_FLUSH) {
		if (op != VBLK_READ && op != VBLK_WRITE)
			return -E_INVAL;
		if (len == 0 || len % VBLK_SECTOR || len > PAGE_SIZE ||
		    pa % PAGE_SIZE + len > PAGE_SIZE || sector >= capacity ||
		    len / VBLK_SECTOR > capacity - sector)
			return -E_INVAL;
		if (op == VBLK_WRITE && read_only)
			return -E_INVAL;
	}
	int s = free_slot();
	if (s < 0)
		return -E_AGAIN;
	struct blk_cell *c = &cells[s];
	c->c_type = op;
	c->c_reserved = 0;
	c->c_sector = op == VBLK_FLUSH ? 0 : sector;
	c->c_status = 0xff; /* a device that writes nothing is caught */
	physaddr_t cpa = cells_pa + (physaddr_t)s * sizeof(*c);
	uint16_t d0 = (uint16_t)(3 * s), d1 = (uint16_t)(d0 + 1), d2 = (uint16_t)(d0 + 2);
	virtq_desc_set(&q, d0, cpa, 16, VIRTQ_DESC_F_NEXT);
	if (op == VBLK_FLUSH) {
		q.vq_desc[d0].d_next = d2;
	} else {
		virtq_desc_set(&q, d1, pa, len,
			       VIRTQ_DESC_F_NEXT | (op == VBLK_READ ? VIRTQ_DESC_F_WRITE : 0));
		q.vq_desc[d0].d_next = d1;
		q.vq_desc[d1].d_next = d2;
	}
	virtq_desc_set(&q, d2, cpa + __builtin_offsetof(struct blk_cell, c_status), 1,
		       VIRTQ_DESC_F_WRITE);
	slot_tag[s] = tag;
	slot_busy |= 1u << s;
	in_flight++;
	virtq_push(&q, d0);
	virtq_kick(&q);
	return 0;
}

/* Deliver every finished request; how many. */
static unsigned reap(void)
{
	uint16_t id;
	uint32_t len;
	unsigned n = 0;
	while (virtq_pop(&q, &id, &len)) {
		unsigned s = id / 3;
		if (id % 3 || s >= VBLK_SLOTS || !(slot_busy & (1u << s))) {
			cprintf("virtio-blk: device returned descriptor %u, not a request; ignored\n",
				id);
			continue;
		}
		int status = cells[s].c_status == BLK_S_OK ? 0 : -E_IO;
		uint64_t tag = slot_tag[s];
		slot_busy &= ~(1u << s);
		in_flight--;
		n++;
		if (done_fn)
			done_fn(tag, status);
	}
	return n;
}

void virtio_blk_irq(void)
{
	if (present)
		reap();
}

bool virtio_blk_poll(void)
{
	if (!present || in_flight == 0)
		return true;
	for (uint64_t i = 0; i < POLL_SPINS; i++) {
		if (reap())
			return true;
		__asm__ volatile("pause");
	}
	return false;
}
