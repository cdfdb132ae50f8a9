/*
 * DPF packet filters (kern/net/dpf.c): format checks, the trie's sharing and
 * hash dispatch (by node and state counts), removal, limits, the match rule,
 * the overlap check, and differential tests in which the compiled trie, the
 * interpreter and a naive reference (every filter tried in turn, best picked
 * by the documented rule) must agree on random filter sets and packets.
 *
 * The interpreter reads packets from heap copies of their exact length
 * (AddressSanitizer catches any read past the end); the compiled code reads
 * them from the end of a page followed by an inaccessible one.
 */
#include "check.h"

#include "dpf_gen.h"

#include <sys/mman.h>

/* The engine itself, compiled into this test with its sanitizers: the test
 * needs nothing from the make files but this file. */
#include "kern/net/dpf.c"
#include "kern/net/dpf_jit.c"

static struct dpf D;
static struct code_buf CB;

/* --- the reference: what doc/dpf.md says, written the naive way ------------ */

static struct dpf_filter ref_f[DPF_MAX_FILTERS];
static envid_t ref_owner[DPF_MAX_FILTERS];
static bool ref_live[DPF_MAX_FILTERS];

static bool ref_accepts(const struct dpf_filter *f, const uint8_t *pkt, size_t len)
{
	uint64_t base = 0;
	for (uint32_t i = 0; i < f->df_natoms; i++) {
		const struct dpf_atom *a = &f->df_atoms[i];
		if (base + a->da_offset + a->da_width > len)
			return false;
		uint32_t v = 0;
		for (unsigned k = 0; k < a->da_width; k++)
			v = v << 8 | pkt[base + a->da_offset + k];
		v &= a->da_mask;
		if (a->da_op == DPF_OP_EQ && v != a->da_value)
			return false;
		if (a->da_op == DPF_OP_SHIFT)
			base += (a->da_shift >= 0 ? (uint64_t)v << a->da_shift : v >> -a->da_shift) +
				a->da_value;
	}
	return true;
}

/* Most atoms wins; among equals, the lowest id (the first found). */
static int ref_match(const uint8_t *pkt, size_t len)
{
	int best = -1;
	for (int id = 0; id < DPF_MAX_FILTERS; id++)
		if (ref_live[id] && ref_accepts(&ref_f[id], pkt, len) &&
		    (best < 0 || ref_f[id].df_natoms > ref_f[best].df_natoms))
			best = id;
	return best;
}

static uint8_t byte_of(uint32_t x, unsigned width, unsigned k)
{
	return (uint8_t)(x >> (8 * (width - 1 - k)));
}

static bool atoms_clash(const struct dpf_atom *a, const struct dpf_atom *b)
{
	for (unsigned i = 0; i < a->da_width; i++)
		for (unsigned j = 0; j < b->da_width; j++)
			if (a->da_offset + i == b->da_offset + j &&
			    (byte_of(a->da_mask, a->da_width, i) & byte_of(b->da_mask, b->da_width, j) &
			     (byte_of(a->da_value, a->da_width, i) ^ byte_of(b->da_value, b->da_width, j))))
				return true;
	return false;
}

/* The SHIFT atoms before atom i of f, in order. */
static uint32_t shifts_before(const struct dpf_filter *f, uint32_t i, struct dpf_atom *out)
{
	uint32_t n = 0;
	for (uint32_t k = 0; k < i; k++)
		if (f->df_atoms[k].da_op == DPF_OP_SHIFT)
			out[n++] = f->df_atoms[k];
	return n;
}

/* Provably disjoint: two EQ atoms that see the same base (the same SHIFT
 * atoms before them) require different values of one bit. */
static bool ref_disjoint(const struct dpf_filter *f, const struct dpf_filter *g)
{
	struct dpf_atom sf[DPF_MAX_ATOMS], sg[DPF_MAX_ATOMS];
	for (uint32_t i = 0; i < f->df_natoms; i++) {
		if (f->df_atoms[i].da_op != DPF_OP_EQ)
			continue;
		uint32_t nf = shifts_before(f, i, sf);
		for (uint32_t j = 0; j < g->df_natoms; j++) {
			if (g->df_atoms[j].da_op != DPF_OP_EQ)
				continue;
			uint32_t ng = shifts_before(g, j, sg);
			if (nf == ng && memcmp(sf, sg, nf * sizeof(sf[0])) == 0 &&
			    atoms_clash(&f->df_atoms[i], &g->df_atoms[j]))
				return true;
		}
	}
	return false;
}

static void ref_reset(void)
{
	dpf_init(&D);
	memset(ref_live, 0, sizeof(ref_live));
}

/* Installs f in both, checking the id is the lowest free one. */
static int install(const struct dpf_filter *f, envid_t owner)
{
	int want = 0;
	while (want < DPF_MAX_FILTERS && ref_live[want])
		want++;
	int id = dpf_insert(&D, f, owner);
	CHECK_EQ(id, want);
	if (id >= 0) {
		ref_f[id] = *f;
		ref_owner[id] = owner;
		ref_live[id] = true;
	}
	return id;
}

static void uninstall(int id)
{
	CHECK_EQ(dpf_remove(&D, id), 0);
	ref_live[id] = false;
}

/* --- running packets ----------------------------------------------------------- */

static uint8_t *guard; /* a page, then an inaccessible page */


static int run_interp(const uint8_t *pkt, size_t len)
{
	uint8_t *copy = malloc(len);
	memcpy(copy, pkt, len);
	int r = dpf_match(&D, copy, len);
	free(copy);
	return r;
}

static int run_code(dpf_code_fn *fn, const uint8_t *pkt, size_t len)
{
	if (!guard) {
		guard = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (guard == MAP_FAILED || mprotect(guard + 4096, 4096, PROT_NONE) < 0) {
			perror("guard page");
			exit(1);
		}
	}
	uint8_t *p = guard + 4096 - len;
	memcpy(p, pkt, len);
	return fn(p, len);
}

static long compared;

/* Reference, interpreter and compiled code agree on pkt; returns the verdict. */
static int agree(dpf_code_fn *fn, const uint8_t *pkt, size_t len, const char *what)
{
	int want = ref_match(pkt, len), got = run_interp(pkt, len);
	int code = fn ? run_code(fn, pkt, len) : want;
	CHECK_MSG(got == want && code == want, "%s: len %zu: reference %d, interpreter %d, code %d",
		  what, len, want, got, code);
	compared++;
	return want;
}

static dpf_code_fn *compile(void)
{
	dpf_code_fn *fn = code_compile(&D, &CB);
	CHECK_MSG(fn != NULL, "compile failed (see stderr)");
	return fn;
}

static size_t udp(uint8_t *pkt, uint16_t dport)
{
	struct rng r = { dport * 7919ull + 1 };
	return gen_ipv4(&r, pkt, DPF_IPPROTO_UDP, 1234, dport, 5, 8);
}

/* --- random filters and packets ------------------------------------------------ */

static const uint16_t ports[] = { 53, 80, 443, 1000, 1001, 1002, 1003, 7 };

/* A packet to derive filters from or to send: mostly IPv4 with options. */
static size_t gen_packet(struct rng *r, uint8_t *pkt)
{
	uint32_t kind = rng_below(r, 10);
	if (kind < 7) {
		static const uint8_t protos[] = { 6, 17, 17, 6, 1 };
		unsigned ihl = rng_below(r, 3) ? 5 : 5 + rng_below(r, 11);
		return gen_ipv4(r, pkt, protos[rng_below(r, 5)], ports[rng_below(r, 8)],
				ports[rng_below(r, 8)], ihl, rng_below(r, 40));
	}
	size_t len = rng_below(r, 120);
	for (size_t i = 0; i < len; i++)
		pkt[i] = (uint8_t)rng_next(r);
	return len;
}

/* A variation of tpl: a few bytes changed, maybe cut short. */
static size_t mutate(struct rng *r, const uint8_t *tpl, size_t tlen, uint8_t *pkt)
{
	memcpy(pkt, tpl, tlen);
	size_t len = tlen;
	uint32_t changes = rng_below(r, 3);
	for (uint32_t i = 0; i < changes && len; i++)
		pkt[rng_below(r, (uint32_t)len)] ^= (uint8_t)(1u << rng_below(r, 8));
	if (rng_below(r, 3) == 0)
		len = rng_below(r, (uint32_t)len + 1);
	return len;
}

static uint32_t load_at(const uint8_t *p, unsigned width)
{
	uint32_t v = 0;
	for (unsigned k = 0; k < width; k++)
		v = v << 8 | p[k];
	return v;
}

static uint32_t gen_mask(struct rng *r, unsigned width)
{
	uint32_t full = width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1, m;
	switch (rng_below(r, 4)) {
	case 0:
	case 1:
		return full;
	case 2:
		m = (uint32_t)rng_next(r) & full;
		break;
	default:
		m = (0xfu << (4 * rng_below(r, 2 * width))) & full;
		break;
	}
	return m ? m : 1;
}

/* A random filter, mostly one that the template packet tpl passes (values
 * read from it), sometimes a port filter or plain random atoms. */
static void gen_filter(struct rng *r, const uint8_t *tpl, size_t tlen, struct dpf_filter *f)
{
	uint32_t kind = rng_below(r, 10);
	if (kind < 3) {
		dpf_filter_ipv4_port(f, rng_below(r, 2) ? DPF_IPPROTO_UDP : DPF_IPPROTO_TCP,
				     ports[rng_below(r, 8)]);
		switch (rng_below(r, 6)) {
		case 0: /* all of UDP or TCP, or less */
			f->df_natoms = 1 + rng_below(r, 3);
			break;
		case 1: /* source port instead */
			f->df_atoms[4].da_offset = 0;
			break;
		case 2: /* and source port */
			f->df_atoms[f->df_natoms++] = DPF_EQ(0, 2, 0xffff, ports[rng_below(r, 8)]);
			break;
		case 3: /* something else past the header */
			f->df_atoms[4] = DPF_EQ(4 + rng_below(r, 12), 1, gen_mask(r, 1), 0);
			f->df_atoms[4].da_value = tlen > 40 ? tpl[40] & f->df_atoms[4].da_mask : 0;
			break;
		}
		return;
	}
	/* SHIFT atoms mostly from a few, so that filters share them */
	static const struct dpf_atom common_shifts[] = {
		DPF_SHIFT(14, 1, 0x0f, 2, 14), /* IPv4 header length */
		DPF_SHIFT(12, 1, 0xf0, -2, 0), /* TCP data offset */
		DPF_SHIFT(0, 1, 0x07, 1, 3),
	};
	static const unsigned widths[] = { 1, 2, 4 };
	bool derived = kind < 9;
	uint64_t base = 0;
	*f = (struct dpf_filter){ .df_natoms = 1 + rng_below(r, 8) };
	for (uint32_t i = 0; i < f->df_natoms; i++) {
		struct dpf_atom *a = &f->df_atoms[i];
		unsigned width = widths[rng_below(r, 3)];
		uint32_t room = derived && base + width <= tlen ? (uint32_t)(tlen - base - width) + 1 : 80;
		uint16_t off = (uint16_t)rng_below(r, room < 64 ? room : 64);
		if (rng_below(r, 50) == 0)
			off = (uint16_t)(0xfff0 + rng_below(r, 16));
		bool in = base + off + width <= tlen;
		uint32_t v = in ? load_at(tpl + base + off, width) : (uint32_t)rng_next(r);
		if (rng_below(r, 6) == 0) {
			*a = common_shifts[rng_below(r, 3)];
			if (base + a->da_offset + a->da_width <= tlen) {
				v = load_at(tpl + base + a->da_offset, a->da_width) & a->da_mask;
				base += (a->da_shift >= 0 ? (uint64_t)v << a->da_shift
							  : v >> -a->da_shift) + a->da_value;
			}
		} else if (rng_below(r, 8) == 0) {
			static const uint32_t small[] = { 0x0f, 0x3c, 0xf0, 0x07, 0x01 };
			uint32_t mask = small[rng_below(r, 5)];
			int shift = (int)rng_below(r, 7) - 4;
			uint32_t add = rng_below(r, 24);
			if (rng_below(r, 20) == 0) { /* huge bases must not wrap */
				width = 4;
				mask = 0xffffffffu;
				shift = DPF_SHIFT_MAX;
				if (base + off + 4 <= tlen)
					v = load_at(tpl + base + off, 4);
				add = (uint32_t)rng_next(r);
			}
			*a = DPF_SHIFT(off, width, mask, shift, add);
			v &= mask;
			base += (shift >= 0 ? (uint64_t)v << shift : v >> -shift) + add;
		} else {
			uint32_t mask = gen_mask(r, width);
			if (!derived || rng_below(r, 8) == 0)
				v = (uint32_t)rng_next(r);
			*a = DPF_EQ(off, width, mask, v & mask);
		}
	}
}

/* --- format ---------------------------------------------------------------------- */

TEST(check, accepts_well_formed)
{
	struct dpf_filter f;
	dpf_filter_ipv4_port(&f, DPF_IPPROTO_UDP, 53);
	CHECK_EQ(dpf_check(&f), 0);
	f = (struct dpf_filter){ .df_natoms = DPF_MAX_ATOMS };
	for (int i = 0; i < DPF_MAX_ATOMS; i++)
		f.df_atoms[i] = i % 2 ? DPF_SHIFT(0xffff, 4, 0x80000001, DPF_SHIFT_MIN, 0xffffffff)
				      : DPF_EQ(i, 4, 0xffffffff, 0x12345678);
	CHECK_EQ(dpf_check(&f), 0);
	f.df_atoms[1].da_shift = DPF_SHIFT_MAX;
	CHECK_EQ(dpf_check(&f), 0);
}

TEST(check, rejects_malformed)
{
	struct dpf_filter good, f;
	dpf_filter_ipv4_port(&good, DPF_IPPROTO_UDP, 53);
	ref_reset();
#define BAD(what, change)                                                                   \
	do {                                                                                \
		f = good;                                                                   \
		change;                                                                     \
		CHECK_MSG(dpf_check(&f) == -E_INVAL, "dpf_check accepted %s", what);        \
		CHECK_MSG(dpf_insert(&D, &f, 1) == -E_INVAL, "dpf_insert accepted %s", what); \
		CHECK_MSG(dpf_conflicts(&D, &f, 1) == -E_INVAL, "dpf_conflicts took %s", what); \
	} while (0)
	BAD("no atoms", f.df_natoms = 0);
	BAD("too many atoms", f.df_natoms = DPF_MAX_ATOMS + 1);
	BAD("filter padding", f.df_pad = 1);
	BAD("atom padding 0", f.df_atoms[0].da_pad0 = 1);
	BAD("atom padding 1", f.df_atoms[4].da_pad1 = 1);
	BAD("width 0", f.df_atoms[0].da_width = 0);
	BAD("width 3", f.df_atoms[0].da_width = 3);
	BAD("width 8", f.df_atoms[0].da_width = 8);
	BAD("mask 0", f.df_atoms[0].da_mask = 0);
	BAD("mask wider than the load", f.df_atoms[2].da_mask = 0x1ff);
	BAD("value outside the mask", f.df_atoms[1].da_value = 0x2000);
	BAD("shift on an EQ atom", f.df_atoms[0].da_shift = 1);
	BAD("unknown op", f.df_atoms[0].da_op = 2);
	BAD("shift too far left", f.df_atoms[3].da_shift = DPF_SHIFT_MAX + 1);
	BAD("shift too far right", f.df_atoms[3].da_shift = DPF_SHIFT_MIN - 1);
	BAD("shift mask 0", f.df_atoms[3].da_mask = 0);
#undef BAD
	CHECK_EQ(D.d_nfilters, 0);
	CHECK_EQ(D.d_nnodes, 0);
	CHECK_EQ(D.d_nstates, 1);
}

/* --- the trie --------------------------------------------------------------------- */

TEST(trie, shared_prefixes_share_nodes)
{
	struct dpf_filter f, g;
	ref_reset();
	for (int p = 0; p < 1000; p++) {
		dpf_filter_ipv4_port(&f, DPF_IPPROTO_UDP, (uint16_t)(2000 + p));
		install(&f, 1 + p);
	}
	/* eth, fragment, protocol, shift, port: one node each; 1000 leaves */
	CHECK_EQ(D.d_nfilters, 1000);
	CHECK_EQ(D.d_nnodes, 5);
	CHECK_EQ(D.d_nstates, 1 + 4 + 1000);

	/* TCP shares eth and fragment, and the protocol test, with a new value */
	dpf_filter_ipv4_port(&f, DPF_IPPROTO_TCP, 80);
	int tcp = install(&f, 5000);
	CHECK_EQ(D.d_nnodes, 5 + 2);
	CHECK_EQ(D.d_nstates, 1005 + 3);

	/* the same atoms in another order (within a segment) share the path */
	dpf_filter_ipv4_port(&f, DPF_IPPROTO_UDP, 2000);
	g = f;
	g.df_atoms[0] = f.df_atoms[2];
	g.df_atoms[2] = f.df_atoms[0];
	int dup = install(&g, 1);
	CHECK_EQ(D.d_nnodes, 7);
	CHECK_EQ(D.d_nstates, 1008);
	struct dpf_filter got;
	envid_t owner;
	CHECK_EQ(dpf_get(&D, dup, &got, &owner), 0);
	CHECK(memcmp(&got, &f, sizeof(f)) == 0); /* canonical order: by offset */
	CHECK_EQ(owner, 1);

	/* a prefix of an existing path adds nothing but a filter */
	f.df_natoms = 3;
	install(&f, 7);
	CHECK_EQ(D.d_nnodes, 7);
	CHECK_EQ(D.d_nstates, 1008);

	/* a different test on the same state: a new alternative */
	f.df_atoms[3] = DPF_EQ(30, 4, 0xffffffff, 0x0a00020f);
	f.df_natoms = 4;
	install(&f, 8);
	CHECK_EQ(D.d_nnodes, 8);
	CHECK_EQ(D.d_nstates, 1009);
	CHECK_EQ(dpf_get(&D, tcp, &got, &owner), 0);
	CHECK_EQ(owner, 5000);
	CHECK_EQ(dpf_get(&D, 4000, &got, &owner), -E_NOT_FOUND);
	CHECK_EQ(dpf_get(&D, -1, &got, &owner), -E_NOT_FOUND);
}

TEST(trie, hash_dispatch_by_port)
{
	struct dpf_filter f;
	uint8_t pkt[256];
	struct rng r = { 42 };
	ref_reset();
	uint16_t port[1000];
	for (int i = 0; i < 1000; i++) {
		port[i] = (uint16_t)(i * 61 + 3); /* distinct, spread out */
		dpf_filter_ipv4_port(&f, DPF_IPPROTO_UDP, port[i]);
		install(&f, 1);
	}
	/* one dispatching node with all 1000 children */
	uint16_t leaf = D.d_filters[0].fs_state;
	CHECK_EQ(D.d_nodes[D.d_states[leaf].ds_parent].dn_nchild, 1000);
	dpf_code_fn *fn = compile();
	for (int i = 0; i < 1000; i++) {
		size_t len = gen_ipv4(&r, pkt, DPF_IPPROTO_UDP, 9, port[i], 5 + i % 11, i % 30);
		CHECK_EQ(agree(fn, pkt, len, "installed port"), i);
		len = gen_ipv4(&r, pkt, DPF_IPPROTO_UDP, 9, (uint16_t)(port[i] + 1), 5, 0);
		CHECK_EQ(agree(fn, pkt, len, "other port"), -1);
		len = gen_ipv4(&r, pkt, DPF_IPPROTO_TCP, 9, port[i], 5, 0);
		CHECK_EQ(agree(fn, pkt, len, "tcp"), -1);
	}
	/* every count of children, through the chain/table switch */
	ref_reset();
	for (int n = 1; n <= 12; n++) {
		dpf_filter_ipv4_port(&f, DPF_IPPROTO_UDP, (uint16_t)(100 + n));
		install(&f, 1);
		fn = compile();
		for (int p = 99; p <= 114; p++) {
			size_t len = udp(pkt, (uint16_t)p);
			CHECK_EQ(agree(fn, pkt, len, "small node"), p > 100 && p <= 100 + n ? p - 101 : -1);
		}
	}
}

TEST(trie, remove_frees_everything)
{
	struct rng r = { 7 };
	struct dpf_filter f;
	uint8_t tpl[256], pkt[256];
	ref_reset();
	size_t tlen = gen_packet(&r, tpl);
	int ids[600];
	for (int i = 0; i < 600; i++) {
		if (i % 50 == 0)
			tlen = gen_packet(&r, tpl);
		gen_filter(&r, tpl, tlen, &f);
		ids[i] = install(&f, 1 + rng_below(&r, 4));
	}
	for (int i = 599; i > 0; i--) { /* shuffle */
		int k = (int)rng_below(&r, (uint32_t)i + 1), t = ids[i];
		ids[i] = ids[k];
		ids[k] = t;
	}
	for (int i = 0; i < 600; i++) {
		uninstall(ids[i]);
		CHECK_EQ(dpf_remove(&D, ids[i]), -E_NOT_FOUND);
		dpf_code_fn *fn = i % 37 == 0 ? compile() : NULL;
		for (int k = 0; k < 10; k++) {
			size_t len = mutate(&r, tpl, tlen, pkt);
			agree(fn, pkt, len, "while removing");
		}
	}
	CHECK_EQ(D.d_nfilters, 0);
	CHECK_EQ(D.d_nnodes, 0);
	CHECK_EQ(D.d_nstates, 1);
	CHECK_EQ(D.d_states[0].ds_alt, DPF_NONE);
	int used = 0;
	for (int i = 0; i < DPF_EDGE_SLOTS; i++)
		used += D.d_edges[i] != 0;
	CHECK_EQ(used, 0);
	CHECK_EQ(dpf_remove(&D, -1), -E_NOT_FOUND);
	CHECK_EQ(dpf_remove(&D, DPF_MAX_FILTERS), -E_NOT_FOUND);

	/* ids are reused lowest first */
	dpf_filter_ipv4_port(&f, DPF_IPPROTO_UDP, 1);
	install(&f, 1);
	install(&f, 1);
	install(&f, 1);
	uninstall(1);
	CHECK_EQ(install(&f, 1), 1);
}

TEST(trie, limits)
{
	struct dpf_filter f;
	ref_reset();
	for (int i = 0; i < DPF_MAX_FILTERS; i++) {
		dpf_filter_ipv4_port(&f, DPF_IPPROTO_UDP, (uint16_t)i);
		CHECK_EQ(dpf_insert(&D, &f, 1), i);
	}
	uint32_t nodes = D.d_nnodes, states = D.d_nstates;
	CHECK_EQ(dpf_insert(&D, &f, 1), -E_FULL);
	CHECK_EQ(D.d_nfilters, DPF_MAX_FILTERS);
	CHECK_EQ(D.d_nnodes, nodes);
	CHECK_EQ(D.d_nstates, states);

	/* nodes: filters of 16 atoms that share nothing take 16 nodes each */
	dpf_init(&D);
	f = (struct dpf_filter){ .df_natoms = DPF_MAX_ATOMS };
	int i = 0;
	for (;; i++) {
		for (int k = 0; k < DPF_MAX_ATOMS; k++)
			f.df_atoms[k] = DPF_EQ((uint16_t)(i * DPF_MAX_ATOMS + k), 1, 0xff, 1);
		uint32_t before_n = D.d_nnodes, before_s = D.d_nstates;
		int id = dpf_insert(&D, &f, 1);
		if (id < 0) {
			CHECK_EQ(id, -E_FULL);
			CHECK_EQ(D.d_nnodes, before_n);
			CHECK_EQ(D.d_nstates, before_s);
			CHECK_EQ(D.d_nfilters, (uint32_t)i);
			break;
		}
	}
	CHECK_EQ(i, DPF_MAX_NODES / DPF_MAX_ATOMS);
	/* a filter that needs fewer nodes than are left still fits */
	f.df_natoms = 1;
	f.df_atoms[0] = DPF_EQ(0, 1, 0xff, 2);
	CHECK_EQ(dpf_insert(&D, &f, 1), i);
}

/* --- the match rule ------------------------------------------------------------- */

TEST(match, longest_then_lowest_id)
{
	struct dpf_filter f;
	uint8_t pkt[256];
	struct rng r = { 3 };
	ref_reset();
	f = (struct dpf_filter){ .df_natoms = 1, .df_atoms = { DPF_EQ(12, 2, 0xffff, 0x0800) } };
	int ip = install(&f, 1);
	dpf_filter_ipv4_port(&f, DPF_IPPROTO_UDP, 53);
	f.df_natoms = 3;
	int all_udp = install(&f, 2);
	dpf_filter_ipv4_port(&f, DPF_IPPROTO_UDP, 53);
	int dns = install(&f, 3);
	dpf_code_fn *fn = compile();
	size_t len = gen_ipv4(&r, pkt, DPF_IPPROTO_UDP, 9, 53, 7, 4);
	CHECK_EQ(agree(fn, pkt, len, "dns"), dns);
	len = gen_ipv4(&r, pkt, DPF_IPPROTO_UDP, 9, 54, 5, 4);
	CHECK_EQ(agree(fn, pkt, len, "udp"), all_udp);
	len = gen_ipv4(&r, pkt, DPF_IPPROTO_TCP, 9, 53, 5, 4);
	CHECK_EQ(agree(fn, pkt, len, "tcp"), ip);
	pkt[12] = 0x08, pkt[13] = 0x06;
	CHECK_EQ(agree(fn, pkt, len, "arp"), -1);
	CHECK_EQ(agree(fn, pkt, 0, "empty"), -1);

	/* a duplicate: the lower id wins, until it goes */
	int dns2 = install(&f, 4);
	fn = compile();
	len = gen_ipv4(&r, pkt, DPF_IPPROTO_UDP, 9, 53, 5, 4);
	CHECK_EQ(agree(fn, pkt, len, "dup"), dns);
	uninstall(dns);
	fn = compile();
	CHECK_EQ(agree(fn, pkt, len, "dup left"), dns2);
	uninstall(dns2);
	fn = compile();
	CHECK_EQ(agree(fn, pkt, len, "dns gone"), all_udp);

	/* equal lengths down different branches: the lower id, either order */
	struct dpf_filter a = { .df_natoms = 2,
				.df_atoms = { DPF_EQ(12, 2, 0xffff, 0x0800), DPF_EQ(23, 1, 0xff, 17) } };
	struct dpf_filter b = { .df_natoms = 2,
				.df_atoms = { DPF_EQ(12, 2, 0xffff, 0x0800), DPF_EQ(24, 1, 0xff, 0) } };
	pkt[24] = 0;
	ref_reset();
	install(&b, 1);
	install(&a, 1);
	fn = compile();
	CHECK_EQ(agree(fn, pkt, len, "b first"), 0);
	uninstall(0);
	fn = compile();
	CHECK_EQ(agree(fn, pkt, len, "a only"), 1);
	install(&b, 1);
	fn = compile();
	CHECK_EQ(agree(fn, pkt, len, "b again"), 0);
}

TEST(match, bounds)
{
	uint8_t pkt[256] = { 0 };
	ref_reset();
	/* a 4-byte load ending exactly at the end matches; one byte short does not */
	struct dpf_filter f = { .df_natoms = 1, .df_atoms = { DPF_EQ(96, 4, 0xff, 0) } };
	install(&f, 1);
	/* a shift that moves the base by a loaded amount */
	f = (struct dpf_filter){ .df_natoms = 2,
				 .df_atoms = { DPF_SHIFT(0, 1, 0xff, 0, 0), DPF_EQ(0, 2, 0xffff, 0) } };
	install(&f, 2);
	/* a shift by a huge amount: never in bounds */
	f = (struct dpf_filter){ .df_natoms = 2,
				 .df_atoms = { DPF_SHIFT(1, 4, 0xffffffff, DPF_SHIFT_MAX, 0xffffffff),
					       DPF_EQ(0xffff, 1, 1, 0) } };
	install(&f, 3);
	dpf_code_fn *fn = compile();
	for (size_t len = 0; len <= 120; len++)
		for (int b0 = 0; b0 < 120; b0 += 7) {
			pkt[0] = (uint8_t)b0;
			int want = len >= (size_t)b0 + 2 ? 1 : len >= 100 ? 0 : -1;
			CHECK_EQ(agree(fn, pkt, len, "bounds"), want);
		}
	pkt[1] = pkt[2] = pkt[3] = pkt[4] = 0xff;
	CHECK_EQ(agree(fn, pkt, 5, "huge base"), -1);
}

/* --- overlap ---------------------------------------------------------------------- */

TEST(conflict, cases)
{
	struct dpf_filter f, any_udp;
	ref_reset();
	dpf_filter_ipv4_port(&f, DPF_IPPROTO_UDP, 53);
	int dns = install(&f, 1);

	CHECK_EQ(dpf_conflicts(&D, &f, 2), dns); /* same port, another owner */
	CHECK_EQ(dpf_conflicts(&D, &f, 1), -1);  /* same owner: its own business */
	dpf_filter_ipv4_port(&f, DPF_IPPROTO_UDP, 54);
	CHECK_EQ(dpf_conflicts(&D, &f, 2), -1); /* another port */
	dpf_filter_ipv4_port(&f, DPF_IPPROTO_TCP, 53);
	CHECK_EQ(dpf_conflicts(&D, &f, 2), -1); /* another protocol */

	dpf_filter_ipv4_port(&any_udp, DPF_IPPROTO_UDP, 0);
	any_udp.df_natoms = 3;
	CHECK_EQ(dpf_conflicts(&D, &any_udp, 2), dns); /* wildcard over a specific one */
	int all = install(&any_udp, 3);
	dpf_filter_ipv4_port(&f, DPF_IPPROTO_UDP, 54);
	CHECK_EQ(dpf_conflicts(&D, &f, 2), all); /* specific under a wildcard */
	CHECK_EQ(dpf_conflicts(&D, &f, 3), -1);
	uninstall(all);

	/* a different header-length rule: nothing can be proved after it */
	dpf_filter_ipv4_port(&f, DPF_IPPROTO_UDP, 54);
	f.df_atoms[3].da_value = 34; /* Ethernet + 802.1Q */
	CHECK_EQ(dpf_conflicts(&D, &f, 2), dns);
	f.df_atoms[2].da_value = 6; /* ... but a base-0 atom still separates */
	CHECK_EQ(dpf_conflicts(&D, &f, 2), -1);

	/* bits, not atoms: masks and widths that cover the same byte */
	ref_reset();
	struct dpf_filter hi = { .df_natoms = 1, .df_atoms = { DPF_EQ(23, 1, 0xf0, 0x10) } };
	int h = install(&hi, 1);
	struct dpf_filter q = { .df_natoms = 1, .df_atoms = { DPF_EQ(23, 1, 0xff, 0x11) } };
	CHECK_EQ(dpf_conflicts(&D, &q, 2), h);
	q.df_atoms[0].da_value = 0x21;
	CHECK_EQ(dpf_conflicts(&D, &q, 2), -1);
	q.df_atoms[0] = DPF_EQ(22, 2, 0xffff, 0x0017);
	CHECK_EQ(dpf_conflicts(&D, &q, 2), h);
	q.df_atoms[0] = DPF_EQ(22, 2, 0xffff, 0x0027);
	CHECK_EQ(dpf_conflicts(&D, &q, 2), -1);
	q.df_atoms[0] = DPF_EQ(20, 4, 0x0000000f, 0x7); /* low nibble only */
	CHECK_EQ(dpf_conflicts(&D, &q, 2), h);
	q.df_atoms[0] = DPF_EQ(24, 1, 0xff, 0); /* another byte */
	CHECK_EQ(dpf_conflicts(&D, &q, 2), h);
	CHECK_EQ(dpf_conflicts(&D, &hi, 1), -1);

	/* a filter that contradicts itself on a test another filter makes */
	ref_reset();
	q.df_atoms[0] = DPF_EQ(23, 1, 0xff, 0x11);
	int q11 = install(&q, 1);
	struct dpf_filter never = { .df_natoms = 2,
				    .df_atoms = { DPF_EQ(23, 1, 0xff, 0x11),
						  DPF_EQ(22, 2, 0x00ff, 0x0012) } };
	CHECK_EQ(dpf_conflicts(&D, &never, 2), -1);
	never.df_atoms[1].da_value = 0x0011;
	CHECK_EQ(dpf_conflicts(&D, &never, 2), q11);
}

/* Authority over every owner overlapped: the search goes past filters of
 * owners the caller may take from. */
static bool accept_owner_1(envid_t other, void *arg)
{
	(void)arg;
	return other == 1;
}

TEST(conflict, every_owner)
{
	ref_reset();
	struct dpf_filter tcp = { .df_natoms = 2,
				  .df_atoms = { DPF_EQ(12, 2, 0xffff, 0x0800), DPF_EQ(23, 1, 0xff, 6) } };
	struct dpf_filter udp = { .df_natoms = 3,
				  .df_atoms = { DPF_EQ(12, 2, 0xffff, 0x0800), DPF_EQ(23, 1, 0xff, 17),
						DPF_EQ(36, 2, 0xffff, 7001) } };
	int s = install(&udp, 2); /* a stranger's */
	int c = install(&tcp, 1); /* the caller's child's */
	struct dpf_filter both = { .df_natoms = 2,
				   .df_atoms = { DPF_EQ(12, 2, 0xffff, 0x0800),
						 DPF_EQ(36, 2, 0xffff, 7001) } };
	int first = dpf_conflicts(&D, &both, 3);
	CHECK(first == s || first == c);
	CHECK_EQ(dpf_conflicts_unless(&D, &both, 3, accept_owner_1, NULL), s);
	CHECK_EQ(dpf_conflicts_unless(&D, &tcp, 3, accept_owner_1, NULL), -1);
	uninstall(s);
	CHECK_EQ(dpf_conflicts_unless(&D, &both, 3, accept_owner_1, NULL), -1);
	CHECK_EQ(dpf_conflicts(&D, &both, 3), c);
}

/* The overlap check agrees with the pairwise reference, and the reference is
 * exact when no SHIFT is involved: "overlap" then comes with a packet that
 * both filters accept. */
TEST(conflict, random_vs_pairwise)
{
	struct rng r = { 99 };
	struct dpf_filter f;
	uint8_t tpl[4][256], pkt[256];
	size_t tlen[4];
	long witnessed = 0;
	for (int set = 0; set < 200; set++) {
		ref_reset();
		for (int t = 0; t < 4; t++)
			tlen[t] = gen_packet(&r, tpl[t]);
		int nf = 1 + (int)rng_below(&r, 40);
		for (int i = 0; i < nf; i++) {
			int t = (int)rng_below(&r, 4);
			gen_filter(&r, tpl[t], tlen[t], &f);
			install(&f, 1 + rng_below(&r, 3));
		}
		for (int c = 0; c < 20; c++) {
			int t = (int)rng_below(&r, 4);
			gen_filter(&r, tpl[t], tlen[t], &f);
			envid_t owner = 1 + rng_below(&r, 3);
			int got = dpf_conflicts(&D, &f, owner);
			bool any = false;
			for (int id = 0; id < DPF_MAX_FILTERS; id++)
				if (ref_live[id] && ref_owner[id] != owner &&
				    !ref_disjoint(&f, &ref_f[id]))
					any = true;
			if (got >= 0)
				CHECK_MSG(ref_live[got] && ref_owner[got] != owner &&
						  !ref_disjoint(&f, &ref_f[got]),
					  "set %d: conflict with %d is not one", set, got);
			else
				CHECK_MSG(!any && got == -1, "set %d: missed a conflict (%d)", set, got);

			/* witness: every atom's bits set in one packet */
			bool shifts = false;
			for (uint32_t i = 0; i < f.df_natoms; i++)
				shifts |= f.df_atoms[i].da_op == DPF_OP_SHIFT;
			for (int id = 0; id < DPF_MAX_FILTERS && !shifts; id++) {
				const struct dpf_filter *g = &ref_f[id];
				bool gs = false;
				for (uint32_t i = 0; i < g->df_natoms; i++)
					gs |= g->df_atoms[i].da_op == DPF_OP_SHIFT;
				if (!ref_live[id] || gs)
					continue;
				size_t len = 0;
				memset(pkt, 0, sizeof(pkt));
				const struct dpf_filter *both[2] = { &f, g };
				for (int w = 0; w < 2; w++)
					for (uint32_t i = 0; i < both[w]->df_natoms; i++) {
						const struct dpf_atom *a = &both[w]->df_atoms[i];
						if (a->da_offset + a->da_width > (int)sizeof(pkt)) {
							len = SIZE_MAX;
							break;
						}
						for (unsigned k = 0; k < a->da_width; k++) {
							uint8_t m = byte_of(a->da_mask, a->da_width, k);
							uint8_t *p = &pkt[a->da_offset + k];
							*p = (uint8_t)((*p & ~m) |
								       (byte_of(a->da_value, a->da_width, k) & m));
						}
						if (len != SIZE_MAX && a->da_offset + a->da_width > len)
							len = a->da_offset + a->da_width;
					}
				if (len == SIZE_MAX)
					continue;
				bool fa = ref_accepts(&f, pkt, len), ga = ref_accepts(g, pkt, len);
				if (ref_disjoint(&f, g)) {
					CHECK_MSG(!(fa && ga), "set %d: disjoint filters both accept", set);
				} else {
					/* only a filter contradicting itself can miss */
					struct dpf_filter fx = f, gx = *g;
					bool self = false;
					for (uint32_t i = 0; i < fx.df_natoms; i++)
						for (uint32_t k = 0; k < i; k++)
							self |= atoms_clash(&fx.df_atoms[i], &fx.df_atoms[k]);
					for (uint32_t i = 0; i < gx.df_natoms; i++)
						for (uint32_t k = 0; k < i; k++)
							self |= atoms_clash(&gx.df_atoms[i], &gx.df_atoms[k]);
					CHECK_MSG(self || (fa && ga), "set %d: no witness for filter %d", set,
						  id);
					witnessed += fa && ga;
				}
			}
		}
	}
	CHECK(witnessed > 1000);
}

/* --- the compiler ---------------------------------------------------------------- */

TEST(jit, empty_trie)
{
	uint8_t pkt[64] = { 0 };
	ref_reset();
	dpf_code_fn *fn = compile();
	CHECK_EQ(agree(fn, pkt, 64, "empty trie"), -1);
	CHECK_EQ(agree(fn, pkt, 0, "empty trie, empty packet"), -1);
}

TEST(jit, buffer_too_small)
{
	struct rng r = { 5 };
	struct dpf_filter f;
	uint8_t tpl[256];
	ref_reset();
	for (int i = 0; i < 200; i++) {
		size_t tlen = gen_packet(&r, tpl);
		gen_filter(&r, tpl, tlen, &f);
		install(&f, 1);
	}
	size_t need, len;
	CHECK_EQ(dpf_compile(&D, NULL, 0, &need), -E_NO_MEM);
	uint8_t *buf = malloc(need + 64);
	const size_t sizes[] = { 0, 1, 7, 100, need / 2, need - 1 };
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		memset(buf, 0xab, need + 64);
		CHECK_EQ(dpf_compile(&D, buf, sizes[k], &len), -E_NO_MEM);
		CHECK_EQ(len, need);
		for (size_t i = sizes[k]; i < need + 64; i++)
			if (buf[i] != 0xab) {
				CHECK_MSG(false, "size %zu: byte %zu written", sizes[k], i);
				break;
			}
	}
	CHECK_EQ(dpf_compile(&D, buf, need, &len), 0);
	CHECK_EQ(len, need);
	free(buf);
}

/* The code refers to nothing outside itself: a copy elsewhere runs the same. */
TEST(jit, position_independent)
{
	struct rng r = { 11 };
	struct dpf_filter f;
	uint8_t tpl[256], pkt[256];
	ref_reset();
	size_t tlen = gen_packet(&r, tpl);
	for (int i = 0; i < 300; i++) {
		if (i % 20 == 0)
			tlen = gen_packet(&r, tpl);
		gen_filter(&r, tpl, tlen, &f);
		install(&f, 1);
	}
	dpf_code_fn *fn = compile();
	uint8_t *copy = mmap(NULL, CB.len + 4096 * 3, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(copy != MAP_FAILED);
	memcpy(copy + 4096 + 24, CB.mem, CB.len);
	CHECK(mprotect(copy, CB.len + 4096 * 3, PROT_READ | PROT_EXEC) == 0);
	dpf_code_fn *moved = (dpf_code_fn *)(void *)(copy + 4096 + 24);
	for (int i = 0; i < 2000; i++) {
		size_t len = i % 2 ? gen_packet(&r, pkt) : mutate(&r, tpl, tlen, pkt);
		int want = agree(fn, pkt, len, "original");
		CHECK_EQ(run_code(moved, pkt, len), want);
	}
}

/* --- differential ------------------------------------------------------------------ */

static void diff_sets(uint64_t seed, int sets, int max_filters, int packets)
{
	struct rng r = { seed };
	struct dpf_filter f;
	uint8_t tpl[6][256], pkt[256];
	size_t tlen[6];
	long matched = 0;
	for (int set = 0; set < sets && !check_failed; set++) {
		ref_reset();
		for (int t = 0; t < 6; t++)
			tlen[t] = gen_packet(&r, tpl[t]);
		int nf = 1 + (int)rng_below(&r, (uint32_t)max_filters);
		for (int i = 0; i < nf; i++) {
			int t = (int)rng_below(&r, 6);
			gen_filter(&r, tpl[t], tlen[t], &f);
			install(&f, 1 + rng_below(&r, 3));
		}
		for (int i = 0; i < nf / 4; i++) {
			int id = (int)rng_below(&r, (uint32_t)nf);
			if (ref_live[id])
				uninstall(id);
		}
		dpf_code_fn *fn = compile();
		for (int p = 0; p < packets; p++) {
			size_t len;
			uint32_t how = rng_below(&r, 4);
			if (how == 0)
				len = gen_packet(&r, pkt);
			else if (how == 1) {
				uint32_t t = rng_below(&r, 6);
				memcpy(pkt, tpl[t], len = tlen[t]);
			} else {
				uint32_t t = rng_below(&r, 6);
				len = mutate(&r, tpl[t], tlen[t], pkt);
			}
			matched += agree(fn, pkt, len, "random set") >= 0;
		}
	}
	CHECK_MSG(matched > (long)sets * packets / 10, "too few matches (%ld) to mean much", matched);
}

TEST(diff, small_sets)
{
	diff_sets(1, 1500, 8, 100);
}

TEST(diff, large_sets)
{
	diff_sets(2, 150, 300, 400);
}

/* The trie changes one filter at a time, recompiled after each change. */
TEST(diff, incremental)
{
	struct rng r = { 77 };
	struct dpf_filter f;
	uint8_t tpl[4][256], pkt[256];
	size_t tlen[4];
	ref_reset();
	for (int t = 0; t < 4; t++)
		tlen[t] = gen_packet(&r, tpl[t]);
	for (int step = 0; step < 600 && !check_failed; step++) {
		if (step % 100 == 0) {
			int t = (int)rng_below(&r, 4);
			tlen[t] = gen_packet(&r, tpl[t]);
		}
		if (D.d_nfilters == 0 || rng_below(&r, 3)) {
			int t = (int)rng_below(&r, 4);
			gen_filter(&r, tpl[t], tlen[t], &f);
			install(&f, 1);
		} else {
			int live[DPF_MAX_FILTERS], n = 0;
			for (int id = 0; id < DPF_MAX_FILTERS; id++)
				if (ref_live[id])
					live[n++] = id;
			uninstall(live[rng_below(&r, (uint32_t)n)]);
		}
		dpf_code_fn *fn = compile();
		for (int p = 0; p < 40; p++) {
			int t = (int)rng_below(&r, 4);
			size_t len = mutate(&r, tpl[t], tlen[t], pkt);
			agree(fn, pkt, len, "incremental");
		}
	}
}

/* Thousands of port filters, IPv4 options, every kind of packet. */
TEST(diff, many_ports)
{
	struct rng r = { 1234 };
	struct dpf_filter f;
	uint8_t pkt[256];
	ref_reset();
	for (int i = 0; i < 3000; i++) {
		dpf_filter_ipv4_port(&f, i % 2 ? DPF_IPPROTO_TCP : DPF_IPPROTO_UDP,
				     (uint16_t)(i / 2 * 7));
		install(&f, i);
	}
	dpf_code_fn *fn = compile();
	long hits = 0;
	for (int p = 0; p < 20000; p++) {
		size_t len;
		if (p % 4) {
			uint8_t proto = p % 3 ? (p % 2 ? DPF_IPPROTO_TCP : DPF_IPPROTO_UDP) : 1;
			len = gen_ipv4(&r, pkt, proto, 1, (uint16_t)rng_below(&r, 1500 * 7 + 20),
				       5 + rng_below(&r, 11), rng_below(&r, 20));
			if (p % 5 == 0) /* a later fragment */
				put16(pkt + 20, (uint16_t)rng_below(&r, 0x2000));
			if (p % 7 == 0)
				len = rng_below(&r, (uint32_t)len);
		} else {
			len = gen_packet(&r, pkt);
		}
		hits += agree(fn, pkt, len, "many ports") >= 0;
	}
	CHECK(hits > 1000);
}
