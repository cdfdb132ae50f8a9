/*
 * The IOAPIC at acpi.ioapic_pa. Its registers are reached indirectly: write a
 * register number to IOREGSEL, then read or write IOWIN. Each input (pin) has
 * a 64-bit redirection entry: vector, delivery and destination mode,
 * polarity, trigger, mask, destination APIC id. ISA IRQs are translated to
 * pins through the MADT's interrupt source overrides (acpi.isa_irq), which
 * also give each line's polarity and trigger mode.
 *
 * Every entry is masked at init; ioapic_route unmasks the ones a driver asks
 * for, delivered in fixed mode to one CPU by physical APIC id.
 *
 * Locking: the IOREGSEL/IOWIN pair is not atomic, so all calls must come
 * from one CPU at a time; today they all run on the boot CPU during init.
 * Calling ioapic_mask/ioapic_route later from several CPUs needs a lock.
 */
#include <kern/arch/acpi.h>
#include <kern/arch/console.h>
#include <kern/arch/ioapic.h>
#include <kern/arch/mmu.h>

#define IOREGSEL 0x00   /* byte offsets of the two windows */
#define IOWIN 0x10

#define IOAPIC_VER 0x01
#define IOAPIC_REDTBL 0x10  /* entry n: low word at 0x10 + 2n, high at 0x11 + 2n */

#define RTE_POLARITY_LOW (1U << 13)
#define RTE_TRIGGER_LEVEL (1U << 15)
#define RTE_MASKED (1U << 16)
#define RTE_DEST_SHIFT 24   /* in the high word: physical destination APIC id */

static volatile uint32_t *ioapic;
static unsigned npins;      /* redirection entries; 0 if no IOAPIC answered */

static uint32_t ioapic_read(uint32_t reg)
{
	ioapic[IOREGSEL / 4] = reg;
	return ioapic[IOWIN / 4];
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	ioapic[IOREGSEL / 4] = reg;
	ioapic[IOWIN / 4] = v;
}

void ioapic_init(void)
{
	ioapic = KADDR(acpi.ioapic_pa);
	uint32_t ver = ioapic_read(IOAPIC_VER);
	if (ver == 0xffffffff) {
		/* Nothing decodes the address: reads float high. */
		cprintf("ioapic: none at 0x%lx; device interrupts are off\n", acpi.ioapic_pa);
		npins = 0;
		return;
	}
	npins = ((ver >> 16) & 0xff) + 1;
	for (unsigned pin = 0; pin < npins; pin++) {
		ioapic_write(IOAPIC_REDTBL + 2 * pin, RTE_MASKED);
		ioapic_write(IOAPIC_REDTBL + 2 * pin + 1, 0);
	}
}

/* The pin isa_irq arrives on, or -1 (with a line saying why) if not on ours. */
static int isa_pin(int isa_irq, const char *fn)
{
	if (isa_irq < 0 || isa_irq >= ACPI_NISA)
		panic("%s: ISA IRQ %d", fn, isa_irq);
	uint32_t gsi = acpi.isa_irq[isa_irq].gsi;
	if (gsi < acpi.ioapic_gsi_base || gsi - acpi.ioapic_gsi_base >= npins) {
		cprintf("ioapic: ISA IRQ %d (GSI %u) is not on the IOAPIC\n", isa_irq, gsi);
		return -1;
	}
	return (int)(gsi - acpi.ioapic_gsi_base);
}

void ioapic_route(int isa_irq, int vector, uint32_t dest_apic_id)
{
	if (vector < 32 || vector > 254 || dest_apic_id > 255)
		panic("ioapic_route: vector %d to apic %u", vector, dest_apic_id);
	int pin = isa_pin(isa_irq, "ioapic_route");
	if (pin < 0)
		return;

	uint32_t lo = (uint32_t)vector; /* fixed delivery, physical destination */
	if (acpi.isa_irq[isa_irq].active_low)
		lo |= RTE_POLARITY_LOW;
	if (acpi.isa_irq[isa_irq].level)
		lo |= RTE_TRIGGER_LEVEL;
	/* Masked while the destination changes, so no interrupt goes astray. */
	ioapic_write(IOAPIC_REDTBL + 2 * pin, lo | RTE_MASKED);
	ioapic_write(IOAPIC_REDTBL + 2 * pin + 1, dest_apic_id << RTE_DEST_SHIFT);
	ioapic_write(IOAPIC_REDTBL + 2 * pin, lo);
}

void ioapic_mask(int isa_irq)
{
	int pin = isa_pin(isa_irq, "ioapic_mask");
	if (pin < 0)
		return;
	uint32_t reg = IOAPIC_REDTBL + 2 * pin;
	ioapic_write(reg, ioapic_read(reg) | RTE_MASKED);
}
