/*
 * The network multiplexer: receive rings, demultiplexing, and the network
 * system calls (declared here for kern/syscall.c's dispatch).
 */
#ifndef EXO_KERN_NET_H
#define EXO_KERN_NET_H

#include <inc/types.h>

/* Start the NIC if there is one (after pci_init). */
void net_init(void);
/* IRQ_NET: the NIC has frames or finished transmissions. */
void net_irq(void);
/* A frame arrived (the driver's buffer, valid only during the call). */
void net_input(const uint8_t *frame, uint32_t len);

long sys_net_ring_attach(uint64_t va, uint64_t npages);
long sys_net_send(uint64_t va, uint64_t len);
long sys_net_info(uint64_t out);
long sys_net_wait(uint64_t ticks);

#endif
