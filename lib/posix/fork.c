/*
 * Processes in the library OS: copy-on-write fork built only on the kernel's
 * primitives (env_fork, page_bind into the child, env_set_regs, env_start),
 * lib/base's spawn and exec of a program from the boot image, and wait.
 * (The POSIX layer loads programs from the file system itself: exec.c.)
 *
 * fork shares every page of the parent with the child: read-only pages as
 * they are, writable ones read-only on both sides and marked VPT_COW, so the
 * first write on either side copies (lib/base/vm.c). The exception stack and the
 * repossession vector cannot be shared - the fault handler runs on the one
 * and the kernel writes the other - so the child gets fresh ones; the page
 * table's leaves are copied outright.
 *
 * The page holding thisenv_id is the one exception the other way: the child
 * gets its own copy of it at once, its id written in, because the copy-on-
 * write handler asks thisenv_id whose a page is, and the child faults (its
 * first push) before it could set it; with the parent's id there it would
 * take the parent's pages for its own (reuse one in place, free one).
 *
 * Order matters: the parent keeps running (and writing) while it forks. So it
 * first marks its page table, then copies the leaves for the child, and only
 * then rebinds: a page the parent writes after its rebinding faults and is
 * copied in the parent alone, leaving the child's table and bindings as they
 * were.
 */
#include <lib/base/libos.h>
#include <lib/base/pct.h>
#include <lib/base/slice.h>
#include <lib/base/vm.h>
#include <lib/posix/fsshare.h>
#include <lib/posix/posix.h>

struct fork_ctx {
	envid_t child;
	struct bind_req kid[BIND_BATCH_MAX];
	unsigned nk;
	/* the parent's copy-on-write pages go read-only a run at a time */
	uint64_t run_va, run_n;
	unsigned run_rights;
	long err;
	/* the stacks, the repossession vector and the id's page */
	uint64_t fresh_va[LIBOS_XSTACK_PAGES + LIBOS_PCTSTACK_PAGES + LIBOS_SLICESTACK_PAGES + 2];
	uint64_t fresh_ppn[LIBOS_XSTACK_PAGES + LIBOS_PCTSTACK_PAGES + LIBOS_SLICESTACK_PAGES + 2];
	unsigned nfresh;
};

/* The child's bindings first, then the parent's run: a page is bound into
 * the child before the parent's own binding of it goes read-only. */
static void flush(struct fork_ctx *c)
{
	if (c->err == 0 && c->nk)
		c->err = MIN(0, sys_page_bind_batch(c->child, c->kid, c->nk, CAP_SELF));
	if (c->err == 0 && c->run_n)
		c->err = MIN(0, sys_page_protect(0, c->run_va, c->run_n, c->run_rights, CAP_SELF));
	c->nk = 0;
	c->run_n = 0;
}

static uint64_t id_page(void)
{
	return ROUNDDOWN((uint64_t)&thisenv_id, PAGE_SIZE);
}

static bool unshareable(uint64_t va)
{
	return va == id_page() ||
	       (va >= LIBOS_XSTACK_TOP - LIBOS_XSTACK_PAGES * PAGE_SIZE && va < LIBOS_XSTACK_TOP) ||
	       (va >= LIBOS_PCTSTACK_TOP - LIBOS_PCTSTACK_PAGES * PAGE_SIZE &&
		va < LIBOS_PCTSTACK_TOP) ||
	       (va >= LIBOS_SLICESTACK_TOP - LIBOS_SLICESTACK_PAGES * PAGE_SIZE &&
		va < LIBOS_SLICESTACK_TOP) ||
	       va == ROUNDDOWN(LIBOS_RVEC, PAGE_SIZE);
}

/* Pass 1: mark what will be shared copy-on-write; allocate the child's
 * unshared pages. Only the page table changes: nothing is rebound yet. */
static void mark(uint64_t va, uint64_t *s, void *arg)
{
	struct fork_ctx *c = arg;
	if (c->err)
		return;
	if (unshareable(va)) {
		long p = sys_page_alloc(PPN_ANY, CAP_SELF);
		if (p < 0) {
			c->err = p;
			return;
		}
		c->fresh_va[c->nfresh] = va;
		c->fresh_ppn[c->nfresh++] = (uint64_t)p;
	} else if ((*s & VPT_W) && !(*s & (VPT_COW | VPT_SHARED))) {
		*s |= VPT_COW;
	}
}

/* The child's copy of the page holding thisenv_id, as it is now (the
 * moment the rest is shared), with the child's id in it. */
static long copy_id_page(struct fork_ctx *c, uint64_t ppn)
{
	long r = sys_page_bind(0, LIBOS_TMP, ppn, BIND_READ | BIND_WRITE, CAP_SELF);
	if (r < 0)
		return r;
	uint8_t *tmp = (uint8_t *)LIBOS_TMP;
	memcpy(tmp, (const void *)id_page(), PAGE_SIZE);
	*(envid_t *)(tmp + ((uint64_t)&thisenv_id - id_page())) = c->child;
	return MIN(0, sys_page_unbind(0, LIBOS_TMP, CAP_SELF));
}

/* Pass 3: bind every page into the child as its page table says, a batch
 * at a time, and make the parent's copy-on-write pages read-only, a run of
 * contiguous pages at a time (page_protect). */
static void share(uint64_t va, uint64_t *s, void *arg)
{
	struct fork_ctx *c = arg;
	if (c->err)
		return;
	uint64_t ppn = *s >> PAGE_SHIFT;
	if (unshareable(va)) {
		for (unsigned i = 0; i < c->nfresh; i++)
			if (c->fresh_va[i] == va) {
				if (va == id_page())
					c->err = copy_id_page(c, c->fresh_ppn[i]);
				c->kid[c->nk++] = (struct bind_req){ va, c->fresh_ppn[i],
								     BIND_READ | BIND_WRITE };
			}
	} else {
		unsigned rights = vm_rights_of(*s);
		c->kid[c->nk++] = (struct bind_req){ va, ppn, rights };
		if (*s & VPT_COW) {
			if (c->run_n &&
			    (rights != c->run_rights || va != c->run_va + c->run_n * PAGE_SIZE ||
			     c->run_n == PROTECT_MAX_PAGES))
				flush(c);
			if (!c->run_n) {
				c->run_va = va;
				c->run_rights = rights;
			}
			c->run_n++;
		}
	}
	if (c->nk == BIND_BATCH_MAX)
		flush(c);
}

/* Give the child its own copy of a page-table leaf covering [base, base +
 * 2 MiB), pointing at the child's own unshared pages. */
static void copy_leaf(uint64_t leaf_va, uint64_t base, void *arg)
{
	struct fork_ctx *c = arg;
	if (c->err)
		return;
	long p = vm_page_new(LIBOS_TMP, BIND_READ | BIND_WRITE);
	if (p < 0) {
		c->err = p;
		return;
	}
	uint64_t *leaf = (uint64_t *)LIBOS_TMP;
	memcpy(leaf, (void *)leaf_va, PAGE_SIZE);
	for (unsigned i = 0; i < c->nfresh; i++) {
		uint64_t f = c->fresh_va[i];
		if (f >= base && f < base + (512UL << PAGE_SHIFT))
			leaf[(f >> PAGE_SHIFT) & 511] =
				(c->fresh_ppn[i] << PAGE_SHIFT) | VPT_P | VPT_W;
	}
	long r = sys_page_bind(c->child, leaf_va, (uint64_t)p, BIND_READ | BIND_WRITE, CAP_SELF);
	if (r >= 0)
		r = sys_page_unbind(0, LIBOS_TMP, CAP_SELF);
	if (r < 0)
		c->err = r;
}

static struct fork_ctx ctx;

long fork(void)
{
	struct upcall_frame f;
	memset(&f, 0, sizeof(f));
	if (upcall_save(&f)) {
		/* the child, resumed by env_start, with the parent's data (and
		 * its own thisenv_id: copy_id_page) */
		fs_share_after_fork(); /* before pct_after_fork takes slot 2 */
		pct_after_fork();
		return 0;
	}
	posix_fs_before_fork();
	long child = sys_env_fork(CAP_SELF);
	if (child < 0)
		return child;
	struct fork_ctx *c = &ctx;
	c->child = (envid_t)child;
	c->nk = c->nfresh = 0;
	c->run_n = 0;
	c->err = 0;
	vm_for_each_entry(mark, c);
	if (c->err == 0)
		vm_for_each_leaf(copy_leaf, c);
	if (c->err == 0)
		vm_for_each_entry(share, c);
	flush(c);
	long r = c->err;
	if (r == 0) {
		/* the child returns from upcall_save with 1 */
		struct env_regs regs = {
			.r_rax = 1,
			.r_rbx = f.uf_rbx,
			.r_rbp = f.uf_rbp,
			.r_r12 = f.uf_r12,
			.r_r13 = f.uf_r13,
			.r_r14 = f.uf_r14,
			.r_r15 = f.uf_r15,
			.r_rip = f.uf_rip,
			.r_rsp = f.uf_rsp,
			.r_rflags = f.uf_rflags,
		};
		pct_grant_to_child(c->child);
		fd_fork_child(c->child); /* it shares our descriptors */
		r = sys_env_set_regs(c->child, &regs, CAP_SELF);
	}
	if (r == 0)
		r = sys_env_start(c->child, CAP_SELF);
	if (r < 0) {
		sys_env_destroy(c->child, CAP_SELF);
		sys_env_wait(c->child);
		return r;
	}
	return child;
}

long spawn(const char *name, const char *args)
{
	return sys_env_create(name, args, CAP_SELF);
}

long exec(const char *name, const char *args)
{
	return sys_env_exec(name, args); /* returns only on error */
}

long wait(long id)
{
	return sys_env_wait((envid_t)id);
}
