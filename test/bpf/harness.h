/*
 * Shared by the downloaded-code host tests and fuzz targets: verify a program
 * with heap scratch, run it in the interpreter and in the JIT (code in an
 * mmap'd page made read+execute before it runs), and compare the two runs.
 *
 * Each engine runs on its own copy of the granted regions, so a program that
 * could observe an address (and so behave differently) also shows up as a
 * disagreement, beside the region contents, r0, the status and the budget.
 */
#ifndef EXO_TEST_BPF_HARNESS_H
#define EXO_TEST_BPF_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <inc/error.h>
#include <kern/bpf/bpf.h>

struct h_prog {
	struct bpf_prog prog;
	struct bpf_insn insns[BPF_MAX_INSNS];
	struct bpf_aux aux[BPF_MAX_INSNS];
	struct bpf_verify_error err;
	int verdict; /* enum bpf_error */
};

/* Regions used by generated and hand-written programs: 0 read-write, 1
 * read-only, 2 write-only. */
#define H_NREGIONS 3
static const uint32_t h_region_len[H_NREGIONS] = { 64, 16, 8 };
static const uint32_t h_region_flags[H_NREGIONS] = { BPF_REGION_READ | BPF_REGION_WRITE,
						     BPF_REGION_READ, BPF_REGION_WRITE };

struct h_mem {
	uint8_t *region[H_NREGIONS]; /* malloc'd at their exact length */
	struct bpf_wakeup_ctx *ctx;
};

static inline void h_mem_alloc(struct h_mem *m)
{
	for (int k = 0; k < H_NREGIONS; k++)
		m->region[k] = calloc(1, h_region_len[k]);
	m->ctx = calloc(1, sizeof(*m->ctx));
}

static inline void h_mem_free(struct h_mem *m)
{
	for (int k = 0; k < H_NREGIONS; k++)
		free(m->region[k]);
	free(m->ctx);
}

static inline void h_mem_copy(struct h_mem *to, const struct h_mem *from)
{
	for (int k = 0; k < H_NREGIONS; k++)
		memcpy(to->region[k], from->region[k], h_region_len[k]);
	memcpy(to->ctx, from->ctx, sizeof(*to->ctx));
}

static inline bool h_mem_equal(const struct h_mem *a, const struct h_mem *b)
{
	for (int k = 0; k < H_NREGIONS; k++)
		if (memcmp(a->region[k], b->region[k], h_region_len[k]))
			return false;
	return true;
}

/* Verifies insns[0..n) as a wakeup program with the standard regions (kptrs
 * from m, which may be NULL). Returns the verdict. */
static inline int h_verify(struct h_prog *h, const struct bpf_insn *insns, uint32_t n,
			   const struct h_mem *m, uint32_t flags)
{
	memset(&h->prog, 0, sizeof(h->prog));
	/* Longer programs keep their length, for BPF_ERR_TOO_LONG. */
	if (insns != h->insns)
		memcpy(h->insns, insns, (n <= BPF_MAX_INSNS ? n : BPF_MAX_INSNS) * sizeof(*insns));
	h->prog.p_kind = BPF_KIND_WAKEUP;
	h->prog.p_len = n;
	h->prog.p_insns = h->insns;
	h->prog.p_aux = h->aux;
	h->prog.p_nregions = H_NREGIONS;
	for (int k = 0; k < H_NREGIONS; k++) {
		h->prog.p_regions[k].r_uaddr = 0x10000000u + 0x1000u * (unsigned)k;
		h->prog.p_regions[k].r_len = h_region_len[k];
		h->prog.p_regions[k].r_flags = h_region_flags[k];
		h->prog.p_regions[k].r_kptr = m ? m->region[k] : NULL;
	}
	size_t need = bpf_verify_scratch_size(h->insns, n);
	void *scratch = malloc(need + 1);
	h->verdict = bpf_verify(&h->prog, flags, scratch, need, &h->err);
	free(scratch);
	return h->verdict;
}

static inline uint64_t h_clock(void)
{
	return 123456789;
}

struct h_run {
	uint64_t r0, budget;
	uint32_t status;
};

static inline void h_runtime(struct bpf_runtime *rt, const struct bpf_prog *p,
			     const struct h_mem *m, uint64_t budget)
{
	bpf_runtime_init(rt, p);
	for (int k = 0; k < H_NREGIONS; k++)
		rt->rt_region_base[k] = (uint64_t)(uintptr_t)m->region[k];
	if (budget)
		rt->rt_budget = budget;
	rt->rt_clock = h_clock;
}

static inline struct h_run h_interp(struct h_prog *h, struct h_mem *m, uint64_t budget)
{
	struct bpf_runtime rt;
	h_runtime(&rt, &h->prog, m, budget);
	struct h_run r;
	r.r0 = bpf_interp(&h->prog, m->ctx, &rt);
	r.status = rt.rt_status;
	r.budget = rt.rt_budget;
	return r;
}

struct h_jit {
	bpf_jit_fn *fn;
	void *page;
	size_t map_size, code_size;
};

/* Returns 0 or the bpf_jit error. */
static inline int h_jit_compile(struct h_prog *h, struct h_jit *j)
{
	memset(j, 0, sizeof(*j));
	int r = bpf_jit(&h->prog, NULL, 0, &j->code_size);
	if (r != -E_TOO_BIG)
		return r ? r : -1;
	j->map_size = (j->code_size + 4095) & ~(size_t)4095;
	j->page =
		mmap(NULL, j->map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (j->page == MAP_FAILED)
		return -1;
	size_t sz;
	r = bpf_jit(&h->prog, j->page, j->map_size, &sz);
	if (r || sz != j->code_size || mprotect(j->page, j->map_size, PROT_READ | PROT_EXEC)) {
		munmap(j->page, j->map_size);
		return r ? r : -1;
	}
	j->fn = (bpf_jit_fn *)j->page;
	return 0;
}

static inline void h_jit_free(struct h_jit *j)
{
	if (j->page)
		munmap(j->page, j->map_size);
	j->page = NULL;
}

static inline struct h_run h_jit_run(struct h_prog *h, struct h_jit *j, struct h_mem *m,
				     uint64_t budget)
{
	struct bpf_runtime rt;
	h_runtime(&rt, &h->prog, m, budget);
	struct h_run r;
	r.r0 = j->fn(m->ctx, &rt);
	r.status = rt.rt_status;
	r.budget = rt.rt_budget;
	return r;
}

/* Runs a verified program in both engines from the same memory m (left as the
 * interpreter left it); returns NULL if they agree, or what differs. */
static inline const char *h_compare(struct h_prog *h, struct h_jit *j, struct h_mem *m,
				    uint64_t budget, struct h_run *out)
{
	struct h_mem jm;
	h_mem_alloc(&jm);
	h_mem_copy(&jm, m);
	struct h_run a = h_interp(h, m, budget);
	struct h_run b = h_jit_run(h, j, &jm, budget);
	const char *why = NULL;
	if (a.r0 != b.r0)
		why = "r0";
	else if (a.status != b.status)
		why = "status";
	else if (a.budget != b.budget)
		why = "budget";
	else if (!h_mem_equal(m, &jm))
		why = "region contents";
	h_mem_free(&jm);
	if (out)
		*out = a;
	return why;
}

static inline void h_dump(FILE *f, const struct bpf_insn *insns, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++)
		fprintf(f, "  %4u: %02x %x %x %6d %11d\n", k, insns[k].code, insns[k].dst,
			insns[k].src, insns[k].off, insns[k].imm);
}

#endif
