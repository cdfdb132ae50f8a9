/*
 * Virtio 1.x over PCI, the modern interface only (virtio spec 1.x, 4.1), and
 * split virtqueues (2.7).
 *
 * A modern device describes its register blocks with vendor-specific PCI
 * capabilities, each naming a BAR, an offset and a length: the common
 * configuration (features, status, queue setup), the notification area
 * (queue q is kicked by writing its number at queue_notify_off(q) *
 * notify_off_multiplier), the ISR status (only for INTx, unused: Exo
 * requires MSI-X) and the device-specific configuration. The first
 * capability of each type wins, as the spec asks.
 *
 * Initialisation follows the spec's order: reset, ACKNOWLEDGE, DRIVER,
 * feature negotiation ending in FEATURES_OK (read back: the device may
 * refuse), queue setup, DRIVER_OK. Legacy (pre-1.0) devices are not driven:
 * VIRTIO_F_VERSION_1 is required.
 *
 * A queue's descriptor table and available ring share one kernel page and
 * its used ring has another: VIRTQ_MAX entries fit, and the spec's
 * alignments (16, 2, 4 bytes) hold. The device's answers (used-ring ids and
 * lengths) are checked before use, so a confused device cannot make the
 * kernel write outside its buffers.
 *
 * Ordering: x86 keeps stores in order, so a compiler barrier separates
 * filling a ring entry from publishing its index; a full fence orders the
 * index before the notification write, which goes to uncached memory.
 *
 * Locking: the big kernel lock.
 */
#include <inc/error.h>
#include <kern/arch/console.h>
#include <kern/arch/mmu.h>
#include <kern/mem/pmap.h>
#include <kern/dev/virtio.h>

/* The common configuration structure (4.1.4.3). */
struct virtio_common {
	uint32_t c_device_feature_select;
	uint32_t c_device_feature;
	uint32_t c_driver_feature_select;
	uint32_t c_driver_feature;
	uint16_t c_msix_config;
	uint16_t c_num_queues;
	uint8_t c_device_status;
	uint8_t c_config_generation;
	uint16_t c_queue_select;
	uint16_t c_queue_size;
	uint16_t c_queue_msix_vector;
	uint16_t c_queue_enable;
	uint16_t c_queue_notify_off;
	uint32_t c_queue_desc_lo, c_queue_desc_hi;
	uint32_t c_queue_driver_lo, c_queue_driver_hi;
	uint32_t c_queue_device_lo, c_queue_device_hi;
};

_Static_assert(__builtin_offsetof(struct virtio_common, c_msix_config) == 0x10, "");
_Static_assert(__builtin_offsetof(struct virtio_common, c_device_status) == 0x14, "");
_Static_assert(__builtin_offsetof(struct virtio_common, c_queue_select) == 0x16, "");
_Static_assert(__builtin_offsetof(struct virtio_common, c_queue_desc_lo) == 0x20, "");
_Static_assert(__builtin_offsetof(struct virtio_common, c_queue_device_hi) == 0x34, "");
_Static_assert(sizeof(struct virtq_desc) == 16, "");

/* Capability layout (4.1.4): after the generic id and next bytes. */
#define CAP_LEN 2
#define CAP_CFG_TYPE 3
#define CAP_BAR 4
#define CAP_OFFSET 8
#define CAP_LENGTH 12
#define CAP_NOTIFY_MULT 16

#define CFG_COMMON 1
#define CFG_NOTIFY 2
#define CFG_ISR 3
#define CFG_DEVICE 4

/* Device status bits (2.1). */
#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define STATUS_FAILED 128

#define barrier() __asm__ volatile("" ::: "memory")

/* Map the region capability cap describes; NULL if it lies outside its BAR.
 * Its physical address in *pa. */
static volatile uint8_t *cap_region(struct pci_dev *d, uint8_t cap, uint64_t *len, physaddr_t *pa)
{
	uint8_t bar = pci_read8(d, cap + CAP_BAR);
	uint64_t off = pci_read32(d, cap + CAP_OFFSET);
	*len = pci_read32(d, cap + CAP_LENGTH);
	if (bar >= PCI_NBARS || !d->pd_bar[bar] || off + *len > d->pd_bar_size[bar])
		return NULL;
	uint8_t *base = pci_bar_map(d, bar);
	*pa = d->pd_bar[bar] + off;
	return base ? base + off : NULL;
}

int virtio_attach(struct virtio_dev *vd, struct pci_dev *d)
{
	vd->vd_pci = d;
	vd->vd_common = NULL;
	vd->vd_devcfg = vd->vd_notify = NULL;
	uint64_t common_len = 0;
	for (uint8_t cap = pci_find_cap(d, PCI_CAP_VENDOR, 0); cap;
	     cap = pci_find_cap(d, PCI_CAP_VENDOR, cap)) {
		uint8_t type = pci_read8(d, cap + CAP_CFG_TYPE);
		uint64_t len;
		physaddr_t pa;
		if (type == CFG_COMMON && !vd->vd_common) {
			vd->vd_common =
				(volatile void *)cap_region(d, cap, &len, &vd->vd_common_pa);
			common_len = len;
		} else if (type == CFG_NOTIFY && !vd->vd_notify &&
			   pci_read8(d, cap + CAP_LEN) >= CAP_NOTIFY_MULT + 4) {
			vd->vd_notify = cap_region(d, cap, &vd->vd_notify_len, &pa);
			vd->vd_notify_mult = pci_read32(d, cap + CAP_NOTIFY_MULT);
		} else if (type == CFG_DEVICE && !vd->vd_devcfg) {
			vd->vd_devcfg = cap_region(d, cap, &vd->vd_devcfg_len, &pa);
		}
	}
	if (!vd->vd_common || !vd->vd_notify)
		return -E_NOT_FOUND;
	if (common_len < sizeof(struct virtio_common))
		return -E_INVAL;
	int r = pci_msix_init(d, &vd->vd_msix);
	if (r < 0)
		return r;
	pci_enable(d);

	volatile struct virtio_common *c = vd->vd_common;
	c->c_device_status = 0; /* reset; reads 0 once done */
	for (int i = 0; i < 1000000 && c->c_device_status != 0; i++)
		__asm__ volatile("pause");
	if (c->c_device_status != 0)
		return -E_INVAL;
	c->c_device_status = STATUS_ACKNOWLEDGE;
	c->c_device_status = STATUS_ACKNOWLEDGE | STATUS_DRIVER;
	return 0;
}

uint64_t virtio_offered(struct virtio_dev *vd)
{
	volatile struct virtio_common *c = vd->vd_common;
	c->c_device_feature_select = 0;
	uint64_t offered = c->c_device_feature;
	c->c_device_feature_select = 1;
	return offered | (uint64_t)c->c_device_feature << 32;
}

int virtio_negotiate(struct virtio_dev *vd, uint64_t wanted, uint64_t required, uint64_t *got)
{
	volatile struct virtio_common *c = vd->vd_common;
	uint64_t offered = virtio_offered(vd);
	if ((offered & required) != required)
		return -E_NOT_FOUND;
	uint64_t use = offered & (wanted | required);
	c->c_driver_feature_select = 0;
	c->c_driver_feature = (uint32_t)use;
	c->c_driver_feature_select = 1;
	c->c_driver_feature = (uint32_t)(use >> 32);
	c->c_device_status = STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK;
	if (!(c->c_device_status & STATUS_FEATURES_OK))
		return -E_NOT_FOUND;
	*got = use;
	return 0;
}

int virtio_queue_init(struct virtio_dev *vd, struct virtq *q, uint16_t index, uint16_t size,
		      uint16_t vector)
{
	volatile struct virtio_common *c = vd->vd_common;
	if (index >= c->c_num_queues)
		return -E_NOT_FOUND;
	c->c_queue_select = index;
	uint16_t max = c->c_queue_size;
	if (max == 0)
		return -E_NOT_FOUND;
	size = MIN(MIN(size, max), VIRTQ_MAX);
	while (size & (size - 1))
		size &= (uint16_t)(size - 1); /* split queues want a power of two */

	long ring_ppn = page_take(NULL, PAGE_KERNEL, PPN_ANY);
	if (ring_ppn < 0)
		return -E_NO_MEM;
	long used_ppn = page_take(NULL, PAGE_KERNEL, PPN_ANY);
	if (used_ppn < 0) {
		page_give_back(ring_ppn);
		return -E_NO_MEM;
	}
	physaddr_t desc_pa = (physaddr_t)ring_ppn << PAGE_SHIFT;
	physaddr_t avail_pa = desc_pa + sizeof(struct virtq_desc) * VIRTQ_MAX;
	physaddr_t used_pa = (physaddr_t)used_ppn << PAGE_SHIFT;

	q->vq_index = index;
	q->vq_size = size;
	q->vq_desc = KADDR(desc_pa);
	q->vq_avail = KADDR(avail_pa);
	q->vq_used = KADDR(used_pa);
	q->vq_avail_idx = q->vq_used_idx = 0;
	uint64_t notify_off = (uint64_t)c->c_queue_notify_off * vd->vd_notify_mult;
	if (notify_off + 2 > vd->vd_notify_len)
		return -E_INVAL; /* the kernel pages stay taken: the device is dead anyway */
	q->vq_notify = (volatile uint16_t *)(vd->vd_notify + notify_off);

	c->c_queue_size = size;
	c->c_queue_msix_vector = vector;
	c->c_queue_desc_lo = (uint32_t)desc_pa;
	c->c_queue_desc_hi = (uint32_t)(desc_pa >> 32);
	c->c_queue_driver_lo = (uint32_t)avail_pa;
	c->c_queue_driver_hi = (uint32_t)(avail_pa >> 32);
	c->c_queue_device_lo = (uint32_t)used_pa;
	c->c_queue_device_hi = (uint32_t)(used_pa >> 32);
	c->c_queue_enable = 1;
	if (vector != VIRTIO_NO_VECTOR && c->c_queue_msix_vector != vector)
		return -E_NO_MEM; /* the device could not allocate the vector */
	return 0;
}

void virtio_config_vector(struct virtio_dev *vd, uint16_t vector)
{
	vd->vd_common->c_msix_config = vector;
}

void virtio_ready(struct virtio_dev *vd)
{
	vd->vd_common->c_device_status =
		STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK;
}

void virtio_fail(struct virtio_dev *vd)
{
	if (vd->vd_common)
		vd->vd_common->c_device_status |= STATUS_FAILED;
}

bool virtio_config_read(struct virtio_dev *vd, uint32_t off, void *dst, uint32_t len)
{
	if (!vd->vd_devcfg || (uint64_t)off + len > vd->vd_devcfg_len)
		return false;
	uint8_t *out = dst;
	for (int tries = 0; tries < 100; tries++) {
		uint8_t gen = vd->vd_common->c_config_generation;
		for (uint32_t i = 0; i < len; i++)
			out[i] = vd->vd_devcfg[off + i];
		if (vd->vd_common->c_config_generation == gen)
			return true;
	}
	return false;
}

void virtq_desc_set(struct virtq *q, uint16_t i, physaddr_t pa, uint32_t len, uint16_t flags)
{
	volatile struct virtq_desc *d = &q->vq_desc[i];
	d->d_addr = pa;
	d->d_len = len;
	d->d_flags = flags;
	d->d_next = 0;
}

void virtq_push(struct virtq *q, uint16_t i)
{
	q->vq_avail->a_ring[q->vq_avail_idx % q->vq_size] = i;
	barrier(); /* the entry before the index that publishes it */
	q->vq_avail->a_idx = ++q->vq_avail_idx;
}

void virtq_kick(struct virtq *q)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*q->vq_notify = q->vq_index;
}

void virtq_interrupts(struct virtq *q, bool on)
{
	q->vq_avail->a_flags = on ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* before the used index is read again */
}

bool virtq_pop(struct virtq *q, uint16_t *id, uint32_t *len)
{
	while (q->vq_used_idx != q->vq_used->u_idx) {
		barrier(); /* the index before the entry it covers */
		volatile struct virtq_used_elem *u =
			&q->vq_used->u_ring[q->vq_used_idx % q->vq_size];
		uint32_t i = u->u_id, n = u->u_len;
		q->vq_used_idx++;
		if (i < q->vq_size) {
			*id = (uint16_t)i;
			*len = n;
			return true;
		}
		cprintf("virtio: queue %u: device returned descriptor %u of %u; ignored\n",
			q->vq_index, i, q->vq_size);
	}
	return false;
}
