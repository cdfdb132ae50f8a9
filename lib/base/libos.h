/*
 * The library OS's interface for programs: everything a program includes.
 *
 * The kernel's exposed state is read directly: uenvs[] (the env table),
 * upages[] (who owns each physical page) and ukinfo (clock, ticks, programs).
 */
#ifndef EXO_LIB_LIBOS_H
#define EXO_LIB_LIBOS_H

#include <inc/env.h>
#include <inc/error.h>
#include <inc/kinfo.h>
#include <inc/memlayout.h>
#include <inc/page.h>
#include <inc/upcall.h>
#include <common/fmt.h>
#include <common/string.h>
#include <lib/base/syscall.h>
#include <stdarg.h>

#define uenvs ((const volatile struct env_info *)UENVS)
#define upages ((const volatile struct page_info *)UPAGES)
#define ukinfo ((const volatile struct kern_info *)UINFO)

/* This program's env id and exposed entry (set before main runs). */
extern envid_t thisenv_id;
#define thisenv (&uenvs[ENVX(thisenv_id)])

void exit(int code) __attribute__((noreturn));
/* Run by exit before the env ends (the POSIX layer flushes its output). */
extern void (*libos_exit_hook)(void);

/* A higher layer's start-up, run after the library OS is up and before main,
 * with main's arguments (which it may replace): LIBOS_INIT(fn) in its file.
 * Hooks run in link order. */
typedef void libos_init_fn(int *argc, char ***argv);
#define LIBOS_INIT(fn)                                                              \
	static libos_init_fn *const libos_init_##fn                                 \
		__attribute__((used, section(".libos_init"))) = fn

/* Where console output and input go: the system calls unless a higher layer
 * (the POSIX layer's descriptors 1 and 0) takes them over. getc returns a
 * byte or -E_*. */
struct console_io {
	void (*write)(const char *s, size_t n);
	int (*getc)(void);
};
extern const struct console_io *console_io;

/* Console. printf writes each call with one system call, so lines from
 * different envs do not interleave mid-line. */
int printf(const char *fmt, ...); /* %e prints an error code: no format attribute */
int vprintf(const char *fmt, va_list ap);
int puts(const char *s);
/* Next console byte (waits), or -E_* (E_PERM: another env has the console). */
int getchar(void);
/* Read a line with echo and backspace into buf (NUL-terminated, without the
 * newline). Returns its length, or -E_* if the console cannot be read. */
int readline(const char *prompt, char *buf, int size);

#define panic(...) libos_panic(__FILE__, __LINE__, __VA_ARGS__)
void libos_panic(const char *file, int line, const char *fmt, ...) __attribute__((noreturn));
#define assert(x)                                                  \
	do {                                                       \
		if (!(x))                                          \
			panic("assertion failed: %s", #x);         \
	} while (0)

/* Exceptions: h runs on the exception stack with the interrupted state in
 * *uf, for every exception the library OS does not handle itself (it takes
 * the page faults of demand-zero and copy-on-write memory); when h returns,
 * that state (as h may have changed it) is resumed. NULL removes every
 * handler, the library OS's too: exceptions then kill the env. */
typedef void (*exception_handler_t)(struct upcall_frame *uf);
int exception_set_handler(exception_handler_t h);
void upcall_resume(const struct upcall_frame *uf) __attribute__((noreturn));
/* Save the caller's state as a frame: returns 0, and 1 when resumed. */
int upcall_save(struct upcall_frame *uf);

/* Memory: pages allocated and bound by the library OS itself. */
void *sbrk(intptr_t increment);
void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void free(void *p);
/* Nonzero while malloc, calloc or free changes the heap: the thread
 * package does not preempt a thread then (lib/base/thread.c), but leaves
 * heap_deferred for the heap to call as it finishes. */
extern volatile int heap_busy;
extern void (*volatile heap_deferred)(void);
/* Allocate a fresh page and bind it read-write at va. Returns its ppn. */
long page_alloc_bind(uint64_t va);

/* Time: the TSC, and its rate from ukinfo. */
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Where the library OS keeps things in the address space. */
#define LIBOS_HEAP_BASE 0x0000100000000000UL
#define LIBOS_HEAP_MAX (1UL << 32)
#define LIBOS_XSTACK_TOP 0x00007e0000000000UL
#define LIBOS_XSTACK_PAGES 2

#endif
