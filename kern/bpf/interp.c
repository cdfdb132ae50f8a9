/*
 * The interpreter, the helpers and the per-run state: the reference semantics
 * of downloaded code. The JIT (jit.c) must behave exactly like bpf_interp on
 * every verified program; test/test_bpf_diff.c checks that it does.
 *
 * bpf_interp trusts the verifier: it only checks what the verifier left to run
 * time, in the same places as the JIT:
 *   - the budget: at the start of each basic block of a program with loops,
 *     the block's cost (aux a_cost) is taken from rt_budget; if less is left,
 *     the run stops with BPF_RUN_BUDGET before the block runs;
 *   - guards: a region access marked BPF_AUX_GUARD whose address is not inside
 *     the region stops the run with BPF_RUN_FAULT before it touches memory.
 * A stopped run returns 0. Division by zero gives 0, modulo by zero leaves
 * the dividend (bpf_alu_eval).
 */
#include <kern/bpf/bpf.h>
#include <inc/error.h>
#include <common/string.h>

/* --- helpers -------------------------------------------------------------- */

/* Helpers take five arguments whether they use them or not. */
#define UNUSED __attribute__((unused))

static uint64_t helper_tsc(UNUSED uint64_t a1, UNUSED uint64_t a2, UNUSED uint64_t a3,
			   UNUSED uint64_t a4, UNUSED uint64_t a5, struct bpf_runtime *rt)
{
	return rt->rt_clock ? rt->rt_clock() : 0;
}

static uint64_t helper_region_read_u64(uint64_t region, uint64_t off, UNUSED uint64_t a3,
				       UNUSED uint64_t a4, UNUSED uint64_t a5,
				       struct bpf_runtime *rt)
{
	if (region >= rt->rt_nregions || !(rt->rt_region_flags[region] & BPF_REGION_READ) ||
	    rt->rt_region_len[region] < 8 || off > rt->rt_region_len[region] - 8)
		return 0;
	uint64_t v;
	__builtin_memcpy(&v, (const void *)(uintptr_t)(rt->rt_region_base[region] + off), 8);
	return v;
}

static uint64_t helper_region_write(uint64_t region, uint64_t off, uint64_t src, uint64_t len,
				    UNUSED uint64_t a5, struct bpf_runtime *rt)
{
	if (region >= rt->rt_nregions || len > rt->rt_region_len[region] ||
	    off > rt->rt_region_len[region] - len)
		return (uint64_t)-E_RANGE;
	if (!(rt->rt_region_flags[region] & BPF_REGION_WRITE))
		return (uint64_t)-E_PERM;
	memcpy((void *)(uintptr_t)(rt->rt_region_base[region] + off), (const void *)(uintptr_t)src,
	       len);
	return 0;
}

/* Is [off, off + len) inside region r, with flag? 0, -E_RANGE or -E_PERM. */
static long region_span(const struct bpf_runtime *rt, uint64_t r, uint64_t off, uint64_t len,
			uint32_t flag)
{
	if (r >= rt->rt_nregions || len > rt->rt_region_len[r] || off > rt->rt_region_len[r] - len)
		return -E_RANGE;
	return (rt->rt_region_flags[r] & flag) ? 0 : -E_PERM;
}

static uint64_t helper_copy_csum(uint64_t dr, uint64_t doff, uint64_t sr, uint64_t soff,
				 uint64_t len, struct bpf_runtime *rt)
{
	long e = region_span(rt, dr, doff, len, BPF_REGION_WRITE);
	if (!e)
		e = region_span(rt, sr, soff, len, BPF_REGION_READ);
	if (e)
		return (uint64_t)e;
	const uint8_t *src = (const uint8_t *)(uintptr_t)(rt->rt_region_base[sr] + soff);
	uint8_t *dst = (uint8_t *)(uintptr_t)(rt->rt_region_base[dr] + doff);
	memmove(dst, src, len);
	uint64_t sum = 0;
	for (uint64_t i = 0; i + 1 < len; i += 2)
		sum += (uint64_t)dst[i] << 8 | dst[i + 1];
	if (len & 1)
		sum += (uint64_t)dst[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static uint64_t helper_tx(uint64_t r, uint64_t off, uint64_t len, UNUSED uint64_t a4,
			  UNUSED uint64_t a5, struct bpf_runtime *rt)
{
	long e = region_span(rt, r, off, len, BPF_REGION_READ);
	if (e)
		return (uint64_t)e;
	if (!rt->rt_tx)
		return (uint64_t)-E_PERM;
	return (uint64_t)(int64_t)rt->rt_tx((const void *)(uintptr_t)(rt->rt_region_base[r] + off),
					    len);
}

static uint64_t helper_notify(uint64_t a0, uint64_t a1, uint64_t a2, UNUSED uint64_t a4,
			      UNUSED uint64_t a5, struct bpf_runtime *rt)
{
	if (!rt->rt_notify)
		return (uint64_t)-E_PERM;
	return (uint64_t)rt->rt_notify(rt->rt_owner, a0, a1, a2);
}

const struct bpf_helper_desc bpf_helpers[BPF_HELPER_COUNT_PLUS_ONE] = {
	[BPF_HELPER_TSC] = { "tsc", helper_tsc, { 0 } },
	[BPF_HELPER_REGION_READ_U64] = { "region_read_u64",
					 helper_region_read_u64,
					 { BPF_ARG_SCALAR, BPF_ARG_SCALAR } },
	[BPF_HELPER_REGION_WRITE] = { "region_write",
				      helper_region_write,
				      { BPF_ARG_SCALAR, BPF_ARG_SCALAR, BPF_ARG_STACK_MEM,
					BPF_ARG_CONST_SIZE } },
	[BPF_HELPER_COPY_CSUM] = { "copy_csum",
				   helper_copy_csum,
				   { BPF_ARG_SCALAR, BPF_ARG_SCALAR, BPF_ARG_SCALAR, BPF_ARG_SCALAR,
				     BPF_ARG_SCALAR } },
	[BPF_HELPER_TX] = { "tx", helper_tx, { BPF_ARG_SCALAR, BPF_ARG_SCALAR, BPF_ARG_SCALAR } },
	[BPF_HELPER_NOTIFY] = { "notify",
				helper_notify,
				{ BPF_ARG_SCALAR, BPF_ARG_SCALAR, BPF_ARG_SCALAR } },
};

/* --- running ---------------------------------------------------------------- */

void bpf_runtime_init(struct bpf_runtime *rt, const struct bpf_prog *prog)
{
	memset(rt, 0, sizeof(*rt));
	rt->rt_budget = prog->p_budget;
	rt->rt_status = BPF_RUN_OK;
	rt->rt_nregions = prog->p_nregions;
	for (uint32_t k = 0; k < prog->p_nregions && k < BPF_MAX_REGIONS; k++) {
		rt->rt_region_base[k] = (uint64_t)(uintptr_t)prog->p_regions[k].r_kptr;
		rt->rt_region_len[k] = prog->p_regions[k].r_len;
		rt->rt_region_flags[k] = prog->p_regions[k].r_flags;
	}
}

static uint64_t load(uint64_t addr, unsigned size)
{
	const void *p = (const void *)(uintptr_t)addr;
	switch (size) {
	case 1: return *(const uint8_t *)p;
	case 2: {
		uint16_t v;
		__builtin_memcpy(&v, p, 2);
		return v;
	}
	case 4: {
		uint32_t v;
		__builtin_memcpy(&v, p, 4);
		return v;
	}
	default: {
		uint64_t v;
		__builtin_memcpy(&v, p, 8);
		return v;
	}
	}
}

static void store(uint64_t addr, unsigned size, uint64_t v)
{
	void *p = (void *)(uintptr_t)addr;
	switch (size) {
	case 1: *(uint8_t *)p = (uint8_t)v; break;
	case 2: {
		uint16_t x = (uint16_t)v;
		__builtin_memcpy(p, &x, 2);
		break;
	}
	case 4: {
		uint32_t x = (uint32_t)v;
		__builtin_memcpy(p, &x, 4);
		break;
	}
	default: __builtin_memcpy(p, &v, 8); break;
	}
}

/* Whether a guarded access of size bytes at addr stays inside its region;
 * the bound is the verified length, as in the JIT. */
static bool guard_ok(const struct bpf_prog *prog, const struct bpf_runtime *rt,
		     const struct bpf_aux *a, uint64_t addr, unsigned size)
{
	if (!(a->a_flags & BPF_AUX_GUARD))
		return true;
	uint64_t rel = addr - rt->rt_region_base[a->a_region];
	return rel <= prog->p_regions[a->a_region].r_len - size;
}

uint64_t bpf_interp(const struct bpf_prog *prog, void *ctx, struct bpf_runtime *rt)
{
	uint64_t reg[BPF_NREGS] = { 0 };
	uint64_t stack[BPF_STACK_SIZE / 8];
	uint32_t pc = 0;

	reg[1] = (uint64_t)(uintptr_t)ctx;
	reg[10] = (uint64_t)(uintptr_t)stack + BPF_STACK_SIZE;
	for (;;) {
		const struct bpf_insn *i = &prog->p_insns[pc];
		const struct bpf_aux *a = &prog->p_aux[pc];
		if (a->a_cost) {
			if (rt->rt_budget < a->a_cost) {
				rt->rt_status = BPF_RUN_BUDGET;
				return 0;
			}
			rt->rt_budget -= a->a_cost;
		}
		uint64_t *dst = &reg[i->dst];
		uint8_t cls = BPF_CLASS(i->code);
		uint64_t src;
		pc++;
		switch (cls) {
		case BPF_ALU:
		case BPF_ALU64:
			if (BPF_OP(i->code) == BPF_END) {
				*dst = bpf_end_eval(i->code, i->imm, *dst);
				break;
			}
			src = BPF_SRC(i->code) == BPF_X ? reg[i->src] : bpf_imm64(i->imm);
			*dst = bpf_alu_eval(i->code, *dst, src);
			break;
		case BPF_LD:
			if (i->src == BPF_PSEUDO_REGION)
				*dst = rt->rt_region_base[i->imm] + (uint32_t)i[1].imm;
			else
				*dst = (uint32_t)i->imm | (uint64_t)(uint32_t)i[1].imm << 32;
			pc++;
			break;
		case BPF_LDX: {
			unsigned size = bpf_size_bytes(i->code);
			uint64_t addr = reg[i->src] + (int64_t)i->off;
			if (!guard_ok(prog, rt, a, addr, size)) {
				rt->rt_status = BPF_RUN_FAULT;
				return 0;
			}
			*dst = load(addr, size);
			break;
		}
		case BPF_ST:
		case BPF_STX: {
			unsigned size = bpf_size_bytes(i->code);
			uint64_t addr = *dst + (int64_t)i->off;
			if (!guard_ok(prog, rt, a, addr, size)) {
				rt->rt_status = BPF_RUN_FAULT;
				return 0;
			}
			store(addr, size, cls == BPF_STX ? reg[i->src] : bpf_imm64(i->imm));
			break;
		}
		case BPF_JMP:
		case BPF_JMP32:
			switch (BPF_OP(i->code)) {
			case BPF_JA: pc += (uint32_t)(int32_t)i->off; break;
			case BPF_CALL:
				reg[0] = bpf_helpers[i->imm].h_fn(reg[1], reg[2], reg[3], reg[4],
								  reg[5], rt);
				break;
			case BPF_EXIT: return reg[0];
			default:
				src = BPF_SRC(i->code) == BPF_X ? reg[i->src] : bpf_imm64(i->imm);
				if (bpf_jmp_eval(i->code, *dst, src))
					pc += (uint32_t)(int32_t)i->off;
				break;
			}
			break;
		}
	}
}
