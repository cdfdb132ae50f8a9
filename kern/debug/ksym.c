/*
 * Symbols: naming the function an address falls in, for backtraces.
 *
 * The kernel's own functions come from a table linked into it (.ksyms, at
 * the end of rodata): the build links the kernel once without it, lists that
 * image's functions with tools/mkksyms, and links again with the list,
 * checking that no function moved. So the kernel needs no debug information
 * at run time and looks an address up by binary search.
 *
 * A user program's functions come from its own ELF .symtab: the boot image
 * carries every program unstripped. The image is the build's, but every
 * header field is checked before use all the same, as the loader does.
 *
 * Locking: none; everything read here is read-only.
 */
#include <inc/elf.h>
#include <kern/debug/ksym.h>
#include <kern/env/loader.h>
#include <common/string.h>

struct ksym {
	uint64_t ks_addr;
	uint64_t ks_name; /* offset into ksyms_names */
};

/* tools/mkksyms, through the linker */
extern const uint64_t ksyms_count;
extern const struct ksym ksyms[];
extern const char ksyms_names[];
extern const char __text_start[], __text_end[];

bool ksym_lookup(uint64_t addr, struct sym *out)
{
	if (addr < (uint64_t)__text_start || addr >= (uint64_t)__text_end)
		return false;
	/* the last entry at or below addr */
	uint64_t lo = 0, hi = ksyms_count;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (ksyms[mid].ks_addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return false;
	const struct ksym *k = &ksyms[lo - 1];
	out->s_name = ksyms_names + k->ks_name;
	out->s_off = addr - k->ks_addr;
	return true;
}

/* Section i of the image, or NULL if the headers do not hold together. */
static const struct elf64_shdr *section(const uint8_t *img, uint64_t size, unsigned i)
{
	const struct elf64_ehdr *eh = (const void *)img;
	if (i >= eh->e_shnum)
		return NULL;
	const struct elf64_shdr *sh = (const struct elf64_shdr *)(img + eh->e_shoff) + i;
	/* SHT_NOBITS sections occupy no file bytes: nothing to bound */
	if (sh->sh_type != SHT_NOBITS &&
	    (sh->sh_offset > size || sh->sh_size > size - sh->sh_offset))
		return NULL;
	return sh;
}

bool program_sym_lookup(const struct program *prog, uint64_t addr, struct sym *out)
{
	const uint8_t *img = prog->start;
	uint64_t size = (uint64_t)(prog->end - prog->start);
	const struct elf64_ehdr *eh = (const void *)img;
	if (size < sizeof(*eh) || eh->e_magic != ELF_MAGIC || eh->e_class != ELFCLASS64 ||
	    eh->e_shentsize != sizeof(struct elf64_shdr) || eh->e_shoff > size ||
	    (uint64_t)eh->e_shnum * sizeof(struct elf64_shdr) > size - eh->e_shoff ||
	    eh->e_shoff % 8 != 0)
		return false;

	const struct elf64_shdr *symtab = NULL, *strtab = NULL;
	for (unsigned i = 0; i < eh->e_shnum && !symtab; i++) {
		const struct elf64_shdr *sh = section(img, size, i);
		if (sh && sh->sh_type == SHT_SYMTAB && sh->sh_entsize == sizeof(struct elf64_sym) &&
		    sh->sh_offset % 8 == 0) {
			symtab = sh;
			strtab = section(img, size, sh->sh_link);
		}
	}
	if (!symtab || !strtab || strtab->sh_type != SHT_STRTAB)
		return false;

	/* The closest function at or below addr, inside its executable
	 * section; a return address may sit just past a function's end (a
	 * call to something that does not return), so the end is included. */
	const struct elf64_sym *syms = (const void *)(img + symtab->sh_offset);
	const struct elf64_sym *best = NULL;
	for (uint64_t i = 0; i < symtab->sh_size / sizeof(*syms); i++) {
		const struct elf64_sym *s = &syms[i];
		unsigned type = s->st_info & 0xf;
		if ((type != STT_FUNC && type != STT_NOTYPE) || s->st_value > addr ||
		    s->st_name == 0 || s->st_name >= strtab->sh_size)
			continue;
		if (best && s->st_value <= best->st_value)
			continue;
		const struct elf64_shdr *in = section(img, size, s->st_shndx);
		if (!in || !(in->sh_flags & SHF_EXECINSTR) || addr > in->sh_addr + in->sh_size)
			continue;
		if (s->st_size && addr > s->st_value + s->st_size)
			continue;
		best = s;
	}
	if (!best)
		return false;
	const char *name = (const char *)img + strtab->sh_offset + best->st_name;
	uint64_t room = strtab->sh_size - best->st_name;
	if (strnlen(name, room) == room)
		return false;
	out->s_name = name;
	out->s_off = addr - best->st_value;
	return true;
}
