#ifndef EXO_KERN_ENV_H
#define EXO_KERN_ENV_H

#include <inc/cap.h>
#include <inc/bpf.h>
#include <inc/env.h>
#include <inc/quota.h>
#include <inc/upcall.h>
#include <kern/arch/mmu.h>
#include <kern/arch/trap.h>
#include <kern/mem/vmspace.h>

enum env_block {
	BLOCK_NONE = 0,
	BLOCK_CONSOLE,  /* in sys_cgetc, waiting for input */
	BLOCK_WAIT,     /* in sys_env_wait, waiting for env_wait_for to die */
	BLOCK_UNSTARTED, /* made by sys_env_fork, waiting for sys_env_start */
	BLOCK_PCT,      /* in sys_pct_call, waiting for env_pct_peer's reply */
	BLOCK_SLEEP,    /* in sys_env_sleep, until env_sleep_until or a PCT */
	BLOCK_DISK, /* a system call waits for the kernel's own disk I/O (kern/disk/kwait.c) */
};

/* An asynchronous protected control transfer waiting for its target. */
struct pct_msg {
	envid_t m_from;
	uint64_t m_args[PCT_ARGS];
};

/* Kernel state kept for an env in one page charged to it (PAGE_ENVMETA). */
struct kprog;

struct env_kpage {
	struct cap kp_ring[CAP_RING]; /* key ring */
	uint32_t kp_stlb[STLB_BUCKETS]; /* STLB chains (stlb.c) */
};

_Static_assert(sizeof(struct env_kpage) == PAGE_SIZE, "env_kpage is one page");

/* Where one kind of upcall (UPCALL_*) enters an env: the entry point and
 * the stack [lo, hi) it runs on (sys_env_set_upcall); entry 0: none. */
struct upcall_route {
	uint64_t ur_entry, ur_lo, ur_hi;
};

/* A word a sleeping env watches (page_sleep, page_sleep_any), as the
 * wake index (pagewait.c) holds it: hashed by physical address. */
struct page_watch {
	uint64_t w_pa;
	struct env *w_env;
	struct page_watch *w_next, **w_pprev;
};

/* The kernel's private part of an env; the public part is *env_info. */
struct env {
	struct trapframe env_tf; /* user registers while not running */
	envid_t env_id; /* == env_info->env_id while alive */
	struct env_info *env_info; /* its exposed entry at UENVS */
	struct vmspace *env_vm; /* its pages, STLB and page tables (vmspaces[]) */
	struct env_kpage *env_kpage; /* key ring and STLB buckets */
	struct cap env_guard; /* what a key must dominate to control it */
	struct upcall_route env_route[UPCALL_KINDS]; /* exceptions, PCT, slices */
	uint32_t env_block; /* enum env_block when ENV_BLOCKED */
	/* Revocation (revoke.c): give back pages until env_pages <= target. */
	bool env_revoking; /* a request is outstanding */
	bool env_revoke_upcall; /* T_REVOKE not yet delivered */
	bool env_repossess_upcall; /* T_REPOSSESS not yet delivered */
	uint32_t env_revoke_target;
	uint64_t env_revoke_deadline; /* in ticks */
	uint64_t env_rvec_va, env_rvec_n; /* repossession vector */
	uint64_t env_pinned_lo, env_pinned_hi; /* never repossessed */
	/* Protected control transfer (pct.c). */
	struct cap env_pct_guard; /* what a caller's key must dominate */
	envid_t env_pct_peer; /* BLOCK_PCT: whom it called */
	uint64_t env_pct_frame; /* the last frame pushed on its PCT stack */
	envid_t env_pct_frame_caller; /* whose call that frame is (0: a message) */
	bool env_pct_replied; /* it replied and has not run since */
	uint32_t env_pct_waiters; /* envs blocked in a call to it */
	struct pct_msg env_pct_q[PCT_QUEUE]; /* messages not yet delivered */
	uint32_t env_pct_qhead, env_pct_qlen;
	/* A message reached its handler while it was not asleep: the env may
	 * have looked for the handler's effect just before, then called
	 * env_sleep, so that sleep returns at once (pct.c). */
	bool env_pct_unslept;
	bool env_woken; /* sched_wake ended its sleep; env_run clears it */
	/* Time slices (slice.c). */
	uint64_t env_slice_started; /* slice number + 1 of its last prologue */
	uint64_t env_epilogue_sent; /* slice number of its last epilogue */
	bool env_overran; /* missed an epilogue budget: tell it */
	/* Downloaded code (dlcode.c). */
	struct kprog *env_progs[BPF_PROGS_PER_ENV];
	int env_sleep_pred;           /* sleeping on this program, or -1 */
	bool env_sleep_children;      /* in env_sleep_child: a child's death ends it */
	struct page_watch env_watch1; /* page_sleep's word, or page_sleep_any's only one */
	struct page_watch *env_watches; /* page_sleep_any's words: a page charged to it, or NULL */
	uint32_t env_nwatches; /* its words in the wake index now (0: none) */
	struct env *env_wake_next; /* a page_wake gathering its sleepers (pagewait.c) */
	bool env_sleep_any; /* in page_sleep_any: a death ends it */
	bool env_sleep_console; /* console input ends it (PAGE_SLEEP_CONSOLE) */
	uint64_t env_sleep_arg;
	/* Sleeping (sched.c). */
	uint64_t env_sleep_until; /* tick to wake at; UINT64_MAX: never */
	struct env *env_sleep_next, *env_sleep_prev;
	envid_t env_wait_for; /* BLOCK_WAIT: the child */
	struct env *env_free_next; /* free slots, oldest first */
	bool env_trace; /* log its system calls and upcalls (trace.c) */
	bool env_trace_children; /* the envs it creates start with env_trace */
	uint32_t env_nchildren; /* slots with env_parent_id == env_id */
	struct env *env_rq_next, *env_rq_prev; /* run queue (sched.c) */
	uint8_t env_fpu[512] __attribute__((aligned(16))); /* fxsave image */
};

extern struct env envs[NENV];
extern struct env_info env_infos[NENV];
extern envid_t first_envid;
/* The first env's family limits: the machine (set by kmain). */
extern uint64_t env_root_quota[QUOTA_KINDS];

void env_init(void);
/* The live (not free, not zombie) env with this id, or NULL. */
struct env *env_lookup(envid_t id);
/* Create an env running the boot image's program name with argument string
 * args, a child of parent under key (both NULL for the first env). Returns
 * its id or -E_*. */
long env_create(struct env *parent, const struct cap *key, const char *name, const char *args);
/* Replace e's program with the boot image's program name (args as for
 * env_create), keeping its id, family, keys and time. 0 (e's registers now
 * start the new program), -E_NOT_FOUND / -E_BAD_ELF / -E_NO_MEM / -E_QUOTA
 * (it would not fit) with nothing changed, or another -E_* after e has been
 * destroyed (then e is no longer alive). */
long env_exec(struct env *e, const char *name, const char *args);
/* Replace e's program with one it built in pages it binds: only the
 * bindings in moves[0..n)'s from-ranges stay, moved to their to-ranges
 * (checked by the caller: aligned, below UTOP, bounded, no to-range over
 * another's from-range); its other pages go; routes and registers are
 * reset (the caller then sets the registers). Cannot fail. */
void env_exec_moves(struct env *e, const char *name, const struct exec_move *m, unsigned n);
/* An unstarted child of parent under key with an empty address space and
 * parent's upcalls, for a library OS to fill (fork). Returns its id. */
long env_fork(struct env *parent, const struct cap *key);
/* Kill e with the given exit status and (for EXIT_KILLED) reason. */
void env_destroy(struct env *e, uint32_t exit_status, const char *reason);
/* Kill e for misbehaving: logs the reason and the state it died in. */
void env_kill(struct env *e, const struct trapframe *tf, const char *fmt, ...);
/* Its owner gives up user page ppn: the owner's bindings of it go; if other
 * envs still bind it, it passes to one of them, else it is freed. */
void page_release(ppn_t ppn);
/* Save the caller's registers (from the frame of the system call in
 * progress) in its env, to be resumed later with result in %rax. */
void syscall_save_caller(long result);
/* Free a zombie's slot once its parent has collected the status. */
void env_reap(struct env *e);
/* Is anc an ancestor of e (or e itself)? */
bool env_is_ancestor(envid_t anc, const struct env *e);
/* Switch to e and return to user mode. */
void env_run(struct env *e) __attribute__((noreturn));
void env_set_status(struct env *e, enum env_status s);
/* #NM from user mode: give the FPU/SSE registers to the running env. */
void fpu_switch(void);

/*
 * An env is gone: destroyed, or its program replaced by exec. Every
 * mechanism that keeps state for an env registers one hook at boot
 * (kern/main.c lists them, in order); env_destroy and env_exec both call
 * them all, in that order, from one place, before the env's memory goes
 * (downloaded programs live in its pages). This is how the env layer
 * reaches the layers above it without including them.
 */
enum env_end { ENV_END_EXEC, ENV_END_DESTROY };
typedef void env_gone_fn(struct env *e, enum env_end how);
void env_gone_register(env_gone_fn *fn);

/*
 * Debugging's view of envs: kern/debug sets these at boot; each may be
 * NULL. Called only for traced envs (env_trace), but for kill_report.
 */
struct env_debug_hooks {
	/* e is about to be killed for misbehaving, tf its last state. */
	void (*kill_report)(struct env *e, const struct trapframe *tf, const char *reason);
	/* The traced call in progress (trace_in_call) gives up the CPU. */
	void (*call_left)(void);
	/* A traced env is about to run again after waiting in a call. */
	void (*call_resumed)(struct env *e);
	/* An upcall interrupted a traced env at rip. */
	void (*upcall)(struct env *e, uint64_t trapno, uint64_t err, uint64_t va, uint64_t rip);
};
extern struct env_debug_hooks env_debug;
/* The env whose traced system call is in progress, NULL if none (set by
 * kern/debug/trace.c). */
extern struct env *trace_in_call;

/* Does sleeping e's wakeup predicate hold? Set by kern/bpf/dlcode.c,
 * which runs downloaded code; called only for an env sleeping on one. */
extern bool (*env_pred_holds)(struct env *e);

/* Scheduler (sched.c). */
void sched_yield(void) __attribute__((noreturn));
/* Block e, the env in this system call, for ticks (UINT64_MAX: no limit)
 * or until a wake; the call returns 0 when the time is up. Then yield. */
void sched_sleep(struct env *e, uint64_t ticks);
/* End e's sleep, making its sys_env_sleep return value. */
void sched_wake(struct env *e, long value);
/* The system call (inc/syscall.def): sleep until a child dies, a transfer
 * arrives or ticks pass. */
long sys_env_sleep_child(uint64_t ticks);
/* Timer tick: wake the sleepers whose time has come. */
void sched_tick(uint64_t now);
/* A device layer's idle poll (the disk's): called, under the big lock, when
 * nothing is runnable, before the CPU halts; it may complete requests (and
 * wake envs) and says whether it did. */
typedef bool sched_idle_fn(void);
void sched_idle_register(sched_idle_fn *fn);

#endif
