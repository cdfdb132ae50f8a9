/*
 * System calls: the dispatch generated from inc/syscall.def, and each call's
 * implementation. Every call first checks all its arguments and the caller's
 * authority (returning -E_* and changing nothing), then acts. The comment on
 * each call in inc/syscall.def lists its errors; these functions are in the
 * same order.
 *
 * A call that blocks or gives up the CPU saves the caller's registers from
 * the frame syscall_entry built (save_caller) and enters the scheduler; the
 * result reaches the caller through its saved %rax when it next runs.
 *
 * Locking: syscall() holds the big kernel lock from entry to exit.
 */
#include <inc/error.h>
#include <inc/kinfo.h>
#include <inc/page.h>
#include <inc/syscall.h>
#include <inc/upcall.h>
#include <kern/console.h>
#include <kern/cpu.h>
#include <kern/env.h>
#include <kern/lock.h>
#include <kern/pmap.h>
#include <kern/syscall.h>
#include <kern/vm.h>
#include <kern/x86.h>

extern struct kern_info kinfo;

static void save_caller(long result)
{
	struct env *e = curenv;
	e->env_tf = *thiscpu()->cpu_syscall_frame;
	e->env_tf.tf_rax = (uint64_t)result;
}

static long sys_getenvid(void)
{
	return curenv->env_id;
}

static long sys_cputs(uint64_t s, uint64_t len)
{
	struct env *e = curenv;
	if (!vm_check(e, s, len, 0))
		return -E_FAULT;
	char buf[256];
	for (uint64_t done = 0; done < len;) {
		uint64_t n = MIN(len - done, sizeof(buf));
		copy_from_user(e, buf, s + done, n);
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
	save_caller(0);
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

static long sys_env_create(uint64_t uname, uint64_t uargs)
{
	struct env *e = curenv;
	char name[ENV_CREATE_NAME_MAX], args[ENV_CREATE_ARGS_MAX];
	long r = copy_string_from_user(e, name, uname, sizeof(name));
	if (r < 0)
		return r;
	args[0] = '\0';
	if (uargs) {
		r = copy_string_from_user(e, args, uargs, sizeof(args));
		if (r < 0)
			return r;
	}
	return env_create(e, name, args);
}

static long sys_env_destroy(envid_t envid)
{
	struct env *self = curenv;
	struct env *e = env_lookup(envid);
	if (!e)
		return -E_BAD_ENV;
	if (!env_is_ancestor(self->env_id, e))
		return -E_PERM;
	env_destroy(e, EXIT_DESTROYED, "");
	if (e == self)
		sched_yield();
	return 0;
}

static long sys_env_exit(uint64_t code)
{
	env_destroy(curenv, (uint32_t)(code & EXIT_CODE_MASK), "");
	sched_yield();
}

static long sys_env_wait(envid_t envid)
{
	struct env *self = curenv;
	if (envid <= 0)
		return -E_BAD_ENV;
	struct env *e = &envs[ENVX(envid)];
	if (e->env_id != envid || e->env_info->env_status == ENV_FREE)
		return -E_BAD_ENV;
	if (e->env_info->env_parent_id != self->env_id)
		return -E_NOT_CHILD;
	if (e->env_info->env_status == ENV_ZOMBIE) {
		uint32_t status = e->env_info->env_exit;
		env_reap(e);
		return status;
	}
	save_caller(0);
	self->env_block = BLOCK_WAIT;
	self->env_wait_for = envid;
	env_set_status(self, ENV_BLOCKED);
	sched_yield();
}

static long sys_env_set_upcall(uint64_t kind, uint64_t entry, uint64_t lo, uint64_t hi)
{
	struct env *e = curenv;
	if (kind >= UPCALL_KINDS || entry >= UTOP)
		return -E_INVAL;
	if (entry != 0 && (lo >= hi || hi > UTOP || (lo | hi) % 16 != 0 ||
			   hi - lo < sizeof(struct upcall_frame) + UPCALL_REDZONE))
		return -E_INVAL;
	e->env_upcall_entry = entry;
	e->env_xstack_lo = entry ? lo : 0;
	e->env_xstack_hi = entry ? hi : 0;
	return 0;
}

static long sys_yield(void)
{
	save_caller(0);
	sched_yield();
}

static long sys_page_alloc(uint64_t ppn)
{
	if (ppn != PPN_ANY && ppn >= npages)
		return -E_INVAL;
	return page_take(curenv, PAGE_USER, ppn);
}

/* The caller's own, user-allocated page ppn, or an error. */
static long check_own_page(uint64_t ppn)
{
	if (ppn >= npages)
		return -E_INVAL;
	if (pages[ppn].pg_owner != curenv->env_id || pages[ppn].pg_type != PAGE_USER)
		return -E_PERM;
	return 0;
}

static long sys_page_free(uint64_t ppn)
{
	long r = check_own_page(ppn);
	if (r < 0)
		return r;
	if (pages[ppn].pg_refs != 0)
		return -E_BUSY;
	page_give_back(ppn);
	return 0;
}

static long check_user_page_va(uint64_t va)
{
	return (va % PAGE_SIZE != 0 || va >= UTOP) ? -E_INVAL : 0;
}

static long sys_page_bind(uint64_t va, uint64_t ppn, uint64_t rights)
{
	long r = check_user_page_va(va);
	if (r < 0)
		return r;
	if ((rights & ~(uint64_t)BIND_ALL) || !(rights & BIND_READ))
		return -E_INVAL;
	if ((r = check_own_page(ppn)) < 0)
		return r;
	if (pages[ppn].pg_refs == UINT16_MAX)
		return -E_BUSY;
	return vm_bind(curenv, va, ppn, (unsigned)rights);
}

static long sys_page_unbind(uint64_t va)
{
	long r = check_user_page_va(va);
	if (r < 0)
		return r;
	vm_unbind(curenv, va);
	return 0;
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

/* The dispatcher: one case per entry of inc/syscall.def. */
void syscall(struct trapframe *tf)
{
	lock_kernel();
	thiscpu()->cpu_syscall_frame = tf;
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
	default:
		r = -E_NO_SYS;
	}
	tf->tf_rax = (uint64_t)r;
	unlock_kernel();
}
