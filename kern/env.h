#ifndef EXO_KERN_ENV_H
#define EXO_KERN_ENV_H

#include <inc/env.h>
#include <kern/mmu.h>
#include <kern/trap.h>

enum env_block {
	BLOCK_NONE = 0,
	BLOCK_CONSOLE,  /* in sys_cgetc, waiting for input */
	BLOCK_WAIT,     /* in sys_env_wait, waiting for env_wait_for to die */
};

/* The kernel's private part of an env; the public part is *env_info. */
struct env {
	struct trapframe env_tf;      /* user registers while not running */
	envid_t env_id;               /* == env_info->env_id while alive */
	struct env_info *env_info;    /* its exposed entry at UENVS */
	pte_t *env_pml4;              /* its address space */
	physaddr_t env_cr3;
	uint32_t env_page_list;       /* first page it owns (pmap.c's lists) */
	uint64_t env_upcall_entry;    /* exception entry, 0: none */
	uint64_t env_xstack_lo, env_xstack_hi;
	uint32_t env_block;           /* enum env_block when ENV_BLOCKED */
	envid_t env_wait_for;         /* BLOCK_WAIT: the child */
	struct env *env_free_next;    /* free slots, oldest first */
	struct env *env_rq_next, *env_rq_prev; /* run queue (sched.c) */
	uint8_t env_fpu[512] __attribute__((aligned(16))); /* fxsave image */
};

extern struct env envs[NENV];
extern struct env_info env_infos[NENV];
extern envid_t first_envid;

void env_init(void);
/* The live (not free, not zombie) env with this id, or NULL. */
struct env *env_lookup(envid_t id);
/* Create an env running the boot image's program name with argument string
 * args; parent NULL for the first env. Returns its id or -E_*. */
long env_create(struct env *parent, const char *name, const char *args);
/* Kill e with the given exit status and (for EXIT_KILLED) reason. */
void env_destroy(struct env *e, uint32_t exit_status, const char *reason);
/* Kill e for misbehaving: logs the reason and the state it died in. */
void env_kill(struct env *e, const struct trapframe *tf, const char *fmt, ...);
/* Free a zombie's slot once its parent has collected the status. */
void env_reap(struct env *e);
/* Is anc an ancestor of e (or e itself)? */
bool env_is_ancestor(envid_t anc, const struct env *e);
/* Switch to e and return to user mode. */
void env_run(struct env *e) __attribute__((noreturn));
void env_set_status(struct env *e, enum env_status s);

/* Scheduler (sched.c). */
void sched_yield(void) __attribute__((noreturn));

#endif
