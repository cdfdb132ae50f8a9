/*
 * The downloaded-code engine, kernel side: verifier, interpreter and x86-64 JIT
 * for the bytecode defined in inc/bpf.h (reference: doc/bpf.md).
 *
 * Pure and freestanding: nothing here allocates, locks or knows about envs; the
 * same sources build into the kernel and into host unit tests. The caller owns
 * every buffer:
 *
 *   1. Fill a struct bpf_prog (kind, instructions, an aux array of p_len
 *      entries, the granted regions) and call bpf_verify() with a scratch
 *      buffer of bpf_verify_scratch_size() bytes. On BPF_OK the aux array holds
 *      what the engines need (block costs, guards); the instructions and the
 *      aux array must not change afterwards.
 *   2. Run it: bpf_runtime_init() then bpf_interp(), or bpf_jit() into a
 *      buffer (call it with buf = NULL first to learn the size), map that
 *      buffer read+execute (never writable and executable at once) and call it
 *      as a bpf_jit_fn. The code is position-independent: it may be copied.
 *      Both engines give the same r0, the same rt_status and rt_budget, and the
 *      same writes to granted regions, for every verified program and input.
 */
#ifndef EXO_KERN_BPF_BPF_H
#define EXO_KERN_BPF_BPF_H

#include <inc/bpf.h>

/* A memory region an env grants a program. The kernel checks the env owns it
 * before verification; the verifier only checks lengths and flags. */
struct bpf_region {
	uint64_t r_uaddr; /* where the env sees it (messages only) */
	uint64_t r_len;   /* 1..BPF_REGION_MAX_LEN bytes */
	void *r_kptr;     /* where the kernel reaches it (runtime) */
	uint32_t r_flags; /* BPF_REGION_READ | BPF_REGION_WRITE */
};

/* What the verifier learnt about one instruction slot, for the engines. */
struct bpf_aux {
	uint32_t a_jit_off; /* JIT: offset of this slot's code (scratch for bpf_jit) */
	uint16_t a_cost;    /* != 0: charge this many units of budget before the slot */
	uint8_t a_flags;    /* BPF_AUX_* */
	uint8_t a_region;   /* region of a BPF_AUX_GUARD access */
};
#define BPF_AUX_SEEN 0x01   /* reached by the verifier's abstract interpretation */
#define BPF_AUX_CTX 0x02    /* memory access through a context pointer */
#define BPF_AUX_STACK 0x04  /* ... through a stack pointer */
#define BPF_AUX_REGION 0x08 /* ... through a region pointer */
#define BPF_AUX_GUARD 0x10  /* region access not proven in bounds: checked at run time */

struct bpf_prog {
	/* set by the caller */
	uint32_t p_kind; /* enum bpf_kind */
	uint32_t p_len;  /* slots */
	const struct bpf_insn *p_insns;
	struct bpf_aux *p_aux; /* p_len entries */
	uint32_t p_nregions;
	struct bpf_region p_regions[BPF_MAX_REGIONS];
	uint32_t p_max_work; /* instruction visits allowed; 0: BPF_VERIFY_MAX_WORK */
	/* set by bpf_verify */
	bool p_verified;
	bool p_loops;      /* has backward jumps: runs are charged against a budget */
	uint64_t p_budget; /* the kind's budget, copied by bpf_runtime_init */
	uint32_t p_work;   /* instruction visits verification took */
};

#define BPF_VERIFY_NO_LOOPS 0x1 /* reject backward jumps even if the kind has a budget */
/* Instruction visits the verifier may make before it gives up (BPF_ERR_TOO_COMPLEX). */
#define BPF_VERIFY_MAX_WORK 1000000

struct bpf_verify_error {
	uint32_t e_insn;   /* the slot the rejection is about */
	uint32_t e_reason; /* enum bpf_error */
	char e_msg[160];   /* "insn 12: memory access out of bounds: stack offset -520 size 8" */
};

/* Scratch bytes bpf_verify needs for these instructions (an upper bound). */
size_t bpf_verify_scratch_size(const struct bpf_insn *insns, uint32_t len);
/* Checks prog and fills prog->p_aux. Returns BPF_OK or an enum bpf_error, with
 * *err filled in either way (err may be NULL). Never recurses; bounded work. */
int bpf_verify(struct bpf_prog *prog, uint32_t flags, void *scratch, size_t scratch_size,
	       struct bpf_verify_error *err);
/* The message of an enum bpf_error ("unknown error" for others). */
const char *bpf_error_message(int reason);

/* --- running --------------------------------------------------------------- */
/* Per-run state, read and written by both engines and the helpers. The JIT
 * reads fields at their offsetof(); nothing else depends on the layout. */
struct bpf_runtime {
	uint64_t rt_budget; /* units left; only programs with loops spend it */
	uint32_t rt_status; /* enum bpf_run_status */
	uint32_t rt_nregions;
	uint64_t rt_region_base[BPF_MAX_REGIONS]; /* kernel addresses */
	uint64_t rt_region_len[BPF_MAX_REGIONS];
	uint32_t rt_region_flags[BPF_MAX_REGIONS];
	uint64_t (*rt_clock)(void); /* BPF_HELPER_TSC; NULL reads as 0 */
	int (*rt_tx)(const void *frame, uint64_t len); /* BPF_HELPER_TX; NULL: -E_PERM */
	/* BPF_HELPER_NOTIFY, called with rt_owner; NULL: -E_PERM */
	long (*rt_notify)(void *owner, uint64_t a0, uint64_t a1, uint64_t a2);
	void *rt_owner;
};

/* Status OK, the program's budget and its regions' addresses. */
void bpf_runtime_init(struct bpf_runtime *rt, const struct bpf_prog *prog);
/* Runs a verified program; returns r0 (0 if rt->rt_status ends != BPF_RUN_OK). */
uint64_t bpf_interp(const struct bpf_prog *prog, void *ctx, struct bpf_runtime *rt);

typedef uint64_t bpf_jit_fn(void *ctx, struct bpf_runtime *rt);
/* Compiles a verified program into buf[size] (System V ABI, bpf_jit_fn).
 * *code_size gets the size the code needs. Returns 0, -E_TOO_BIG if size is
 * too small (buf may be NULL to ask), -E_INVAL if prog is not verified. Uses
 * prog->p_aux[].a_jit_off as scratch. */
int bpf_jit(struct bpf_prog *prog, void *buf, size_t size, size_t *code_size);

/* --- tables ------------------------------------------------------------------ */
/* A byte range of a kind's context with its access rights. */
struct bpf_ctx_field {
	uint16_t f_off, f_len;
	uint8_t f_flags; /* BPF_REGION_READ | BPF_REGION_WRITE */
};

struct bpf_kind_desc {
	const char *k_name;
	uint32_t k_ctx_size;
	const struct bpf_ctx_field *k_fields;
	uint32_t k_nfields;
	uint64_t k_budget;  /* 0: loops forbidden */
	uint32_t k_helpers; /* bit i: helper i may be called */
};
/* NULL for an unknown kind. */
const struct bpf_kind_desc *bpf_kind_desc(uint32_t kind);

/* Helper argument types, checked by the verifier. */
enum bpf_arg {
	BPF_ARG_NONE = 0,
	BPF_ARG_SCALAR,     /* any initialised number, not a pointer */
	BPF_ARG_STACK_MEM,  /* stack pointer to initialised bytes; size in the next arg */
	BPF_ARG_CONST_SIZE, /* a known constant 1..BPF_STACK_SIZE */
};

typedef uint64_t bpf_helper_fn(uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5,
			       struct bpf_runtime *rt);
struct bpf_helper_desc {
	const char *h_name;
	bpf_helper_fn *h_fn;
	uint8_t h_args[5]; /* enum bpf_arg for r1..r5 */
};
/* Indexed by helper id; entry 0 and gaps have h_fn == NULL. */
extern const struct bpf_helper_desc bpf_helpers[BPF_HELPER_COUNT_PLUS_ONE];

/* --- shared semantics -------------------------------------------------------- */
/* The one definition of each ALU and jump operation, used by the interpreter
 * and by the verifier's constant folding (the JIT is tested against them). */

static inline uint64_t bpf_bswap64(uint64_t x)
{
	return __builtin_bswap64(x);
}

/* code is an ALU or ALU64 opcode other than NEG/END. */
static inline uint64_t bpf_alu_eval(uint8_t code, uint64_t dst, uint64_t src)
{
	bool is64 = BPF_CLASS(code) == BPF_ALU64;
	if (!is64) {
		dst = (uint32_t)dst;
		src = (uint32_t)src;
	}
	unsigned shmask = is64 ? 63 : 31;
	uint64_t r;
	switch (BPF_OP(code)) {
	case BPF_ADD: r = dst + src; break;
	case BPF_SUB: r = dst - src; break;
	case BPF_MUL: r = dst * src; break;
	case BPF_DIV: r = src ? dst / src : 0; break;
	case BPF_MOD: r = src ? dst % src : dst; break;
	case BPF_OR: r = dst | src; break;
	case BPF_AND: r = dst & src; break;
	case BPF_XOR: r = dst ^ src; break;
	case BPF_LSH: r = dst << (src & shmask); break;
	case BPF_RSH: r = dst >> (src & shmask); break;
	case BPF_ARSH:
		if (is64)
			r = (uint64_t)((int64_t)dst >> (src & shmask));
		else
			r = (uint32_t)((int32_t)(uint32_t)dst >> (src & shmask));
		break;
	case BPF_MOV: r = src; break;
	case BPF_NEG: r = -dst; break;
	default: r = 0; break;
	}
	return is64 ? r : (uint32_t)r;
}

/* BPF_END: imm is 16, 32 or 64. */
static inline uint64_t bpf_end_eval(uint8_t code, int32_t imm, uint64_t dst)
{
	if (BPF_SRC(code) == BPF_TO_LE) {
		switch (imm) {
		case 16: return (uint16_t)dst;
		case 32: return (uint32_t)dst;
		default: return dst;
		}
	}
	switch (imm) {
	case 16: return (uint16_t)(((dst & 0xff) << 8) | ((dst >> 8) & 0xff));
	case 32: return __builtin_bswap32((uint32_t)dst);
	default: return bpf_bswap64(dst);
	}
}

/* Whether a conditional jump (JMP or JMP32, not JA) is taken. JMP32
 * compares the low halves: zero-extended for the unsigned tests,
 * sign-extended for the signed ones. */
static inline bool bpf_jmp_eval(uint8_t code, uint64_t dst, uint64_t src)
{
	int64_t sd = (int64_t)dst, ss = (int64_t)src;
	if (BPF_CLASS(code) == BPF_JMP32) {
		sd = (int32_t)dst, ss = (int32_t)src;
		dst = (uint32_t)dst, src = (uint32_t)src;
	}
	switch (BPF_OP(code)) {
	case BPF_JEQ: return dst == src;
	case BPF_JNE: return dst != src;
	case BPF_JGT: return dst > src;
	case BPF_JGE: return dst >= src;
	case BPF_JLT: return dst < src;
	case BPF_JLE: return dst <= src;
	case BPF_JSET: return (dst & src) != 0;
	case BPF_JSGT: return sd > ss;
	case BPF_JSGE: return sd >= ss;
	case BPF_JSLT: return sd < ss;
	case BPF_JSLE: return sd <= ss;
	default: return false;
	}
}

/* The K operand as the engines use it: sign-extended to 64 bits (ALU64, JMP),
 * its 32 bits (ALU, JMP32: the eval functions truncate). */
static inline uint64_t bpf_imm64(int32_t imm)
{
	return (uint64_t)(int64_t)imm;
}

static inline unsigned bpf_size_bytes(uint8_t code)
{
	switch (BPF_SIZE(code)) {
	case BPF_B: return 1;
	case BPF_H: return 2;
	case BPF_W: return 4;
	default: return 8;
	}
}

#endif
