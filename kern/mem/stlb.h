#ifndef EXO_KERN_STLB_H
#define EXO_KERN_STLB_H

#include <inc/env.h>
#include <inc/stlb.h>
#include <inc/types.h>

struct vm_cursor;

struct vmspace;

/* One verified binding: env (by slot) sees page ppn at va with rights. The
 * pool is exposed read-only at USTLB, so its layout is inc/stlb.h's. */
#define binding stlb_entry

#define ENV_BINDINGS_MAX 65536 /* per env; families share QUOTA_BINDINGS */
#define STLB_POOL_MAX (1u << 20) /* bindings in all: 32 MiB of pool at most */

/* Bind ppn at va in vs (replacing what was there) and install the hardware
 * mapping. Checks are the caller's; fails only -E_NO_MEM, -E_QUOTA (the
 * family's QUOTA_BINDINGS) or -E_BUSY (the page has UINT16_MAX bindings). */
int stlb_bind(struct vmspace *vs, uint64_t va, ppn_t ppn, unsigned rights);
/* Make sure n new bindings in vs cannot fail for want of room: its own
 * maximum, its family's quota, the pool (grown now if need be). 0,
 * -E_QUOTA (the family's) or -E_NO_MEM, nothing changed but the pool's
 * size. */
int stlb_reserve(struct vmspace *vs, uint32_t n);
/* User binds stop short of the reference count's limit, leaving room for
 * the loader to bind a shared image page into every env there can be: no
 * env can lock others out of starting a program by binding its text. */
#define PAGE_REFS_USER_MAX (UINT16_MAX - NENV)
void stlb_unbind(struct vmspace *vs, uint64_t va);
const struct binding *stlb_lookup(struct vmspace *vs, uint64_t va);
/* The number of vs's binding at va (for stlb_protect), or 0. */
uint32_t stlb_find(struct vmspace *vs, uint64_t va);
/* Give vs's binding number i the rights `rights`, keeping its page, and
 * rewrite its hardware entry if it has one (through cursor c, see vm.h).
 * Checks are the caller's. */
void stlb_protect(struct vmspace *vs, uint32_t i, unsigned rights, struct vm_cursor *c);
/* A page fault at va with error err: install the mapping from the STLB if a
 * binding allows the access. true if the fault is resolved. */
bool stlb_refill(struct vmspace *vs, uint64_t va, uint64_t err);
/* The hardware's dirty bit for va is about to be lost (its page-table entry
 * dropped or rewritten): keep it in the binding. */
void stlb_note_dirty(struct vmspace *vs, uint64_t va);
/* Remove every binding of vs, leaving its page-table entries: the caller
 * drops the tables right after (vm_flush or vm_destroy), before vs runs. */
void stlb_clear(struct vmspace *vs);
/* Remove every binding of vs whose va keep(va, arg) does not keep. */
void stlb_clear_unless(struct vmspace *vs, bool (*keep)(uint64_t va, const void *arg),
		       const void *arg);
/* Move vs's binding at from (if any) to to, same page, rights and dirty
 * bit; nothing may be bound at to. Cannot fail: no binding is made or freed. */
void stlb_move(struct vmspace *vs, uint64_t from, uint64_t to);
/* Remove every binding of page ppn held by vs (or by anyone if NULL). */
void stlb_unbind_page(ppn_t ppn, struct vmspace *only);
/* Binding number i of a chain (page_binds, b_page_next); i > 0. */
const struct binding *stlb_binding(uint32_t i);
/* Does vs bind ppn somewhere with at least rights? */
bool stlb_env_binds(struct vmspace *vs, ppn_t ppn, unsigned rights);
/* An address space other than vs that binds ppn, or NULL. */
struct vmspace *stlb_other_binder(ppn_t ppn, struct vmspace *vs);

#endif
