/*
 * For downloaded code written in restricted C (clang -O2 -target bpf -c):
 * the context structs and helper ids come from inc/bpf.h; this adds the
 * helpers as callable functions and the section attribute. Granted regions
 * are declared as extern objects named region0, region1, ...: the loader
 * (lib/base/bpf_elf.c) asks its resolver for each name.
 */
#ifndef EXO_LIB_BPFPROG_H
#define EXO_LIB_BPFPROG_H

#include <inc/bpf.h>

#define SEC(name) __attribute__((section(name), used))

/* A helper is a call to its id: clang emits `call id` for a constant pointer. */
static uint64_t (*const bpf_tsc)(void) = (void *)BPF_HELPER_TSC;
static uint64_t (*const bpf_region_read_u64)(uint64_t region,
					     uint64_t off) = (void *)BPF_HELPER_REGION_READ_U64;
static int64_t (*const bpf_region_write)(uint64_t region, uint64_t off, const void *src,
					 uint64_t len) = (void *)BPF_HELPER_REGION_WRITE;

static int64_t (*const bpf_copy_csum)(uint64_t dst_region, uint64_t dst_off, uint64_t src_region,
				      uint64_t src_off,
				      uint64_t len) = (void *)BPF_HELPER_COPY_CSUM;
static int64_t (*const bpf_tx)(uint64_t region, uint64_t off, uint64_t len) = (void *)BPF_HELPER_TX;
static int64_t (*const bpf_notify)(uint64_t a0, uint64_t a1,
				   uint64_t a2) = (void *)BPF_HELPER_NOTIFY;

#endif
