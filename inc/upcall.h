/*
 * Upcalls: how the kernel hands events to an environment.
 *
 * An exception raised in user mode is delivered to the env's exception entry
 * on its exception stack. The kernel writes one struct upcall_frame there and
 * starts the entry with %rsp = %rdi = the frame and every other register as it
 * was at the fault, so the handler can resume the interrupted code itself
 * without entering the kernel (lib/base/upcall.S shows how).
 *
 * The frame goes just below the top of the exception stack, or - when the
 * fault happened on the exception stack itself - below the interrupted %rsp
 * less the 128-byte red zone and the 8-byte slot the resume code writes, so
 * handlers may fault and nest. The page below
 * the stack counts as its guard: a fault with %rsp there is a handler that
 * overflowed its stack. A frame that would not fit inside the stack, an unmapped or read-only stack, or an entry
 * that is not mapped user-executable kills the env, never the kernel.
 */
#ifndef EXO_INC_UPCALL_H
#define EXO_INC_UPCALL_H

#define UPCALL_EXCEPTION 0 /* faults, revocation, repossession */
#define UPCALL_PCT 1       /* protected control transfers (calls, messages) */
#define UPCALL_SLICE 2     /* slice start and end (prologue, epilogue) */
#define UPCALL_KINDS 3

/* Exception vectors (Intel SDM vol. 3 table 6-1) as seen in uf_trapno. */
#define T_DIVIDE 0
#define T_DEBUG 1
#define T_NMI 2
#define T_BRKPT 3
#define T_OFLOW 4
#define T_BOUND 5
#define T_ILLOP 6
#define T_DEVICE 7
#define T_DBLFLT 8
#define T_TSS 10
#define T_SEGNP 11
#define T_STACK 12
#define T_GPFLT 13
#define T_PGFLT 14
#define T_FPERR 16
#define T_ALIGN 17
#define T_MCHK 18
#define T_SIMDERR 19

/* Upcalls that are not exceptions, delivered the same way (uf_trapno). */
#define T_REVOKE 256     /* give back uf_va pages by tick uf_err (ki_ticks) */
#define T_REPOSSESS 257  /* the kernel took pages: see the repossession vector */
#define T_PCT_CALL 258   /* a synchronous call from env uf_va: reply with pct_reply */
#define T_PCT_SEND 259   /* an asynchronous message from env uf_va */
#define T_EPILOGUE 260   /* its slot ends: save state and yield within the budget */
#define T_PROLOGUE 261   /* its slot starts; uf_err 1: it overran last time */

#define PCT_ARGS 3       /* words a protected control transfer carries */
#define PCT_QUEUE 8      /* asynchronous messages an env can have waiting */

/* Page-fault error code bits (uf_err when uf_trapno == T_PGFLT). */
#define PF_PRESENT 0x1  /* protection violation, not a missing page */
#define PF_WRITE 0x2
#define PF_USER 0x4
#define PF_FETCH 0x10

/* %rflags an upcall handler starts with, whatever the interrupted code had
 * (that is in uf_rflags): IF and the always-one bit 1; DF, TF, AC and the
 * arithmetic flags clear, as the C calling convention wants. */
#define UPCALL_RFLAGS 0x202

#define UPCALL_REDZONE 128
/* Below the red zone, the resume code stores the interrupted %rip (see
 * lib/base/upcall.S): a nested frame must leave that slot alone. */
#define UPCALL_RESUME_SLOT 8

#ifndef __ASSEMBLER__
#include <inc/types.h>

struct upcall_frame {
	uint64_t uf_trapno;
	uint64_t uf_err;
	uint64_t uf_va;      /* faulting address (%cr2) for page faults */
	uint64_t uf_rax, uf_rbx, uf_rcx, uf_rdx, uf_rsi, uf_rdi, uf_rbp;
	uint64_t uf_r8, uf_r9, uf_r10, uf_r11, uf_r12, uf_r13, uf_r14, uf_r15;
	uint64_t uf_rip;
	uint64_t uf_rflags;
	uint64_t uf_rsp;     /* must follow uf_rflags: lib/base/upcall.S pops both */
};
#endif

#ifndef __ASSEMBLER__
/* The repossession vector: where the abort protocol says what it took. */
struct rvec_entry {
	uint64_t re_ppn;   /* the physical page taken */
	uint64_t re_va;    /* where the env had it bound, or 0 */
};

struct rvec {
	uint64_t rv_count;    /* entries written since the env last reset it */
	uint64_t rv_lost;     /* pages taken that did not fit */
	struct rvec_entry rv_entries[];
};
#endif

#define RVEC_MAX 255 /* entries: header and entries fit one page */

#define UF_RAX 24
#define UF_RIP 144
#define UF_RFLAGS 152
#define UF_RSP 160
#define UF_SIZE 168

#ifndef __ASSEMBLER__
_Static_assert(__builtin_offsetof(struct upcall_frame, uf_rax) == UF_RAX, "");
_Static_assert(__builtin_offsetof(struct upcall_frame, uf_rip) == UF_RIP, "");
_Static_assert(__builtin_offsetof(struct upcall_frame, uf_rflags) == UF_RFLAGS, "");
_Static_assert(__builtin_offsetof(struct upcall_frame, uf_rsp) == UF_RSP, "");
_Static_assert(sizeof(struct upcall_frame) == UF_SIZE, "");
#endif

#endif
