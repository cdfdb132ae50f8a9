/*
 * Programs loaded from the file system: the library OS's own ELF loader.
 *
 * posix_spawn and execve (proc.c) name a program; exec_lookup says where it
 * comes from: a name without a slash is looked for in each directory of
 * $PATH (default /bin), a name with one is the file at that path. When
 * there is no file system to look in (no disk, or a tree this env's key
 * does not reach), or a bare name is in no directory of $PATH, the program
 * comes from the boot image as before (EXEC_FROM_BOOT_IMAGE), so programs
 * and tests that boot without a disk keep working.
 *
 * exec_child builds a child from a file: the SPAWNER reads the ELF (a child
 * cannot reach the file system yet, doc/fs.md), makes an unstarted child
 * with an empty address space (env_fork), allocates the child's pages,
 * fills them through a window of scratch pages bound in its own space, binds
 * them into the child with each segment's rights, and gives up its own hold
 * on them, so they are the child's and go when it does. The stack is set up
 * as the kernel's loader does it (kern/env/loader.c: USTACK_PAGES below
 * USTACKTOP, argv's strings in the top page, %rdi = argc, %rsi = argv), so
 * lib/base's start-up runs unchanged. The caller hands the child its
 * arguments (proc.c's hand-off) and starts it. Read-only segments come from
 * the spawner's cache of them (exec_cache.c), bound as they are.
 *
 * exec_replace (execve) builds the program in this env's own pages, each at
 * stage_va of its place, exports the descriptors to itself, and has the
 * kernel make those pages the address space (env_exec_moves), so the env
 * keeps its id; doc/shell.md says why the kernel does the swap.
 *
 * Hostile input: the file is anybody's. Every header field the loader uses
 * is checked before the child exists, all in 64-bit arithmetic that cannot
 * wrap: magic, class, byte order, version, type (ET_EXEC only: there is no
 * dynamic linker), machine, the header table's size and place, each PT_LOAD
 * inside the file, filesz <= memsz, segments in ascending order and not
 * overlapping, inside the program area [UTEXT, LIBOS_HEAP_BASE) (below it
 * page 0 must stay unmapped, above it are the library OS's own regions),
 * their pages bounded (EXEC_PAGES_MAX and the free pages), the entry point
 * inside an executable segment's file bytes. A file that changes while it is
 * read is caught by the short read. Errors: -ENOENT no such file, -EACCES a
 * directory, not a regular file or no execute bit, -ENOEXEC a malformed or
 * truncated ELF, -ENOMEM too big or out of memory; never a fault.
 */
#include <inc/elf.h>
#include <lib/base/libos.h>
#include <lib/base/vm.h>
#include <lib/posix/exec.h>
#include <lib/posix/fsshare.h>
#include <lib/posix/handoff.h>
#include <lib/posix/posix.h>

#define EXEC_PHNUM_MAX 64      /* program headers read; ours have 3-4 */
#define EXEC_PAGES_MAX 16384   /* 64 MiB of image and stack: ENOMEM past it */
#define EXEC_AREA_LO UTEXT     /* page 0 and its neighbours stay unmapped */
#define EXEC_AREA_HI LIBOS_HEAP_BASE /* lib/base's heap and regions start here */
#define EXEC_PATH_DEFAULT "/bin"

struct exec_file {
	int fd;
	uint64_t size;
	struct stat st; /* which file: the page cache's key */
	struct elf64_ehdr eh;
	struct elf64_phdr ph[EXEC_PHNUM_MAX];
	unsigned nload; /* PT_LOAD entries, copied to ph[0..nload) in file order */
	uint64_t npages;
};

/* ---- finding the program ---- */

static bool fs_reachable(void)
{
	/* the key the tree is mounted with on a first path call: a child's
	 * own key (CAP_SELF) does not reach its family's tree */
	int r = posix_fs_mount(fs_share_key());
	return r == 0 || r == -EBUSY; /* -EBUSY: mounted already */
}

static bool executable(const struct stat *st)
{
	return S_ISREG(st->st_mode) && (st->st_mode & 0111);
}

int exec_lookup(const char *prog, char *path, size_t size)
{
	if (!prog || !prog[0])
		return -ENOENT;
	if (!fs_reachable())
		return EXEC_FROM_BOOT_IMAGE;
	if (strchr(prog, '/')) {
		int r = path_resolve(prog, path, size);
		return r < 0 ? r : 0;
	}
	if (strlen(prog) > NAME_MAX)
		return -ENAMETOOLONG;
	const char *dirs = getenv("PATH");
	if (!dirs)
		dirs = EXEC_PATH_DEFAULT;
	bool denied = false;
	for (const char *d = dirs;;) {
		const char *end = strchr(d, ':');
		size_t n = end ? (size_t)(end - d) : strlen(d);
		char cand[PATH_MAX];
		/* an empty entry is the working directory, as POSIX says */
		int w = n ? snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, d, prog)
			  : snprintf(cand, sizeof(cand), "%s", prog);
		struct stat st;
		if (w > 0 && (size_t)w < sizeof(cand) && path_resolve(cand, path, size) >= 0 &&
		    stat(path, &st) == 0) {
			if (executable(&st))
				return 0;
			denied = true; /* go on, as execvp does; say so if nothing else fits */
		}
		if (!end)
			break;
		d = end + 1;
	}
	return denied ? -EACCES : EXEC_FROM_BOOT_IMAGE;
}

/* ---- reading and checking the ELF ---- */

static int read_exact(int fd, void *buf, uint64_t n, uint64_t off)
{
	while (n) {
		ssize_t r = pread(fd, buf, n, (off_t)off);
		if (r < 0)
			return (int)r;
		if (r == 0)
			return -ENOEXEC; /* shorter than its headers say */
		buf = (char *)buf + r;
		n -= (uint64_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int check_header(struct exec_file *x)
{
	const struct elf64_ehdr *eh = &x->eh;
	if (x->size < sizeof(*eh))
		return -ENOEXEC;
	int r = read_exact(x->fd, &x->eh, sizeof(x->eh), 0);
	if (r < 0)
		return r;
	if (eh->e_magic != ELF_MAGIC || eh->e_class != ELFCLASS64 || eh->e_data != ELFDATA2LSB ||
	    eh->e_version != 1 || eh->e_version2 != 1 || eh->e_type != ET_EXEC ||
	    eh->e_machine != EM_X86_64 || eh->e_phentsize != sizeof(struct elf64_phdr) ||
	    eh->e_phnum == 0 || eh->e_phnum > EXEC_PHNUM_MAX || eh->e_phoff > x->size ||
	    (uint64_t)eh->e_phnum * sizeof(struct elf64_phdr) > x->size - eh->e_phoff)
		return -ENOEXEC;
	return 0;
}

#define PT_INTERP 3

/* Read the program headers, keep the PT_LOAD ones and check each. */
static int check_segments(struct exec_file *x)
{
	struct elf64_phdr all[EXEC_PHNUM_MAX];
	int r = read_exact(x->fd, all, (uint64_t)x->eh.e_phnum * sizeof(all[0]), x->eh.e_phoff);
	if (r < 0)
		return r;
	uint64_t prev_end = EXEC_AREA_LO;
	bool entry_ok = false;
	x->nload = 0;
	x->npages = USTACK_PAGES;
	for (unsigned i = 0; i < x->eh.e_phnum; i++) {
		const struct elf64_phdr *p = &all[i];
		if (p->p_type == PT_INTERP)
			return -ENOEXEC; /* wants a dynamic linker: there is none */
		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		if (p->p_filesz > p->p_memsz || p->p_offset > x->size ||
		    p->p_filesz > x->size - p->p_offset)
			return -ENOEXEC; /* bytes past the end of the file */
		/* ascending and disjoint (a page may hold the end of one and the
		 * start of the next), inside the program area */
		if (p->p_vaddr < prev_end || p->p_vaddr >= EXEC_AREA_HI ||
		    p->p_memsz > EXEC_AREA_HI - p->p_vaddr)
			return -ENOEXEC;
		uint64_t lo = ROUNDDOWN(p->p_vaddr, PAGE_SIZE);
		uint64_t hi = ROUNDUP(p->p_vaddr + p->p_memsz, PAGE_SIZE);
		x->npages += (hi - lo) / PAGE_SIZE;
		if (x->npages > EXEC_PAGES_MAX)
			return -ENOMEM;
		prev_end = p->p_vaddr + p->p_memsz;
		if ((p->p_flags & PF_X) && x->eh.e_entry >= p->p_vaddr &&
		    x->eh.e_entry < p->p_vaddr + p->p_filesz)
			entry_ok = true;
		x->ph[x->nload++] = *p;
	}
	if (x->nload == 0 || !entry_ok)
		return -ENOEXEC;
	if (x->npages >= ukinfo->ki_free_pages)
		return -ENOMEM;
	return 0;
}

/* Open path and check it is a program we can load: 0 and x->fd open, or
 * -errno and nothing open. */
static int exec_open(const char *path, struct exec_file *x)
{
	x->fd = open(path, O_RDONLY, 0);
	if (x->fd < 0)
		return x->fd == -EISDIR ? -EACCES : x->fd;
	int r = fstat(x->fd, &x->st);
	if (r == 0 && !executable(&x->st))
		r = -EACCES;
	if (r == 0) {
		x->size = (uint64_t)x->st.st_size;
		r = check_header(x);
	}
	if (r == 0)
		r = check_segments(x);
	if (r < 0)
		close(x->fd);
	return r;
}

/* ---- filling the child ---- */

/*
 * The window: up to EXEC_STAGE_PAGES fresh pages bound in our space at
 * POSIX_EXEC_VA, each headed for a page of the child. When it is full (or
 * at the end) they are bound in the child in one batch and our hold on them
 * goes, which leaves them the child's.
 */
#define EXEC_STAGE_PAGES 64

struct stage {
	envid_t child; /* 0: ourselves (execve), pages staged at stage_va(va) */
	unsigned n;
	struct bind_req req[EXEC_STAGE_PAGES]; /* the child's va, the page, rights */
	/* a child's read-only pages from the cache (exec_cache.c), bound as
	 * they are: not ours to give up */
	bool use_cache;
	unsigned nshared;
	struct bind_req shared[BIND_BATCH_MAX];
};

#define EXEC_RETRY (-10000) /* a cached page could not be bound: again without the cache */

/*
 * For execve the new program is built in our own space, each page at
 * stage_va of where it will be, and the kernel moves it there
 * (env_exec_moves): the program area shifted up by EXEC_STAGE_DELTA, the
 * stack to just above that.
 */
#define EXEC_STAGE_DELTA 0x0000200000000000UL
#define EXEC_STAGE_STACK_TOP (EXEC_AREA_HI + EXEC_STAGE_DELTA + USTACK_PAGES * PAGE_SIZE)
_Static_assert(EXEC_AREA_HI + EXEC_STAGE_DELTA <= POSIX_EXEC_SHARE_VA, "staging is free");

static uint64_t stage_va(uint64_t va)
{
	return va < EXEC_AREA_HI ? va + EXEC_STAGE_DELTA : va - USTACKTOP + EXEC_STAGE_STACK_TOP;
}

/* A loaded child: bind the staged pages in it and give up our hold, which
 * leaves them its own. Ourselves: give the staged pages their rights. */
static int stage_flush(struct stage *s)
{
	long r = 0;
	if (s->child) {
		r = s->n ? sys_page_bind_batch(s->child, s->req, s->n, CAP_SELF) : 0;
		vm_unmap(POSIX_EXEC_VA, s->n * PAGE_SIZE);
		long c = s->nshared ? sys_page_bind_batch(s->child, s->shared, s->nshared, CAP_SELF)
				    : 0;
		s->nshared = 0;
		if (r == 0 && c < 0) {
			s->n = 0;
			return EXEC_RETRY;
		}
	} else {
		for (unsigned i = 0; i < s->n; i++)
			s->req[i].br_va = stage_va(s->req[i].br_va);
		r = s->n ? sys_page_bind_batch(0, s->req, s->n, CAP_SELF) : 0;
	}
	s->n = 0;
	return r < 0 ? -errno_from_exo(r) : 0;
}

/* The staged page for the child's va (a zeroed one if new) with at least
 * rights; NULL if out of memory (*err set). Pages come in ascending order;
 * the one just staged may come again (segments sharing a page). */
static uint8_t *stage_page(struct stage *s, uint64_t va, unsigned rights, int *err)
{
	if (s->n && s->req[s->n - 1].br_va == va) {
		s->req[s->n - 1].br_rights |= rights;
		return (uint8_t *)(s->child ? POSIX_EXEC_VA + (s->n - 1) * PAGE_SIZE
					    : stage_va(va));
	}
	if (s->n == EXEC_STAGE_PAGES && (*err = stage_flush(s)) < 0)
		return NULL;
	uint64_t at = s->child ? POSIX_EXEC_VA + s->n * PAGE_SIZE : stage_va(va);
	long ppn = vm_page_alloc(at, PROT_READ | PROT_WRITE);
	if (ppn < 0) {
		*err = -ENOMEM;
		return NULL;
	}
	s->req[s->n++] = (struct bind_req){ va, (uint64_t)ppn, rights };
	return (uint8_t *)at;
}

/* Write into page (zeroed) the part of [p_vaddr, p_vaddr + filesz) that
 * falls in the page at va; the rest stays zero. */
static int fill_page(uint8_t *page, const struct exec_file *x, const struct elf64_phdr *p,
		     uint64_t va)
{
	uint64_t lo = MAX(va, p->p_vaddr);
	uint64_t hi = MIN(va + PAGE_SIZE, p->p_vaddr + p->p_filesz);
	if (lo >= hi)
		return 0;
	return read_exact(x->fd, page + (lo - va), hi - lo, p->p_offset + (lo - p->p_vaddr));
}

struct fill_arg {
	const struct exec_file *x;
	const struct elf64_phdr *p;
	uint64_t va;
};

static int fill_cached(uint8_t *page, void *arg)
{
	const struct fill_arg *a = arg;
	return fill_page(page, a->x, a->p, a->va);
}

/* Segment i's pages can come from the cache: read-only, and no page of it
 * shared with a neighbour (which would need the union of both rights). */
static bool cacheable(const struct exec_file *x, unsigned i)
{
	const struct elf64_phdr *p = &x->ph[i];
	return !(p->p_flags & PF_W) && p->p_vaddr % PAGE_SIZE == 0 &&
	       (i + 1 == x->nload ||
		ROUNDDOWN(x->ph[i + 1].p_vaddr, PAGE_SIZE) >= p->p_vaddr + p->p_memsz);
}

static int load_segment(struct stage *s, const struct exec_file *x, unsigned i)
{
	const struct elf64_phdr *p = &x->ph[i];
	unsigned rights = BIND_READ | ((p->p_flags & PF_W) ? BIND_WRITE : 0) |
			  ((p->p_flags & PF_X) ? BIND_EXEC : 0);
	bool from_cache = s->child && s->use_cache && cacheable(x, i);
	uint64_t end = p->p_vaddr + p->p_memsz;
	for (uint64_t va = ROUNDDOWN(p->p_vaddr, PAGE_SIZE); va < end; va += PAGE_SIZE) {
		int err = 0;
		if (from_cache) {
			struct fill_arg a = { x, p, va };
			long ppn = exec_cache_page(&x->st, va, fill_cached, &a);
			if (ppn >= 0) {
				if (s->nshared == BIND_BATCH_MAX && (err = stage_flush(s)) < 0)
					return err;
				s->shared[s->nshared++] =
					(struct bind_req){ va, (uint64_t)ppn, rights };
				continue;
			}
			if (ppn != -ENOMEM)
				return (int)ppn;
		}
		uint8_t *page = stage_page(s, va, rights, &err);
		if (!page || (err = fill_page(page, x, p, va)) < 0)
			return err;
	}
	return 0;
}

/* The initial stack, as kern/env/loader.c's setup_stack makes it: argv's
 * strings at the top, then argv[] (NULL-ended), 16-byte aligned, and %rsp
 * as if main's caller had called. */
static int load_stack(struct stage *s, int argc, const char *const argv[], struct env_regs *regs)
{
	uint8_t *top = NULL;
	for (int i = USTACK_PAGES; i > 0; i--) {
		int err = 0;
		top = stage_page(s, USTACKTOP - (uint64_t)i * PAGE_SIZE, BIND_READ | BIND_WRITE,
				 &err);
		if (!top)
			return err;
	}
	uint64_t base = USTACKTOP - PAGE_SIZE, sp = USTACKTOP, av[EXEC_ARGS_MAX + 1];
	if (argc > EXEC_ARGS_MAX)
		return -E2BIG;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;
		if (n > sp - base - (uint64_t)(argc + 1) * 8 - 32)
			return -E2BIG;
		sp -= n;
		memcpy(top + (sp - base), argv[i], n);
		av[i] = sp;
	}
	av[argc] = 0;
	sp = ROUNDDOWN(ROUNDDOWN(sp, 16) - (uint64_t)(argc + 1) * 8, 16);
	memcpy(top + (sp - base), av, (uint64_t)(argc + 1) * 8);
	regs->r_rdi = (uint64_t)argc;
	regs->r_rsi = sp;
	regs->r_rsp = sp - 8;
	return 0;
}

static long build_child(const char *path, int argc, const char *const argv[], bool use_cache)
{
	static struct exec_file x; /* 3.5 KiB of headers: not on the stack */
	int r = exec_open(path, &x);
	if (r < 0)
		return r;
	long child = sys_env_fork(CAP_SELF);
	if (child < 0) {
		close(x.fd);
		return -errno_from_exo(child);
	}
	static struct stage s;
	s.child = (envid_t)child;
	s.n = s.nshared = 0;
	s.use_cache = use_cache;
	struct env_regs regs;
	memset(&regs, 0, sizeof(regs));
	regs.r_rip = x.eh.e_entry;
	for (unsigned i = 0; r == 0 && i < x.nload; i++)
		r = load_segment(&s, &x, i);
	if (r == 0)
		r = load_stack(&s, argc, argv, &regs);
	int f = stage_flush(&s); /* on failure too: our scratch pages go */
	if (r == 0)
		r = f;
	if (r == 0) {
		char name[ENV_CREATE_NAME_MAX];
		strlcpy(name, argc > 0 ? argv[0] : "", sizeof(name));
		long e = sys_env_set_regs((envid_t)child, &regs, CAP_SELF);
		if (e == 0)
			e = sys_env_set_name((envid_t)child, name, CAP_SELF);
		r = e < 0 ? -errno_from_exo(e) : 0;
	}
	close(x.fd);
	if (r < 0) {
		sys_env_destroy((envid_t)child, CAP_SELF);
		sys_env_wait((envid_t)child);
		return r;
	}
	return child;
}

long exec_child(const char *path, int argc, const char *const argv[])
{
	long r = build_child(path, argc, argv, true);
	if (r != EXEC_RETRY)
		return r;
	/* the kernel took a cached page back (or we were forked): start over */
	exec_cache_drop();
	r = build_child(path, argc, argv, false);
	return r == EXEC_RETRY ? -ENOMEM : r;
}

/* ---- execve: this env becomes the program ---- */

/* Where the descriptors' pages are kept across an execve: one of two
 * regions, the one the running program's descriptors do not use. Below
 * POSIX_SHARE_MAX, as fd_export_all wants. */
static uint64_t share_region(void)
{
	bool a_used = sys_page_lookup(POSIX_EXEC_SHARE_VA) >= 0;
	return a_used ? POSIX_EXEC_SHARE_VA + POSIX_EXEC_SHARE_SPAN : POSIX_EXEC_SHARE_VA;
}

static void unbind_range(uint64_t lo, uint64_t hi)
{
	for (uint64_t va = lo; va < hi; va += PAGE_SIZE)
		sys_page_unbind(0, va, CAP_SELF);
}

/* The moves that make the staged program the address space: each run of
 * the program's pages, the stack, the hand-off, the descriptors' pages. */
static int plan_moves(const struct exec_file *x, uint32_t handoff_pages, uint64_t share,
		      uint64_t share_end, struct exec_move *m, unsigned *n)
{
	unsigned k = 0;
	for (unsigned i = 0; i < x->nload; i++) {
		uint64_t lo = ROUNDDOWN(x->ph[i].p_vaddr, PAGE_SIZE);
		uint64_t hi = ROUNDUP(x->ph[i].p_vaddr + x->ph[i].p_memsz, PAGE_SIZE);
		if (k && m[k - 1].em_to + m[k - 1].em_npages * PAGE_SIZE >= lo) {
			/* ascending: this run continues (or shares a page with) the last */
			uint64_t end = MAX(hi, m[k - 1].em_to + m[k - 1].em_npages * PAGE_SIZE);
			m[k - 1].em_npages = (end - m[k - 1].em_to) / PAGE_SIZE;
			continue;
		}
		if (k == EXEC_MOVES_MAX - 4)
			return -ENOEXEC; /* too scattered to move in one call */
		m[k++] = (struct exec_move){ stage_va(lo), lo, (hi - lo) / PAGE_SIZE };
	}
	uint64_t stack = USTACKTOP - USTACK_PAGES * PAGE_SIZE;
	m[k++] = (struct exec_move){ stage_va(stack), stack, USTACK_PAGES };
	m[k++] = (struct exec_move){ POSIX_SPAWN_VA, POSIX_HANDOFF_VA, handoff_pages };
	if (share_end > share)
		m[k++] = (struct exec_move){ share, share, (share_end - share) / PAGE_SIZE };
	if (vm_lookup(POSIX_FSSHARE_VA) & VPT_P) /* the family's file-tree pages stay */
		m[k++] = (struct exec_move){ POSIX_FSSHARE_VA, POSIX_FSSHARE_VA,
					     POSIX_FSSHARE_PAGES };
	*n = k;
	return 0;
}

int exec_replace(const char *path, struct handoff *h)
{
	static struct exec_file x;
	int r = exec_open(path, &x);
	if (r < 0)
		return r;
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char kname[ENV_CREATE_NAME_MAX];
	strlcpy(kname, name, sizeof(kname));
	struct exec_move m[EXEC_MOVES_MAX];
	unsigned n = 0;
	r = plan_moves(&x, h->h_npages, 0, 0, m, &n); /* will it fit one call? */
	static struct stage s;
	s.child = 0;
	s.n = s.nshared = 0;
	s.use_cache = false;
	struct env_regs regs;
	memset(&regs, 0, sizeof(regs));
	regs.r_rip = x.eh.e_entry;
	for (unsigned i = 0; r == 0 && i < x.nload; i++)
		r = load_segment(&s, &x, i);
	const char *stack_argv[] = { kname, POSIX_HANDOFF_MARK };
	if (r == 0)
		r = load_stack(&s, 2, stack_argv, &regs);
	int f = stage_flush(&s);
	r = r < 0 ? r : f;
	close(x.fd); /* before the descriptors go over: a disk file's cannot */
	/* our descriptors, bound a second time where the new program finds them */
	uint64_t share = share_region(), share_end = share;
	if (r == 0) {
		int nfds = 0;
		r = fd_export_all(thisenv_id, NULL, 0, &share_end, h->h_fds, &nfds);
		h->h_nfds = (uint32_t)nfds;
		fs_share_keep(&h->h_fs_key, &h->h_fs_share);
	}
	if (r == 0)
		r = plan_moves(&x, h->h_npages, share, share_end, m, &n);
	if (r == 0) {
		/* past here only the kernel's argument checks can refuse */
		posix_file_holds_drop(); /* the new program's are the ones just exported */
		posix_fs_unmount(); /* written back: the new program mounts afresh */
		for (int fd = 0; fd < FD_MAX; fd++)
			if (fcntl(fd, F_GETFD, 0) > 0)
				close(fd); /* FD_CLOEXEC: its holds go with it */
		long e = sys_env_exec_moves(kname, m, n, &regs);
		r = -errno_from_exo(e); /* it returned: refused */
	}
	/* still the old program: what was staged goes */
	for (unsigned i = 0; i < x.nload; i++)
		vm_unmap(stage_va(ROUNDDOWN(x.ph[i].p_vaddr, PAGE_SIZE)),
			 ROUNDUP(x.ph[i].p_vaddr + x.ph[i].p_memsz, PAGE_SIZE) -
				 ROUNDDOWN(x.ph[i].p_vaddr, PAGE_SIZE));
	vm_unmap(EXEC_STAGE_STACK_TOP - USTACK_PAGES * PAGE_SIZE, USTACK_PAGES * PAGE_SIZE);
	unbind_range(share, share_end);
	return r;
}
