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

/* Longest name and argument string sys_env_create accepts, NUL included. */
#define ENV_CREATE_NAME_MAX 32
#define ENV_CREATE_ARGS_MAX 1024

#endif
