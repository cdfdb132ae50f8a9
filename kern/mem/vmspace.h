#ifndef EXO_KERN_VMSPACE_H
#define EXO_KERN_VMSPACE_H

/*
 * What the memory layer keeps for each env: its hardware page tables, its
 * software TLB's buckets and count, and the list and counts of the pages it
 * owns. One per env slot, vmspaces[ENVX(id)]; struct env points at its own
 * (env_vm). The memory layer names envs only through these, so it never
 * needs the env layer above it.
 *
 * Locking: under the big kernel lock, as the env it belongs to.
 */
#include <inc/env.h>
#include <kern/arch/mmu.h>

struct account;

#define STLB_BUCKETS 512 /* per env: bindings hash on the virtual page */

struct vmspace {
	envid_t vs_id;              /* its env's id while the slot is in use */
	struct env_info *vs_info;   /* its exposed counters (pages, bindings) */
	pte_t *vs_pml4;             /* its address space: the STLB's cache */
	physaddr_t vs_cr3;
	uint32_t *vs_stlb;          /* STLB_BUCKETS chain heads (stlb.c) */
	uint32_t vs_nbindings;      /* bindings in its STLB */
	uint32_t vs_page_list;      /* first page it owns (pmap.c's lists) */
	struct account *vs_acct;    /* its family's account (account.c) */
};

extern struct vmspace vmspaces[NENV];

/* The vmspace of the env with this id, if that env is alive, or NULL (set
 * by the env layer at boot: only it knows which ids are alive). */
extern struct vmspace *(*vmspace_lookup)(envid_t id);

#endif
