/*
 * Each CPU's local APIC (xAPIC, memory-mapped): interrupt acknowledgement,
 * the per-CPU periodic timer, inter-processor interrupts; and the TSC rate,
 * measured together with the timer's.
 */
#ifndef EXO_KERN_LAPIC_H
#define EXO_KERN_LAPIC_H

#include <inc/types.h>

extern uint64_t tsc_hz;          /* TSC ticks per second (lapic_timer_calibrate) */
extern uint64_t lapic_timer_hz;  /* LAPIC timer counts per second, divide-by-16 */

/* Enable this CPU's local APIC, timer and LINT inputs masked. Every CPU, once. */
void lapic_init(void);
/* Measure tsc_hz and lapic_timer_hz against the PIT. Boot CPU, once, after lapic_init. */
void lapic_timer_calibrate(void);
/* Run this CPU's timer periodically at hz, raising IRQ_TIMER. */
void lapic_timer_start(uint32_t hz);
/* Is an interrupt waiting for this CPU (one it would take with IF set)? */
bool lapic_irq_pending(void);
/* Acknowledge the interrupt being handled on this CPU. */
void lapic_eoi(void);
/* This CPU's local APIC id. */
uint32_t lapic_id(void);
/* Send fixed-mode interrupt vector (32-255) to the CPU with apic_id. */
void lapic_send_ipi(uint32_t apic_id, uint32_t vector);
/* Start the CPU apic_id in real mode at trampoline_pa (page-aligned, < 1 MiB). */
void lapic_start_ap(uint32_t apic_id, physaddr_t trampoline_pa);

#endif
