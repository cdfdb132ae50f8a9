/*
 * Loading downloaded code from an ELF relocatable object, as produced by
 * `clang -O2 -target bpf -c prog.c`: the library OS reads the object, takes
 * one program section out of it, resolves its references to granted regions
 * and hands the instructions to the kernel.
 *
 * Freestanding (no allocation): the caller gives the image and the output
 * array. The image is untrusted input: every offset and size is checked.
 *
 * One program per section: execution starts at the section's first
 * instruction. Relocations handled: R_BPF_64_64 on an LD_IMM64 against an
 * undefined symbol (`extern struct shared region0;` in C), which the caller's
 * resolver maps to a region number; the instruction becomes
 * LD_IMM64 BPF_PSEUDO_REGION with the symbol's addend as the offset. Anything
 * else (global data sections, calls between functions) is refused.
 */
#ifndef EXO_LIB_BPF_ELF_H
#define EXO_LIB_BPF_ELF_H

#include <inc/bpf.h>

/* Region number for an undefined symbol, or < 0 if there is none. */
typedef int bpf_elf_resolve_fn(void *arg, const char *name);

/* Copies section `section` (NULL: the first non-empty executable section) of
 * the image into out[max], applying its relocations; *len gets the number of
 * slots. Returns 0, or -E_BAD_ELF (malformed or not a BPF relocatable
 * object), -E_NOT_FOUND (no such section, or a symbol the resolver does not
 * know; resolve may be NULL), -E_TOO_BIG (more than max slots), -E_INVAL (a
 * relocation or reference Exo does not support). */
int bpf_elf_load(const void *image, size_t size, const char *section, struct bpf_insn *out,
		 uint32_t max, uint32_t *len, bpf_elf_resolve_fn *resolve, void *arg);

#endif
