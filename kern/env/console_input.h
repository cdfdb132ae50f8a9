#ifndef EXO_KERN_CONSOLE_INPUT_H
#define EXO_KERN_CONSOLE_INPUT_H

#include <inc/types.h>

/* Console input multiplexed to the env holding the console (kinfo.ki_console). */
void console_irq(void);            /* serial interrupt: drain the UART */
int console_getc(void);            /* buffered input byte, or -1 */
unsigned console_pending(void);    /* buffered input bytes */
void console_owner_changed(void);  /* kinfo.ki_console was set */
long sys_cons_set_intr(uint64_t byte, envid_t envid, uint64_t cap);

#endif
