/*
 * The virtio-net driver: one NIC, frames in and out. It only moves frames;
 * who may send and who receives what is kern/net/net.c's business.
 */
#ifndef EXO_KERN_VIRTIO_NET_H
#define EXO_KERN_VIRTIO_NET_H

#include <inc/types.h>

/* A received frame, in the driver's buffer, valid only during the call. */
typedef void virtio_net_rx_fn(const uint8_t *frame, uint32_t len);

/* Find and start the first virtio-net device (after pci_init, lapic_init
 * and trap_init), handing every received frame to rx (the network layer
 * above registers itself so). Without one, the kernel runs with no network. */
void virtio_net_init(virtio_net_rx_fn *rx);
/* Is there a working device? */
bool virtio_net_present(void);
/* Its MAC address. */
void virtio_net_mac(uint8_t mac[6]);
/* Link up? (true if the device cannot tell) */
bool virtio_net_link_up(void);
/* A transmit buffer of NET_FRAME_MAX bytes to fill, or NULL if every one is
 * still with the device. virtio_net_tx_commit sends the first len bytes. */
void *virtio_net_tx_begin(void);
void virtio_net_tx_commit(uint32_t len);
/* The device's interrupt: every received frame goes to the rx function,
 * finished transmit buffers come back. */
void virtio_net_irq(void);

#endif
