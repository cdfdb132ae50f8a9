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
#include <kern/console.h>
#include <kern/cpu.h>
#include <kern/env.h>
#include <kern/lock.h>
#include <kern/serial.h>
#include <kern/x86.h>
#include <lib/fmt.h>

extern struct kern_info kinfo;

static struct spinlock output_lock;
static bool panicking;

#define INPUT_BUF 512 /* bytes typed ahead of the reader */
static uint8_t input[INPUT_BUF];
static unsigned input_head, input_len;
static uint64_t input_dropped;

void cputs_kernel(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
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

static void backtrace(void)
{
	uint64_t *rbp = (uint64_t *)read_rbp();
	cprintf("backtrace:\n");
	for (int depth = 0; rbp && depth < 32; depth++) {
		uint64_t rip = rbp[1];
		if (rip < KERNBASE)
			break;
		cprintf("  %016lx\n", rip);
		rbp = (uint64_t *)rbp[0];
		if ((uint64_t)rbp < KERNBASE && ((uint64_t)rbp < PHYSMAP))
			break;
	}
}

void _panic(const char *file, int line, const char *fmt, ...)
{
	cli();
	panicking = true;
	cprintf("kernel panic on cpu %u at %s:%d: ", thiscpu()->cpu_id, file, line);
	va_list ap;
	va_start(ap, fmt);
	vcprintf(fmt, ap);
	va_end(ap);
	cprintf("\n");
	struct env *e = thiscpu()->cpu_env;
	if (e)
		cprintf("current env %08x (%s)\n", e->env_id, e->env_info->env_name);
	backtrace();
	outl(0xf4, 0x7f); /* under QEMU's isa-debug-exit: stop with status 255 */
	halt_forever();
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
