/*
 * Host tests of the appliance library OS's pure parts: the slab allocator
 * (lib/appl/slab.c) over a fake page source that hands out aligned pages
 * and checks every page comes back exactly once.
 */
#include "test/check.h"
#include <stdint.h>
#include "test/rename.h"
#include <common/string.h>
#include <lib/appl/slab.h>

#define MAXRUNS 4096

static struct {
	void *p;
	size_t n;
	bool live;
} runs[MAXRUNS];
static int nruns, live_pages, bad_puts;

static void *fake_get(void *ctx, size_t n)
{
	(void)ctx;
	if (nruns == MAXRUNS)
		return NULL;
	void *p = aligned_alloc(SLAB_PAGE, n * SLAB_PAGE);
	if (!p)
		return NULL;
	memset(p, 0xa5, n * SLAB_PAGE); /* pages are not zeroed: neither are these */
	runs[nruns].p = p;
	runs[nruns].n = n;
	runs[nruns].live = true;
	nruns++;
	live_pages += (int)n;
	return p;
}

static void fake_put(void *ctx, void *p, size_t n)
{
	(void)ctx;
	for (int i = 0; i < nruns; i++) {
		if (runs[i].p == p && runs[i].live && runs[i].n == n) {
			runs[i].live = false;
			live_pages -= (int)n;
			free(p);
			return;
		}
	}
	bad_puts++;
}

static struct slab s;

static void setup(void)
{
	for (int i = 0; i < nruns; i++)
		if (runs[i].live)
			free(runs[i].p);
	nruns = live_pages = bad_puts = 0;
	struct slab_pages src = { NULL, fake_get, fake_put };
	slab_init(&s, &src);
}

TEST(slab, classes_cover_every_size)
{
	setup();
	for (size_t n = 1; n <= SLAB_MAX; n++) {
		size_t k = slab_class_size(n);
		CHECK(k >= n);
		CHECK(k % 16 == 0);
		CHECK_MSG((SLAB_PAGE - SLAB_HDR) / k >= 4, "class %zu: fewer than 4 a page", k);
	}
	CHECK(slab_class_size(464) == 496); /* a TCP connection: 8 a page */
}

TEST(slab, alloc_free_reuse_and_return)
{
	setup();
	enum { N = 5000 };
	static void *p[N];
	for (int i = 0; i < N; i++) {
		size_t n = 1 + (size_t)(i * 7919) % SLAB_MAX;
		p[i] = slab_alloc(&s, n);
		CHECK(p[i] != NULL);
		CHECK(((uintptr_t)p[i] & 15) == 0);
		CHECK(slab_usable(p[i]) >= n);
		memset(p[i], i & 0xff, n);
	}
	/* no two blocks overlap: each still holds its own byte */
	for (int i = 0; i < N; i++) {
		size_t n = 1 + (size_t)(i * 7919) % SLAB_MAX;
		const uint8_t *b = p[i];
		bool same = true;
		for (size_t j = 0; j < n; j++)
			same &= b[j] == (uint8_t)(i & 0xff);
		CHECK_MSG(same, "block %d overwritten", i);
	}
	int peak = live_pages;
	for (int i = 0; i < N; i += 2)
		slab_free(&s, p[i]);
	for (int i = 0; i < N; i += 2) {
		p[i] = slab_alloc(&s, 1 + (size_t)(i * 7919) % SLAB_MAX);
		CHECK(p[i] != NULL);
	}
	CHECK_MSG(live_pages == peak, "reuse took new pages: %d -> %d", peak, live_pages);
	for (int i = 0; i < N; i++)
		slab_free(&s, p[i]);
	CHECK(s.small_bytes == 0);
	CHECK(s.allocs == s.frees);
	/* at most one empty slab kept per class */
	CHECK_MSG(live_pages <= SLAB_CLASSES, "%d pages kept", live_pages);
	CHECK(bad_puts == 0);
}

TEST(slab, large_blocks_are_page_runs)
{
	setup();
	void *a = slab_alloc(&s, SLAB_MAX + 1);
	void *b = slab_alloc(&s, 65536);
	void *c = slab_alloc(&s, 10 << 20);
	CHECK(a && b && c);
	CHECK(live_pages == 1 + 17 + 2561);
	CHECK(slab_usable(b) >= 65536);
	memset(c, 1, 10 << 20);
	CHECK(s.large_bytes == SLAB_MAX + 1 + 65536 + (10 << 20));
	slab_free(&s, b);
	slab_free(&s, a);
	slab_free(&s, c);
	CHECK(live_pages == 0);
	CHECK(s.large_bytes == 0);
	CHECK(bad_puts == 0);
	CHECK(slab_alloc(&s, (size_t)1 << 62) == NULL);
}

TEST(slab, bad_frees_are_counted_not_followed)
{
	setup();
	uint8_t *a = slab_alloc(&s, 100); /* 112-byte slots */
	uint8_t *b = slab_alloc(&s, 100);
	uint8_t *big = slab_alloc(&s, 5000);
	slab_free(&s, a + 8);                       /* inside a slot */
	slab_free(&s, a + 112 * 5);                 /* a slot never handed out */
	slab_free(&s, big + 16);                    /* inside a large block */
	slab_free(&s, (uint8_t *)((uintptr_t)a & ~(uintptr_t)(SLAB_PAGE - 1))); /* the header */
	CHECK_MSG(s.bad_frees == 4, "bad_frees %lu", (unsigned long)s.bad_frees);
	slab_free(&s, a);
	slab_free(&s, b);
	slab_free(&s, a); /* the slab has no slot in use now: refused */
	CHECK(s.bad_frees == 5);
	slab_free(&s, big);
	CHECK(s.small_bytes == 0 && s.large_bytes == 0);
	CHECK(bad_puts == 0);
}

TEST(slab, page_source_failure_is_null)
{
	setup();
	nruns = MAXRUNS; /* the fake refuses every page now */
	CHECK(slab_alloc(&s, 10) == NULL);
	CHECK(slab_alloc(&s, 100000) == NULL);
	nruns = 0;
	CHECK(slab_alloc(&s, 10) != NULL);
}
