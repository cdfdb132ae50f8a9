/*
 * Registering a program's exception handler: allocate and bind the exception
 * stack (once), then point the kernel's upcall at lib/upcall.S's trampoline,
 * which calls the handler and resumes.
 */
#include <lib/libos.h>

extern void upcall_entry(void);

/* Called by upcall_entry; never NULL while the upcall is registered. */
exception_handler_t exception_handler;

int exception_set_handler(exception_handler_t h)
{
	static bool have_stack;
	const uint64_t lo = LIBOS_XSTACK_TOP - LIBOS_XSTACK_PAGES * PAGE_SIZE;
	if (!h) {
		long r = sys_env_set_upcall(UPCALL_EXCEPTION, 0, 0, 0);
		if (r == 0)
			exception_handler = NULL;
		return (int)r;
	}
	if (!have_stack) {
		for (uint64_t va = lo; va < LIBOS_XSTACK_TOP; va += PAGE_SIZE) {
			long r = page_alloc_bind(va);
			if (r < 0)
				return (int)r;
		}
		have_stack = true;
	}
	exception_handler = h;
	return (int)sys_env_set_upcall(UPCALL_EXCEPTION, (uint64_t)upcall_entry, lo,
				       LIBOS_XSTACK_TOP);
}
