/*
 * Console input, multiplexed to one env at a time.
 *
 * Input bytes from the serial line are buffered in the kernel until the env
 * holding the console (kinfo.ki_console, exposed at UINFO) reads them with
 * sys_cgetc; a reader blocked in sys_cgetc gets the next byte directly. When
 * the console changes hands, unread input stays for the new holder. A full
 * buffer drops bytes (counted) rather than block the line.
 *
 * Locking: under the big kernel lock.
 */
#include <inc/kinfo.h>
#include <kern/dev/serial.h>
#include <kern/env/console_input.h>
#include <kern/env/env.h>

extern struct kern_info kinfo;

#define INPUT_BUF 512 /* bytes typed ahead of the reader */
static uint8_t input[INPUT_BUF];
static unsigned input_head, input_len;
static uint64_t input_dropped;

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
