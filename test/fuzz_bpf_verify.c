/*
 * libFuzzer target: the verifier alone, on arbitrary bytes read as
 * instructions (with the standard regions of test/bpf/harness.h). It must
 * never crash, read outside its inputs and scratch, or take unbounded time;
 * whatever it accepts must compile in the JIT with the size it announced.
 */
#include <assert.h>

#include "bpf/harness.h"

static struct h_prog hp;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t n = (uint32_t)(size / sizeof(struct bpf_insn));
	if (n > BPF_MAX_INSNS)
		n = BPF_MAX_INSNS;
	memcpy(hp.insns, data, n * sizeof(struct bpf_insn));
	if (h_verify(&hp, hp.insns, n, NULL, 0) != BPF_OK)
		return 0;
	size_t need = 0, got = 0;
	if (bpf_jit(&hp.prog, NULL, 0, &need) != -E_TOO_BIG)
		__builtin_trap();
	uint8_t *buf = malloc(need);
	if (bpf_jit(&hp.prog, buf, need, &got) != 0 || got != need)
		__builtin_trap();
	free(buf);
	return 0;
}
