/*
 * Kernel output: cprintf and panics, written to whatever the console driver
 * registered (console_set_output: the serial line, kern/dev/serial.c).
 * Console input, multiplexed to one env at a time, is the env layer's
 * (kern/env/console_input.c).
 *
 * A panic prints where and why, then asks the debug layer (which registers
 * console_set_panic_report) for the current env and a symbolised backtrace:
 * this file sits at the bottom, and reaches up only through that hook.
 *
 * Locking: output is serialised by its own lock so that a panic on one CPU
 * is not interleaved with another's output; a panic while that lock is held
 * breaks it.
 */
#include <kern/arch/console.h>
#include <kern/arch/cpu.h>
#include <kern/arch/lock.h>
#include <kern/arch/trap.h>
#include <kern/arch/x86.h>
#include <common/fmt.h>

static struct spinlock output_lock;
static bool panicking;

static char last_output = '\n';

static console_putc_fn *putc_fn;
static console_panic_fn *panic_fn;

void console_set_output(console_putc_fn *fn)
{
	putc_fn = fn;
}

void console_set_panic_report(console_panic_fn *fn)
{
	panic_fn = fn;
}

void cputs_kernel(const char *s, size_t n)
{
	if (!putc_fn)
		return; /* before the serial line is set up: nowhere to write */
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			putc_fn('\r');
		putc_fn(s[i]);
	}
	if (n)
		last_output = s[n - 1];
}

bool console_at_line_start(void)
{
	return last_output == '\n';
}

static void put_chunk(void *arg, const char *s, size_t n)
{
	(void)arg;
	cputs_kernel(s, n);
}

static int vcprintf(const char *fmt, va_list ap)
{
	if (!panicking)
		spin_lock(&output_lock);
	int n = fmt_vformat(put_chunk, NULL, fmt, ap);
	if (!panicking)
		spin_unlock(&output_lock);
	return n;
}

int cprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vcprintf(fmt, ap);
	va_end(ap);
	return n;
}

/*
 * A kernel bug: say where and why, then what was running, the registers at
 * the trap (if a trap caused it) and a symbolised backtrace, and stop. A
 * panic while panicking (a fault in the report itself) says only that.
 */
static void __attribute__((noreturn)) vpanic(const struct trapframe *tf, const char *file, int line,
					     const char *fmt, va_list ap)
{
	static int depth;
	cli();
	panicking = true;
	if (++depth > 1) {
		if (depth == 2)
			cprintf("\nkernel panic while panicking, at %s:%d\n", file, line);
		outl(0xf4, 0x7f);
		halt_forever();
	}
	struct cpu *c = thiscpu();
	cprintf("kernel panic on cpu %u at %s:%d: ", c->cpu_id, file, line);
	vcprintf(fmt, ap);
	cprintf("\n");
	if (panic_fn)
		panic_fn(tf); /* the current env, registers, backtrace (kern/debug) */
	else if (tf)
		print_trapframe(tf);
	outl(0xf4, 0x7f); /* under QEMU's isa-debug-exit: stop with status 255 */
	halt_forever();
}

void _panic(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vpanic(NULL, file, line, fmt, ap);
}

void _panic_tf(const struct trapframe *tf, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vpanic(tf, file, line, fmt, ap);
}
