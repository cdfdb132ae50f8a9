/*
 * System calls: the dispatch generated from inc/syscall.def, and the small
 * calls that belong to no subsystem (console, yield, machine exit and
 * reboot, tracing, entropy). Every other call lives with its subject, under
 * the same name: env calls in kern/env/envcall.c, page and binding calls in
 * kern/env/pagecall.c, key rings in kern/env/cap.c, quotas in
 * kern/env/quota.c, PCT in kern/env/pct.c, slices in kern/env/slice.c,
 * downloaded code in kern/bpf/dlcode.c, the network in kern/net, the disk in
 * kern/disk. This file is the top layer: it may include them all, and none
 * of them includes it.
 *
 * Every call first checks all its arguments and the caller's authority
 * (returning -E_* and changing nothing), then acts. The comment on each call
 * in inc/syscall.def lists its errors.
 *
 * A call that blocks or gives up the CPU saves the caller's registers from
 * the frame syscall_entry built (save_caller) and enters the scheduler; the
 * result reaches the caller through its saved %rax when it next runs.
 *
 * Locking: syscall() holds the big kernel lock from entry to exit.
 */
#include <inc/error.h>
#include <inc/kinfo.h>
#include <inc/syscall.h>
#include <kern/arch/console.h>
#include <kern/arch/cpu.h>
#include <kern/arch/entropy.h>
#include <kern/arch/fastpath.h>
#include <kern/arch/lock.h>
#include <kern/arch/x86.h>
#include <kern/bpf/dlcode.h>
#include <kern/debug/trace.h>
#include <kern/disk/disk.h>
#include <kern/env/cap.h>
#include <kern/env/console_input.h>
#include <kern/env/env.h>
#include <kern/env/envcall.h>
#include <kern/env/pagecall.h>
#include <kern/env/pagewait.h>
#include <kern/env/pct.h>
#include <kern/env/quota.h>
#include <kern/env/slice.h>
#include <kern/mem/vm.h>
#include <kern/net/net.h>
#include <kern/net/netfilter.h>
#include <kern/syscall.h>
#include <common/string.h>

extern struct kern_info kinfo;

FASTPATH static long sys_getenvid(void)
{
	return curenv->env_id;
}

static long sys_cputs(uint64_t s, uint64_t len)
{
	struct env *e = curenv;
	if (!vm_check(e->env_vm, s, len, 0))
		return -E_FAULT;
	char buf[256];
	for (uint64_t done = 0; done < len;) {
		uint64_t n = MIN(len - done, sizeof(buf));
		copy_from_user(e->env_vm, buf, s + done, n);
		cputs_kernel(buf, n);
		done += n;
	}
	return 0;
}

static long sys_cgetc(uint64_t flags)
{
	struct env *e = curenv;
	if (flags & ~(uint64_t)CGETC_NONBLOCK)
		return -E_INVAL;
	if (kinfo.ki_console != e->env_id)
		return -E_PERM;
	int c = console_getc();
	if (c >= 0)
		return c;
	if (flags & CGETC_NONBLOCK)
		return -E_AGAIN;
	syscall_save_caller(0);
	e->env_block = BLOCK_CONSOLE;
	env_set_status(e, ENV_BLOCKED);
	sched_yield();
}

static long sys_cons_grant(envid_t envid)
{
	struct env *e = curenv;
	if (kinfo.ki_console != e->env_id)
		return -E_PERM;
	if (envid == 0)
		envid = e->env_info->env_parent_id;
	struct env *to = env_lookup(envid);
	if (!to)
		return -E_BAD_ENV;
	kinfo.ki_console = to->env_id;
	console_owner_changed();
	return 0;
}

static long sys_yield(void)
{
	slice_yielded(curenv);
	syscall_save_caller(0);
	sched_yield();
}

static long sys_machine_exit(uint64_t code)
{
	if (curenv->env_id != first_envid)
		return -E_PERM;
	cprintf("exo: machine exit %lu\n", code);
	outl(0xf4, (uint32_t)code); /* QEMU isa-debug-exit; no-op elsewhere */
	cprintf("exo: halted\n");
	halt_forever();
}

static long sys_machine_reboot(void)
{
	if (curenv->env_id != first_envid)
		return -E_PERM;
	cprintf("exo: rebooting\n");
	outb(0xcf9, 0x06);  /* PCI reset control: full reset */
	outb(0x64, 0xfe);   /* 8042 reset line, for older machines */
	halt_forever();
}

static long sys_env_trace(envid_t envid, uint64_t on, uint64_t cap)
{
	if (on > 3)
		return -E_INVAL;
	struct env *e;
	long r = other_env(envid, cap, false, &e);
	if (r < 0)
		return r;
	trace_set(e, on & 1);
	e->env_trace_children = on & 2;
	return 0;
}

static long sys_entropy_get(uint64_t buf, uint64_t len)
{
	if (len > ENTROPY_GET_MAX)
		return -E_INVAL;
	if (!vm_check(curenv->env_vm, buf, len, true))
		return -E_FAULT;
	uint8_t bytes[ENTROPY_GET_MAX];
	entropy_fill(bytes, len);
	long r = copy_to_user(curenv->env_vm, buf, bytes, len);
	memset(bytes, 0, sizeof(bytes)); /* leave no copy on the kernel stack */
	return r < 0 ? -E_FAULT : (long)len;
}

/* The dispatcher: one case per entry of inc/syscall.def. Inlined into
 * syscall(), so the untraced path has no extra call; trace.c has its own
 * copy through syscall_dispatch. */
static inline __attribute__((always_inline)) long dispatch(struct trapframe *tf)
{
	long r;
	switch (tf->tf_rax) {
#define A1 tf->tf_rdi
#define A2 tf->tf_rsi
#define A3 tf->tf_rdx
#define A4 tf->tf_r10
#define A5 tf->tf_r8
#define SYS0(n) \
	case SYS_##n: r = sys_##n(); break;
#define SYS1(n, t1, a1) \
	case SYS_##n: r = sys_##n(A1); break;
#define SYS2(n, t1, a1, t2, a2) \
	case SYS_##n: r = sys_##n(A1, A2); break;
#define SYS3(n, t1, a1, t2, a2, t3, a3) \
	case SYS_##n: r = sys_##n(A1, A2, A3); break;
#define SYS4(n, t1, a1, t2, a2, t3, a3, t4, a4) \
	case SYS_##n: r = sys_##n(A1, A2, A3, A4); break;
#define SYS5(n, t1, a1, t2, a2, t3, a3, t4, a4, t5, a5) \
	case SYS_##n: r = sys_##n(A1, A2, A3, A4, A5); break;
#include <inc/syscall.def>
	default: r = -E_NO_SYS;
	}
	return r;
}

FASTPATH long syscall_dispatch(struct trapframe *tf)
{
	return dispatch(tf);
}

void syscall(struct trapframe *tf)
{
	lock_kernel();
	thiscpu()->cpu_syscall_frame = tf;
	/* Tracing (kern/debug/trace.c) costs this one predictable branch when off. */
	if (__builtin_expect(curenv->env_trace, 0))
		tf->tf_rax = (uint64_t)trace_syscall(tf, syscall_dispatch);
	else
		tf->tf_rax = (uint64_t)dispatch(tf);
	unlock_kernel();
}
