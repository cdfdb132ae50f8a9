/*
 * Differential tests: the JIT must agree with the interpreter (r0, status,
 * budget left, region contents) on every verified program and input.
 *
 * ops.*:       every ALU and jump operation, in every width and operand form,
 *              with every register pair (the JIT's fixed registers rax, rcx,
 *              rdx make div, mod and shifts juggle), over edge-case values;
 *              all ten registers are stored after the operation, so a
 *              clobbered one shows.
 * generated.*: thousands of random valid programs (test/bpf/gen.h), each
 *              with random inputs and budgets.
 * mutated.*:   generated programs with random bit flips; whatever the
 *              verifier still accepts must run safely (the interpreter runs
 *              under AddressSanitizer, on regions allocated at their exact
 *              size) and agree.
 */
#include "check.h"

#include "bpf/gen.h"
#include "bpf/harness.h"
#include "bpf/insns.h"

static struct h_prog hp;

static const uint64_t edge_values[] = {
	0,
	1,
	2,
	3,
	7,
	31,
	32,
	63,
	64,
	0xff,
	0x7fffffff,
	0x80000000,
	0xffffffff,
	0x100000000ull,
	0x7fffffffffffffffull,
	0x8000000000000000ull,
	0xffffffffffffffffull,
	0x123456789abcdef0ull,
	0xfffffffffffffffeull,
	0x00000001fffffffdull,
};
#define NEDGE (sizeof(edge_values) / sizeof(edge_values[0]))

static void fill_random(struct h_mem *m, struct gen_src *s)
{
	for (int k = 0; k < H_NREGIONS; k++)
		for (uint32_t b = 0; b < h_region_len[k]; b++)
			m->region[k][b] = gen_byte(s);
	m->ctx->wc_ticks = gen_u64(s);
	m->ctx->wc_tsc = gen_u64(s);
	m->ctx->wc_env_id = gen_below(s, 100);
	m->ctx->wc_arg = gen_below(s, 2) ? gen_below(s, 128) : gen_u64(s);
}

/* Loads r0..r9 from memory, runs `op`, stores r0..r8 to regions 0 and 2 and
 * returns r9. */
static uint32_t reg_harness(struct bpf_insn *p, const struct bpf_insn *op, uint32_t nop)
{
	uint32_t n = 0;
	p[n++] = LDX(DW, 9, 1, 0); /* r9 = ctx (via r1 before it is overwritten) */
	p[n++] = (struct bpf_insn)LDREG(0, 0, 0);
	p[n++] = (struct bpf_insn){ 0 };
	/* r0 holds region 0; load r8..r1 from it, r0 last */
	for (int r = 8; r >= 1; r--)
		p[n++] = LDX(DW, r, 0, (int16_t)(8 * (r % 8)));
	p[n++] = LDX(DW, 9, 0, 8);
	p[n++] = LDX(DW, 0, 0, 0);
	for (uint32_t k = 0; k < nop; k++)
		p[n++] = op[k];
	/* store r0..r7 to region 0, r8 to region 2, using r10-relative spills to
	 * free a register for the pointer */
	p[n++] = STX(DW, 10, 9, -8);
	p[n++] = (struct bpf_insn)LDREG(9, 0, 0);
	p[n++] = (struct bpf_insn){ 0 };
	for (int r = 0; r <= 7; r++)
		p[n++] = STX(DW, 9, r, (int16_t)(8 * r));
	p[n++] = (struct bpf_insn)LDREG(9, 2, 0);
	p[n++] = (struct bpf_insn){ 0 };
	p[n++] = STX(DW, 9, 8, 0);
	p[n++] = LDX(DW, 0, 10, -8);
	p[n++] = EXIT;
	return n;
}

/* Runs a reg_harness program over pairs of edge values in its registers. */
static void check_reg_program(const struct bpf_insn *op, uint32_t nop, const char *what)
{
	struct bpf_insn p[64];
	uint32_t n = reg_harness(p, op, nop);
	struct h_mem m;
	h_mem_alloc(&m);
	if (!CHECK_MSG(h_verify(&hp, p, n, &m, 0) == BPF_OK, "%s: %s", what, hp.err.e_msg)) {
		h_mem_free(&m);
		return;
	}
	struct h_jit j;
	CHECK_EQ(h_jit_compile(&hp, &j), 0);
	struct gen_src s = { .state = 99 };
	for (uint32_t a = 0; a < NEDGE; a++) {
		for (uint32_t b = 0; b < NEDGE; b += 3) {
			/* registers get a mix of the two values and noise */
			for (int r = 0; r < 8; r++) {
				uint64_t v = r % 2 ? edge_values[a] : edge_values[(b + r) % NEDGE];
				if (r >= 4)
					v ^= gen_u64(&s) & 0xff;
				memcpy(m.region[0] + 8 * r, &v, 8);
			}
			memcpy(m.region[1], &edge_values[b], 8);
			memcpy(m.region[1] + 8, &edge_values[a], 8);
			const char *why = h_compare(&hp, &j, &m, 0, NULL);
			if (!CHECK_MSG(!why, "%s: values %#llx %#llx: engines differ in %s", what,
				       (unsigned long long)edge_values[a],
				       (unsigned long long)edge_values[b], why))
				goto out;
		}
	}
out:
	h_jit_free(&j);
	h_mem_free(&m);
}

static const uint8_t alu_ops[] = { BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR,  BPF_AND,
				   BPF_LSH, BPF_RSH, BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH };

TEST(ops, alu_reg)
{
	char what[64];
	for (size_t o = 0; o < sizeof(alu_ops); o++)
		for (int cls = 0; cls < 2; cls++)
			for (uint8_t d = 0; d <= 9; d++)
				for (uint8_t sr = 0; sr <= 9; sr++) {
					uint8_t c =
						(cls ? BPF_ALU64 : BPF_ALU) | alu_ops[o] | BPF_X;
					struct bpf_insn op = RAW(c, d, sr, 0, 0);
					snprintf(what, sizeof(what), "op %#x r%u r%u", c, d, sr);
					check_reg_program(&op, 1, what);
				}
}

TEST(ops, alu_imm)
{
	static const int32_t imms[] = { 0, 1, -1, 3, 31, 32, 63, 64, 0x7fffffff, INT32_MIN, -7 };
	char what[64];
	for (size_t o = 0; o < sizeof(alu_ops); o++)
		for (int cls = 0; cls < 2; cls++)
			for (uint8_t d = 0; d <= 9; d++)
				for (size_t k = 0; k < sizeof(imms) / sizeof(imms[0]);
				     k += d % 2 + 1) {
					uint8_t c =
						(cls ? BPF_ALU64 : BPF_ALU) | alu_ops[o] | BPF_K;
					struct bpf_insn op = RAW(c, d, 0, 0, imms[k]);
					snprintf(what, sizeof(what), "op %#x r%u imm %d", c, d,
						 imms[k]);
					check_reg_program(&op, 1, what);
				}
}

TEST(ops, neg_and_byte_swaps)
{
	char what[64];
	for (uint8_t d = 0; d <= 9; d++) {
		struct bpf_insn ops[] = { NEG(d),    NEG32(d),  BE(d, 16), BE(d, 32),
					  BE(d, 64), LE(d, 16), LE(d, 32), LE(d, 64) };
		for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
			snprintf(what, sizeof(what), "op %#x r%u imm %d", ops[k].code, d,
				 ops[k].imm);
			check_reg_program(&ops[k], 1, what);
		}
	}
}

static const uint8_t jmp_ops[] = { BPF_JEQ,  BPF_JNE,  BPF_JGT,  BPF_JGE,  BPF_JLT, BPF_JLE,
				   BPF_JSET, BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE };

TEST(ops, jumps)
{
	char what[64];
	for (size_t o = 0; o < sizeof(jmp_ops); o++)
		for (int cls = 0; cls < 2; cls++)
			for (uint8_t d = 0; d <= 9; d++)
				for (uint8_t sr = 0; sr <= 10; sr++) {
					uint8_t c = (cls ? BPF_JMP : BPF_JMP32) | jmp_ops[o];
					/* taken: r1 = 1, else r1 = 2 */
					struct bpf_insn ops[] = {
						sr == 10 ? RAW(c | BPF_K, d, 0, 0,
							       (int32_t)edge_values[d + o])
							 : RAW(c | BPF_X, d, sr, 0, 0),
						MOV(1, 2),
						JA(1),
						MOV(1, 1),
					};
					ops[0].off = 2;
					snprintf(what, sizeof(what), "op %#x r%u r%u", c, d, sr);
					check_reg_program(ops, 4, what);
				}
}

TEST(ops, memory_every_register)
{
	char what[64];
	static const uint8_t sizes[] = { BPF_B, BPF_H, BPF_W, BPF_DW };
	for (size_t z = 0; z < 4; z++)
		for (uint8_t b = 0; b <= 9; b++)
			for (uint8_t v = 0; v <= 9; v++) {
				if (v == b)
					continue;
				/* rb = r10 - 16; store rv at [rb + 3]; load it back into rv */
				struct bpf_insn ops[] = {
					STX(DW, 10, b, -24),
					MOVR(b, 10),
					ALU(ADD, b, -16),
					ST(DW, b, 0, 0x5a5a5a5a),
					ST(DW, b, 8, -1),
					BPF_STX_MEM(sizes[z], b, v, 3),
					BPF_LDX_MEM(sizes[z], v, b, 3),
					BPF_ST_MEM(sizes[z], b, 1, -2),
					BPF_LDX_MEM(sizes[z], 9 - (b == 9), b, 1),
					LDX(DW, b, 10, -24),
				};
				snprintf(what, sizeof(what), "size %#x base r%u value r%u",
					 sizes[z], b, v);
				check_reg_program(ops, sizeof(ops) / sizeof(ops[0]), what);
			}
}

/* Verifies and runs n generated programs from seed; returns how many the
 * verifier accepted. */
static void generated(uint64_t seed, int n, bool mutate)
{
	static struct bpf_insn p[GEN_MAX_INSNS];
	struct h_mem m;
	h_mem_alloc(&m);
	int accepted = 0, budget_runs = 0, faults = 0;
	for (int k = 0; k < n; k++) {
		struct gen_src s = { .state = seed * 1000003 + (uint64_t)k + 1 };
		uint32_t len = gen_program(&s, p);
		if (mutate) {
			int flips = 1 + (int)gen_below(&s, 4);
			for (int f = 0; f < flips; f++) {
				uint32_t at = gen_below(&s, len);
				uint8_t *bytes = (uint8_t *)&p[at];
				bytes[gen_below(&s, 8)] ^= (uint8_t)(1u << gen_below(&s, 8));
			}
		}
		int r = h_verify(&hp, p, len, &m, 0);
		if (r != BPF_OK) {
			if (!mutate && !CHECK_MSG(false, "seed %llu program %d rejected: %s",
						  (unsigned long long)seed, k, hp.err.e_msg)) {
				h_dump(stderr, p, len);
				break;
			}
			continue;
		}
		accepted++;
		struct h_jit j;
		if (!CHECK_EQ(h_jit_compile(&hp, &j), 0))
			break;
		for (int in = 0; in < 4; in++) {
			fill_random(&m, &s);
			uint64_t budget = in == 0 ? 0 : 1 + gen_below(&s, in == 1 ? 50 : 5000);
			struct h_run out;
			const char *why = h_compare(&hp, &j, &m, budget, &out);
			if (!CHECK_MSG(!why, "seed %llu program %d input %d: engines differ in %s",
				       (unsigned long long)seed, k, in, why)) {
				h_dump(stderr, p, len);
				h_jit_free(&j);
				goto out;
			}
			budget_runs += out.status == BPF_RUN_BUDGET;
			faults += out.status == BPF_RUN_FAULT;
		}
		h_jit_free(&j);
	}
out:
	fprintf(stderr, "seed %llu%s: %d/%d accepted, %d runs out of budget, %d faults\n",
		(unsigned long long)seed, mutate ? " mutated" : "", accepted, n, budget_runs,
		faults);
	if (mutate)
		CHECK_MSG(accepted > n / 20, "only %d of %d mutants accepted", accepted, n);
	else
		CHECK(budget_runs > 0 && faults > 0);
	h_mem_free(&m);
}

TEST(generated, seed1)
{
	generated(1, 1000, false);
}
TEST(generated, seed2)
{
	generated(2, 1000, false);
}
TEST(generated, seed3)
{
	generated(3, 1000, false);
}
TEST(generated, seed4)
{
	generated(4, 1000, false);
}
TEST(mutated, seed1)
{
	generated(11, 2000, true);
}
TEST(mutated, seed2)
{
	generated(12, 2000, true);
}
TEST(mutated, seed3)
{
	generated(13, 2000, true);
}
