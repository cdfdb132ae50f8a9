/*
 * Reading the boot loader's hand-off: the physical memory map, the command
 * line, the ACPI root pointer and where the first boot module is, from
 * either PVH's struct hvm_start_info (QEMU -kernel) or a multiboot2
 * information block (GRUB).
 *
 * Runs once, on the boot CPU, before paging is rebuilt: the loader's
 * structures are read through the boot page table's identity map of the first
 * GiB, and copied, because their memory becomes free pages afterwards.
 */
#include <kern/arch/bootinfo.h>
#include <kern/arch/bootproto.h>
#include <kern/arch/mmu.h>
#include <common/string.h>

struct boot_info boot_info;

#define IDENTITY_LIMIT (1UL << 30)

/* A pointer to [pa, pa+len) through the identity map, or NULL if outside it. */
static const void *boot_ptr(physaddr_t pa, uint64_t len)
{
	if (pa == 0 || pa >= IDENTITY_LIMIT || len > IDENTITY_LIMIT - pa)
		return NULL;
	return (const void *)pa;
}

static void add_range(uint64_t base, uint64_t len, bool usable)
{
	if (boot_info.nranges == BOOT_MAX_RANGES || len == 0)
		return;
	struct mem_range *r = &boot_info.ranges[boot_info.nranges++];
	r->base = base;
	r->len = len;
	r->usable = usable;
}

/* The first module only; a range that wraps or is empty is no module. */
static void set_module(uint64_t pa, uint64_t len)
{
	if (boot_info.mod_len || len == 0 || pa + len < pa)
		return;
	boot_info.mod_pa = pa;
	boot_info.mod_len = len;
}

static void copy_cmdline(physaddr_t pa)
{
	const char *s = boot_ptr(pa, 1);
	if (!s)
		return;
	size_t i;
	for (i = 0; i + 1 < sizeof(boot_info.cmdline) && boot_ptr(pa + i, 1) && s[i]; i++)
		boot_info.cmdline[i] = s[i];
	boot_info.cmdline[i] = '\0';
}

/* PVH: xen/include/public/arch-x86/hvm/start_info.h, version >= 1 for memmap. */
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

#define HVM_START_MAGIC 0x336ec578
#define E820_RAM 1

static bool parse_pvh(physaddr_t pa)
{
	const struct hvm_start_info *si = boot_ptr(pa, sizeof(*si));
	if (!si || si->magic != HVM_START_MAGIC)
		return false;
	copy_cmdline(si->cmdline_paddr);
	boot_info.rsdp_pa = si->rsdp_paddr;
	boot_info.nmods = si->nr_modules;
	const struct hvm_modlist_entry *mod =
		si->nr_modules ? boot_ptr(si->modlist_paddr, sizeof(*mod)) : NULL;
	if (mod)
		set_module(mod->paddr, mod->size);
	if (si->version < 1)
		return false;
	const struct hvm_memmap_entry *m =
		boot_ptr(si->memmap_paddr, (uint64_t)si->memmap_entries * sizeof(*m));
	if (!m)
		return false;
	for (uint32_t i = 0; i < si->memmap_entries; i++)
		add_range(m[i].addr, m[i].size, m[i].type == E820_RAM);
	return boot_info.nranges > 0;
}

/* Multiboot2 information: a size header, then 8-byte-aligned tags. */
#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_MODULE 3
#define MB2_TAG_MMAP 6
#define MB2_TAG_ACPI_OLD 14
#define MB2_TAG_ACPI_NEW 15

struct mb2_tag {
	uint32_t type, size;
};

struct mb2_mmap_entry {
	uint64_t base, len;
	uint32_t type, reserved;
};

static bool parse_multiboot2(physaddr_t pa)
{
	const uint32_t *hdr = boot_ptr(pa, 8);
	if (!hdr || !boot_ptr(pa, hdr[0]) || hdr[0] < 16)
		return false;
	uint64_t end = pa + hdr[0];
	for (uint64_t p = pa + 8; p + sizeof(struct mb2_tag) <= end;) {
		const struct mb2_tag *t = (const void *)p;
		if (t->type == MB2_TAG_END || t->size < 8 || t->size > end - p)
			break;
		const uint8_t *body = (const uint8_t *)(t + 1);
		uint32_t body_len = t->size - 8;
		if (t->type == MB2_TAG_CMDLINE) {
			copy_cmdline(p + 8);
		} else if (t->type == MB2_TAG_MODULE && body_len >= 8) {
			const uint32_t *m = (const uint32_t *)body; /* start, end, string */
			boot_info.nmods++;
			if (m[1] > m[0])
				set_module(m[0], (uint64_t)m[1] - m[0]);
		} else if (t->type == MB2_TAG_MMAP && body_len >= 8) {
			uint32_t esize = ((const uint32_t *)body)[0];
			if (esize >= sizeof(struct mb2_mmap_entry)) {
				for (uint32_t off = 8; off + esize <= body_len; off += esize) {
					const struct mb2_mmap_entry *e = (const void *)(body + off);
					add_range(e->base, e->len, e->type == E820_RAM);
				}
			}
		} else if ((t->type == MB2_TAG_ACPI_OLD || t->type == MB2_TAG_ACPI_NEW) &&
			   body_len <= sizeof(boot_info.rsdp_copy) &&
			   (t->type == MB2_TAG_ACPI_NEW || boot_info.rsdp_pa == 0)) {
			memcpy(boot_info.rsdp_copy, body, body_len);
			/* acpi_init reads it through the direct map like any table */
			boot_info.rsdp_pa = PADDR(boot_info.rsdp_copy);
		}
		p += ROUNDUP(t->size, 8);
	}
	return boot_info.nranges > 0;
}

bool bootinfo_parse(uint32_t protocol, physaddr_t info_pa)
{
	boot_info.protocol = protocol;
	if (protocol == BOOT_PVH)
		return parse_pvh(info_pa);
	if (protocol == BOOT_MULTIBOOT2)
		return parse_multiboot2(info_pa);
	return false;
}
