/*
 * The software TLB: hardware page tables are only a cache of bindings. After
 * the kernel drops them (vm_flush), every binding still works and is
 * refilled on the fault with no upcall; batched binds apply all or nothing
 * on bad input; unbinding leaves no stale mapping.
 */
#include <lib/base/test.h>

#define VA 0x0000230000000000UL
#define N 100

static volatile int upcalls;

static void handler(struct upcall_frame *uf)
{
	upcalls++;
	uf->uf_rip += 3; /* skip the 3-byte store used below */
}

static void store(uint64_t va, uint8_t v)
{
	/* movb %al, (%rdx): 2 bytes + a 1-byte nop, so the handler can skip 3 */
	__asm__ volatile("movb %%al, (%%rdx)\n\tnop" : : "a"(v), "d"(va) : "memory");
}

int main(void)
{
	long ppn[N];
	struct bind_req reqs[N];
	for (int i = 0; i < N; i++) {
		ppn[i] = sys_page_alloc(PPN_ANY, CAP_SELF);
		reqs[i] = (struct bind_req){ VA + (uint64_t)i * PAGE_SIZE, (uint64_t)ppn[i],
					     BIND_READ | BIND_WRITE };
	}
	check_eq("batch-bind", sys_page_bind_batch(0, reqs, N, CAP_SELF), N);
	for (int i = 0; i < N; i++)
		*(volatile uint64_t *)(VA + (uint64_t)i * PAGE_SIZE) = 1000 + (uint64_t)i;
	check_eq("lookup", sys_page_lookup(VA),
		 (long)(((uint64_t)ppn[0] << 12) | BIND_READ | BIND_WRITE));
	check_eq("lookup-missing", sys_page_lookup(VA - PAGE_SIZE), -E_NOT_FOUND);
	check_eq("lookup-beyond", sys_page_lookup(UTOP), -E_INVAL);

	/* drop every page table; bindings survive, refilled without upcalls */
	uint32_t refills = thisenv->env_refills, ups = thisenv->env_upcalls;
	check_eq("flush", sys_vm_flush(0, CAP_SELF), 0);
	bool same = true;
	for (int i = 0; i < N; i++)
		same = same &&
		       *(volatile uint64_t *)(VA + (uint64_t)i * PAGE_SIZE) == 1000 + (uint64_t)i;
	check("data-survives-flush", same);
	check("refilled", thisenv->env_refills >= refills + N);
	check("no-upcall-for-refill", thisenv->env_upcalls == ups);
	check_eq("flush-again", sys_vm_flush(0, CAP_SELF), 0);
	check("code-and-stack-refill", thisenv->env_refills > refills + N);

	/* dirty: the hardware's bit, kept across the kernel dropping tables */
	check_eq("dirty-after-write", sys_page_dirty(VA, 0), 1);
	check_eq("dirty-clear", sys_page_dirty(VA, 1), 1);
	check_eq("clean-after-clear", sys_page_dirty(VA, 0), 0);
	(void)*(volatile uint64_t *)VA;
	check_eq("clean-after-read", sys_page_dirty(VA, 0), 0);
	*(volatile uint64_t *)VA = 1000;
	check_eq("dirty-again", sys_page_dirty(VA, 0), 1);
	sys_vm_flush(0, CAP_SELF);
	check_eq("dirty-survives-flush", sys_page_dirty(VA, 0), 1);
	sys_page_dirty(VA, 1);
	sys_vm_flush(0, CAP_SELF);
	(void)*(volatile uint64_t *)VA;
	check_eq("clean-survives-flush", sys_page_dirty(VA, 0), 0);
	check_eq("dirty-unbound", sys_page_dirty(VA - PAGE_SIZE, 0), -E_NOT_FOUND);
	check_eq("dirty-beyond", sys_page_dirty(UTOP, 0), -E_INVAL);
	check_eq("dirty-bad-clear", sys_page_dirty(VA, 2), -E_INVAL);

	/* batch: bad input anywhere means nothing is applied */
	struct bind_req bad[3] = {
		{ VA + 200 * PAGE_SIZE, (uint64_t)ppn[0], BIND_READ },
		{ VA + 201 * PAGE_SIZE + 1, (uint64_t)ppn[1], BIND_READ },
		{ VA + 202 * PAGE_SIZE, (uint64_t)ppn[2], BIND_READ },
	};
	check_eq("batch-bad-va", sys_page_bind_batch(0, bad, 3, CAP_SELF), -E_INVAL);
	check_eq("batch-bad-applied-nothing", sys_page_lookup(VA + 200 * PAGE_SIZE), -E_NOT_FOUND);
	bad[1].br_va = VA + 201 * PAGE_SIZE;
	bad[1].br_rights = BIND_WRITE;
	check_eq("batch-bad-rights", sys_page_bind_batch(0, bad, 3, CAP_SELF), -E_INVAL);
	bad[1].br_rights = BIND_READ;
	bad[1].br_ppn = 0;
	check_eq("batch-bad-page", sys_page_bind_batch(0, bad, 3, CAP_SELF), -E_PERM);
	check_eq("batch-too-many", sys_page_bind_batch(0, reqs, BIND_BATCH_MAX + 1, CAP_SELF),
		 -E_INVAL);
	check_eq("batch-unreadable", sys_page_bind_batch(0, (struct bind_req *)16, 2, CAP_SELF),
		 -E_FAULT);
	check_eq("batch-empty", sys_page_bind_batch(0, reqs, 0, CAP_SELF), 0);
	check_eq("batch-bad-cap", sys_page_bind_batch(0, reqs, 1, 25), -E_BAD_CAP);

	/* read-only rebind: a write faults to the handler, no refill */
	exception_set_handler(handler);
	for (int i = 0; i < N; i++)
		reqs[i].br_rights = BIND_READ;
	check_eq("batch-protect", sys_page_bind_batch(0, reqs, N, CAP_SELF), N);
	upcalls = 0;
	store(VA, 5);
	check("ro-write-upcalls", upcalls == 1);
	check("ro-value-kept", *(volatile uint64_t *)VA == 1000);
	sys_vm_flush(0, CAP_SELF);
	upcalls = 0;
	store(VA + PAGE_SIZE, 5);
	check("ro-after-flush-upcalls", upcalls == 1);

	/* page_protect: a range's rights in one call, all checked first */
	check_eq("protect-rw", sys_page_protect(0, VA, N, BIND_READ | BIND_WRITE, CAP_SELF), N);
	upcalls = 0;
	store(VA + 7 * PAGE_SIZE, 7);
	check("protect-rw-writes", upcalls == 0 && *(volatile uint8_t *)(VA + 7 * PAGE_SIZE) == 7);
	check_eq("protect-ro", sys_page_protect(0, VA, N, BIND_READ, CAP_SELF), N);
	check_eq("protect-keeps-dirty", sys_page_dirty(VA + 7 * PAGE_SIZE, 0), 1);
	upcalls = 0;
	store(VA + 9 * PAGE_SIZE, 1);
	check("protect-ro-faults", upcalls == 1);
	check_eq("protect-lookup", sys_page_lookup(VA + 3 * PAGE_SIZE),
		 (long)(((uint64_t)ppn[3] << 12) | BIND_READ));
	check_eq("protect-skips-unbound",
		 sys_page_protect(0, VA - 10 * PAGE_SIZE, 20, BIND_READ, CAP_SELF), 10);
	check_eq("protect-empty", sys_page_protect(0, VA, 0, BIND_READ, CAP_SELF), 0);
	check_eq("protect-unaligned", sys_page_protect(0, VA + 1, 1, BIND_READ, CAP_SELF),
		 -E_INVAL);
	check_eq("protect-beyond", sys_page_protect(0, UTOP, 1, BIND_READ, CAP_SELF), -E_INVAL);
	check_eq("protect-past-utop", sys_page_protect(0, UTOP - PAGE_SIZE, 2, BIND_READ, CAP_SELF),
		 -E_INVAL);
	check_eq("protect-too-many",
		 sys_page_protect(0, VA, PROTECT_MAX_PAGES + 1, BIND_READ, CAP_SELF), -E_INVAL);
	check_eq("protect-huge", sys_page_protect(0, VA, UINT64_MAX, BIND_READ, CAP_SELF),
		 -E_INVAL);
	check_eq("protect-no-read", sys_page_protect(0, VA, 1, BIND_WRITE, CAP_SELF), -E_INVAL);
	check_eq("protect-bad-rights", sys_page_protect(0, VA, 1, BIND_READ | 0x10, CAP_SELF),
		 -E_INVAL);
	check_eq("protect-bad-cap", sys_page_protect(0, VA, 1, BIND_READ, 25), -E_BAD_CAP);
	check_eq("protect-bad-env", sys_page_protect(0x7fff0000, VA, 1, BIND_READ, CAP_SELF),
		 -E_BAD_ENV);
	check_eq("protect-parent",
		 sys_page_protect(thisenv->env_parent_id, VA, 1, BIND_READ, CAP_SELF), -E_PERM);
	/* our own program text, bound read-only after the range: it may not be
	 * made writable, and then nothing in the range changes */
	long text = sys_page_lookup(ROUNDDOWN((uint64_t)main, PAGE_SIZE));
	check("text-bound", text > 0);
	uint64_t after = VA + (uint64_t)N * PAGE_SIZE;
	check_eq("text-rebound", sys_page_bind(0, after, (uint64_t)text >> 12, BIND_READ, CAP_SELF),
		 0);
	check_eq("protect-text-writable",
		 sys_page_protect(0, VA, N + 1, BIND_READ | BIND_WRITE, CAP_SELF), -E_PERM);
	check_eq("protect-refused-applied-nothing", sys_page_lookup(VA),
		 (long)(((uint64_t)ppn[0] << 12) | BIND_READ));
	sys_page_unbind(0, after, CAP_SELF);

	/* unbind everything in one batch: nothing stale, even after refills */
	for (int i = 0; i < N; i++)
		reqs[i].br_ppn = PPN_NONE_REQ;
	check_eq("batch-unbind", sys_page_bind_batch(0, reqs, N, CAP_SELF), N);
	upcalls = 0;
	store(VA + 5 * PAGE_SIZE, 1);
	check("unbound-faults", upcalls == 1);
	check("refs-zero", upages[ppn[5]].pg_refs == 0);

	/* another env's cache */
	long kid = sys_env_create("spin", "", CAP_SELF);
	check_eq("flush-child", sys_vm_flush((envid_t)kid, CAP_SELF), 0);
	sys_yield();
	check("child-survives-flush", uenvs[ENVX(kid)].env_status != ENV_ZOMBIE);
	check_eq("flush-parent", sys_vm_flush(thisenv->env_parent_id, CAP_SELF), -E_PERM);
	check_eq("flush-bad-env", sys_vm_flush(0x7fff0000, CAP_SELF), -E_BAD_ENV);
	sys_env_destroy((envid_t)kid, CAP_SELF);
	sys_env_wait((envid_t)kid);
	for (int i = 0; i < N; i++)
		sys_page_free((uint64_t)ppn[i], CAP_SELF);
	return test_finish();
}
