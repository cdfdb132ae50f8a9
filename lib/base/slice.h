/*
 * Time slices in the library OS: taking slots of the CPU's slice vector and
 * hearing about slice starts and ends (inc/slice.h).
 */
#ifndef EXO_LIB_SLICE_H
#define EXO_LIB_SLICE_H

#include <inc/slice.h>
#include <inc/types.h>

#define uslices ((const volatile struct slice_vec *)USLICES)

#define LIBOS_SLICESTACK_TOP 0x00007e4000000000UL
#define LIBOS_SLICESTACK_PAGES 2

/* Called at the start of each of our slots (overran: we did not yield by
 * the budget last time) and at the end (yield soon: sys_yield). A NULL
 * epilogue yields at once. */
typedef void (*slice_fn)(bool overran);
int slice_upcalls(slice_fn on_prologue, slice_fn on_epilogue);
/* Used by the exception dispatcher. */
struct upcall_frame;
bool slice_dispatch(struct upcall_frame *uf);
/* Inside a slice handler: the state the upcall interrupted. */
struct upcall_frame *slice_frame(void);

#endif
