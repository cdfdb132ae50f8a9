/*
 * The network multiplexer: receive rings, demultiplexing, and the network
 * system calls (declared here for kern/syscall.c's dispatch).
 */
#ifndef EXO_KERN_NET_H
#define EXO_KERN_NET_H

#include <inc/types.h>
#include <kern/env/env.h>

struct net_info;

#define NET_RINGS 32 /* rings attached at once: bounds the kernel's table */

/* Start the NIC if there is one (after pci_init). */
void net_init(void);
/* IRQ_NET: the NIC has frames or finished transmissions. */
void net_irq(void);
/* e is gone (env_gone_register): its ring goes. */
void net_env_gone(struct env *e, enum env_end how);

long sys_net_ring_attach(uint64_t va, uint64_t npages);
long sys_net_send(uint64_t va, uint64_t len);
long sys_net_send_batch(uint64_t segs, uint64_t n);

/* Between net.c and nettx.c (transmit). */
/* A frame is going to the device: count it (and the turnaround). */
void net_count_tx(void);
void nettx_init(void);
void nettx_env_gone(struct env *e);
/* The transmit counters, into *ni. */
void nettx_info(struct net_info *ni);
/* A frame of the kernel's (a packet handler's reply), copied: 0, -E_RANGE
 * (length), -E_AGAIN (no room or no device). */
int net_tx_kernel_frame(const void *frame, uint64_t len);
long sys_net_info(uint64_t out);
long sys_net_wait(uint64_t ticks);

#endif
