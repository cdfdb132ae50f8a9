/*
 * Short instruction builders for hand-written test programs, on top of the
 * BPF_* builders in inc/bpf.h. PROG(...) expands to "array, length".
 */
#ifndef EXO_TEST_BPF_INSNS_H
#define EXO_TEST_BPF_INSNS_H

#include <inc/bpf.h>

#define INSNS(...) ((const struct bpf_insn[]){ __VA_ARGS__ })
#define PROG(...) INSNS(__VA_ARGS__), (uint32_t)(sizeof(INSNS(__VA_ARGS__)) / sizeof(struct bpf_insn))

#define MOV(d, i) BPF_MOV64_IMM(d, i)
#define MOVR(d, s) BPF_MOV64_REG(d, s)
#define MOV32(d, i) BPF_MOV32_IMM(d, i)
#define MOV32R(d, s) BPF_ALU32_REG(BPF_MOV, d, s)
#define ALU(op, d, i) BPF_ALU64_IMM(BPF_##op, d, i)
#define ALUR(op, d, s) BPF_ALU64_REG(BPF_##op, d, s)
#define ALU32(op, d, i) BPF_ALU32_IMM(BPF_##op, d, i)
#define ALU32R(op, d, s) BPF_ALU32_REG(BPF_##op, d, s)
#define NEG(d) BPF_INSN(BPF_ALU64 | BPF_NEG, d, 0, 0, 0)
#define NEG32(d) BPF_INSN(BPF_ALU | BPF_NEG, d, 0, 0, 0)
#define BE(d, bits) BPF_ENDIAN(BPF_TO_BE, d, bits)
#define LE(d, bits) BPF_ENDIAN(BPF_TO_LE, d, bits)
#define LDX(sz, d, s, o) BPF_LDX_MEM(BPF_##sz, d, s, o)
#define STX(sz, d, s, o) BPF_STX_MEM(BPF_##sz, d, s, o)
#define ST(sz, d, o, i) BPF_ST_MEM(BPF_##sz, d, o, i)
#define JMP(op, d, i, o) BPF_JMP_IMM(BPF_##op, d, i, o)
#define JMPR(op, d, s, o) BPF_JMP_REG(BPF_##op, d, s, o)
#define JMP32(op, d, i, o) BPF_JMP32_IMM(BPF_##op, d, i, o)
#define JMP32R(op, d, s, o) BPF_JMP32_REG(BPF_##op, d, s, o)
#define JA(o) BPF_JA_OFF(o)
#define CALL(id) BPF_CALL_HELPER(BPF_HELPER_##id)
#define EXIT BPF_EXIT_INSN()
#define RAW(c, d, s, o, i) BPF_INSN(c, d, s, o, i)
#define LDIMM(d, v) BPF_LD_IMM64(d, v)
#define LDREG(d, region, off) BPF_LD_REGION(d, region, off)

/* struct bpf_wakeup_ctx offsets */
#define CTX_TICKS 0
#define CTX_TSC 8
#define CTX_ENV 16
#define CTX_ARG 24

#endif
