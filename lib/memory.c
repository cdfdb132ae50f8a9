/*
 * Memory for programs: binding fresh pages, a heap grown by sbrk, and a
 * first-fit malloc over it.
 *
 * The heap is pages the library OS allocates and binds itself at
 * LIBOS_HEAP_BASE; it never shrinks. malloc keeps a free list of blocks with
 * a header each, coalescing neighbours on free. Single-threaded for now.
 */
#include <lib/libos.h>

long page_alloc_bind(uint64_t va)
{
	long ppn = sys_page_alloc(PPN_ANY, CAP_SELF);
	if (ppn < 0)
		return ppn;
	long r = sys_page_bind(0, va, (uint64_t)ppn, BIND_READ | BIND_WRITE, CAP_SELF);
	if (r < 0) {
		sys_page_free((uint64_t)ppn, CAP_SELF);
		return r;
	}
	return ppn;
}

int page_unbind_free(uint64_t va)
{
	/* The exposed page table does not say what va maps to, so the library
	 * OS would keep that; here we only need it for pages we just bound. */
	(void)va;
	return -E_NO_SYS;
}

static uint64_t heap_end = LIBOS_HEAP_BASE;    /* program break */
static uint64_t heap_mapped = LIBOS_HEAP_BASE; /* pages bound below this */

void *sbrk(intptr_t increment)
{
	uint64_t old = heap_end;
	if (increment < 0 || (uint64_t)increment > LIBOS_HEAP_MAX - (heap_end - LIBOS_HEAP_BASE))
		return (void *)-1;
	uint64_t want = heap_end + (uint64_t)increment;
	while (heap_mapped < want) {
		if (page_alloc_bind(heap_mapped) < 0)
			return (void *)-1;
		heap_mapped += PAGE_SIZE;
	}
	heap_end = want;
	return (void *)old;
}

struct block {
	size_t size;         /* bytes after the header */
	struct block *next;  /* next free block by address, when free */
};

#define ALIGN 16
#define HDR ROUNDUP(sizeof(struct block), ALIGN)

static struct block *free_list;

void *malloc(size_t n)
{
	if (n == 0 || n > LIBOS_HEAP_MAX)
		return NULL;
	n = ROUNDUP(n, ALIGN);
	for (struct block **pp = &free_list; *pp; pp = &(*pp)->next) {
		struct block *b = *pp;
		if (b->size < n)
			continue;
		if (b->size >= n + HDR + ALIGN) {
			struct block *rest = (struct block *)((char *)b + HDR + n);
			rest->size = b->size - n - HDR;
			rest->next = b->next;
			b->size = n;
			*pp = rest;
		} else {
			*pp = b->next;
		}
		return (char *)b + HDR;
	}
	struct block *b = sbrk((intptr_t)(HDR + n));
	if (b == (void *)-1)
		return NULL;
	b->size = n;
	return (char *)b + HDR;
}

void *calloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	void *p = malloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void free(void *p)
{
	if (!p)
		return;
	struct block *b = (struct block *)((char *)p - HDR);
	struct block **pp = &free_list;
	while (*pp && *pp < b)
		pp = &(*pp)->next;
	b->next = *pp;
	*pp = b;
	/* merge with the following block, then with the preceding one */
	if (b->next && (char *)b + HDR + b->size == (char *)b->next) {
		b->size += HDR + b->next->size;
		b->next = b->next->next;
	}
	if (pp != &free_list) {
		struct block *prev = (struct block *)((char *)pp - offsetof(struct block, next));
		if ((char *)prev + HDR + prev->size == (char *)b) {
			prev->size += HDR + b->size;
			prev->next = b->next;
		}
	}
}
