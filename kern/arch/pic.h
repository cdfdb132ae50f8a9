/*
 * The two legacy 8259 PICs, which Exo does not use: interrupts come through
 * the local APIC and the IOAPIC instead.
 */
#ifndef EXO_KERN_PIC_H
#define EXO_KERN_PIC_H

/* Move the PICs' vectors to IRQ_PIC_BASE (trap.h), out of the exception range,
 * and mask every line. */
void pic_disable(void);

#endif
