/*
 * Waiting for the kernel's own disk I/O without spinning: a system call
 * that needs a metadata block read in, or XN's write-back, puts its env
 * to sleep (BLOCK_DISK) and the CPU goes to other envs until the device's
 * interrupt completes the work. Two ways to wait:
 *
 *  - restart (disk_sleep_restart): the env's saved %rip is rewound to its
 *    `syscall` instruction and %rax holds the call's number again, so when
 *    it is woken it issues the same call afresh, which checks everything
 *    again (the cache, the trees, its keys: another env may have changed
 *    any of them meanwhile) and finds the read done. Only a call that has
 *    changed nothing yet may wait this way: every caller sleeps in its
 *    check phase or before its first change.
 *  - result (disk_sleep_result): the env that started XN's write-back job
 *    (xn_sync.c) sleeps until the job ends and gets the job's status as
 *    its call's return value, like any blocking call.
 *
 * disk_wake_restart wakes every restart sleeper (they look again; one
 * that still has to wait sleeps again), disk_wake_result the job's owner.
 * A sleeper that dies is forgotten (disk_env_gone calls kwait_env_gone).
 *
 * Locking: the big kernel lock; wake-ups come from IRQ_DISK's completions.
 */
#include <kern/arch/cpu.h>
#include <kern/env/env.h>
#include <kern/disk/bcache.h>
#include <kern/disk/disk.h>

#define SYSCALL_INSN_LEN 2 /* `syscall` is 0f 05 */

static envid_t sleeper[NENV];  /* env id sleeping in BLOCK_DISK, or 0 */
static bool restarts[NENV];    /* ... to issue its call again (else: a result) */

static void sleep_now(bool restart) __attribute__((noreturn));

static void sleep_now(bool restart)
{
	struct env *e = curenv;
	disk_stats.di_sleeps++;
	bc_hold(UINT64_MAX, UINT64_MAX); /* a call holds its blocks only while it runs */
	long sysno = (long)thiscpu()->cpu_syscall_frame->tf_rax;
	syscall_save_caller(restart ? sysno : 0);
	if (restart)
		e->env_tf.tf_rip -= SYSCALL_INSN_LEN;
	sleeper[ENVX(e->env_id)] = e->env_id;
	restarts[ENVX(e->env_id)] = restart;
	e->env_block = BLOCK_DISK;
	env_set_status(e, ENV_BLOCKED);
	sched_yield();
}

void disk_sleep_restart(void)
{
	sleep_now(true);
}

void disk_sleep_result(void)
{
	sleep_now(false);
}

static struct env *sleeping(unsigned x)
{
	struct env *e = sleeper[x] ? env_lookup(sleeper[x]) : NULL;
	if (!e || e->env_info->env_status != ENV_BLOCKED || e->env_block != BLOCK_DISK) {
		sleeper[x] = 0;
		return NULL;
	}
	return e;
}

static void wake(unsigned x)
{
	struct env *e = sleeping(x);
	if (!e)
		return;
	sleeper[x] = 0;
	e->env_block = BLOCK_NONE;
	env_set_status(e, ENV_RUNNABLE);
}

void disk_wake_restart(void)
{
	for (unsigned x = 0; x < NENV; x++)
		if (sleeper[x] && restarts[x])
			wake(x);
}

void disk_wake_result(envid_t owner, long result)
{
	unsigned x = ENVX(owner);
	if (!owner || sleeper[x] != owner || restarts[x] || !sleeping(x))
		return;
	sleeping(x)->env_tf.tf_rax = (uint64_t)result;
	wake(x);
}

void kwait_env_gone(struct env *e)
{
	if (sleeper[ENVX(e->env_id)] == e->env_id)
		sleeper[ENVX(e->env_id)] = 0;
}
