#ifndef EXO_KERN_SERIAL_H
#define EXO_KERN_SERIAL_H

void serial_init(void);
void serial_enable_rx_irq(void);
void serial_putc(int c);
/* Next received byte, or -1 if none is waiting. */
int serial_getc(void);

#endif
