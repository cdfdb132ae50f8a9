/*
 * PCI through the legacy configuration mechanism: an address written to
 * port 0xCF8 selects a bus, device, function and register; port 0xCFC reads
 * or writes it. q35 still answers these ports (PCIe's memory-mapped space is
 * not needed for the first 256 bytes of a function's space).
 *
 * pci_init walks every bus and device number (a brute-force scan: 8192
 * probes, a few milliseconds, and no bridge programming to trust) and
 * remembers up to PCI_MAX_DEVS functions with their memory BARs, sized by
 * the usual write-ones-and-read-back with decoding turned off meanwhile.
 * The firmware (SeaBIOS under QEMU) has already placed the BARs; Exo keeps
 * its placement.
 *
 * A BAR is reached through the direct map. QEMU may place 64-bit BARs above
 * 4 GiB, beyond what the direct map covers (RAM, or 4 GiB if more); for
 * those pci_bar_map asks pmap_map_mmio to extend the direct map, uncached,
 * over exactly that range, so KADDR works for it as for everything else.
 *
 * MSI-X: the capability names a BAR and offset for the vector table; each
 * 16-byte entry holds a message address (0xFEE00000 | APIC id << 12 on x86),
 * the message data (the vector, fixed delivery, edge) and a mask bit.
 *
 * Locking: the 0xCF8/0xCFC pair is not atomic; every call runs under the big
 * kernel lock (today all of them during boot).
 */
#include <inc/error.h>
#include <kern/arch/console.h>
#include <kern/arch/mmu.h>
#include <kern/dev/pci.h>
#include <kern/mem/pmap.h>
#include <kern/arch/x86.h>

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc

/* Configuration registers (type 0 header). */
#define PCI_VENDOR 0x00
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_CLASS 0x08       /* revision, prog-if, subclass, class */
#define PCI_HEADER 0x0e
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34

#define CMD_IO 0x1
#define CMD_MEMORY 0x2
#define CMD_MASTER 0x4
#define CMD_INTX_OFF 0x400
#define STATUS_CAPS 0x10
#define HEADER_MULTI 0x80

#define BAR_IO 0x1
#define BAR_TYPE_64 0x4      /* bits 2:1 = 2 */
#define BAR_MEM_MASK (~0xfUL)

#define MSIX_CTRL 2           /* within the capability */
#define MSIX_TABLE 4
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_MASKALL 0x4000
#define MSIX_ENTRY_MASKED 0x1

static struct pci_dev devs[PCI_MAX_DEVS];
static unsigned ndevs;

static uint32_t conf_addr(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
	return 0x80000000u | (uint32_t)bus << 16 | (uint32_t)dev << 11 | (uint32_t)fn << 8 |
	       (off & 0xfc);
}

static uint32_t conf_read(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
	outl(PCI_ADDR, conf_addr(bus, dev, fn, off));
	return inl(PCI_DATA);
}

uint32_t pci_read32(const struct pci_dev *d, uint8_t off)
{
	return conf_read(d->pd_bus, d->pd_dev, d->pd_fn, off);
}

uint16_t pci_read16(const struct pci_dev *d, uint8_t off)
{
	return (uint16_t)(pci_read32(d, off) >> (8 * (off & 2)));
}

uint8_t pci_read8(const struct pci_dev *d, uint8_t off)
{
	return (uint8_t)(pci_read32(d, off) >> (8 * (off & 3)));
}

void pci_write32(const struct pci_dev *d, uint8_t off, uint32_t v)
{
	outl(PCI_ADDR, conf_addr(d->pd_bus, d->pd_dev, d->pd_fn, off));
	outl(PCI_DATA, v);
}

void pci_write16(const struct pci_dev *d, uint8_t off, uint16_t v)
{
	outl(PCI_ADDR, conf_addr(d->pd_bus, d->pd_dev, d->pd_fn, off));
	outw((uint16_t)(PCI_DATA + (off & 2)), v);
}

/* Size memory BAR i (and i + 1 for a 64-bit one); returns how many
 * registers it used. */
static unsigned read_bar(struct pci_dev *d, unsigned i)
{
	uint8_t reg = (uint8_t)(PCI_BAR0 + 4 * i);
	uint32_t lo = pci_read32(d, reg);
	if (lo & BAR_IO)
		return 1; /* I/O space: no driver here uses it */
	bool wide = (lo & 0x6) == BAR_TYPE_64 && i + 1 < PCI_NBARS;
	uint32_t hi = wide ? pci_read32(d, reg + 4) : 0;

	uint16_t cmd = pci_read16(d, PCI_COMMAND);
	pci_write16(d, PCI_COMMAND, cmd & ~(CMD_IO | CMD_MEMORY));
	pci_write32(d, reg, 0xffffffffu);
	uint64_t mask = pci_read32(d, reg);
	pci_write32(d, reg, lo);
	if (wide) {
		pci_write32(d, reg + 4, 0xffffffffu);
		mask |= (uint64_t)pci_read32(d, reg + 4) << 32;
		pci_write32(d, reg + 4, hi);
	} else {
		mask |= 0xffffffff00000000UL;
	}
	pci_write16(d, PCI_COMMAND, cmd);

	mask &= BAR_MEM_MASK;
	physaddr_t base = ((uint64_t)hi << 32 | lo) & BAR_MEM_MASK;
	if (mask && base) {
		d->pd_bar[i] = base;
		d->pd_bar_size[i] = ~mask + 1;
	}
	return wide ? 2 : 1;
}

static void add_function(uint8_t bus, uint8_t dev, uint8_t fn, uint32_t id)
{
	if (ndevs == PCI_MAX_DEVS) {
		cprintf("pci: more than %d functions; %02x:%02x.%x ignored\n", PCI_MAX_DEVS, bus,
			dev, fn);
		return;
	}
	struct pci_dev *d = &devs[ndevs++];
	d->pd_bus = bus;
	d->pd_dev = dev;
	d->pd_fn = fn;
	d->pd_vendor = (uint16_t)id;
	d->pd_device = (uint16_t)(id >> 16);
	uint32_t class = pci_read32(d, PCI_CLASS);
	d->pd_class = (uint8_t)(class >> 24);
	d->pd_subclass = (uint8_t)(class >> 16);
	if ((pci_read8(d, PCI_HEADER) & 0x7f) != 0)
		return; /* a bridge: its BAR layout differs, and no driver wants it */
	for (unsigned i = 0; i < PCI_NBARS;)
		i += read_bar(d, i);
}

void pci_init(void)
{
	for (unsigned bus = 0; bus < 256; bus++) {
		for (uint8_t dev = 0; dev < 32; dev++) {
			uint32_t id = conf_read((uint8_t)bus, dev, 0, PCI_VENDOR);
			if ((id & 0xffff) == 0xffff)
				continue;
			uint8_t hdr = (uint8_t)(conf_read((uint8_t)bus, dev, 0, PCI_HEADER) >> 16);
			uint8_t nfn = (hdr & HEADER_MULTI) ? 8 : 1;
			for (uint8_t fn = 0; fn < nfn; fn++) {
				if (fn)
					id = conf_read((uint8_t)bus, dev, fn, PCI_VENDOR);
				if ((id & 0xffff) != 0xffff)
					add_function((uint8_t)bus, dev, fn, id);
			}
		}
	}
	cprintf("pci: %u functions\n", ndevs);
}

struct pci_dev *pci_find(uint16_t vendor, uint16_t dev_lo, uint16_t dev_hi)
{
	for (unsigned i = 0; i < ndevs; i++) {
		struct pci_dev *d = &devs[i];
		if (d->pd_claimed || d->pd_vendor != vendor)
			continue;
		if (!dev_lo || d->pd_device == dev_lo || d->pd_device == dev_hi)
			return d;
	}
	return NULL;
}

uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id, uint8_t after)
{
	if (!(pci_read16(d, PCI_STATUS) & STATUS_CAPS))
		return 0;
	uint8_t p = after ? pci_read8(d, after + 1) : pci_read8(d, PCI_CAP_PTR);
	for (int n = 0; n < 48 && p >= 0x40; n++) {
		p &= 0xfc;
		if (pci_read8(d, p) == id)
			return p;
		p = pci_read8(d, p + 1);
	}
	return 0;
}

void *pci_bar_map(struct pci_dev *d, unsigned bar)
{
	if (bar >= PCI_NBARS || !d->pd_bar[bar])
		return NULL;
	if (!d->pd_bar_kva[bar]) {
		if (pmap_map_mmio(d->pd_bar[bar], d->pd_bar_size[bar]) < 0)
			return NULL;
		d->pd_bar_kva[bar] = KADDR(d->pd_bar[bar]);
	}
	return d->pd_bar_kva[bar];
}

void pci_enable(const struct pci_dev *d)
{
	uint16_t cmd = pci_read16(d, PCI_COMMAND);
	pci_write16(d, PCI_COMMAND, cmd | CMD_MEMORY | CMD_MASTER | CMD_INTX_OFF);
}

int pci_msix_init(struct pci_dev *d, struct pci_msix *mx)
{
	uint8_t cap = pci_find_cap(d, PCI_CAP_MSIX, 0);
	if (!cap)
		return -E_NOT_FOUND;
	uint16_t ctrl = pci_read16(d, cap + MSIX_CTRL);
	uint32_t table = pci_read32(d, cap + MSIX_TABLE);
	unsigned bir = table & 7;
	uint64_t off = table & ~7u;
	uint32_t nvec = (ctrl & 0x7ff) + 1u;
	char *base = bir < PCI_NBARS ? pci_bar_map(d, bir) : NULL;
	if (!base || off + 16UL * nvec > d->pd_bar_size[bir])
		return -E_INVAL;
	mx->mx_table = (volatile uint32_t *)(base + off);
	mx->mx_nvec = nvec;
	mx->mx_cap = cap;
	for (uint32_t i = 0; i < nvec; i++)
		mx->mx_table[4 * i + 3] = MSIX_ENTRY_MASKED;
	return 0;
}

void pci_msix_route(struct pci_msix *mx, uint32_t entry, uint8_t vector, uint32_t apic_id)
{
	volatile uint32_t *e = &mx->mx_table[4 * entry];
	e[3] = MSIX_ENTRY_MASKED;
	e[0] = 0xfee00000u | (apic_id & 0xff) << 12;
	e[1] = 0;
	e[2] = vector; /* fixed delivery, edge triggered */
	e[3] = 0;
}

void pci_msix_enable(const struct pci_dev *d, const struct pci_msix *mx)
{
	uint16_t ctrl = pci_read16(d, mx->mx_cap + MSIX_CTRL);
	ctrl = (uint16_t)((ctrl | MSIX_CTRL_ENABLE) & ~MSIX_CTRL_MASKALL);
	pci_write16(d, mx->mx_cap + MSIX_CTRL, ctrl);
}
