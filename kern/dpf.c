/*
 * The packet-filter engine: a trie of every installed filter, its
 * interpreter, the overlap check and the x86-64 compiler (kern/dpf.h is the
 * interface, doc/dpf.md the rules).
 *
 * Shape of the trie. A state is a point where the atoms on its path from the
 * root hold; the root is state 0. From a state hang nodes, the alternative
 * tests made there: a node is one atom without its value (op, offset, width,
 * mask, and for SHIFT the shift and addend). An EQ node's children are one
 * state per value seen, found through the edge table, a hash keyed by (node,
 * value), so dispatch costs the same with 1 or 1000 children; a SHIFT node
 * has one child. A filter is the path of its atoms in canonical order and
 * ends at a state, which lists the filters ending there by increasing id.
 *
 * Matching explores every alternative (filters may diverge anywhere) and
 * keeps the best rank, (atoms << 16) | (0xffff - id): the longest filter
 * wins, then the lowest id. Depth is at most DPF_MAX_ATOMS, so recursion here
 * and the compiled code's stack are bounded.
 *
 * Everything lives in the caller's struct dpf: nodes and states come from
 * free lists, indices are 16-bit, and an insert checks that it has room
 * before it changes anything.
 */
#include <kern/dpf.h>
#include <inc/error.h>

#define ROOT 0

/* --- filters ------------------------------------------------------------- */

static uint32_t width_mask(unsigned width)
{
	return width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1;
}

int dpf_check(const struct dpf_filter *f)
{
	if (f->df_natoms < 1 || f->df_natoms > DPF_MAX_ATOMS || f->df_pad)
		return -E_INVAL;
	for (uint32_t i = 0; i < f->df_natoms; i++) {
		const struct dpf_atom *a = &f->df_atoms[i];
		if (a->da_pad0 || a->da_pad1)
			return -E_INVAL;
		if (a->da_width != 1 && a->da_width != 2 && a->da_width != 4)
			return -E_INVAL;
		if (!a->da_mask || (a->da_mask & ~width_mask(a->da_width)))
			return -E_INVAL;
		if (a->da_op == DPF_OP_EQ) {
			if (a->da_shift || (a->da_value & ~a->da_mask))
				return -E_INVAL;
		} else if (a->da_op == DPF_OP_SHIFT) {
			if (a->da_shift < DPF_SHIFT_MIN || a->da_shift > DPF_SHIFT_MAX)
				return -E_INVAL;
		} else {
			return -E_INVAL;
		}
	}
	return 0;
}

static int atom_cmp(const struct dpf_atom *a, const struct dpf_atom *b)
{
	if (a->da_offset != b->da_offset)
		return a->da_offset < b->da_offset ? -1 : 1;
	if (a->da_width != b->da_width)
		return a->da_width < b->da_width ? -1 : 1;
	if (a->da_mask != b->da_mask)
		return a->da_mask < b->da_mask ? -1 : 1;
	if (a->da_value != b->da_value)
		return a->da_value < b->da_value ? -1 : 1;
	return 0;
}

/* Canonical order: each run of EQ atoms between SHIFT atoms sorted by
 * (offset, width, mask, value). Such atoms see the same base, so the order
 * does not change what the filter accepts, and filters listing the same
 * tests in different orders share the trie. Returns the atom count. */
static uint32_t canonical(const struct dpf_filter *f, struct dpf_atom *out)
{
	uint32_t n = f->df_natoms;
	for (uint32_t i = 0; i < n; i++) {
		struct dpf_atom a = f->df_atoms[i];
		uint32_t k = i;
		if (a.da_op == DPF_OP_EQ)
			for (; k > 0 && out[k - 1].da_op == DPF_OP_EQ && atom_cmp(&out[k - 1], &a) > 0;
			     k--)
				out[k] = out[k - 1];
		out[k] = a;
	}
	return n;
}

/* --- the trie's storage ---------------------------------------------------- */

static uint32_t edge_hash(uint16_t node, uint32_t value)
{
	uint32_t h = (value ^ ((uint32_t)node * 0x85ebca6bu)) * 0x9e3779b1u;
	return (h ^ (h >> 15)) & (DPF_EDGE_SLOTS - 1);
}

/* The child of EQ node n for value v. The table is never full, so the probe
 * ends at an empty slot. */
static uint16_t edge_find(const struct dpf *d, uint16_t n, uint32_t v)
{
	for (uint32_t i = edge_hash(n, v);; i = (i + 1) & (DPF_EDGE_SLOTS - 1)) {
		uint16_t s = d->d_edges[i];
		if (s == 0)
			return DPF_NONE;
		if (d->d_states[s].ds_parent == n && d->d_states[s].ds_value == v)
			return s;
	}
}

static void edge_add(struct dpf *d, uint16_t s)
{
	const struct dpf_state *st = &d->d_states[s];
	uint32_t i = edge_hash(st->ds_parent, st->ds_value);
	while (d->d_edges[i])
		i = (i + 1) & (DPF_EDGE_SLOTS - 1);
	d->d_edges[i] = s;
}

/* Linear-probing delete without tombstones: later entries of the cluster
 * move back into the hole when their home slot does not lie after it. */
static void edge_del(struct dpf *d, uint16_t s)
{
	const uint32_t m = DPF_EDGE_SLOTS - 1;
	uint32_t i = edge_hash(d->d_states[s].ds_parent, d->d_states[s].ds_value);
	while (d->d_edges[i] != s)
		i = (i + 1) & m;
	for (uint32_t j = (i + 1) & m; d->d_edges[j]; j = (j + 1) & m) {
		const struct dpf_state *o = &d->d_states[d->d_edges[j]];
		uint32_t home = edge_hash(o->ds_parent, o->ds_value);
		/* stays iff home is cyclically in (i, j] */
		if (((j - home) & m) < ((j - i) & m))
			continue;
		d->d_edges[i] = d->d_edges[j];
		i = j;
	}
	d->d_edges[i] = 0;
}

/* Sets every field the trie reads before writing (no memset: this file
 * needs no library, so host tests can compile it in). */
void dpf_init(struct dpf *d)
{
	d->d_nfilters = d->d_nnodes = 0;
	for (uint32_t i = 0; i < DPF_EDGE_SLOTS; i++)
		d->d_edges[i] = 0;
	for (uint32_t i = 0; i < DPF_MAX_FILTERS; i++)
		d->d_filters[i].fs_state = DPF_NONE;
	for (uint32_t i = 0; i < DPF_MAX_NODES; i++)
		d->d_nodes[i].dn_next = i + 1 < DPF_MAX_NODES ? (uint16_t)(i + 1) : DPF_NONE;
	for (uint32_t i = 1; i < DPF_MAX_STATES; i++)
		d->d_states[i].ds_next = i + 1 < DPF_MAX_STATES ? (uint16_t)(i + 1) : DPF_NONE;
	d->d_free_node = 0;
	d->d_free_state = 1;
	d->d_states[ROOT] = (struct dpf_state){ .ds_parent = DPF_NONE, .ds_prev = DPF_NONE,
						.ds_next = DPF_NONE, .ds_alt = DPF_NONE,
						.ds_filter = DPF_NONE };
	d->d_nstates = 1;
}

static bool node_is(const struct dpf_node *n, const struct dpf_atom *a)
{
	if (n->dn_op != a->da_op || n->dn_offset != a->da_offset || n->dn_width != a->da_width ||
	    n->dn_mask != a->da_mask)
		return false;
	return a->da_op == DPF_OP_EQ || (n->dn_shift == a->da_shift && n->dn_add == a->da_value);
}

/* The node for atom a tested from state s, or DPF_NONE. */
static uint16_t find_node(const struct dpf *d, uint16_t s, const struct dpf_atom *a)
{
	for (uint16_t n = d->d_states[s].ds_alt; n != DPF_NONE; n = d->d_nodes[n].dn_next)
		if (node_is(&d->d_nodes[n], a))
			return n;
	return DPF_NONE;
}

/* The state atom a leads to from node n, or DPF_NONE. */
static uint16_t find_child(const struct dpf *d, uint16_t n, const struct dpf_atom *a)
{
	if (a->da_op == DPF_OP_SHIFT)
		return d->d_nodes[n].dn_child;
	return edge_find(d, n, a->da_value);
}

static uint16_t node_new(struct dpf *d, uint16_t s, const struct dpf_atom *a)
{
	uint16_t n = d->d_free_node;
	struct dpf_node *nd = &d->d_nodes[n];
	struct dpf_state *st = &d->d_states[s];
	d->d_free_node = nd->dn_next;
	*nd = (struct dpf_node){
		.dn_mask = a->da_mask,
		.dn_add = a->da_op == DPF_OP_SHIFT ? a->da_value : 0,
		.dn_offset = a->da_offset,
		.dn_op = a->da_op,
		.dn_width = a->da_width,
		.dn_shift = a->da_shift,
		.dn_parent = s,
		.dn_prev = DPF_NONE,
		.dn_next = st->ds_alt,
		.dn_child = DPF_NONE,
	};
	if (st->ds_alt != DPF_NONE)
		d->d_nodes[st->ds_alt].dn_prev = n;
	st->ds_alt = n;
	d->d_nnodes++;
	return n;
}

static uint16_t state_new(struct dpf *d, uint16_t n, uint32_t value, uint32_t depth)
{
	uint16_t s = d->d_free_state;
	struct dpf_state *st = &d->d_states[s];
	struct dpf_node *nd = &d->d_nodes[n];
	d->d_free_state = st->ds_next;
	*st = (struct dpf_state){
		.ds_value = nd->dn_op == DPF_OP_EQ ? value : 0,
		.ds_parent = n,
		.ds_prev = DPF_NONE,
		.ds_next = nd->dn_child,
		.ds_alt = DPF_NONE,
		.ds_filter = DPF_NONE,
		.ds_depth = (uint8_t)depth,
	};
	if (nd->dn_child != DPF_NONE)
		d->d_states[nd->dn_child].ds_prev = s;
	nd->dn_child = s;
	nd->dn_nchild++;
	if (nd->dn_op == DPF_OP_EQ)
		edge_add(d, s);
	d->d_nstates++;
	return s;
}

/* Frees state s and, going up, every state and node left with nothing
 * below it and no filter ending there. */
static void prune(struct dpf *d, uint16_t s)
{
	while (s != ROOT && d->d_states[s].ds_filter == DPF_NONE &&
	       d->d_states[s].ds_alt == DPF_NONE) {
		struct dpf_state *st = &d->d_states[s];
		uint16_t n = st->ds_parent;
		struct dpf_node *nd = &d->d_nodes[n];
		if (nd->dn_op == DPF_OP_EQ)
			edge_del(d, s);
		if (st->ds_prev != DPF_NONE)
			d->d_states[st->ds_prev].ds_next = st->ds_next;
		else
			nd->dn_child = st->ds_next;
		if (st->ds_next != DPF_NONE)
			d->d_states[st->ds_next].ds_prev = st->ds_prev;
		st->ds_next = d->d_free_state;
		d->d_free_state = s;
		d->d_nstates--;
		if (--nd->dn_nchild)
			return;

		s = nd->dn_parent;
		struct dpf_state *up = &d->d_states[s];
		if (nd->dn_prev != DPF_NONE)
			d->d_nodes[nd->dn_prev].dn_next = nd->dn_next;
		else
			up->ds_alt = nd->dn_next;
		if (nd->dn_next != DPF_NONE)
			d->d_nodes[nd->dn_next].dn_prev = nd->dn_prev;
		nd->dn_next = d->d_free_node;
		d->d_free_node = n;
		d->d_nnodes--;
	}
}

int dpf_insert(struct dpf *d, const struct dpf_filter *f, envid_t owner)
{
	struct dpf_atom a[DPF_MAX_ATOMS];
	int r = dpf_check(f);
	if (r < 0)
		return r;
	uint32_t n = canonical(f, a);

	int id = 0;
	while (id < DPF_MAX_FILTERS && d->d_filters[id].fs_state != DPF_NONE)
		id++;
	if (id == DPF_MAX_FILTERS)
		return -E_FULL;

	/* Check: how much of the path exists already, and room for the rest
	 * (nodes run out first: see DPF_MAX_STATES; states are checked anyway). */
	uint16_t s = ROOT, node = DPF_NONE;
	uint32_t i = 0;
	for (; i < n; i++) {
		node = find_node(d, s, &a[i]);
		if (node == DPF_NONE)
			break;
		uint16_t c = find_child(d, node, &a[i]);
		if (c == DPF_NONE)
			break;
		s = c;
		node = DPF_NONE;
	}
	uint32_t new_states = n - i, new_nodes = n - i - (node != DPF_NONE);
	if (new_states > DPF_MAX_STATES - d->d_nstates || new_nodes > DPF_MAX_NODES - d->d_nnodes)
		return -E_FULL;

	/* Act. */
	for (; i < n; i++) {
		if (node == DPF_NONE)
			node = node_new(d, s, &a[i]);
		s = state_new(d, node, a[i].da_value, i + 1);
		node = DPF_NONE;
	}
	uint16_t *link = &d->d_states[s].ds_filter;
	while (*link != DPF_NONE && *link < id)
		link = &d->d_filters[*link].fs_next;
	d->d_filters[id] = (struct dpf_slot){ .fs_owner = owner, .fs_state = s, .fs_next = *link };
	*link = (uint16_t)id;
	d->d_nfilters++;
	return id;
}

int dpf_remove(struct dpf *d, int id)
{
	if (id < 0 || id >= DPF_MAX_FILTERS || d->d_filters[id].fs_state == DPF_NONE)
		return -E_NOT_FOUND;
	struct dpf_slot *slot = &d->d_filters[id];
	uint16_t s = slot->fs_state;
	uint16_t *link = &d->d_states[s].ds_filter;
	while (*link != id)
		link = &d->d_filters[*link].fs_next;
	*link = slot->fs_next;
	slot->fs_state = DPF_NONE;
	d->d_nfilters--;
	prune(d, s);
	return 0;
}

int dpf_get(const struct dpf *d, int id, struct dpf_filter *f, envid_t *owner)
{
	if (id < 0 || id >= DPF_MAX_FILTERS || d->d_filters[id].fs_state == DPF_NONE)
		return -E_NOT_FOUND;
	uint16_t s = d->d_filters[id].fs_state;
	*f = (struct dpf_filter){ .df_natoms = d->d_states[s].ds_depth };
	for (; s != ROOT; s = d->d_nodes[d->d_states[s].ds_parent].dn_parent) {
		const struct dpf_state *st = &d->d_states[s];
		const struct dpf_node *nd = &d->d_nodes[st->ds_parent];
		f->df_atoms[st->ds_depth - 1] = (struct dpf_atom){
			.da_op = nd->dn_op,
			.da_width = nd->dn_width,
			.da_shift = nd->dn_shift,
			.da_offset = nd->dn_offset,
			.da_mask = nd->dn_mask,
			.da_value = nd->dn_op == DPF_OP_EQ ? st->ds_value : nd->dn_add,
		};
	}
	*owner = d->d_filters[id].fs_owner;
	return 0;
}

/* --- the interpreter --------------------------------------------------------- */

static uint32_t load_be(const uint8_t *p, unsigned width)
{
	if (width == 1)
		return p[0];
	if (width == 2)
		return (uint32_t)p[0] << 8 | p[1];
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t shifted(uint32_t v, int shift)
{
	return shift >= 0 ? (uint64_t)v << shift : (uint64_t)(v >> -shift);
}

/* Higher is better: more atoms, then a lower id. Never 0 (depth >= 1). */
static uint32_t rank_of(const struct dpf *d, uint16_t s)
{
	return (uint32_t)d->d_states[s].ds_depth << 16 | (0xffffu - d->d_states[s].ds_filter);
}

static uint32_t match_state(const struct dpf *d, uint16_t s, const uint8_t *pkt, size_t len,
			    uint64_t base, uint32_t best)
{
	const struct dpf_state *st = &d->d_states[s];
	if (st->ds_filter != DPF_NONE && rank_of(d, s) > best)
		best = rank_of(d, s);
	for (uint16_t n = st->ds_alt; n != DPF_NONE; n = d->d_nodes[n].dn_next) {
		const struct dpf_node *nd = &d->d_nodes[n];
		/* base < 2^52 (DPF_SHIFT_MAX), so this cannot wrap */
		uint64_t at = base + nd->dn_offset;
		if (at + nd->dn_width > len)
			continue;
		uint32_t v = load_be(pkt + at, nd->dn_width) & nd->dn_mask;
		if (nd->dn_op == DPF_OP_SHIFT) {
			uint64_t next = base + shifted(v, nd->dn_shift) + nd->dn_add;
			best = match_state(d, nd->dn_child, pkt, len, next, best);
		} else {
			uint16_t c = edge_find(d, n, v);
			if (c != DPF_NONE)
				best = match_state(d, c, pkt, len, base, best);
		}
	}
	return best;
}

int dpf_match(const struct dpf *d, const uint8_t *pkt, size_t len)
{
	uint32_t best = match_state(d, ROOT, pkt, len, 0, 0);
	return best ? (int)(0xffffu - (best & 0xffff)) : -1;
}

/* --- overlap ----------------------------------------------------------------- */

/* Filter f, canonical, with each atom's context: the number of SHIFT atoms
 * before it. Two atoms see the same base for every packet when their filters
 * agree on every SHIFT atom before them. */
struct overlap {
	const struct dpf *d;
	envid_t owner;
	uint32_t n, nshift;
	struct dpf_atom a[DPF_MAX_ATOMS];
	uint8_t ctx[DPF_MAX_ATOMS];
	uint8_t shift_at[DPF_MAX_ATOMS]; /* index in a[] of the k-th SHIFT atom */
};

/* Do two EQ tests on the same base require different values of some bit? */
static bool eq_disjoint(uint32_t off1, unsigned w1, uint32_t m1, uint32_t v1, uint32_t off2,
			unsigned w2, uint32_t m2, uint32_t v2)
{
	for (unsigned i = 0; i < w1; i++) {
		uint32_t p = off1 + i;
		if (p < off2 || p >= off2 + w2)
			continue;
		unsigned s1 = 8 * (w1 - 1 - i), s2 = 8 * (w2 - 1 - (p - off2));
		if ((m1 >> s1) & (m2 >> s2) & ((v1 >> s1) ^ (v2 >> s2)) & 0xff)
			return true;
	}
	return false;
}

/* Could node nd's test with value v hold together with f's atoms of context k? */
static bool compatible(const struct overlap *o, uint32_t k, const struct dpf_node *nd, uint32_t v)
{
	for (uint32_t i = 0; i < o->n; i++) {
		const struct dpf_atom *a = &o->a[i];
		if (a->da_op == DPF_OP_EQ && o->ctx[i] == k &&
		    eq_disjoint(a->da_offset, a->da_width, a->da_mask, a->da_value, nd->dn_offset,
				nd->dn_width, nd->dn_mask, v))
			return false;
	}
	return true;
}

/* f's EQ atom of context k with nd's exact test, or NULL. Only the child for
 * its value can then be compatible: any other value differs inside the mask. */
static const struct dpf_atom *same_test(const struct overlap *o, uint32_t k,
					const struct dpf_node *nd)
{
	for (uint32_t i = 0; i < o->n; i++)
		if (o->ctx[i] == k && node_is(nd, &o->a[i]))
			return &o->a[i];
	return NULL;
}

/* Depth-first over the trie, skipping states that contradict f. aligned:
 * the path's SHIFT atoms so far are f's first k, so the path's tests of
 * context k compare with f's; otherwise nothing can be proved. */
static int overlap_dfs(const struct overlap *o, uint16_t s, uint32_t k, bool aligned)
{
	const struct dpf *d = o->d;
	for (uint16_t id = d->d_states[s].ds_filter; id != DPF_NONE; id = d->d_filters[id].fs_next)
		if (d->d_filters[id].fs_owner != o->owner)
			return id;
	for (uint16_t n = d->d_states[s].ds_alt; n != DPF_NONE; n = d->d_nodes[n].dn_next) {
		const struct dpf_node *nd = &d->d_nodes[n];
		int r = -1;
		if (nd->dn_op == DPF_OP_SHIFT) {
			bool still = aligned && k < o->nshift &&
				     node_is(nd, &o->a[o->shift_at[k]]);
			r = overlap_dfs(o, nd->dn_child, k + 1, still);
		} else if (aligned && same_test(o, k, nd)) {
			uint32_t v = same_test(o, k, nd)->da_value;
			uint16_t c = edge_find(d, n, v);
			if (c != DPF_NONE && compatible(o, k, nd, v))
				r = overlap_dfs(o, c, k, aligned);
		} else {
			for (uint16_t c = nd->dn_child; c != DPF_NONE && r < 0;
			     c = d->d_states[c].ds_next)
				if (!aligned || compatible(o, k, nd, d->d_states[c].ds_value))
					r = overlap_dfs(o, c, k, aligned);
		}
		if (r >= 0)
			return r;
	}
	return -1;
}

int dpf_conflicts(const struct dpf *d, const struct dpf_filter *f, envid_t owner)
{
	struct overlap o = { .d = d, .owner = owner };
	int r = dpf_check(f);
	if (r < 0)
		return r;
	o.n = canonical(f, o.a);
	for (uint32_t i = 0; i < o.n; i++) {
		o.ctx[i] = (uint8_t)o.nshift;
		if (o.a[i].da_op == DPF_OP_SHIFT)
			o.shift_at[o.nshift++] = (uint8_t)i;
	}
	return overlap_dfs(&o, ROOT, 0, true);
}

/* --- the compiler --------------------------------------------------------------- */

/*
 * Code for `int fn(const uint8_t *pkt, size_t len)`: rdi = pkt, rsi = len,
 * r8 = base, r9d = best rank so far; rax, rcx, rdx, r10 scratch. Only
 * caller-saved registers are used.
 *
 * Every state and node becomes a routine that returns (ret) when its
 * subtree is done; a state calls each alternative node but the last, which
 * it jumps to. Code is laid out children first, so every jump goes backwards
 * to code already placed, except the entry's call of the root, patched at
 * the end. Until a path's first SHIFT the base is known to be 0: loads use
 * constant offsets and nothing saves r8; that first SHIFT sets r8 instead of
 * adding to it.
 */

#define JIT_CHAIN_MAX 4         /* EQ children up to this: compare-and-jump chain */
/* Multipliers a child table's hash may use: each table takes the one that
 * places its keys with the fewest probes (often none). Odd, bits spread. */
static const uint32_t jit_hash_muls[] = {
	0x9e3779b1u, 0x85ebca6bu, 0xc2b2ae35u, 0x27d4eb2fu, 0x165667b1u, 0xd3a2646du,
	0xfd7046c5u, 0xb55a4f09u, 0x7feb352du, 0x846ca68bu, 0x2c1b3c6du, 0x297a2d39u,
	0xa136aaadu, 0x9e485565u, 0xed5ad4bbu, 0xac4c1b51u,
};

struct jit {
	uint8_t *buf;
	size_t size, len;
};

static void emit1(struct jit *j, uint8_t b)
{
	if (j->len < j->size)
		j->buf[j->len] = b;
	j->len++;
}

static void emit_bytes(struct jit *j, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		emit1(j, b[i]);
}

#define EMIT(j, ...)                                                       \
	do {                                                               \
		static const uint8_t bytes_[] = { __VA_ARGS__ };           \
		emit_bytes((j), bytes_, sizeof(bytes_));                   \
	} while (0)

static void emit4(struct jit *j, uint32_t v)
{
	for (int k = 0; k < 4; k++)
		emit1(j, (uint8_t)(v >> (8 * k)));
}

static void patch4(struct jit *j, size_t at, uint32_t v)
{
	for (int k = 0; k < 4; k++)
		if (at + k < j->size)
			j->buf[at + k] = (uint8_t)(v >> (8 * k));
}

/* jcc (cc = the short opcode, 0x70..0x7f) or jmp (cc = 0xeb) to code already
 * emitted, short when it reaches. */
static void jump_back(struct jit *j, uint8_t cc, size_t target)
{
	int64_t rel = (int64_t)target - (int64_t)(j->len + 2);
	if (rel >= -128) {
		emit1(j, cc);
		emit1(j, (uint8_t)rel);
	} else if (cc == 0xeb) {
		emit1(j, 0xe9);
		emit4(j, (uint32_t)(target - (j->len + 4)));
	} else {
		emit1(j, 0x0f);
		emit1(j, (uint8_t)(cc + 0x10));
		emit4(j, (uint32_t)(target - (j->len + 4)));
	}
}

static void call_to(struct jit *j, size_t target)
{
	emit1(j, 0xe8);
	emit4(j, (uint32_t)(target - (j->len + 4)));
}

/* eax = load(base + offset, width) & mask, or ret (at fail) if out of bounds. */
static void emit_load(struct jit *j, const struct dpf_node *nd, bool dyn, size_t fail)
{
	uint32_t end = (uint32_t)nd->dn_offset + nd->dn_width;
	if (!dyn) {
		EMIT(j, 0x48, 0x81, 0xfe); /* cmp rsi, end */
		emit4(j, end);
		jump_back(j, 0x72, fail); /* jb */
		if (nd->dn_width == 1)
			EMIT(j, 0x0f, 0xb6, 0x87); /* movzx eax, byte [rdi + off] */
		else if (nd->dn_width == 2)
			EMIT(j, 0x0f, 0xb7, 0x87); /* movzx eax, word [rdi + off] */
		else
			EMIT(j, 0x8b, 0x87); /* mov eax, [rdi + off] */
	} else {
		EMIT(j, 0x49, 0x8d, 0x80); /* lea rax, [r8 + end] */
		emit4(j, end);
		EMIT(j, 0x48, 0x39, 0xf0); /* cmp rax, rsi */
		jump_back(j, 0x77, fail);  /* ja */
		if (nd->dn_width == 1)
			EMIT(j, 0x42, 0x0f, 0xb6, 0x84, 0x07); /* movzx eax, byte [rdi + r8 + off] */
		else if (nd->dn_width == 2)
			EMIT(j, 0x42, 0x0f, 0xb7, 0x84, 0x07); /* movzx eax, word [rdi + r8 + off] */
		else
			EMIT(j, 0x42, 0x8b, 0x84, 0x07); /* mov eax, [rdi + r8 + off] */
	}
	emit4(j, nd->dn_offset);
	if (nd->dn_width == 2)
		EMIT(j, 0x66, 0xc1, 0xc0, 0x08); /* rol ax, 8 */
	else if (nd->dn_width == 4)
		EMIT(j, 0x0f, 0xc8); /* bswap eax */
	if (nd->dn_mask != width_mask(nd->dn_width)) {
		emit1(j, 0x25); /* and eax, mask */
		emit4(j, nd->dn_mask);
	}
}

/* A state that only ends a filter: a dispatch table holds its rank instead
 * of the address of its code, which is then never emitted. */
static bool is_leaf(const struct dpf_state *st)
{
	return st->ds_alt == DPF_NONE;
}

static uint32_t table_index(uint32_t key, uint32_t mul, unsigned bits)
{
	return (key * mul) >> (32 - bits);
}

/* Fills table t with nd's children, hashed with mul; returns the probes
 * past the home slots that lookups of all of them will take. */
static uint32_t table_fill(const struct dpf *d, const struct dpf_node *nd, uint8_t *t,
			   unsigned bits, uint32_t mul, size_t table)
{
	uint32_t slots = 1u << bits, probes = 0;
	for (size_t i = 0; i < 8 * (size_t)slots; i++)
		t[i] = 0;
	for (uint16_t c = nd->dn_child; c != DPF_NONE; c = d->d_states[c].ds_next) {
		const struct dpf_state *st = &d->d_states[c];
		uint32_t i = table_index(st->ds_value, mul, bits);
		for (; t[8 * i + 4] | t[8 * i + 5] | t[8 * i + 6] | t[8 * i + 7]; probes++)
			i = (i + 1) & (slots - 1);
		uint32_t what = is_leaf(st) ? rank_of(d, c) : (uint32_t)(st->ds_jit - table); /* < 0 */
		for (int k = 0; k < 4; k++) {
			t[8 * i + k] = (uint8_t)(st->ds_value >> (8 * k));
			t[8 * i + 4 + k] = (uint8_t)(what >> (8 * k));
		}
	}
	return probes;
}

/* Goes to the child for eax through an open-addressing table placed after
 * the code, at most half full, of entries {key, what}: what is 0 for an
 * empty slot, a leaf's rank (> 0), or the child's code - table (< 0). Leaves
 * take no indirect jump, which traffic to many ports would mispredict. */
static void emit_hash_dispatch(struct jit *j, const struct dpf *d, const struct dpf_node *nd,
			       size_t fail)
{
	unsigned bits = 3;
	while ((1u << bits) < 2 * nd->dn_nchild)
		bits++;
	uint32_t slots = 1u << bits;

	emit1(j, 0x69); /* imul ecx, eax, mul */
	emit1(j, 0xc8);
	size_t mul_ref = j->len;
	emit4(j, 0);
	EMIT(j, 0xc1, 0xe9); /* shr ecx, 32 - bits */
	emit1(j, (uint8_t)(32 - bits));
	EMIT(j, 0x48, 0x8d, 0x15); /* lea rdx, [rip + table] */
	size_t table_ref = j->len;
	emit4(j, 0);
	size_t probe = j->len;
	EMIT(j, 0x44, 0x8b, 0x54, 0xca, 0x04); /* mov r10d, [rdx + rcx*8 + 4] */
	EMIT(j, 0x45, 0x85, 0xd2);             /* test r10d, r10d */
	jump_back(j, 0x74, fail);              /* jz: no such child */
	EMIT(j, 0x3b, 0x04, 0xca);             /* cmp eax, [rdx + rcx*8] */
	EMIT(j, 0x74, 0x0a);                   /* je hit (skips the next 10 bytes) */
	EMIT(j, 0xff, 0xc1);                   /* inc ecx */
	EMIT(j, 0x81, 0xe1);                   /* and ecx, slots - 1 */
	emit4(j, slots - 1);
	jump_back(j, 0xeb, probe); /* 2 bytes: the loop is short */
	EMIT(j, 0x45, 0x85, 0xd2); /* hit: test r10d, r10d */
	EMIT(j, 0x78, 0x09);       /* js code (skips the next 9 bytes) */
	EMIT(j, 0x45, 0x39, 0xd1); /* cmp r9d, r10d */
	EMIT(j, 0x73, 0x03);       /* jae: not better */
	EMIT(j, 0x45, 0x89, 0xd1); /* mov r9d, r10d */
	emit1(j, 0xc3);
	EMIT(j, 0x4d, 0x63, 0xd2); /* code: movsxd r10, r10d */
	EMIT(j, 0x49, 0x01, 0xd2); /* add r10, rdx */
	EMIT(j, 0x41, 0xff, 0xe2); /* jmp r10 */
	while (j->len % 8)
		emit1(j, 0xcc);

	size_t table = j->len;
	patch4(j, table_ref, (uint32_t)(table - (table_ref + 4)));
	if (table + 8 * (size_t)slots <= j->size) {
		uint8_t *t = j->buf + table;
		uint32_t m = 0, best = 0, best_probes = UINT32_MAX;
		for (; m < ARRAY_SIZE(jit_hash_muls) && best_probes; m++) {
			uint32_t probes = table_fill(d, nd, t, bits, jit_hash_muls[m], table);
			if (probes < best_probes)
				best = m, best_probes = probes;
		}
		if (m - 1 != best) /* the table holds the last one tried */
			table_fill(d, nd, t, bits, jit_hash_muls[best], table);
		patch4(j, mul_ref, jit_hash_muls[best]);
	}
	j->len = table + 8 * (size_t)slots;
}

static void emit_state(struct jit *j, struct dpf *d, uint16_t s, bool dyn);

static void emit_node(struct jit *j, struct dpf *d, uint16_t n, bool dyn)
{
	struct dpf_node *nd = &d->d_nodes[n];
	bool shift = nd->dn_op == DPF_OP_SHIFT;
	bool table = !shift && nd->dn_nchild > JIT_CHAIN_MAX;
	for (uint16_t c = nd->dn_child; c != DPF_NONE; c = d->d_states[c].ds_next)
		if (!table || !is_leaf(&d->d_states[c]))
			emit_state(j, d, c, dyn || shift);

	size_t fail = j->len;
	emit1(j, 0xc3); /* ret: this node's "no match" exit */
	nd->dn_jit = (uint32_t)j->len;
	emit_load(j, nd, dyn, fail);
	if (shift) {
		if (nd->dn_shift > 0)
			EMIT(j, 0x48, 0xc1, 0xe0); /* shl rax, shift */
		else if (nd->dn_shift < 0)
			EMIT(j, 0xc1, 0xe8); /* shr eax, -shift */
		if (nd->dn_shift)
			emit1(j, (uint8_t)(nd->dn_shift > 0 ? nd->dn_shift : -nd->dn_shift));
		if (dyn)
			EMIT(j, 0x49, 0x01, 0xc0); /* add r8, rax */
		else
			EMIT(j, 0x49, 0x89, 0xc0); /* mov r8, rax */
		if (nd->dn_add) {
			emit1(j, 0xb9); /* mov ecx, add */
			emit4(j, nd->dn_add);
			EMIT(j, 0x49, 0x01, 0xc8); /* add r8, rcx */
		}
		jump_back(j, 0xeb, d->d_states[nd->dn_child].ds_jit);
	} else if (!table) {
		for (uint16_t c = nd->dn_child; c != DPF_NONE; c = d->d_states[c].ds_next) {
			emit1(j, 0x3d); /* cmp eax, value */
			emit4(j, d->d_states[c].ds_value);
			jump_back(j, 0x74, d->d_states[c].ds_jit); /* je */
		}
		emit1(j, 0xc3);
	} else {
		emit_hash_dispatch(j, d, nd, fail);
	}
}

static void emit_state(struct jit *j, struct dpf *d, uint16_t s, bool dyn)
{
	struct dpf_state *st = &d->d_states[s];
	for (uint16_t n = st->ds_alt; n != DPF_NONE; n = d->d_nodes[n].dn_next)
		emit_node(j, d, n, dyn);

	st->ds_jit = (uint32_t)j->len;
	if (st->ds_filter != DPF_NONE) {
		uint32_t rank = rank_of(d, s);
		EMIT(j, 0x41, 0x81, 0xf9); /* cmp r9d, rank */
		emit4(j, rank);
		EMIT(j, 0x73, 0x06);       /* jae: not better */
		EMIT(j, 0x41, 0xb9);       /* mov r9d, rank */
		emit4(j, rank);
	}
	for (uint16_t n = st->ds_alt; n != DPF_NONE; n = d->d_nodes[n].dn_next) {
		size_t target = d->d_nodes[n].dn_jit;
		if (d->d_nodes[n].dn_next == DPF_NONE) {
			jump_back(j, 0xeb, target);
			return;
		}
		if (dyn)
			EMIT(j, 0x41, 0x50); /* push r8 */
		call_to(j, target);
		if (dyn)
			EMIT(j, 0x41, 0x58); /* pop r8 */
	}
	emit1(j, 0xc3);
}

int dpf_compile(struct dpf *d, uint8_t *code, size_t size, size_t *len)
{
	struct jit j = { .buf = code, .size = code ? size : 0 };
	EMIT(&j, 0x45, 0x31, 0xc9);             /* xor r9d, r9d */
	emit1(&j, 0xe8);                        /* call root */
	size_t root_ref = j.len;
	emit4(&j, 0);
	EMIT(&j, 0x45, 0x85, 0xc9);             /* test r9d, r9d */
	EMIT(&j, 0x74, 0x0a);                   /* jz none */
	EMIT(&j, 0x41, 0x0f, 0xb7, 0xc1);       /* movzx eax, r9w */
	EMIT(&j, 0x35, 0xff, 0xff, 0x00, 0x00); /* xor eax, 0xffff: the id */
	emit1(&j, 0xc3);
	EMIT(&j, 0xb8, 0xff, 0xff, 0xff, 0xff); /* none: mov eax, -1 */
	emit1(&j, 0xc3);

	emit_state(&j, d, ROOT, false);
	patch4(&j, root_ref, (uint32_t)(d->d_states[ROOT].ds_jit - (root_ref + 4)));
	*len = j.len;
	return j.len <= j.size ? 0 : -E_NO_MEM;
}
