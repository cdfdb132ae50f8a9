/*
 * A generator of random, valid-by-construction wakeup programs for the
 * differential tests and the agreement fuzzer. Its choices come from a byte
 * string (a fuzzer's input) or, when there is none, from a seeded PRNG.
 *
 * Invariant at every template boundary (the only jump targets): r6 = context,
 * r9 = region 0 (64 bytes, read-write), r0..r5, r7, r8 scalars, stack bytes
 * [r10 - 64, r10) initialised, [r10 - 72, r10 - 64) holds a spilled pointer or
 * scalar. Templates: ALU of every op and width, byte swaps, context loads,
 * stack stores and loads, region loads and stores at constant offsets and at
 * unchecked (guarded) or masked (proven) variable offsets, forward and
 * backward conditional jumps (loops end through the budget if nothing
 * else), helper calls, early exits and pointer spills.
 */
#ifndef EXO_TEST_BPF_GEN_H
#define EXO_TEST_BPF_GEN_H

#include <stdint.h>
#include <string.h>

#include <inc/bpf.h>

struct gen_src {
	const uint8_t *data; /* NULL: use the PRNG */
	size_t len, pos;
	uint64_t state;
};

static inline uint8_t gen_byte(struct gen_src *s)
{
	if (s->data)
		return s->pos < s->len ? s->data[s->pos++] : 0;
	s->state ^= s->state >> 12;
	s->state ^= s->state << 25;
	s->state ^= s->state >> 27;
	return (uint8_t)((s->state * 0x2545f4914f6cdd1dull) >> 56);
}

static inline uint32_t gen_below(struct gen_src *s, uint32_t n)
{
	uint32_t v = gen_byte(s);
	if (n > 256)
		v = v << 8 | gen_byte(s);
	return n ? v % n : 0;
}

static inline uint64_t gen_u64(struct gen_src *s)
{
	uint64_t v = 0;
	for (int k = 0; k < 8; k++)
		v = v << 8 | gen_byte(s);
	return v;
}

#define GEN_MAX_INSNS 1536 /* > prologue + GEN_MAX_TEMPLATES * the longest template */
#define GEN_MAX_TEMPLATES 96

struct gen {
	struct gen_src *src;
	struct bpf_insn *out;
	uint32_t n;
	uint32_t start[GEN_MAX_TEMPLATES + 1]; /* first slot of each template; last: exit */
	struct {
		uint32_t at, target;
	} fix[GEN_MAX_TEMPLATES];
	uint32_t nfix, cur;
};

static const uint8_t gen_scalars[] = { 0, 1, 2, 3, 4, 5, 7, 8 };

static inline void gen_emit(struct gen *g, struct bpf_insn i)
{
	if (g->n < GEN_MAX_INSNS)
		g->out[g->n] = i;
	g->n++;
}

static inline uint8_t gen_sreg(struct gen *g)
{
	return gen_scalars[gen_below(g->src, sizeof(gen_scalars))];
}

static inline int32_t gen_imm(struct gen *g)
{
	static const int32_t interesting[] = { 0,   1,      -1,         2,         7,   8,  16,
					       31,  32,     33,         63,        64,  65, 255,
					       256, 0xffff, 0x7fffffff, INT32_MIN, -64, 3 };
	if (gen_below(g->src, 2))
		return interesting[gen_below(g->src, sizeof(interesting) / sizeof(interesting[0]))];
	return (int32_t)(uint32_t)gen_u64(g->src);
}

static inline uint8_t gen_size(struct gen *g)
{
	static const uint8_t sizes[] = { BPF_B, BPF_H, BPF_W, BPF_DW };
	return sizes[gen_below(g->src, 4)];
}

static inline unsigned gen_size_bytes(uint8_t size)
{
	return size == BPF_B ? 1 : size == BPF_H ? 2 : size == BPF_W ? 4 : 8;
}

static inline void gen_alu(struct gen *g)
{
	static const uint8_t ops[] = { BPF_ADD, BPF_SUB, BPF_MUL,  BPF_DIV, BPF_OR,
				       BPF_AND, BPF_LSH, BPF_RSH,  BPF_NEG, BPF_MOD,
				       BPF_XOR, BPF_MOV, BPF_ARSH, BPF_END };
	uint8_t op = ops[gen_below(g->src, sizeof(ops))];
	uint8_t cls = gen_below(g->src, 2) ? BPF_ALU64 : BPF_ALU;
	uint8_t dst = gen_sreg(g);
	if (op == BPF_END) {
		static const int32_t bits[] = { 16, 32, 64 };
		gen_emit(g, BPF_INSN(BPF_ALU | BPF_END |
					     (gen_below(g->src, 2) ? BPF_TO_BE : BPF_TO_LE),
				     dst, 0, 0, bits[gen_below(g->src, 3)]));
	} else if (op == BPF_NEG) {
		gen_emit(g, BPF_INSN(cls | BPF_NEG, dst, 0, 0, 0));
	} else if (gen_below(g->src, 2)) {
		gen_emit(g, BPF_INSN(cls | op | BPF_X, dst, gen_sreg(g), 0, 0));
	} else {
		gen_emit(g, BPF_INSN(cls | op | BPF_K, dst, 0, 0, gen_imm(g)));
	}
}

/* A conditional (sometimes unconditional) jump to template `target`. */
static inline void gen_jump(struct gen *g, uint32_t target)
{
	static const uint8_t ops[] = { BPF_JEQ,  BPF_JNE,  BPF_JGT,  BPF_JGE,  BPF_JLT, BPF_JLE,
				       BPF_JSET, BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE };
	if (g->nfix >= GEN_MAX_TEMPLATES)
		return;
	if (gen_below(g->src, 16) == 0) {
		/* ja, behind a conditional skip so that what follows stays reachable */
		gen_emit(g, BPF_JMP_IMM(BPF_JEQ, gen_sreg(g), gen_imm(g), 1));
		g->fix[g->nfix].at = g->n;
		g->fix[g->nfix++].target = target;
		gen_emit(g, BPF_JA_OFF(0));
		return;
	}
	g->fix[g->nfix].at = g->n;
	g->fix[g->nfix++].target = target;
	uint8_t cls = gen_below(g->src, 2) ? BPF_JMP : BPF_JMP32;
	uint8_t op = ops[gen_below(g->src, sizeof(ops))];
	if (gen_below(g->src, 2))
		gen_emit(g, BPF_INSN(cls | op | BPF_X, gen_sreg(g), gen_sreg(g), 0, 0));
	else
		gen_emit(g, BPF_INSN(cls | op | BPF_K, gen_sreg(g), 0, 0, gen_imm(g)));
}

static inline void gen_template(struct gen *g, uint32_t ntemplates)
{
	struct gen_src *s = g->src;
	uint8_t sz = gen_size(g), r = gen_sreg(g);
	unsigned bytes = gen_size_bytes(sz);
	switch (gen_below(s, 16)) {
	case 0:
	case 1:
	case 2:
	case 3: gen_alu(g); break;
	case 4: /* context load */
		gen_emit(g, BPF_LDX_MEM(sz, r, 6, (int16_t)gen_below(s, 33 - bytes)));
		break;
	case 5: /* stack store */
		if (gen_below(s, 2))
			gen_emit(g, BPF_STX_MEM(sz, 10, gen_sreg(g),
						-(int16_t)(bytes + gen_below(s, 65 - bytes))));
		else
			gen_emit(g, BPF_ST_MEM(sz, 10, -(int16_t)(bytes + gen_below(s, 65 - bytes)),
					       gen_imm(g)));
		break;
	case 6: /* stack load */
		gen_emit(g, BPF_LDX_MEM(sz, r, 10, -(int16_t)(bytes + gen_below(s, 65 - bytes))));
		break;
	case 7: /* region, constant offset */
		if (gen_below(s, 2))
			gen_emit(g, BPF_LDX_MEM(sz, r, 9, (int16_t)gen_below(s, 65 - bytes)));
		else if (gen_below(s, 2))
			gen_emit(g, BPF_STX_MEM(sz, 9, gen_sreg(g),
						(int16_t)gen_below(s, 65 - bytes)));
		else
			gen_emit(g,
				 BPF_ST_MEM(sz, 9, (int16_t)gen_below(s, 65 - bytes), gen_imm(g)));
		break;
	case 8: { /* region, variable offset: masked (maybe proven) or raw (guarded) */
		/* The index comes from the context (wc_arg), unknown to the verifier:
		 * a known one would be checked statically, and rejected if out of
		 * bounds. */
		uint8_t val = gen_sreg(g);
		gen_emit(g, BPF_LDX_MEM(BPF_DW, r, 6, 24));
		if (gen_below(s, 2))
			gen_emit(g, BPF_ALU64_IMM(BPF_AND, r, gen_below(s, 2) ? 63 : 127));
		gen_emit(g, BPF_ALU64_REG(BPF_ADD, r, 9));
		int16_t off = (int16_t)((int)gen_below(s, 16) - 8);
		if (gen_below(s, 2)) {
			gen_emit(g, BPF_LDX_MEM(sz, r, r, off));
		} else {
			if (val == r)
				val = r == 0 ? 2 : 0;
			gen_emit(g, BPF_STX_MEM(sz, r, val, off));
			gen_emit(g, BPF_MOV64_REG(r, val));
		}
		break;
	}
	case 9:
	case 10: /* forward jump */
		gen_jump(g, g->cur + 1 + gen_below(s, ntemplates - g->cur));
		break;
	case 11: /* backward jump: a loop */
		if (gen_below(s, 2))
			gen_jump(g, gen_below(s, g->cur + 1));
		else
			gen_alu(g);
		break;
	case 12: { /* helper call; r1..r5 are set again after it */
		uint32_t which = gen_below(s, 3);
		if (which == 1) {
			gen_emit(g, BPF_MOV64_IMM(1, (int32_t)gen_below(s, 4)));
			gen_emit(g, BPF_MOV64_IMM(2, (int32_t)gen_below(s, 70)));
		} else if (which == 2) {
			uint32_t len = 1 + gen_below(s, 16);
			gen_emit(g, BPF_MOV64_IMM(1, (int32_t)gen_below(s, 3)));
			gen_emit(g, BPF_MOV64_IMM(2, (int32_t)gen_below(s, 70)));
			gen_emit(g, BPF_MOV64_REG(3, 10));
			gen_emit(g, BPF_ALU64_IMM(BPF_ADD, 3,
						  -(int32_t)(len + gen_below(s, 65 - len))));
			gen_emit(g, BPF_MOV64_IMM(4, (int32_t)len));
		}
		gen_emit(g, BPF_CALL_HELPER(which + 1));
		for (int k = 1; k <= 5; k++)
			gen_emit(g, BPF_MOV64_IMM(k, gen_imm(g)));
		break;
	}
	case 13: /* early exit, conditional so that what follows stays reachable */
		if (gen_below(s, 4) == 0) {
			gen_emit(g, BPF_JMP_IMM(BPF_JNE, r, gen_imm(g), 1));
			gen_emit(g, BPF_EXIT_INSN());
		} else {
			gen_alu(g);
		}
		break;
	case 14: { /* pointer spill and fill */
		uint8_t p = gen_below(s, 2) ? 6 : 9;
		gen_emit(g, BPF_STX_MEM(BPF_DW, 10, p, -72));
		gen_emit(g, BPF_LDX_MEM(BPF_DW, p, 10, -72));
		break;
	}
	default: { /* 64-bit constant */
		uint64_t v = gen_u64(s);
		gen_emit(g, BPF_INSN(BPF_LD | BPF_IMM | BPF_DW, r, 0, 0, (int32_t)(uint32_t)v));
		gen_emit(g, BPF_INSN(0, 0, 0, 0, (int32_t)(uint32_t)(v >> 32)));
		break;
	}
	}
}

/* Writes a program into out[GEN_MAX_INSNS]; returns its length. */
static inline uint32_t gen_program(struct gen_src *src, struct bpf_insn *out)
{
	static struct gen g;
	memset(&g, 0, sizeof(g));
	if (!src->data && !src->state)
		src->state = 1;
	g.src = src;
	g.out = out;
	gen_emit(&g, BPF_MOV64_REG(6, 1));
	gen_emit(&g, BPF_INSN(BPF_LD | BPF_IMM | BPF_DW, 9, BPF_PSEUDO_REGION, 0, 0));
	gen_emit(&g, BPF_INSN(0, 0, 0, 0, 0));
	for (size_t k = 0; k < sizeof(gen_scalars); k++)
		gen_emit(&g, BPF_MOV64_IMM(gen_scalars[k], gen_imm(&g)));
	for (int k = 1; k <= 8; k++)
		gen_emit(&g, BPF_ST_MEM(BPF_DW, 10, (int16_t)(-8 * k), gen_imm(&g)));
	gen_emit(&g, BPF_STX_MEM(BPF_DW, 10, 9, -72));

	uint32_t ntemplates = 1 + gen_below(src, GEN_MAX_TEMPLATES - 1);
	for (g.cur = 0; g.cur < ntemplates; g.cur++) {
		g.start[g.cur] = g.n;
		gen_template(&g, ntemplates);
	}
	g.start[ntemplates] = g.n;
	gen_emit(&g, BPF_EXIT_INSN());
	for (uint32_t k = 0; k < g.nfix; k++)
		out[g.fix[k].at].off =
			(int16_t)((int32_t)g.start[g.fix[k].target] - (int32_t)g.fix[k].at - 1);
	return g.n;
}

#endif
