/*
 * The IOAPIC: routes device interrupt lines (here, the ISA IRQs) to a vector
 * on a chosen CPU. Only the first IOAPIC the MADT lists is used.
 */
#ifndef EXO_KERN_IOAPIC_H
#define EXO_KERN_IOAPIC_H

#include <inc/types.h>

/* Mask every input. Boot CPU, once, after acpi_init. */
void ioapic_init(void);
/* Deliver ISA IRQ isa_irq (0-15) as vector (32-254) to the CPU with dest_apic_id. */
void ioapic_route(int isa_irq, int vector, uint32_t dest_apic_id);
/* Stop delivering ISA IRQ isa_irq. */
void ioapic_mask(int isa_irq);

#endif
