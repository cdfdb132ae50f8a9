#ifndef EXO_KERN_DLCODE_H
#define EXO_KERN_DLCODE_H

#include <inc/types.h>
#include <kern/env/env.h>

struct bpf_insn;
struct bpf_region;
struct bpf_verify_error;
struct kprog;

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
/* A program the kernel keeps for itself (XN's UDFs, loaded from disk):
 * verified and compiled like an env's, in kernel memory. NULL with *err
 * (-E_INVAL, -E_NO_MEM, -E_TOO_BIG, or -E_REFUSED with *verr filled). The
 * regions' kernel pointers are placeholders: dlcode_run_kernel gives each
 * run's. */
struct kprog *dlcode_load_kernel(uint32_t kind, const struct bpf_insn *insns, uint32_t len,
				 const struct bpf_region *regions, uint32_t nregions,
				 struct bpf_verify_error *verr, long *err);
void dlcode_unload_kernel(struct kprog *kp);
/* Was it compiled to native code (else it is interpreted: no memory)? */
bool dlcode_native(const struct kprog *kp);
/* Run it on ctx with these region addresses; r0, and *ok false if the run
 * faulted or ran out of budget. */
uint64_t dlcode_run_kernel(struct kprog *kp, void *ctx, void *const *region_kptr, bool *ok);
/* e is gone (env_gone_register): unload its programs. */
void dlcode_env_gone(struct env *e, enum env_end how);

#endif
