/*
 * Memory for programs: binding fresh pages, a heap grown by sbrk, and a
 * first-fit malloc over it.
 *
 * The heap is demand-zero memory at LIBOS_HEAP_BASE (lib/base/vm.c binds pages
 * as they are touched); it never shrinks. malloc keeps a free list of blocks with
 * a header each, coalescing neighbours on free. One thread at a time: the
 * thread package switches threads only at its own calls and at slice ends,
 * and it defers a slice-end switch while heap_busy is set, so a thread is
 * never preempted half-way through changing the free list.
 */
#include <lib/base/libos.h>
#include <lib/base/vm.h>

long page_alloc_bind(uint64_t va)
{
	return vm_page_alloc(va, PROT_READ | PROT_WRITE);
}

static uint64_t heap_end = LIBOS_HEAP_BASE; /* program break */

/* The heap is a demand-zero region (vm_init): moving the break is all. */
void *sbrk(intptr_t increment)
{
	uint64_t old = heap_end;
	if (increment < 0 || (uint64_t)increment > LIBOS_HEAP_MAX - (heap_end - LIBOS_HEAP_BASE))
		return (void *)-1;
	heap_end += (uint64_t)increment;
	return (void *)old;
}

struct block {
	size_t size;         /* bytes after the header */
	struct block *next;  /* next free block by address, when free */
};

#define ALIGN 16
#define HDR ROUNDUP(sizeof(struct block), ALIGN)

static struct block *free_list;
volatile int heap_busy;
void (*volatile heap_deferred)(void);

static void *malloc_locked(size_t n);
static void free_locked(void *p);

/* Leave the heap; run what was put off while we were in it (a thread
 * switch the slice end asked for). */
static void heap_leave(void)
{
	if (--heap_busy == 0 && heap_deferred) {
		void (*fn)(void) = heap_deferred;
		heap_deferred = NULL;
		fn();
	}
}

void *malloc(size_t n)
{
	heap_busy++;
	void *p = malloc_locked(n);
	heap_leave();
	return p;
}

void free(void *p)
{
	heap_busy++;
	free_locked(p);
	heap_leave();
}

static void *malloc_locked(size_t n)
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

static void free_locked(void *p)
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
