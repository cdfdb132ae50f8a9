/*
 * virtio-net (virtio spec 1.x, 5.1): one NIC with a receive queue (0) and a
 * transmit queue (1), no control queue. Negotiated: VERSION_1 (required),
 * MAC and STATUS when offered, and the offloads when offered (QEMU offers
 * them when its backend takes the header: a TAP device): on transmit CSUM
 * and HOST_TSO4, on receive GUEST_CSUM, and GUEST_TSO4 with MRG_RXBUF.
 * Each frame is preceded in its buffer by the 12-byte struct
 * virtio_net_hdr: on transmit all zero unless the sender asked an offload
 * (virtio_net_tx_offload).
 *
 * Receive offload: the device may hand over a TCP segment the host
 * coalesced (up to NET_TSO_FRAME_MAX bytes) in several buffers
 * (num_buffers in the first's header), which are put together in rx_frame;
 * and a frame's checksum may be vouched for (DATA_VALID) or, from a sender
 * on the host itself, not yet computed (NEEDS_CSUM). The layers above see
 * complete frames only: a partial checksum is finished here for a frame of
 * one buffer (so a packet handler may echo it), and a coalesced frame's is
 * left undone and the frame flagged as checked (VIRTIO_NET_RX_SUM_OK).
 *
 * Receive buffers are the kernel's: NET_RXQ of NET_BUF bytes, two a page,
 * each descriptor owning one buffer for good, handed back to the device as
 * soon as the rx function has copied the frame out, so the device never
 * waits on an env.
 *
 * Transmit: a frame is a descriptor chain (VERSION_1 implies any layout).
 * Its head descriptor's own kernel buffer holds the virtio header and every
 * run of bytes the caller asks to be copied (virtio_net_tx_copy); a part
 * the caller asks to be read in place (virtio_net_tx_ref: zero copy, from
 * memory the caller keeps still until told) gets a descriptor of its own.
 * Nothing is published until virtio_net_tx_end, and the device is told
 * only by virtio_net_tx_kick: a caller queues several frames and rings
 * once. A chain comes back when the device marks its head used; its
 * descriptors return to the free list and the done function hears the
 * frame's id (so the layer above can unpin what it pinned). Completions
 * are reaped on each interrupt, when descriptors run short, and when the
 * layer above asks (virtio_net_tx_reap).
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

#define NET_F_CSUM (1UL << 0)      /* the device checksums what we ask it to */
#define NET_F_HOST_TSO4 (1UL << 11) /* ... and segments TCP over IPv4 */
#define NET_F_GUEST_CSUM (1UL << 1) /* it may pass frames with checksums unchecked */
#define NET_F_GUEST_TSO4 (1UL << 7) /* ... and TCP segments longer than the MTU */
#define NET_F_MRG_RXBUF (1UL << 15) /* ... in several receive buffers */
#define NET_F_MAC (1UL << 5)
#define NET_F_STATUS (1UL << 16)
#define NET_S_LINK_UP 1
#define NET_CFG_MAC 0
#define NET_CFG_STATUS 6

#define RX_QUEUE 0
#define TX_QUEUE 1
#define NET_RXQ VIRTQ_MAX  /* receive buffers: 64 pages (a coalesced segment takes 33) */
#define NET_TXQ VIRTQ_MAX  /* transmit descriptors (each with a buffer: 64 pages) */
#define TX_CHAIN_MAX VIRTIO_NET_TX_CHAIN_MAX /* bounds chain[] */
#define NET_HDR_LEN 12     /* struct virtio_net_hdr with num_buffers (VERSION_1) */
#define NET_BUF 2048       /* header + the largest frame, two a page */
#define MSIX_ENTRY 0
#define VIRTQ_USED_F_NO_NOTIFY 1 /* the device: do not kick me now (2.7.10) */
#define HDR_F_NEEDS_CSUM 1     /* virtio_net_hdr.flags: csum_start/offset are set */
#define HDR_F_DATA_VALID 2     /* ... on receive: the device checked the checksums */
#define HDR_GSO_TCPV4 1        /* virtio_net_hdr.gso_type */

/* struct virtio_net_hdr (5.1.6), little-endian like the machine. */
struct net_hdr {
	uint8_t h_flags;
	uint8_t h_gso_type;
	uint16_t h_hdr_len;
	uint16_t h_gso_size;
	uint16_t h_csum_start;
	uint16_t h_csum_offset;
	uint16_t h_num_buffers;
};
_Static_assert(sizeof(struct net_hdr) == 12, "virtio_net_hdr");

_Static_assert(NET_HDR_LEN + NET_FRAME_MAX <= NET_BUF, "a frame fits its buffer");

static struct virtio_dev vdev;
static struct virtq rxq, txq;
static bool present, has_status;
static uint8_t offloads; /* NET_OFFLOAD_* */
static bool mrg_rxbuf;   /* a received frame may span buffers */
static uint8_t rx_frame[NET_TSO_FRAME_MAX]; /* one put together (big kernel lock) */
static uint64_t rx_bad; /* frames the device described impossibly: dropped */
static uint8_t mac[6];
static physaddr_t rx_pa[NET_RXQ], tx_pa[NET_TXQ];
static uint16_t tx_free[NET_TXQ];   /* transmit descriptors not with the device */
static uint16_t ntx_free;
static virtio_net_tx_done_fn *tx_done;

/* Each frame with the device, by its head descriptor: the chain. */
static struct {
	uint16_t c_n;
	uint16_t c_desc[TX_CHAIN_MAX];
} chain[NET_TXQ];

/* The frame being built (between virtio_net_tx_start and _end). */
static uint16_t cur_head, cur_last;
static uint32_t cur_copied; /* bytes used in the head's buffer, header included */
static bool cur_last_is_buf; /* the last descriptor is a run in the head's buffer */

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
	uint64_t want = NET_F_MAC | NET_F_STATUS | NET_F_CSUM | NET_F_HOST_TSO4 | NET_F_GUEST_CSUM;
	uint64_t lro = NET_F_GUEST_CSUM | NET_F_GUEST_TSO4 | NET_F_MRG_RXBUF;
	if ((virtio_offered(&vdev) & lro) == lro)
		want |= NET_F_GUEST_TSO4 | NET_F_MRG_RXBUF; /* all three, or none */
	r = virtio_negotiate(&vdev, want, VIRTIO_F_VERSION_1, &got);
	if (r < 0)
		return r;
	has_status = got & NET_F_STATUS;
	if (got & NET_F_CSUM)
		offloads = NET_OFFLOAD_CSUM | (got & NET_F_HOST_TSO4 ? NET_OFFLOAD_TSO4 : 0);
	if (got & NET_F_GUEST_CSUM)
		offloads |=
			NET_OFFLOAD_RX_CSUM | (got & NET_F_GUEST_TSO4 ? NET_OFFLOAD_RX_TSO4 : 0);
	mrg_rxbuf = got & NET_F_MRG_RXBUF;
	if ((r = virtio_queue_init(&vdev, &rxq, RX_QUEUE, NET_RXQ, MSIX_ENTRY)) < 0 ||
	    (r = virtio_queue_init(&vdev, &txq, TX_QUEUE, NET_TXQ, MSIX_ENTRY)) < 0)
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
		"%u+%u buffers, vector %d%s%s%s\n",
		d->pd_bus, d->pd_dev, d->pd_fn, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
		vdev.vd_common_pa, rxq.vq_size, txq.vq_size, IRQ_NET,
		offloads & NET_OFFLOAD_CSUM ? ", tx checksums" : "",
		offloads & NET_OFFLOAD_TSO4 ? ", tso" : "",
		offloads & NET_OFFLOAD_RX_TSO4 ? ", rx coalescing" : "");
}

bool virtio_net_present(void)
{
	return present;
}

void virtio_net_mac(uint8_t out[6])
{
	memcpy(out, mac, 6);
}

uint8_t virtio_net_offloads(void)
{
	return present ? offloads : 0;
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

void virtio_net_set_tx_done(virtio_net_tx_done_fn *fn)
{
	tx_done = fn;
}

uint16_t virtio_net_tx_size(void)
{
	return present ? txq.vq_size : 0;
}

void virtio_net_tx_reap(void)
{
	uint16_t id;
	uint32_t len;
	while (present && virtq_pop(&txq, &id, &len)) {
		if (!chain[id].c_n) {
			cprintf("virtio-net: device returned idle descriptor %u; ignored\n", id);
			continue;
		}
		for (uint16_t i = 0; i < chain[id].c_n; i++)
			tx_free[ntx_free++] = chain[id].c_desc[i];
		chain[id].c_n = 0;
		if (tx_done)
			tx_done(id);
	}
}

/* Take a free descriptor into the frame being built (reserved by _start). */
static uint16_t take_desc(void)
{
	uint16_t d = tx_free[--ntx_free];
	chain[cur_head].c_desc[chain[cur_head].c_n++] = d;
	return d;
}

/* Append descriptor d (filled) to the frame being built. */
static void link_desc(uint16_t d)
{
	txq.vq_desc[cur_last].d_flags |= VIRTQ_DESC_F_NEXT;
	txq.vq_desc[cur_last].d_next = d;
	cur_last = d;
}

int virtio_net_tx_start(unsigned ndesc)
{
	if (!present)
		return -E_NOT_FOUND;
	if (ndesc < 1 || ndesc > TX_CHAIN_MAX)
		return -E_INVAL;
	if (ntx_free < ndesc)
		virtio_net_tx_reap();
	if (ntx_free < ndesc)
		return -E_AGAIN;
	chain[tx_free[ntx_free - 1]].c_n = 0;
	cur_head = tx_free[ntx_free - 1];
	take_desc();
	cur_last = cur_head;
	memset(KADDR(tx_pa[cur_head]), 0, NET_HDR_LEN);
	cur_copied = NET_HDR_LEN;
	cur_last_is_buf = true;
	virtq_desc_set(&txq, cur_head, tx_pa[cur_head], NET_HDR_LEN, 0);
	return 0;
}

void virtio_net_tx_offload(const struct virtio_net_offload *o)
{
	struct net_hdr *h = KADDR(tx_pa[cur_head]);
	h->h_flags = HDR_F_NEEDS_CSUM;
	h->h_csum_start = o->o_csum_start;
	h->h_csum_offset = o->o_csum_offset;
	if (o->o_gso_size) {
		h->h_gso_type = HDR_GSO_TCPV4;
		h->h_hdr_len = o->o_hdr_len;
		h->h_gso_size = o->o_gso_size;
	}
}

void virtio_net_tx_copy(const void *src, uint32_t len)
{
	if (cur_copied + len > NET_BUF)
		panic("virtio_net_tx_copy: %u bytes after %u", len, cur_copied);
	memcpy((uint8_t *)KADDR(tx_pa[cur_head]) + cur_copied, src, len);
	if (cur_last_is_buf) {
		txq.vq_desc[cur_last].d_len += len; /* the run goes on */
	} else {
		uint16_t d = take_desc();
		virtq_desc_set(&txq, d, tx_pa[cur_head] + cur_copied, len, 0);
		link_desc(d);
		cur_last_is_buf = true;
	}
	cur_copied += len;
}

void virtio_net_tx_ref(physaddr_t pa, uint32_t len)
{
	uint16_t d = take_desc();
	virtq_desc_set(&txq, d, pa, len, 0);
	link_desc(d);
	cur_last_is_buf = false;
}

uint16_t virtio_net_tx_end(void)
{
	virtq_push(&txq, cur_head);
	return cur_head;
}

bool virtio_net_tx_kick(void)
{
	/* A device still working through the queue says so (2.7.10): it
	 * will see the new frames without being told, and telling it is an
	 * exit to the emulator. Read after the frames are published. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (txq.vq_used->u_flags & VIRTQ_USED_F_NO_NOTIFY)
		return false;
	virtq_kick(&txq);
	return true;
}

/* Finish the partial checksum of a frame (NEEDS_CSUM): the sum of its
 * bytes from start on, with the field at start + off holding the
 * pseudo-header's, folded into the field. false if it does not fit. */
static bool finish_sum(uint8_t *frame, uint32_t len, uint16_t start, uint16_t off)
{
	if (start >= len || len - start < 2 || off > len - start - 2)
		return false; /* the device's offsets are outside the frame */
	uint32_t sum = 0;
	for (uint32_t i = start; i + 1 < len; i += 2)
		sum += (uint32_t)frame[i] << 8 | frame[i + 1];
	if ((len - start) & 1)
		sum += (uint32_t)frame[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	uint16_t v = (uint16_t)~sum;
	frame[start + off] = (uint8_t)(v >> 8);
	frame[start + off + 1] = (uint8_t)v;
	return true;
}

/* Give back the n buffers after the one taken: the rest of a frame that
 * is being dropped. */
static void rx_skip(uint16_t n)
{
	uint16_t id;
	uint32_t len;
	while (n-- && virtq_pop(&rxq, &id, &len))
		rx_give(id);
}

/* The frame that starts in buffer id (len bytes, header included): to the
 * rx function, put together if it spans buffers. */
static void rx_one(uint16_t id, uint32_t len)
{
	uint8_t *buf = KADDR(rx_pa[id]);
	struct net_hdr h = *(struct net_hdr *)buf;
	uint16_t nbuf = mrg_rxbuf ? h.h_num_buffers : 1;
	if (len <= NET_HDR_LEN || len > NET_BUF || nbuf == 0 || nbuf > NET_RXQ) {
		rx_bad++;
		rx_give(id);
		if (nbuf > 1 && nbuf <= NET_RXQ)
			rx_skip(nbuf - 1);
		return;
	}
	bool sum_ok = h.h_flags & HDR_F_DATA_VALID;
	if (nbuf == 1) {
		uint8_t *frame = buf + NET_HDR_LEN;
		uint32_t flen = len - NET_HDR_LEN;
		if (h.h_flags & HDR_F_NEEDS_CSUM)
			sum_ok = finish_sum(frame, flen, h.h_csum_start, h.h_csum_offset);
		rx_fn(frame, flen, sum_ok);
		rx_give(id);
		return;
	}
	uint32_t got = len - NET_HDR_LEN;
	memcpy(rx_frame, buf + NET_HDR_LEN, got);
	rx_give(id);
	for (uint16_t k = 1; k < nbuf; k++) {
		if (!virtq_pop(&rxq, &id, &len)) {
			rx_bad++; /* the device said more buffers than it gave */
			return;
		}
		if (len > NET_BUF || got + len > sizeof(rx_frame)) {
			rx_bad++;
			rx_give(id);
			rx_skip(nbuf - 1 - k);
			return;
		}
		memcpy(rx_frame + got, KADDR(rx_pa[id]), len);
		got += len;
		rx_give(id);
	}
	/* coalesced by the host from segments it checked or made itself */
	rx_fn(rx_frame, got, sum_ok || (h.h_flags & HDR_F_NEEDS_CSUM));
}

uint64_t virtio_net_rx_bad(void)
{
	return rx_bad;
}

void virtio_net_irq(void)
{
	if (!present)
		return;
	uint16_t id;
	uint32_t len;
	bool gave = false;
	while (virtq_pop(&rxq, &id, &len)) {
		rx_one(id, len);
		gave = true;
	}
	if (gave)
		virtq_kick(&rxq);
	virtio_net_tx_reap();
}
