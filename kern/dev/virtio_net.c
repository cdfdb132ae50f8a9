/*
 * virtio-net (virtio spec 1.x, 5.1): one NIC with a receive queue (0) and a
 * transmit queue (1), no offloads, no control queue. Negotiated: VERSION_1
 * (required), MAC and STATUS when offered. Each frame is preceded in its
 * buffer by the 12-byte struct virtio_net_hdr, all zero on transmit (no
 * checksum or segmentation offload asked) and ignored on receive.
 *
 * Buffers are the kernel's: VIRTQ_MAX / 2 of NET_BUF bytes per queue, two
 * a page, each descriptor owning one buffer for good. Receive buffers are
 * handed back to the device as soon as the rx function has copied the frame out,
 * so the device never waits on an env. A transmit buffer is filled by
 * net.c (a copy of the sender's frame, see there) and comes back when the
 * device marks it used; transmit completions are reaped lazily, when
 * buffers run out and on each interrupt.
 *
 * Interrupts: MSI-X entry 0, vector IRQ_NET, for both queues, to the boot
 * CPU. Configuration changes (link up/down) raise nothing; sys_net_info
 * reads the link state when asked.
 *
 * No device (the default QEMU boot has no NIC) is a normal state: every
 * entry point answers "not present".
 *
 * Locking: the big kernel lock (interrupt and system calls alike).
 */
#include <inc/error.h>
#include <inc/net.h>
#include <kern/arch/console.h>
#include <kern/arch/lapic.h>
#include <kern/arch/mmu.h>
#include <kern/mem/pmap.h>
#include <kern/arch/trap.h>
#include <kern/dev/virtio.h>
#include <kern/dev/virtio_net.h>
#include <common/string.h>

#define VIRTIO_NET_MODERN_ID 0x1041      /* 0x1040 + device type 1 */
#define VIRTIO_NET_TRANSITIONAL_ID 0x1000

#define NET_F_MAC (1UL << 5)
#define NET_F_STATUS (1UL << 16)
#define NET_S_LINK_UP 1
#define NET_CFG_MAC 0
#define NET_CFG_STATUS 6

#define RX_QUEUE 0
#define TX_QUEUE 1
#define NET_QSIZE 64       /* buffers per queue: 32 pages each way */
#define NET_HDR_LEN 12     /* struct virtio_net_hdr with num_buffers (VERSION_1) */
#define NET_BUF 2048       /* header + the largest frame, two a page */
#define MSIX_ENTRY 0

_Static_assert(NET_HDR_LEN + NET_FRAME_MAX <= NET_BUF, "a frame fits its buffer");

static struct virtio_dev vdev;
static struct virtq rxq, txq;
static bool present, has_status;
static uint8_t mac[6];
static physaddr_t rx_pa[NET_QSIZE], tx_pa[NET_QSIZE];
static uint16_t tx_free[NET_QSIZE];   /* transmit descriptors not with the device */
static uint16_t ntx_free;
static uint16_t tx_cur;               /* taken by virtio_net_tx_begin */

/* Take n buffers of NET_BUF bytes from fresh kernel pages. */
static int alloc_buffers(physaddr_t *pa, uint16_t n)
{
	for (uint16_t i = 0; i < n; i += 2) {
		long ppn = page_take(NULL, PAGE_KERNEL, PPN_ANY);
		if (ppn < 0)
			return -E_NO_MEM;
		pa[i] = (physaddr_t)ppn << PAGE_SHIFT;
		if (i + 1 < n)
			pa[i + 1] = pa[i] + NET_BUF;
	}
	return 0;
}

static void rx_give(uint16_t i)
{
	virtq_desc_set(&rxq, i, rx_pa[i], NET_BUF, VIRTQ_DESC_F_WRITE);
	virtq_push(&rxq, i);
}

static int start(struct pci_dev *d)
{
	int r = virtio_attach(&vdev, d);
	if (r < 0)
		return r;
	pci_msix_route(&vdev.vd_msix, MSIX_ENTRY, IRQ_NET, lapic_id());
	pci_msix_enable(d, &vdev.vd_msix);
	uint64_t got;
	r = virtio_negotiate(&vdev, NET_F_MAC | NET_F_STATUS, VIRTIO_F_VERSION_1, &got);
	if (r < 0)
		return r;
	has_status = got & NET_F_STATUS;
	if ((r = virtio_queue_init(&vdev, &rxq, RX_QUEUE, NET_QSIZE, MSIX_ENTRY)) < 0 ||
	    (r = virtio_queue_init(&vdev, &txq, TX_QUEUE, NET_QSIZE, MSIX_ENTRY)) < 0)
		return r;
	virtio_config_vector(&vdev, VIRTIO_NO_VECTOR);
	if ((r = alloc_buffers(rx_pa, rxq.vq_size)) < 0 ||
	    (r = alloc_buffers(tx_pa, txq.vq_size)) < 0)
		return r;
	if (!(got & NET_F_MAC) || !virtio_config_read(&vdev, NET_CFG_MAC, mac, 6)) {
		/* no address from the device: QEMU's default, locally administered */
		static const uint8_t fallback[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
		memcpy(mac, fallback, 6);
	}
	for (uint16_t i = 0; i < rxq.vq_size; i++)
		rx_give(i);
	for (uint16_t i = 0; i < txq.vq_size; i++)
		tx_free[ntx_free++] = i;
	virtio_ready(&vdev);
	virtq_kick(&rxq);
	return 0;
}

static virtio_net_rx_fn *rx_fn;

void virtio_net_init(virtio_net_rx_fn *rx)
{
	rx_fn = rx;
	struct pci_dev *d =
		pci_find(VIRTIO_VENDOR, VIRTIO_NET_MODERN_ID, VIRTIO_NET_TRANSITIONAL_ID);
	if (!d) {
		cprintf("virtio-net: no device; no network\n");
		return;
	}
	d->pd_claimed = true;
	int r = start(d);
	if (r < 0) {
		virtio_fail(&vdev);
		cprintf("virtio-net: %02x:%02x.%x unusable: %e; no network\n", d->pd_bus, d->pd_dev,
			d->pd_fn, r);
		return;
	}
	present = true;
	cprintf("virtio-net: %02x:%02x.%x mac %02x:%02x:%02x:%02x:%02x:%02x, registers at %#lx, "
		"%u+%u buffers, vector %d\n",
		d->pd_bus, d->pd_dev, d->pd_fn, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
		vdev.vd_common_pa, rxq.vq_size, txq.vq_size, IRQ_NET);
}

bool virtio_net_present(void)
{
	return present;
}

void virtio_net_mac(uint8_t out[6])
{
	memcpy(out, mac, 6);
}

bool virtio_net_link_up(void)
{
	uint16_t status;
	if (!present)
		return false;
	if (!has_status || !virtio_config_read(&vdev, NET_CFG_STATUS, &status, 2))
		return true;
	return status & NET_S_LINK_UP;
}

static void tx_reap(void)
{
	uint16_t id;
	uint32_t len;
	while (virtq_pop(&txq, &id, &len))
		if (ntx_free < txq.vq_size)
			tx_free[ntx_free++] = id;
}

void *virtio_net_tx_begin(void)
{
	if (!present)
		return NULL;
	if (!ntx_free)
		tx_reap();
	if (!ntx_free)
		return NULL;
	tx_cur = tx_free[--ntx_free];
	uint8_t *buf = KADDR(tx_pa[tx_cur]);
	memset(buf, 0, NET_HDR_LEN);
	return buf + NET_HDR_LEN;
}

void virtio_net_tx_commit(uint32_t len)
{
	virtq_desc_set(&txq, tx_cur, tx_pa[tx_cur], NET_HDR_LEN + len, 0);
	virtq_push(&txq, tx_cur);
	virtq_kick(&txq);
}

void virtio_net_irq(void)
{
	if (!present)
		return;
	uint16_t id;
	uint32_t len;
	bool gave = false;
	while (virtq_pop(&rxq, &id, &len)) {
		if (len > NET_HDR_LEN && len <= NET_BUF)
			rx_fn((uint8_t *)KADDR(rx_pa[id]) + NET_HDR_LEN, len - NET_HDR_LEN);
		rx_give(id);
		gave = true;
	}
	if (gave)
		virtq_kick(&rxq);
	tx_reap();
}
