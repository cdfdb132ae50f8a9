/*
 * Environments as user space sees them: ids, states and the exposed env table
 * (struct env_info[NENV], read-only at UENVS). The kernel's own per-env state
 * (saved registers, page tables) is private and never mapped to users.
 */
#ifndef EXO_INC_ENV_H
#define EXO_INC_ENV_H

#ifndef __ASSEMBLER__
#include <inc/types.h>

#define LOG2NENV 10
#define NENV (1 << LOG2NENV)   /* env table slots: bounded by UENVS' window */
#define ENVX(id) ((id) & (NENV - 1))

enum env_status {
	ENV_FREE = 0,   /* slot unused; the fields keep the last occupant's exit */
	ENV_RUNNABLE,   /* waiting for a CPU */
	ENV_RUNNING,    /* on env_cpu now */
	ENV_BLOCKED,    /* waiting in the kernel (console input, a child's exit) */
	ENV_ZOMBIE,     /* dead, owns nothing, exit status kept for its parent */
};

/* How an env ended, in the exit status returned by sys_env_wait. */
#define EXIT_CODE_MASK 0xff      /* the argument of sys_env_exit */
#define EXIT_KILLED 0x100        /* the kernel destroyed it: see env_reason */
#define EXIT_DESTROYED 0x200     /* another env destroyed it */

#define ENV_NAME_LEN 32
#define ENV_REASON_LEN 156 /* fills env_info to 256 bytes */

struct env_info {
	envid_t env_id;         /* current (or last) occupant; 0: never used */
	envid_t env_parent_id;  /* 0 when orphaned or the first env */
	uint32_t env_status;    /* enum env_status */
	uint32_t env_exit;      /* exit status once dead (EXIT_*) */
	uint32_t env_pages;     /* physical pages owned, page tables included */
	uint32_t env_user_pages; /* of which user pages: what env_page_limit bounds */
	uint32_t env_cpu;       /* CPU it last ran on */
	uint64_t env_runs;      /* times the kernel resumed it */
	uint32_t env_bindings;  /* bindings in its software TLB */
	uint32_t env_page_limit; /* most user pages it may own, set by its creator */
	uint32_t env_refills;   /* page faults the kernel resolved from the STLB */
	uint32_t env_upcalls;   /* upcalls delivered (exceptions, revocations) */
	uint32_t env_slices;    /* time-slice slots it owns */
	uint32_t env_overruns;  /* slice ends it did not yield by the budget */
	uint32_t env_pred_runs; /* times the kernel ran its wakeup predicate */
	char env_name[ENV_NAME_LEN];      /* program name */
	char env_reason[ENV_REASON_LEN];  /* why the kernel killed it, or "" */
};

_Static_assert(sizeof(struct env_info) == 256, "env_info is exposed ABI");

/* The lowest page limit an env may be given: room for its exception stack,
 * repossession vector, page tables and a little code. */
#define ENV_PAGES_MIN 32
/* The most pages an env may pin against the abort protocol (env_set_pinned),
 * beyond its exception stack and repossession vector. */
#define ENV_PINNED_MAX 64

/* One range of sys_env_exec_moves: the caller's bindings in [em_from,
 * em_from + em_npages pages) move to em_to (em_to == em_from: they stay). */
struct exec_move {
	uint64_t em_from, em_to, em_npages;
};
#define EXEC_MOVES_MAX 16 /* ranges per call: a program's segments, stack, hand-off */
#define EXEC_MOVE_PAGES_MAX 65536 /* pages in all ranges: bounds the call's work */

/* The registers sys_env_set_regs gives an unstarted env. */
struct env_regs {
	uint64_t r_rax, r_rbx, r_rcx, r_rdx, r_rsi, r_rdi, r_rbp;
	uint64_t r_r8, r_r9, r_r10, r_r11, r_r12, r_r13, r_r14, r_r15;
	uint64_t r_rip, r_rsp, r_rflags;
};

#endif /* __ASSEMBLER__ */

#endif
