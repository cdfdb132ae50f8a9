/*
 * System call numbers, generated from the one table in inc/syscall.def, and
 * the flags some calls take.
 */
#ifndef EXO_INC_SYSCALL_H
#define EXO_INC_SYSCALL_H

#include <inc/bpf.h>
#include <inc/cap.h>
#include <inc/disk.h>
#include <inc/dpf.h>
#include <inc/env.h>
#include <inc/net.h>
#include <inc/page.h>
#include <inc/quota.h>

enum {
#define SYS0(n) SYS_##n,
#define SYS1(n, ...) SYS_##n,
#define SYS2(n, ...) SYS_##n,
#define SYS3(n, ...) SYS_##n,
#define SYS4(n, ...) SYS_##n,
#define SYS5(n, ...) SYS_##n,
#include <inc/syscall.def>
#undef SYS0
#undef SYS1
#undef SYS2
#undef SYS3
#undef SYS4
#undef SYS5
	NSYSCALLS
};

/* sys_cgetc flags */
#define CGETC_NONBLOCK 0x1

/* sys_cons_set_intr: no interrupt character; and the message it posts
 * (from env 0, a0 CONS_INTR_MSG, a1 the byte, a2 the console's holder). */
#define CONS_INTR_OFF 0x100
#define CONS_INTR_MSG 0x1e7c0c /* "interrupt": tells it from other kernel messages */

/* sys_env_sleep_child: a child of the caller has died (not yet reaped). */
#define ENV_SLEEP_CHILD_ENDED 3

/* sys_page_sleep's answers beyond env_sleep's 0 (time) and 1 (transfer) */
#define PAGE_SLEEP_WOKEN 2   /* a sys_page_wake on the word */
#define PAGE_SLEEP_CHANGED 3 /* the word was not the value expected: no sleep */
#define PAGE_SLEEP_INPUT 4   /* sys_page_sleep_any: console input is waiting */

/* sys_page_sleep_any: one word to watch, and what else ends the sleep */
struct page_word {
	uint64_t pw_va;       /* 4-byte aligned, bound readable */
	uint32_t pw_expected; /* sleep only while the word holds this */
	uint32_t pw_pad;
};
#define PAGE_SLEEP_WORDS_MAX 128 /* words one sleep watches: a poll's 64 descriptors and more; bounds a wake's work */
#define PAGE_SLEEP_CONSOLE 0x1  /* console input for the caller ends it too */

/* Most bytes one sys_entropy_get returns: enough for any key. */
#define ENTROPY_GET_MAX 256

/* Longest name and argument string sys_env_create accepts, NUL included. */
#define ENV_CREATE_NAME_MAX 32
#define ENV_CREATE_ARGS_MAX 1024

#endif
