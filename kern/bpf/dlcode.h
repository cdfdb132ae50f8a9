#ifndef EXO_KERN_DLCODE_H
#define EXO_KERN_DLCODE_H

#include <inc/types.h>
#include <kern/env/env.h>


long sys_bpf_load(uint64_t uargs);
long sys_bpf_unload(uint64_t slot);
long sys_env_sleep_until(uint64_t slot, uint64_t arg, uint64_t ticks);

/* Become the env layer's runner of wakeup predicates (env_pred_holds). */
void dlcode_init(void);
/* Is slot one of e's packet handlers? */
bool dlcode_is_packet_handler(struct env *e, uint64_t slot);
/* Run e's packet handler in slot on a received frame: 1 deliver it, 0 it
 * was consumed, -1 the handler failed (deliver). tx sends its replies; its
 * notify messages go to e (pct_post, sender 0). */
long dlcode_run_packet(struct env *e, uint64_t slot, const uint8_t *frame, uint32_t len,
		       uint64_t arg, int (*tx)(const void *, uint64_t));
/* e is gone (env_gone_register): unload its programs. */
void dlcode_env_gone(struct env *e, enum env_end how);

#endif
