/*
 * Env address spaces: the hardware page tables that hold an env's bindings,
 * and safe access to user memory from the kernel.
 *
 * Each env has its own PML4. Its upper half (256..511) is the kernel's, copied
 * at creation; slot 255 is the shared exposed window; slots 0..254 hold the
 * env's own bindings, in page-table pages the kernel allocates and charges to
 * the env (PAGE_PGTABLE, owned by it, never bindable or freeable by it).
 *
 * Every binding counts as one reference on its page (pg_refs), so a page with
 * bindings is never freed from under them.
 *
 * The kernel never dereferences a user pointer: it walks the env's tables and
 * copies through the direct map, so a bad pointer is an error code, not a
 * kernel fault, whichever address space is loaded.
 *
 * TLB: a change to the loaded address space is followed by invlpg; other
 * address spaces are flushed when next loaded (no PCIDs yet). With more than
 * one CPU this needs a shootdown; one CPU runs today.
 *
 * Locking: all under the big kernel lock.
 */
#include <inc/error.h>
#include <inc/page.h>
#include <kern/arch/cpu.h>
#include <kern/mem/vmspace.h>
#include <kern/arch/fastpath.h>
#include <kern/mem/pmap.h>
#include <kern/mem/stlb.h>
#include <kern/mem/vm.h>
#include <kern/arch/x86.h>
#include <common/string.h>

struct vmspace vmspaces[NENV];
struct vmspace *(*vmspace_lookup)(envid_t id);

#define USER_PML4_SLOTS PT_INDEX(UTOP, 3) /* slots 0..254 */
#define TABLE_FLAGS (PTE_P | PTE_W | PTE_U) /* rights are decided at the leaf */

int vm_create(struct vmspace *vs)
{
	long ppn = page_take(vs, PAGE_PGTABLE, PPN_ANY);
	if (ppn < 0)
		return (int)ppn;
	pte_t *pml4 = page_kva(ppn);
	for (int i = NPTENTRIES / 2; i < NPTENTRIES; i++)
		pml4[i] = kern_pml4[i];
	pml4[PT_INDEX(UEXPOSED, 3)] = exposed_pml4e;
	vs->vs_pml4 = pml4;
	vs->vs_cr3 = (physaddr_t)ppn << PAGE_SHIFT;
	return 0;
}

FASTPATH static pte_t *walk(struct vmspace *vs, uint64_t va, bool create, int *err)
{
	pte_t *table = vs->vs_pml4;
	for (int lvl = 3; lvl > 0; lvl--) {
		pte_t *ent = &table[PT_INDEX(va, lvl)];
		if (!(*ent & PTE_P)) {
			if (!create)
				return NULL;
			long ppn = page_take(vs, PAGE_PGTABLE, PPN_ANY);
			if (ppn < 0) {
				*err = (int)ppn;
				return NULL;
			}
			*ent = ((physaddr_t)ppn << PAGE_SHIFT) | TABLE_FLAGS;
		}
		table = KADDR(PTE_ADDR(*ent));
	}
	return &table[PT_INDEX(va, 0)];
}

static void flush(struct vmspace *vs, uint64_t va)
{
	struct cpu *c = thiscpu();
	if (c->cpu_vm != vs)
		return;
	if (c->cpu_tlb_defer)
		c->cpu_tlb_pending = true;
	else
		invlpg(va);
}

void vm_defer_flushes(void)
{
	thiscpu()->cpu_tlb_defer = true;
}

void vm_flush_deferred(void)
{
	struct cpu *c = thiscpu();
	c->cpu_tlb_defer = false;
	if (c->cpu_tlb_pending && c->cpu_vm)
		lcr3(c->cpu_vm->vs_cr3); /* one flush for the whole batch */
	c->cpu_tlb_pending = false;
}

/* The flags of a user leaf entry for BIND_* rights. */
static pte_t leaf_bits(unsigned rights)
{
	pte_t bits = PTE_P | PTE_U;
	if (rights & BIND_WRITE)
		bits |= PTE_W;
	if (!(rights & BIND_EXEC))
		bits |= pte_nx;
	return bits;
}

FASTPATH int vm_install(struct vmspace *vs, uint64_t va, ppn_t ppn, unsigned rights)
{
	int err = 0;
	pte_t *pte = walk(vs, va, true, &err);
	if (!pte)
		return err;
	*pte = ((physaddr_t)ppn << PAGE_SHIFT) | leaf_bits(rights);
	flush(vs, va);
	return 0;
}

bool vm_reprotect(struct vmspace *vs, struct vm_cursor *c, uint64_t va, unsigned rights)
{
	uint64_t base = ROUNDDOWN(va, (uint64_t)PAGE_SIZE * NPTENTRIES);
	if (c->vc_base != base) { /* another leaf table: walk from the top */
		pte_t *pte = walk(vs, va, false, NULL);
		c->vc_base = base;
		c->vc_leaf = pte ? pte - PT_INDEX(va, 0) : NULL;
	}
	pte_t *pte = c->vc_leaf ? &c->vc_leaf[PT_INDEX(va, 0)] : NULL;
	if (!pte || !(*pte & PTE_P))
		return false; /* not cached: the refill will use the new rights */
	bool dirty = *pte & PTE_D;
	*pte = PTE_ADDR(*pte) | leaf_bits(rights);
	flush(vs, va);
	return dirty;
}

void vm_uninstall(struct vmspace *vs, uint64_t va)
{
	pte_t *pte = walk(vs, va, false, NULL);
	if (pte && (*pte & PTE_P)) {
		*pte = 0;
		flush(vs, va);
	}
}

FASTPATH bool vm_dirty(struct vmspace *vs, uint64_t va, bool clear)
{
	pte_t *pte = walk(vs, va, false, NULL);
	if (!pte || !(*pte & PTE_P) || !(*pte & PTE_D))
		return false;
	if (clear) {
		*pte &= ~PTE_D;
		flush(vs, va);
	}
	return true;
}

/* Free the page-table pages under a level-lvl table (3: the PML4's user
 * part, which has nslots entries) covering va upward. Leaf entries are only
 * a cache, but their dirty bits are not: those go back to the bindings. */
static void free_tables(struct vmspace *vs, pte_t *table, int lvl, int nslots, uint64_t va,
			bool keep_dirty)
{
	for (int i = 0; i < nslots; i++) {
		if (!(table[i] & PTE_P))
			continue;
		uint64_t sub = va + ((uint64_t)i << (12 + 9 * lvl));
		ppn_t ppn = PTE_ADDR(table[i]) >> PAGE_SHIFT;
		if (lvl > 1) {
			free_tables(vs, page_kva(ppn), lvl - 1, NPTENTRIES, sub, keep_dirty);
		} else if (keep_dirty) {
			const pte_t *pt = page_kva(ppn);
			for (int k = 0; k < NPTENTRIES; k++)
				if ((pt[k] & (PTE_P | PTE_D)) == (PTE_P | PTE_D))
					stlb_note_dirty(vs, sub + ((uint64_t)k << PAGE_SHIFT));
		}
		table[i] = 0;
		page_give_back(ppn);
	}
}

static void reload(struct vmspace *vs)
{
	if (rcr3() == vs->vs_cr3)
		lcr3(vs->vs_cr3);
}

void vm_flush(struct vmspace *vs)
{
	free_tables(vs, vs->vs_pml4, 3, USER_PML4_SLOTS, 0, true);
	reload(vs);
}

void vm_destroy(struct vmspace *vs)
{
	if (!vs->vs_pml4)
		return;
	/* Never run on tables about to be freed: the kernel's from now on. */
	if (rcr3() == vs->vs_cr3)
		lcr3(kern_cr3);
	/* No walk of the tree: every table is a page vs owns (PAGE_PGTABLE),
	 * which its owner gives back with the rest of its pages (env.c). The
	 * walk - 512 entries a table - cost a dying env more than its bindings. */
	vs->vs_pml4 = NULL;
	vs->vs_cr3 = 0;
}

/*
 * Kernel pointer to user address va if vs may access it: below UTOP through a
 * binding in its STLB (the truth, whatever the page-table cache holds), in
 * the exposed window read-only through the shared tables.
 */
static void *user_ptr(struct vmspace *vs, uint64_t va, bool write)
{
	uint64_t off = va & (PAGE_SIZE - 1);
	if (va < UTOP) {
		const struct binding *b = stlb_lookup(vs, va);
		if (!b || (write && !(b->b_rights & BIND_WRITE)))
			return NULL;
		return (char *)page_kva(b->b_ppn) + off;
	}
	if (va >= ULIM || write)
		return NULL;
	pte_t *pte = walk(vs, va, false, NULL);
	if (!pte || !(*pte & PTE_P))
		return NULL;
	return (char *)KADDR(PTE_ADDR(*pte)) + off;
}

bool vm_check(struct vmspace *vs, uint64_t va, uint64_t len, bool write)
{
	if (len == 0)
		return true;
	if (va + len < va || va + len > ULIM)
		return false;
	for (uint64_t p = ROUNDDOWN(va, PAGE_SIZE); p < va + len; p += PAGE_SIZE)
		if (!user_ptr(vs, p, write))
			return false;
	return true;
}

/* Copy between kernel buffer k and user range [va, va+len), page by page. */
static int copy_user(struct vmspace *vs, void *k, uint64_t va, uint64_t len, bool to_user)
{
	if (!vm_check(vs, va, len, to_user))
		return -E_FAULT;
	char *kp = k;
	while (len > 0) {
		uint64_t n = MIN(len, PAGE_SIZE - (va & (PAGE_SIZE - 1)));
		char *u = user_ptr(vs, va, false);
		if (to_user)
			memcpy(u, kp, n);
		else
			memcpy(kp, u, n);
		kp += n;
		va += n;
		len -= n;
	}
	return 0;
}

FASTPATH int copy_from_user(struct vmspace *vs, void *dst, uint64_t va, uint64_t len)
{
	return copy_user(vs, dst, va, len, false);
}

FASTPATH int copy_to_user(struct vmspace *vs, uint64_t va, const void *src, uint64_t len)
{
	return copy_user(vs, (void *)src, va, len, true);
}

long copy_string_from_user(struct vmspace *vs, char *dst, uint64_t va, uint64_t max)
{
	for (uint64_t i = 0; i < max; i++) {
		const char *u = user_ptr(vs, va + i, false);
		if (!u || va + i < va)
			return -E_FAULT;
		dst[i] = *u;
		if (*u == '\0')
			return (long)i;
	}
	return -E_TOO_BIG;
}
