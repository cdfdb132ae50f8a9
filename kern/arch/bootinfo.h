/*
 * What the boot loader told the kernel, copied out of the loader's structures
 * (which live in memory the kernel will hand out) into kernel storage.
 */
#ifndef EXO_KERN_BOOTINFO_H
#define EXO_KERN_BOOTINFO_H

#include <inc/kinfo.h>
#include <inc/types.h>

#define BOOT_MAX_RANGES 64   /* e820-style entries kept; QEMU gives < 10 */

struct mem_range {
	uint64_t base, len;
	uint32_t usable;
};

struct boot_info {
	uint32_t protocol;                 /* BOOT_* (bootproto.h) */
	uint32_t nranges;
	struct mem_range ranges[BOOT_MAX_RANGES];
	char cmdline[KI_CMDLINE_LEN];
	physaddr_t rsdp_pa;                /* 0 if the loader did not say */
	uint8_t rsdp_copy[64];             /* multiboot2 gives a copy, not a pointer */
};

extern struct boot_info boot_info;

/* Parse the loader's structures at info_pa (reached through the boot
 * identity map) into boot_info. Returns false if nothing usable was found. */
bool bootinfo_parse(uint32_t protocol, physaddr_t info_pa);

#endif
