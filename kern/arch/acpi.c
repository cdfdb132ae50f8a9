/*
 * ACPI table discovery, just far enough to find the interrupt hardware: the
 * RSDP leads to the RSDT or XSDT, which lists the MADT ("APIC"), which lists
 * the CPUs' local APICs, the IOAPICs and how ISA IRQs map onto IOAPIC inputs.
 *
 * Firmware tables are untrusted input: every table is checksummed, every read
 * is checked against the table's own length (and the length itself against a
 * sanity bound), and the MADT is parsed into a scratch copy that replaces the
 * defaults only if the whole table parses. Anything wrong leaves the PC
 * defaults (one CPU, LAPIC at 0xfee00000, IOAPIC at 0xfec00000, identity ISA
 * wiring) and one line on the console saying why.
 *
 * Interface: acpi_init(rsdp_pa) fills the global `acpi` (acpi.h).
 * Locking: acpi_init runs once on the boot CPU before the others start;
 * `acpi` is read-only afterwards.
 */
#include <kern/arch/acpi.h>
#include <kern/arch/console.h>
#include <kern/arch/cpu.h>
#include <kern/arch/mmu.h>
#include <kern/arch/x86.h>

_Static_assert(NCPU_MAX <= NCPU, "acpi would record CPUs cpus[] has no room for");

struct acpi_info acpi;

#define DEFAULT_LAPIC_PA 0xfee00000UL
#define DEFAULT_IOAPIC_PA 0xfec00000UL

/* RSDP layout (ACPI 6.x, 5.2.5.3). */
#define RSDP_V1_LEN 20         /* bytes covered by the v1 checksum */
#define RSDP_V2_LEN 36         /* the whole v2 structure */
#define RSDP_OFF_REVISION 15
#define RSDP_OFF_RSDT 16
#define RSDP_OFF_LENGTH 20
#define RSDP_OFF_XSDT 24

/* Every system description table starts with this 36-byte header. */
#define SDT_HDR_LEN 36
#define SDT_OFF_LENGTH 4
/* No RSDT, XSDT or MADT comes near this; bounds a corrupt length field. */
#define SDT_MAX_LEN (1U << 20)

/* MADT (5.2.12): header, LAPIC address, flags, then variable entries. */
#define MADT_OFF_LAPIC 36
#define MADT_OFF_ENTRIES 44
#define MADT_LAPIC 0           /* processor local APIC */
#define MADT_IOAPIC 1
#define MADT_ISO 2             /* interrupt source override */
#define MADT_LAPIC_NMI 4
#define MADT_LAPIC_ADDR 5      /* 64-bit local APIC address override */
#define MADT_X2APIC 9          /* processor local x2APIC */
#define MADT_X2APIC_NMI 10
#define MADT_CPU_ENABLED 0x1

/* MPS INTI flags of an override: polarity in bits 1:0, trigger in bits 3:2. */
#define INTI_POLARITY_LOW 3
#define INTI_TRIGGER_LEVEL 3

/* Reads from firmware tables: little-endian and not necessarily aligned. */
static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static bool bytes_eq(const uint8_t *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)s[i])
			return false;
	return true;
}

static bool checksum_ok(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += p[i];
	return sum == 0;
}

/* Whether [pa, pa+len) lies inside the direct map, so KADDR can reach it. */
static bool pa_mapped(physaddr_t pa, uint64_t len)
{
	return pa != 0 && pa < PHYSMAP_SIZE && len <= PHYSMAP_SIZE - pa;
}

static const uint8_t *rsdp_at(physaddr_t pa)
{
	if (!pa_mapped(pa, RSDP_V1_LEN))
		return NULL;
	const uint8_t *p = KADDR(pa);
	if (!bytes_eq(p, "RSD PTR ", 8) || !checksum_ok(p, RSDP_V1_LEN))
		return NULL;
	return p;
}

/* The RSDP sits on a 16-byte boundary somewhere in [pa, pa+len). */
static const uint8_t *rsdp_scan(physaddr_t pa, uint64_t len)
{
	for (uint64_t off = 0; off + RSDP_V1_LEN <= len; off += 16) {
		const uint8_t *p = rsdp_at(pa + off);
		if (p)
			return p;
	}
	return NULL;
}

static const uint8_t *rsdp_find(physaddr_t rsdp_pa)
{
	const uint8_t *p = rsdp_pa ? rsdp_at(rsdp_pa) : NULL;
	if (p)
		return p;
	/* The BIOS data area keeps the EBDA's real-mode segment at 0x40e. */
	physaddr_t ebda = (physaddr_t)get16(KADDR(0x40e)) << 4;
	if (ebda >= 0x80000 && ebda + 1024 <= 0xa0000 && (p = rsdp_scan(ebda, 1024)))
		return p;
	return rsdp_scan(0xe0000, 0x20000);
}

/*
 * The table at pa if its signature is sig (NULL: any), its length is sane
 * and its checksum holds; its length goes to *lenp. NULL otherwise.
 */
static const uint8_t *sdt_at(physaddr_t pa, const char *sig, uint32_t *lenp)
{
	if (!pa_mapped(pa, SDT_HDR_LEN))
		return NULL;
	const uint8_t *p = KADDR(pa);
	if (sig && !bytes_eq(p, sig, 4))
		return NULL;
	uint32_t len = get32(p + SDT_OFF_LENGTH);
	if (len < SDT_HDR_LEN || len > SDT_MAX_LEN || !pa_mapped(pa, len) || !checksum_ok(p, len))
		return NULL;
	*lenp = len;
	return p;
}

/* Physical address of the MADT listed in the root table, or 0. */
static physaddr_t madt_pa_in(const uint8_t *root, uint32_t len, unsigned entry_size)
{
	for (uint32_t off = SDT_HDR_LEN; off + entry_size <= len; off += entry_size) {
		physaddr_t pa = entry_size == 8 ? get64(root + off) : get32(root + off);
		if (pa_mapped(pa, SDT_HDR_LEN) && bytes_eq(KADDR(pa), "APIC", 4))
			return pa;
	}
	return 0;
}

/* Find the MADT through the XSDT when there is a good one, else the RSDT. */
static const uint8_t *madt_find(const uint8_t *rsdp, uint32_t *lenp, const char **why)
{
	const uint8_t *root;
	uint32_t root_len;
	physaddr_t madt_pa = 0;

	if (rsdp[RSDP_OFF_REVISION] >= 2 && pa_mapped(PADDR(rsdp), RSDP_V2_LEN) &&
	    get32(rsdp + RSDP_OFF_LENGTH) >= RSDP_V2_LEN && checksum_ok(rsdp, RSDP_V2_LEN) &&
	    (root = sdt_at(get64(rsdp + RSDP_OFF_XSDT), "XSDT", &root_len)))
		madt_pa = madt_pa_in(root, root_len, 8);
	if (!madt_pa && (root = sdt_at(get32(rsdp + RSDP_OFF_RSDT), "RSDT", &root_len)))
		madt_pa = madt_pa_in(root, root_len, 4);
	if (!madt_pa) {
		*why = "no MADT listed";
		return NULL;
	}
	const uint8_t *madt = sdt_at(madt_pa, "APIC", lenp);
	if (!madt || *lenp < MADT_OFF_ENTRIES) {
		*why = "MADT corrupt";
		return NULL;
	}
	return madt;
}

/* The APIC id this CPU started with, for when the MADT names no CPU. */
static uint32_t boot_apic_id(void)
{
	uint32_t ebx;
	cpuid(1, 0, NULL, &ebx, NULL, NULL);
	return ebx >> 24;
}

static void set_defaults(struct acpi_info *ai)
{
	ai->lapic_pa = DEFAULT_LAPIC_PA;
	ai->ncpu = 0;
	ai->lapic_nmi_lint = 1; /* the PC wiring: LINT0 ExtINT, LINT1 NMI */
	ai->ioapic_pa = 0;
	ai->ioapic_gsi_base = 0;
	for (unsigned i = 0; i < ACPI_NISA; i++)
		ai->isa_irq[i] =
			(struct acpi_isa_irq){ .gsi = i, .active_low = false, .level = false };
}

static void add_cpu(struct acpi_info *ai, uint32_t apic_id, unsigned *found)
{
	for (unsigned i = 0; i < ai->ncpu; i++)
		if (ai->cpu_apic_id[i] == apic_id)
			return; /* listed as both xAPIC and x2APIC */
	(*found)++;
	if (ai->ncpu < NCPU_MAX)
		ai->cpu_apic_id[ai->ncpu++] = apic_id;
}

/* The minimum length of each MADT entry type we read; 0 for types we skip. */
static uint8_t madt_entry_min_len(uint8_t type)
{
	switch (type) {
	case MADT_LAPIC: return 8;
	case MADT_IOAPIC: return 12;
	case MADT_ISO: return 10;
	case MADT_LAPIC_NMI: return 6;
	case MADT_LAPIC_ADDR: return 12;
	case MADT_X2APIC: return 16;
	case MADT_X2APIC_NMI: return 12;
	default: return 0;
	}
}

/* Parse the MADT into *ai; false (with *why) if an entry is malformed. */
static bool madt_parse(const uint8_t *madt, uint32_t len, struct acpi_info *ai, unsigned *found,
		       const char **why)
{
	bool have_ioapic = false;

	ai->lapic_pa = get32(madt + MADT_OFF_LAPIC);
	for (uint32_t off = MADT_OFF_ENTRIES; off < len;) {
		const uint8_t *e = madt + off;
		if (len - off < 2 || e[1] < 2 || e[1] > len - off) {
			*why = "MADT entry overruns the table";
			return false;
		}
		uint8_t type = e[0], elen = e[1];
		if (elen < madt_entry_min_len(type)) {
			*why = "MADT entry too short";
			return false;
		}
		off += elen;

		switch (type) {
		case MADT_LAPIC:
			if (get32(e + 4) & MADT_CPU_ENABLED)
				add_cpu(ai, e[3], found);
			break;
		case MADT_X2APIC:
			if (get32(e + 8) & MADT_CPU_ENABLED)
				add_cpu(ai, get32(e + 4), found);
			break;
		case MADT_IOAPIC:
			if (!have_ioapic) {
				have_ioapic = true;
				ai->ioapic_pa = get32(e + 4);
				ai->ioapic_gsi_base = get32(e + 8);
			}
			break;
		case MADT_ISO: {
			uint8_t bus = e[2], irq = e[3];
			uint16_t flags = get16(e + 8);
			if (bus != 0 || irq >= ACPI_NISA)
				break; /* only ISA overrides are defined */
			ai->isa_irq[irq].gsi = get32(e + 4);
			/* 0 means "as the bus says", which for ISA is high/edge. */
			ai->isa_irq[irq].active_low = (flags & 3) == INTI_POLARITY_LOW;
			ai->isa_irq[irq].level = ((flags >> 2) & 3) == INTI_TRIGGER_LEVEL;
			break;
		}
		case MADT_LAPIC_NMI:
			if (e[5] <= 1)
				ai->lapic_nmi_lint = e[5];
			break;
		case MADT_X2APIC_NMI:
			if (e[8] <= 1)
				ai->lapic_nmi_lint = e[8];
			break;
		case MADT_LAPIC_ADDR: ai->lapic_pa = get64(e + 4); break;
		}
	}
	if (ai->lapic_pa == 0) {
		*why = "MADT gives no local APIC address";
		return false;
	}
	if (!have_ioapic)
		cprintf("acpi: MADT lists no IOAPIC, assuming 0x%lx\n", DEFAULT_IOAPIC_PA);
	return true;
}

void acpi_init(physaddr_t rsdp_pa)
{
	const char *why = NULL;
	const uint8_t *rsdp, *madt = NULL;
	uint32_t madt_len = 0;
	unsigned found = 0;
	struct acpi_info ai;

	set_defaults(&ai);
	if (!(rsdp = rsdp_find(rsdp_pa)))
		why = "no RSDP";
	else
		madt = madt_find(rsdp, &madt_len, &why);
	if (madt && !madt_parse(madt, madt_len, &ai, &found, &why)) {
		set_defaults(&ai);
		found = 0;
	}
	if (why)
		cprintf("acpi: %s, using PC defaults\n", why);

	if (ai.ncpu == 0)
		add_cpu(&ai, boot_apic_id(), &found);
	if (ai.ioapic_pa == 0)
		ai.ioapic_pa = DEFAULT_IOAPIC_PA;
	acpi = ai;

	cprintf("acpi: %u cpu%s, lapic 0x%lx, ioapic 0x%lx", acpi.ncpu, acpi.ncpu == 1 ? "" : "s",
		acpi.lapic_pa, acpi.ioapic_pa);
	if (found > acpi.ncpu)
		cprintf(" (%u cpus present, %u used)", found, acpi.ncpu);
	cprintf("\n");
}
