/*
 * Loading a program from the boot archive into a new env: its ELF segments,
 * an initial stack with argc/argv, and the registers to start it with.
 *
 * The boot archive is the boot loader's module (doc/boot.md): programs_init
 * finds it and has progarchive.c check it whole before any program is
 * looked up. Its programs are built by this tree, but the loader still
 * checks every header field it uses (program_check), so a damaged program
 * makes env_create fail with E_BAD_ELF rather than corrupt memory.
 *
 * Pages are allocated for, and owned by, the new env: tearing it down
 * returns them like any other.
 *
 * Locking: under the big kernel lock; the program table is read-only after
 * programs_init, which runs on the boot CPU alone.
 */
#include <inc/elf.h>
#include <inc/error.h>
#include <inc/kinfo.h>
#include <inc/memlayout.h>
#include <inc/page.h>
#include <inc/syscall.h>
#include <kern/env/cap.h>
#include <kern/env/env.h>
#include <kern/env/loader.h>
#include <kern/mem/account.h>
#include <kern/mem/pmap.h>
#include <kern/mem/stlb.h>
#include <kern/mem/vm.h>
#include <kern/arch/bootinfo.h>
#include <kern/arch/console.h>
#include <kern/arch/x86.h>
#include <common/string.h>

#define MAX_ARGS 64 /* words of a sys_env_create argument string */

struct program programs[PA_MAX_PROGS];
unsigned nprograms;

/* [pa, pa + len) inside one usable range the direct map reaches. */
static bool module_in_ram(physaddr_t pa, uint64_t len)
{
	if (pa + len < pa || pa + len > (pages_total << PAGE_SHIFT))
		return false;
	for (uint32_t i = 0; i < boot_info.nranges; i++) {
		const struct mem_range *m = &boot_info.ranges[i];
		if (m->usable && pa >= m->base && pa + len <= m->base + m->len)
			return true;
	}
	return false;
}

void programs_init(void)
{
	if (boot_info.mod_len == 0) {
		cprintf("boot archive: none (the boot loader gave no module): no programs\n");
		return;
	}
	if (boot_info.nmods > 1)
		cprintf("boot archive: %u modules given; the first is the archive\n",
			boot_info.nmods);
	struct pa_error err;
	int r;
	if (!module_in_ram(boot_info.mod_pa, boot_info.mod_len)) {
		err.pa_why = "the module is not inside the RAM the kernel maps";
		err.pa_entry = -1;
		r = -E_INVAL;
	} else {
		r = progarchive_parse(KADDR(boot_info.mod_pa), boot_info.mod_len, programs,
				      PA_MAX_PROGS, &nprograms, &err);
	}
	if (r < 0) {
		if (err.pa_entry >= 0)
			cprintf("boot archive: refused, entry %d: %s: no programs\n", err.pa_entry,
				err.pa_why);
		else
			cprintf("boot archive: refused: %s: no programs\n", err.pa_why);
		return;
	}
	cprintf("boot archive: %u programs, %lu KiB at %#lx\n", nprograms, boot_info.mod_len >> 10,
		boot_info.mod_pa);
}

const struct program *program_find(const char *name)
{
	for (unsigned i = 0; i < nprograms; i++)
		if (strcmp(programs[i].name, name) == 0)
			return &programs[i];
	return NULL;
}

int program_check(const struct program *prog)
{
	uint64_t size = (uint64_t)(prog->end - prog->start);
	const struct elf64_ehdr *eh = (const void *)prog->start;
	if (size < sizeof(*eh) || eh->e_magic != ELF_MAGIC || eh->e_class != ELFCLASS64 ||
	    eh->e_data != ELFDATA2LSB || eh->e_type != ET_EXEC || eh->e_machine != EM_X86_64 ||
	    eh->e_phentsize != sizeof(struct elf64_phdr) || eh->e_phoff > size ||
	    (uint64_t)eh->e_phnum * sizeof(struct elf64_phdr) > size - eh->e_phoff ||
	    eh->e_entry >= UTOP)
		return -E_BAD_ELF;
	const struct elf64_phdr *ph = (const void *)(prog->start + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_filesz > ph[i].p_memsz || ph[i].p_offset > size ||
		    ph[i].p_filesz > size - ph[i].p_offset || ph[i].p_vaddr >= UTOP ||
		    ph[i].p_memsz > UTOP - ph[i].p_vaddr)
			return -E_BAD_ELF;
	}
	return 0;
}

/* The page bound at va in e, binding a fresh one (rights) if none is. */
static void *page_at(struct env *e, uint64_t va, unsigned rights, int *err)
{
	const struct binding *b = stlb_lookup(e->env_vm, va);
	if (b) {
		/* segments sharing a page get the union of their rights */
		ppn_t ppn = b->b_ppn;
		unsigned have = b->b_rights;
		if ((have | rights) != have)
			*err = stlb_bind(e->env_vm, va, ppn, have | rights);
		return page_kva(ppn);
	}
	long g = guard_get(&e->env_guard, e->env_vm->vs_acct); /* guarded by the env's own name */
	long ppn = g < 0 ? g : page_take(e->env_vm, PAGE_USER, PPN_ANY);
	if (ppn < 0) {
		if (g > 0)
			guard_put((uint32_t)g);
		*err = (int)ppn;
		return NULL;
	}
	page_guards[ppn] = (uint32_t)g;
	*err = stlb_bind(e->env_vm, va, (ppn_t)ppn, rights);
	if (*err) {
		page_give_back((ppn_t)ppn);
		return NULL;
	}
	return page_kva((ppn_t)ppn);
}

/*
 * Read-only segments are loaded once per program and their pages bound into
 * every env that runs it, as a page cache would: less to copy, and code that
 * stays where it was (an emulator keeps its translations of it). The pages
 * are the kernel's, kept for as long as it runs.
 */
#define IMAGE_CACHE_MAX 4096 /* read-only pages of all programs: a power of two */

static struct {
	const struct program *prog;
	uint64_t va;
	uint32_t ppn;
} image_cache[IMAGE_CACHE_MAX];
static unsigned image_cached;

extern struct kern_info kinfo;

/* The shared page of prog's read-only image at va, made on first use from
 * the bytes of ph; PPN_NONE if the cache is full or memory short. */
static ppn_t image_page(const struct program *prog, const struct elf64_phdr *ph, uint64_t va)
{
	unsigned h = (unsigned)(((uint64_t)prog >> 4) ^ (va >> PAGE_SHIFT)) * 2654435761u;
	for (unsigned i = 0; i < IMAGE_CACHE_MAX; i++) {
		unsigned k = (h + i) & (IMAGE_CACHE_MAX - 1);
		if (image_cache[k].prog == prog && image_cache[k].va == va)
			return image_cache[k].ppn;
		if (image_cache[k].prog)
			continue;
		if (image_cached >= IMAGE_CACHE_MAX * 3 / 4)
			return PPN_NONE;
		long ppn = page_take(NULL, PAGE_IMAGE, PPN_ANY);
		if (ppn < 0)
			return PPN_NONE;
		uint8_t *page = page_kva((ppn_t)ppn);
		uint64_t lo = MAX(va, ph->p_vaddr);
		uint64_t hi = MIN(va + PAGE_SIZE, ph->p_vaddr + ph->p_filesz);
		if (lo < hi)
			memcpy(page + (lo - va), prog->start + ph->p_offset + (lo - ph->p_vaddr),
			       hi - lo);
		image_cache[k].prog = prog;
		image_cache[k].va = va;
		image_cache[k].ppn = (uint32_t)ppn;
		image_cached++;
		kinfo.ki_pool_pages++;
		return (ppn_t)ppn;
	}
	return PPN_NONE;
}

/* Bind the shared image pages of read-only segment ph; false if it cannot be
 * shared (a page it has in common with another segment), nothing bound. */
static bool load_shared(struct env *e, const struct program *prog, const struct elf64_phdr *ph,
			unsigned rights, int *err)
{
	uint64_t lo = ROUNDDOWN(ph->p_vaddr, PAGE_SIZE), end = ph->p_vaddr + ph->p_memsz;
	for (uint64_t va = lo; va < end; va += PAGE_SIZE)
		if (stlb_lookup(e->env_vm, va))
			return false;
	for (uint64_t va = lo; va < end; va += PAGE_SIZE) {
		ppn_t ppn = image_page(prog, ph, va);
		if (ppn == PPN_NONE) {
			for (uint64_t v = lo; v < va; v += PAGE_SIZE)
				stlb_unbind(e->env_vm, v); /* private copies instead */
			return false;
		}
		if ((*err = stlb_bind(e->env_vm, va, ppn, rights)) < 0)
			return true;
	}
	return true;
}

static int load_segment(struct env *e, const struct program *prog, const struct elf64_phdr *ph)
{
	unsigned rights = BIND_READ;
	if (ph->p_flags & PF_W)
		rights |= BIND_WRITE;
	if (ph->p_flags & PF_X)
		rights |= BIND_EXEC;
	int err = 0;
	if (!(rights & BIND_WRITE) && load_shared(e, prog, ph, rights, &err))
		return err;
	const uint8_t *src = prog->start + ph->p_offset;
	uint64_t end = ph->p_vaddr + ph->p_memsz;
	for (uint64_t va = ROUNDDOWN(ph->p_vaddr, PAGE_SIZE); va < end; va += PAGE_SIZE) {
		uint8_t *page = page_at(e, va, rights, &err);
		if (err)
			return err;
		/* The part of [p_vaddr, p_vaddr + filesz) inside this page. */
		uint64_t lo = MAX(va, ph->p_vaddr);
		uint64_t hi = MIN(va + PAGE_SIZE, ph->p_vaddr + ph->p_filesz);
		if (lo < hi)
			memcpy(page + (lo - va), src + (lo - ph->p_vaddr), hi - lo);
	}
	return 0;
}

/*
 * Initial stack, from USTACKTOP down: the argument strings, then argv[] (NULL
 * terminated), 16-byte aligned. The program starts with %rdi = argc, %rsi =
 * argv and %rsp pointing below them, as a call would leave it.
 */
static int setup_stack(struct env *e, const char *name, const char *args)
{
	uint8_t *top = NULL;
	for (int i = USTACK_PAGES; i > 0; i--) {
		int err = 0;
		top = page_at(e, USTACKTOP - (uint64_t)i * PAGE_SIZE, BIND_READ | BIND_WRITE, &err);
		if (err)
			return err;
	}
	/* All strings and pointers fit in the top page: args are bounded by
	 * ENV_CREATE_ARGS_MAX and MAX_ARGS. */
	_Static_assert(ENV_CREATE_NAME_MAX + ENV_CREATE_ARGS_MAX + (MAX_ARGS + 2) * 8 + 32 <
			       PAGE_SIZE,
		       "initial stack fits a page");
	uint64_t sp = USTACKTOP;
	uint64_t argv[MAX_ARGS + 2];
	int argc = 0;
	size_t n = strlen(name) + 1;
	sp -= n;
	memcpy(top + (sp - (USTACKTOP - PAGE_SIZE)), name, n);
	argv[argc++] = sp;
	for (const char *p = args; *p && argc < MAX_ARGS + 1;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		size_t len = 0;
		while (p[len] && p[len] != ' ')
			len++;
		sp -= len + 1;
		char *dst = (char *)top + (sp - (USTACKTOP - PAGE_SIZE));
		memcpy(dst, p, len);
		dst[len] = '\0';
		argv[argc++] = sp;
		p += len;
	}
	argv[argc] = 0;
	sp = ROUNDDOWN(sp, 16) - (uint64_t)(argc + 1) * 8;
	sp = ROUNDDOWN(sp, 16);
	memcpy(top + (sp - (USTACKTOP - PAGE_SIZE)), argv, (uint64_t)(argc + 1) * 8);
	e->env_tf.tf_rdi = (uint64_t)argc;
	e->env_tf.tf_rsi = sp;
	e->env_tf.tf_rsp = sp - 8; /* as if called: a slot for a return address */
	return 0;
}

int program_fits(struct env *e, const struct program *prog)
{
	const struct elf64_ehdr *eh = (const void *)prog->start;
	const struct elf64_phdr *ph = (const void *)(prog->start + eh->e_phoff);
	uint64_t bound = USTACK_PAGES, tables = 3 + 1; /* PDPT, PD, PT of the stack */
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		uint64_t lo = ROUNDDOWN(ph[i].p_vaddr, PAGE_SIZE);
		uint64_t n = (ROUNDUP(ph[i].p_vaddr + ph[i].p_memsz, PAGE_SIZE) - lo) / PAGE_SIZE;
		bound += n;
		tables += 3 + n / 512 + 1; /* a segment may cross every level once */
	}
	/* Every page may need a private copy (the image cache can be full). */
	uint64_t pages_needed = bound + tables;
	if (pages_needed > pages_free)
		return -E_NO_MEM;
	if (!acct_may(e->env_vm->vs_acct, QUOTA_PAGES, pages_needed))
		return -E_QUOTA;
	/* Its bindings all go before the load: count them as room. */
	uint64_t have = e->env_vm->vs_nbindings;
	if (bound > have && !acct_may(e->env_vm->vs_acct, QUOTA_BINDINGS, bound - have))
		return -E_QUOTA;
	return 0;
}

int program_load(struct env *e, const struct program *prog, const char *args)
{
	const struct elf64_ehdr *eh = (const void *)prog->start;
	const struct elf64_phdr *ph = (const void *)(prog->start + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		int err = load_segment(e, prog, &ph[i]);
		if (err)
			return err;
	}
	int err = setup_stack(e, prog->name, args);
	if (err)
		return err;
	e->env_tf.tf_rip = eh->e_entry;
	return 0;
}
