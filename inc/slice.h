/*
 * The CPU as an exposed resource: each CPU's time is a vector of slots,
 * SLICE_TICKS timer ticks each, taken round and round. An env owns slots
 * (sys_slice_alloc) and runs during them; slots nobody owns, and the rest of
 * a slot whose owner blocks or yields, go round robin to every env ready to
 * run. The vector is mapped read-only at USLICES.
 *
 * At the end of its slot the running owner gets a slice-end upcall
 * (T_EPILOGUE) and has EPILOGUE_TICKS whole ticks to save what it wants and
 * yield (the rest of the tick it was upcalled in does not count: that rest
 * may be nothing at all when the host is busy); past that the kernel preempts it and charges an overrun (env_overruns), and its
 * next slice-start upcall (T_PROLOGUE) says so (uf_err = 1).
 */
#ifndef EXO_INC_SLICE_H
#define EXO_INC_SLICE_H

#include <inc/memlayout.h>
#include <inc/types.h>

#define TICK_HZ 1000       /* timer interrupts per second */
#define SLICE_TICKS 10     /* one slot: 10 ms */
#define NSLICES 16         /* slots per CPU: a round is 160 ms */
#define EPILOGUE_TICKS 1   /* whole ticks to yield after the slice-end upcall */
#define SLICE_CPUS 8       /* CPUs the exposed vector has room for */
#define SLICE_ANY ((uint64_t)-1)
#define SLICES_MAX_PER_ENV (NSLICES / 2) /* no env may take a whole CPU */

#define USLICES (UEXPOSED + (3UL << 30))

struct slice_vec {
	uint32_t sv_slice_ticks;            /* SLICE_TICKS */
	uint32_t sv_nslots;                 /* NSLICES */
	uint32_t sv_current[SLICE_CPUS];    /* the slot running now */
	envid_t sv_owner[SLICE_CPUS][NSLICES]; /* 0: nobody's */
};

#endif
