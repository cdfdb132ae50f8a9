/*
 * The verifier's second pass: abstract interpretation, classic data flow. One
 * abstract state (vstate.c) per basic-block leader, joined when several paths
 * meet, a worklist that always takes the lowest pending leader (so a
 * loop-free program is walked once, in order), and widening at loop headers
 * so loops reach a fixed point. Total instruction visits are bounded
 * (BPF_VERIFY_MAX_WORK).
 *
 * Each instruction is checked as it is interpreted: registers read before
 * they are written, pointer arithmetic and comparisons, helper arguments, and
 * memory accesses. Context and stack accesses need an exact offset; a region
 * access not proven in bounds gets a run-time guard (BPF_AUX_GUARD) that both
 * engines check.
 *
 * Interface (kern/bpf/verify.h): absint_run, called by bpf_verify once the
 * structural pass (verify.c) has laid out the leaders. It writes only the
 * verifier's states, the program's aux array and p_work; it rejects through
 * verify_reject.
 */
#include <kern/bpf/bpf.h>
#include <kern/bpf/verify.h>
#include <common/string.h>

#define WIDEN_AFTER 3 /* joins that change a loop header before it widens */

/* --- worklist ------------------------------------------------------------------------ */

/* Hands state s to the leader at slot pc, joined with the state it has, and
 * makes that leader pending if its state changed. */
static void propagate(struct verifier *v, uint32_t pc, const struct vstate *s)
{
	uint32_t l = v->leader_of[pc];
	if (!(v->lflags[l] & LF_HAVE)) {
		v->states[l] = *s;
		v->lflags[l] |= LF_HAVE | LF_PENDING;
	} else {
		bool widen = (v->lflags[l] & LF_LOOP_HEAD) && v->changes[l] >= WIDEN_AFTER;
		if (!vs_join_state(&v->states[l], s, widen))
			return;
		if (v->changes[l] < 255)
			v->changes[l]++;
		v->lflags[l] |= LF_PENDING;
	}
	if (l < v->cursor)
		v->cursor = l;
}

/* --- instruction semantics ------------------------------------------------------------- */

static int read_reg(struct verifier *v, uint32_t pc, struct vstate *s, unsigned r)
{
	if (s->r[r].type == T_NONE)
		return verify_reject(v, pc, BPF_ERR_UNINIT_REG, "r%u", r);
	return BPF_OK;
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
			return verify_reject(v, pc, BPF_ERR_PTR_ARITH, "r%u is a pointer", i->dst);
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
				return verify_reject(v, pc, BPF_ERR_PTR_ARITH,
						     "32-bit move of a pointer");
			vs_truncate32(&src);
		}
		*d = src;
		return BPF_OK;
	}
	if (is_ptr(d) || is_ptr(&src)) {
		if (!is64)
			return verify_reject(v, pc, BPF_ERR_PTR_ARITH,
					     "32-bit operation on a pointer");
		if (op == BPF_ADD && is_ptr(d) && !is_ptr(&src)) {
			vs_ptr_add(d, &src, false);
		} else if (op == BPF_ADD && !is_ptr(d) && is_ptr(&src)) {
			struct vreg sc = *d;
			*d = src;
			vs_ptr_add(d, &sc, false);
		} else if (op == BPF_SUB && is_ptr(d) && !is_ptr(&src)) {
			vs_ptr_add(d, &src, true);
		} else {
			return verify_reject(v, pc, BPF_ERR_PTR_ARITH, NULL);
		}
		return BPF_OK;
	}
	if (!is64) {
		vs_truncate32(d);
		vs_truncate32(&src);
	}
	vs_scalar_op(i->code, d, &src);
	if (!is64)
		vs_truncate32(d);
	return BPF_OK;
}

/* Records which kind of memory slot pc accesses; one kind per instruction. */
static int note_access(struct verifier *v, uint32_t pc, const struct vreg *base, bool guard)
{
	struct bpf_aux *a = &v->aux[pc];
	uint8_t kind = base->type == T_CTX     ? BPF_AUX_CTX
		       : base->type == T_STACK ? BPF_AUX_STACK
					       : BPF_AUX_REGION;
	uint8_t had = a->a_flags & (BPF_AUX_CTX | BPF_AUX_STACK | BPF_AUX_REGION);
	if ((had && had != kind) || (had == BPF_AUX_REGION && a->a_region != base->region))
		return verify_reject(v, pc, BPF_ERR_PTR_MIX, NULL);
	a->a_flags |= kind | (guard ? BPF_AUX_GUARD : 0);
	a->a_region = kind == BPF_AUX_REGION ? base->region : 0;
	return BPF_OK;
}

static int stack_access(struct verifier *v, uint32_t pc, struct vstate *s, int64_t o, unsigned size,
			bool write, const struct vreg *val, struct vreg *out)
{
	if (o < -BPF_STACK_SIZE || o + size > 0)
		return verify_reject(v, pc, BPF_ERR_OOB, "stack offset %lld size %u", (long long)o,
				     size);
	uint32_t pos = (uint32_t)(o + BPF_STACK_SIZE), slot = pos / 8;
	bool whole = size == 8 && pos % 8 == 0;
	if (write) {
		if (val && is_ptr(val) && !whole)
			return verify_reject(v, pc, BPF_ERR_PTR_LEAK, "partial spill of a pointer");
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
			return verify_reject(v, pc, BPF_ERR_PTR_LEAK,
					     "partial read of a spilled pointer");
		if (!(s->smask[sl] & (1u << (p % 8))))
			return verify_reject(v, pc, BPF_ERR_UNINIT_STACK, "stack offset %lld",
					     (long long)p - BPF_STACK_SIZE);
	}
	vs_loaded_value(out, size);
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
		return verify_reject(v, pc, BPF_ERR_NOT_POINTER, "r%u", basereg);
	if (write && is_ptr(val) && base->type != T_STACK)
		return verify_reject(v, pc, BPF_ERR_PTR_LEAK, NULL);

	if (base->type == T_CTX || base->type == T_STACK) {
		if (base->unb || base->omin != base->omax)
			return verify_reject(v, pc, BPF_ERR_VAR_OFFSET, "r%u", basereg);
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
			return verify_reject(v, pc, BPF_ERR_OOB, "context offset %lld size %u",
					     (long long)o, size);
		if (write && !(f->f_flags & BPF_REGION_WRITE))
			return verify_reject(v, pc, BPF_ERR_READ_ONLY, "context offset %lld",
					     (long long)o);
		if (!write)
			vs_loaded_value(out, size);
		return BPF_OK;
	}

	const struct bpf_region *reg = &v->prog->p_regions[base->region];
	if (write && !(reg->r_flags & BPF_REGION_WRITE))
		return verify_reject(v, pc, BPF_ERR_READ_ONLY, "region %u", base->region);
	if (!write && !(reg->r_flags & BPF_REGION_READ))
		return verify_reject(v, pc, BPF_ERR_OOB, "region %u is not readable", base->region);
	if (reg->r_len < size)
		return verify_reject(v, pc, BPF_ERR_OOB, "region %u is %llu bytes", base->region,
				     (unsigned long long)reg->r_len);
	bool proven = !base->unb && base->omin + off >= 0 &&
		      base->omax + off + (int64_t)size <= (int64_t)reg->r_len;
	if (!proven && !base->unb && base->omin == base->omax)
		return verify_reject(v, pc, BPF_ERR_OOB, "region %u offset %lld size %u",
				     base->region, (long long)(base->omin + off), size);
	if ((r = note_access(v, pc, base, !proven)))
		return r;
	if (!write)
		vs_loaded_value(out, size);
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
				return verify_reject(v, pc, BPF_ERR_HELPER_ARG,
						     "%s: r%u must be a number", h->h_name, 1 + a);
			break;
		case BPF_ARG_STACK_MEM: {
			const struct vreg *len = &s->r[2 + a];
			if ((r = read_reg(v, pc, s, 1 + a)) || (r = read_reg(v, pc, s, 2 + a)))
				return r;
			if (arg->type != T_STACK || arg->unb || arg->omin != arg->omax)
				return verify_reject(v, pc, BPF_ERR_HELPER_ARG,
						     "%s: r%u must point into the stack", h->h_name,
						     1 + a);
			if (!is_const(len) || len->umin == 0 || len->umin > BPF_STACK_SIZE)
				return verify_reject(v, pc, BPF_ERR_HELPER_ARG,
						     "%s: r%u must be a constant 1..%u", h->h_name,
						     2 + a, BPF_STACK_SIZE);
			int64_t o = arg->omin;
			if (o < -BPF_STACK_SIZE || o + (int64_t)len->umin > 0)
				return verify_reject(v, pc, BPF_ERR_OOB,
						     "stack offset %lld size %llu", (long long)o,
						     (unsigned long long)len->umin);
			struct vreg tmp;
			for (int64_t p = o; p < o + (int64_t)len->umin; p++)
				if ((r = stack_access(v, pc, s, p, 1, false, NULL, &tmp)))
					return r;
			a++; /* the size argument is checked */
			break;
		}
		default: break;
		}
	}
	set_unknown(&s->r[0]);
	for (unsigned a = 1; a <= 5; a++)
		set_none(&s->r[a]);
	return BPF_OK;
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
			return verify_reject(v, pc, BPF_ERR_PTR_CMP, NULL);
	} else {
		outcome = vs_cond_outcome(i->code, d, &kreg);
	}
	if (outcome != 0) {
		*v->branch = *s;
		vs_refine_branch(i, v->branch, true);
		propagate(v, target, v->branch);
	}
	if (outcome != 1) {
		vs_refine_branch(i, s, false);
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
			return verify_reject(v, pc, BPF_ERR_TOO_COMPLEX,
					     "more than %u instruction visits", v->max_work);
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
					return verify_reject(v, pc, BPF_ERR_BAD_REGION, "region %u",
							     k);
				if (off < 0 || (uint64_t)off > v->prog->p_regions[k].r_len)
					return verify_reject(v, pc, BPF_ERR_BAD_REGION,
							     "offset %lld in region %u",
							     (long long)off, k);
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
					vs_loaded_value(&val, size);
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
					return verify_reject(v, pc, BPF_ERR_PTR_RETURN, NULL);
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

/* --- pass 2 -------------------------------------------------------------------------- */

int absint_run(struct verifier *v)
{
	/* Entry state: r1 = context, r10 = frame pointer, the rest uninitialised. */
	struct vstate *s = v->cur;
	memset(s, 0, sizeof(*s));
	set_ptr(&s->r[1], T_CTX, 0, 0);
	set_ptr(&s->r[10], T_STACK, 0, 0);
	v->cursor = v->nleaders;
	propagate(v, 0, s);

	while (v->cursor < v->nleaders) {
		uint32_t l = v->cursor;
		if (!(v->lflags[l] & LF_PENDING)) {
			v->cursor++;
			continue;
		}
		v->lflags[l] &= (uint8_t)~LF_PENDING;
		int r = run_block(v, l);
		v->prog->p_work = v->work;
		if (r)
			return r;
	}
	return BPF_OK;
}
