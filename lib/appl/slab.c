/*
 * The appliance's slab allocator (interface in lib/appl/slab.h).
 *
 * Small objects (up to SLAB_MAX bytes) live in one-page slabs, each of one
 * size class, the classes fitted so a page holds a whole number of slots
 * with little left over (a 464-byte TCP connection takes a 496-byte slot,
 * eight to a page). A slab hands out slots never used before by bumping an
 * index, and reused ones from its free list, so a fresh page costs no loop
 * over its slots. Each class keeps a list of slabs with a free slot; a
 * slab that becomes wholly free is kept if it is the class's only empty
 * one and given back to the page source otherwise, so memory follows load
 * without every free/alloc pair crossing into the pool.
 *
 * Larger objects are runs of pages with the same header in front, holding
 * the run's length. The page source is the pool of lib/appl/pages.c on Exo
 * and malloc'ed aligned pages in the host test.
 *
 * Hostile input: a pointer handed to slab_free that is not a live block
 * of ours (wrong magic, not on a slot boundary, beyond the slots handed
 * out, or in a slab with no slot in use) is counted in bad_frees and
 * otherwise ignored. A double free of a live slab slot cannot always be
 * told apart from a real free; it is caught when the slab's count would
 * go below zero.
 */
#include <common/string.h>
#include <lib/appl/slab.h>

#define SLAB_MAGIC 0x61706c53u  /* "Slpa" */
#define LARGE_MAGIC 0x61706c4cu /* "Llpa" */
#define SLOTS_BYTES (SLAB_PAGE - SLAB_HDR)

struct slab_unit {
	uint32_t u_magic;
	uint16_t u_class;  /* slab: its class */
	uint16_t u_used;   /* slab: slots in use */
	uint16_t u_bump;   /* slab: slots ever handed out */
	uint16_t u_cap;    /* slab: slots in the page */
	uint32_t u_pad;
	void *u_free;      /* slab: free slots, linked through their first word */
	struct slab_unit *u_next, *u_prev; /* slab: on its class's partial list */
	size_t u_npages;   /* large: pages in the run */
	size_t u_size;     /* large: bytes asked for */
};
_Static_assert(sizeof(struct slab_unit) <= SLAB_HDR, "header fits its space");

static const uint16_t class_sizes[SLAB_CLASSES] = {
	16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224,
	256, 288, 336, 400, 448, 496, 576, 672, 800, 1008,
};
_Static_assert(1008 == SLAB_MAX, "the last class is SLAB_MAX");

/* class_of[(n + 15) / 16]: the smallest class holding n bytes. */
static uint8_t class_of[SLAB_MAX / 16 + 1];

void slab_init(struct slab *s, const struct slab_pages *src)
{
	memset(s, 0, sizeof(*s));
	s->src = *src;
	unsigned k = 0;
	for (unsigned i = 0; i <= SLAB_MAX / 16; i++) {
		while (class_sizes[k] < i * 16)
			k++;
		class_of[i] = (uint8_t)k;
	}
}

size_t slab_class_size(size_t n)
{
	return class_sizes[class_of[(n + 15) / 16]];
}

static struct slab_unit *unit_of(const void *p)
{
	return (struct slab_unit *)((uintptr_t)p & ~(uintptr_t)(SLAB_PAGE - 1));
}

static void partial_add(struct slab *s, struct slab_unit *u)
{
	struct slab_unit **head = &s->partial[u->u_class];
	u->u_prev = NULL;
	u->u_next = *head;
	if (*head)
		(*head)->u_prev = u;
	*head = u;
}

static void partial_remove(struct slab *s, struct slab_unit *u)
{
	if (u->u_prev)
		u->u_prev->u_next = u->u_next;
	else
		s->partial[u->u_class] = u->u_next;
	if (u->u_next)
		u->u_next->u_prev = u->u_prev;
}

static void *large_alloc(struct slab *s, size_t n)
{
	if (n > ((size_t)1 << 40))
		return NULL;
	size_t npages = (n + SLAB_HDR + SLAB_PAGE - 1) / SLAB_PAGE;
	struct slab_unit *u = s->src.get(s->src.ctx, npages);
	if (!u)
		return NULL;
	u->u_magic = LARGE_MAGIC;
	u->u_npages = npages;
	u->u_size = n;
	s->large_bytes += n;
	s->allocs++;
	return (uint8_t *)u + SLAB_HDR;
}

void *slab_alloc(struct slab *s, size_t n)
{
	if (n == 0)
		n = 1;
	if (n > SLAB_MAX)
		return large_alloc(s, n);
	unsigned k = class_of[(n + 15) / 16];
	struct slab_unit *u = s->partial[k];
	if (!u) {
		u = s->src.get(s->src.ctx, 1);
		if (!u)
			return NULL;
		u->u_magic = SLAB_MAGIC;
		u->u_class = (uint16_t)k;
		u->u_used = u->u_bump = 0;
		u->u_cap = (uint16_t)(SLOTS_BYTES / class_sizes[k]);
		u->u_free = NULL;
		partial_add(s, u);
		s->empty[k]++;
	}
	void *p;
	if (u->u_free) {
		p = u->u_free;
		memcpy(&u->u_free, p, sizeof(void *));
	} else {
		p = (uint8_t *)u + SLAB_HDR + (size_t)u->u_bump * class_sizes[k];
		u->u_bump++;
	}
	if (u->u_used++ == 0)
		s->empty[k]--;
	if (u->u_used == u->u_cap)
		partial_remove(s, u);
	s->small_bytes += class_sizes[k];
	s->allocs++;
	return p;
}

/* Is p the start of a slot slab u has handed out? */
static bool slot_ok(const struct slab_unit *u, const void *p)
{
	if (u->u_class >= SLAB_CLASSES || u->u_used == 0)
		return false;
	size_t off = (size_t)((const uint8_t *)p - (const uint8_t *)u);
	size_t size = class_sizes[u->u_class];
	return off >= SLAB_HDR && (off - SLAB_HDR) % size == 0 &&
	       (off - SLAB_HDR) / size < u->u_bump;
}

void slab_free(struct slab *s, void *p)
{
	if (!p)
		return;
	struct slab_unit *u = unit_of(p);
	if (u->u_magic == LARGE_MAGIC && (uint8_t *)p == (uint8_t *)u + SLAB_HDR) {
		s->large_bytes -= u->u_size;
		s->frees++;
		u->u_magic = 0;
		s->src.put(s->src.ctx, u, u->u_npages);
		return;
	}
	if (u->u_magic != SLAB_MAGIC || !slot_ok(u, p)) {
		s->bad_frees++;
		return;
	}
	unsigned k = u->u_class;
	if (u->u_used == u->u_cap)
		partial_add(s, u);
	memcpy(p, &u->u_free, sizeof(void *));
	u->u_free = p;
	s->small_bytes -= class_sizes[k];
	s->frees++;
	if (--u->u_used)
		return;
	/* wholly free: keep one per class for the next burst, give back the rest */
	if (s->empty[k]++ == 0)
		return;
	s->empty[k]--;
	partial_remove(s, u);
	u->u_magic = 0;
	s->src.put(s->src.ctx, u, 1);
}

size_t slab_usable(const void *p)
{
	const struct slab_unit *u = unit_of(p);
	if (u->u_magic == LARGE_MAGIC)
		return u->u_npages * SLAB_PAGE - SLAB_HDR;
	if (u->u_magic == SLAB_MAGIC && u->u_class < SLAB_CLASSES)
		return class_sizes[u->u_class];
	return 0;
}
