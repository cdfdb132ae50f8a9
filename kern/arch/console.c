/*
 * The console: kernel output, panics, and console input multiplexed to one
 * env at a time.
 *
 * Input bytes from the serial line are buffered in the kernel until the env
 * holding the console (kinfo.ki_console, exposed at UINFO) reads them with
 * sys_cgetc; a reader blocked in sys_cgetc gets the next byte directly. When
 * the console changes hands, unread input stays for the new holder. A full
 * buffer drops bytes (counted) rather than block the line.
 *
 * Locking: input state is under the big kernel lock. Output is serialised by
 * its own lock so that a panic on one CPU is not interleaved with another's
 * output; a panic while that lock is held breaks it.
 */
#include <inc/kinfo.h>
#include <kern/arch/console.h>
#include <kern/arch/cpu.h>
#include <kern/env/env.h>
#include <kern/arch/lock.h>
#include <kern/debug/report.h>
#include <kern/dev/serial.h>
#include <kern/arch/trap.h>
#include <kern/arch/x86.h>
#include <common/fmt.h>

extern struct kern_info kinfo;

static struct spinlock output_lock;
static bool panicking;

#define INPUT_BUF 512 /* bytes typed ahead of the reader */
static uint8_t input[INPUT_BUF];
static unsigned input_head, input_len;
static uint64_t input_dropped;

static char last_output = '\n';

void cputs_kernel(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
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
static void __attribute__((noreturn)) vpanic(const struct trapframe *tf, const char *file,
					     int line, const char *fmt, va_list ap)
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
	struct env *e = c->cpu_env;
	if (e)
		cprintf("current env %08x (%s) on cpu %u\n", e->env_id, e->env_info->env_name,
			c->cpu_id);
	else
		cprintf("no current env on cpu %u\n", c->cpu_id);
	if (tf)
		print_trapframe(tf);
	if (tf && !(tf->tf_cs & 3))
		backtrace_kernel(tf->tf_rip, tf->tf_rbp); /* from where it trapped */
	else
		backtrace_kernel(0, read_rbp());
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

/* Hand the oldest buffered byte to the console holder if it is waiting. */
static void deliver_input(void)
{
	struct env *e = env_lookup(kinfo.ki_console);
	if (!e || input_len == 0 || e->env_info->env_status != ENV_BLOCKED ||
	    e->env_block != BLOCK_CONSOLE)
		return;
	e->env_tf.tf_rax = input[input_head];
	input_head = (input_head + 1) % INPUT_BUF;
	input_len--;
	e->env_block = BLOCK_NONE;
	env_set_status(e, ENV_RUNNABLE);
}

void console_irq(void)
{
	int c;
	while ((c = serial_getc()) >= 0) {
		if (input_len == INPUT_BUF) {
			input_dropped++;
			continue;
		}
		input[(input_head + input_len++) % INPUT_BUF] = (uint8_t)c;
	}
	deliver_input();
}

int console_getc(void)
{
	if (input_len == 0)
		return -1;
	int c = input[input_head];
	input_head = (input_head + 1) % INPUT_BUF;
	input_len--;
	return c;
}

void console_owner_changed(void)
{
	deliver_input();
}
