/*
 * An ELF loader for downloaded code (see bpf_elf.h): finds the program
 * section, copies its instructions and applies the region relocations.
 *
 * Everything is read with memcpy, so the image needs no alignment, and every
 * table entry is bounds-checked against the image before it is read.
 */
#include <inc/elf.h>
#include <inc/error.h>
#include <lib/base/bpf_elf.h>
#include <common/string.h>

#define ET_REL 1
#define EM_BPF 247
#define SHT_SYMTAB 2
#define SHT_REL 9
#define SHF_EXECINSTR 0x4
#define SHN_UNDEF 0
#define R_BPF_NONE 0
#define R_BPF_64_64 1

struct elf64_rel {
	uint64_t r_offset;
	uint64_t r_info; /* symbol << 32 | type */
};

struct image {
	const uint8_t *p;
	size_t size;
	struct elf64_ehdr eh;
};

/* Whether [off, off + len) lies inside the image. */
static bool in_image(const struct image *im, uint64_t off, uint64_t len)
{
	return off <= im->size && len <= im->size - off;
}

static int read_shdr(const struct image *im, uint32_t idx, struct elf64_shdr *sh)
{
	if (idx >= im->eh.e_shnum)
		return -E_BAD_ELF;
	memcpy(sh, im->p + im->eh.e_shoff + (uint64_t)idx * sizeof(*sh), sizeof(*sh));
	return 0;
}

static bool has_nul(const char *s, uint64_t n)
{
	for (uint64_t k = 0; k < n; k++)
		if (!s[k])
			return true;
	return false;
}

/* The NUL-terminated string at off in string table section strndx. */
static const char *str_at(const struct image *im, uint32_t strndx, uint32_t off)
{
	struct elf64_shdr st;
	if (read_shdr(im, strndx, &st) || !in_image(im, st.sh_offset, st.sh_size) ||
	    off >= st.sh_size)
		return NULL;
	const char *s = (const char *)im->p + st.sh_offset + off;
	if (!has_nul(s, st.sh_size - off))
		return NULL;
	return s;
}

static int find_section(const struct image *im, const char *name, uint32_t *idx)
{
	for (uint32_t k = 1; k < im->eh.e_shnum; k++) {
		struct elf64_shdr sh;
		read_shdr(im, k, &sh);
		if (sh.sh_size == 0 || !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		if (name) {
			const char *n = str_at(im, im->eh.e_shstrndx, sh.sh_name);
			if (!n || strcmp(n, name) != 0)
				continue;
		}
		*idx = k;
		return 0;
	}
	return -E_NOT_FOUND;
}

static int apply_rel(const struct image *im, const struct elf64_shdr *rs, struct bpf_insn *out,
		     uint32_t n, bpf_elf_resolve_fn *resolve, void *arg)
{
	struct elf64_shdr symtab;
	if (rs->sh_entsize != sizeof(struct elf64_rel) ||
	    !in_image(im, rs->sh_offset, rs->sh_size) || read_shdr(im, rs->sh_link, &symtab) ||
	    symtab.sh_type != SHT_SYMTAB || symtab.sh_entsize != sizeof(struct elf64_sym) ||
	    !in_image(im, symtab.sh_offset, symtab.sh_size))
		return -E_BAD_ELF;
	uint64_t nrel = rs->sh_size / sizeof(struct elf64_rel);
	for (uint64_t r = 0; r < nrel; r++) {
		struct elf64_rel rel;
		memcpy(&rel, im->p + rs->sh_offset + r * sizeof(rel), sizeof(rel));
		uint32_t type = (uint32_t)rel.r_info, symi = (uint32_t)(rel.r_info >> 32);
		if (type == R_BPF_NONE)
			continue;
		if (type != R_BPF_64_64)
			return -E_INVAL;
		if (rel.r_offset % 8 || rel.r_offset / 8 + 1 >= n)
			return -E_BAD_ELF;
		struct bpf_insn *i = &out[rel.r_offset / 8];
		if (i->code != (BPF_LD | BPF_IMM | BPF_DW) || i->src != 0)
			return -E_BAD_ELF;
		if (symi >= symtab.sh_size / sizeof(struct elf64_sym))
			return -E_BAD_ELF;
		struct elf64_sym sym;
		memcpy(&sym, im->p + symtab.sh_offset + (uint64_t)symi * sizeof(sym), sizeof(sym));
		if (sym.st_shndx != SHN_UNDEF)
			return -E_INVAL; /* global data in the object: not supported */
		const char *name = str_at(im, symtab.sh_link, sym.st_name);
		if (!name)
			return -E_BAD_ELF;
		int region = resolve ? resolve(arg, name) : -1;
		if (region < 0)
			return -E_NOT_FOUND;
		uint64_t addend = (uint32_t)i[0].imm | (uint64_t)(uint32_t)i[1].imm << 32;
		if (addend > INT32_MAX)
			return -E_INVAL;
		i[0].src = BPF_PSEUDO_REGION;
		i[0].imm = region;
		i[1].imm = (int32_t)addend;
	}
	return 0;
}

int bpf_elf_load(const void *image, size_t size, const char *section, struct bpf_insn *out,
		 uint32_t max, uint32_t *len, bpf_elf_resolve_fn *resolve, void *arg)
{
	struct image im = { .p = image, .size = size };
	*len = 0;
	if (size < sizeof(im.eh))
		return -E_BAD_ELF;
	memcpy(&im.eh, image, sizeof(im.eh));
	const struct elf64_ehdr *eh = &im.eh;
	if (eh->e_magic != ELF_MAGIC || eh->e_class != ELFCLASS64 || eh->e_data != ELFDATA2LSB ||
	    eh->e_type != ET_REL || eh->e_machine != EM_BPF ||
	    eh->e_shentsize != sizeof(struct elf64_shdr) ||
	    !in_image(&im, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(struct elf64_shdr)) ||
	    eh->e_shstrndx >= eh->e_shnum)
		return -E_BAD_ELF;

	uint32_t text;
	int r = find_section(&im, section, &text);
	if (r)
		return r;
	struct elf64_shdr sh;
	read_shdr(&im, text, &sh);
	if (!in_image(&im, sh.sh_offset, sh.sh_size) || sh.sh_size % sizeof(struct bpf_insn))
		return -E_BAD_ELF;
	if (sh.sh_size / sizeof(struct bpf_insn) > max)
		return -E_TOO_BIG;
	uint32_t n = (uint32_t)(sh.sh_size / sizeof(struct bpf_insn));
	memcpy(out, im.p + sh.sh_offset, sh.sh_size);

	for (uint32_t k = 1; k < eh->e_shnum; k++) {
		struct elf64_shdr rs;
		read_shdr(&im, k, &rs);
		if (rs.sh_type == SHT_REL && rs.sh_info == text &&
		    (r = apply_rel(&im, &rs, out, n, resolve, arg)))
			return r;
	}
	*len = n;
	return 0;
}
