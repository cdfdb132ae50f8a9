#ifndef EXO_KERN_NETFILTER_H
#define EXO_KERN_NETFILTER_H

#include <inc/types.h>
#include <kern/env/env.h>

void netfilter_init(void);
/* The env whose filter accepts the frame (its hit counted), or 0; *ash the
 * slot of the filter's packet handler (-1: none) and *arg its word. */
envid_t netfilter_demux(const uint8_t *frame, uint32_t len, int64_t *ash, uint64_t *arg);
/* e is dying: remove its filters. */
void netfilter_env_gone(struct env *e, enum env_end how);

long sys_net_filter_add(uint64_t ufilter, uint64_t cap);
long sys_net_filter_remove(uint64_t id);
long sys_net_filters(uint64_t out, uint64_t max);
long sys_net_filter_ash(uint64_t id, uint64_t slot, uint64_t arg);

#endif
