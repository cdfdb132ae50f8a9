/*
 * The verifier's abstract values (struct vreg) and states (struct vstate),
 * the domain absint.c interprets programs on. A value is uninitialised; a
 * scalar with unsigned bounds [umin, umax]; or a pointer to the context, the
 * stack or a region with a signed offset range (or "unbounded"). A state is
 * the eleven registers and the stack, tracked per byte (initialised or not)
 * and per aligned 8-byte slot (a spilled register keeps its abstract value).
 *
 * Interface (kern/bpf/verify.h, which also holds the small set_* and is_*
 * helpers and the structs): vs_join_state, the join (with widening) where
 * paths meet; vs_scalar_op, vs_truncate32, vs_ptr_add and vs_loaded_value, the
 * arithmetic; vs_cond_outcome and vs_refine_branch, what a conditional jump
 * decides and proves. They change only the values they are given: no
 * rejections, no memory of their own.
 */
#include <kern/bpf/bpf.h>
#include <kern/bpf/verify.h>

/* --- pointer offsets ----------------------------------------------------------------- */

/* Pointer offsets beyond this many bytes are "unbounded": keeps the sums
 * below from overflowing. */
#define OFF_LIMIT ((int64_t)1 << 40)

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

bool vs_join_state(struct vstate *a, const struct vstate *b, bool widen)
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
void vs_scalar_op(uint8_t code, struct vreg *d, const struct vreg *s)
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
	case BPF_MOD: hi = c ? MIN(b, e - 1) : b; break;
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

void vs_truncate32(struct vreg *r)
{
	if (r->umax > UINT32_MAX)
		set_scalar(r, 0, UINT32_MAX);
}

/* Adds (sub = false) or subtracts a scalar to a pointer. */
void vs_ptr_add(struct vreg *p, const struct vreg *s, bool sub)
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

void vs_loaded_value(struct vreg *out, unsigned size)
{
	if (size == 8)
		set_unknown(out);
	else
		set_scalar(out, 0, (1ull << (8 * size)) - 1);
}

/* --- conditional jumps --------------------------------------------------------------- */

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
int vs_cond_outcome(uint8_t code, const struct vreg *d, const struct vreg *s)
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
void vs_refine_branch(const struct bpf_insn *i, struct vstate *st, bool taken)
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
