/*
 * The verifier: run once when a program is downloaded, it proves that the
 * program touches only its context, its stack and the regions its env granted,
 * never reads an uninitialised register or stack byte, never lets a kernel
 * address out, and stops (statically, or through the run-time budget when it
 * has backward jumps). A rejection names the slot and an enum bpf_error.
 *
 * Two passes, neither recursive:
 *   1. structure (this file): every slot decoded (opcodes, registers,
 *      reserved fields, jump targets, LD_IMM64 pairs), no fall-off, every slot
 *      reachable in the control-flow graph; basic-block leaders and their
 *      budget costs.
 *   2. abstract interpretation (absint.c, on the abstract values of
 *      vstate.c): what each instruction does to registers and stack, and
 *      whether its memory accesses are allowed.
 *
 * Interface: bpf_verify, bpf_verify_scratch_size, bpf_kind_desc and
 * bpf_error_message (kern/bpf/bpf.h); verify_reject for absint.c
 * (kern/bpf/verify.h). All memory comes from the caller's scratch buffer,
 * which bpf_verify lays out; this file also holds the table of program kinds.
 */
#include <inc/disk.h>
#include <kern/bpf/bpf.h>
#include <kern/bpf/verify.h>
#include <common/fmt.h>
#include <common/string.h>

/* --- program kinds ------------------------------------------------------------ */

static const struct bpf_ctx_field wakeup_fields[] = {
	{ 0, sizeof(struct bpf_wakeup_ctx), BPF_REGION_READ },
};

static const struct bpf_ctx_field packet_fields[] = {
	{ 0, sizeof(struct bpf_packet_ctx), BPF_REGION_READ },
};

static const struct bpf_ctx_field udf_fields[] = {
	{ 0, sizeof(struct bpf_udf_ctx), BPF_REGION_READ },
};

static const struct bpf_kind_desc kinds[] = {
	[BPF_KIND_WAKEUP] = {
		.k_name = "wakeup",
		.k_ctx_size = sizeof(struct bpf_wakeup_ctx),
		.k_fields = wakeup_fields,
		.k_nfields = ARRAY_SIZE(wakeup_fields),
		.k_budget = BPF_BUDGET_WAKEUP,
		.k_helpers = 1u << BPF_HELPER_TSC | 1u << BPF_HELPER_REGION_READ_U64 |
			     1u << BPF_HELPER_REGION_WRITE,
	},
	[BPF_KIND_PACKET] = {
		.k_name = "packet handler",
		.k_ctx_size = sizeof(struct bpf_packet_ctx),
		.k_fields = packet_fields,
		.k_nfields = ARRAY_SIZE(packet_fields),
		.k_budget = BPF_BUDGET_PACKET,
		.k_helpers = 1u << BPF_HELPER_TSC | 1u << BPF_HELPER_REGION_READ_U64 |
			     1u << BPF_HELPER_REGION_WRITE | 1u << BPF_HELPER_COPY_CSUM |
			     1u << BPF_HELPER_TX | 1u << BPF_HELPER_NOTIFY,
	},
	/* XN's UDFs: no helpers, so nothing but the block and the context
	 * can change what they answer (they must be deterministic). */
	[BPF_KIND_UDF] = {
		.k_name = "disk UDF",
		.k_ctx_size = sizeof(struct bpf_udf_ctx),
		.k_fields = udf_fields,
		.k_nfields = ARRAY_SIZE(udf_fields),
		.k_budget = BPF_BUDGET_UDF,
		.k_helpers = 0,
	},
};

const struct bpf_kind_desc *bpf_kind_desc(uint32_t kind)
{
	if (kind >= ARRAY_SIZE(kinds) || !kinds[kind].k_name)
		return NULL;
	return &kinds[kind];
}

static const char *const error_messages[] = { [BPF_OK] = "ok",
#define BPF_ERROR_MSG(name, code, msg) [code] = msg,
					      BPF_ERRORS(BPF_ERROR_MSG)
#undef BPF_ERROR_MSG
};

const char *bpf_error_message(int reason)
{
	if (reason < 0 || (size_t)reason >= ARRAY_SIZE(error_messages) || !error_messages[reason])
		return "unknown error";
	return error_messages[reason];
}

/* --- rejection ------------------------------------------------------------------ */

int verify_reject(struct verifier *v, uint32_t pc, int reason, const char *fmt, ...)
{
	if (v->err) {
		v->err->e_insn = pc;
		v->err->e_reason = (uint32_t)reason;
		int k = snprintf(v->err->e_msg, sizeof(v->err->e_msg), "insn %u: %s", pc,
				 bpf_error_message(reason));
		if (fmt && k > 0 && (size_t)k + 2 < sizeof(v->err->e_msg)) {
			v->err->e_msg[k++] = ':';
			v->err->e_msg[k++] = ' ';
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(v->err->e_msg + k, sizeof(v->err->e_msg) - (size_t)k, fmt, ap);
			va_end(ap);
		}
	}
	return reason;
}

/* --- pass 1: structure ------------------------------------------------------------- */

/* per-slot structural flags */
#define SL_SECOND 0x01 /* second slot of LD_IMM64 */
#define SL_REACHED 0x02
#define SL_LEADER 0x04

static bool is_jump(const struct bpf_insn *i)
{
	uint8_t c = BPF_CLASS(i->code), op = BPF_OP(i->code);
	return (c == BPF_JMP || c == BPF_JMP32) && op != BPF_CALL && op != BPF_EXIT;
}

static bool ends_block(const struct bpf_insn *i)
{
	uint8_t c = BPF_CLASS(i->code), op = BPF_OP(i->code);
	return (c == BPF_JMP || c == BPF_JMP32) && op != BPF_CALL;
}

static bool is_ldimm64(const struct bpf_insn *i)
{
	return i->code == (BPF_LD | BPF_IMM | BPF_DW);
}

size_t bpf_verify_scratch_size(const struct bpf_insn *insns, uint32_t len)
{
	if (len == 0 || len > BPF_MAX_INSNS)
		return 0;
	size_t leaders = 1;
	for (uint32_t pc = 0; pc < len; pc++)
		if (ends_block(&insns[pc]))
			leaders += 2;
	if (leaders > len)
		leaders = len;
	return len * (2 + 1 + 2) + leaders * (2 + 1 + 1) + 64 +
	       (leaders + 2) * sizeof(struct vstate);
}

static bool valid_alu_op(uint8_t op)
{
	return op <= BPF_END;
}

static bool valid_cond_op(uint8_t op)
{
	return (op >= BPF_JEQ && op <= BPF_JSGE) || (op >= BPF_JLT && op <= BPF_JSLE);
}

/* Decodes slot pc; LD_IMM64's second slot is checked with its first. */
static int check_insn(struct verifier *v, uint32_t pc)
{
	const struct bpf_insn *i = &v->insn[pc];
	uint8_t cls = BPF_CLASS(i->code), op = BPF_OP(i->code);
	bool x = BPF_SRC(i->code) == BPF_X;

	if (i->dst >= BPF_NREGS)
		return verify_reject(v, pc, BPF_ERR_BAD_REG, "r%u", i->dst);
	if (i->src >= BPF_NREGS && !(cls == BPF_LD))
		return verify_reject(v, pc, BPF_ERR_BAD_REG, "r%u", i->src);

	switch (cls) {
	case BPF_LD:
		if (!is_ldimm64(i))
			return verify_reject(v, pc, BPF_ERR_BAD_OPCODE, "opcode %#x", i->code);
		if (pc + 1 >= v->n)
			return verify_reject(v, pc, BPF_ERR_BAD_OPCODE,
					     "LD_IMM64 without its second slot");
		if (v->insn[pc + 1].code || v->insn[pc + 1].dst || v->insn[pc + 1].src ||
		    v->insn[pc + 1].off)
			return verify_reject(v, pc + 1, BPF_ERR_RESERVED, "LD_IMM64's second slot");
		if (i->off)
			return verify_reject(v, pc, BPF_ERR_RESERVED, "off");
		if (i->src != 0 && i->src != BPF_PSEUDO_REGION)
			return verify_reject(v, pc, BPF_ERR_BAD_OPCODE, "LD_IMM64 source %u",
					     i->src);
		if (i->dst == 10)
			return verify_reject(v, pc, BPF_ERR_WRITE_R10, NULL);
		return BPF_OK;
	case BPF_LDX:
	case BPF_ST:
	case BPF_STX:
		if (BPF_MODE(i->code) != BPF_MEM)
			return verify_reject(v, pc, BPF_ERR_BAD_OPCODE, "opcode %#x", i->code);
		if (cls == BPF_LDX && i->dst == 10)
			return verify_reject(v, pc, BPF_ERR_WRITE_R10, NULL);
		if ((cls != BPF_ST && i->imm) || (cls == BPF_ST && i->src))
			return verify_reject(v, pc, BPF_ERR_RESERVED,
					     cls == BPF_ST ? "src" : "imm");
		return BPF_OK;
	case BPF_ALU:
	case BPF_ALU64:
		if (!valid_alu_op(op))
			return verify_reject(v, pc, BPF_ERR_BAD_OPCODE, "opcode %#x", i->code);
		if (i->off)
			return verify_reject(v, pc, BPF_ERR_BAD_OPCODE, "ALU with off %d", i->off);
		if (op == BPF_END) {
			if (cls != BPF_ALU)
				return verify_reject(v, pc, BPF_ERR_BAD_OPCODE, "64-bit byte swap");
			if (i->imm != 16 && i->imm != 32 && i->imm != 64)
				return verify_reject(v, pc, BPF_ERR_BAD_OPCODE,
						     "byte swap of %d bits", i->imm);
			if (i->src)
				return verify_reject(v, pc, BPF_ERR_RESERVED, "src");
		} else if (op == BPF_NEG) {
			if (x || i->src || i->imm)
				return verify_reject(v, pc, BPF_ERR_RESERVED, "neg operands");
		} else if (x ? i->imm != 0 : i->src != 0) {
			return verify_reject(v, pc, BPF_ERR_RESERVED, x ? "imm" : "src");
		}
		if (i->dst == 10)
			return verify_reject(v, pc, BPF_ERR_WRITE_R10, NULL);
		return BPF_OK;
	case BPF_JMP:
	case BPF_JMP32:
		if (op == BPF_CALL || op == BPF_EXIT || op == BPF_JA) {
			if (cls != BPF_JMP || x)
				return verify_reject(v, pc, BPF_ERR_BAD_OPCODE, "opcode %#x",
						     i->code);
			if (op == BPF_CALL && i->src)
				return verify_reject(v, pc, BPF_ERR_BAD_OPCODE,
						     "calls to other functions are not supported");
			if (i->dst || i->src || (op != BPF_JA && i->off) ||
			    (op != BPF_CALL && i->imm))
				return verify_reject(v, pc, BPF_ERR_RESERVED, NULL);
			if (op == BPF_CALL) {
				if (i->imm <= 0 || i->imm >= BPF_HELPER_COUNT_PLUS_ONE ||
				    !bpf_helpers[i->imm].h_fn)
					return verify_reject(v, pc, BPF_ERR_BAD_HELPER, "helper %d",
							     i->imm);
				if (!(v->kind->k_helpers & (1u << i->imm)))
					return verify_reject(v, pc, BPF_ERR_BAD_HELPER,
							     "%s not allowed in %s programs",
							     bpf_helpers[i->imm].h_name,
							     v->kind->k_name);
			}
		} else {
			if (!valid_cond_op(op))
				return verify_reject(v, pc, BPF_ERR_BAD_OPCODE, "opcode %#x",
						     i->code);
			if (x ? i->imm != 0 : i->src != 0)
				return verify_reject(v, pc, BPF_ERR_RESERVED, x ? "imm" : "src");
		}
		if (is_jump(i)) {
			int64_t t = (int64_t)pc + 1 + i->off;
			if (t < 0 || t >= v->n || (v->flags[t] & SL_SECOND))
				return verify_reject(v, pc, BPF_ERR_BAD_JUMP, "target %lld",
						     (long long)t);
		}
		return BPF_OK;
	}
	return verify_reject(v, pc, BPF_ERR_BAD_OPCODE, "opcode %#x", i->code);
}

/* Successors of slot pc in the control-flow graph: up to two. */
static int successors(struct verifier *v, uint32_t pc, uint32_t out[2])
{
	const struct bpf_insn *i = &v->insn[pc];
	int k = 0;
	if (is_ldimm64(i)) {
		out[k++] = pc + 2;
		return k;
	}
	if (BPF_CLASS(i->code) == BPF_JMP && BPF_OP(i->code) == BPF_EXIT)
		return 0;
	if (is_jump(i)) {
		out[k++] = (uint32_t)((int64_t)pc + 1 + i->off);
		if (BPF_OP(i->code) == BPF_JA && BPF_CLASS(i->code) == BPF_JMP)
			return k;
	}
	out[k++] = pc + 1;
	return k;
}

static int check_structure(struct verifier *v, uint32_t vflags)
{
	uint32_t n = v->n;
	for (uint32_t pc = 0; pc < n; pc++) {
		if (is_ldimm64(&v->insn[pc]) && pc + 1 < n) {
			v->flags[pc + 1] |= SL_SECOND;
			pc++;
		}
	}
	for (uint32_t pc = 0; pc < n; pc++) {
		if (v->flags[pc] & SL_SECOND)
			continue;
		int r = check_insn(v, pc);
		if (r)
			return r;
	}
	/* Only the last instruction can fall through past the end. */
	if (v->flags[n - 1] & SL_SECOND)
		return verify_reject(v, n - 2, BPF_ERR_FALL_OFF, NULL);
	const struct bpf_insn *last = &v->insn[n - 1];
	if (BPF_CLASS(last->code) != BPF_JMP ||
	    (BPF_OP(last->code) != BPF_EXIT && BPF_OP(last->code) != BPF_JA))
		return verify_reject(v, n - 1, BPF_ERR_FALL_OFF, NULL);

	/* Reachability, with an explicit stack. */
	uint32_t sp = 0;
	v->dfs[sp++] = 0;
	v->flags[0] |= SL_REACHED;
	while (sp) {
		uint32_t pc = v->dfs[--sp], succ[2];
		int k = successors(v, pc, succ);
		for (int j = 0; j < k; j++) {
			if (succ[j] < n && !(v->flags[succ[j]] & SL_REACHED)) {
				v->flags[succ[j]] |= SL_REACHED;
				v->dfs[sp++] = (uint16_t)succ[j];
			}
		}
	}
	for (uint32_t pc = 0; pc < n; pc++)
		if (!(v->flags[pc] & (SL_REACHED | SL_SECOND)))
			return verify_reject(v, pc, BPF_ERR_UNREACHABLE, NULL);

	/* Leaders, loops. */
	bool loops = false;
	v->flags[0] |= SL_LEADER;
	for (uint32_t pc = 0; pc < n; pc++) {
		const struct bpf_insn *i = &v->insn[pc];
		if (is_jump(i)) {
			uint32_t t = (uint32_t)((int64_t)pc + 1 + i->off);
			v->flags[t] |= SL_LEADER;
			if (t <= pc) {
				if (!v->kind->k_budget || (vflags & BPF_VERIFY_NO_LOOPS))
					return verify_reject(v, pc, BPF_ERR_LOOP, "jump back to %u",
							     t);
				loops = true;
			}
		}
		if (ends_block(i) && pc + 1 < n)
			v->flags[pc + 1] |= SL_LEADER;
	}
	v->prog->p_loops = loops;
	return BPF_OK;
}

/* Lays out the scratch buffer once the leaders are known. */
static int setup_leaders(struct verifier *v, uint8_t *mem, size_t left)
{
	uint32_t n = v->n, nl = 0;
	for (uint32_t pc = 0; pc < n; pc++) {
		if (v->flags[pc] & SL_LEADER) {
			v->leader_of[pc] = (uint16_t)nl++;
		} else {
			v->leader_of[pc] = NO_LEADER;
		}
	}
	v->nleaders = nl;
	size_t need = nl * (2 + 1 + 1);
	need = ROUNDUP(need, 16) + (nl + 2) * sizeof(struct vstate);
	if (need > left)
		return verify_reject(v, 0, BPF_ERR_NO_MEM, "%zu more bytes", need - left);
	v->leader_pc = (uint16_t *)mem;
	v->changes = mem + nl * 2;
	v->lflags = v->changes + nl;
	v->states = (struct vstate *)(mem + ROUNDUP(nl * (2 + 1 + 1), 16));
	v->cur = &v->states[nl];
	v->branch = &v->states[nl + 1];
	memset(v->changes, 0, nl * 2);
	for (uint32_t pc = 0, l = 0; pc < n; pc++) {
		if (v->flags[pc] & SL_LEADER)
			v->leader_pc[l++] = (uint16_t)pc;
		const struct bpf_insn *i = &v->insn[pc];
		if (is_jump(i) && (int64_t)pc + 1 + i->off <= pc)
			v->lflags[v->leader_of[pc + 1 + i->off]] |= LF_LOOP_HEAD;
	}
	/* Budget costs: a block's length, charged on entry (only with loops). */
	for (uint32_t l = 0; l < nl; l++) {
		uint32_t end = l + 1 < nl ? v->leader_pc[l + 1] : n;
		v->aux[v->leader_pc[l]].a_cost =
			v->prog->p_loops ? (uint16_t)(end - v->leader_pc[l]) : 0;
	}
	return BPF_OK;
}

static int check_regions(struct verifier *v)
{
	const struct bpf_prog *p = v->prog;
	if (p->p_nregions > BPF_MAX_REGIONS)
		return verify_reject(v, 0, BPF_ERR_BAD_REGION, "%u regions", p->p_nregions);
	for (uint32_t k = 0; k < p->p_nregions; k++) {
		const struct bpf_region *r = &p->p_regions[k];
		if (r->r_len == 0 || r->r_len > BPF_REGION_MAX_LEN ||
		    (r->r_flags & ~(uint32_t)(BPF_REGION_READ | BPF_REGION_WRITE)))
			return verify_reject(v, 0, BPF_ERR_BAD_REGION, "region %u", k);
	}
	return BPF_OK;
}

int bpf_verify(struct bpf_prog *prog, uint32_t vflags, void *scratch, size_t scratch_size,
	       struct bpf_verify_error *err)
{
	struct verifier v = {
		.prog = prog,
		.insn = prog->p_insns,
		.aux = prog->p_aux,
		.n = prog->p_len,
		.err = err,
		.max_work = prog->p_max_work && prog->p_max_work < BPF_VERIFY_MAX_WORK
				    ? prog->p_max_work
				    : BPF_VERIFY_MAX_WORK,
	};
	int r;
	prog->p_verified = false;
	if (err) {
		err->e_insn = 0;
		err->e_reason = BPF_OK;
		err->e_msg[0] = '\0';
	}
	if (!(v.kind = bpf_kind_desc(prog->p_kind)))
		return verify_reject(&v, 0, BPF_ERR_BAD_KIND, "%u", prog->p_kind);
	if (v.n == 0 || v.n > BPF_MAX_INSNS)
		return verify_reject(&v, 0, BPF_ERR_TOO_LONG, "%u slots", v.n);
	if ((r = check_regions(&v)))
		return r;

	/* Scratch: per-slot arrays, then per-leader ones. */
	uint8_t *mem = scratch;
	size_t slot_bytes = ROUNDUP(v.n * (2 + 1 + 2), 16);
	size_t align = (uintptr_t)mem % 16 ? 16 - (uintptr_t)mem % 16 : 0;
	if (!scratch || scratch_size < align + slot_bytes)
		return verify_reject(&v, 0, BPF_ERR_NO_MEM, NULL);
	mem += align;
	scratch_size -= align;
	v.leader_of = (uint16_t *)mem;
	v.dfs = (uint16_t *)(mem + v.n * 2);
	v.flags = mem + v.n * 4;
	memset(v.flags, 0, v.n);
	memset(v.aux, 0, v.n * sizeof(*v.aux));

	if ((r = check_structure(&v, vflags)))
		return r;
	if ((r = setup_leaders(&v, mem + slot_bytes, scratch_size - slot_bytes)))
		return r;
	if ((r = absint_run(&v)))
		return r;
	prog->p_budget = prog->p_loops ? v.kind->k_budget : 0;
	prog->p_verified = true;
	return BPF_OK;
}
