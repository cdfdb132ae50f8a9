/*
 * libFuzzer target: verifier + interpreter + JIT agreement. The input drives
 * the program generator of test/bpf/gen.h (and, when its first byte is odd,
 * flips bits in the result, so that also invalid programs reach the
 * verifier), then the inputs: context, region contents, budget. A program
 * the verifier accepts must run with no memory error in the interpreter
 * (AddressSanitizer; regions are allocated at their exact size) and give the
 * same r0, status, budget and region contents in the JIT; else it traps.
 */
#include "bpf/gen.h"
#include "bpf/harness.h"

static struct h_prog hp;
static struct bpf_insn prog[GEN_MAX_INSNS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct gen_src s = { .data = data + 1, .len = size - 1 };
	uint32_t len = gen_program(&s, prog);
	if (data[0] & 1) {
		int flips = 1 + data[0] / 64;
		for (int f = 0; f < flips; f++) {
			uint32_t at = gen_below(&s, len);
			((uint8_t *)&prog[at])[gen_below(&s, 8)] ^=
				(uint8_t)(1u << gen_below(&s, 8));
		}
	}
	struct h_mem m;
	h_mem_alloc(&m);
	if (h_verify(&hp, prog, len, &m, 0) == BPF_OK) {
		struct h_jit j;
		if (h_jit_compile(&hp, &j) != 0)
			__builtin_trap();
		for (int in = 0; in < 2; in++) {
			for (int k = 0; k < H_NREGIONS; k++)
				for (uint32_t b = 0; b < h_region_len[k]; b++)
					m.region[k][b] = gen_byte(&s);
			m.ctx->wc_ticks = gen_u64(&s);
			m.ctx->wc_tsc = gen_u64(&s);
			m.ctx->wc_arg = gen_below(&s, 2) ? gen_below(&s, 80) : gen_u64(&s);
			uint64_t budget = 1 + gen_below(&s, 3000);
			const char *why = h_compare(&hp, &j, &m, budget, NULL);
			if (why) {
				fprintf(stderr, "engines differ in %s\n", why);
				h_dump(stderr, prog, len);
				__builtin_trap();
			}
		}
		h_jit_free(&j);
	}
	h_mem_free(&m);
	return 0;
}
