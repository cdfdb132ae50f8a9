/*
 * The virtio-net driver: one NIC, frames in and out. It only moves frames;
 * who may send and who receives what is kern/net/net.c's business.
 */
#ifndef EXO_KERN_VIRTIO_NET_H
#define EXO_KERN_VIRTIO_NET_H

#include <inc/types.h>

/* A received frame, in the driver's buffer, valid only during the call:
 * up to NET_FRAME_MAX bytes, or NET_TSO_FRAME_MAX for a TCP segment the
 * host coalesced (receive offload). sum_ok: the device vouches for its
 * TCP or UDP checksum, which a coalesced frame's field need not hold. */
typedef void virtio_net_rx_fn(const uint8_t *frame, uint32_t len, bool sum_ok);

/* Find and start the first virtio-net device (after pci_init, lapic_init
 * and trap_init), handing every received frame to rx (the network layer
 * above registers itself so). Without one, the kernel runs with no network. */
void virtio_net_init(virtio_net_rx_fn *rx);
/* Is there a working device? */
bool virtio_net_present(void);
/* Its MAC address. */
void virtio_net_mac(uint8_t mac[6]);
/* NET_OFFLOAD_* (inc/net.h): what the device was found to do. */
uint8_t virtio_net_offloads(void);
/* Link up? (true if the device cannot tell) */
bool virtio_net_link_up(void);
/*
 * Transmit. A frame is built in order from runs copied now into the
 * driver's buffer (NET_FRAME_MAX bytes in all at most) and parts the device
 * reads in place, by physical address, until the frame comes back:
 *   virtio_net_tx_start(ndesc)  reserve ndesc descriptors (1 for the copied
 *                               runs' first, 1 more per part and per run
 *                               after a part; at most VIRTIO_NET_TX_CHAIN_MAX):
 *                               0, -E_AGAIN (too few free: try later),
 *                               -E_INVAL, -E_NOT_FOUND (no device)
 *   virtio_net_tx_copy / _ref   add bytes, within the reservation
 *   virtio_net_tx_end()         publish it (not yet noticed); its id
 *   virtio_net_tx_kick()        tell the device, once for many frames
 *                               (unless it is busy with the queue anyway)
 * The done function hears each frame's id once the device is done with
 * it (from virtio_net_tx_reap or the interrupt).
 */
#define VIRTIO_NET_TX_CHAIN_MAX 33 /* descriptors one frame may use */

/* What the device is asked to do to a frame (the virtio-net header's
 * fields, 5.1.6.2): o_csum_start 0 asks nothing; o_gso_size 0 asks only
 * the checksum. */
struct virtio_net_offload {
	uint16_t o_csum_start;  /* where the sum starts: the TCP or UDP header */
	uint16_t o_csum_offset; /* where in it the sum goes */
	uint16_t o_hdr_len;     /* TSO: bytes of headers each segment repeats */
	uint16_t o_gso_size;    /* TSO: payload bytes per segment */
};

typedef void virtio_net_tx_done_fn(uint16_t id);
void virtio_net_set_tx_done(virtio_net_tx_done_fn *fn);
int virtio_net_tx_start(unsigned ndesc);
/* Ask the offload o of the frame just started (o->o_csum_start != 0; only
 * what virtio_net_offloads() says the device does). */
void virtio_net_tx_offload(const struct virtio_net_offload *o);
void virtio_net_tx_copy(const void *src, uint32_t len);
void virtio_net_tx_ref(physaddr_t pa, uint32_t len);
uint16_t virtio_net_tx_end(void);
/* false: the device asked not to be told (it is still busy with the
 * queue and will find the new frames itself). */
bool virtio_net_tx_kick(void);
/* Take back the frames the device has finished. */
void virtio_net_tx_reap(void);
/* Descriptors in the transmit queue (0 without a device): ids are below. */
uint16_t virtio_net_tx_size(void);
/* Received frames the device described impossibly (dropped). */
uint64_t virtio_net_rx_bad(void);
/* The device's interrupt: every received frame goes to the rx function,
 * finished transmit buffers come back. */
void virtio_net_irq(void);

#endif
