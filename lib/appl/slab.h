/*
 * The appliance's slab allocator (lib/appl/slab.c), between lib/appl's
 * files and the host test: pure, it gets whole pages from a page source
 * (struct slab_pages) and never touches the machine itself.
 *
 * Every block lives in a page-aligned unit whose first SLAB_HDR bytes say
 * what it is: a slab (one page of equal slots of one size class) or a
 * large block (a run of pages holding one object). So a block's size is
 * found from its address alone (rounded down to its page), and a pointer
 * that is not one of ours is recognised (magic, slot alignment) and
 * counted instead of corrupting anything.
 */
#ifndef EXO_LIB_APPL_SLAB_H
#define EXO_LIB_APPL_SLAB_H

#include <inc/types.h>

#define SLAB_PAGE 4096
#define SLAB_HDR 64      /* bytes of header at the front of each unit */
#define SLAB_CLASSES 21  /* size classes, 16 to SLAB_MAX bytes */
#define SLAB_MAX 1008    /* the largest slot: four to a page */

struct slab_pages {
	void *ctx;
	/* n contiguous page-aligned pages, or NULL. */
	void *(*get)(void *ctx, size_t n);
	void (*put)(void *ctx, void *p, size_t n);
};

struct slab_unit;
struct slab {
	struct slab_pages src;
	struct slab_unit *partial[SLAB_CLASSES]; /* slabs with a free slot */
	unsigned empty[SLAB_CLASSES];            /* of which wholly free */
	uint64_t small_bytes, large_bytes;       /* in use now, slot/asked sizes */
	uint64_t allocs, frees, bad_frees;
};

void slab_init(struct slab *s, const struct slab_pages *src);
void *slab_alloc(struct slab *s, size_t n);
void slab_free(struct slab *s, void *p);
/* The usable size of p (0 if p is not one of ours). */
size_t slab_usable(const void *p);
/* The slot size of the class n falls in (n <= SLAB_MAX), for tests. */
size_t slab_class_size(size_t n);

#endif
