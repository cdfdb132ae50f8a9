/*
 * Environments as user space sees them: ids, states and the exposed env table
 * (struct env_info[NENV], read-only at UENVS). The kernel's own per-env state
 * (saved registers, page tables) is private and never mapped to users.
 */
#ifndef EXO_INC_ENV_H
#define EXO_INC_ENV_H

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
#define ENV_REASON_LEN 96

struct env_info {
	envid_t env_id;         /* current (or last) occupant; 0: never used */
	envid_t env_parent_id;  /* 0 when orphaned or the first env */
	uint32_t env_status;    /* enum env_status */
	uint32_t env_exit;      /* exit status once dead (EXIT_*) */
	uint32_t env_pages;     /* physical pages owned, page tables included */
	uint32_t env_cpu;       /* CPU it last ran on */
	uint64_t env_runs;      /* times the kernel resumed it */
	char env_name[ENV_NAME_LEN];      /* program name */
	char env_reason[ENV_REASON_LEN];  /* why the kernel killed it, or "" */
};

_Static_assert(sizeof(struct env_info) == 160, "env_info is exposed ABI");

#endif
