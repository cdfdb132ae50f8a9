#ifndef EXO_KERN_DLCODE_H
#define EXO_KERN_DLCODE_H

#include <inc/types.h>

struct env;

long sys_bpf_load(uint64_t uargs);
long sys_bpf_unload(uint64_t slot);
long sys_env_sleep_until(uint64_t slot, uint64_t arg, uint64_t ticks);

/* e sleeps on a predicate (env_sleep_pred >= 0): does it hold now? */
bool dlcode_pred_holds(struct env *e);
/* e is dying: unload its programs. */
void dlcode_env_gone(struct env *e);

#endif
