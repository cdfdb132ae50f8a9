/*
 * Host tests for the downloaded-code verifier, and the engines' semantics on
 * hand-written programs.
 *
 * reject.*: each program must be refused with its reason and instruction.
 * accept.*: each must verify.
 * run.*:    each must verify, then give the expected r0 and status in the
 *           interpreter and in the JIT alike (same region contents after).
 *
 * Standard memory for runs: region 0 (64 bytes, read-write) holds bytes 0..63,
 * region 1 (16, read-only) 0x10..0x1f, region 2 (8, write-only) zeroes; the
 * context is { ticks 100, tsc 200, env 7, arg 42 } unless a test sets arg.
 */
#include "check.h"

#include "bpf/harness.h"
#include "bpf/insns.h"

static struct h_prog hp;

static void expect_verdict(const struct bpf_insn *insns, uint32_t n, uint32_t flags, int reason,
			   uint32_t at)
{
	int r = h_verify(&hp, insns, n, NULL, flags);
	CHECK_MSG(r == reason, "verdict %d (%s), want %d (%s): %s", r, bpf_error_message(r), reason,
		  bpf_error_message(reason), hp.err.e_msg);
	if (r == reason && reason)
		CHECK_MSG(hp.err.e_insn == at, "rejected at insn %u, want %u: %s", hp.err.e_insn,
			  at, hp.err.e_msg);
	if (r == reason && reason)
		CHECK_MSG(strncmp(hp.err.e_msg, "insn ", 5) == 0, "message %s", hp.err.e_msg);
}

static void std_mem(struct h_mem *m, uint64_t arg)
{
	h_mem_alloc(m);
	for (int k = 0; k < 64; k++)
		m->region[0][k] = (uint8_t)k;
	for (int k = 0; k < 16; k++)
		m->region[1][k] = (uint8_t)(0x10 + k);
	*m->ctx = (struct bpf_wakeup_ctx){ 100, 200, 7, arg };
}

/* Verifies, runs in both engines, checks they agree and give r0/status. */
static void expect_run(const struct bpf_insn *insns, uint32_t n, uint64_t arg, uint64_t r0,
		       uint32_t status)
{
	struct h_mem m;
	std_mem(&m, arg);
	int r = h_verify(&hp, insns, n, &m, 0);
	struct h_jit j;
	if (CHECK_MSG(r == BPF_OK, "rejected: %s", hp.err.e_msg) &&
	    CHECK_EQ(h_jit_compile(&hp, &j), 0)) {
		struct h_run out;
		const char *why = h_compare(&hp, &j, &m, 0, &out);
		CHECK_MSG(!why, "interpreter and JIT differ in %s", why);
		CHECK_EQ(out.r0, r0);
		CHECK_EQ(out.status, status);
		h_jit_free(&j);
	}
	h_mem_free(&m);
}

#define REJECT(name, reason, at, ...) \
	TEST(reject, name) { expect_verdict(PROG(__VA_ARGS__), 0, BPF_ERR_##reason, at); }
#define ACCEPT(name, ...) \
	TEST(accept, name) { expect_verdict(PROG(__VA_ARGS__), 0, BPF_OK, 0); }
#define RUN(name, r0, ...) \
	TEST(run, name) { expect_run(PROG(__VA_ARGS__), 42, r0, BPF_RUN_OK); }
#define RUN_ARG(name, arg, r0, status, ...) \
	TEST(run, name) { expect_run(PROG(__VA_ARGS__), arg, r0, status); }

/* --- structure ------------------------------------------------------------- */

TEST(reject, empty)
{
	expect_verdict(INSNS(EXIT), 0, 0, BPF_ERR_TOO_LONG, 0);
}

TEST(reject, too_long)
{
	static struct bpf_insn big[BPF_MAX_INSNS + 1];
	for (int k = 0; k < BPF_MAX_INSNS; k++)
		big[k] = MOV(0, k);
	big[BPF_MAX_INSNS] = EXIT;
	expect_verdict(big, BPF_MAX_INSNS + 1, 0, BPF_ERR_TOO_LONG, 0);
	big[BPF_MAX_INSNS - 1] = EXIT;
	expect_verdict(big, BPF_MAX_INSNS, 0, BPF_OK, 0);
}

REJECT(unknown_alu_op, BAD_OPCODE, 1, MOV(0, 0), RAW(BPF_ALU64 | 0xe0, 0, 0, 0, 0), EXIT)
REJECT(legacy_ld_abs, BAD_OPCODE, 0, RAW(BPF_LD | BPF_W | 0x20, 0, 0, 0, 0), EXIT)
REJECT(atomic, BAD_OPCODE, 1, MOV(0, 0), RAW(BPF_STX | BPF_DW | 0xc0, 10, 0, -8, 0), EXIT)
REJECT(jmp32_ja, BAD_OPCODE, 1, MOV(0, 0), RAW(BPF_JMP32 | BPF_JA, 0, 0, 0, 0), EXIT)
REJECT(unknown_jmp_op, BAD_OPCODE, 1, MOV(0, 0), RAW(BPF_JMP | 0xe0, 0, 0, 0, 0), EXIT)
REJECT(byte_swap_64bit_class, BAD_OPCODE, 1, MOV(0, 0), RAW(BPF_ALU64 | BPF_END, 0, 0, 0, 16), EXIT)
REJECT(byte_swap_8, BAD_OPCODE, 1, MOV(0, 0), BE(0, 8), EXIT)
REJECT(signed_div, BAD_OPCODE, 1, MOV(0, 1), RAW(BPF_ALU64 | BPF_DIV | BPF_K, 0, 0, 1, 3), EXIT)
REJECT(ld_imm64_map_fd, BAD_OPCODE, 0, RAW(BPF_LD | BPF_IMM | BPF_DW, 0, 1, 0, 3),
       RAW(0, 0, 0, 0, 0), EXIT)
REJECT(ld_imm64_at_end, BAD_OPCODE, 1, MOV(0, 0), RAW(BPF_LD | BPF_IMM | BPF_DW, 0, 0, 0, 3))
REJECT(call_function, BAD_OPCODE, 1, MOV(0, 0), RAW(BPF_JMP | BPF_CALL, 0, 1, 0, 2), EXIT)
REJECT(bad_dst_reg, BAD_REG, 0, MOV(11, 0), MOV(0, 0), EXIT)
REJECT(bad_src_reg, BAD_REG, 1, MOV(0, 0), MOVR(0, 12), EXIT)
REJECT(alu_k_with_src, RESERVED, 0, RAW(BPF_ALU64 | BPF_MOV | BPF_K, 0, 1, 0, 5), EXIT)
REJECT(alu_x_with_imm, RESERVED, 1, MOV(0, 0), RAW(BPF_ALU64 | BPF_ADD | BPF_X, 0, 0, 0, 5), EXIT)
REJECT(neg_with_src, RESERVED, 1, MOV(0, 0), RAW(BPF_ALU64 | BPF_NEG | BPF_X, 0, 0, 0, 0), EXIT)
REJECT(exit_with_imm, RESERVED, 1, MOV(0, 0), RAW(BPF_JMP | BPF_EXIT, 0, 0, 0, 1))
REJECT(call_with_off, RESERVED, 0, RAW(BPF_JMP | BPF_CALL, 0, 0, 1, 1), EXIT)
REJECT(ld_imm64_bad_second_slot, RESERVED, 1, RAW(BPF_LD | BPF_IMM | BPF_DW, 0, 0, 0, 3), MOV(0, 0),
       EXIT)
REJECT(st_with_src, RESERVED, 0, RAW(BPF_ST | BPF_MEM | BPF_DW, 10, 1, -8, 0), MOV(0, 0), EXIT)
REJECT(write_r10, WRITE_R10, 0, MOV(10, 0), MOV(0, 0), EXIT)
REJECT(load_into_r10, WRITE_R10, 0, LDX(DW, 10, 1, 0), MOV(0, 0), EXIT)
REJECT(add_to_r10, WRITE_R10, 0, ALU(ADD, 10, -8), MOV(0, 0), EXIT)
REJECT(jump_past_end, BAD_JUMP, 1, MOV(0, 0), JA(5), EXIT)
REJECT(jump_before_start, BAD_JUMP, 1, MOV(0, 0), JMP(JEQ, 0, 0, -3), EXIT)
REJECT(jump_into_ld_imm64, BAD_JUMP, 0, JA(2), MOV(0, 0), LDIMM(0, 1), EXIT)
REJECT(falls_off_end, FALL_OFF, 1, MOV(0, 0), MOV(0, 1))
REJECT(cond_jump_last, FALL_OFF, 1, MOV(0, 0), JMP(JEQ, 0, 0, -2))
REJECT(ld_imm64_last, FALL_OFF, 1, MOV(0, 0), LDIMM(0, 7))
REJECT(unreachable, UNREACHABLE, 2, MOV(0, 0), EXIT, MOV(0, 1), EXIT)
REJECT(unreachable_after_ja, UNREACHABLE, 2, MOV(0, 0), JA(1), MOV(0, 1), EXIT)

TEST(reject, loop_when_forbidden)
{
	expect_verdict(PROG(MOV(0, 0), ALU(ADD, 0, 1), JMP(JLT, 0, 10, -2), EXIT),
		       BPF_VERIFY_NO_LOOPS, BPF_ERR_LOOP, 2);
}

TEST(reject, bad_kind)
{
	struct bpf_insn p[] = { MOV(0, 0), EXIT };
	struct bpf_aux aux[2];
	struct bpf_prog prog = { .p_kind = 99, .p_len = 2, .p_insns = p, .p_aux = aux };
	struct bpf_verify_error err;
	char scratch[1 << 16];
	CHECK_EQ(bpf_verify(&prog, 0, scratch, sizeof(scratch), &err), BPF_ERR_BAD_KIND);
	prog.p_kind = 0;
	CHECK_EQ(bpf_verify(&prog, 0, scratch, sizeof(scratch), &err), BPF_ERR_BAD_KIND);
	CHECK(!prog.p_verified);
}

TEST(reject, bad_region_list)
{
	struct bpf_insn p[] = { MOV(0, 0), EXIT };
	struct bpf_aux aux[2];
	struct bpf_prog prog = {
		.p_kind = BPF_KIND_WAKEUP, .p_len = 2, .p_insns = p, .p_aux = aux
	};
	struct bpf_verify_error err;
	char scratch[1 << 16];
	prog.p_nregions = 1;
	prog.p_regions[0].r_len = 0;
	CHECK_EQ(bpf_verify(&prog, 0, scratch, sizeof(scratch), &err), BPF_ERR_BAD_REGION);
	prog.p_regions[0].r_len = BPF_REGION_MAX_LEN + 1ull;
	CHECK_EQ(bpf_verify(&prog, 0, scratch, sizeof(scratch), &err), BPF_ERR_BAD_REGION);
	prog.p_regions[0].r_len = 8;
	prog.p_regions[0].r_flags = 0x80;
	CHECK_EQ(bpf_verify(&prog, 0, scratch, sizeof(scratch), &err), BPF_ERR_BAD_REGION);
	prog.p_regions[0].r_flags = BPF_REGION_READ;
	prog.p_nregions = BPF_MAX_REGIONS + 1;
	CHECK_EQ(bpf_verify(&prog, 0, scratch, sizeof(scratch), &err), BPF_ERR_BAD_REGION);
	prog.p_nregions = 1;
	CHECK_EQ(bpf_verify(&prog, 0, scratch, sizeof(scratch), &err), BPF_OK);
}

TEST(reject, scratch_too_small)
{
	struct bpf_insn p[] = { MOV(0, 0), JMP(JEQ, 0, 0, 1), MOV(0, 1), EXIT };
	struct bpf_aux aux[4];
	struct bpf_prog prog = {
		.p_kind = BPF_KIND_WAKEUP, .p_len = 4, .p_insns = p, .p_aux = aux
	};
	struct bpf_verify_error err;
	size_t need = bpf_verify_scratch_size(p, 4);
	char *scratch = malloc(need);
	CHECK_EQ(bpf_verify(&prog, 0, scratch, 16, &err), BPF_ERR_NO_MEM);
	CHECK_EQ(bpf_verify(&prog, 0, scratch, 2000, &err), BPF_ERR_NO_MEM);
	CHECK_EQ(bpf_verify(&prog, 0, NULL, 0, &err), BPF_ERR_NO_MEM);
	CHECK_EQ(bpf_verify(&prog, 0, scratch, need, &err), BPF_OK);
	free(scratch);
}

/* --- registers and stack ------------------------------------------------------ */

REJECT(uninit_reg, UNINIT_REG, 0, MOVR(0, 2), EXIT)
REJECT(uninit_r0_at_exit, UNINIT_REG, 1, MOV(2, 0), EXIT)
REJECT(uninit_on_one_path, UNINIT_REG, 3, LDX(DW, 2, 1, CTX_ARG), JMP(JEQ, 2, 0, 1), MOV(3, 1),
       MOVR(0, 3), EXIT)
REJECT(args_clobbered_by_call, UNINIT_REG, 2, MOV(2, 5), CALL(TSC), MOVR(0, 2), EXIT)
REJECT(uninit_as_base, UNINIT_REG, 0, LDX(DW, 0, 3, 0), EXIT)
REJECT(uninit_stack, UNINIT_STACK, 0, LDX(DW, 0, 10, -8), EXIT)
REJECT(partly_init_stack, UNINIT_STACK, 1, ST(W, 10, -8, 1), LDX(DW, 0, 10, -8), EXIT)
REJECT(stack_init_on_one_path, UNINIT_STACK, 4, LDX(DW, 2, 1, CTX_ARG), JMP(JEQ, 2, 0, 1),
       ST(DW, 10, -8, 1), MOV(0, 0), LDX(DW, 0, 10, -8), EXIT)
REJECT(stack_below_frame, OOB, 0, ST(DW, 10, -520, 1), MOV(0, 0), EXIT)
REJECT(stack_above_frame, OOB, 1, ST(DW, 10, -8, 1), LDX(DW, 0, 10, -4), EXIT)
REJECT(stack_var_offset, VAR_OFFSET, 4, LDX(DW, 2, 1, CTX_ARG), ALU(AND, 2, 7), MOVR(3, 10),
       ALUR(ADD, 3, 2), ST(DW, 3, -16, 0), MOV(0, 0), EXIT)
ACCEPT(stack_all_sizes, ST(B, 10, -1, 1), ST(H, 10, -4, 2), ST(W, 10, -8, 3), ST(DW, 10, -512, 4),
       LDX(B, 0, 10, -1), LDX(H, 0, 10, -4), LDX(W, 0, 10, -8), LDX(DW, 0, 10, -512), EXIT)

/* --- context --------------------------------------------------------------------- */

REJECT(ctx_past_end, OOB, 0, LDX(DW, 0, 1, 32), EXIT)
REJECT(ctx_straddles_end, OOB, 0, LDX(DW, 0, 1, 28), EXIT)
REJECT(ctx_negative, OOB, 0, LDX(B, 0, 1, -1), EXIT)
REJECT(ctx_write, READ_ONLY, 0, ST(DW, 1, 0, 1), MOV(0, 0), EXIT)
REJECT(ctx_write_reg, READ_ONLY, 1, MOV(2, 1), STX(W, 1, 2, 8), MOV(0, 0), EXIT)
REJECT(ctx_var_offset, VAR_OFFSET, 3, LDX(DW, 2, 1, CTX_ARG), ALU(AND, 2, 8), ALUR(ADD, 1, 2),
       LDX(DW, 0, 1, 0), EXIT)
REJECT(scalar_as_pointer, NOT_POINTER, 1, MOV(2, 0x1000), LDX(DW, 0, 2, 0), EXIT)
REJECT(loaded_value_as_pointer, NOT_POINTER, 1, LDX(DW, 2, 1, CTX_ARG), LDX(DW, 0, 2, 0), EXIT)
ACCEPT(ctx_every_field_and_size, LDX(DW, 0, 1, 0), LDX(DW, 0, 1, 8), LDX(DW, 0, 1, 16),
       LDX(DW, 0, 1, 24), LDX(W, 0, 1, 28), LDX(H, 0, 1, 30), LDX(B, 0, 1, 31), LDX(W, 0, 1, 3),
       EXIT)

/* --- regions ------------------------------------------------------------------------ */

REJECT(region_const_oob, OOB, 2, LDREG(2, 0, 0), LDX(DW, 0, 2, 60), EXIT)
REJECT(region_negative, OOB, 2, LDREG(2, 0, 8), LDX(B, 0, 2, -9), EXIT)
REJECT(region_write_read_only, READ_ONLY, 2, LDREG(2, 1, 0), ST(B, 2, 0, 1), MOV(0, 0), EXIT)
REJECT(region_read_write_only, OOB, 2, LDREG(2, 2, 0), LDX(B, 0, 2, 0), EXIT)
REJECT(no_such_region, BAD_REGION, 0, LDREG(2, 3, 0), MOV(0, 0), EXIT)
REJECT(region_offset_past_end, BAD_REGION, 0, LDREG(2, 0, 65), MOV(0, 0), EXIT)
REJECT(region_offset_negative, BAD_REGION, 0, LDREG(2, 0, -1), MOV(0, 0), EXIT)
ACCEPT(region_offset_at_end, LDREG(2, 0, 64), LDX(B, 0, 2, -1), EXIT)

TEST(accept, region_bounds_check_proves_access)
{
	/* arg < 64 proves region0[arg] in bounds: no run-time guard. */
	expect_verdict(PROG(LDX(DW, 2, 1, CTX_ARG), MOV(0, 0), JMP(JGE, 2, 64, 4), LDREG(3, 0, 0),
			    ALUR(ADD, 3, 2), LDX(B, 0, 3, 0), EXIT),
		       0, BPF_OK, 0);
	CHECK(hp.aux[6].a_flags & BPF_AUX_REGION);
	CHECK(!(hp.aux[6].a_flags & BPF_AUX_GUARD));
}

TEST(accept, region_unchecked_index_is_guarded)
{
	expect_verdict(PROG(LDX(DW, 2, 1, CTX_ARG), LDREG(3, 0, 0), ALUR(ADD, 3, 2),
			    LDX(B, 0, 3, 0), EXIT),
		       0, BPF_OK, 0);
	CHECK(hp.aux[4].a_flags & BPF_AUX_GUARD);
	CHECK_EQ(hp.aux[4].a_region, 0);
}

TEST(accept, region_masked_index_needs_no_guard)
{
	expect_verdict(PROG(LDX(DW, 2, 1, CTX_ARG), ALU(AND, 2, 56), LDREG(3, 0, 0),
			    ALUR(ADD, 3, 2), LDX(DW, 0, 3, 0), EXIT),
		       0, BPF_OK, 0);
	CHECK(!(hp.aux[5].a_flags & BPF_AUX_GUARD));
}

/* --- pointers ------------------------------------------------------------------------- */

REJECT(store_ctx_ptr_to_region, PTR_LEAK, 2, LDREG(2, 0, 0), STX(DW, 2, 1, 0), MOV(0, 0), EXIT)
REJECT(store_stack_ptr_to_region, PTR_LEAK, 2, LDREG(2, 0, 0), STX(DW, 2, 10, 8), MOV(0, 0), EXIT)
REJECT(store_region_ptr_to_itself, PTR_LEAK, 2, LDREG(2, 0, 0), STX(DW, 2, 2, 8), MOV(0, 0), EXIT)
REJECT(partial_pointer_spill, PTR_LEAK, 0, STX(W, 10, 1, -8), MOV(0, 0), EXIT)
REJECT(partial_read_of_spilled_pointer, PTR_LEAK, 1, STX(DW, 10, 1, -8), LDX(W, 0, 10, -4), EXIT)
REJECT(pointer_copied_out_by_helper, PTR_LEAK, 6, STX(DW, 10, 1, -8), MOV(1, 0), MOV(2, 0),
       MOVR(3, 10), ALU(ADD, 3, -8), MOV(4, 8), CALL(REGION_WRITE), EXIT)
REJECT(return_ctx_ptr, PTR_RETURN, 1, MOVR(0, 1), EXIT)
REJECT(return_stack_ptr, PTR_RETURN, 2, MOVR(0, 10), ALU(ADD, 0, -8), EXIT)
REJECT(return_region_ptr, PTR_RETURN, 2, LDREG(0, 0, 0), EXIT)
REJECT(multiply_pointer, PTR_ARITH, 0, ALU(MUL, 1, 2), MOV(0, 0), EXIT)
REJECT(and_pointer, PTR_ARITH, 0, ALU(AND, 1, -8), MOV(0, 0), EXIT)
REJECT(pointer_minus_pointer, PTR_ARITH, 1, MOVR(2, 10), ALUR(SUB, 2, 1), MOV(0, 0), EXIT)
REJECT(pointer_plus_pointer, PTR_ARITH, 1, MOVR(2, 10), ALUR(ADD, 2, 10), MOV(0, 0), EXIT)
REJECT(scalar_minus_pointer, PTR_ARITH, 1, MOV(2, 5), ALUR(SUB, 2, 1), MOV(0, 0), EXIT)
REJECT(mov32_pointer, PTR_ARITH, 0, MOV32R(0, 1), EXIT)
REJECT(add32_pointer, PTR_ARITH, 0, ALU32(ADD, 1, 8), MOV(0, 0), EXIT)
REJECT(neg_pointer, PTR_ARITH, 0, NEG(1), MOV(0, 0), EXIT)
REJECT(byte_swap_pointer, PTR_ARITH, 0, BE(1, 64), MOV(0, 0), EXIT)
REJECT(compare_pointer_with_number, PTR_CMP, 1, LDX(DW, 2, 1, CTX_ARG), JMPR(JGT, 1, 2, 0),
       MOV(0, 0), EXIT)
REJECT(compare_pointer_with_constant, PTR_CMP, 0, JMP(JEQ, 1, 5, 0), MOV(0, 0), EXIT)
REJECT(compare_pointers_of_two_kinds, PTR_CMP, 0, JMPR(JEQ, 1, 10, 0), MOV(0, 0), EXIT)
REJECT(compare_pointers_of_two_regions, PTR_CMP, 4, LDREG(2, 0, 0), LDREG(3, 1, 0),
       JMPR(JGT, 2, 3, 0), MOV(0, 0), EXIT)
REJECT(compare_pointer_32bit, PTR_CMP, 0, JMP32(JEQ, 1, 0, 0), MOV(0, 0), EXIT)
REJECT(jset_pointer, PTR_CMP, 0, JMP(JSET, 10, 1, 0), MOV(0, 0), EXIT)
REJECT(compare_pointer_outside_object, PTR_CMP, 3, MOVR(2, 10), LDX(DW, 3, 1, CTX_ARG),
       ALUR(ADD, 2, 3), JMPR(JGT, 10, 2, 0), MOV(0, 0), EXIT)
REJECT(compare_wrapped_region_pointer, PTR_CMP, 5, LDREG(2, 0, 0), LDREG(3, 0, 0),
       ALU(ADD, 3, -4096), JMPR(JLT, 3, 2, 0), MOV(0, 0), EXIT)
REJECT(compare_unbounded_pointer_with_null, PTR_CMP, 4, LDREG(2, 0, 0), LDX(DW, 3, 1, CTX_ARG),
       ALUR(ADD, 2, 3), JMP(JEQ, 2, 0, 0), MOV(0, 0), EXIT)
REJECT(signed_compare_pointer_with_null, PTR_CMP, 0, JMP(JSGT, 1, 0, 0), MOV(0, 0), EXIT)
ACCEPT(compare_pointer_with_null, JMP(JEQ, 1, 0, 1), MOV(0, 1), MOV(0, 0), EXIT)
ACCEPT(compare_stack_pointers, MOVR(2, 10), ALU(ADD, 2, -8), JMPR(JGT, 10, 2, 0), MOV(0, 0), EXIT)
ACCEPT(pointer_spill_and_fill, STX(DW, 10, 1, -8), LDX(DW, 2, 10, -8), LDX(DW, 0, 2, CTX_ARG), EXIT)
REJECT(spill_overwritten_then_used, NOT_POINTER, 3, STX(DW, 10, 1, -8), ST(DW, 10, -8, 0),
       LDX(DW, 2, 10, -8), LDX(DW, 0, 2, 0), EXIT)
REJECT(spill_partly_overwritten, UNINIT_STACK, 2, STX(DW, 10, 1, -8), ST(B, 10, -8, 0),
       LDX(DW, 2, 10, -8), MOV(0, 0), EXIT)

/* --- helpers --------------------------------------------------------------------------- */

REJECT(unknown_helper, BAD_HELPER, 0, RAW(BPF_JMP | BPF_CALL, 0, 0, 0, 99), EXIT)
REJECT(helper_zero, BAD_HELPER, 0, RAW(BPF_JMP | BPF_CALL, 0, 0, 0, 0), EXIT)
REJECT(helper_negative, BAD_HELPER, 0, RAW(BPF_JMP | BPF_CALL, 0, 0, 0, -1), EXIT)
REJECT(helper_pointer_for_number, HELPER_ARG, 1, MOV(2, 0), CALL(REGION_READ_U64), EXIT)
REJECT(helper_uninit_arg, UNINIT_REG, 1, MOV(1, 0), CALL(REGION_READ_U64), EXIT)
REJECT(helper_mem_not_stack, HELPER_ARG, 4, MOVR(3, 1), MOV(1, 0), MOV(2, 0), MOV(4, 8),
       CALL(REGION_WRITE), EXIT)
REJECT(helper_size_not_constant, HELPER_ARG, 6, ST(DW, 10, -8, 0), LDX(DW, 4, 1, CTX_ARG),
       MOV(1, 0), MOV(2, 0), MOVR(3, 10), ALU(ADD, 3, -8), CALL(REGION_WRITE), EXIT)
REJECT(helper_size_zero, HELPER_ARG, 5, MOV(1, 0), MOV(2, 0), MOVR(3, 10), ALU(ADD, 3, -8),
       MOV(4, 0), CALL(REGION_WRITE), EXIT)
REJECT(helper_stack_range_oob, OOB, 6, ST(DW, 10, -8, 0), MOV(1, 0), MOV(2, 0), MOVR(3, 10),
       ALU(ADD, 3, -8), MOV(4, 16), CALL(REGION_WRITE), EXIT)
REJECT(helper_uninit_stack, UNINIT_STACK, 6, ST(W, 10, -8, 0), MOV(1, 0), MOV(2, 0), MOVR(3, 10),
       ALU(ADD, 3, -8), MOV(4, 8), CALL(REGION_WRITE), EXIT)
ACCEPT(helper_result_is_number, CALL(TSC), ALU(RSH, 0, 3), EXIT)
/* Predicates (the kind these tests verify) only decide: no messages, no frames. */
REJECT(predicate_cannot_notify, BAD_HELPER, 3, MOV(1, 0), MOV(2, 0), MOV(3, 0), CALL(NOTIFY), EXIT)
REJECT(predicate_cannot_transmit, BAD_HELPER, 3, MOV(1, 0), MOV(2, 0), MOV(3, 0), CALL(TX), EXIT)

/* --- loops and budget --------------------------------------------------------------------- */

ACCEPT(infinite_loop_has_budget, MOV(0, 0), JA(-1))

TEST(accept, loop_sets_budget_costs)
{
	expect_verdict(PROG(MOV(0, 0), MOV(2, 0), ALUR(ADD, 0, 2), ALU(ADD, 2, 1),
			    JMP(JLT, 2, 100, -3), EXIT),
		       0, BPF_OK, 0);
	CHECK(hp.prog.p_loops);
	CHECK_EQ(hp.prog.p_budget, BPF_BUDGET_WAKEUP);
	CHECK_EQ(hp.aux[0].a_cost, 2);
	CHECK_EQ(hp.aux[2].a_cost, 3);
	CHECK_EQ(hp.aux[5].a_cost, 1);
	CHECK_EQ(hp.aux[1].a_cost, 0);
}

TEST(accept, loop_free_program_costs_nothing)
{
	expect_verdict(PROG(MOV(0, 0), JMP(JEQ, 0, 1, 1), MOV(0, 1), EXIT), 0, BPF_OK, 0);
	CHECK(!hp.prog.p_loops);
	for (int k = 0; k < 4; k++)
		CHECK_EQ(hp.aux[k].a_cost, 0);
}

/* A loop over a region, indexed by a counter the verifier widens at the loop
 * header: the access gets a run-time guard. */
ACCEPT(loop_over_region_guarded, MOV(0, 0), MOV(2, 0), LDREG(3, 0, 0), MOVR(4, 3), ALUR(ADD, 4, 2),
       LDX(B, 5, 4, 0), ALUR(ADD, 0, 5), ALU(ADD, 2, 1), JMP(JLT, 2, 64, -6), EXIT)

TEST(reject, too_complex)
{
	/* A loop whose header changes a few times before it widens: more
	 * instruction visits than its length, fewer than the limit set here. */
	struct bpf_insn p[] = {
		MOV(0, 0), MOV(2, 0), ALUR(ADD, 0, 2), ALU(ADD, 2, 1), JMP(JLT, 2, 100, -3), EXIT
	};
	CHECK_EQ(h_verify(&hp, p, 6, NULL, 0), BPF_OK);
	uint32_t work = hp.prog.p_work;
	CHECK(work > 6);
	memset(&hp.prog, 0, sizeof(hp.prog));
	hp.prog = (struct bpf_prog){ .p_kind = BPF_KIND_WAKEUP,
				     .p_len = 6,
				     .p_insns = p,
				     .p_aux = hp.aux,
				     .p_max_work = work - 1 };
	char scratch[1 << 16];
	CHECK_EQ(bpf_verify(&hp.prog, 0, scratch, sizeof(scratch), &hp.err), BPF_ERR_TOO_COMPLEX);
	hp.prog.p_max_work = work;
	CHECK_EQ(bpf_verify(&hp.prog, 0, scratch, sizeof(scratch), &hp.err), BPF_OK);
}

/* --- runs: arithmetic ---------------------------------------------------------------------- */

RUN(return_constant, 42, MOV(0, 42), EXIT)
RUN(read_ctx, 42, LDX(DW, 0, 1, CTX_ARG), EXIT)
RUN(read_ctx_bytes, 0x07, LDX(B, 0, 1, CTX_ENV), EXIT)
RUN(mul, 42, MOV(0, 7), ALU(MUL, 0, 6), EXIT)
RUN(div_by_zero_reg, 0, MOV(0, 10), MOV(2, 0), ALUR(DIV, 0, 2), EXIT)
RUN(mod_by_zero_reg, 10, MOV(0, 10), MOV(2, 0), ALUR(MOD, 0, 2), EXIT)
RUN(div_by_zero_const, 0, MOV(0, 10), ALU(DIV, 0, 0), EXIT)
RUN(mod_by_zero_const, 10, MOV(0, 10), ALU(MOD, 0, 0), EXIT)
RUN(div32_by_zero, 0, LDIMM(0, 0x100000005ull), MOV(2, 0), ALU32R(DIV, 0, 2), EXIT)
RUN(mod32_by_zero_zero_extends, 5, LDIMM(0, 0x100000005ull), MOV(2, 0), ALU32R(MOD, 0, 2), EXIT)
RUN(mod32_by_zero_const, 5, LDIMM(0, 0x100000005ull), ALU32(MOD, 0, 0), EXIT)
RUN(div32_uses_low_halves, 2, LDIMM(0, 0x500000004ull), LDIMM(2, 0x700000002ull), ALU32R(DIV, 0, 2),
    EXIT)
RUN(div32_divisor_low_half_zero, 0, MOV(0, 9), LDIMM(2, 0x100000000ull), ALU32R(DIV, 0, 2), EXIT)
RUN(div_unsigned, 0x7fffffffffffffffull, MOV(0, -1), MOV(2, 2), ALUR(DIV, 0, 2), EXIT)
RUN(div_imm_sign_extended, 1, MOV(0, -1), ALU(DIV, 0, -1), EXIT)
RUN(div_dst_in_rdx, 3, MOV(3, 21), MOV(0, 7), ALUR(DIV, 3, 0), MOVR(0, 3), EXIT)
RUN(mod_src_in_rdx, 6, MOV(0, 20), MOV(3, 7), ALUR(MOD, 0, 3), EXIT)
RUN(div_keeps_other_regs, 15, MOV(0, 5), MOV(3, 10), MOV(4, 2), ALUR(DIV, 4, 4), ALUR(ADD, 0, 3),
    EXIT)
RUN(alu32_zero_extends, 0, MOV(0, -1), ALU32(ADD, 0, 1), EXIT)
RUN(mov32_zero_extends, 0xffffffffull, MOV(0, -1), MOV32R(0, 0), EXIT)
RUN(mov32_imm, 0xfffffffeull, MOV32(0, -2), EXIT)
RUN(mov64_imm_sign_extends, 0xfffffffffffffffeull, MOV(0, -2), EXIT)
RUN(shift_count_masked, 2, MOV(0, 1), ALU(LSH, 0, 65), EXIT)
RUN(shift_reg_count_masked, 4, MOV(0, 1), MOV(2, 66), ALUR(LSH, 0, 2), EXIT)
RUN(shift32_reg_count_masked, 2, MOV(0, 1), MOV(2, 33), ALU32R(LSH, 0, 2), EXIT)
RUN(shift32_by_zero_zero_extends, 0xffffffffull, MOV(0, -1), MOV(2, 0), ALU32R(LSH, 0, 2), EXIT)
RUN(shift32_imm_zero_zero_extends, 0xffffffffull, MOV(0, -1), ALU32(RSH, 0, 0), EXIT)
RUN(shift_dst_is_count_reg, 40, MOV(4, 5), MOV(2, 3), ALUR(LSH, 4, 2), MOVR(0, 4), EXIT)
RUN(shift_by_count_reg, 20, MOV(0, 5), MOV(4, 2), ALUR(LSH, 0, 4), EXIT)
RUN(shift_count_in_same_reg, 0x800, MOV(2, 8), ALUR(LSH, 2, 2), MOVR(0, 2), EXIT)
RUN(rsh, 0x0fffffffffffffffull, MOV(0, -1), ALU(RSH, 0, 4), EXIT)
RUN(arsh, (uint64_t)-4, MOV(0, -16), ALU(ARSH, 0, 2), EXIT)
RUN(arsh32, 0xfffffffcull, MOV(0, -16), ALU32(ARSH, 0, 2), EXIT)
RUN(neg, (uint64_t)-5, MOV(0, 5), NEG(0), EXIT)
RUN(neg32, 0xfffffffbull, MOV(0, 5), NEG32(0), EXIT)
RUN(be16, 0x3412, MOV(0, 0x1234), BE(0, 16), EXIT)
RUN(be32, 0x78563412, LDIMM(0, 0xff12345678ull), BE(0, 32), EXIT)
RUN(be64, 0xf0debc9a78563412ull, LDIMM(0, 0x123456789abcdef0ull), BE(0, 64), EXIT)
RUN(le16, 0x1234, MOV(0, -0xedcc), LE(0, 16), EXIT)
RUN(le32, 0x9abcdef0, LDIMM(0, 0x123456789abcdef0ull), LE(0, 32), EXIT)
RUN(le64, 0x123456789abcdef0ull, LDIMM(0, 0x123456789abcdef0ull), LE(0, 64), EXIT)
RUN(be16_high_reg, 0x3412, MOV(9, 0x1234), BE(9, 16), MOVR(0, 9), EXIT)
RUN(ld_imm64, 0x123456789abcdef0ull, LDIMM(0, 0x123456789abcdef0ull), EXIT)
RUN(xor_or_and, 0x0f, MOV(0, 0xff), ALU(AND, 0, 0x3c), ALU(OR, 0, 0x03), ALU(XOR, 0, 0x30), EXIT)
RUN(sub, (uint64_t)-1, MOV(0, 1), MOV(2, 2), ALUR(SUB, 0, 2), EXIT)
RUN(mul32_wraps, 0, MOV(0, 0x10000), ALU32R(MUL, 0, 0), EXIT)
RUN(mul_imm_sign_extended, (uint64_t)-6, MOV(0, 3), ALU(MUL, 0, -2), EXIT)

/* --- runs: jumps ---------------------------------------------------------------------------- */

RUN(jmp32_compares_low_half, 1, LDIMM(2, 0x100000001ull), MOV(0, 0), JMP32(JEQ, 2, 1, 1), EXIT,
    MOV(0, 1), EXIT)
RUN(jmp64_compares_all, 0, LDIMM(2, 0x100000001ull), MOV(0, 0), JMP(JEQ, 2, 1, 1), EXIT, MOV(0, 1),
    EXIT)
RUN(jsgt_negative, 1, MOV(2, -1), MOV(0, 0), JMP(JSGT, 2, -2, 1), EXIT, MOV(0, 1), EXIT)
RUN(jgt_unsigned, 1, MOV(2, -1), MOV(0, 0), JMP(JGT, 2, 5, 1), EXIT, MOV(0, 1), EXIT)
RUN(jslt32, 1, MOV32(2, -5), MOV(0, 0), JMP32(JSLT, 2, 0, 1), EXIT, MOV(0, 1), EXIT)
RUN(jset, 1, MOV(2, 6), MOV(0, 0), JMP(JSET, 2, 4, 1), EXIT, MOV(0, 1), EXIT)
RUN(jset_reg_clear, 0, MOV(2, 6), MOV(3, 9), MOV(0, 0), JMPR(JSET, 2, 3, 1), EXIT, MOV(0, 1), EXIT)
RUN(jle_reg, 1, MOV(2, 3), MOV(3, 3), MOV(0, 0), JMPR(JLE, 2, 3, 1), EXIT, MOV(0, 1), EXIT)
RUN(compare_stack_pointers_taken, 1, MOVR(2, 10), ALU(ADD, 2, -8), MOV(0, 0), JMPR(JGT, 10, 2, 1),
    EXIT, MOV(0, 1), EXIT)

/* --- runs: memory ----------------------------------------------------------------------------- */

RUN(stack_round_trip, 0x1122334455667788ull, LDIMM(2, 0x1122334455667788ull), STX(DW, 10, 2, -16),
    LDX(DW, 0, 10, -16), EXIT)
RUN(stack_bytes, 0x0302, ST(B, 10, -1, 2), ST(B, 10, -2, 3), LDX(H, 0, 10, -2), ALU(AND, 0, 0xffff),
    BE(0, 16), EXIT)
RUN(stack_unaligned_word, 0xaabbccdd, ST(DW, 10, -16, 0), MOV32(2, 0xaabbccdd), STX(W, 10, 2, -11),
    LDX(W, 0, 10, -11), EXIT)
RUN(st_dw_sign_extends, (uint64_t)-3, ST(DW, 10, -8, -3), LDX(DW, 0, 10, -8), EXIT)
RUN(store_byte_from_rsi_rdi, 0x0504, MOV(1, 4), MOV(2, 5), STX(B, 10, 1, -2), STX(B, 10, 2, -1),
    LDX(H, 0, 10, -2), EXIT)
RUN(spilled_pointer_restored, 42, STX(DW, 10, 1, -8), MOV(1, 0), LDX(DW, 2, 10, -8),
    LDX(DW, 0, 2, CTX_ARG), EXIT)
RUN(spilled_constant_keeps_value, 200, ST(DW, 10, -8, CTX_TSC), LDX(DW, 2, 10, -8), MOVR(3, 1),
    ALUR(ADD, 3, 2), LDX(DW, 0, 3, 0), EXIT)
RUN(region_read, 5, LDREG(2, 0, 0), LDX(B, 0, 2, 5), EXIT)
RUN(region_read_with_offset, 0x13121110, LDREG(2, 1, 0), LDX(W, 0, 2, 0), EXIT)
RUN(region_pointer_with_offset, 0x1d1c, LDREG(2, 1, 12), LDX(H, 0, 2, 0), EXIT)
RUN(region_write_then_read, 9, LDREG(2, 0, 0), ST(B, 2, 3, 9), LDX(B, 0, 2, 3), EXIT)
RUN(region_write_only_store, 0, LDREG(2, 2, 0), ST(DW, 2, 0, 77), MOV(0, 0), EXIT)
RUN(region_checked_index, 42, LDX(DW, 2, 1, CTX_ARG), MOV(0, 0), JMP(JGE, 2, 64, 4), LDREG(3, 0, 0),
    ALUR(ADD, 3, 2), LDX(B, 0, 3, 0), EXIT)
RUN_ARG(region_guard_passes, 63, 63, BPF_RUN_OK, LDX(DW, 2, 1, CTX_ARG), LDREG(3, 0, 0),
	ALUR(ADD, 3, 2), LDX(B, 0, 3, 0), EXIT)
RUN_ARG(region_guard_faults_past_end, 64, 0, BPF_RUN_FAULT, LDX(DW, 2, 1, CTX_ARG), LDREG(3, 0, 0),
	ALUR(ADD, 3, 2), LDX(B, 0, 3, 0), EXIT)
RUN_ARG(region_guard_faults_straddling, 60, 0, BPF_RUN_FAULT, LDX(DW, 2, 1, CTX_ARG),
	LDREG(3, 0, 0), ALUR(ADD, 3, 2), LDX(DW, 0, 3, 0), EXIT)
RUN_ARG(region_guard_faults_below, -1, 0, BPF_RUN_FAULT, LDX(DW, 2, 1, CTX_ARG), LDREG(3, 0, 0),
	ALUR(ADD, 3, 2), LDX(B, 0, 3, 0), EXIT)
RUN_ARG(region_guarded_store, 10, 10, BPF_RUN_OK, LDX(DW, 2, 1, CTX_ARG), LDREG(3, 0, 0),
	ALUR(ADD, 3, 2), ST(B, 3, 0, 10), LDREG(4, 0, 0), LDX(B, 0, 4, 10), EXIT)
RUN_ARG(region_guarded_store_faults, 8, 0, BPF_RUN_FAULT, LDX(DW, 2, 1, CTX_ARG), LDREG(3, 2, 0),
	ALUR(ADD, 3, 2), STX(B, 3, 2, 0), MOV(0, 1), EXIT)
RUN_ARG(region_fault_after_write_keeps_write, 100, 0, BPF_RUN_FAULT, LDREG(4, 0, 0),
	ST(B, 4, 0, 99), LDX(DW, 2, 1, CTX_ARG), LDREG(3, 0, 0), ALUR(ADD, 3, 2), LDX(B, 0, 3, 0),
	EXIT)

/* --- runs: helpers -------------------------------------------------------------------------------- */

RUN(helper_tsc, 123456789, CALL(TSC), EXIT)
RUN(helper_region_read_u64, 0x0f0e0d0c0b0a0908ull, MOV(1, 0), MOV(2, 8), CALL(REGION_READ_U64),
    EXIT)
RUN(helper_region_read_u64_out_of_range, 0, MOV(1, 0), MOV(2, 57), CALL(REGION_READ_U64), EXIT)
RUN(helper_region_read_u64_no_region, 0, MOV(1, 7), MOV(2, 0), CALL(REGION_READ_U64), EXIT)
RUN(helper_region_read_u64_write_only, 0, MOV(1, 2), MOV(2, 0), CALL(REGION_READ_U64), EXIT)
RUN(helper_region_write, 0x1122334455667788ull, LDIMM(2, 0x1122334455667788ull), STX(DW, 10, 2, -8),
    MOV(1, 0), MOV(2, 16), MOVR(3, 10), ALU(ADD, 3, -8), MOV(4, 8), CALL(REGION_WRITE),
    LDREG(2, 0, 0), LDX(DW, 0, 2, 16), EXIT)
RUN(helper_region_write_read_only, (uint64_t)-E_PERM, ST(DW, 10, -8, 1), MOV(1, 1), MOV(2, 0),
    MOVR(3, 10), ALU(ADD, 3, -8), MOV(4, 8), CALL(REGION_WRITE), EXIT)
RUN(helper_region_write_out_of_range, (uint64_t)-E_RANGE, ST(DW, 10, -8, 1), MOV(1, 0), MOV(2, 57),
    MOVR(3, 10), ALU(ADD, 3, -8), MOV(4, 8), CALL(REGION_WRITE), EXIT)
RUN(helper_keeps_callee_saved, 10, MOV(6, 1), MOV(7, 2), MOV(8, 3), MOV(9, 4), CALL(TSC),
    MOVR(0, 6), ALUR(ADD, 0, 7), ALUR(ADD, 0, 8), ALUR(ADD, 0, 9), EXIT)
RUN(helper_keeps_stack, 7, ST(DW, 10, -512, 7), CALL(TSC), LDX(DW, 0, 10, -512), EXIT)

/* --- runs: loops and the budget ------------------------------------------------------------------- */

RUN(counted_loop, 4950, MOV(0, 0), MOV(2, 0), ALUR(ADD, 0, 2), ALU(ADD, 2, 1), JMP(JLT, 2, 100, -3),
    EXIT)
RUN_ARG(infinite_loop_runs_out, 42, 0, BPF_RUN_BUDGET, MOV(0, 1), JA(-1))
RUN_ARG(long_loop_runs_out, 42, 0, BPF_RUN_BUDGET, MOV(0, 0), ALU(ADD, 0, 1),
	JMP(JLT, 0, 1000000, -2), EXIT)
RUN(loop_sums_region, 2016, MOV(0, 0), MOV(2, 0), LDREG(3, 0, 0), MOVR(4, 3), ALUR(ADD, 4, 2),
    LDX(B, 5, 4, 0), ALUR(ADD, 0, 5), ALU(ADD, 2, 1), JMP(JLT, 2, 64, -6), EXIT)

/* The budget stops both engines at the same block for every budget. */
TEST(run, budget_boundaries_agree)
{
	struct h_mem m;
	std_mem(&m, 42);
	int r = h_verify(&hp,
			 PROG(MOV(0, 0), MOV(2, 0), ALUR(ADD, 0, 2), ALU(ADD, 2, 1),
			      JMP(JLT, 2, 10, -3), MOV(3, 1), JMP(JEQ, 3, 1, 1), MOV(0, 7), EXIT),
			 &m, 0);
	CHECK_EQ(r, BPF_OK);
	struct h_jit j;
	CHECK_EQ(h_jit_compile(&hp, &j), 0);
	int aborted = 0;
	for (uint64_t b = 1; b < 60; b++) {
		struct h_run out;
		const char *why = h_compare(&hp, &j, &m, b, &out);
		CHECK_MSG(!why, "budget %llu: engines differ in %s", (unsigned long long)b, why);
		aborted += out.status == BPF_RUN_BUDGET;
	}
	/* 2 + 10 * 3 + 2 + 1 units for a full run */
	CHECK_EQ(aborted, 34);
	h_jit_free(&j);
	h_mem_free(&m);
}

TEST(jit, buffer_too_small)
{
	struct h_mem m;
	std_mem(&m, 42);
	CHECK_EQ(h_verify(&hp, PROG(MOV(0, 1), EXIT), &m, 0), BPF_OK);
	size_t need = 0, got = 0;
	CHECK_EQ(bpf_jit(&hp.prog, NULL, 0, &need), -E_TOO_BIG);
	CHECK(need > 0);
	uint8_t *buf = malloc(need);
	CHECK_EQ(bpf_jit(&hp.prog, buf, need - 1, &got), -E_TOO_BIG);
	CHECK_EQ(got, need);
	CHECK_EQ(bpf_jit(&hp.prog, buf, need, &got), 0);
	free(buf);
	h_mem_free(&m);
}

TEST(jit, refuses_unverified)
{
	CHECK_EQ(h_verify(&hp, PROG(MOVR(0, 2), EXIT), NULL, 0), BPF_ERR_UNINIT_REG);
	size_t need;
	CHECK_EQ(bpf_jit(&hp.prog, NULL, 0, &need), -E_INVAL);
}

TEST(jit, code_is_position_independent)
{
	struct h_mem m;
	std_mem(&m, 42);
	CHECK_EQ(h_verify(&hp,
			  PROG(MOV(0, 0), MOV(2, 0), ALUR(ADD, 0, 2), ALU(ADD, 2, 1),
			       JMP(JLT, 2, 100, -3), CALL(TSC), EXIT),
			  &m, 0),
		 BPF_OK);
	size_t need;
	bpf_jit(&hp.prog, NULL, 0, &need);
	uint8_t *a = malloc(need), *b = malloc(need);
	CHECK_EQ(bpf_jit(&hp.prog, a, need, &need), 0);
	CHECK_EQ(bpf_jit(&hp.prog, b, need, &need), 0);
	CHECK(memcmp(a, b, need) == 0);
	free(a);
	free(b);
	h_mem_free(&m);
}

TEST(misc, error_messages)
{
	CHECK_STREQ(bpf_error_message(BPF_ERR_OOB), "memory access out of bounds");
	CHECK_STREQ(bpf_error_message(0), "ok");
	CHECK_STREQ(bpf_error_message(1000), "unknown error");
	CHECK_STREQ(bpf_error_message(-1), "unknown error");
	for (int e = 1; e < BPF_ERR_COUNT_PLUS_ONE; e++)
		CHECK(strcmp(bpf_error_message(e), "unknown error") != 0);
	CHECK(bpf_kind_desc(BPF_KIND_WAKEUP) != NULL);
	CHECK(bpf_kind_desc(0) == NULL);
	CHECK(bpf_kind_desc(1000) == NULL);
}

/* --- packet handlers' helpers, called directly ------------------------------------------- */

static int sent_len;
static int fake_tx(const void *frame, uint64_t len)
{
	(void)frame;
	sent_len = (int)len;
	return 0;
}

static void *notified_owner;
static uint64_t notified[3];

static long fake_notify(void *owner, uint64_t a0, uint64_t a1, uint64_t a2)
{
	notified_owner = owner;
	notified[0] = a0, notified[1] = a1, notified[2] = a2;
	return a0 == 99 ? -E_FULL : 0;
}

TEST(helpers, notify)
{
	struct bpf_runtime rt;
	memset(&rt, 0, sizeof(rt));
	bpf_helper_fn *notify = bpf_helpers[BPF_HELPER_NOTIFY].h_fn;
	CHECK_EQ((int64_t)notify(1, 2, 3, 0, 0, &rt), -E_PERM); /* no env to tell */
	int owner;
	rt.rt_notify = fake_notify;
	rt.rt_owner = &owner;
	CHECK_EQ(notify(1, 2, 3, 4, 5, &rt), 0u);
	CHECK(notified_owner == &owner);
	CHECK(notified[0] == 1 && notified[1] == 2 && notified[2] == 3);
	CHECK_EQ((int64_t)notify(99, 0, 0, 0, 0, &rt), -E_FULL); /* the env's error, passed on */
}

TEST(helpers, copy_csum_and_tx)
{
	uint8_t src[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			    0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	uint8_t dst[21] = { 0 };
	struct bpf_runtime rt;
	memset(&rt, 0, sizeof(rt));
	rt.rt_nregions = 2;
	rt.rt_region_base[0] = (uint64_t)(uintptr_t)src;
	rt.rt_region_len[0] = sizeof(src);
	rt.rt_region_flags[0] = BPF_REGION_READ;
	rt.rt_region_base[1] = (uint64_t)(uintptr_t)dst;
	rt.rt_region_len[1] = sizeof(dst);
	rt.rt_region_flags[1] = BPF_REGION_READ | BPF_REGION_WRITE;
	bpf_helper_fn *csum = bpf_helpers[BPF_HELPER_COPY_CSUM].h_fn;
	bpf_helper_fn *tx = bpf_helpers[BPF_HELPER_TX].h_fn;
	/* RFC 1071's example header: its sum is 0x479e (checksum 0xb861) */
	CHECK_EQ(csum(1, 0, 0, 0, 20, &rt), 0x479eu);
	CHECK(memcmp(dst, src, 20) == 0);
	CHECK_EQ(csum(1, 1, 0, 0, 1, &rt), 0x4500u); /* an odd byte is the high half */
	CHECK_EQ(csum(1, 0, 0, 0, 0, &rt), 0u);
	CHECK_EQ((int64_t)csum(0, 0, 1, 0, 4, &rt), -E_PERM); /* region 0 is read-only */
	CHECK_EQ((int64_t)csum(1, 2, 0, 0, 20, &rt), -E_RANGE); /* past the end */
	CHECK_EQ((int64_t)csum(1, 0, 0, UINT64_MAX, 2, &rt), -E_RANGE);
	CHECK_EQ((int64_t)csum(2, 0, 0, 0, 1, &rt), -E_RANGE); /* no such region */
	CHECK_EQ((int64_t)tx(0, 0, 20, 0, 0, &rt), -E_PERM); /* no transmitter here */
	rt.rt_tx = fake_tx;
	CHECK_EQ(tx(0, 0, 20, 0, 0, &rt), 0u);
	CHECK_EQ(sent_len, 20);
	CHECK_EQ((int64_t)tx(0, 4, 20, 0, 0, &rt), -E_RANGE);
	CHECK_EQ((int64_t)tx(0, 0, UINT64_MAX, 0, 0, &rt), -E_RANGE);
}
