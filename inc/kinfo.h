/*
 * struct kern_info: machine facts the kernel exposes read-only at UINFO, so a
 * library OS reads the clock rate, the tick count and the programs in the boot
 * image without a system call.
 */
#ifndef EXO_INC_KINFO_H
#define EXO_INC_KINFO_H

#include <inc/types.h>

#define KI_MAX_PROGS 96       /* programs listed: bounded by kern_info's one page */
#define KI_PROG_NAME_LEN 32
#define KI_CMDLINE_LEN 256

/* ki_entropy_source (doc/design.md says how good each is) */
#define ENTROPY_SRC_POOL 0   /* no RDRAND: a pool hashed from TSC jitter at boot */
#define ENTROPY_SRC_RDRAND 1 /* the CPU's RDRAND */
#define ENTROPY_SRC_RDSEED 2 /* the CPU's RDSEED (RDRAND behind it) */

struct kern_info {
	uint64_t ki_tsc_hz;      /* calibrated TSC frequency */
	volatile uint64_t ki_ticks; /* timer interrupts on CPU 0 since boot */
	uint32_t ki_tick_hz;     /* timer interrupt rate */
	uint32_t ki_ncpu;        /* CPUs running */
	uint64_t ki_npages;      /* entries at UPAGES (highest RAM page + 1) */
	uint64_t ki_free_pages;  /* pages with type PAGE_FREE */
	uint64_t ki_pool_pages;  /* kernel pages in pools that grow on demand
				    and are reused, never freed (bindings) */
	uint32_t ki_nenv;        /* entries at UENVS */
	uint32_t ki_nprogs;      /* entries of ki_progs */
	envid_t ki_console;      /* env that receives console input */
	uint32_t ki_pad;
	char ki_cmdline[KI_CMDLINE_LEN];   /* boot command line */
	char ki_progs[KI_MAX_PROGS][KI_PROG_NAME_LEN];
	/* Wall-clock time: the CMOS clock read once at boot, as seconds since
	 * 1970 UTC (-1: no clock, or it gave no valid date), and the TSC at
	 * that moment. Now = ki_boot_unix + (rdtsc() - ki_boot_tsc) /
	 * ki_tsc_hz (the TSC runs at a constant rate). Whole seconds: the
	 * clock is not read to the second's edge, so it may lag by one. */
	int64_t ki_boot_unix;
	uint64_t ki_boot_tsc;
	uint32_t ki_entropy_source; /* what serves sys_entropy_get: ENTROPY_SRC_* */
	volatile uint32_t ki_stlb_pages; /* binding-pool pages mapped at USTLB (inc/stlb.h) */
	volatile uint32_t ki_cons_intrs; /* interrupt characters posted (sys_cons_set_intr) */
	/* Sleepers' words page_wake calls have compared (kern/env/pagewait.c):
	 * with the wake index, the watches of each wake's own word and its
	 * hash bucket, however many other words sleepers watch. */
	volatile uint64_t ki_wake_looks;
} __attribute__((aligned(4096))); /* alone on its page: the page is exposed */

_Static_assert(sizeof(struct kern_info) == 4096, "kern_info is UINFO's page");

#endif
