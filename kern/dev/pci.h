/*
 * PCI: finding devices, their memory BARs and capabilities, and MSI-X.
 * Drivers (virtio_net.c) take what pci_init found; nothing is shared with
 * user space.
 */
#ifndef EXO_KERN_PCI_H
#define EXO_KERN_PCI_H

#include <inc/types.h>

#define PCI_MAX_DEVS 32   /* functions remembered at boot; q35 has a dozen */
#define PCI_NBARS 6

#define PCI_CAP_MSIX 0x11
#define PCI_CAP_VENDOR 0x09

struct pci_dev {
	uint8_t pd_bus, pd_dev, pd_fn;
	uint16_t pd_vendor, pd_device;
	uint8_t pd_class, pd_subclass;
	physaddr_t pd_bar[PCI_NBARS];   /* base of each memory BAR, 0: none or I/O */
	uint64_t pd_bar_size[PCI_NBARS];
	void *pd_bar_kva[PCI_NBARS];    /* where the kernel reaches it, once mapped */
	bool pd_claimed;                /* a driver took it */
};

/* An MSI-X table, once found (pci_msix_init). */
struct pci_msix {
	volatile uint32_t *mx_table;  /* 4 words an entry */
	uint32_t mx_nvec;
	uint8_t mx_cap;               /* config offset of the capability */
};

/* Scan every bus through the legacy configuration ports. Boot CPU, once,
 * before the first env (mappings made for BARs are shared from then on). */
void pci_init(void);
/* The next unclaimed function with vendor and one of the two device ids
 * (0: any), or NULL. */
struct pci_dev *pci_find(uint16_t vendor, uint16_t dev_lo, uint16_t dev_hi);

uint32_t pci_read32(const struct pci_dev *d, uint8_t off);
uint16_t pci_read16(const struct pci_dev *d, uint8_t off);
uint8_t pci_read8(const struct pci_dev *d, uint8_t off);
void pci_write32(const struct pci_dev *d, uint8_t off, uint32_t v);
void pci_write16(const struct pci_dev *d, uint8_t off, uint16_t v);

/* Config offset of the first capability with id at or after offset start
 * (0: from the list's head), or 0. Walks at most 48 entries, so a looping
 * list ends. */
uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id, uint8_t after);
/* Kernel address of memory BAR bar, mapped uncached (pmap_map_mmio), or
 * NULL if the BAR is absent, an I/O BAR, or cannot be mapped. */
void *pci_bar_map(struct pci_dev *d, unsigned bar);
/* Turn on memory decoding and bus mastering; turn off INTx. */
void pci_enable(const struct pci_dev *d);

/* Find and map d's MSI-X table, every entry masked. -E_NOT_FOUND without
 * the capability, -E_INVAL if its table cannot be reached. */
int pci_msix_init(struct pci_dev *d, struct pci_msix *mx);
/* Deliver entry as vector (fixed, edge) to the CPU with apic_id; unmasked. */
void pci_msix_route(struct pci_msix *mx, uint32_t entry, uint8_t vector, uint32_t apic_id);
/* Enable MSI-X for d (function mask off). */
void pci_msix_enable(const struct pci_dev *d, const struct pci_msix *mx);

#endif
