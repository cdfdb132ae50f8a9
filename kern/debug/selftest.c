/*
 * Boot-time self-checks of the physical page table: the counts agree with the
 * table, specific and any-page allocation behave as the system calls promise,
 * and a taken page is zeroed; and of the boot archive's parser: a small
 * archive built here is accepted, and each of a few damaged copies refused.
 * They run once, before the first env, and panic on a broken invariant -
 * cheaper than finding it later through a user test.
 */
#include <inc/error.h>
#include <inc/page.h>
#include <kern/arch/console.h>
#include <kern/env/progarchive.h>
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

/* Two programs, "a" (5 bytes) and "b" (16), in the format of
 * inc/progarchive.h. */
static union {
	uint8_t bytes[128 + 16 + 16]; /* the table ends at 120: "a" at 128 */
	uint64_t align;
} archive;

static void archive_build(void)
{
	memset(&archive, 0, sizeof(archive));
	struct pa_header *h = (void *)archive.bytes;
	struct pa_entry *pe = (void *)(archive.bytes + sizeof(*h));
	memcpy(h->pa_magic, PA_MAGIC, sizeof(h->pa_magic));
	h->pa_version = PA_VERSION;
	h->pa_count = 2;
	h->pa_size = sizeof(archive.bytes);
	pe[0].pe_name[0] = 'a';
	pe[0].pe_offset = 128;
	pe[0].pe_size = 5;
	pe[1].pe_name[0] = 'b';
	pe[1].pe_offset = 144;
	pe[1].pe_size = 16;
	memcpy(archive.bytes + pe[0].pe_offset, "hello", 5);
	memset(archive.bytes + pe[1].pe_offset, 0x5a, 16);
}

static int archive_parse(uint64_t len)
{
	struct program out[2];
	unsigned n;
	struct pa_error err;
	int r = progarchive_parse(archive.bytes, len, out, 2, &n, &err);
	if (r == 0) {
		assert(n == 2 && out[0].name[0] == 'a' && out[1].end - out[1].start == 16);
		assert(memcmp(out[0].start, "hello", 5) == 0);
	} else {
		assert(n == 0 && err.pa_why);
	}
	return r;
}

static void check_progarchive(void)
{
	struct pa_entry *pe = (void *)(archive.bytes + sizeof(struct pa_header));
	archive_build();
	assert(archive_parse(sizeof(archive.bytes)) == 0);
	assert(archive_parse(sizeof(archive.bytes) - 1) == -E_INVAL); /* size field */
	archive.bytes[0] ^= 1; /* magic */
	assert(archive_parse(sizeof(archive.bytes)) == -E_INVAL);
	archive_build();
	pe[1].pe_size = 17; /* past the end */
	assert(archive_parse(sizeof(archive.bytes)) == -E_INVAL);
	archive_build();
	pe[1].pe_offset -= 16; /* overlaps "a" */
	assert(archive_parse(sizeof(archive.bytes)) == -E_INVAL);
	archive_build();
	pe[1].pe_name[0] = 'a'; /* twice */
	assert(archive_parse(sizeof(archive.bytes)) == -E_INVAL);
	archive_build();
	archive.bytes[pe[0].pe_offset + 6] = 1; /* a byte in a gap */
	assert(archive_parse(sizeof(archive.bytes)) == -E_INVAL);
}

void selftest_run(void)
{
	check_counts();
	check_alloc();
	check_counts();
	check_progarchive();
	cprintf("selftest: page table ok, boot archive parser ok\n");
}
