/*
 * Physical pages: allocation of any and of specific pages, ownership as the
 * exposed page table shows it, zero fill, binding rights, and every error of
 * page_alloc, page_free, page_bind and page_unbind.
 */
#include <lib/base/test.h>

#define SCRATCH 0x0000200000000000UL

static volatile uint64_t fault_va, fault_err, faults;
static uint64_t resume_rip;

static void on_fault(struct upcall_frame *uf)
{
	faults++;
	fault_va = uf->uf_va;
	fault_err = uf->uf_err;
	uf->uf_rip = resume_rip;
}

/* Try to store to va; returns whether it faulted. */
static bool store_faults(uint64_t va)
{
	uint64_t before = faults;
	__asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
			 "movq %%rax, %0\n\t"
			 "movb $1, (%1)\n"
			 "1:"
			 : "=m"(resume_rip)
			 : "r"(va)
			 : "rax", "memory");
	return faults != before;
}

static ppn_t find_free_page(void)
{
	for (uint64_t p = ukinfo->ki_npages; p-- > 0;)
		if (upages[p].pg_type == PAGE_FREE)
			return p;
	return 0;
}

static ppn_t find_page_of_type(uint8_t type)
{
	for (uint64_t p = 0; p < ukinfo->ki_npages; p++)
		if (upages[p].pg_type == type)
			return p;
	return 0;
}

int main(void)
{
	check_eq("set-handler", exception_set_handler(on_fault), 0);

	/* any page */
	long a = sys_page_alloc(PPN_ANY, CAP_SELF);
	check("alloc-any", a > 0);
	check("alloc-any-owner", upages[a].pg_owner == thisenv_id &&
					 upages[a].pg_type == PAGE_USER && upages[a].pg_refs == 0);
	check_eq("bind", sys_page_bind(0, SCRATCH, (uint64_t)a, BIND_READ | BIND_WRITE, CAP_SELF),
		 0);
	check("bind-refs", upages[a].pg_refs == 1);
	volatile uint64_t *p = (volatile uint64_t *)SCRATCH;
	bool zero = true;
	for (int i = 0; i < 512; i++)
		zero = zero && p[i] == 0;
	check("zero-filled", zero);
	p[0] = 0x1234;
	check("write-read", p[0] == 0x1234);

	/* the same page at a second address: shared */
	check_eq("bind-alias",
		 sys_page_bind(0, SCRATCH + PAGE_SIZE, (uint64_t)a, BIND_READ, CAP_SELF), 0);
	check("alias-refs", upages[a].pg_refs == 2);
	check("alias-sees-write", ((volatile uint64_t *)(SCRATCH + PAGE_SIZE))[0] == 0x1234);
	check("alias-read-only", store_faults(SCRATCH + PAGE_SIZE));
	check("ro-fault-va", fault_va == SCRATCH + PAGE_SIZE);
	check("ro-fault-err",
	      (fault_err & (PF_WRITE | PF_PRESENT | PF_USER)) == (PF_WRITE | PF_PRESENT | PF_USER));

	/* unbinding, then freeing */
	check_eq("unbind", sys_page_unbind(0, SCRATCH + PAGE_SIZE, CAP_SELF), 0);
	check("unbind-refs", upages[a].pg_refs == 1);
	check_eq("unbind-twice", sys_page_unbind(0, SCRATCH + PAGE_SIZE, CAP_SELF), 0);
	check("unbound-faults", store_faults(SCRATCH + PAGE_SIZE));
	check("unbound-fault-err", !(fault_err & PF_PRESENT));
	/* freeing a page still bound breaks the binding: no stale mapping */
	check_eq("free-bound", sys_page_free((uint64_t)a, CAP_SELF), 0);
	check("free-visible", upages[a].pg_type == PAGE_FREE && upages[a].pg_refs == 0);
	check("freed-faults", store_faults(SCRATCH));
	check_eq("free-twice", sys_page_free((uint64_t)a, CAP_SELF), -E_PERM);

	/* a specific page, by name */
	ppn_t want = find_free_page();
	check("found-free", want != 0);
	check_eq("alloc-specific", sys_page_alloc(want, CAP_SELF), (long)want);
	check_eq("alloc-taken", sys_page_alloc(want, CAP_SELF), -E_BUSY);
	check_eq("alloc-reserved", sys_page_alloc(0, CAP_SELF), -E_BUSY);
	ppn_t kpage = find_page_of_type(PAGE_KERNEL);
	check_eq("alloc-kernel-page", sys_page_alloc(kpage, CAP_SELF), -E_BUSY);
	check_eq("alloc-beyond", sys_page_alloc(ukinfo->ki_npages, CAP_SELF), -E_INVAL);
	check_eq("alloc-huge", sys_page_alloc(1UL << 60, CAP_SELF), -E_INVAL);

	/* bind errors */
	check_eq("bind-unaligned", sys_page_bind(0, SCRATCH + 8, want, BIND_READ, CAP_SELF),
		 -E_INVAL);
	check_eq("bind-utop", sys_page_bind(0, UTOP, want, BIND_READ, CAP_SELF), -E_INVAL);
	check_eq("bind-exposed", sys_page_bind(0, UPAGES, want, BIND_READ, CAP_SELF), -E_INVAL);
	check_eq("bind-kernel-va",
		 sys_page_bind(0, 0xffffffff80000000UL, want, BIND_READ, CAP_SELF), -E_INVAL);
	check_eq("bind-no-rights", sys_page_bind(0, SCRATCH, want, 0, CAP_SELF), -E_INVAL);
	check_eq("bind-write-only", sys_page_bind(0, SCRATCH, want, BIND_WRITE, CAP_SELF),
		 -E_INVAL);
	check_eq("bind-bad-rights", sys_page_bind(0, SCRATCH, want, 0x8 | BIND_READ, CAP_SELF),
		 -E_INVAL);
	check_eq("bind-kernel-page", sys_page_bind(0, SCRATCH, kpage, BIND_READ, CAP_SELF),
		 -E_PERM);
	check_eq("bind-pgtable-page",
		 sys_page_bind(0, SCRATCH, find_page_of_type(PAGE_PGTABLE), BIND_READ, CAP_SELF),
		 -E_PERM);
	check_eq("bind-free-page", sys_page_bind(0, SCRATCH, find_free_page(), BIND_READ, CAP_SELF),
		 -E_PERM);
	check_eq("bind-beyond", sys_page_bind(0, SCRATCH, ukinfo->ki_npages, BIND_READ, CAP_SELF),
		 -E_INVAL);
	check("bind-errors-changed-nothing", store_faults(SCRATCH) && upages[want].pg_refs == 0);

	/* free errors */
	check_eq("free-kernel-page", sys_page_free(kpage, CAP_SELF), -E_PERM);
	check_eq("free-reserved", sys_page_free(0, CAP_SELF), -E_PERM);
	check_eq("free-beyond", sys_page_free(ukinfo->ki_npages, CAP_SELF), -E_INVAL);
	check_eq("free-pgtable", sys_page_free(find_page_of_type(PAGE_PGTABLE), CAP_SELF), -E_PERM);

	/* unbind errors */
	check_eq("unbind-unaligned", sys_page_unbind(0, SCRATCH + 1, CAP_SELF), -E_INVAL);
	check_eq("unbind-utop", sys_page_unbind(0, UTOP, CAP_SELF), -E_INVAL);
	check_eq("unbind-kernel", sys_page_unbind(0, 0xffffffff80000000UL, CAP_SELF), -E_INVAL);

	/* exposed tables are read-only */
	check("uenvs-read-only", store_faults(UENVS));
	check("upages-read-only", store_faults(UPAGES));
	check("uinfo-read-only", store_faults(UINFO));
	check("uinfo-fault-err", (fault_err & PF_PRESENT) != 0);
	check("kernel-not-mapped", store_faults(0xffffffff80200000UL));

	/* a page bound executable-less cannot run code (NX) */
	check_eq("bind-data", sys_page_bind(0, SCRATCH, want, BIND_READ | BIND_WRITE, CAP_SELF), 0);
	*(volatile uint8_t *)SCRATCH = 0xc3; /* ret */
	check_eq("unbind-data", sys_page_unbind(0, SCRATCH, CAP_SELF), 0);
	check_eq("free-specific", sys_page_free(want, CAP_SELF), 0);

	/* many pages come and go */
	uint64_t before = ukinfo->ki_free_pages;
	long got[64];
	bool ok = true;
	for (int i = 0; i < 64; i++) {
		got[i] = sys_page_alloc(PPN_ANY, CAP_SELF);
		ok = ok && got[i] > 0 &&
		     sys_page_bind(0, SCRATCH + (uint64_t)i * PAGE_SIZE, (uint64_t)got[i],
				   BIND_READ | BIND_WRITE, CAP_SELF) == 0;
	}
	check("alloc-64", ok);
	check("free-count-drops", ukinfo->ki_free_pages <= before - 64);
	for (int i = 0; i < 64; i++)
		ok = ok && sys_page_unbind(0, SCRATCH + (uint64_t)i * PAGE_SIZE, CAP_SELF) == 0 &&
		     sys_page_free((uint64_t)got[i], CAP_SELF) == 0;
	check("free-64", ok);
	check_eq("exception-handler-off", exception_set_handler(NULL), 0);
	return test_finish();
}
