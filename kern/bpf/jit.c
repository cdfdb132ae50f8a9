/*
 * The x86-64 JIT: translates a verified program into a System V function
 * `uint64_t fn(void *ctx, struct bpf_runtime *rt)` with exactly the
 * interpreter's behaviour (interp.c), including where the budget and the
 * region guards stop a run.
 *
 * Two passes over the program with the same emitter: the first only counts
 * bytes (and records each slot's code offset in aux a_jit_off), the second
 * writes. Every jump is encoded with a 32-bit displacement, so code size does
 * not depend on jump distances and both passes agree. The code refers to
 * nothing by address except helpers (absolute, through rax), so the caller may
 * copy it anywhere before mapping it read+execute.
 *
 * Registers: bytecode r0..r10 live in rax, rdi, rsi, rdx, rcx, r8, rbx, r13,
 * r14, r15, rbp, which puts helper arguments r1..r5 where the ABI wants them
 * and r6..r9 in callee-saved registers. r12 holds rt (passed to helpers as
 * their sixth argument, in r9); r9, r10, r11 are scratch. The 512-byte stack
 * is on the native stack: rbp = its top, as r10 requires.
 *
 * Frame (growing down): return address, saved rbp rbx r12 r13 r14 r15, 8 bytes
 * of padding, then the bytecode stack [rbp - 512, rbp); rsp stays 16-byte
 * aligned for helper calls.
 */
#include <kern/bpf/bpf.h>
#include <inc/error.h>
#include <common/string.h>

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

static const uint8_t reg_map[BPF_NREGS] = { RAX, RDI, RSI, RDX, RCX, R8, RBX, R13, R14, R15, RBP };
#define RT_REG R12
#define FRAME_PAD 8 /* keeps rsp 16-byte aligned after six pushes */

struct jit {
	uint8_t *buf; /* NULL while sizing */
	size_t size, len;
	struct bpf_prog *prog;
	uint32_t epilogue, budget_stub, fault_stub;
};

static void emit1(struct jit *j, uint8_t b)
{
	if (j->buf && j->len < j->size)
		j->buf[j->len] = b;
	j->len++;
}

static void emit4(struct jit *j, uint32_t v)
{
	for (int k = 0; k < 4; k++)
		emit1(j, (uint8_t)(v >> (8 * k)));
}

static void emit8(struct jit *j, uint64_t v)
{
	emit4(j, (uint32_t)v);
	emit4(j, (uint32_t)(v >> 32));
}

static void patch4(struct jit *j, size_t at, uint32_t v)
{
	if (j->buf && at + 4 <= j->size)
		for (int k = 0; k < 4; k++)
			j->buf[at + k] = (uint8_t)(v >> (8 * k));
}

/* REX prefix when needed; force for byte access to sil/dil/bpl/spl. */
static void rex(struct jit *j, bool w, int reg, int base, bool force)
{
	uint8_t b = (uint8_t)(0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((base & 8) ? 1 : 0));
	if (b != 0x40 || force)
		emit1(j, b);
}

/* Opcodes above 0xff are two bytes, 0x0f first. */
static void opcode(struct jit *j, uint32_t op)
{
	if (op > 0xff)
		emit1(j, (uint8_t)(op >> 8));
	emit1(j, (uint8_t)op);
}

/* op reg, rm (register direct). */
static void op_rr(struct jit *j, uint32_t op, bool w, int reg, int rm)
{
	rex(j, w, reg, rm, false);
	opcode(j, op);
	emit1(j, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
}

/* op reg, [base + disp]. */
static void op_mem(struct jit *j, uint32_t op, bool w, int reg, int base, int32_t disp,
		   bool force_rex)
{
	rex(j, w, reg, base, force_rex);
	opcode(j, op);
	int mod = disp == 0 && (base & 7) != RBP ? 0 : disp >= -128 && disp <= 127 ? 1 : 2;
	emit1(j, (uint8_t)(mod << 6 | (reg & 7) << 3 | (base & 7)));
	if ((base & 7) == RSP)
		emit1(j, 0x24);
	if (mod == 1)
		emit1(j, (uint8_t)disp);
	else if (mod == 2)
		emit4(j, (uint32_t)disp);
}

/* 81 /ext id, or 83 /ext ib when the immediate fits. */
static void op_ri(struct jit *j, int ext, bool w, int rm, int32_t imm)
{
	bool small = imm >= -128 && imm <= 127;
	op_rr(j, small ? 0x83 : 0x81, w, ext, rm);
	if (small)
		emit1(j, (uint8_t)imm);
	else
		emit4(j, (uint32_t)imm);
}

static void mov_rr(struct jit *j, bool w, int dst, int src)
{
	op_rr(j, 0x89, w, src, dst);
}

/* jmp or jcc (cc = the second opcode byte, 0x80..0x8f) to a code offset. */
static void jump_to(struct jit *j, int cc, uint32_t target)
{
	if (cc) {
		emit1(j, 0x0f);
		emit1(j, (uint8_t)cc);
	} else {
		emit1(j, 0xe9);
	}
	emit4(j, (uint32_t)(target - (uint32_t)(j->len + 4)));
}

/* A forward jump to be patched: returns where its displacement is. */
static size_t jump_fwd(struct jit *j, int cc)
{
	jump_to(j, cc, 0);
	return j->len - 4;
}

static void land(struct jit *j, size_t at)
{
	patch4(j, at, (uint32_t)(j->len - (at + 4)));
}

#define JCC_B 0x82
#define JCC_E 0x84
#define JCC_A 0x87

static void emit_budget(struct jit *j, uint16_t cost)
{
	int32_t off = (int32_t)offsetof(struct bpf_runtime, rt_budget);
	op_mem(j, 0x81, true, 7, RT_REG, off, false); /* cmp qword [rt->budget], cost */
	emit4(j, cost);
	jump_to(j, JCC_B, j->budget_stub);
	op_mem(j, 0x81, true, 5, RT_REG, off, false); /* sub qword [rt->budget], cost */
	emit4(j, cost);
}

static void emit_divmod(struct jit *j, const struct bpf_insn *i, bool w, int dst)
{
	bool x = BPF_SRC(i->code) == BPF_X, div = BPF_OP(i->code) == BPF_DIV;
	if (!x && i->imm == 0) {
		if (div)
			op_rr(j, 0x31, false, dst, dst); /* x / 0 = 0 */
		else if (!w)
			mov_rr(j, false, dst, dst); /* x % 0 = x, zero-extended */
		return;
	}
	if (x) {
		mov_rr(j, true, R11, reg_map[i->src]);
	} else if (w) {
		op_rr(j, 0xc7, true, 0, R11);
		emit4(j, (uint32_t)i->imm);
	} else {
		rex(j, false, 0, R11, false);
		emit1(j, (uint8_t)(0xb8 + (R11 & 7)));
		emit4(j, (uint32_t)i->imm);
	}
	size_t to_zero = 0;
	if (x) {
		op_rr(j, 0x85, w, R11, R11); /* test divisor */
		to_zero = jump_fwd(j, JCC_E);
	}
	mov_rr(j, true, R9, RDX);
	mov_rr(j, true, R10, RAX);
	mov_rr(j, w, RAX, dst);
	op_rr(j, 0x31, false, RDX, RDX);
	op_rr(j, 0xf7, w, 6, R11); /* div r11 */
	mov_rr(j, true, R11, div ? RAX : RDX);
	mov_rr(j, true, RAX, R10);
	mov_rr(j, true, RDX, R9);
	mov_rr(j, w, dst, R11);
	if (x) {
		size_t to_done = jump_fwd(j, 0);
		land(j, to_zero);
		if (div)
			op_rr(j, 0x31, false, dst, dst);
		else if (!w)
			mov_rr(j, false, dst, dst);
		land(j, to_done);
	}
}

static void emit_shift(struct jit *j, const struct bpf_insn *i, bool w, int dst)
{
	int ext = BPF_OP(i->code) == BPF_LSH ? 4 : BPF_OP(i->code) == BPF_RSH ? 5 : 7;
	if (BPF_SRC(i->code) == BPF_K) {
		uint8_t k = (uint8_t)(i->imm & (w ? 63 : 31));
		if (k) {
			op_rr(j, 0xc1, w, ext, dst);
			emit1(j, k);
		} else if (!w) {
			mov_rr(j, false, dst, dst);
		}
		return;
	}
	int src = reg_map[i->src];
	if (src == RCX) {
		op_rr(j, 0xd3, w, ext, dst);
	} else {
		mov_rr(j, true, R11, RCX);
		mov_rr(j, true, RCX, src);
		op_rr(j, 0xd3, w, ext, dst == RCX ? R11 : dst);
		mov_rr(j, true, RCX, R11);
	}
	if (!w) /* a shift by 0 may leave the upper half */
		mov_rr(j, false, dst, dst);
}

static void emit_alu(struct jit *j, const struct bpf_insn *i)
{
	bool w = BPF_CLASS(i->code) == BPF_ALU64, x = BPF_SRC(i->code) == BPF_X;
	int dst = reg_map[i->dst], src = reg_map[i->src];
	static const uint8_t rr_op[16] = {
		[BPF_ADD >> 4] = 0x01, [BPF_SUB >> 4] = 0x29, [BPF_OR >> 4] = 0x09,
		[BPF_AND >> 4] = 0x21, [BPF_XOR >> 4] = 0x31,
	};
	static const uint8_t imm_ext[16] = {
		[BPF_ADD >> 4] = 0, [BPF_SUB >> 4] = 5, [BPF_OR >> 4] = 1,
		[BPF_AND >> 4] = 4, [BPF_XOR >> 4] = 6,
	};
	uint8_t op = BPF_OP(i->code);
	switch (op) {
	case BPF_ADD:
	case BPF_SUB:
	case BPF_OR:
	case BPF_AND:
	case BPF_XOR:
		if (x)
			op_rr(j, rr_op[op >> 4], w, src, dst);
		else
			op_ri(j, imm_ext[op >> 4], w, dst, i->imm);
		break;
	case BPF_MOV:
		if (x) {
			mov_rr(j, w, dst, src);
		} else if (w) {
			op_rr(j, 0xc7, true, 0, dst);
			emit4(j, (uint32_t)i->imm);
		} else {
			rex(j, false, 0, dst, false);
			emit1(j, (uint8_t)(0xb8 + (dst & 7)));
			emit4(j, (uint32_t)i->imm);
		}
		break;
	case BPF_MUL:
		if (x) {
			op_rr(j, 0x0faf, w, dst, src);
		} else {
			op_rr(j, 0x69, w, dst, dst);
			emit4(j, (uint32_t)i->imm);
		}
		break;
	case BPF_NEG: op_rr(j, 0xf7, w, 3, dst); break;
	case BPF_DIV:
	case BPF_MOD: emit_divmod(j, i, w, dst); break;
	case BPF_LSH:
	case BPF_RSH:
	case BPF_ARSH: emit_shift(j, i, w, dst); break;
	case BPF_END:
		if (BPF_SRC(i->code) == BPF_TO_LE) {
			if (i->imm == 16)
				op_rr(j, 0x0fb7, false, dst, dst); /* movzx */
			else if (i->imm == 32)
				mov_rr(j, false, dst, dst);
		} else if (i->imm == 16) {
			emit1(j, 0x66);
			op_rr(j, 0xc1, false, 1, dst); /* ror dst16, 8 */
			emit1(j, 8);
			op_rr(j, 0x0fb7, false, dst, dst);
		} else {
			rex(j, i->imm == 64, 0, dst, false);
			emit1(j, 0x0f);
			emit1(j, (uint8_t)(0xc8 + (dst & 7))); /* bswap */
		}
		break;
	}
}

/* r11 = base + off, checked against region a_region; stops the run if the
 * size bytes there are not all inside it. */
static void emit_guard(struct jit *j, int base, int16_t off, unsigned size, uint8_t region)
{
	op_mem(j, 0x8d, true, R11, base, off, false); /* lea r11, [base + off] */
	mov_rr(j, true, R10, R11);
	op_mem(j, 0x2b, true, R10, RT_REG,
	       (int32_t)(offsetof(struct bpf_runtime, rt_region_base) + 8u * region), false);
	op_ri(j, 7, true, R10, (int32_t)(j->prog->p_regions[region].r_len - size));
	jump_to(j, JCC_A, j->fault_stub);
}

static void emit_mem(struct jit *j, const struct bpf_insn *i, const struct bpf_aux *a)
{
	uint8_t cls = BPF_CLASS(i->code);
	unsigned size = bpf_size_bytes(i->code);
	int base = reg_map[cls == BPF_LDX ? i->src : i->dst];
	int32_t disp = i->off;
	if (a->a_flags & BPF_AUX_GUARD) {
		emit_guard(j, base, i->off, size, a->a_region);
		base = R11;
		disp = 0;
	}
	if (cls == BPF_LDX) {
		int dst = reg_map[i->dst];
		static const uint32_t load_op[4] = { 0x0fb6, 0x0fb7, 0x8b, 0x8b };
		int k = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
		op_mem(j, load_op[k], size == 8, dst, base, disp, false);
	} else if (cls == BPF_STX) {
		int src = reg_map[i->src];
		if (size == 2)
			emit1(j, 0x66);
		op_mem(j, size == 1 ? 0x88 : 0x89, size == 8, src, base, disp,
		       size == 1 && src >= RSP && src <= RDI);
	} else {
		if (size == 2)
			emit1(j, 0x66);
		op_mem(j, size == 1 ? 0xc6 : 0xc7, size == 8, 0, base, disp, false);
		if (size == 1)
			emit1(j, (uint8_t)i->imm);
		else if (size == 2) {
			emit1(j, (uint8_t)i->imm);
			emit1(j, (uint8_t)(i->imm >> 8));
		} else {
			emit4(j, (uint32_t)i->imm);
		}
	}
}

static uint32_t target_off(struct jit *j, uint32_t pc, const struct bpf_insn *i)
{
	return j->prog->p_aux[pc + 1 + i->off].a_jit_off;
}

static void emit_jmp(struct jit *j, uint32_t pc, const struct bpf_insn *i)
{
	bool w = BPF_CLASS(i->code) == BPF_JMP, x = BPF_SRC(i->code) == BPF_X;
	int dst = reg_map[i->dst];
	uint8_t op = BPF_OP(i->code);
	switch (op) {
	case BPF_JA: jump_to(j, 0, target_off(j, pc, i)); return;
	case BPF_EXIT: jump_to(j, 0, j->epilogue); return;
	case BPF_CALL:
		mov_rr(j, true, R9, RT_REG);
		emit1(j, 0x48);
		emit1(j, 0xb8); /* movabs rax, helper */
		emit8(j, (uint64_t)(uintptr_t)bpf_helpers[i->imm].h_fn);
		emit1(j, 0xff);
		emit1(j, 0xd0); /* call rax */
		return;
	}
	if (op == BPF_JSET) {
		if (x) {
			op_rr(j, 0x85, w, reg_map[i->src], dst);
		} else {
			op_rr(j, 0xf7, w, 0, dst);
			emit4(j, (uint32_t)i->imm);
		}
	} else if (x) {
		op_rr(j, 0x39, w, reg_map[i->src], dst);
	} else {
		op_ri(j, 7, w, dst, i->imm);
	}
	int cc;
	switch (op) {
	case BPF_JEQ: cc = 0x84; break;
	case BPF_JNE: cc = 0x85; break;
	case BPF_JSET: cc = 0x85; break;
	case BPF_JGT: cc = 0x87; break;
	case BPF_JGE: cc = 0x83; break;
	case BPF_JLT: cc = 0x82; break;
	case BPF_JLE: cc = 0x86; break;
	case BPF_JSGT: cc = 0x8f; break;
	case BPF_JSGE: cc = 0x8d; break;
	case BPF_JSLT: cc = 0x8c; break;
	default: cc = 0x8e; break; /* JSLE */
	}
	jump_to(j, cc, target_off(j, pc, i));
}

static void emit_stub(struct jit *j, uint32_t status)
{
	op_mem(j, 0xc7, false, 0, RT_REG, (int32_t)offsetof(struct bpf_runtime, rt_status), false);
	emit4(j, status);
	op_rr(j, 0x31, false, RAX, RAX);
	jump_to(j, 0, j->epilogue);
}

static void compile(struct jit *j)
{
	const struct bpf_prog *p = j->prog;
	static const uint8_t saved[] = { RBP, RBX, R12, R13, R14, R15 };

	for (size_t k = 0; k < sizeof(saved); k++) {
		rex(j, false, 0, saved[k], false);
		emit1(j, (uint8_t)(0x50 + (saved[k] & 7))); /* push */
	}
	mov_rr(j, true, RT_REG, RSI);
	op_rr(j, 0x81, true, 5, RSP); /* sub rsp, stack + pad */
	emit4(j, BPF_STACK_SIZE + FRAME_PAD);
	op_mem(j, 0x8d, true, RBP, RSP, BPF_STACK_SIZE, false); /* lea rbp, [rsp + 512] */

	for (uint32_t pc = 0; pc < p->p_len; pc++) {
		const struct bpf_insn *i = &p->p_insns[pc];
		struct bpf_aux *a = &p->p_aux[pc];
		a->a_jit_off = (uint32_t)j->len;
		if (a->a_cost)
			emit_budget(j, a->a_cost);
		switch (BPF_CLASS(i->code)) {
		case BPF_ALU:
		case BPF_ALU64: emit_alu(j, i); break;
		case BPF_LD: {
			int dst = reg_map[i->dst];
			if (i->src == BPF_PSEUDO_REGION) {
				op_mem(j, 0x8b, true, dst, RT_REG,
				       (int32_t)(offsetof(struct bpf_runtime, rt_region_base) +
						 8u * (uint32_t)i->imm),
				       false);
				if (i[1].imm)
					op_ri(j, 0, true, dst, i[1].imm);
			} else {
				rex(j, true, 0, dst, false);
				emit1(j, (uint8_t)(0xb8 + (dst & 7)));
				emit8(j, (uint32_t)i->imm | (uint64_t)(uint32_t)i[1].imm << 32);
			}
			p->p_aux[++pc].a_jit_off = (uint32_t)j->len;
			break;
		}
		case BPF_LDX:
		case BPF_ST:
		case BPF_STX: emit_mem(j, i, a); break;
		default: emit_jmp(j, pc, i); break;
		}
	}

	j->epilogue = (uint32_t)j->len;
	op_mem(j, 0x8d, true, RSP, RBP, FRAME_PAD, false); /* lea rsp, [rbp + 8] */
	for (size_t k = sizeof(saved); k-- > 0;) {
		rex(j, false, 0, saved[k], false);
		emit1(j, (uint8_t)(0x58 + (saved[k] & 7))); /* pop */
	}
	emit1(j, 0xc3);
	j->budget_stub = (uint32_t)j->len;
	emit_stub(j, BPF_RUN_BUDGET);
	j->fault_stub = (uint32_t)j->len;
	emit_stub(j, BPF_RUN_FAULT);
}

int bpf_jit(struct bpf_prog *prog, void *buf, size_t size, size_t *code_size)
{
	if (!prog->p_verified)
		return -E_INVAL;
	struct jit j = { .prog = prog };
	compile(&j); /* sizes, slot offsets, stub offsets */
	*code_size = j.len;
	if (!buf || size < j.len)
		return -E_TOO_BIG;
	struct jit out = {
		.buf = buf,
		.size = size,
		.prog = prog,
		.epilogue = j.epilogue,
		.budget_stub = j.budget_stub,
		.fault_stub = j.fault_stub,
	};
	compile(&out);
	if (out.len != j.len || out.epilogue != j.epilogue)
		return -E_INVAL; /* the passes disagree: a JIT bug */
	return 0;
}
