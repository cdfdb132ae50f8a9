/*
 * Turning off the legacy 8259 PIC pair. Firmware leaves the master's vectors
 * at 0x08-0x0f, on top of CPU exceptions; even fully masked, a PIC can raise
 * a spurious IRQ 7 or 15, so it is first reprogrammed to vectors
 * IRQ_PIC_BASE..+15 (where such an interrupt can't pass for an exception) and
 * then every line is masked. The local APIC's LINT0 is masked as well
 * (lapic.c), so in practice nothing from the PICs reaches a CPU.
 *
 * Locking: pic_disable runs once, on the boot CPU, during init.
 */
#include <kern/arch/pic.h>
#include <kern/arch/trap.h>
#include <kern/arch/x86.h>

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1

#define ICW1_INIT 0x10      /* start the initialisation sequence */
#define ICW1_NEED_ICW4 0x01
#define ICW3_SLAVE_ON_IRQ2 0x04  /* master: bit mask of the cascade input */
#define ICW3_CASCADE_ID 0x02     /* slave: its cascade identity */
#define ICW4_8086 0x01

/* Old PICs need a moment between writes; port 0x80 (POST codes) is harmless. */
static void pic_out(uint16_t port, uint8_t v)
{
	outb(port, v);
	outb(0x80, 0);
}

void pic_disable(void)
{
	pic_out(PIC1_DATA, 0xff);
	pic_out(PIC2_DATA, 0xff);

	pic_out(PIC1_CMD, ICW1_INIT | ICW1_NEED_ICW4);
	pic_out(PIC2_CMD, ICW1_INIT | ICW1_NEED_ICW4);
	pic_out(PIC1_DATA, IRQ_PIC_BASE);
	pic_out(PIC2_DATA, IRQ_PIC_BASE + 8);
	pic_out(PIC1_DATA, ICW3_SLAVE_ON_IRQ2);
	pic_out(PIC2_DATA, ICW3_CASCADE_ID);
	pic_out(PIC1_DATA, ICW4_8086);
	pic_out(PIC2_DATA, ICW4_8086);

	/* Initialisation cleared the masks; set them again. */
	pic_out(PIC1_DATA, 0xff);
	pic_out(PIC2_DATA, 0xff);
}
