/*
 * What the kernel learns from the ACPI tables: where the local APIC and the
 * first IOAPIC are, which CPUs exist, and how the ISA IRQs are wired to
 * IOAPIC inputs. acpi_init fills `acpi` once, on the boot CPU, before any
 * other CPU starts; afterwards it is read-only and needs no lock.
 */
#ifndef EXO_KERN_ACPI_H
#define EXO_KERN_ACPI_H

#include <inc/types.h>

#define NCPU_MAX 8    /* CPUs recorded from the MADT; same bound as NCPU (cpu.h) */
#define ACPI_NISA 16  /* ISA IRQs 0-15, the ones interrupt source overrides name */

/* How one ISA IRQ reaches the IOAPIC. */
struct acpi_isa_irq {
	uint32_t gsi;     /* global system interrupt: IOAPIC input + gsi_base */
	bool active_low;  /* polarity; ISA's default is active-high */
	bool level;       /* trigger mode; ISA's default is edge */
};

struct acpi_info {
	physaddr_t lapic_pa;         /* local APIC registers (xAPIC MMIO) */
	unsigned ncpu;               /* enabled CPUs recorded, 1..NCPU_MAX */
	uint32_t cpu_apic_id[NCPU_MAX];
	uint8_t lapic_nmi_lint;      /* local APIC input wired to NMI: 0, 1, or 0xff none */
	physaddr_t ioapic_pa;        /* the first IOAPIC; others are ignored */
	uint32_t ioapic_gsi_base;    /* GSI of its input 0 */
	struct acpi_isa_irq isa_irq[ACPI_NISA];
};

extern struct acpi_info acpi;

/*
 * Find the tables from the RSDP at rsdp_pa (0: search the BIOS areas for it)
 * and fill `acpi`. Never fails: a missing or corrupt table leaves PC defaults.
 */
void acpi_init(physaddr_t rsdp_pa);

#endif
