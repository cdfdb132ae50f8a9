/*
 * XN's verdict on a metadata change, from what the type's UDF says the
 * block claims before and after it (Kaashoek et al., SOSP'97, 4.2).
 *
 * A claimed set is a list of extents (start, count, type). The UDF may
 * list them in any order and split them as it likes, so both answers are
 * first normalised: sorted by start, neighbours of one type merged. Two
 * normal forms are equal exactly when they claim the same blocks with the
 * same types. An answer that claims a block twice, an empty extent or a
 * block past the disk is no set at all: the change is refused (a UDF that
 * lies that way is caught here, one that lies consistently about which
 * blocks it claims is caught by the exact-difference rule, since the
 * blocks it adds must be the free ones being allocated).
 *
 * Block 0 is XN's superblock, which no tree can own, so an extent starting
 * there means "no pointer" (a zeroed slot of a format's table): it is
 * dropped, whatever its count, rather than refused. A format can then leave
 * unused pointer slots zero without its UDF testing each one.
 *
 * Pure: no allocation, no kernel state; quadratic in the number of
 * extents at worst (at most XN_UDF_MAX_EXTENTS), linear when sorted.
 * Shared by the kernel (kern/disk/xn.c) and lib/fs's host model of XN
 * (lib/fs/xnsim.c), so both enforce one rule.
 */
#include <common/xn_check.h>

static bool before_in_order(const struct xn_extent *a, const struct xn_extent *b)
{
	return a->x_start < b->x_start;
}

int xn_extents_normalise(struct xn_extent *x, int n, uint64_t nblocks)
{
	if (n < 0)
		return -1;
	int kept = 0;
	for (int i = 0; i < n; i++) {
		if (x[i].x_start == 0)
			continue; /* "no pointer" */
		if (x[i].x_count == 0 || x[i].x_start >= nblocks ||
		    x[i].x_count > nblocks - x[i].x_start)
			return -1;
		x[kept++] = x[i];
	}
	n = kept;
	/* insertion sort: UDF answers usually come in order already */
	for (int i = 1; i < n; i++) {
		struct xn_extent v = x[i];
		int j = i;
		while (j > 0 && before_in_order(&v, &x[j - 1])) {
			x[j] = x[j - 1];
			j--;
		}
		x[j] = v;
	}
	int out = 0;
	for (int i = 0; i < n; i++) {
		if (out > 0) {
			struct xn_extent *last = &x[out - 1];
			uint64_t end = last->x_start + last->x_count;
			if (x[i].x_start < end)
				return -1; /* a block claimed twice */
			if (x[i].x_start == end && x[i].x_type == last->x_type &&
			    (uint64_t)last->x_count + x[i].x_count <= UINT32_MAX) {
				last->x_count += x[i].x_count;
				continue;
			}
		}
		x[out++] = x[i];
	}
	return out;
}

static bool same_set(const struct xn_extent *a, int na, const struct xn_extent *b, int nb)
{
	if (na != nb)
		return false;
	for (int i = 0; i < na; i++)
		if (a[i].x_start != b[i].x_start || a[i].x_count != b[i].x_count ||
		    a[i].x_type != b[i].x_type)
			return false;
	return true;
}

/* small + ext, normalised, compared with big. */
static bool grows_by(const struct xn_extent *small, int ns, const struct xn_extent *big, int nbig,
		     const struct xn_extent *ext, struct xn_extent *scratch, uint64_t nblocks)
{
	for (int i = 0; i < ns; i++)
		scratch[i] = small[i];
	scratch[ns] = *ext;
	int n = xn_extents_normalise(scratch, ns + 1, nblocks);
	return n >= 0 && same_set(scratch, n, big, nbig);
}

bool xn_change_ok(const struct xn_extent *before, int nb, const struct xn_extent *after, int na,
		  int op, const struct xn_extent *ext, struct xn_extent *scratch, uint64_t nblocks)
{
	switch (op) {
	case XN_OP_NONE:
		return same_set(before, nb, after, na);
	case XN_OP_ALLOC:
		return grows_by(before, nb, after, na, ext, scratch, nblocks);
	case XN_OP_FREE:
		return grows_by(after, na, before, nb, ext, scratch, nblocks);
	default:
		return false;
	}
}
