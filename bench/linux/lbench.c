/*
 * lbench [ROUNDS]: the Linux side of `make bench`. It runs in a Linux guest
 * under the same QEMU binary and flags as Exo and measures, for each of Exo's
 * microbenchmarks, the closest Linux equivalent. Each prints one line
 *   BENCH <name> <median cycles> <min cycles> <rounds>
 * exactly as Exo's user/bench/bench.c does: rdtsc around one operation, the median
 * (and minimum) of ROUNDS samples. It ends with
 *   BENCH done tsc_hz <hz>
 * where hz is the TSC rate calibrated here against CLOCK_MONOTONIC.
 *
 * The user-level VM rows follow Appel & Li (ASPLOS 1991) as the Aegis paper
 * restates them: trap (a protection fault handled in user mode, nothing
 * done), prot1 / prot100 (take write access away from 1 / 100 pages),
 * unprot100 (give it back to 100 pages), dirty (ask whether a page is dirty),
 * appel1 (touch a random protected page; the handler protects another page
 * and unprotects the faulting one), appel2 (protect 100 pages, touch each in
 * a random order, the handler unprotects the faulting page; cost per page).
 *
 * Everything runs pinned to CPU 0. Heavy operations (fork, exec, appel2) use
 * a tenth or a twentieth of ROUNDS. A small ROUNDS is a smoke run. The program
 * is built static on the host and started by the initramfs's /init.
 *
 * "lbench disk ROUNDS" runs the disk rows instead (bench_disk below), "lbench
 * fs NFILES BIG_MIB CHUNK_KIB" the file-system rows (lfs.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <linux/aio_abi.h>

#define MAX_ROUNDS 100000
#define PAGE 4096UL
#define VM_PAGES 100 /* Appel & Li's N for prot100, unprot100, appel2 */
#define NOP_PATH "/nop" /* the tiny static program fork_exec_wait runs */

int bench_fs(int argc, char **argv, uint64_t tsc_hz); /* lfs.c */

static uint64_t *samples;

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static void die(const char *what)
{
	printf("LBENCH error: %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *name, int n)
{
	if (n < 1) {
		printf("LBENCH error: %s: no samples\n", name);
		return;
	}
	qsort(samples, (size_t)n, sizeof(samples[0]), cmp_u64);
	printf("BENCH %s %lu %lu %d\n", name, (unsigned long)samples[n / 2],
	       (unsigned long)samples[0], n);
	fflush(stdout);
}

static int at_least_one(int n)
{
	return n > 0 ? n : 1;
}

/* A fixed-seed generator, so both runs of a row touch pages in one order. */
static uint32_t rand_state = 12345;
static uint32_t next_rand(void)
{
	rand_state = rand_state * 1103515245u + 12345u;
	return rand_state >> 8;
}

static char *map_pages(size_t n)
{
	char *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	memset(p, 1, n * PAGE); /* present and dirty, as a heap's pages are */
	return p;
}

static void protect(void *p, size_t n, int prot)
{
	if (mprotect(p, n * PAGE, prot) != 0)
		die("mprotect");
}

/* --- clock -------------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* TSC ticks per second, measured over ms milliseconds of CLOCK_MONOTONIC. */
static uint64_t calibrate_tsc(unsigned ms)
{
	uint64_t n0 = now_ns(), t0 = rdtsc(), n1, t1;
	do {
		n1 = now_ns();
	} while (n1 - n0 < ms * 1000000ull);
	t1 = rdtsc();
	return (uint64_t)((double)(t1 - t0) * 1e9 / (double)(n1 - n0));
}

static void bench_rdtsc(int rounds)
{
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		samples[i] = rdtsc() - t0;
	}
	report("rdtsc", rounds);
}

static void bench_null_syscall(int rounds)
{
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		syscall(SYS_getppid);
		samples[i] = rdtsc() - t0;
	}
	report("null_syscall", rounds);
}

/* --- exceptions and faults ---------------------------------------------- */

static void on_sigtrap(int sig, siginfo_t *si, void *ctx)
{
	(void)sig, (void)si, (void)ctx; /* int3 already left RIP past itself */
}

static void on_signal(int sig, void (*fn)(int, siginfo_t *, void *))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0)
		die("sigaction");
}

static void bench_exception_roundtrip(int rounds)
{
	on_signal(SIGTRAP, on_sigtrap);
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		__asm__ volatile("int3" ::: "memory");
		samples[i] = rdtsc() - t0;
	}
	report("exception_roundtrip", rounds);
}

/*
 * The store that faults in trap: `movb $1, (%rax)` is the three bytes
 * c6 00 01, which the handler steps over without changing any mapping.
 */
static inline void store_rax(char *p)
{
	__asm__ volatile("movb $1, (%%rax)" ::"a"(p) : "memory");
}

static void on_segv_skip(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	unsigned char *rip = (unsigned char *)uc->uc_mcontext.gregs[REG_RIP];
	(void)sig, (void)si;
	if (rip[0] != 0xc6 || rip[1] != 0x00 || rip[2] != 0x01)
		abort(); /* a fault we did not plan for */
	uc->uc_mcontext.gregs[REG_RIP] += 3;
}

static void bench_trap(int rounds)
{
	char *p = map_pages(1);
	protect(p, 1, PROT_READ);
	on_signal(SIGSEGV, on_segv_skip);
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		store_rax(p);
		samples[i] = rdtsc() - t0;
	}
	report("trap", rounds);
	munmap(p, PAGE);
}

/*
 * The fix-up handlers below change protections so the faulting store can
 * run again. vm_base/vm_open describe the Appel & Li region: vm_open is the
 * one page appel1 leaves writable.
 */
static char *vm_base;
static long vm_open;

static char *fault_page(siginfo_t *si)
{
	return (char *)((uintptr_t)si->si_addr & ~(PAGE - 1));
}

static void on_segv_unprotect(int sig, siginfo_t *si, void *ctx)
{
	(void)sig, (void)ctx;
	protect(fault_page(si), 1, PROT_READ | PROT_WRITE);
}

static void on_segv_appel1(int sig, siginfo_t *si, void *ctx)
{
	char *page = fault_page(si);
	(void)sig, (void)ctx;
	protect(vm_base + vm_open * PAGE, 1, PROT_READ);
	protect(page, 1, PROT_READ | PROT_WRITE);
	vm_open = (page - vm_base) / (long)PAGE;
}

/* Fault on a write-protected page; the handler unprotects it; the store retries. */
static void bench_segv_fixup(int rounds)
{
	char *p = map_pages(1);
	on_signal(SIGSEGV, on_segv_unprotect);
	for (int i = 0; i < rounds; i++) {
		protect(p, 1, PROT_READ);
		uint64_t t0 = rdtsc();
		store_rax(p);
		samples[i] = rdtsc() - t0;
	}
	report("segv_fixup_roundtrip", rounds);
	munmap(p, PAGE);
}

/* A page (or 100) inside a larger heap-like region, as a collector sees it. */
static void bench_prot(int rounds)
{
	char *region = map_pages(VM_PAGES + 2), *one = region + PAGE * (VM_PAGES / 2);
	char *hundred = region + PAGE;

	for (int i = 0; i < rounds; i++) {
		protect(one, 1, PROT_READ | PROT_WRITE);
		uint64_t t0 = rdtsc();
		protect(one, 1, PROT_READ);
		samples[i] = rdtsc() - t0;
	}
	report("prot1", rounds);
	protect(one, 1, PROT_READ | PROT_WRITE);

	for (int i = 0; i < rounds; i++) {
		protect(hundred, VM_PAGES, PROT_READ | PROT_WRITE);
		uint64_t t0 = rdtsc();
		protect(hundred, VM_PAGES, PROT_READ);
		samples[i] = rdtsc() - t0;
	}
	report("prot100", rounds);

	for (int i = 0; i < rounds; i++) {
		protect(hundred, VM_PAGES, PROT_READ);
		uint64_t t0 = rdtsc();
		protect(hundred, VM_PAGES, PROT_READ | PROT_WRITE);
		samples[i] = rdtsc() - t0;
	}
	report("unprot100", rounds);
	munmap(region, (VM_PAGES + 2) * PAGE);
}

/* Linux's only per-page dirty query: the soft-dirty bit 55 of /proc/self/pagemap. */
static void bench_dirty(int rounds)
{
	char *p = map_pages(1);
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t entry = 0;
	off_t off = (off_t)((uintptr_t)p / PAGE * sizeof(entry));
	int dirty = 0;

	if (fd < 0)
		die("open /proc/self/pagemap");
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		if (pread(fd, &entry, sizeof(entry), off) != (ssize_t)sizeof(entry))
			die("pread pagemap");
		dirty += (int)(entry >> 55) & 1;
		samples[i] = rdtsc() - t0;
	}
	if (dirty != rounds)
		printf("LBENCH warn dirty: soft-dirty bit seen %d/%d times\n", dirty, rounds);
	report("dirty", rounds);
	close(fd);
	munmap(p, PAGE);
}

static void bench_appel1(int rounds)
{
	vm_base = map_pages(VM_PAGES);
	vm_open = 0;
	protect(vm_base + PAGE, VM_PAGES - 1, PROT_READ);
	on_signal(SIGSEGV, on_segv_appel1);
	for (int i = 0; i < rounds; i++) {
		long target;
		do
			target = (long)(next_rand() % VM_PAGES);
		while (target == vm_open);
		char *p = vm_base + target * PAGE;
		uint64_t t0 = rdtsc();
		store_rax(p);
		samples[i] = rdtsc() - t0;
	}
	report("appel1", rounds);
	munmap(vm_base, VM_PAGES * PAGE);
}

/* One sample: protect 100 pages, touch all in a random order; per page. */
static void bench_appel2(int rounds)
{
	int order[VM_PAGES];
	vm_base = map_pages(VM_PAGES);
	on_signal(SIGSEGV, on_segv_unprotect);
	for (int i = 0; i < rounds; i++) {
		for (int k = 0; k < VM_PAGES; k++)
			order[k] = k;
		for (int k = VM_PAGES - 1; k > 0; k--) {
			int j = (int)(next_rand() % (uint32_t)(k + 1)), t = order[k];
			order[k] = order[j];
			order[j] = t;
		}
		uint64_t t0 = rdtsc();
		protect(vm_base, VM_PAGES, PROT_READ);
		for (int k = 0; k < VM_PAGES; k++)
			store_rax(vm_base + (size_t)order[k] * PAGE);
		samples[i] = (rdtsc() - t0) / VM_PAGES;
	}
	report("appel2", rounds);
	munmap(vm_base, VM_PAGES * PAGE);
}

/* --- two processes --------------------------------------------------------- */

static pid_t start_child(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	return pid;
}

static void reap(pid_t pid)
{
	int status;
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
}

/* One byte there and back over a pair of fds: the child echoes until EOF. */
static void pingpong(const char *name, int rounds, int to_child[2], int to_parent[2])
{
	char c = 'x';
	pid_t pid = start_child();
	if (pid == 0) {
		close(to_child[1]);
		close(to_parent[0]);
		while (read(to_child[0], &c, 1) == 1)
			if (write(to_parent[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		if (write(to_child[1], &c, 1) != 1 || read(to_parent[0], &c, 1) != 1)
			die(name);
		samples[i] = rdtsc() - t0;
	}
	close(to_child[1]); /* EOF ends the child */
	close(to_parent[0]);
	reap(pid);
	report(name, rounds);
}

static void bench_pipe(int rounds)
{
	int a[2], b[2];
	if (pipe(a) != 0 || pipe(b) != 0)
		die("pipe");
	pingpong("pipe_roundtrip", rounds, a, b);
}

static void bench_unix(int rounds)
{
	int sv[2], a[2], b[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		die("socketpair");
	/* each end serves both directions: the parent keeps sv[0], the child sv[1] */
	int dup0 = dup(sv[0]), dup1 = dup(sv[1]);
	if (dup0 < 0 || dup1 < 0)
		die("dup");
	a[0] = sv[1], a[1] = sv[0]; /* parent writes sv[0], child reads sv[1] */
	b[0] = dup0, b[1] = dup1;   /* child writes sv[1], parent reads sv[0] */
	pingpong("unix_roundtrip", rounds, a, b);
}

/*
 * sched_yield between two processes on one CPU. Both run SCHED_FIFO at one
 * priority, where a yield always hands the CPU to the other if it is
 * runnable; a sample counts only if the other process did run in between.
 */
static void bench_yield(int rounds)
{
	volatile uint64_t *shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct sched_param sp = {.sched_priority = 1};
	int fifo, n = 0;

	if (shared == MAP_FAILED)
		die("mmap shared");
	shared[0] = shared[1] = 0; /* [0] child's turns, [1] stop */
	fifo = sched_setscheduler(0, SCHED_FIFO, &sp) == 0;
	pid_t pid = start_child();
	if (pid == 0) {
		while (!shared[1]) {
			shared[0]++;
			sched_yield();
		}
		_exit(0);
	}
	sched_yield(); /* let the child start */
	for (int i = 0; i < rounds * 2 && n < rounds; i++) {
		uint64_t before = shared[0];
		uint64_t t0 = rdtsc();
		sched_yield();
		uint64_t t = rdtsc() - t0;
		if (shared[0] != before)
			samples[n++] = t;
	}
	shared[1] = 1;
	reap(pid);
	sp.sched_priority = 0;
	sched_setscheduler(0, SCHED_OTHER, &sp);
	if (!fifo || n < rounds)
		printf("LBENCH warn yield_pingpong: SCHED_FIFO %s, %d of %d yields switched\n",
		       fifo ? "on" : "refused", n, rounds);
	report("yield_pingpong", n);
	munmap((void *)shared, PAGE);
}

/* --- processes and memory ------------------------------------------------ */

static void fork_exit_wait(const char *name, int rounds)
{
	fflush(stdout);
	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid < 0)
			die("fork");
		reap(pid);
		samples[i] = rdtsc() - t0;
	}
	report(name, rounds);
}

static void bench_fork(int rounds)
{
	fork_exit_wait("fork_exit_wait", rounds);
	char *mib = map_pages(256); /* 1 MiB, touched */
	fork_exit_wait("fork_1m_exit_wait", rounds);
	munmap(mib, 256 * PAGE);
}

static void bench_fork_exec(int rounds)
{
	char *argv[] = {NOP_PATH, NULL}, *envp[] = {NULL};
	int n = 0;
	fflush(stdout);
	for (int i = 0; i < rounds; i++) {
		int status;
		uint64_t t0 = rdtsc();
		pid_t pid = fork();
		if (pid == 0) {
			execve(NOP_PATH, argv, envp);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid)
			die("fork_exec_wait");
		samples[n] = rdtsc() - t0;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			n++;
	}
	if (n < rounds)
		printf("LBENCH warn fork_exec_wait: %s ran %d of %d times\n", NOP_PATH, n, rounds);
	report("fork_exec_wait", n);
}

/*
 * The page goes right below a touched anonymous region, as a program's new
 * mapping usually does, so Linux merges it into that region and reuses its
 * anon_vma: Linux's cheaper case (a lone mapping costs about twice as much),
 * and the same whatever else the process has mapped.
 */
static void bench_mmap(int rounds)
{
	char *neighbour = map_pages(16), *want = neighbour - PAGE;
	int placed = 0;

	for (int i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		char *p = mmap(want, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die("mmap");
		*(volatile char *)p = 1;
		munmap(p, PAGE);
		samples[i] = rdtsc() - t0;
		placed += p == want;
	}
	if (placed != rounds)
		printf("LBENCH warn mmap_touch_munmap: placed beside its neighbour %d/%d times\n",
		       placed, rounds);
	report("mmap_touch_munmap", rounds);
	munmap(neighbour, 16 * PAGE);
}

/* As the initramfs's program, /proc may not be there yet. */
static void ensure_proc(void)
{
	if (access("/proc/self/pagemap", R_OK) == 0)
		return;
	mkdir("/proc", 0555);
	if (mount("proc", "/proc", "proc", 0, NULL) != 0)
		printf("LBENCH warn: cannot mount /proc: %s\n", strerror(errno));
}

/* --- the disk rows (lbench disk ROUNDS): /dev/vda, O_DIRECT ------------------
 * The same measurements as Exo's user/bench/diskbench.c, on a virtio-blk
 * disk QEMU attaches the same way: 4 KiB requests with no page cache
 * (O_DIRECT), 32 in flight through Linux's native AIO (io_submit of one
 * batch, io_getevents until all 32 are back: a sample is the batch / 32),
 * and alone with pread/pwrite (a request's latency), and 128 KiB requests
 * of consecutive blocks, 8 in flight (Exo's disk_iov rows). Blocks range
 * over the first DISK_SPAN 4 KiB blocks, all written once first. */
#define DISK_QD 32
#define DISK_SPAN 2048
#define DISK_BIG (32 * PAGE) /* bytes of one big request: Exo's DISK_IOV_MAX blocks */
#define DISK_BIG_QD 8

static uint64_t disk_rng = 88172645463325252UL;
static uint64_t disk_rnd(void)
{
	disk_rng ^= disk_rng << 13;
	disk_rng ^= disk_rng >> 7;
	disk_rng ^= disk_rng << 17;
	return disk_rng;
}

/* batches of qd requests of size bytes each: seq, consecutive ones (size
 * apart), else random 4 KiB blocks */
static void disk_batches_of(const char *name, aio_context_t ctx, int fd, char *buf, int opcode,
			    int seq, int n, int qd, long size)
{
	struct iocb cb[DISK_QD], *cbs[DISK_QD];
	struct io_event ev[DISK_QD];
	uint64_t next = 0;
	for (int s = 0; s < n; s++) {
		uint64_t t0 = rdtsc();
		for (int i = 0; i < qd; i++) {
			uint64_t b = seq ? next % DISK_SPAN : disk_rnd() % DISK_SPAN;
			next += (uint64_t)(size / PAGE);
			memset(&cb[i], 0, sizeof(cb[i]));
			cb[i].aio_fildes = (uint32_t)fd;
			cb[i].aio_lio_opcode = (uint16_t)opcode;
			cb[i].aio_buf = (uint64_t)(uintptr_t)(buf + i * size);
			cb[i].aio_nbytes = (uint64_t)size;
			cb[i].aio_offset = (int64_t)(b * PAGE);
			cbs[i] = &cb[i];
		}
		if (syscall(SYS_io_submit, ctx, (long)qd, cbs) != qd)
			die("io_submit");
		for (int got = 0; got < qd;) {
			long r = syscall(SYS_io_getevents, ctx, 1L, (long)(qd - got), ev + got, NULL);
			if (r <= 0)
				die("io_getevents");
			for (long k = 0; k < r; k++)
				if (ev[got + k].res != size) {
					errno = ev[got + k].res < 0 ? (int)-ev[got + k].res : EIO;
					die("an AIO request");
				}
			got += (int)r;
		}
		samples[s] = (rdtsc() - t0) / (uint64_t)qd;
	}
	report(name, n);
}

static void disk_batches(const char *name, aio_context_t ctx, int fd, char *buf, int opcode,
			 int seq, int n)
{
	disk_batches_of(name, ctx, fd, buf, opcode, seq, n, DISK_QD, PAGE);
}

static void disk_single(const char *name, int fd, char *buf, int write, int n)
{
	for (int s = 0; s < n; s++) {
		off_t off = (off_t)(disk_rnd() % DISK_SPAN * PAGE);
		uint64_t t0 = rdtsc();
		ssize_t r = write ? pwrite(fd, buf, PAGE, off) : pread(fd, buf, PAGE, off);
		samples[s] = rdtsc() - t0;
		if (r != (ssize_t)PAGE)
			die(write ? "pwrite" : "pread");
	}
	report(name, n);
}

static void bench_disk(int rounds)
{
	int fd = open("/dev/vda", O_RDWR | O_DIRECT);
	if (fd < 0)
		die("open /dev/vda (O_DIRECT)");
	char *buf;
	_Static_assert(DISK_BIG_QD * DISK_BIG >= DISK_QD * PAGE, "the buffer serves both");
	if (posix_memalign((void **)&buf, PAGE, DISK_BIG_QD * DISK_BIG) != 0)
		die("posix_memalign");
	memset(buf, 0x5a, DISK_BIG_QD * DISK_BIG);
	for (uint64_t b = 0; b < DISK_SPAN; b += DISK_QD)
		if (pwrite(fd, buf, DISK_QD * PAGE, (off_t)(b * PAGE)) != (ssize_t)(DISK_QD * PAGE))
			die("pwrite (filling the span)");
	if (fsync(fd) != 0)
		die("fsync");
	aio_context_t ctx = 0;
	if (syscall(SYS_io_setup, (long)DISK_QD, &ctx) != 0)
		die("io_setup");
	int nb = rounds / 8 > 3 ? rounds / 8 : 3;
	disk_batches("disk_rand_read_qd32", ctx, fd, buf, IOCB_CMD_PREAD, 0, nb);
	disk_batches("disk_rand_write_qd32", ctx, fd, buf, IOCB_CMD_PWRITE, 0, nb);
	disk_batches("disk_seq_read_qd32", ctx, fd, buf, IOCB_CMD_PREAD, 1, nb);
	disk_batches("disk_seq_write_qd32", ctx, fd, buf, IOCB_CMD_PWRITE, 1, nb);
	disk_single("disk_read_qd1", fd, buf, 0, rounds);
	disk_single("disk_write_qd1", fd, buf, 1, rounds);
	disk_batches_of("disk_seq_read_128k_qd8", ctx, fd, buf, IOCB_CMD_PREAD, 1, nb, DISK_BIG_QD,
			DISK_BIG);
	disk_batches_of("disk_seq_write_128k_qd8", ctx, fd, buf, IOCB_CMD_PWRITE, 1, nb,
			DISK_BIG_QD, DISK_BIG);
	syscall(SYS_io_destroy, ctx);
	close(fd);
}

int main(int argc, char **argv)
{
	int disk = argc > 1 && strcmp(argv[1], "disk") == 0;
	int fs = argc > 1 && strcmp(argv[1], "fs") == 0;
	if (disk || fs) {
		argc--;
		argv++;
	}
	int rounds = argc > 1 ? atoi(argv[1]) : 2000;
	cpu_set_t cpu0;

	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 2000;
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* one size whatever ROUNDS, so the address space (and so Linux's VMA
	   tree) looks the same in a smoke run and a full one */
	samples = mmap(NULL, 2 * MAX_ROUNDS * sizeof(samples[0]), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (samples == MAP_FAILED)
		die("mmap samples");
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	if (sched_setaffinity(0, sizeof(cpu0), &cpu0) != 0)
		die("sched_setaffinity");
	ensure_proc();

	/* a short calibration for a smoke run, a longer one otherwise */
	uint64_t tsc_hz = calibrate_tsc(rounds < 100 ? 20 : 200);

	if (fs)
		return bench_fs(argc, argv, tsc_hz);
	if (disk) {
		bench_disk(rounds > 4000 ? 4000 : rounds);
		printf("BENCH done tsc_hz %lu\n", (unsigned long)tsc_hz);
		fflush(stdout);
		return 0;
	}
	bench_rdtsc(rounds);
	bench_null_syscall(rounds);
	/* first of the memory rows: later, after the other rows have churned the
	   guest's memory, it costs about 30% more under TCG */
	bench_mmap(rounds);
	bench_exception_roundtrip(rounds);
	bench_segv_fixup(rounds);
	bench_trap(rounds);
	bench_prot(rounds);
	bench_dirty(rounds);
	bench_appel1(rounds);
	bench_appel2(at_least_one(rounds / 20));
	bench_pipe(rounds);
	bench_unix(rounds);
	bench_yield(rounds);
	bench_fork(at_least_one(rounds / 10));
	bench_fork_exec(at_least_one(rounds / 10));

	printf("BENCH done tsc_hz %lu\n", (unsigned long)tsc_hz);
	fflush(stdout);
	return 0;
}
