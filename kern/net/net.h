/*
 * The network multiplexer: receive rings, demultiplexing, and the network
 * system calls (declared here for kern/syscall.c's dispatch).
 */
#ifndef EXO_KERN_NET_H
#define EXO_KERN_NET_H

#include <inc/types.h>
#include <kern/env/env.h>

#define NET_RINGS 32 /* rings attached at once: bounds the kernel's table */

/* Start the NIC if there is one (after pci_init). */
void net_init(void);
/* IRQ_NET: the NIC has frames or finished transmissions. */
void net_irq(void);
/* e is gone (env_gone_register): its ring goes. */
void net_env_gone(struct env *e, enum env_end how);

long sys_net_ring_attach(uint64_t va, uint64_t npages);
long sys_net_send(uint64_t va, uint64_t len);
long sys_net_info(uint64_t out);
long sys_net_wait(uint64_t ticks);

#endif
