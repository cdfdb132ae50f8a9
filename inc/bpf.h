/*
 * Downloaded code: the one bytecode the kernel runs for an env (wakeup
 * predicates now; packet handlers and disk UDFs later). Its encoding is eBPF's,
 * so handlers can be written in restricted C and compiled with
 * `clang -O2 -target bpf -c`; doc/bpf.md is the reference for the subset, the
 * verifier's rules, the program kinds and the helpers.
 *
 * This header is the whole user<->kernel interface for downloaded code: the
 * instruction format and opcodes, program kinds and their context structs,
 * helper ids, granted-region flags, limits, run statuses and the verifier's
 * rejection reasons. Everything in it is stable: add at the end, never renumber.
 */
#ifndef EXO_INC_BPF_H
#define EXO_INC_BPF_H

#include <inc/types.h>

/* One instruction slot. LD_IMM64 takes two slots: the second has code 0 and
 * carries the upper 32 bits of the constant in imm. */
struct bpf_insn {
	uint8_t code;
	uint8_t dst : 4; /* destination register, r0..r10 */
	uint8_t src : 4; /* source register, or a pseudo source for LD_IMM64 */
	int16_t off;     /* memory offset or jump displacement, in slots */
	int32_t imm;
};
_Static_assert(sizeof(struct bpf_insn) == 8, "bpf_insn is one 64-bit slot");

/* --- limits ------------------------------------------------------------- */
#define BPF_MAX_INSNS 4096  /* slots per program: bounds verifier work and JIT size */
#define BPF_STACK_SIZE 512  /* bytes below r10; eBPF's frame size */
#define BPF_NREGS 11        /* r0..r10 */
#define BPF_MAX_REGIONS 8   /* granted regions per program: a small fixed table */
#define BPF_REGION_MAX_LEN (1u << 30) /* so offsets and guards fit in 32 bits */

/* --- opcode fields ------------------------------------------------------- */
#define BPF_CLASS(code) ((code)&0x07)
#define BPF_LD 0x00
#define BPF_LDX 0x01
#define BPF_ST 0x02
#define BPF_STX 0x03
#define BPF_ALU 0x04   /* 32-bit: operands and result are the low halves; zero-extends */
#define BPF_JMP 0x05
#define BPF_JMP32 0x06 /* compares the low 32 bits */
#define BPF_ALU64 0x07

#define BPF_SIZE(code) ((code)&0x18)
#define BPF_W 0x00  /* 4 bytes */
#define BPF_H 0x08  /* 2 bytes */
#define BPF_B 0x10  /* 1 byte */
#define BPF_DW 0x18 /* 8 bytes */

#define BPF_MODE(code) ((code)&0xe0)
#define BPF_IMM 0x00 /* only as LD_IMM64 */
#define BPF_MEM 0x60

#define BPF_OP(code) ((code)&0xf0)
#define BPF_SRC(code) ((code)&0x08)
#define BPF_K 0x00 /* operand is imm (sign-extended to 64 bits in 64-bit ops) */
#define BPF_X 0x08 /* operand is the src register */

/* ALU operations */
#define BPF_ADD 0x00
#define BPF_SUB 0x10
#define BPF_MUL 0x20
#define BPF_DIV 0x30 /* unsigned; x / 0 = 0 */
#define BPF_OR 0x40
#define BPF_AND 0x50
#define BPF_LSH 0x60 /* shift counts are taken mod 64 (mod 32 for ALU) */
#define BPF_RSH 0x70
#define BPF_NEG 0x80
#define BPF_MOD 0x90 /* unsigned; x % 0 = x */
#define BPF_XOR 0xa0
#define BPF_MOV 0xb0
#define BPF_ARSH 0xc0
#define BPF_END 0xd0 /* byte swap, ALU class only; imm = 16, 32 or 64 */
#define BPF_TO_LE 0x00 /* BPF_END with BPF_K: truncate to imm bits (x86 is little-endian) */
#define BPF_TO_BE 0x08 /* BPF_END with BPF_X: byte-swap the low imm bits */

/* jump operations (JMP; JMP32 has only the conditional ones) */
#define BPF_JA 0x00
#define BPF_JEQ 0x10
#define BPF_JGT 0x20
#define BPF_JGE 0x30
#define BPF_JSET 0x40
#define BPF_JNE 0x50
#define BPF_JSGT 0x60
#define BPF_JSGE 0x70
#define BPF_CALL 0x80 /* imm = helper id; r1..r5 arguments, r0 result, r1..r5 clobbered */
#define BPF_EXIT 0x90 /* returns r0 */
#define BPF_JLT 0xa0
#define BPF_JLE 0xb0
#define BPF_JSLT 0xc0
#define BPF_JSLE 0xd0

/* LD_IMM64 with src = BPF_PSEUDO_REGION loads a pointer into granted region
 * number imm of the program; the second slot's imm is a byte offset into it. */
#define BPF_PSEUDO_REGION 2

/* --- instruction builders, for hand-written programs and tests ----------- */
#define BPF_INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst = (d), .src = (s), .off = (o), .imm = (i) })
#define BPF_ALU64_REG(op, d, s) BPF_INSN(BPF_ALU64 | (op) | BPF_X, d, s, 0, 0)
#define BPF_ALU32_REG(op, d, s) BPF_INSN(BPF_ALU | (op) | BPF_X, d, s, 0, 0)
#define BPF_ALU64_IMM(op, d, i) BPF_INSN(BPF_ALU64 | (op) | BPF_K, d, 0, 0, i)
#define BPF_ALU32_IMM(op, d, i) BPF_INSN(BPF_ALU | (op) | BPF_K, d, 0, 0, i)
#define BPF_MOV64_REG(d, s) BPF_ALU64_REG(BPF_MOV, d, s)
#define BPF_MOV64_IMM(d, i) BPF_ALU64_IMM(BPF_MOV, d, i)
#define BPF_MOV32_IMM(d, i) BPF_ALU32_IMM(BPF_MOV, d, i)
#define BPF_ENDIAN(type, d, bits) BPF_INSN(BPF_ALU | BPF_END | (type), d, 0, 0, bits)
#define BPF_LDX_MEM(sz, d, s, o) BPF_INSN(BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define BPF_STX_MEM(sz, d, s, o) BPF_INSN(BPF_STX | BPF_MEM | (sz), d, s, o, 0)
#define BPF_ST_MEM(sz, d, o, i) BPF_INSN(BPF_ST | BPF_MEM | (sz), d, 0, o, i)
#define BPF_JMP_REG(op, d, s, o) BPF_INSN(BPF_JMP | (op) | BPF_X, d, s, o, 0)
#define BPF_JMP_IMM(op, d, i, o) BPF_INSN(BPF_JMP | (op) | BPF_K, d, 0, o, i)
#define BPF_JMP32_REG(op, d, s, o) BPF_INSN(BPF_JMP32 | (op) | BPF_X, d, s, o, 0)
#define BPF_JMP32_IMM(op, d, i, o) BPF_INSN(BPF_JMP32 | (op) | BPF_K, d, 0, o, i)
#define BPF_JA_OFF(o) BPF_INSN(BPF_JMP | BPF_JA, 0, 0, o, 0)
#define BPF_CALL_HELPER(id) BPF_INSN(BPF_JMP | BPF_CALL, 0, 0, 0, id)
#define BPF_EXIT_INSN() BPF_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
/* Two slots each: use inside an array initialiser. */
#define BPF_LD_IMM64(d, v)                                                           \
	BPF_INSN(BPF_LD | BPF_IMM | BPF_DW, d, 0, 0, (int32_t)(uint32_t)(uint64_t)(v)), \
		BPF_INSN(0, 0, 0, 0, (int32_t)(uint32_t)((uint64_t)(v) >> 32))
#define BPF_LD_REGION(d, region, offset)                                            \
	BPF_INSN(BPF_LD | BPF_IMM | BPF_DW, d, BPF_PSEUDO_REGION, 0, region),       \
		BPF_INSN(0, 0, 0, 0, offset)

/* --- program kinds --------------------------------------------------------- */
/* Each kind fixes the context struct r1 points to at entry (and which of its
 * bytes are readable or writable), the helpers it may call and its budget. */
enum bpf_kind {
	BPF_KIND_WAKEUP = 1, /* wakeup predicate: r0 != 0 wakes the env */
	BPF_KIND_PACKET = 2, /* application-specific handler (ASH) of received
				frames: r0 bit 0 set delivers the frame to the
				env's ring (and wakes it), clear consumes it */
	BPF_KIND_UDF = 3,    /* XN metadata type: r0 = extents the block claims
				(struct bpf_udf_ctx, inc/disk.h) */
	BPF_KIND_COUNT_PLUS_ONE
};

/* BPF_KIND_WAKEUP's context: read-only, filled by the scheduler. */
struct bpf_wakeup_ctx {
	uint64_t wc_ticks;  /* timer ticks since boot */
	uint64_t wc_tsc;    /* time-stamp counter when the predicate runs */
	uint64_t wc_env_id; /* the sleeping env */
	uint64_t wc_arg;    /* the word the env passed when it went to sleep */
};

/* BPF_KIND_PACKET's context, read-only. Region 0 is the received frame
 * itself (pc_len bytes readable, zero beyond up to BPF_PACKET_MAX); the
 * env's grants are regions 1 and up. */
struct bpf_packet_ctx {
	uint64_t pc_len;    /* frame length */
	uint64_t pc_ticks;  /* timer ticks since boot */
	uint64_t pc_env_id; /* the env the frame is for */
	uint64_t pc_arg;    /* the word the env gave when it attached the handler */
};

#define BPF_PACKET_MAX 1514
#define BPF_BUDGET_PACKET 20000

/* --- granted regions ------------------------------------------------------- */
#define BPF_REGION_READ 0x1
#define BPF_REGION_WRITE 0x2

/* --- helpers ---------------------------------------------------------------- */
/* X(name, id, description). Arguments are r1..r5, the result is in r0. */
#define BPF_HELPERS(X)                                                                   \
	X(BPF_HELPER_TSC, 1, "u64 tsc(void): the time-stamp counter")                    \
	X(BPF_HELPER_REGION_READ_U64, 2,                                                 \
	  "u64 region_read_u64(u64 region, u64 off): the 8 bytes at off in a readable "  \
	  "region, or 0 when they are not all inside it")                                \
	X(BPF_HELPER_REGION_WRITE, 3,                                                    \
	  "s64 region_write(u64 region, u64 off, stack *src, const u64 len): copy len "  \
	  "bytes of the stack into a writable region; 0, or -E_RANGE / -E_PERM")          \
	X(BPF_HELPER_COPY_CSUM, 4,                                                       \
	  "s64 copy_csum(u64 dst_region, u64 dst_off, u64 src_region, u64 src_off, "     \
	  "u64 len): copy between regions, returning the 16-bit ones'-complement sum "   \
	  "of the bytes copied (the Internet checksum before its final inversion), or "  \
	  "-E_RANGE / -E_PERM")                                                          \
	X(BPF_HELPER_TX, 5,                                                              \
	  "s64 tx(u64 region, u64 off, u64 len): transmit len bytes of a readable "      \
	  "region as one frame (packet handlers); 0, or -E_RANGE / -E_PERM / -E_AGAIN")  \
	X(BPF_HELPER_NOTIFY, 6,                                                          \
	  "s64 notify(u64 a0, u64 a1, u64 a2): queue an asynchronous message for the "   \
	  "handler's env, as pct_send would, from sender 0 (the kernel), waking it if "  \
	  "it sleeps (packet handlers); 0, or -E_FULL / -E_NO_ENTRY / -E_PERM")

enum bpf_helper_id {
#define BPF_HELPER_ENUM(name, id, desc) name = id,
	BPF_HELPERS(BPF_HELPER_ENUM)
#undef BPF_HELPER_ENUM
		BPF_HELPER_COUNT_PLUS_ONE
};

/* --- running ----------------------------------------------------------------- */
/* How a run ended. Any status but OK returns r0 = 0. */
enum bpf_run_status {
	BPF_RUN_OK = 0,     /* the program reached exit */
	BPF_RUN_BUDGET = 1, /* the instruction budget ran out (programs with loops) */
	BPF_RUN_FAULT = 2,  /* a guarded region access was out of bounds */
};

/* Instruction budget per run for programs with backward jumps: see doc/bpf.md. */
#define BPF_BUDGET_WAKEUP 100000

/* --- verifier rejections ------------------------------------------------------- */
/* X(name, code, message). A rejection names the instruction index and one of these. */
#define BPF_ERRORS(X)                                                                   \
	X(BPF_ERR_TOO_LONG, 1, "program empty or longer than BPF_MAX_INSNS")            \
	X(BPF_ERR_BAD_OPCODE, 2, "unknown or unsupported opcode")                       \
	X(BPF_ERR_BAD_REG, 3, "register number out of range")                           \
	X(BPF_ERR_RESERVED, 4, "reserved field not zero")                               \
	X(BPF_ERR_WRITE_R10, 5, "write to the read-only frame pointer r10")             \
	X(BPF_ERR_BAD_JUMP, 6, "jump out of range or into the middle of LD_IMM64")      \
	X(BPF_ERR_FALL_OFF, 7, "execution can run past the last instruction")           \
	X(BPF_ERR_UNREACHABLE, 8, "unreachable instruction")                            \
	X(BPF_ERR_UNINIT_REG, 9, "read of an uninitialised register")                   \
	X(BPF_ERR_UNINIT_STACK, 10, "read of uninitialised stack bytes")                \
	X(BPF_ERR_OOB, 11, "memory access out of bounds")                               \
	X(BPF_ERR_READ_ONLY, 12, "write to read-only memory")                           \
	X(BPF_ERR_VAR_OFFSET, 13, "variable offset into the context or stack")          \
	X(BPF_ERR_NOT_POINTER, 14, "memory access through a non-pointer")               \
	X(BPF_ERR_PTR_ARITH, 15, "pointer arithmetic other than adding a scalar")       \
	X(BPF_ERR_PTR_LEAK, 16, "pointer stored where the env could read it")           \
	X(BPF_ERR_PTR_RETURN, 17, "pointer returned in r0")                             \
	X(BPF_ERR_PTR_CMP, 18, "comparison of a pointer with a non-pointer")            \
	X(BPF_ERR_BAD_HELPER, 19, "unknown helper, or not allowed for this kind")       \
	X(BPF_ERR_HELPER_ARG, 20, "wrong helper argument")                              \
	X(BPF_ERR_BAD_REGION, 21, "no such granted region, or a bad region list")       \
	X(BPF_ERR_PTR_MIX, 22, "one instruction used with different kinds of pointer")  \
	X(BPF_ERR_LOOP, 23, "backward jump in a program that may not loop")             \
	X(BPF_ERR_TOO_COMPLEX, 24, "verification needs too much work")                  \
	X(BPF_ERR_NO_MEM, 25, "verifier scratch memory too small")                      \
	X(BPF_ERR_BAD_KIND, 26, "unknown program kind")

enum bpf_error {
	BPF_OK = 0,
#define BPF_ERROR_ENUM(name, code, msg) name = code,
	BPF_ERRORS(BPF_ERROR_ENUM)
#undef BPF_ERROR_ENUM
		BPF_ERR_COUNT_PLUS_ONE
};

/* --- loading (sys_bpf_load) ----------------------------------------------- */

/* Memory an env grants a program: [g_addr, g_addr + g_len) of its own
 * memory, within one page it owns, readable (and writable with
 * BPF_REGION_WRITE) by the program as region number = its index. */
struct bpf_grant {
	uint64_t g_addr;
	uint64_t g_len;
	uint32_t g_flags;
	uint32_t g_pad;
};

/* Why a program was refused: the slot and the reason (enum bpf_error). */
struct bpf_load_error {
	uint32_t le_insn;
	int32_t le_reason;
	char le_msg[160];
};

struct bpf_load {
	uint32_t bl_kind;                /* enum bpf_kind */
	uint32_t bl_len;                 /* instruction slots */
	const struct bpf_insn *bl_insns;
	const struct bpf_grant *bl_grants;
	uint32_t bl_ngrants;
	uint32_t bl_pad;
	struct bpf_load_error *bl_error; /* filled on refusal, if not NULL */
};

#define BPF_PROGS_PER_ENV 4        /* programs an env may have loaded */
#define BPF_SCRATCH_MAX_PAGES 512  /* verifier memory for one load: 2 MiB */

#endif
