/*
 * The verifier: run once when a program is downloaded, it proves that the
 * program touches only its context, its stack and the regions its env granted,
 * never reads an uninitialised register or stack byte, never lets a kernel
 * address out, and stops (statically, or through the run-time budget when it
 * has backward jumps). A rejection names the slot and an enum bpf_error.
 *
 * Two passes, neither recursive:
 *   1. structure: every slot decoded (opcodes, registers, reserved fields,
 *      jump targets, LD_IMM64 pairs), no fall-off, every slot reachable in the
 *      control-flow graph; basic-block leaders and their budget costs.
 *   2. abstract interpretation, classic data flow: one abstract state per
 *      basic-block leader, joined when several paths meet, a worklist that
 *      always takes the lowest pending leader (so a loop-free program is walked
 *      once, in order), and widening at loop headers so loops reach a fixed
 *      point. Total instruction visits are bounded (BPF_VERIFY_MAX_WORK).
 *
 * Abstract values: uninitialised; scalar with unsigned bounds [umin, umax];
 * pointer to the context, the stack or a region with a signed offset range
 * (or "unbounded"). Context and stack accesses need an exact offset; a region
 * access not proven in bounds gets a run-time guard (BPF_AUX_GUARD) that both
 * engines check. The stack is tracked per byte (initialised or not) and per
 * aligned 8-byte slot (a spilled register keeps its abstract value).
 *
 * All memory comes from the caller's scratch buffer; this file also holds the
 * table of program kinds.
 */
#include <kern/bpf/bpf.h>
#include <lib/fmt.h>
#include <lib/string.h>

/* --- program kinds ------------------------------------------------------------ */

static const struct bpf_ctx_field wakeup_fields[] = {
	{ 0, sizeof(struct bpf_wakeup_ctx), BPF_REGION_READ },
};

static const struct bpf_ctx_field packet_fields[] = {
	{ 0, sizeof(struct bpf_packet_ctx), BPF_REGION_READ },
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
			     1u << BPF_HELPER_TX,
	},
};

const struct bpf_kind_desc *bpf_kind_desc(uint32_t kind)
{
	if (kind >= ARRAY_SIZE(kinds) || !kinds[kind].k_name)
		return NULL;
	return &kinds[kind];
}

static const char *const error_messages[] = {
	[BPF_OK] = "ok",
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

/* --- abstract state ---------------------------------------------------------------- */

enum vtype { T_NONE = 0, T_SCALAR, T_CTX, T_STACK, T_REGION };

/* Pointer offsets beyond this many bytes are "unbounded": keeps the sums
 * below from overflowing. */
#define OFF_LIMIT ((int64_t)1 << 40)
#define NSLOTS (BPF_STACK_SIZE / 8)
#define WIDEN_AFTER 3 /* joins that change a loop header before it widens */
#define NO_LEADER 0xffff

struct vreg {
	uint8_t type;   /* enum vtype */
	uint8_t region; /* T_REGION: which */
	uint8_t unb;    /* pointer: offset unknown */
	uint8_t pad[5];
	union {
		struct {
			uint64_t umin, umax; /* T_SCALAR */
		};
		struct {
			int64_t omin, omax; /* pointers, when !unb */
		};
	};
};

struct vstate {
	struct vreg r[BPF_NREGS];
	uint8_t smask[NSLOTS];       /* bit b: byte b of the slot is initialised */
	struct vreg spill[NSLOTS];   /* type != T_NONE: a spilled register (smask 0xff) */
};

struct verifier {
	struct bpf_prog *prog;
	const struct bpf_kind_desc *kind;
	const struct bpf_insn *insn;
	struct bpf_aux *aux;
	uint32_t n;
	struct bpf_verify_error *err;
	uint32_t work, max_work;
	/* scratch */
	uint16_t *leader_of; /* per slot: leader index, or NO_LEADER */
	uint16_t *leader_pc; /* per leader */
	uint8_t *flags;      /* per slot: SL_* */
	uint8_t *changes;    /* per leader: joins that changed its state */
	uint8_t *lflags;     /* per leader: LF_* */
	struct vstate *states; /* per leader */
	struct vstate *cur, *branch;
	uint16_t *dfs;       /* structural pass: DFS stack */
	uint32_t nleaders, cursor;
};

/* per-slot structural flags */
#define SL_SECOND 0x01 /* second slot of LD_IMM64 */
#define SL_REACHED 0x02
#define SL_LEADER 0x04
/* per-leader flags */
#define LF_HAVE 0x01
#define LF_PENDING 0x02
#define LF_LOOP_HEAD 0x04

static bool is_ptr(const struct vreg *r)
{
	return r->type >= T_CTX;
}

static void set_none(struct vreg *r)
{
	memset(r, 0, sizeof(*r));
}

static void set_scalar(struct vreg *r, uint64_t umin, uint64_t umax)
{
	set_none(r);
	r->type = T_SCALAR;
	r->umin = umin;
	r->umax = umax;
}

static void set_const(struct vreg *r, uint64_t v)
{
	set_scalar(r, v, v);
}

static void set_unknown(struct vreg *r)
{
	set_scalar(r, 0, UINT64_MAX);
}

static bool is_const(const struct vreg *r)
{
	return r->type == T_SCALAR && r->umin == r->umax;
}

static void set_ptr(struct vreg *r, uint8_t type, uint8_t region, int64_t off)
{
	set_none(r);
	r->type = type;
	r->region = region;
	r->omin = r->omax = off;
}

static void set_unbounded(struct vreg *r)
{
	r->unb = 1;
	r->omin = r->omax = 0;
}

static void check_off_limits(struct vreg *r)
{
	if (!r->unb && (r->omin < -OFF_LIMIT || r->omax > OFF_LIMIT))
		set_unbounded(r);
}

/* --- rejection ------------------------------------------------------------------ */

static int reject(struct verifier *v, uint32_t pc, int reason, const char *fmt, ...)
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
		return reject(v, pc, BPF_ERR_BAD_REG, "r%u", i->dst);
	if (i->src >= BPF_NREGS && !(cls == BPF_LD))
		return reject(v, pc, BPF_ERR_BAD_REG, "r%u", i->src);

	switch (cls) {
	case BPF_LD:
		if (!is_ldimm64(i))
			return reject(v, pc, BPF_ERR_BAD_OPCODE, "opcode %#x", i->code);
		if (pc + 1 >= v->n)
			return reject(v, pc, BPF_ERR_BAD_OPCODE, "LD_IMM64 without its second slot");
		if (v->insn[pc + 1].code || v->insn[pc + 1].dst || v->insn[pc + 1].src ||
		    v->insn[pc + 1].off)
			return reject(v, pc + 1, BPF_ERR_RESERVED, "LD_IMM64's second slot");
		if (i->off)
			return reject(v, pc, BPF_ERR_RESERVED, "off");
		if (i->src != 0 && i->src != BPF_PSEUDO_REGION)
			return reject(v, pc, BPF_ERR_BAD_OPCODE, "LD_IMM64 source %u", i->src);
		if (i->dst == 10)
			return reject(v, pc, BPF_ERR_WRITE_R10, NULL);
		return BPF_OK;
	case BPF_LDX:
	case BPF_ST:
	case BPF_STX:
		if (BPF_MODE(i->code) != BPF_MEM)
			return reject(v, pc, BPF_ERR_BAD_OPCODE, "opcode %#x", i->code);
		if (cls == BPF_LDX && i->dst == 10)
			return reject(v, pc, BPF_ERR_WRITE_R10, NULL);
		if ((cls != BPF_ST && i->imm) || (cls == BPF_ST && i->src))
			return reject(v, pc, BPF_ERR_RESERVED, cls == BPF_ST ? "src" : "imm");
		return BPF_OK;
	case BPF_ALU:
	case BPF_ALU64:
		if (!valid_alu_op(op))
			return reject(v, pc, BPF_ERR_BAD_OPCODE, "opcode %#x", i->code);
		if (i->off)
			return reject(v, pc, BPF_ERR_BAD_OPCODE, "ALU with off %d", i->off);
		if (op == BPF_END) {
			if (cls != BPF_ALU)
				return reject(v, pc, BPF_ERR_BAD_OPCODE, "64-bit byte swap");
			if (i->imm != 16 && i->imm != 32 && i->imm != 64)
				return reject(v, pc, BPF_ERR_BAD_OPCODE, "byte swap of %d bits",
					      i->imm);
			if (i->src)
				return reject(v, pc, BPF_ERR_RESERVED, "src");
		} else if (op == BPF_NEG) {
			if (x || i->src || i->imm)
				return reject(v, pc, BPF_ERR_RESERVED, "neg operands");
		} else if (x ? i->imm != 0 : i->src != 0) {
			return reject(v, pc, BPF_ERR_RESERVED, x ? "imm" : "src");
		}
		if (i->dst == 10)
			return reject(v, pc, BPF_ERR_WRITE_R10, NULL);
		return BPF_OK;
	case BPF_JMP:
	case BPF_JMP32:
		if (op == BPF_CALL || op == BPF_EXIT || op == BPF_JA) {
			if (cls != BPF_JMP || x)
				return reject(v, pc, BPF_ERR_BAD_OPCODE, "opcode %#x", i->code);
			if (op == BPF_CALL && i->src)
				return reject(v, pc, BPF_ERR_BAD_OPCODE,
					      "calls to other functions are not supported");
			if (i->dst || i->src || (op != BPF_JA && i->off) ||
			    (op != BPF_CALL && i->imm))
				return reject(v, pc, BPF_ERR_RESERVED, NULL);
			if (op == BPF_CALL) {
				if (i->imm <= 0 || i->imm >= BPF_HELPER_COUNT_PLUS_ONE ||
				    !bpf_helpers[i->imm].h_fn)
					return reject(v, pc, BPF_ERR_BAD_HELPER, "helper %d",
						      i->imm);
				if (!(v->kind->k_helpers & (1u << i->imm)))
					return reject(v, pc, BPF_ERR_BAD_HELPER,
						      "%s not allowed in %s programs",
						      bpf_helpers[i->imm].h_name, v->kind->k_name);
			}
		} else {
			if (!valid_cond_op(op))
				return reject(v, pc, BPF_ERR_BAD_OPCODE, "opcode %#x", i->code);
			if (x ? i->imm != 0 : i->src != 0)
				return reject(v, pc, BPF_ERR_RESERVED, x ? "imm" : "src");
		}
		if (is_jump(i)) {
			int64_t t = (int64_t)pc + 1 + i->off;
			if (t < 0 || t >= v->n || (v->flags[t] & SL_SECOND))
				return reject(v, pc, BPF_ERR_BAD_JUMP, "target %lld", (long long)t);
		}
		return BPF_OK;
	}
	return reject(v, pc, BPF_ERR_BAD_OPCODE, "opcode %#x", i->code);
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
		return reject(v, n - 2, BPF_ERR_FALL_OFF, NULL);
	const struct bpf_insn *last = &v->insn[n - 1];
	if (BPF_CLASS(last->code) != BPF_JMP ||
	    (BPF_OP(last->code) != BPF_EXIT && BPF_OP(last->code) != BPF_JA))
		return reject(v, n - 1, BPF_ERR_FALL_OFF, NULL);

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
			return reject(v, pc, BPF_ERR_UNREACHABLE, NULL);

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
					return reject(v, pc, BPF_ERR_LOOP, "jump back to %u", t);
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
		return reject(v, 0, BPF_ERR_NO_MEM, "%zu more bytes", need - left);
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

/* --- joins -------------------------------------------------------------------------- */

/* a := a joined with b; widening pushes changed bounds to the extremes.
 * Returns whether a changed. */
static bool join_reg(struct vreg *a, const struct vreg *b, bool widen)
{
	if (a->type == T_NONE)
		return false;
	if (a->type != b->type || a->region != b->region) {
		set_none(a);
		return true;
	}
	if (a->type == T_SCALAR) {
		uint64_t lo = MIN(a->umin, b->umin), hi = MAX(a->umax, b->umax);
		if (lo == a->umin && hi == a->umax)
			return false;
		if (widen) {
			if (lo < a->umin)
				lo = 0;
			if (hi > a->umax)
				hi = UINT64_MAX;
		}
		a->umin = lo;
		a->umax = hi;
		return true;
	}
	if (a->unb)
		return false;
	if (b->unb) {
		set_unbounded(a);
		return true;
	}
	int64_t lo = MIN(a->omin, b->omin), hi = MAX(a->omax, b->omax);
	if (lo == a->omin && hi == a->omax)
		return false;
	if (widen)
		set_unbounded(a);
	else {
		a->omin = lo;
		a->omax = hi;
	}
	return true;
}

static bool join_state(struct vstate *a, const struct vstate *b, bool widen)
{
	bool changed = false;
	for (int r = 0; r < BPF_NREGS; r++)
		changed |= join_reg(&a->r[r], &b->r[r], widen);
	for (int s = 0; s < NSLOTS; s++) {
		struct vreg *as = &a->spill[s];
		const struct vreg *bs = &b->spill[s];
		uint8_t mask = a->smask[s];
		if (as->type && bs->type) {
			bool ptr = is_ptr(as) || is_ptr(bs);
			changed |= join_reg(as, bs, widen);
			if (as->type == T_NONE)
				mask = ptr ? 0 : 0xff;
		} else if (as->type) {
			mask = is_ptr(as) ? 0 : b->smask[s];
			set_none(as);
			changed = true;
		} else if (bs->type) {
			if (is_ptr(bs))
				mask = 0;
		} else {
			mask &= b->smask[s];
		}
		if (mask != a->smask[s]) {
			a->smask[s] = mask;
			changed = true;
		}
	}
	return changed;
}

static void propagate(struct verifier *v, uint32_t pc, const struct vstate *s)
{
	uint32_t l = v->leader_of[pc];
	if (!(v->lflags[l] & LF_HAVE)) {
		v->states[l] = *s;
		v->lflags[l] |= LF_HAVE | LF_PENDING;
	} else {
		bool widen = (v->lflags[l] & LF_LOOP_HEAD) && v->changes[l] >= WIDEN_AFTER;
		if (!join_state(&v->states[l], s, widen))
			return;
		if (v->changes[l] < 255)
			v->changes[l]++;
		v->lflags[l] |= LF_PENDING;
	}
	if (l < v->cursor)
		v->cursor = l;
}

/* --- scalar arithmetic ---------------------------------------------------------------- */

/* Highest value with the same top bit set as x, all lower bits set. */
static uint64_t fill_bits(uint64_t x)
{
	x |= x >> 1;
	x |= x >> 2;
	x |= x >> 4;
	x |= x >> 8;
	x |= x >> 16;
	x |= x >> 32;
	return x;
}

/* Bounds of dst op src for scalars, in 64 bits (32-bit ops: operands already
 * truncated, result truncated by the caller). */
static void scalar_op(uint8_t code, struct vreg *d, const struct vreg *s)
{
	uint64_t a = d->umin, b = d->umax, c = s->umin, e = s->umax;
	bool is64 = BPF_CLASS(code) == BPF_ALU64;
	uint64_t lo = 0, hi = UINT64_MAX;
	unsigned shmask = is64 ? 63 : 31;

	if (a == b && c == e) {
		uint64_t r = bpf_alu_eval(code, a, c);
		set_const(d, r);
		return;
	}
	switch (BPF_OP(code)) {
	case BPF_ADD:
		if (b + e >= b) {
			lo = a + c;
			hi = b + e;
		}
		break;
	case BPF_SUB:
		if (a >= e) {
			lo = a - e;
			hi = b - c;
		}
		break;
	case BPF_MUL:
		if (!e || b <= UINT64_MAX / e) {
			lo = a * c;
			hi = b * e;
		}
		break;
	case BPF_DIV:
		hi = c ? b / c : b;
		lo = c ? a / e : 0;
		break;
	case BPF_MOD:
		hi = c ? MIN(b, e - 1) : b;
		break;
	case BPF_AND: hi = MIN(b, e); break;
	case BPF_OR:
		lo = MAX(a, c);
		hi = fill_bits(b | e);
		break;
	case BPF_XOR: hi = fill_bits(b | e); break;
	case BPF_LSH:
		if (c == e) {
			unsigned k = c & shmask;
			if (b <= UINT64_MAX >> k) {
				lo = a << k;
				hi = b << k;
			}
		}
		break;
	case BPF_ARSH:
		if (b > (is64 ? (uint64_t)INT64_MAX : INT32_MAX))
			break; /* may be negative: unknown */
		/* non-negative: the same as a logical shift */
		/* fall through */
	case BPF_RSH:
		if (c == e) {
			lo = a >> (c & shmask);
			hi = b >> (c & shmask);
		} else {
			hi = b;
		}
		break;
	case BPF_MOV:
		lo = c;
		hi = e;
		break;
	}
	set_scalar(d, lo, hi);
}

static void truncate32(struct vreg *r)
{
	if (r->umax > UINT32_MAX)
		set_scalar(r, 0, UINT32_MAX);
}

/* --- instruction semantics ------------------------------------------------------------- */

static int read_reg(struct verifier *v, uint32_t pc, struct vstate *s, unsigned r)
{
	if (s->r[r].type == T_NONE)
		return reject(v, pc, BPF_ERR_UNINIT_REG, "r%u", r);
	return BPF_OK;
}

/* Adds (sub = false) or subtracts a scalar to a pointer. */
static void ptr_add(struct vreg *p, const struct vreg *s, bool sub)
{
	if (p->unb)
		return;
	if (is_const(s) && (int64_t)s->umin >= -OFF_LIMIT && (int64_t)s->umin <= OFF_LIMIT) {
		int64_t k = (int64_t)s->umin;
		p->omin += sub ? -k : k;
		p->omax += sub ? -k : k;
	} else if (s->umax <= (uint64_t)OFF_LIMIT) {
		if (sub) {
			p->omin -= (int64_t)s->umax;
			p->omax -= (int64_t)s->umin;
		} else {
			p->omin += (int64_t)s->umin;
			p->omax += (int64_t)s->umax;
		}
	} else {
		set_unbounded(p);
	}
	check_off_limits(p);
}

static int do_alu(struct verifier *v, uint32_t pc, struct vstate *s)
{
	const struct bpf_insn *i = &v->insn[pc];
	uint8_t op = BPF_OP(i->code);
	bool is64 = BPF_CLASS(i->code) == BPF_ALU64;
	struct vreg *d = &s->r[i->dst], src;
	int r;

	if (op == BPF_END || op == BPF_NEG) {
		if ((r = read_reg(v, pc, s, i->dst)))
			return r;
		if (is_ptr(d))
			return reject(v, pc, BPF_ERR_PTR_ARITH, "r%u is a pointer", i->dst);
		if (is_const(d))
			set_const(d, op == BPF_END ? bpf_end_eval(i->code, i->imm, d->umin)
						   : bpf_alu_eval(i->code, d->umin, 0));
		else if (op == BPF_END && i->imm != 64)
			set_scalar(d, 0, i->imm == 16 ? 0xffff : UINT32_MAX);
		else
			set_scalar(d, 0, is64 ? UINT64_MAX : UINT32_MAX);
		return BPF_OK;
	}

	if (BPF_SRC(i->code) == BPF_X) {
		if ((r = read_reg(v, pc, s, i->src)))
			return r;
		src = s->r[i->src];
	} else {
		set_const(&src, is64 ? bpf_imm64(i->imm) : (uint32_t)i->imm);
	}
	if (op != BPF_MOV && (r = read_reg(v, pc, s, i->dst)))
		return r;

	if (op == BPF_MOV) {
		if (!is64) {
			if (is_ptr(&src))
				return reject(v, pc, BPF_ERR_PTR_ARITH,
					      "32-bit move of a pointer");
			truncate32(&src);
		}
		*d = src;
		return BPF_OK;
	}
	if (is_ptr(d) || is_ptr(&src)) {
		if (!is64)
			return reject(v, pc, BPF_ERR_PTR_ARITH, "32-bit operation on a pointer");
		if (op == BPF_ADD && is_ptr(d) && !is_ptr(&src)) {
			ptr_add(d, &src, false);
		} else if (op == BPF_ADD && !is_ptr(d) && is_ptr(&src)) {
			struct vreg sc = *d;
			*d = src;
			ptr_add(d, &sc, false);
		} else if (op == BPF_SUB && is_ptr(d) && !is_ptr(&src)) {
			ptr_add(d, &src, true);
		} else {
			return reject(v, pc, BPF_ERR_PTR_ARITH, NULL);
		}
		return BPF_OK;
	}
	if (!is64) {
		truncate32(d);
		truncate32(&src);
	}
	scalar_op(i->code, d, &src);
	if (!is64)
		truncate32(d);
	return BPF_OK;
}

/* Records which kind of memory slot pc accesses; one kind per instruction. */
static int note_access(struct verifier *v, uint32_t pc, const struct vreg *base, bool guard)
{
	struct bpf_aux *a = &v->aux[pc];
	uint8_t kind = base->type == T_CTX ? BPF_AUX_CTX
		       : base->type == T_STACK ? BPF_AUX_STACK
					      : BPF_AUX_REGION;
	uint8_t had = a->a_flags & (BPF_AUX_CTX | BPF_AUX_STACK | BPF_AUX_REGION);
	if ((had && had != kind) || (had == BPF_AUX_REGION && a->a_region != base->region))
		return reject(v, pc, BPF_ERR_PTR_MIX, NULL);
	a->a_flags |= kind | (guard ? BPF_AUX_GUARD : 0);
	a->a_region = kind == BPF_AUX_REGION ? base->region : 0;
	return BPF_OK;
}

static void loaded_value(struct vreg *out, unsigned size)
{
	if (size == 8)
		set_unknown(out);
	else
		set_scalar(out, 0, (1ull << (8 * size)) - 1);
}

static int stack_access(struct verifier *v, uint32_t pc, struct vstate *s, int64_t o,
			unsigned size, bool write, const struct vreg *val, struct vreg *out)
{
	if (o < -BPF_STACK_SIZE || o + size > 0)
		return reject(v, pc, BPF_ERR_OOB, "stack offset %lld size %u", (long long)o, size);
	uint32_t pos = (uint32_t)(o + BPF_STACK_SIZE), slot = pos / 8;
	bool whole = size == 8 && pos % 8 == 0;
	if (write) {
		if (val && is_ptr(val) && !whole)
			return reject(v, pc, BPF_ERR_PTR_LEAK, "partial spill of a pointer");
		if (whole) {
			s->smask[slot] = 0xff;
			s->spill[slot] = *val;
			return BPF_OK;
		}
		for (uint32_t p = pos; p < pos + size; p++) {
			uint32_t sl = p / 8;
			if (s->spill[sl].type) {
				s->smask[sl] = is_ptr(&s->spill[sl]) ? 0 : 0xff;
				set_none(&s->spill[sl]);
			}
			s->smask[sl] |= (uint8_t)(1u << (p % 8));
		}
		return BPF_OK;
	}
	if (whole && s->spill[slot].type) {
		*out = s->spill[slot];
		return BPF_OK;
	}
	for (uint32_t p = pos; p < pos + size; p++) {
		uint32_t sl = p / 8;
		if (is_ptr(&s->spill[sl]))
			return reject(v, pc, BPF_ERR_PTR_LEAK, "partial read of a spilled pointer");
		if (!(s->smask[sl] & (1u << (p % 8))))
			return reject(v, pc, BPF_ERR_UNINIT_STACK, "stack offset %lld",
				      (long long)p - BPF_STACK_SIZE);
	}
	loaded_value(out, size);
	return BPF_OK;
}

/* A load (out != NULL) or store (val: the stored value) of size bytes at
 * base register + off. */
static int mem_access(struct verifier *v, uint32_t pc, struct vstate *s, unsigned basereg,
		      int16_t off, unsigned size, const struct vreg *val, struct vreg *out)
{
	const struct vreg *base = &s->r[basereg];
	bool write = out == NULL;
	int r;
	if ((r = read_reg(v, pc, s, basereg)))
		return r;
	if (!is_ptr(base))
		return reject(v, pc, BPF_ERR_NOT_POINTER, "r%u", basereg);
	if (write && is_ptr(val) && base->type != T_STACK)
		return reject(v, pc, BPF_ERR_PTR_LEAK, NULL);

	if (base->type == T_CTX || base->type == T_STACK) {
		if (base->unb || base->omin != base->omax)
			return reject(v, pc, BPF_ERR_VAR_OFFSET, "r%u", basereg);
		if ((r = note_access(v, pc, base, false)))
			return r;
		int64_t o = base->omin + off;
		if (base->type == T_STACK)
			return stack_access(v, pc, s, o, size, write, val, out);
		const struct bpf_ctx_field *f = NULL;
		for (uint32_t k = 0; k < v->kind->k_nfields; k++) {
			const struct bpf_ctx_field *g = &v->kind->k_fields[k];
			if (o >= g->f_off && o + size <= (int64_t)g->f_off + g->f_len)
				f = g;
		}
		if (!f || (!write && !(f->f_flags & BPF_REGION_READ)))
			return reject(v, pc, BPF_ERR_OOB, "context offset %lld size %u",
				      (long long)o, size);
		if (write && !(f->f_flags & BPF_REGION_WRITE))
			return reject(v, pc, BPF_ERR_READ_ONLY, "context offset %lld",
				      (long long)o);
		if (!write)
			loaded_value(out, size);
		return BPF_OK;
	}

	const struct bpf_region *reg = &v->prog->p_regions[base->region];
	if (write && !(reg->r_flags & BPF_REGION_WRITE))
		return reject(v, pc, BPF_ERR_READ_ONLY, "region %u", base->region);
	if (!write && !(reg->r_flags & BPF_REGION_READ))
		return reject(v, pc, BPF_ERR_OOB, "region %u is not readable", base->region);
	if (reg->r_len < size)
		return reject(v, pc, BPF_ERR_OOB, "region %u is %llu bytes", base->region,
			      (unsigned long long)reg->r_len);
	bool proven = !base->unb && base->omin + off >= 0 &&
		      base->omax + off + (int64_t)size <= (int64_t)reg->r_len;
	if (!proven && !base->unb && base->omin == base->omax)
		return reject(v, pc, BPF_ERR_OOB, "region %u offset %lld size %u", base->region,
			      (long long)(base->omin + off), size);
	if ((r = note_access(v, pc, base, !proven)))
		return r;
	if (!write)
		loaded_value(out, size);
	return BPF_OK;
}

static int do_call(struct verifier *v, uint32_t pc, struct vstate *s)
{
	const struct bpf_helper_desc *h = &bpf_helpers[v->insn[pc].imm];
	int r;
	for (unsigned a = 0; a < 5; a++) {
		const struct vreg *arg = &s->r[1 + a];
		switch (h->h_args[a]) {
		case BPF_ARG_SCALAR:
			if ((r = read_reg(v, pc, s, 1 + a)))
				return r;
			if (arg->type != T_SCALAR)
				return reject(v, pc, BPF_ERR_HELPER_ARG,
					      "%s: r%u must be a number", h->h_name, 1 + a);
			break;
		case BPF_ARG_STACK_MEM: {
			const struct vreg *len = &s->r[2 + a];
			if ((r = read_reg(v, pc, s, 1 + a)) || (r = read_reg(v, pc, s, 2 + a)))
				return r;
			if (arg->type != T_STACK || arg->unb || arg->omin != arg->omax)
				return reject(v, pc, BPF_ERR_HELPER_ARG,
					      "%s: r%u must point into the stack", h->h_name,
					      1 + a);
			if (!is_const(len) || len->umin == 0 || len->umin > BPF_STACK_SIZE)
				return reject(v, pc, BPF_ERR_HELPER_ARG,
					      "%s: r%u must be a constant 1..%u", h->h_name,
					      2 + a, BPF_STACK_SIZE);
			int64_t o = arg->omin;
			if (o < -BPF_STACK_SIZE || o + (int64_t)len->umin > 0)
				return reject(v, pc, BPF_ERR_OOB, "stack offset %lld size %llu",
					      (long long)o, (unsigned long long)len->umin);
			struct vreg tmp;
			for (int64_t p = o; p < o + (int64_t)len->umin; p++)
				if ((r = stack_access(v, pc, s, p, 1, false, NULL, &tmp)))
					return r;
			a++; /* the size argument is checked */
			break;
		}
		default:
			break;
		}
	}
	set_unknown(&s->r[0]);
	for (unsigned a = 1; a <= 5; a++)
		set_none(&s->r[a]);
	return BPF_OK;
}

static bool is_signed_op(uint8_t op)
{
	return op == BPF_JSGT || op == BPF_JSGE || op == BPF_JSLT || op == BPF_JSLE;
}

static uint8_t unsigned_op(uint8_t op)
{
	switch (op) {
	case BPF_JSGT: return BPF_JGT;
	case BPF_JSGE: return BPF_JGE;
	case BPF_JSLT: return BPF_JLT;
	case BPF_JSLE: return BPF_JLE;
	default: return op;
	}
}

/* Outcome of a conditional jump on abstract values: 1 taken, 0 not, -1 either. */
static int cond_outcome(uint8_t code, const struct vreg *d, const struct vreg *s)
{
	uint64_t a = d->umin, b = d->umax, c = s->umin, e = s->umax;
	bool is32 = BPF_CLASS(code) == BPF_JMP32;
	uint8_t op = BPF_OP(code);
	if (a == b && c == e)
		return bpf_jmp_eval(code, a, c);
	if (is32 && (b > UINT32_MAX || e > UINT32_MAX))
		return -1;
	uint64_t signlim = is32 ? INT32_MAX : INT64_MAX;
	if (is_signed_op(op)) {
		/* Both sides non-negative: signed and unsigned order agree. */
		if (b > signlim || e > signlim)
			return -1;
		op = unsigned_op(op);
	}
	switch (op) {
	case BPF_JEQ: return (b < c || e < a) ? 0 : -1;
	case BPF_JNE: return (b < c || e < a) ? 1 : -1;
	case BPF_JGT: return a > e ? 1 : b <= c ? 0 : -1;
	case BPF_JGE: return a >= e ? 1 : b < c ? 0 : -1;
	case BPF_JLT: return b < c ? 1 : a >= e ? 0 : -1;
	case BPF_JLE: return b <= c ? 1 : a > e ? 0 : -1;
	case BPF_JSET: return b == 0 || e == 0 ? 0 : -1;
	}
	return -1;
}

/* Narrows scalar x after "x op k" came out as taken (or not). */
static void refine(struct vreg *x, uint8_t op, uint64_t k, bool taken)
{
	if (!taken) {
		switch (op) {
		case BPF_JEQ: op = BPF_JNE; break;
		case BPF_JNE: op = BPF_JEQ; break;
		case BPF_JGT: op = BPF_JLE; break;
		case BPF_JGE: op = BPF_JLT; break;
		case BPF_JLT: op = BPF_JGE; break;
		case BPF_JLE: op = BPF_JGT; break;
		default: return;
		}
	}
	uint64_t lo = x->umin, hi = x->umax;
	switch (op) {
	case BPF_JEQ: lo = hi = k; break;
	case BPF_JNE:
		if (lo == k && lo < hi)
			lo++;
		else if (hi == k && lo < hi)
			hi--;
		break;
	case BPF_JGT: lo = MAX(lo, k + 1); break;
	case BPF_JGE: lo = MAX(lo, k); break;
	case BPF_JLT: hi = MIN(hi, k - 1); break;
	case BPF_JLE: hi = MIN(hi, k); break;
	}
	if (lo <= hi) {
		x->umin = lo;
		x->umax = hi;
	}
}

static uint8_t swap_op(uint8_t op)
{
	switch (op) {
	case BPF_JGT: return BPF_JLT;
	case BPF_JGE: return BPF_JLE;
	case BPF_JLT: return BPF_JGT;
	case BPF_JLE: return BPF_JGE;
	default: return op;
	}
}

/* Applies what a scalar comparison with a constant proves to the registers
 * of state st. */
static void refine_branch(const struct bpf_insn *i, struct vstate *st, bool taken)
{
	bool is32 = BPF_CLASS(i->code) == BPF_JMP32;
	bool x = BPF_SRC(i->code) == BPF_X;
	struct vreg *d = &st->r[i->dst], *s = x ? &st->r[i->src] : NULL, kreg;
	uint8_t op = BPF_OP(i->code);
	if (!s) {
		set_const(&kreg, is32 ? (uint32_t)i->imm : bpf_imm64(i->imm));
		s = &kreg;
	}
	if (d->type != T_SCALAR || s->type != T_SCALAR)
		return;
	uint64_t lim = is32 ? UINT32_MAX : UINT64_MAX;
	if (is_signed_op(op)) {
		uint64_t slim = is32 ? INT32_MAX : INT64_MAX;
		if (d->umax > slim || s->umax > slim)
			return;
		op = unsigned_op(op);
	}
	if (op == BPF_JSET)
		return;
	/* A 32-bit compare says something about the register only when both
	 * sides fit in 32 bits. */
	if (is_const(s) && d->umax <= lim && s->umin <= lim)
		refine(d, op, s->umin, taken);
	else if (is_const(d) && s != &kreg && s->umax <= lim && d->umin <= lim)
		refine(s, swap_op(op), d->umin, taken);
}

/* Whether pointer p's offset is known to lie within its object (one past
 * the end included). */
static bool in_object(const struct verifier *v, const struct vreg *p)
{
	int64_t lo, hi;
	if (p->unb)
		return false;
	switch (p->type) {
	case T_CTX: lo = 0, hi = v->kind->k_ctx_size; break;
	case T_STACK: lo = -BPF_STACK_SIZE, hi = 0; break;
	default: lo = 0, hi = (int64_t)v->prog->p_regions[p->region].r_len; break;
	}
	return p->omin >= lo && p->omax <= hi;
}

static int do_cond_jump(struct verifier *v, uint32_t pc, struct vstate *s)
{
	const struct bpf_insn *i = &v->insn[pc];
	bool x = BPF_SRC(i->code) == BPF_X;
	bool is32 = BPF_CLASS(i->code) == BPF_JMP32;
	uint32_t target = (uint32_t)((int64_t)pc + 1 + i->off);
	int r;
	if ((r = read_reg(v, pc, s, i->dst)) || (x && (r = read_reg(v, pc, s, i->src))))
		return r;
	const struct vreg *d = &s->r[i->dst];
	struct vreg kreg;
	if (x) {
		kreg = s->r[i->src];
	} else {
		set_const(&kreg, is32 ? (uint32_t)i->imm : bpf_imm64(i->imm));
	}
	int outcome = -1;
	if (is_ptr(d) || is_ptr(&kreg)) {
		/* The outcome must depend on offsets only, never on the address:
		 * both pointers inside one object (no wrap-around), or one
		 * pointer inside its object tested for equality with 0. */
		uint8_t op = BPF_OP(i->code);
		bool same = is_ptr(d) && is_ptr(&kreg) && d->type == kreg.type &&
			    d->region == kreg.region && in_object(v, d) && in_object(v, &kreg);
		bool vs_null = (op == BPF_JEQ || op == BPF_JNE) &&
			       (is_ptr(d) ? in_object(v, d) && is_const(&kreg) && kreg.umin == 0
					  : in_object(v, &kreg) && is_const(d) && d->umin == 0);
		if (is32 || op == BPF_JSET || !(same || vs_null))
			return reject(v, pc, BPF_ERR_PTR_CMP, NULL);
	} else {
		outcome = cond_outcome(i->code, d, &kreg);
	}
	if (outcome != 0) {
		*v->branch = *s;
		refine_branch(i, v->branch, true);
		propagate(v, target, v->branch);
	}
	if (outcome != 1) {
		refine_branch(i, s, false);
		propagate(v, pc + 1, s);
	}
	return BPF_OK;
}

/* Interprets the basic block starting at leader l. */
static int run_block(struct verifier *v, uint32_t l)
{
	struct vstate *s = v->cur;
	*s = v->states[l];
	uint32_t pc = v->leader_pc[l];
	int r;
	for (;;) {
		if (++v->work > v->max_work)
			return reject(v, pc, BPF_ERR_TOO_COMPLEX, "more than %u instruction visits",
				      v->max_work);
		const struct bpf_insn *i = &v->insn[pc];
		uint8_t cls = BPF_CLASS(i->code), op = BPF_OP(i->code);
		v->aux[pc].a_flags |= BPF_AUX_SEEN;
		switch (cls) {
		case BPF_LD: {
			struct vreg *d = &s->r[i->dst];
			if (i->src == BPF_PSEUDO_REGION) {
				uint32_t k = (uint32_t)i->imm;
				int64_t off = v->insn[pc + 1].imm;
				if (k >= v->prog->p_nregions)
					return reject(v, pc, BPF_ERR_BAD_REGION, "region %u", k);
				if (off < 0 || (uint64_t)off > v->prog->p_regions[k].r_len)
					return reject(v, pc, BPF_ERR_BAD_REGION,
						      "offset %lld in region %u", (long long)off, k);
				set_ptr(d, T_REGION, (uint8_t)k, off);
			} else {
				set_const(d, (uint32_t)i->imm |
						     (uint64_t)(uint32_t)v->insn[pc + 1].imm << 32);
			}
			v->aux[pc + 1].a_flags |= BPF_AUX_SEEN;
			pc++;
			break;
		}
		case BPF_LDX: {
			struct vreg out;
			if ((r = mem_access(v, pc, s, i->src, i->off, bpf_size_bytes(i->code), NULL,
					    &out)))
				return r;
			s->r[i->dst] = out;
			break;
		}
		case BPF_ST:
		case BPF_STX: {
			struct vreg val;
			unsigned size = bpf_size_bytes(i->code);
			if (cls == BPF_STX) {
				if ((r = read_reg(v, pc, s, i->src)))
					return r;
				val = s->r[i->src];
				if (!is_ptr(&val) && size < 8 && is_const(&val))
					set_const(&val, val.umin & ((1ull << (8 * size)) - 1));
				else if (!is_ptr(&val) && size < 8)
					loaded_value(&val, size);
			} else {
				uint64_t k = bpf_imm64(i->imm);
				set_const(&val, size < 8 ? k & ((1ull << (8 * size)) - 1) : k);
			}
			if ((r = mem_access(v, pc, s, i->dst, i->off, size, &val, NULL)))
				return r;
			break;
		}
		case BPF_ALU:
		case BPF_ALU64:
			if ((r = do_alu(v, pc, s)))
				return r;
			break;
		case BPF_JMP:
		case BPF_JMP32:
			if (op == BPF_CALL) {
				if ((r = do_call(v, pc, s)))
					return r;
				break;
			}
			if (op == BPF_EXIT) {
				if ((r = read_reg(v, pc, s, 0)))
					return r;
				if (is_ptr(&s->r[0]))
					return reject(v, pc, BPF_ERR_PTR_RETURN, NULL);
				return BPF_OK;
			}
			if (op == BPF_JA && cls == BPF_JMP) {
				propagate(v, (uint32_t)((int64_t)pc + 1 + i->off), s);
				return BPF_OK;
			}
			return do_cond_jump(v, pc, s);
		}
		pc++;
		if (v->leader_of[pc] != NO_LEADER) {
			propagate(v, pc, s);
			return BPF_OK;
		}
	}
}

static int check_regions(struct verifier *v)
{
	const struct bpf_prog *p = v->prog;
	if (p->p_nregions > BPF_MAX_REGIONS)
		return reject(v, 0, BPF_ERR_BAD_REGION, "%u regions", p->p_nregions);
	for (uint32_t k = 0; k < p->p_nregions; k++) {
		const struct bpf_region *r = &p->p_regions[k];
		if (r->r_len == 0 || r->r_len > BPF_REGION_MAX_LEN ||
		    (r->r_flags & ~(uint32_t)(BPF_REGION_READ | BPF_REGION_WRITE)))
			return reject(v, 0, BPF_ERR_BAD_REGION, "region %u", k);
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
		return reject(&v, 0, BPF_ERR_BAD_KIND, "%u", prog->p_kind);
	if (v.n == 0 || v.n > BPF_MAX_INSNS)
		return reject(&v, 0, BPF_ERR_TOO_LONG, "%u slots", v.n);
	if ((r = check_regions(&v)))
		return r;

	/* Scratch: per-slot arrays, then per-leader ones. */
	uint8_t *mem = scratch;
	size_t slot_bytes = ROUNDUP(v.n * (2 + 1 + 2), 16);
	size_t align = (uintptr_t)mem % 16 ? 16 - (uintptr_t)mem % 16 : 0;
	if (!scratch || scratch_size < align + slot_bytes)
		return reject(&v, 0, BPF_ERR_NO_MEM, NULL);
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

	/* Entry state: r1 = context, r10 = frame pointer, the rest uninitialised. */
	struct vstate *s = v.cur;
	memset(s, 0, sizeof(*s));
	set_ptr(&s->r[1], T_CTX, 0, 0);
	set_ptr(&s->r[10], T_STACK, 0, 0);
	v.cursor = v.nleaders;
	propagate(&v, 0, s);

	while (v.cursor < v.nleaders) {
		uint32_t l = v.cursor;
		if (!(v.lflags[l] & LF_PENDING)) {
			v.cursor++;
			continue;
		}
		v.lflags[l] &= (uint8_t)~LF_PENDING;
		r = run_block(&v, l);
		prog->p_work = v.work;
		if (r)
			return r;
	}
	prog->p_budget = prog->p_loops ? v.kind->k_budget : 0;
	prog->p_verified = true;
	return BPF_OK;
}
