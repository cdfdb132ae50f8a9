#ifndef EXO_KERN_REPORT_H
#define EXO_KERN_REPORT_H

#include <inc/types.h>

struct env;
struct trapframe;

/* Print "backtrace:" and one line per kernel frame, "  ADDR func+0xOFF":
 * rip first (if not 0), then the return addresses of the rbp chain. */
void backtrace_kernel(uint64_t rip, uint64_t rbp);

/* The paragraph logged when the kernel kills e for reason: the state in tf
 * (may be NULL) and e's user-space backtrace, named from its program. Call
 * it before e's address space is torn down. */
void report_kill(struct env *e, const struct trapframe *tf, const char *reason);
/* Make report_kill the env layer's kill_report hook (env_debug). */
void report_init(void);

/* The kernel command line's panic_test=MODE: panic on purpose at the end of
 * boot ("fault": by a page fault in the kernel), so tests can check what a
 * panic prints. No system call reaches it. */
void panic_test(const char *mode) __attribute__((noreturn));

/* A few lines of console output assembled before they are printed with one
 * cprintf, so another CPU's output cannot split them. Text past the end of
 * the buffer is dropped. */
struct textbuf {
	char tb_buf[2048];
	size_t tb_len; /* set to 0 to start again */
};
void textbuf_add(struct textbuf *b, const char *fmt, ...);

#endif
