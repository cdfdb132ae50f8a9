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
} __attribute__((aligned(4096))); /* alone on its page: the page is exposed */

_Static_assert(sizeof(struct kern_info) == 4096, "kern_info is UINFO's page");

#endif
