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

/*
 * Before a call that may block until another env acts (a sleep, a wait,
 * console input) or that makes, replaces or ends an env (create, fork,
 * exec, exit), libos_block_hook runs if a higher layer set it: a library
 * OS holding something its peers may wait for lets go of it first
 * (lib/posix's file tree, doc/fs.md "Holding the tree"). The test folds
 * away in every other stub, whose number is a constant.
 */
extern void (*libos_block_hook)(void);
static inline bool exo_call_blocks(uint64_t num)
{
	return num == SYS_cgetc || num == SYS_env_wait || num == SYS_env_sleep ||
	       num == SYS_env_sleep_until || num == SYS_env_sleep_child || num == SYS_page_sleep ||
	       num == SYS_page_sleep_any || num == SYS_net_wait || num == SYS_pct_call ||
	       num == SYS_env_create || num == SYS_env_fork || num == SYS_env_exec ||
	       num == SYS_env_exec_moves || num == SYS_env_exit;
}
static inline void exo_before(uint64_t num)
{
	if (exo_call_blocks(num) && libos_block_hook)
		libos_block_hook();
}

#define EXO_ARG(x) ((uint64_t)(x))
#define SYS0(n) \
	static inline long sys_##n(void) { exo_before(SYS_##n); return exo_syscall(SYS_##n, 0, 0, 0, 0, 0); }
#define SYS1(n, t1, a1) \
	static inline long sys_##n(t1 a1) \
	{ exo_before(SYS_##n); return exo_syscall(SYS_##n, EXO_ARG(a1), 0, 0, 0, 0); }
#define SYS2(n, t1, a1, t2, a2) \
	static inline long sys_##n(t1 a1, t2 a2) \
	{ exo_before(SYS_##n); return exo_syscall(SYS_##n, EXO_ARG(a1), EXO_ARG(a2), 0, 0, 0); }
#define SYS3(n, t1, a1, t2, a2, t3, a3) \
	static inline long sys_##n(t1 a1, t2 a2, t3 a3) \
	{ exo_before(SYS_##n); return exo_syscall(SYS_##n, EXO_ARG(a1), EXO_ARG(a2), EXO_ARG(a3), 0, 0); }
#define SYS4(n, t1, a1, t2, a2, t3, a3, t4, a4) \
	static inline long sys_##n(t1 a1, t2 a2, t3 a3, t4 a4) \
	{ exo_before(SYS_##n); return exo_syscall(SYS_##n, EXO_ARG(a1), EXO_ARG(a2), EXO_ARG(a3), EXO_ARG(a4), 0); }
#define SYS5(n, t1, a1, t2, a2, t3, a3, t4, a4, t5, a5) \
	static inline long sys_##n(t1 a1, t2 a2, t3 a3, t4 a4, t5 a5) \
	{ exo_before(SYS_##n); return exo_syscall(SYS_##n, EXO_ARG(a1), EXO_ARG(a2), EXO_ARG(a3), EXO_ARG(a4), \
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
