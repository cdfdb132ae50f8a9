/*
 * The appliance's page pool and memory interface (lib/appl/appl.h).
 *
 * Pages are asked for by name, as an exokernel expects: the pool reads the
 * kernel's exposed page table (upages[]) from a cursor for pages marked
 * free and takes each with sys_page_alloc(ppn). Another env may take the
 * same page between the look and the call; the kernel then says E_BUSY
 * and the pool moves on (counted in pages_raced). When the scan finds
 * nothing the kernel is asked for any page, which also lets it start
 * revocation elsewhere. The pages are bound, in batches of up to
 * BIND_BATCH_MAX requests per crossing, at the next addresses of the
 * pool's own region (APPL_POOL_BASE), which nothing else in the library
 * OS uses.
 *
 * Freed runs stay bound and go to a free list by length (exact lists up to
 * RUN_BINS pages, one first-fit list beyond, split on reuse), so a server
 * in steady state allocates without system calls. The pool never gives
 * pages back to the kernel: a server's peak is what it keeps. (Revocation
 * requests go to lib/base's VM, which does not know these pages; see
 * doc/appl.md.)
 *
 * appl_alloc/appl_free are the slab allocator of lib/appl/slab.c over
 * this pool. appl_free checks that a pointer lies in the pool's region
 * before reading its page header, so a stray pointer is counted, not
 * followed.
 */
#include <lib/appl/appl.h>
#include <lib/appl/slab.h>
#include <lib/base/libos.h>
#include <lib/net/tcpnet.h>

#define APPL_POOL_BASE 0x0000400000000000UL
#define APPL_POOL_MAX (1UL << 40) /* of address space: far beyond any RAM */
#define RUN_BINS 32               /* exact free lists for runs of 1..32 pages */

struct run {
	struct run *r_next;
	size_t r_npages;
};

static struct run *bins[RUN_BINS + 1], *big_runs;
static uint64_t pool_end = APPL_POOL_BASE; /* next unused address */
static uint64_t ppn_cursor;                /* where the scan for free pages goes on */
static struct appl_mem_stats mstats;
static struct slab slab;
static bool ready;

/* One physical page by name, or by the kernel's choice when the scan
 * finds none: its ppn, or -E_*. */
static long take_page(void)
{
	uint64_t n = ukinfo->ki_npages;
	for (uint64_t scanned = 0; scanned < n; scanned++) {
		uint64_t ppn = ppn_cursor;
		ppn_cursor = ppn_cursor + 1 < n ? ppn_cursor + 1 : 0;
		if (upages[ppn].pg_type != PAGE_FREE)
			continue;
		long r = sys_page_alloc(ppn, CAP_SELF);
		if (r >= 0) {
			mstats.pages_taken++;
			return r;
		}
		if (r != -E_BUSY)
			return r; /* at our limit, or out of memory */
		mstats.pages_raced++;
	}
	long r = sys_page_alloc(PPN_ANY, CAP_SELF);
	if (r >= 0)
		mstats.pages_taken++;
	return r;
}

/* npages new pages bound at the end of the region, or NULL (then nothing
 * is left allocated). */
static void *grow(size_t npages)
{
	if (npages > (APPL_POOL_BASE + APPL_POOL_MAX - pool_end) / PAGE_SIZE)
		return NULL;
	uint64_t base = pool_end;
	struct bind_req reqs[BIND_BATCH_MAX];
	size_t done = 0;
	while (done < npages) {
		size_t n = 0;
		while (n < BIND_BATCH_MAX && done + n < npages) {
			long ppn = take_page();
			if (ppn < 0)
				break;
			reqs[n].br_va = base + (done + n) * PAGE_SIZE;
			reqs[n].br_ppn = (uint64_t)ppn;
			reqs[n].br_rights = BIND_READ | BIND_WRITE;
			n++;
		}
		long r = n ? sys_page_bind_batch(0, reqs, n, CAP_SELF) : -E_NO_MEM;
		if (r < 0 || (size_t)r != n || n < MIN((size_t)BIND_BATCH_MAX, npages - done)) {
			/* give back this batch and everything bound before it */
			for (size_t i = 0; i < n; i++)
				sys_page_free(reqs[i].br_ppn, CAP_SELF);
			for (size_t i = 0; i < done; i++) {
				uint64_t va = base + i * PAGE_SIZE;
				long b = sys_page_lookup(va);
				sys_page_unbind(0, va, CAP_SELF);
				if (b >= 0)
					sys_page_free((uint64_t)b >> PAGE_SHIFT, CAP_SELF);
			}
			mstats.pages_taken -= n + done;
			return NULL;
		}
		done += n;
	}
	pool_end += npages * PAGE_SIZE;
	mstats.pages_owned += npages;
	return (void *)base;
}

static void *pool_get(void *ctx UNUSED, size_t npages)
{
	struct run **bin = npages <= RUN_BINS ? &bins[npages] : NULL;
	if (bin && *bin) {
		struct run *r = *bin;
		*bin = r->r_next;
		mstats.pages_free -= npages;
		return r;
	}
	for (struct run **pp = &big_runs; *pp; pp = &(*pp)->r_next) {
		struct run *r = *pp;
		if (r->r_npages < npages)
			continue;
		*pp = r->r_next;
		mstats.pages_free -= r->r_npages;
		if (r->r_npages > npages) {
			/* the tail goes back as a run of its own */
			struct run *tail = (struct run *)((uint8_t *)r + npages * PAGE_SIZE);
			size_t left = r->r_npages - npages;
			appl_pages_free(tail, left);
		}
		return r;
	}
	return grow(npages);
}

static void pool_put(void *ctx UNUSED, void *p, size_t npages)
{
	struct run *r = p;
	r->r_npages = npages;
	if (npages <= RUN_BINS) {
		r->r_next = bins[npages];
		bins[npages] = r;
	} else {
		r->r_next = big_runs;
		big_runs = r;
	}
	mstats.pages_free += npages;
}

static void init_memory(void)
{
	if (ready)
		return;
	struct slab_pages src = { NULL, pool_get, pool_put };
	slab_init(&slab, &src);
	ready = true;
}

void *appl_pages(size_t npages)
{
	init_memory();
	return npages ? pool_get(NULL, npages) : NULL;
}

void appl_pages_free(void *p, size_t npages)
{
	uint64_t va = (uint64_t)p;
	if (!p || !npages || va < APPL_POOL_BASE || va >= pool_end || va % PAGE_SIZE ||
	    npages > (pool_end - va) / PAGE_SIZE) {
		mstats.bad_frees++;
		return;
	}
	pool_put(NULL, p, npages);
}

void *appl_alloc(size_t n)
{
	init_memory();
	return slab_alloc(&slab, n);
}

void *appl_calloc(size_t n)
{
	void *p = appl_alloc(n);
	if (p)
		memset(p, 0, n);
	return p;
}

static bool in_pool(const void *p)
{
	return (uint64_t)p >= APPL_POOL_BASE && (uint64_t)p < pool_end;
}

void appl_free(void *p)
{
	if (!p)
		return;
	if (!in_pool(p)) {
		mstats.bad_frees++;
		return;
	}
	slab_free(&slab, p);
}

size_t appl_size(const void *p)
{
	return p && in_pool(p) ? slab_usable(p) : 0;
}

void appl_mem_stats(struct appl_mem_stats *s)
{
	*s = mstats;
	s->slab_bytes = slab.small_bytes;
	s->large_bytes = slab.large_bytes;
	s->allocs = slab.allocs;
	s->frees = slab.frees;
	s->bad_frees = mstats.bad_frees + slab.bad_frees;
}

/* The TCP stack's memory is the appliance's. */
static void *tcp_mem_alloc(size_t n)
{
	return appl_alloc(n);
}

static void tcp_mem_free(void *p, size_t n UNUSED)
{
	appl_free(p);
}

int appl_init(void)
{
	init_memory();
	tcpnet_set_memory(tcp_mem_alloc, tcp_mem_free);
	return net_open();
}
