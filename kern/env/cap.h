#ifndef EXO_KERN_CAP_H
#define EXO_KERN_CAP_H

#include <inc/cap.h>

struct env;

/* Does key's name prefix guard's? */
bool cap_dominates(const struct cap *key, const struct cap *guard);
/* The caller's key in slot: 0 with *key set, -E_BAD_CAP (slot out of range
 * or empty). */
int cap_key(struct env *e, uint64_t slot, const struct cap **key);
/* Does e's key in slot authorise `rights` on a resource guarded by guard?
 * 0, -E_BAD_CAP, or -E_PERM. */
int cap_check(struct env *e, uint64_t slot, const struct cap *guard, unsigned rights);

bool cap_same_name(const struct cap *a, const struct cap *b);
/* Give child its guard - key's name plus two components, the child's env id -
 * and its own key in CAP_SELF, charged to its family's QUOTA_KEYS. -E_RANGE
 * if the name cannot grow, -E_QUOTA if the family has no room for a key. */
int cap_init_child(struct env *child, const struct cap *key);
/* The first env: the root name (empty), which dominates everything. */
void cap_init_root(struct env *e);
/* e is going: empty its ring and give its keys back to its family's
 * QUOTA_KEYS. */
void cap_ring_release(struct env *e);

/* Page guards, interned: pages mostly share their owner's guard. At most
 * GUARD_MAX - 1 distinct ones at once. */
#define GUARD_MAX 4096
void cap_init(void);
/* Intern guard, a new entry charged to acct; returns its id (> 0) or
 * -E_NO_MEM (the table is full) or -E_QUOTA (acct's family holds its
 * share). */
struct account;
long guard_get(const struct cap *guard, struct account *acct);
void guard_put(uint32_t id);
const struct cap *guard_of(uint32_t id);

/* The key-ring system calls (inc/syscall.def), for kern/syscall.c. */
long sys_cap_derive(uint64_t src, uint64_t dst, uint64_t rights, uint64_t uname, uint64_t ncomp);
long sys_cap_grant(uint64_t src, envid_t envid);
long sys_cap_drop(uint64_t slot);
long sys_cap_read(envid_t envid, uint64_t slot, uint64_t out);

#endif
