/*
 * The packet-filter engine: a trie of every installed filter, its
 * interpreter and the overlap check (kern/net/dpf.h is the interface, doc/dpf.md
 * the rules; the compiler of the trie to x86-64 is kern/net/dpf_jit.c).
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
#include <kern/net/dpf.h>
#include <inc/error.h>

/* --- filters ------------------------------------------------------------- */

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
		if (!a->da_mask || (a->da_mask & ~dpf_width_mask(a->da_width)))
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
	d->d_states[DPF_ROOT] = (struct dpf_state){ .ds_parent = DPF_NONE, .ds_prev = DPF_NONE,
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
	while (s != DPF_ROOT && d->d_states[s].ds_filter == DPF_NONE &&
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
	uint16_t s = DPF_ROOT, node = DPF_NONE;
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
	for (; s != DPF_ROOT; s = d->d_nodes[d->d_states[s].ds_parent].dn_parent) {
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

static uint32_t match_state(const struct dpf *d, uint16_t s, const uint8_t *pkt, size_t len,
			    uint64_t base, uint32_t best)
{
	const struct dpf_state *st = &d->d_states[s];
	if (st->ds_filter != DPF_NONE && dpf_rank(d, s) > best)
		best = dpf_rank(d, s);
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
	uint32_t best = match_state(d, DPF_ROOT, pkt, len, 0, 0);
	return best ? (int)(0xffffu - (best & 0xffff)) : -1;
}

/* --- overlap ----------------------------------------------------------------- */

/* Filter f, canonical, with each atom's context: the number of SHIFT atoms
 * before it. Two atoms see the same base for every packet when their filters
 * agree on every SHIFT atom before them. */
struct overlap {
	const struct dpf *d;
	envid_t owner;
	dpf_owner_ok_fn *ok; /* NULL: no other owner is acceptable */
	void *ok_arg;
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
	for (uint16_t id = d->d_states[s].ds_filter; id != DPF_NONE; id = d->d_filters[id].fs_next) {
		envid_t other = d->d_filters[id].fs_owner;
		if (other != o->owner && !(o->ok && o->ok(other, o->ok_arg)))
			return id;
	}
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
	return dpf_conflicts_unless(d, f, owner, NULL, NULL);
}

int dpf_conflicts_unless(const struct dpf *d, const struct dpf_filter *f, envid_t owner,
			 dpf_owner_ok_fn *ok, void *ok_arg)
{
	struct overlap o = { .d = d, .owner = owner, .ok = ok, .ok_arg = ok_arg };
	int r = dpf_check(f);
	if (r < 0)
		return r;
	o.n = canonical(f, o.a);
	for (uint32_t i = 0; i < o.n; i++) {
		o.ctx[i] = (uint8_t)o.nshift;
		if (o.a[i].da_op == DPF_OP_SHIFT)
			o.shift_at[o.nshift++] = (uint8_t)i;
	}
	return overlap_dfs(&o, DPF_ROOT, 0, true);
}
