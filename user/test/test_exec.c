/*
 * Programs loaded from the disk (lib/posix/exec.c). tools/test-disk boots
 * init=test_exec on a copy of build/disk.img (every program in /bin), so
 * this is the first env and its key reaches the tree:
 *
 *   exec.tiny-*     a hand-made ELF (two segments sharing a page, bss past
 *                   it) run by path and by $PATH: exits with a byte of its data
 *   exec.echo-*     /bin/echo by path, a copy by $PATH only the disk has;
 *                   argv and envp reach it; exit status through waitpid
 *   exec.rewrite-*  a program file written again runs its new contents
 *                   (the spawner's cache of read-only pages, exec_cache.c)
 *   exec.bad-*      hostile ELFs written with the file calls: each header
 *                   field, truncations, overlaps, huge sizes, segments over
 *                   the library OS's regions: ENOEXEC/ENOMEM, never a fault
 *   exec.eacces-*, exec.enoent-*   a directory, a file without x, no file
 *   exec.execve-*   execve keeps the pid, the parent, descriptors and the
 *                   environment (the program execs itself with --after-exec)
 *   exec.moves-*, exec.name-*   each error of the kernel's env_exec_moves and
 *                   env_set_name (also without a disk)
 * and prints spawn+wait of `true` from /bin and from the boot image.
 * testrun also runs it, without a disk: then programs come from the boot
 * image whatever the path says (exec.nodisk-*).
 */
#include <inc/disk.h>
#include <inc/elf.h>
#include <inc/syscall.h>
#include <lib/base/libos.h>
#include <lib/base/syscall.h>
#include <lib/base/test.h>
#include <lib/posix/posix.h>
#include <common/string.h>

static char out[4096];

/* Run prog with argv and envp, its output into out; the wait status or
 * -errno. */
static int run(const char *prog, char *const argv[], char *const envp[])
{
	int op[2];
	if (pipe(op) < 0)
		return -EMFILE;
	int map[3] = { -1, op[1], op[1] };
	pid_t pid = posix_spawn(prog, argv, envp, map, 3);
	close(op[1]);
	size_t len = 0;
	if (pid >= 0)
		for (ssize_t n; len + 1 < sizeof(out) &&
				(n = read(op[0], out + len, sizeof(out) - 1 - len)) > 0;)
			len += (size_t)n;
	out[len] = '\0';
	close(op[0]);
	if (pid < 0)
		return pid;
	int st;
	pid_t r = waitpid(pid, &st, 0);
	return r == pid ? st : r;
}

/* Does a line of text end with tail? */
static bool line_ends(const char *text, const char *tail)
{
	size_t n = strlen(tail);
	for (const char *p = text; *p; p++)
		if (strncmp(p, tail, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

static long put(const char *path, const void *data, size_t n, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		return fd;
	long w = n ? write_all(fd, data, n) : 0;
	int c = close(fd);
	return w < 0 ? w : c < 0 ? c : (long)n;
}

/* ---- a hand-made program: no lib/base, two segments in one page ---- */

#define TINY_BASE 0x400000UL
#define TINY_CODE 0xb0   /* file offset and page offset of the code */
#define TINY_DATA 0xe0   /* of the data segment: one byte, 42, then bss */
#define TINY_BSS_END 0x2000

struct tiny {
	struct elf64_ehdr eh;
	struct elf64_phdr ph[2];
	uint8_t code[TINY_DATA - TINY_CODE];
	uint8_t data[16];
} __attribute__((packed));

static void tiny_make(struct tiny *t)
{
	memset(t, 0, sizeof(*t));
	_Static_assert(offsetof(struct tiny, code) == TINY_CODE, "layout");
	_Static_assert(offsetof(struct tiny, data) == TINY_DATA, "layout");
	t->eh = (struct elf64_ehdr){ .e_magic = ELF_MAGIC,
				     .e_class = ELFCLASS64,
				     .e_data = ELFDATA2LSB,
				     .e_version = 1,
				     .e_type = ET_EXEC,
				     .e_machine = EM_X86_64,
				     .e_version2 = 1,
				     .e_entry = TINY_BASE + TINY_CODE,
				     .e_phoff = offsetof(struct tiny, ph),
				     .e_ehsize = sizeof(struct elf64_ehdr),
				     .e_phentsize = sizeof(struct elf64_phdr),
				     .e_phnum = 2 };
	t->ph[0] = (struct elf64_phdr){ .p_type = PT_LOAD,
					.p_flags = PF_R | PF_X,
					.p_offset = 0,
					.p_vaddr = TINY_BASE,
					.p_filesz = TINY_DATA,
					.p_memsz = TINY_DATA };
	t->ph[1] = (struct elf64_phdr){ .p_type = PT_LOAD,
					.p_flags = PF_R | PF_W,
					.p_offset = TINY_DATA,
					.p_vaddr = TINY_BASE + TINY_DATA,
					.p_filesz = sizeof(t->data),
					.p_memsz = TINY_BSS_END - TINY_DATA };
	/* movb $1, bss's last byte (faults unless bss is bound writable);
	 * movzbl data, %edi; mov $SYS_env_exit, %eax; syscall; jmp . */
	uint32_t bss = (uint32_t)(TINY_BASE + TINY_BSS_END - 1), data = TINY_BASE + TINY_DATA;
	uint8_t *c = t->code;
	*c++ = 0xc6, *c++ = 0x04, *c++ = 0x25;
	memcpy(c, &bss, 4), c += 4;
	*c++ = 1;
	*c++ = 0x0f, *c++ = 0xb6, *c++ = 0x3c, *c++ = 0x25;
	memcpy(c, &data, 4), c += 4;
	*c++ = 0xb8;
	uint32_t nr = SYS_env_exit;
	memcpy(c, &nr, 4), c += 4;
	*c++ = 0x0f, *c++ = 0x05, *c++ = 0xeb, *c++ = 0xfe;
	t->data[0] = 42;
}

static int run_tiny(const char *name, const struct tiny *t, size_t len)
{
	long w = put("/tmp/bad", t, len, 0755);
	if (w < 0) {
		printf("FAIL: test_exec.%s: cannot write: %d\n", name, (int)w);
		return (int)w;
	}
	char *argv[] = { "bad", NULL };
	return run("/tmp/bad", argv, NULL);
}

static void bad(const char *name, void (*mutate)(struct tiny *t), size_t len, int want)
{
	struct tiny t;
	tiny_make(&t);
	mutate(&t);
	check_eq(name, run_tiny(name, &t, len), want);
}

#define MUTATION(n, body)                              \
	static void n(struct tiny *t)                  \
	{                                              \
		body;                                  \
	}
MUTATION(m_none, (void)t)
MUTATION(m_magic, t->eh.e_magic ^= 1)
MUTATION(m_class, t->eh.e_class = 1)
MUTATION(m_endian, t->eh.e_data = 2)
MUTATION(m_version, t->eh.e_version = 0)
MUTATION(m_dyn, t->eh.e_type = 3)
MUTATION(m_machine, t->eh.e_machine = 3)
MUTATION(m_phentsize, t->eh.e_phentsize = 32)
MUTATION(m_phnum0, t->eh.e_phnum = 0)
MUTATION(m_phnum_huge, t->eh.e_phnum = 65535)
MUTATION(m_phoff_huge, t->eh.e_phoff = 1UL << 63)
MUTATION(m_phoff_past, t->eh.e_phoff = sizeof(*t) - 8)
MUTATION(m_filesz_gt_memsz, t->ph[1].p_memsz = 1)
MUTATION(m_seg_past_eof, t->ph[1].p_filesz = t->ph[1].p_memsz = 0x10000)
MUTATION(m_offset_wrap, t->ph[1].p_offset = ~0UL - 7)
MUTATION(m_memsz_huge, t->ph[1].p_memsz = 1UL << 40)
MUTATION(m_memsz_wrap, t->ph[1].p_memsz = ~0UL - 0xfff)
MUTATION(m_vaddr_zero, t->ph[0].p_vaddr = 0; t->eh.e_entry = TINY_CODE)
MUTATION(m_over_heap, t->ph[1].p_vaddr = LIBOS_HEAP_BASE)
MUTATION(m_over_xstack, t->ph[1].p_vaddr = LIBOS_XSTACK_TOP - PAGE_SIZE)
MUTATION(m_over_stack, t->ph[1].p_vaddr = USTACKTOP - PAGE_SIZE)
MUTATION(m_overlap, t->ph[1].p_vaddr = TINY_BASE + 0x10)
MUTATION(m_descending, t->ph[0].p_vaddr = TINY_BASE + 0x10000;
	 t->eh.e_entry = TINY_BASE + 0x10000 + TINY_CODE)
MUTATION(m_entry_zero, t->eh.e_entry = 0)
MUTATION(m_entry_data, t->eh.e_entry = TINY_BASE + TINY_DATA)
MUTATION(m_entry_bss, t->eh.e_entry = TINY_BASE + TINY_BSS_END - 16)
MUTATION(m_entry_kernel, t->eh.e_entry = 0xffffffff80000000UL)
MUTATION(m_interp, t->ph[1].p_type = 3)
MUTATION(m_no_load, t->ph[0].p_type = t->ph[1].p_type = 4)

static void hostile(void)
{
	int fd_probe = open("/", O_RDONLY, 0);
	close(fd_probe);
	check_eq("bad-empty",
		 put("/tmp/bad", "", 0, 0755) < 0
			 ? -1
			 : run("/tmp/bad", (char *[]){ "bad", NULL }, NULL),
		 -ENOEXEC);
	const char *script = "#!/bin/sh\necho hi\n";
	check_eq("bad-script",
		 put("/tmp/bad", script, strlen(script), 0755) < 0
			 ? -1
			 : run("/tmp/bad", (char *[]){ "bad", NULL }, NULL),
		 -ENOEXEC);
	bad("bad-short-header", m_none, 40, -ENOEXEC);
	bad("bad-short-phdrs", m_none, sizeof(struct elf64_ehdr) + 60, -ENOEXEC);
	bad("bad-short-segment", m_none, TINY_DATA + 4, -ENOEXEC);
	bad("bad-magic", m_magic, sizeof(struct tiny), -ENOEXEC);
	bad("bad-class", m_class, sizeof(struct tiny), -ENOEXEC);
	bad("bad-endian", m_endian, sizeof(struct tiny), -ENOEXEC);
	bad("bad-version", m_version, sizeof(struct tiny), -ENOEXEC);
	bad("bad-dynamic", m_dyn, sizeof(struct tiny), -ENOEXEC);
	bad("bad-machine", m_machine, sizeof(struct tiny), -ENOEXEC);
	bad("bad-phentsize", m_phentsize, sizeof(struct tiny), -ENOEXEC);
	bad("bad-phnum-0", m_phnum0, sizeof(struct tiny), -ENOEXEC);
	bad("bad-phnum-huge", m_phnum_huge, sizeof(struct tiny), -ENOEXEC);
	bad("bad-phoff-huge", m_phoff_huge, sizeof(struct tiny), -ENOEXEC);
	bad("bad-phoff-past-end", m_phoff_past, sizeof(struct tiny), -ENOEXEC);
	bad("bad-filesz-gt-memsz", m_filesz_gt_memsz, sizeof(struct tiny), -ENOEXEC);
	bad("bad-segment-past-eof", m_seg_past_eof, sizeof(struct tiny), -ENOEXEC);
	bad("bad-offset-wraps", m_offset_wrap, sizeof(struct tiny), -ENOEXEC);
	bad("bad-memsz-huge", m_memsz_huge, sizeof(struct tiny), -ENOMEM);
	bad("bad-memsz-wraps", m_memsz_wrap, sizeof(struct tiny), -ENOEXEC);
	bad("bad-vaddr-zero", m_vaddr_zero, sizeof(struct tiny), -ENOEXEC);
	bad("bad-over-heap", m_over_heap, sizeof(struct tiny), -ENOEXEC);
	bad("bad-over-xstack", m_over_xstack, sizeof(struct tiny), -ENOEXEC);
	bad("bad-over-stack", m_over_stack, sizeof(struct tiny), -ENOEXEC);
	bad("bad-overlap", m_overlap, sizeof(struct tiny), -ENOEXEC);
	bad("bad-descending", m_descending, sizeof(struct tiny), -ENOEXEC);
	bad("bad-entry-zero", m_entry_zero, sizeof(struct tiny), -ENOEXEC);
	bad("bad-entry-data", m_entry_data, sizeof(struct tiny), -ENOEXEC);
	bad("bad-entry-bss", m_entry_bss, sizeof(struct tiny), -ENOEXEC);
	bad("bad-entry-kernel", m_entry_kernel, sizeof(struct tiny), -ENOEXEC);
	bad("bad-interp", m_interp, sizeof(struct tiny), -ENOEXEC);
	bad("bad-no-load", m_no_load, sizeof(struct tiny), -ENOEXEC);
	/* nothing left behind: no child, no descriptor */
	int st;
	check_eq("bad-no-child-left", waitpid(-1, &st, WNOHANG), -ECHILD);
	int fd_after = open("/", O_RDONLY, 0);
	close(fd_after);
	check_eq("bad-no-fd-left", fd_after, fd_probe);
}

static void access_errors(void)
{
	char *argv[] = { "x", NULL };
	check_eq("eacces-dir", run("/bin", argv, NULL), -EACCES);
	struct tiny t;
	tiny_make(&t);
	check_eq("eacces-write-noexec", put("/tmp/noexec", &t, sizeof(t), 0644), sizeof(t));
	check_eq("eacces-noexec", run("/tmp/noexec", argv, NULL), -EACCES);
	check_eq("enoent-path", run("/bin/no-such-program", argv, NULL), -ENOENT);
	check_eq("enoent-dir", run("/no-such-dir/echo", argv, NULL), -ENOENT);
	setenv("PATH", "/tmp", 1);
	check_eq("eacces-in-path", run("noexec", argv, NULL), -EACCES);
	check_eq("enoent-in-path", run("no-such-program", argv, NULL), -ENOENT);
	unsetenv("PATH");
}

/* Copy a file (a program): 0 or -errno. */
static int copy(const char *from, const char *to)
{
	static char buf[16384];
	int in = open(from, O_RDONLY, 0);
	if (in < 0)
		return in;
	unlink(to);
	int o = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755), r = o < 0 ? o : 0;
	for (ssize_t n; r == 0 && (n = read(in, buf, sizeof(buf))) != 0;)
		r = n < 0 ? (int)n : write_all(o, buf, (size_t)n) < 0 ? -EIO : 0;
	close(in);
	if (o >= 0)
		close(o);
	return r;
}

static void programs(void)
{
	struct tiny t;
	tiny_make(&t);
	check_eq("tiny-path", run_tiny("tiny-path", &t, sizeof(t)), 42 << 8);
	setenv("PATH", "/no-such-dir::/tmp", 1);
	check_eq("tiny-in-path", run("bad", (char *[]){ "bad", NULL }, NULL), 42 << 8);
	unsetenv("PATH");

	char *echo[] = { "echo", "hello world", "x", NULL };
	check_eq("echo-path", run("/bin/echo", echo, NULL), 0);
	check("echo-path-output", strcmp(out, "hello world x\n") == 0);
	/* a program only the disk has, found through $PATH */
	check_eq("echo-copy", copy("/bin/echo", "/tmp/echo-from-disk"), 0);
	setenv("PATH", "/tmp", 1);
	char *echo2[] = { "echo-from-disk", "-n", "a  b", NULL };
	check_eq("echo-in-path", run("echo-from-disk", echo2, NULL), 0);
	check("echo-in-path-output", strcmp(out, "a  b") == 0);
	char *ps[] = { "ps", NULL };
	check_eq("name-of-loaded-child", run("/bin/ps", ps, NULL), 0);
	check("name-of-loaded-child-shown", line_ends(out, " ps"));
	unsetenv("PATH");
	/* the same path written again: its new pages, not the cached ones */
	char *prog_x[] = { "prog", "3", NULL };
	check_eq("rewrite-first", copy("/bin/echo", "/tmp/prog"), 0);
	check_eq("rewrite-first-run", run("/tmp/prog", prog_x, NULL), 0);
	check("rewrite-first-output", strcmp(out, "3\n") == 0);
	check_eq("rewrite-again", copy("/bin/exitwith", "/tmp/prog"), 0);
	check_eq("rewrite-again-run", run("/tmp/prog", prog_x, NULL), 3 << 8);
	check("rewrite-again-output", out[0] == '\0');
	char *env[] = { "env", NULL }, *envp[] = { "FOO=bar baz", "EMPTY=", NULL };
	check_eq("envp-run", run("/bin/env", env, envp), 0);
	check("envp-reach", strcmp(out, "FOO=bar baz\nEMPTY=\n") == 0);
	char *ex7[] = { "exitwith", "7", NULL }, *fls[] = { "false", NULL };
	check_eq("status-7", run("/bin/exitwith", ex7, NULL), 7 << 8);
	check_eq("status-false", run("false", fls, NULL), 1 << 8);
}

/* One spawn and wait of true (prog: from where), in us; 0 on failure. */
static uint64_t spawn_wait_us(const char *prog)
{
	char *argv[] = { "true", NULL };
	uint64_t t0 = rdtsc();
	pid_t pid = posix_spawn(prog, argv, NULL, NULL, 0);
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || st != 0) {
		printf("FAIL: test_exec.measure: %s: %d\n", prog, pid);
		return 0;
	}
	return (rdtsc() - t0) / (ukinfo->ki_tsc_hz / 1000000);
}

static void sort_us(uint64_t *a, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && a[j - 1] > a[j]; j--) {
			uint64_t t = a[j];
			a[j] = a[j - 1];
			a[j - 1] = t;
		}
}

/* Alternating, so both see the same load on a shared machine; the
 * minimum and the median, since other guests' load only adds. */
static void measure(void)
{
	enum { N = 21 };
	uint64_t disk[N], boot[N];
	bool ok = spawn_wait_us("/bin/true") && spawn_wait_us("/bin/true"); /* warm */
	for (int i = 0; i < N && ok; i++) {
		disk[i] = spawn_wait_us("/bin/true");
		setenv("PATH", "/no-such-dir", 1); /* a bare name in no directory: the boot image */
		boot[i] = spawn_wait_us("true");
		unsetenv("PATH");
		ok = disk[i] && boot[i];
	}
	check("measure", ok);
	if (!ok)
		return;
	sort_us(disk, N);
	sort_us(boot, N);
	printf("test_exec: spawn+wait of true (us, min/median of %d): from /bin %lu/%lu, from the "
	       "boot image %lu/%lu\n",
	       N, disk[0], disk[N / 2], boot[0], boot[N / 2]);
}

/* ---- execve ---- */

#define KEPT_FD 7

static int after_exec(int argc, char **argv)
{
	check("execve-args", argc == 4);
	if (argc != 4)
		return test_finish();
	check_eq("execve-same-pid", getpid(), strtol(argv[2], NULL, 10));
	check_eq("execve-same-parent", getppid(), strtol(argv[3], NULL, 10));
	const char *e = getenv("EXEC_MARK");
	check("execve-environment", e && strcmp(e, "kept across exec") == 0);
	char buf[16] = { 0 };
	check_eq("execve-descriptor", read(KEPT_FD, buf, sizeof(buf) - 1), 4);
	check("execve-descriptor-data", strcmp(buf, "kept") == 0);
	printf("test_exec: done\n");
	return test_finish();
}

static void exec_self(void)
{
	int p[2];
	check_eq("execve-pipe", pipe(p), 0);
	check_eq("execve-dup", dup2(p[0], KEPT_FD), KEPT_FD);
	close(p[0]);
	write_all(p[1], "kept", 4);
	close(p[1]);
	char pid[24], ppid[24];
	snprintf(pid, sizeof(pid), "%d", getpid());
	snprintf(ppid, sizeof(ppid), "%d", getppid());
	char *argv[] = { "test_exec", "--after-exec", pid, ppid, NULL };
	setenv("EXEC_MARK", "kept across exec", 1);
	/* refused: this program goes on, descriptors and all */
	struct tiny t;
	tiny_make(&t);
	t.eh.e_machine = 3;
	put("/tmp/bad", &t, sizeof(t), 0755);
	check_eq("execve-bad-elf", execve("/tmp/bad", argv, environ), -ENOEXEC);
	check_eq("execve-noexec", execve("/tmp/noexec", argv, environ), -EACCES);
	check_eq("execve-missing", execve("/bin/no-such-program", argv, environ), -ENOENT);
	check_eq("execve-dir", execve("/bin", argv, environ), -EACCES);
	int r = execve("/bin/test_exec", argv, environ);
	check_eq("execve", r, 0); /* returns only on failure */
}

/* env_exec_moves refuses each bad argument, and the caller goes on. */
static void moves_errors(void)
{
	const uint64_t P = PAGE_SIZE, A = 0x0000300000000000UL, B = 0x0000310000000000UL;
	struct env_regs regs = { .r_rip = UTEXT };
	struct exec_move one[1] = { { A, B, 1 } };
	check_eq("moves-name-fault", sys_env_exec_moves((const char *)8, one, 1, &regs), -E_FAULT);
	char longname[ENV_CREATE_NAME_MAX + 8];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	check_eq("moves-name-too-big", sys_env_exec_moves(longname, one, 1, &regs), -E_TOO_BIG);
	check_eq("moves-n-zero", sys_env_exec_moves("x", one, 0, &regs), -E_INVAL);
	check_eq("moves-n-huge", sys_env_exec_moves("x", one, EXEC_MOVES_MAX + 1, &regs), -E_INVAL);
	check_eq("moves-fault", sys_env_exec_moves("x", (void *)8, 1, &regs), -E_FAULT);
	check_eq("moves-regs-fault", sys_env_exec_moves("x", one, 1, (void *)8), -E_FAULT);
	struct env_regs bad_rip = { .r_rip = UTOP };
	check_eq("moves-rip", sys_env_exec_moves("x", one, 1, &bad_rip), -E_INVAL);
	static const struct {
		const char *name;
		struct exec_move m[2];
		unsigned n;
	} cases[] = {
		{ "moves-from-unaligned", { { A + 8, B, 1 } }, 1 },
		{ "moves-to-unaligned", { { A, B + 8, 1 } }, 1 },
		{ "moves-empty", { { A, B, 0 } }, 1 },
		{ "moves-from-utop", { { UTOP, B, 1 } }, 1 },
		{ "moves-to-past-utop", { { A, UTOP - P, 2 } }, 1 },
		{ "moves-from-wraps", { { A, B, ~0UL / PAGE_SIZE } }, 1 },
		{ "moves-too-many-pages",
		  { { A, B, EXEC_MOVE_PAGES_MAX }, { A + (1UL << 32), B + (1UL << 32), 1 } },
		  2 },
		{ "moves-from-overlap", { { A, B, 4 }, { A + 3 * P, B + 8 * P, 1 } }, 2 },
		{ "moves-to-overlap", { { A, B, 4 }, { A + 8 * P, B + 3 * P, 1 } }, 2 },
		{ "moves-to-over-from", { { A, B, 4 }, { A + 8 * P, A + 2 * P, 1 } }, 2 },
		{ "moves-to-over-own-from", { { A, A + P, 4 } }, 1 },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++)
		check_eq(cases[i].name, sys_env_exec_moves("x", cases[i].m, cases[i].n, &regs),
			 -E_INVAL);
	check("moves-caller-intact", strcmp((const char *)thisenv->env_name, "x") != 0);
}

/* env_set_name's errors, and the name it gives an unstarted child. */
static void set_name_errors(void)
{
	long kid = sys_env_fork(CAP_SELF);
	check("name-fork", kid > 0);
	if (kid <= 0)
		return;
	char longname[ENV_CREATE_NAME_MAX + 8];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	check_eq("name-fault", sys_env_set_name((envid_t)kid, (const char *)8, CAP_SELF), -E_FAULT);
	check_eq("name-too-big", sys_env_set_name((envid_t)kid, longname, CAP_SELF), -E_TOO_BIG);
	check_eq("name-no-env", sys_env_set_name(0x7ffffc00, "x", CAP_SELF), -E_BAD_ENV);
	check_eq("name-bad-cap", sys_env_set_name((envid_t)kid, "x", 31), -E_BAD_CAP);
	uint16_t other[1] = { 0x5151 }; /* a key naming nobody's ancestor */
	sys_cap_derive(CAP_SELF, 7, CAP_ALL, other, 1);
	check_eq("name-perm", sys_env_set_name((envid_t)kid, "x", 7), -E_PERM);
	check_eq("name-started", sys_env_set_name(0, "x", CAP_SELF), -E_BUSY);
	check_eq("name-set", sys_env_set_name((envid_t)kid, "renamed", CAP_SELF), 0);
	check("name-shown", strcmp((const char *)uenvs[ENVX(kid)].env_name, "renamed") == 0);
	sys_env_destroy((envid_t)kid, CAP_SELF);
	sys_env_wait((envid_t)kid);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--after-exec") == 0)
		return after_exec(argc, argv);
	moves_errors();
	set_name_errors();
	struct disk_info di;
	if (sys_disk_info(&di) == -E_NOT_FOUND) {
		char *echo[] = { "echo", "boot", NULL };
		check_eq("nodisk-path", run("/bin/echo", echo, NULL), 0);
		check("nodisk-output", strcmp(out, "boot\n") == 0);
		check_eq("nodisk-missing", run("/bin/no-such-program", echo, NULL), -ENOENT);
		return test_finish();
	}
	int m = mkdir("/tmp", 0755);
	check("mkdir-tmp", m == 0 || m == -EEXIST);
	programs();
	access_errors();
	hostile();
	measure();
	exec_self();
	return test_finish();
}
