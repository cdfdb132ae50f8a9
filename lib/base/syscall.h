/*
 * System call stubs for user programs, generated from inc/syscall.def: one
 * inline function sys_NAME per call, returning >= 0 or -E_*.
 *
 * The kernel preserves every register except %rax (the result) and %rcx/%r11
 * (which `syscall` itself overwrites), so a stub clobbers only those.
 */
#ifndef EXO_LIB_SYSCALL_H
#define EXO_LIB_SYSCALL_H

#include <inc/syscall.h>
#include <inc/types.h>

static inline long exo_syscall(uint64_t num, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
			       uint64_t a5)
{
	register uint64_t r10 __asm__("r10") = a4;
	register uint64_t r8 __asm__("r8") = a5;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(num), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

#define EXO_ARG(x) ((uint64_t)(x))
#define SYS0(n) \
	static inline long sys_##n(void) { return exo_syscall(SYS_##n, 0, 0, 0, 0, 0); }
#define SYS1(n, t1, a1) \
	static inline long sys_##n(t1 a1) \
	{ return exo_syscall(SYS_##n, EXO_ARG(a1), 0, 0, 0, 0); }
#define SYS2(n, t1, a1, t2, a2) \
	static inline long sys_##n(t1 a1, t2 a2) \
	{ return exo_syscall(SYS_##n, EXO_ARG(a1), EXO_ARG(a2), 0, 0, 0); }
#define SYS3(n, t1, a1, t2, a2, t3, a3) \
	static inline long sys_##n(t1 a1, t2 a2, t3 a3) \
	{ return exo_syscall(SYS_##n, EXO_ARG(a1), EXO_ARG(a2), EXO_ARG(a3), 0, 0); }
#define SYS4(n, t1, a1, t2, a2, t3, a3, t4, a4) \
	static inline long sys_##n(t1 a1, t2 a2, t3 a3, t4 a4) \
	{ return exo_syscall(SYS_##n, EXO_ARG(a1), EXO_ARG(a2), EXO_ARG(a3), EXO_ARG(a4), 0); }
#define SYS5(n, t1, a1, t2, a2, t3, a3, t4, a4, t5, a5) \
	static inline long sys_##n(t1 a1, t2 a2, t3 a3, t4 a4, t5 a5) \
	{ return exo_syscall(SYS_##n, EXO_ARG(a1), EXO_ARG(a2), EXO_ARG(a3), EXO_ARG(a4), \
			     EXO_ARG(a5)); }
#include <inc/syscall.def>
#undef SYS0
#undef SYS1
#undef SYS2
#undef SYS3
#undef SYS4
#undef SYS5
#undef EXO_ARG

#endif
