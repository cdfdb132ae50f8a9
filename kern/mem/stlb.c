/*
 * The software TLB: every binding the kernel has verified, per env, and the
 * reverse map from each physical page to the bindings of it.
 *
 * Bindings are the truth; the hardware page tables (vm.c) are a cache of
 * them. The kernel may throw page-table pages away at any time (vm_flush);
 * a page fault first tries stlb_refill, which reinstalls the mapping with no
 * upcall, and only a miss in both goes to the env's exception handler.
 *
 * Storage: a pool of struct binding in kernel pages added as needed, indexed
 * from 1 (0 ends a chain). The pool's pages are kept once added, free
 * bindings reused: an index is a binding's name in every chain, so a chunk
 * could go back only after moving its live bindings and rewriting every
 * link to them; the pool is bounded (STLB_POOL_MAX, 32 MiB) and each
 * family's share of it by QUOTA_BINDINGS, and ki_pool_pages shows it. Each env hashes its bindings by virtual page into
 * the buckets of its env_kpage; each physical page chains its bindings from
 * page_binds[ppn]. pg_refs in the exposed page table counts the bindings.
 * Each pool page is mapped read-only at USTLB as it is added (inc/stlb.h:
 * indices, never kernel pointers; a free entry has b_rights 0), so anyone
 * can list an env's bindings without a system call.
 *
 * Locking: all under the big kernel lock.
 */
#include <inc/error.h>
#include <inc/kinfo.h>
#include <inc/page.h>
#include <kern/arch/console.h>
#include <kern/mem/account.h>
#include <kern/mem/vmspace.h>
#include <kern/arch/fastpath.h>
#include <kern/mem/pmap.h>
#include <kern/mem/stlb.h>
#include <kern/mem/vm.h>

#define PER_CHUNK STLB_PER_PAGE
#define POOL_MAX STLB_POOL_MAX
#define NCHUNKS ((POOL_MAX + PER_CHUNK - 1) / PER_CHUNK)

extern struct kern_info kinfo;

static struct binding *chunks[NCHUNKS];
static uint32_t nchunks;
static uint32_t free_bindings; /* index + 1 */
static uint32_t nfree;         /* bindings on that list */

static inline struct binding *B(uint32_t i)
{
	return &chunks[(i - 1) / PER_CHUNK][(i - 1) % PER_CHUNK];
}

const struct binding *stlb_binding(uint32_t i)
{
	return B(i);
}

/* Add a chunk to the pool: false if it is at its size or memory is short. */
static bool grow(void)
{
	if (nchunks == NCHUNKS)
		return false;
	long ppn = page_take(NULL, PAGE_KERNEL, PPN_ANY);
	if (ppn < 0)
		return false;
	/* zero-filled: every entry's b_rights says "free" */
	if (pmap_expose_page(USTLB + (uint64_t)nchunks * PAGE_SIZE, page_kva(ppn)) < 0) {
		page_give_back((ppn_t)ppn);
		return false;
	}
	chunks[nchunks] = page_kva(ppn);
	kinfo.ki_pool_pages++;
	for (uint32_t k = PER_CHUNK; k-- > 0;) {
		uint32_t i = nchunks * PER_CHUNK + k + 1;
		B(i)->b_env_next = free_bindings;
		free_bindings = i;
	}
	nfree += PER_CHUNK;
	nchunks++;
	kinfo.ki_stlb_pages = nchunks;
	return true;
}

static uint32_t binding_new(void)
{
	if (!free_bindings && !grow())
		return 0;
	uint32_t i = free_bindings;
	free_bindings = B(i)->b_env_next;
	nfree--;
	return i;
}

int stlb_reserve(struct vmspace *vs, uint32_t n)
{
	if (n > ENV_BINDINGS_MAX - vs->vs_nbindings)
		return -E_NO_MEM;
	if (vs->vs_acct && !acct_may(vs->vs_acct, QUOTA_BINDINGS, n))
		return -E_QUOTA;
	while (nfree <= n) /* one more: a rebinding takes its new one first */
		if (!grow())
			return -E_NO_MEM;
	return 0;
}

static inline uint32_t *bucket(struct vmspace *vs, uint64_t va)
{
	uint64_t vpn = va >> PAGE_SHIFT;
	return &vs->vs_stlb[(vpn ^ (vpn >> 9)) % STLB_BUCKETS];
}

/* The link that points at vs's binding of va, or NULL. */
static uint32_t *find(struct vmspace *vs, uint64_t va)
{
	for (uint32_t *pp = bucket(vs, va); *pp; pp = &B(*pp)->b_env_next)
		if (B(*pp)->b_va == va)
			return pp;
	return NULL;
}

FASTPATH const struct binding *stlb_lookup(struct vmspace *vs, uint64_t va)
{
	uint32_t *pp = find(vs, ROUNDDOWN(va, PAGE_SIZE));
	return pp ? B(*pp) : NULL;
}

/* Unlink binding *pp (in its env's bucket) from everything and free it,
 * all but its charge and its page-table entry; its va. */
FASTPATH static uint64_t unlink(struct vmspace *vs, uint32_t *pp)
{
	uint32_t i = *pp;
	struct binding *b = B(i);
	*pp = b->b_env_next;
	if (b->b_page_prev)
		B(b->b_page_prev)->b_page_next = b->b_page_next;
	else
		page_binds[b->b_ppn] = b->b_page_next;
	if (b->b_page_next)
		B(b->b_page_next)->b_page_prev = b->b_page_prev;
	pages[b->b_ppn].pg_refs--;
	vs->vs_nbindings--;
	vs->vs_info->env_bindings--;
	b->b_rights = 0; /* free, to readers of USTLB */
	b->b_env_next = free_bindings;
	free_bindings = i;
	nfree++;
	return b->b_va;
}

FASTPATH static void remove_at(struct vmspace *vs, uint32_t *pp)
{
	uint64_t va = unlink(vs, pp);
	if (vs->vs_acct)
		acct_release(vs->vs_acct, QUOTA_BINDINGS, 1);
	vm_uninstall(vs, va);
}

FASTPATH int stlb_bind(struct vmspace *vs, uint64_t va, ppn_t ppn, unsigned rights)
{
	uint32_t *old = find(vs, va);
	if (old && B(*old)->b_ppn == ppn) {
		/* same page: only the rights change */
		B(*old)->b_rights = (uint8_t)rights;
		if (vm_dirty(vs, va, false))
			B(*old)->b_flags |= BINDING_DIRTY;
		vm_install(vs, va, ppn, rights); /* rewrites the entry in place */
		return 0;
	}
	if (pages[ppn].pg_refs == UINT16_MAX)
		return -E_BUSY;
	if (!old && vs->vs_nbindings >= ENV_BINDINGS_MAX)
		return -E_NO_MEM;
	if (!old && vs->vs_acct && !acct_may(vs->vs_acct, QUOTA_BINDINGS, 1))
		return -E_QUOTA; /* its family holds its share of the pool */
	uint32_t i = binding_new();
	if (!i)
		return -E_NO_MEM;
	if (old)
		remove_at(vs, old);
	if (vs->vs_acct)
		acct_force(vs->vs_acct, QUOTA_BINDINGS, 1); /* checked above, or one replaced */
	struct binding *b = B(i);
	b->b_va = va;
	b->b_ppn = (uint32_t)ppn;
	b->b_env = (uint16_t)ENVX(vs->vs_id);
	b->b_rights = (uint8_t)rights;
	b->b_flags = 0;
	uint32_t *bk = bucket(vs, va);
	b->b_env_next = *bk;
	*bk = i;
	b->b_page_next = page_binds[ppn];
	b->b_page_prev = 0;
	if (page_binds[ppn])
		B(page_binds[ppn])->b_page_prev = i;
	page_binds[ppn] = i;
	pages[ppn].pg_refs++;
	vs->vs_nbindings++;
	vs->vs_info->env_bindings++;
	/* Warm the cache; if a page table cannot be had now, the fault will
	 * refill it later. */
	vm_install(vs, va, ppn, rights);
	return 0;
}

FASTPATH uint32_t stlb_find(struct vmspace *vs, uint64_t va)
{
	uint32_t *pp = find(vs, ROUNDDOWN(va, PAGE_SIZE));
	return pp ? *pp : 0;
}

void stlb_protect(struct vmspace *vs, uint32_t i, unsigned rights, struct vm_cursor *c)
{
	struct binding *b = B(i);
	b->b_rights = (uint8_t)rights;
	if (vm_reprotect(vs, c, b->b_va, rights))
		b->b_flags |= BINDING_DIRTY;
}

void stlb_unbind(struct vmspace *vs, uint64_t va)
{
	uint32_t *pp = find(vs, va);
	if (pp)
		remove_at(vs, pp);
}

FASTPATH bool stlb_refill(struct vmspace *vs, uint64_t va, uint64_t err)
{
	const struct binding *b = stlb_lookup(vs, va);
	if (!b)
		return false;
	if ((err & 0x2) && !(b->b_rights & BIND_WRITE))
		return false; /* a write to a read-only binding: the env's business */
	if ((err & 0x10) && !(b->b_rights & BIND_EXEC))
		return false;
	if (err & 0x1)
		return false; /* the mapping was there: a real protection fault */
	if (vm_install(vs, b->b_va, b->b_ppn, b->b_rights) == 0)
		return true;
	/* No page for a table (memory, or the family's page quota): the
	 * tables are only a cache, so drop them all and try once more. */
	vm_flush(vs);
	return vm_install(vs, b->b_va, b->b_ppn, b->b_rights) == 0;
}

void stlb_clear(struct vmspace *vs)
{
	/* Every binding goes and the caller drops the tables next: no entry
	 * is uninstalled one by one, and the charge goes back in one step
	 * (a dying env's teardown spent a third of its time here). */
	uint64_t n = 0;
	for (unsigned k = 0; k < STLB_BUCKETS; k++)
		for (; vs->vs_stlb[k]; n++)
			unlink(vs, &vs->vs_stlb[k]);
	if (vs->vs_acct && n)
		acct_release(vs->vs_acct, QUOTA_BINDINGS, n);
}

void stlb_clear_unless(struct vmspace *vs, bool (*keep)(uint64_t va, const void *arg),
		       const void *arg)
{
	for (unsigned k = 0; k < STLB_BUCKETS; k++)
		for (uint32_t *pp = &vs->vs_stlb[k]; *pp;) {
			if (keep(B(*pp)->b_va, arg))
				pp = &B(*pp)->b_env_next;
			else
				remove_at(vs, pp); /* *pp is the next one now */
		}
}

void stlb_move(struct vmspace *vs, uint64_t from, uint64_t to)
{
	uint32_t *pp = find(vs, from);
	if (!pp)
		return;
	uint32_t i = *pp;
	struct binding *b = B(i);
	if (vm_dirty(vs, from, false))
		b->b_flags |= BINDING_DIRTY;
	vm_uninstall(vs, from);
	*pp = b->b_env_next;
	b->b_va = to;
	uint32_t *bk = bucket(vs, to);
	b->b_env_next = *bk;
	*bk = i;
	vm_install(vs, to, b->b_ppn, b->b_rights); /* a cache: a failure refills later */
}

void stlb_unbind_page(ppn_t ppn, struct vmspace *only)
{
	uint32_t i = page_binds[ppn];
	while (i) {
		struct binding *b = B(i);
		uint32_t next = b->b_page_next;
		struct vmspace *vs = &vmspaces[b->b_env];
		if (!only || only == vs)
			remove_at(vs, find(vs, b->b_va));
		i = next;
	}
}

void stlb_note_dirty(struct vmspace *vs, uint64_t va)
{
	uint32_t *pp = find(vs, ROUNDDOWN(va, PAGE_SIZE));
	if (pp)
		B(*pp)->b_flags |= BINDING_DIRTY;
}

bool stlb_env_binds(struct vmspace *vs, ppn_t ppn, unsigned rights)
{
	for (uint32_t i = page_binds[ppn]; i; i = B(i)->b_page_next)
		if (&vmspaces[B(i)->b_env] == vs && (B(i)->b_rights & rights) == rights)
			return true;
	return false;
}

struct vmspace *stlb_other_binder(ppn_t ppn, struct vmspace *vs)
{
	for (uint32_t i = page_binds[ppn]; i; i = B(i)->b_page_next)
		if (&vmspaces[B(i)->b_env] != vs)
			return &vmspaces[B(i)->b_env];
	return NULL;
}
