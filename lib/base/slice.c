/*
 * Slice-start and slice-end upcalls in the library OS (lib/base/slice.h). They
 * come through the same trampoline as exceptions, on a stack of their own
 * (an epilogue may arrive while an exception handler runs).
 */
#include <lib/base/libos.h>
#include <lib/base/slice.h>
#include <lib/base/vm.h>

extern void upcall_entry(void);

static slice_fn prologue, epilogue;

int slice_upcalls(slice_fn on_prologue, slice_fn on_epilogue)
{
	prologue = on_prologue;
	epilogue = on_epilogue;
	return vm_upcall_route(UPCALL_SLICE, upcall_entry, LIBOS_SLICESTACK_TOP,
			       LIBOS_SLICESTACK_PAGES);
}

static struct upcall_frame *frame;

struct upcall_frame *slice_frame(void)
{
	return frame;
}

bool slice_dispatch(struct upcall_frame *uf)
{
	frame = uf;
	if (uf->uf_trapno == T_PROLOGUE) {
		if (prologue)
			prologue(uf->uf_err != 0);
		return true;
	}
	if (uf->uf_trapno == T_EPILOGUE) {
		if (epilogue)
			epilogue(false);
		else
			sys_yield();
		return true;
	}
	return false;
}
