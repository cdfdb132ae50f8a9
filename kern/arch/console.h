#ifndef EXO_KERN_CONSOLE_H
#define EXO_KERN_CONSOLE_H

#include <inc/types.h>

/* Where kernel output goes: one character at a time (the serial driver). */
typedef void console_putc_fn(int c);
void console_set_output(console_putc_fn *fn);
/* What a panic prints after its message (the debug layer: current env,
 * registers, backtrace); tf is the trap that caused it, or NULL. */
struct trapframe;
typedef void console_panic_fn(const struct trapframe *tf);
void console_set_panic_report(console_panic_fn *fn);

/* Kernel output to the console (serial). printf-style, with %e for errors
 * (no format attribute: the compiler would read %e as a double). */
int cprintf(const char *fmt, ...);
void cputs_kernel(const char *s, size_t n);
/* Did the last output end a line? (log lines start on a fresh one) */
bool console_at_line_start(void);

/* A kernel bug: print where and why, the current env, a symbolised
 * backtrace, and stop this CPU. panic_tf is for a trap in the kernel: it
 * prints the trap frame's registers too and starts the backtrace there. */
#define panic(...) _panic(__FILE__, __LINE__, __VA_ARGS__)
#define panic_tf(tf, ...) _panic_tf(tf, __FILE__, __LINE__, __VA_ARGS__)
void _panic(const char *file, int line, const char *fmt, ...) __attribute__((noreturn));
void _panic_tf(const struct trapframe *tf, const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn));

#define assert(x)                                                    \
	do {                                                         \
		if (!(x))                                            \
			panic("assertion failed: %s", #x);           \
	} while (0)

#endif
