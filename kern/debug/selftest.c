/*
 * Boot-time self-checks of the physical page table: the counts agree with the
 * table, specific and any-page allocation behave as the system calls promise,
 * and a taken page is zeroed. They run once, before the first env, and panic
 * on a broken invariant - cheaper than finding it later through a user test.
 */
#include <inc/error.h>
#include <inc/page.h>
#include <kern/arch/console.h>
#include <kern/mem/pmap.h>
#include <kern/debug/selftest.h>
#include <common/string.h>

static void check_counts(void)
{
	uint64_t nfree = 0;
	for (ppn_t p = 0; p < pages_total; p++) {
		const struct page_info *pg = &pages[p];
		if (pg->pg_type == PAGE_FREE) {
			nfree++;
			assert(pg->pg_owner == PAGE_OWNER_NONE && pg->pg_refs == 0);
		}
	}
	assert(nfree == pages_free);
}

static void check_alloc(void)
{
	uint64_t before = pages_free;
	long a = page_take(NULL, PAGE_KERNEL, PPN_ANY);
	assert(a > 0);
	assert(pages[a].pg_type == PAGE_KERNEL && pages[a].pg_owner == PAGE_OWNER_KERNEL);
	/* it comes zeroed: dirty it and check the next take of it is clean */
	memset(page_kva(a), 0xa5, PAGE_SIZE);
	page_give_back(a);
	assert(pages_free == before);
	long b = page_take(NULL, PAGE_KERNEL, (uint64_t)a);
	assert(b == a);
	const uint8_t *p = page_kva(b);
	for (int i = 0; i < (int)PAGE_SIZE; i++)
		assert(p[i] == 0);
	/* a taken page cannot be taken again; nor can a reserved one */
	assert(page_take(NULL, PAGE_KERNEL, (uint64_t)b) == -E_BUSY);
	assert(page_take(NULL, PAGE_KERNEL, 0) == -E_BUSY);
	assert(page_take(NULL, PAGE_KERNEL, pages_total) == -E_INVAL);
	page_give_back(b);
	assert(pages_free == before);
}

void selftest_run(void)
{
	check_counts();
	check_alloc();
	check_counts();
	cprintf("selftest: page table ok\n");
}
