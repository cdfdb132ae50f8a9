/*
 * The packet-filter engine (DPF), kernel side: every installed filter merged
 * into one decision trie, an interpreter of the trie, the overlap check that
 * keeps one env from claiming another's packets, and a compiler of the trie to
 * x86-64. The filter format is inc/dpf.h; doc/dpf.md has the merge, match and
 * overlap rules and the shape of the compiled code.
 *
 * Pure and freestanding: nothing here allocates, locks or knows about envs
 * beyond an owner tag; the same source builds into the kernel and into host
 * tests. All state lives in one caller-provided struct dpf (fixed arrays,
 * 592 KiB with the DPF_MAX_* limits); call dpf_init() before use.
 *
 * Locking: the caller serialises every call that changes or compiles the
 * trie against each other and against dpf_match(). Compiled code reads only
 * its own buffer, never the struct dpf, so it may keep running while the trie
 * is changed and a new copy compiled into another buffer.
 *
 * Compiling: dpf_compile() regenerates the code for the whole trie (it is
 * fast: see doc/dpf.md for figures). Call it with size 0 to learn the size.
 * The code is position-independent (it may be copied before use); map it
 * read+execute, never writable and executable at once, and call it as a
 * dpf_code_fn. It returns what dpf_match() would, for every packet.
 */
#ifndef EXO_KERN_DPF_H
#define EXO_KERN_DPF_H

#include <inc/dpf.h>

#define DPF_NONE 0xffff /* no node, state or filter (indices are 16-bit) */
_Static_assert(DPF_MAX_STATES < DPF_NONE && DPF_MAX_NODES < DPF_NONE &&
		       DPF_MAX_FILTERS < DPF_NONE,
	       "trie indices fit in 16 bits");
/* Edge table slots: a power of two, at least twice the states, so it stays at
 * most half full and probes stay short. */
#define DPF_EDGE_SLOTS 32768
_Static_assert((DPF_EDGE_SLOTS & (DPF_EDGE_SLOTS - 1)) == 0, "edge slots: power of two");
_Static_assert(DPF_EDGE_SLOTS >= 2 * DPF_MAX_STATES, "edge table at most half full");

/* A test: one atom without its value. Its children are the states reached by
 * each value the test has seen (exactly one for a SHIFT). */
struct dpf_node {
	uint32_t dn_mask;
	uint32_t dn_add;      /* SHIFT: the atom's value */
	uint32_t dn_nchild;   /* child states */
	uint32_t dn_jit;      /* dpf_compile scratch: code offset */
	uint16_t dn_offset;
	uint8_t dn_op, dn_width;
	int8_t dn_shift;
	uint16_t dn_parent;   /* the state it is tested from */
	uint16_t dn_prev;     /* alternatives tested from the same state */
	uint16_t dn_next;     /* ... also links the free list */
	uint16_t dn_child;    /* first child state */
};

/* A point in the trie: the atoms on the path from the root hold. */
struct dpf_state {
	uint32_t ds_value;    /* the parent node's value that leads here */
	uint32_t ds_jit;      /* dpf_compile scratch: code offset */
	uint16_t ds_parent;   /* node; DPF_NONE for the root */
	uint16_t ds_prev;     /* siblings: the parent node's other children */
	uint16_t ds_next;     /* ... also links the free list */
	uint16_t ds_alt;      /* first node tested from here */
	uint16_t ds_filter;   /* lowest id of the filters that end here, or DPF_NONE */
	uint8_t ds_depth;     /* atoms on the path */
};

struct dpf_slot {
	envid_t fs_owner;
	uint16_t fs_state;    /* where its path ends; DPF_NONE: slot free */
	uint16_t fs_next;     /* next higher id that ends at the same state */
};

struct dpf {
	uint32_t d_nfilters, d_nnodes, d_nstates; /* in use (d_nstates counts the root) */
	uint16_t d_free_node, d_free_state;       /* free lists */
	struct dpf_slot d_filters[DPF_MAX_FILTERS];
	struct dpf_node d_nodes[DPF_MAX_NODES];
	struct dpf_state d_states[DPF_MAX_STATES]; /* [0] is the root */
	uint16_t d_edges[DPF_EDGE_SLOTS]; /* EQ children by (node, value); 0: empty */
};

/* Shared by the trie (dpf.c) and its compiler (dpf_jit.c). */
#define DPF_ROOT 0 /* the root state */

static inline uint32_t dpf_width_mask(unsigned width)
{
	return width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1;
}

/* A filter's rank at state s: higher is better, more atoms, then a lower id.
 * Never 0 (depth >= 1). */
static inline uint32_t dpf_rank(const struct dpf *d, uint16_t s)
{
	return (uint32_t)d->d_states[s].ds_depth << 16 | (0xffffu - d->d_states[s].ds_filter);
}

/* The compiled trie. */
typedef int dpf_code_fn(const uint8_t *pkt, size_t len);

/* An empty trie. */
void dpf_init(struct dpf *d);

/* 0 if f is well formed (inc/dpf.h), else -E_INVAL. */
int dpf_check(const struct dpf_filter *f);

/* Would f accept a packet that an installed filter of another owner accepts?
 * Returns the id of one such filter, -1 if there is none, or -E_INVAL if f
 * is malformed. Conservative: it answers "none" only when it has proved the
 * two can never both match (doc/dpf.md). Does not change d. */
int dpf_conflicts(const struct dpf *d, const struct dpf_filter *f, envid_t owner);

/* As dpf_conflicts, but overlapping a filter whose owner ok(owner, arg)
 * accepts is no conflict: the search goes on past it, so the answer is a
 * filter of an owner ok refuses, whichever filters of accepted owners it
 * meets first. -1 if every owner f overlaps is accepted. */
typedef bool dpf_owner_ok_fn(envid_t other, void *arg);
int dpf_conflicts_unless(const struct dpf *d, const struct dpf_filter *f, envid_t owner,
			 dpf_owner_ok_fn *ok, void *arg);

/* Installs f for owner, whatever it overlaps (the caller asks dpf_conflicts
 * first). Returns the new filter's id, the lowest free one, or:
 *	-E_INVAL  f is malformed
 *	-E_FULL   DPF_MAX_FILTERS filters installed, or no room for its nodes or states
 * On error d is unchanged. */
int dpf_insert(struct dpf *d, const struct dpf_filter *f, envid_t owner);

/* Removes filter id, freeing the trie parts no other filter uses. Returns 0,
 * or -E_NOT_FOUND if no filter has that id. */
int dpf_remove(struct dpf *d, int id);

/* The installed filter id, in canonical atom order (doc/dpf.md), and its
 * owner. Returns 0 or -E_NOT_FOUND. */
int dpf_get(const struct dpf *d, int id, struct dpf_filter *f, envid_t *owner);

/* The id of the filter that gets pkt[0..len), or -1 if none accepts it. */
int dpf_match(const struct dpf *d, const uint8_t *pkt, size_t len);

/* Compiles the whole trie into code[0..size), entry at code[0]. Returns 0
 * with *len = bytes used, or -E_NO_MEM with *len = bytes needed if size is
 * too small (bytes past size are never written). */
int dpf_compile(struct dpf *d, uint8_t *code, size_t size, size_t *len);

#endif
