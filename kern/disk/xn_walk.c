/*
 * XN's reconstruction walk. After an unclean shutdown the free map on disk
 * may be stale (it is written only when the disk is synced), so at every
 * mount the kernel rebuilds it from what the trees claim: start at each
 * root of the catalogue, ask each metadata block's UDF which blocks it
 * claims, and walk into the claimed metadata blocks. Every block claimed
 * is in use; everything else is free. XN's write ordering (xn.c) makes
 * what is on disk safe to walk: no pointer reaches the disk before the
 * block it points to is initialised, and no freed block is reused before
 * the pointer's removal is on disk, so no block is claimed twice and none
 * is claimed uninitialised. The walk still does not trust that: a second
 * claim of a block, a claim of XN's own blocks or a UDF that fails is
 * counted and ignored, so the rebuilt map is a set whatever the disk says.
 *
 * Pure: it touches the disk and runs UDFs only through the hooks, and uses
 * only the caller's memory (struct xn_walk_mem), iteratively (a stack of
 * at most nblocks metadata blocks, each pushed once).
 */
#include <common/xn_check.h>
#include <kern/disk/xn_walk.h>

/* Claim block b for tree root (index + 1) as type, under parent. */
static bool claim(struct xn_walk_mem *m, uint64_t b, uint16_t root, uint32_t type,
		  uint32_t parent, uint64_t first_data, struct xn_walk_result *res)
{
	if (b < first_data || m->root_of[b]) {
		res->twice++;
		return false;
	}
	m->root_of[b] = root;
	m->type_of[b] = (uint8_t)type;
	m->parent[b] = parent;
	res->claimed++;
	return true;
}

void xn_walk(const struct xn_walk_hooks *h, struct xn_walk_mem *m, uint64_t nblocks,
	     uint64_t first_data, const struct xn_root *roots, int nroots,
	     struct xn_walk_result *res)
{
	*res = (struct xn_walk_result){ 0 };
	uint64_t top = 0;
	for (int r = 0; r < nroots; r++) {
		const struct xn_root *root = &roots[r];
		if (!root->r_name[0])
			continue;
		if (root->r_type == XN_TYPE_DATA || root->r_type > XN_TYPES_MAX ||
		    root->r_block >= nblocks || root->r_block < first_data ||
		    m->root_of[root->r_block]) {
			res->bad_roots++;
			continue;
		}
		claim(m, root->r_block, (uint16_t)(r + 1), root->r_type, XN_PARENT_ROOT, first_data,
		      res);
		m->stack[top++] = (uint32_t)root->r_block;
	}
	while (top > 0) {
		uint32_t b = m->stack[--top];
		res->metadata++;
		int n = -1;
		if (h->read(h->arg, b, m->buf) == 0)
			n = h->claims(h->arg, m->type_of[b], b, m->buf, m->ext);
		if (n > XN_UDF_MAX_EXTENTS)
			n = -1;
		if (n >= 0)
			n = xn_extents_normalise(m->ext, n, nblocks);
		if (n < 0) {
			res->bad_udf++;
			continue;
		}
		for (int i = 0; i < n; i++) {
			const struct xn_extent *x = &m->ext[i];
			if (x->x_type > XN_TYPES_MAX) {
				res->bad_udf++;
				continue;
			}
			for (uint64_t k = 0; k < x->x_count; k++) {
				uint64_t c = x->x_start + k;
				if (claim(m, c, m->root_of[b], x->x_type, b, first_data, res) &&
				    x->x_type != XN_TYPE_DATA)
					m->stack[top++] = (uint32_t)c;
			}
		}
	}
}
