/*
 * XN's checks on what UDFs answer, pure (no kernel state): shared by the
 * kernel (kern/disk/xn.c), lib/fs's host model of XN (lib/fs/xnsim.c) and the
 * host tests (test/test_xn_check.c).
 */
#ifndef EXO_COMMON_XN_CHECK_H
#define EXO_COMMON_XN_CHECK_H

#include <inc/disk.h>

/* Sort x[0..n) by start, merge neighbours of one type, and check it is a
 * set: no empty extent, nothing past nblocks, no block twice; extents
 * starting at block 0 ("no pointer") are dropped. Returns the new count,
 * or -1 if it is not a valid set. */
int xn_extents_normalise(struct xn_extent *x, int n, uint64_t nblocks);
/* Is a change from claimed set `before` to `after` (each n extents, both
 * normalised; scratch holds nb + 1 entries) exactly op (XN_OP_*) on ext?
 * ALLOC: after = before + ext, ext disjoint from before. FREE: before =
 * after + ext, ext disjoint from after. NONE: after = before. */
bool xn_change_ok(const struct xn_extent *before, int nb, const struct xn_extent *after, int na,
		  int op, const struct xn_extent *ext, struct xn_extent *scratch, uint64_t nblocks);

#endif
