/*
 * The 16550 UART on COM1: the kernel's console device.
 *
 * Output is polled (the transmit holding register drains fast under QEMU and on
 * real hardware at 115200 baud a line takes ~1 ms). Input raises IRQ 4, whose
 * handler hands each received byte to the console multiplexer (console.c).
 *
 * Locking: serial_putc may be called from any CPU with the console lock held
 * (console.c); the device has no other state.
 */
#include <kern/arch/console.h>
#include <kern/dev/serial.h>
#include <kern/arch/x86.h>

#define COM1 0x3f8
#define COM_RX 0       /* receive buffer (DLAB = 0) */
#define COM_TX 0       /* transmit holding (DLAB = 0) */
#define COM_DLL 0      /* divisor low (DLAB = 1) */
#define COM_IER 1      /* interrupt enable (DLAB = 0) */
#define COM_DLM 1      /* divisor high (DLAB = 1) */
#define COM_FCR 2      /* FIFO control */
#define COM_LCR 3      /* line control */
#define COM_MCR 4      /* modem control */
#define COM_LSR 5      /* line status */
#define COM_LCR_DLAB 0x80
#define COM_LCR_8N1 0x03
#define COM_MCR_DTR_RTS_OUT2 0x0b  /* OUT2 gates the IRQ line on PCs */
#define COM_IER_RDI 0x01
#define COM_LSR_DATA 0x01
#define COM_LSR_TXRDY 0x20

static bool serial_present;

void serial_init(void)
{
	console_set_output(serial_putc);
	outb(COM1 + COM_IER, 0);
	outb(COM1 + COM_LCR, COM_LCR_DLAB);
	outb(COM1 + COM_DLL, 1); /* 115200 baud */
	outb(COM1 + COM_DLM, 0);
	outb(COM1 + COM_LCR, COM_LCR_8N1);
	outb(COM1 + COM_FCR, 0x07); /* enable and clear FIFOs */
	outb(COM1 + COM_MCR, COM_MCR_DTR_RTS_OUT2);
	/* A missing port reads as 0xff. */
	serial_present = inb(COM1 + COM_LSR) != 0xff;
	(void)inb(COM1 + COM_RX);
}

void serial_enable_rx_irq(void)
{
	if (serial_present)
		outb(COM1 + COM_IER, COM_IER_RDI);
}

void serial_putc(int c)
{
	if (!serial_present)
		return;
	for (int i = 0; i < 100000 && !(inb(COM1 + COM_LSR) & COM_LSR_TXRDY); i++)
		pause();
	outb(COM1 + COM_TX, (uint8_t)c);
}

int serial_getc(void)
{
	if (!serial_present || !(inb(COM1 + COM_LSR) & COM_LSR_DATA))
		return -1;
	return inb(COM1 + COM_RX);
}
