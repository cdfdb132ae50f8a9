/*
 * What the boot loader told the kernel, copied out of the loader's structures
 * (which live in memory the kernel will hand out) into kernel storage.
 * The boot module's bytes stay where the loader put them: only its place
 * is copied.
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
	/* The first boot module (the program archive, doc/boot.md): where the
	 * loader put it, or mod_len 0 if it gave none; how many it gave. The
	 * page allocator never hands its pages out (kern/mem/pmap.c). */
	physaddr_t mod_pa;
	uint64_t mod_len;
	uint32_t nmods;
};

extern struct boot_info boot_info;

/* Parse the loader's structures at info_pa (reached through the boot
 * identity map) into boot_info. Returns false if nothing usable was found. */
bool bootinfo_parse(uint32_t protocol, physaddr_t info_pa);

#endif
