/*
 * Console input, multiplexed to one env at a time, and its interrupt
 * character.
 *
 * Input bytes from the serial line are buffered in the kernel until the env
 * holding the console (kinfo.ki_console, exposed at UINFO) reads them with
 * sys_cgetc; a reader blocked in sys_cgetc gets the next byte directly. When
 * the console changes hands, unread input stays for the new holder. A full
 * buffer drops bytes (counted) rather than block the line.
 *
 * The interrupt character (sys_cons_set_intr): one byte value, and an env
 * to tell. When that byte arrives it is not buffered: the kernel posts the
 * env a message (PCT, sender 0: CONS_INTR_MSG, the byte, the holder), counts
 * it in kinfo.ki_cons_intrs, and drops the input typed ahead, as a Unix
 * terminal does on an interrupt. So a shell gives the console to its
 * foreground job and still hears Ctrl-C, however busy the job is, without
 * reading the console itself. The setting belongs to the console, not to a
 * holder: it stays when the console is granted on (the job's Ctrl-C goes to
 * the shell), only the holder of the moment may change it (a program that
 * wants Ctrl-C as a byte, an editor, turns it off), and it lapses when the
 * env it names dies. Naming an env needs the key a pct_send to it would.
 *
 * Locking: under the big kernel lock.
 */
#include <inc/error.h>
#include <inc/kinfo.h>
#include <inc/syscall.h>
#include <kern/arch/cpu.h>
#include <kern/dev/serial.h>
#include <kern/env/cap.h>
#include <kern/env/console_input.h>
#include <kern/env/env.h>
#include <kern/env/pct.h>

extern struct kern_info kinfo;

#define INPUT_BUF 512 /* bytes typed ahead of the reader */
static uint8_t input[INPUT_BUF];
static unsigned input_head, input_len;
static uint64_t input_dropped;

static int intr_byte = -1; /* the interrupt character, or -1: none */
static envid_t intr_env;   /* whom it tells */

/* Hand the oldest buffered byte to the console holder if it is waiting
 * in sys_cgetc; wake it if it sleeps on input (sys_page_sleep_any). */
static void deliver_input(void)
{
	struct env *e = env_lookup(kinfo.ki_console);
	if (e && input_len && e->env_info->env_status == ENV_BLOCKED &&
	    e->env_block == BLOCK_SLEEP && e->env_sleep_console) {
		sched_wake(e, PAGE_SLEEP_INPUT);
		return;
	}
	if (!e || input_len == 0 || e->env_info->env_status != ENV_BLOCKED ||
	    e->env_block != BLOCK_CONSOLE)
		return;
	e->env_tf.tf_rax = input[input_head];
	input_head = (input_head + 1) % INPUT_BUF;
	input_len--;
	e->env_block = BLOCK_NONE;
	env_set_status(e, ENV_RUNNABLE);
}

/* The interrupt character arrived: true if someone was told. */
static bool interrupt(uint8_t c)
{
	struct env *t = env_lookup(intr_env);
	if (!t) {
		intr_byte = -1; /* whom it named is gone: the byte is input again */
		return false;
	}
	/* A full queue means it has not taken the last ones yet: this one
	 * adds nothing, and the count still shows it. */
	pct_post(t, 0, CONS_INTR_MSG, c, (uint64_t)kinfo.ki_console);
	kinfo.ki_cons_intrs++;
	input_len = 0; /* what was typed ahead goes with the interrupted job */
	return true;
}

void console_irq(void)
{
	int c;
	while ((c = serial_getc()) >= 0) {
		if (c == intr_byte && interrupt((uint8_t)c))
			continue;
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

unsigned console_pending(void)
{
	return input_len;
}

void console_owner_changed(void)
{
	deliver_input();
}

long sys_cons_set_intr(uint64_t byte, envid_t envid, uint64_t cap)
{
	struct env *self = curenv;
	if (kinfo.ki_console != self->env_id)
		return -E_PERM;
	if (byte == CONS_INTR_OFF) {
		intr_byte = -1;
		intr_env = 0;
		return 0;
	}
	if (byte > 0xff)
		return -E_INVAL;
	struct env *t = envid ? env_lookup(envid) : self;
	if (!t)
		return -E_BAD_ENV;
	if (!t->env_route[UPCALL_PCT].ur_entry)
		return -E_NO_ENTRY;
	long r = cap_check(self, cap, &t->env_pct_guard, 0);
	if (r < 0)
		return r;
	intr_byte = (int)byte;
	intr_env = t->env_id;
	return 0;
}
