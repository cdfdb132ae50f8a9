/*
 * virtio-blk (virtio spec 1.x, 5.2): one disk, one request queue (0).
 * Negotiated: VERSION_1 (required); FLUSH, RO, SEG_MAX and the ring's
 * INDIRECT_DESC when offered; nothing else (no multiqueue, no discard, no
 * geometry).
 *
 * A request is the 16-byte header (type, sector) the device reads, the
 * data pages (read or written by the device, up to VBLK_SEGS_MAX of them,
 * consecutive on the disk) and the one status byte it writes. With
 * indirect descriptors that chain lives in the slot's own table (a kernel
 * page holds four) and takes one ring descriptor, so VBLK_SLOTS requests
 * of any size fit the ring at once. Without them (the fallback) the chain
 * is built in the ring from a free list of descriptors, npages + 2 of them,
 * and a request that finds too few free waits (-E_AGAIN) like one that
 * finds no slot. Each slot has a 32-byte cell of one kernel page for its
 * header and status. Data goes straight to or from the physical pages the
 * caller names (zero copy): keeping them alive and out of other hands until
 * the completion arrives is the caller's job (kern/disk pins them).
 *
 * Submitting does not notify the device: virtio_blk_kick does, once for
 * everything pushed since the last one, so kern/disk queues a batch (a
 * vectored call's request, the queue refilled at a completion) and pays one
 * notification, a VM exit under virtualisation, for all of it.
 *
 * Completions: MSI-X entry 0, vector IRQ_DISK, to the boot CPU. Each used
 * entry is checked (a head that is not the head of a busy slot's chain is
 * ignored and logged) and handed to the function kern/disk registered,
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

#define BLK_F_SEG_MAX (1UL << 2)
#define BLK_F_RO (1UL << 5)
#define BLK_F_FLUSH (1UL << 9)
#define BLK_CFG_CAPACITY 0
#define BLK_CFG_SEG_MAX 12

#define BLK_S_OK 0
#define REQ_QUEUE 0
#define MSIX_ENTRY 0
#define POLL_SPINS 200000000UL /* about a second or more of pause loops */

#define CHAIN_MAX (VBLK_SEGS_MAX + 2) /* header, pages, status */
#define TABLE_STRIDE 1024              /* bytes of an indirect table: four a page */
_Static_assert(CHAIN_MAX * sizeof(struct virtq_desc) <= TABLE_STRIDE, "a table fits");
_Static_assert(VBLK_SLOTS <= VIRTQ_MAX && VBLK_SLOTS <= 32, "slot_busy is 32 bits");

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
static bool present, has_flush, read_only, indirect;
static uint64_t capacity;
static unsigned max_segs;        /* pages a request may carry */
static struct blk_cell *cells;   /* VBLK_SLOTS of them, in one kernel page */
static physaddr_t cells_pa;
static volatile struct virtq_desc *table[VBLK_SLOTS]; /* indirect: each slot's chain */
static physaddr_t table_pa[VBLK_SLOTS];
static uint64_t slot_tag[VBLK_SLOTS];
static uint32_t slot_busy;       /* bit i: slot i is with the device */
static uint16_t slot_desc[VBLK_SLOTS][CHAIN_MAX]; /* ring descriptors slot i holds */
static uint8_t slot_ndesc[VBLK_SLOTS];
static uint8_t head_slot[VIRTQ_MAX]; /* ring descriptor -> slot + 1 whose chain it heads */
static uint16_t free_desc[VIRTQ_MAX]; /* a stack of free ring descriptors */
static unsigned nfree;
static unsigned in_flight;
static unsigned unkicked;        /* pushed since the last kick */
static uint64_t kicks;
static vblk_done_fn *done_fn;

static int start(struct pci_dev *d)
{
	int r = virtio_attach(&vdev, d);
	if (r < 0)
		return r;
	pci_msix_route(&vdev.vd_msix, MSIX_ENTRY, IRQ_DISK, lapic_id());
	pci_msix_enable(d, &vdev.vd_msix);
	uint64_t got, wanted = BLK_F_RO | BLK_F_FLUSH | BLK_F_SEG_MAX | VIRTIO_RING_F_INDIRECT_DESC;
	r = virtio_negotiate(&vdev, wanted, VIRTIO_F_VERSION_1, &got);
	if (r < 0)
		return r;
	has_flush = got & BLK_F_FLUSH;
	read_only = got & BLK_F_RO;
	indirect = got & VIRTIO_RING_F_INDIRECT_DESC;
	if ((r = virtio_queue_init(&vdev, &q, REQ_QUEUE, VIRTQ_MAX, MSIX_ENTRY)) < 0)
		return r;
	if (q.vq_size < 3)
		return -E_NO_MEM;
	virtio_config_vector(&vdev, VIRTIO_NO_VECTOR);
	if (!virtio_config_read(&vdev, BLK_CFG_CAPACITY, &capacity, sizeof(capacity)))
		return -E_INVAL;
	max_segs = VBLK_SEGS_MAX;
	if (!indirect)
		max_segs = MIN(max_segs, q.vq_size - 2u);
	uint32_t seg_max = 0;
	if ((got & BLK_F_SEG_MAX) &&
	    virtio_config_read(&vdev, BLK_CFG_SEG_MAX, &seg_max, sizeof(seg_max)) && seg_max)
		max_segs = MIN(max_segs, seg_max);
	for (uint16_t i = 0; i < q.vq_size; i++)
		free_desc[nfree++] = (uint16_t)(q.vq_size - 1 - i);
	long ppn = page_take(NULL, PAGE_KERNEL, PPN_ANY);
	if (ppn < 0)
		return -E_NO_MEM;
	cells_pa = (physaddr_t)ppn << PAGE_SHIFT;
	cells = KADDR(cells_pa);
	for (unsigned s = 0; indirect && s < VBLK_SLOTS; s++) {
		unsigned per_page = PAGE_SIZE / TABLE_STRIDE;
		if (s % per_page == 0 && (ppn = page_take(NULL, PAGE_KERNEL, PPN_ANY)) < 0)
			return -E_NO_MEM;
		table_pa[s] = ((physaddr_t)ppn << PAGE_SHIFT) + (s % per_page) * TABLE_STRIDE;
		table[s] = KADDR(table_pa[s]);
	}
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
	cprintf("virtio-blk: %02x:%02x.%x %lu MiB%s%s, %u requests in flight, %u pages each%s, "
		"vector %d\n",
		d->pd_bus, d->pd_dev, d->pd_fn, capacity * VBLK_SECTOR >> 20,
		has_flush ? ", flush" : ", write-through", read_only ? ", read-only" : "",
		VBLK_SLOTS, max_segs, indirect ? " (indirect)" : "", IRQ_DISK);
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

unsigned virtio_blk_max_segs(void)
{
	return present ? max_segs : 0;
}

bool virtio_blk_indirect(void)
{
	return present && indirect;
}

uint64_t virtio_blk_kicks(void)
{
	return kicks;
}

static int free_slot(void)
{
	for (unsigned i = 0; i < VBLK_SLOTS; i++)
		if (!(slot_busy & (1u << i)))
			return (int)i;
	return -1;
}

/* Fill descriptor i of table t (the ring's, or an indirect table). */
static void desc_fill(volatile struct virtq_desc *t, uint16_t i, physaddr_t pa, uint32_t len,
		      uint16_t flags, uint16_t next)
{
	t[i].d_addr = pa;
	t[i].d_len = len;
	t[i].d_flags = flags;
	t[i].d_next = next;
}

int virtio_blk_submit(enum vblk_op op, uint64_t sector, const physaddr_t *pa, unsigned npages,
		      uint64_t tag)
{
	if (!present)
		return -E_NOT_FOUND;
	if (op == VBLK_FLUSH) {
		npages = 0;
	} else {
		if (op != VBLK_READ && op != VBLK_WRITE)
			return -E_INVAL;
		uint64_t sectors = (uint64_t)npages * (PAGE_SIZE / VBLK_SECTOR);
		if (npages == 0 || npages > max_segs || sector >= capacity ||
		    sectors > capacity - sector)
			return -E_INVAL;
		for (unsigned i = 0; i < npages; i++)
			if (pa[i] % PAGE_SIZE)
				return -E_INVAL;
		if (op == VBLK_WRITE && read_only)
			return -E_INVAL;
	}
	/* physically consecutive pages go as one descriptor: the device maps
	 * and copies one run instead of a page at a time */
	unsigned runs = 0;
	for (unsigned i = 0; i < npages; i++)
		runs += i == 0 || pa[i] != pa[i - 1] + PAGE_SIZE;
	unsigned chain = runs + 2, need = indirect ? 1 : chain;
	int s = free_slot();
	if (s < 0 || nfree < need)
		return -E_AGAIN;
	struct blk_cell *c = &cells[s];
	c->c_type = op;
	c->c_reserved = 0;
	c->c_sector = op == VBLK_FLUSH ? 0 : sector;
	c->c_status = 0xff; /* a device that writes nothing is caught */
	physaddr_t cpa = cells_pa + (physaddr_t)s * sizeof(*c);
	/* the chain's descriptors: 0..chain-1 of the slot's table, or ring
	 * descriptors from the free list */
	uint16_t idx[CHAIN_MAX];
	volatile struct virtq_desc *t = indirect ? table[s] : q.vq_desc;
	for (unsigned i = 0; i < chain; i++)
		idx[i] = indirect ? (uint16_t)i : free_desc[--nfree];
	uint16_t data_flags = op == VBLK_READ ? VIRTQ_DESC_F_WRITE : 0;
	desc_fill(t, idx[0], cpa, 16, VIRTQ_DESC_F_NEXT, idx[1]);
	for (unsigned i = 0, d = 1; i < npages; d++) {
		unsigned n = 1;
		while (i + n < npages && pa[i + n] == pa[i] + (physaddr_t)n * PAGE_SIZE)
			n++;
		desc_fill(t, idx[d], pa[i], (uint32_t)(n * PAGE_SIZE),
			  VIRTQ_DESC_F_NEXT | data_flags, idx[d + 1]);
		i += n;
	}
	desc_fill(t, idx[chain - 1], cpa + __builtin_offsetof(struct blk_cell, c_status), 1,
		  VIRTQ_DESC_F_WRITE, 0);
	uint16_t head;
	if (indirect) {
		head = free_desc[--nfree];
		virtq_desc_set(&q, head, table_pa[s], (uint32_t)(chain * sizeof(struct virtq_desc)),
			       VIRTQ_DESC_F_INDIRECT);
		slot_desc[s][0] = head;
	} else {
		head = idx[0];
		for (unsigned i = 0; i < chain; i++)
			slot_desc[s][i] = idx[i];
	}
	slot_ndesc[s] = (uint8_t)need;
	head_slot[head] = (uint8_t)(s + 1);
	slot_tag[s] = tag;
	slot_busy |= 1u << s;
	in_flight++;
	virtq_push(&q, head);
	unkicked++;
	return 0;
}

void virtio_blk_kick(void)
{
	if (!present || !unkicked)
		return;
	unkicked = 0;
	kicks++;
	virtq_kick(&q);
}

/* Deliver every finished request; how many. */
static unsigned reap(void)
{
	uint16_t id;
	uint32_t len;
	unsigned n = 0;
	while (virtq_pop(&q, &id, &len)) {
		unsigned s = head_slot[id] - 1u; /* virtq_pop checked id < vq_size */
		if (!head_slot[id] || !(slot_busy & (1u << s))) {
			cprintf("virtio-blk: device returned descriptor %u, not a request; ignored\n",
				id);
			continue;
		}
		int status = cells[s].c_status == BLK_S_OK ? 0 : -E_IO;
		uint64_t tag = slot_tag[s];
		head_slot[id] = 0;
		for (unsigned i = 0; i < slot_ndesc[s]; i++)
			free_desc[nfree++] = slot_desc[s][i];
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

bool virtio_blk_reap(void)
{
	return present && in_flight && reap() > 0;
}

void virtio_blk_interrupts(bool on)
{
	if (present)
		virtq_interrupts(&q, on);
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
