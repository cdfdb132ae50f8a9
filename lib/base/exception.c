/*
 * Exceptions in the library OS. The upcall is registered before main runs
 * (exception_init), on a stack the library OS binds itself, and every upcall
 * comes to libos_exception: page faults go to the virtual memory system
 * first (demand-zero, copy-on-write), revocation and repossession to it
 * too; whatever is left goes to the program's handler if it set one.
 *
 * A fault nobody handles ends the program the way the kernel ends any env
 * with no handler: the upcall is removed and the fault retried, so the
 * kernel kills it and logs why.
 */
#include <lib/base/libos.h>
#include <lib/base/slice.h>
#include <lib/base/vm.h>

extern void upcall_entry(void);

/* Called by upcall_entry (lib/base/upcall.S). */
void (*const exception_handler)(struct upcall_frame *uf);
static exception_handler_t program_handler;

/* The stack bound (vm_bind_stack skips what is there) and the entry set. */
static int register_upcall(void)
{
	return vm_upcall_route(UPCALL_EXCEPTION, upcall_entry, LIBOS_XSTACK_TOP,
			       LIBOS_XSTACK_PAGES);
}

static void libos_exception(struct upcall_frame *uf)
{
	switch (uf->uf_trapno) {
	case T_PGFLT:
		if (vm_fault(uf))
			return;
		break;
	case T_REVOKE: vm_release(uf->uf_va); return;
	case T_REPOSSESS: vm_repossessed(); return;
	case T_PROLOGUE:
	case T_EPILOGUE: slice_dispatch(uf); return;
	}
	if (program_handler) {
		program_handler(uf);
		return;
	}
	/* Unhandled: let the kernel kill us, with its report. */
	sys_env_set_upcall(UPCALL_EXCEPTION, 0, 0, 0);
	if (uf->uf_trapno == T_BRKPT)
		uf->uf_rip -= 1; /* int3 again, now fatal */
}

void (*const exception_handler)(struct upcall_frame *uf) = libos_exception;

void exception_init(void)
{
	register_upcall(); /* if the stack cannot be had, faults kill us, as without a library OS */
}

int exception_set_handler(exception_handler_t h)
{
	program_handler = h;
	/* NULL: no handler at all, not even the library OS's */
	return h ? register_upcall() : (int)sys_env_set_upcall(UPCALL_EXCEPTION, 0, 0, 0);
}
