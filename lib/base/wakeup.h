/*
 * Wakeup predicates in the library OS: load one from an ELF object built
 * with clang -target bpf (section "wakeup"; regions named region0..7), or
 * from instructions, and sleep until it holds (sys_env_sleep_until).
 */
#ifndef EXO_LIB_WAKEUP_H
#define EXO_LIB_WAKEUP_H

#include <inc/bpf.h>
#include <inc/types.h>

/* Load the predicate; returns its slot or -E_* (E_REFUSED: *err, if not
 * NULL, says which instruction and why). */
long wakeup_load(const struct bpf_insn *insns, uint32_t n, const struct bpf_grant *grants,
		 uint32_t ngrants, struct bpf_load_error *err);
long wakeup_load_elf(const void *obj, size_t size, const struct bpf_grant *grants, uint32_t ngrants,
		     struct bpf_load_error *err);

/* Any kind, from an ELF object's section (a packet handler: "packet"; its
 * grants are regions 1 and up, region 0 being the frame). */
long bpf_load_elf(uint32_t kind, const char *section, const void *obj, size_t size,
		  const struct bpf_grant *grants, uint32_t ngrants, struct bpf_load_error *err);

/* Load the packet handler in obj's section "packet" (grants: regions 1 and
 * up) and attach it to packet filter `filter` (net_filter_ash): its slot,
 * or -E_* (E_REFUSED: *err says why; a handler that cannot be attached is
 * unloaded again). */
long bpf_attach_packet(long filter, const void *obj, size_t size, const struct bpf_grant *grants,
		       uint32_t ngrants, struct bpf_load_error *err);

/* The downloaded code carried in the library OS (user/bpf/NAME.c). */
extern const char bpfobj_pipe_ready[], bpfobj_pipe_ready_end[];
extern const char bpfobj_udp_echo_ash[], bpfobj_udp_echo_ash_end[];
extern const char bpfobj_udp_notify_ash[], bpfobj_udp_notify_ash_end[];

#endif
