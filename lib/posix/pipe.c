/*
 * Pipes (lib/posix/pipe.h), and their descriptors: pipe(), and the TTY kind
 * a shell gives its foreground job (input through a pipe from the shell,
 * output straight to the console).
 *
 * The ring is one shared page: head and tail counters, the env waiting on
 * each side and its "waiting" flag, a closed flag, then each end's holders,
 * then the bytes. The first 36 bytes are read by the reader's wakeup
 * predicate (user/bpf/pipe_ready.c) and keep that layout.
 *
 * Holders: every process with a descriptor on an end has a slot (env id,
 * count of its open files on that end) in the page. An end is open while a
 * live env holds it, so a writer killed without closing still ends its
 * reader's input, and several processes can share an end (a pipeline's
 * stderr and stdout, children that inherit it). Each process changes only
 * its own slot, except that a parent claims a slot for a child it passes
 * the end to, before the child can run. An end nobody has claimed yet
 * counts as open: its process may not have started.
 *
 * Waiting without lost wake-ups: a side that finds nothing to do sets its
 * flag, looks once more, then sleeps; the other side, after changing the
 * ring, sends a message if the flag is set. Messages reach only a parent or
 * child (PCT keys), so sleeps are bounded: a reader also sleeps on the
 * wakeup predicate, which the kernel checks every tick, and a writer polls.
 *
 * Hostile stance: the page is shared with every holder, who can scribble
 * on it; a reader copies out modulo the ring size and trusts no counter
 * beyond that, so a liar gets garbage bytes or an early end, never a fault.
 */
#include <lib/base/libos.h>
#include <lib/base/pct.h>
#include <lib/base/vm.h>
#include <lib/base/wakeup.h>
#include <lib/posix/handoff.h>
#include <lib/posix/pipe.h>
#include <lib/posix/posix.h>

#define PIPE_HOLDERS 16 /* processes sharing one end: bounds the header */
#define PIPE_HDR 320
#define PIPE_BYTES (PAGE_SIZE - PIPE_HDR)
#define PIPE_READ_END 0
#define PIPE_WRITE_END 1

struct holder {
	volatile envid_t h_env;
	volatile uint32_t h_count;
};

struct pipe {
	volatile uint64_t p_head;      /* bytes ever read */
	volatile uint64_t p_tail;      /* bytes ever written */
	volatile envid_t p_reader, p_writer; /* who waits on each side */
	volatile uint32_t p_reader_waits, p_writer_waits;
	volatile uint32_t p_closed;    /* every writer closed its end */
	volatile uint32_t p_claimed;   /* bit per end: someone has held it */
	struct holder p_holders[2][PIPE_HOLDERS];
	uint8_t p_pad[PIPE_HDR - 40 - 2 * PIPE_HOLDERS * sizeof(struct holder)];
	volatile uint8_t p_buf[PIPE_BYTES];
};

_Static_assert(sizeof(struct pipe) == PAGE_SIZE, "a pipe is one page");
_Static_assert(__builtin_offsetof(struct pipe, p_closed) == 32, "pipe_ready.c reads it");

struct pipe *pipe_new(void)
{
	pct_serve(NULL, NULL); /* wake-ups arrive as messages */
	/* A page of our own range, bound now (a page first touched after a
	 * fork would be each side's own) and shared with forked children.
	 * Slots are reused once a pipe's page is unmapped. */
	static unsigned next;
	for (unsigned i = 0; i < POSIX_PIPE_SLOTS; i++) {
		uint64_t va = POSIX_PIPE_VA + (uint64_t)((next + i) % POSIX_PIPE_SLOTS) * PAGE_SIZE;
		if (vm_lookup(va) & VPT_P)
			continue;
		if (vm_page_alloc(va, PROT_READ | PROT_WRITE) < 0)
			return NULL;
		vm_adopt_shared(va, PAGE_SIZE);
		next = (next + i + 1) % POSIX_PIPE_SLOTS;
		return (struct pipe *)va;
	}
	return NULL;
}

/* Is env id there? (Not a recycled slot, not dead.) */
static bool alive(envid_t id)
{
	const volatile struct env_info *e = &uenvs[ENVX(id)];
	return id > 0 && e->env_id == id && e->env_status != ENV_ZOMBIE &&
	       e->env_status != ENV_FREE;
}

static int hold(struct pipe *p, int end, envid_t who)
{
	struct holder *h = p->p_holders[end];
	p->p_claimed |= 1u << end;
	for (int i = 0; i < PIPE_HOLDERS; i++)
		if (h[i].h_env == who) {
			h[i].h_count++;
			return 0;
		}
	for (int i = 0; i < PIPE_HOLDERS; i++) {
		envid_t cur = h[i].h_env;
		if ((cur == 0 || !alive(cur)) &&
		    __atomic_compare_exchange_n(&h[i].h_env, &cur, who, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST)) {
			h[i].h_count = 1;
			return 0;
		}
	}
	return -EMFILE;
}

static bool end_open(struct pipe *p, int end)
{
	if (!(p->p_claimed & (1u << end)))
		return true;
	for (int i = 0; i < PIPE_HOLDERS; i++) {
		struct holder *h = &p->p_holders[end][i];
		envid_t id = h->h_env;
		if (id && h->h_count && alive(id))
			return true;
	}
	return false;
}

/* Ask the other side to message us when it changes the ring. */
static void wait_on(volatile envid_t *who, volatile uint32_t *flag)
{
	*who = thisenv_id;
	*flag = 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void wake(volatile envid_t *who, volatile uint32_t *flag)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	envid_t other = *who;
	if (*flag && other) {
		*flag = 0;
		pct_send(other, 0, 0, 0);
	}
}

static void release(struct pipe *p, int end)
{
	struct holder *h = p->p_holders[end];
	for (int i = 0; i < PIPE_HOLDERS; i++)
		if (h[i].h_env == thisenv_id && h[i].h_count) {
			if (--h[i].h_count == 0)
				h[i].h_env = 0;
			break;
		}
	if (end == PIPE_WRITE_END) {
		if (!end_open(p, PIPE_WRITE_END))
			p->p_closed = 1;
		wake(&p->p_reader, &p->p_reader_waits);
	} else {
		wake(&p->p_writer, &p->p_writer_waits);
	}
}

/* The reader's predicate, one per process: the pipe it last slept on. */
static long ready_slot = -1;
static struct pipe *ready_pipe;
static envid_t ready_owner; /* a forked child inherits the variables, not the slot */

static void predicate_for(struct pipe *p)
{
	if (ready_owner != thisenv_id) {
		ready_slot = -1;
		ready_owner = thisenv_id;
	}
	if (ready_slot >= 0 && ready_pipe != p) {
		sys_bpf_unload((uint64_t)ready_slot);
		ready_slot = -1;
	}
	if (ready_slot < 0) {
		struct bpf_grant g = { (uint64_t)p, 64, BPF_REGION_READ, 0 };
		ready_slot = wakeup_load_elf(bpfobj_pipe_ready,
					     (size_t)(bpfobj_pipe_ready_end - bpfobj_pipe_ready), &g,
					     1, NULL);
		ready_pipe = p;
	}
}

void pipe_reader(struct pipe *p)
{
	pct_serve(NULL, NULL);
	hold(p, PIPE_READ_END, thisenv_id);
	predicate_for(p);
}

void pipe_writer(struct pipe *p)
{
	pct_serve(NULL, NULL);
	hold(p, PIPE_WRITE_END, thisenv_id);
}

static long do_write(struct pipe *p, const void *buf, size_t n, bool nonblock)
{
	const uint8_t *b = buf;
	size_t done = 0;
	while (done < n) {
		uint64_t room = PIPE_BYTES - MIN(p->p_tail - p->p_head, (uint64_t)PIPE_BYTES);
		if (!end_open(p, PIPE_READ_END))
			return done ? (long)done : -EPIPE;
		if (room == 0) {
			if (nonblock)
				return done ? (long)done : -EAGAIN;
			wait_on(&p->p_writer, &p->p_writer_waits);
			if (PIPE_BYTES - (p->p_tail - p->p_head) == 0)
				sys_env_sleep(2); /* a sibling reader cannot message us */
			p->p_writer_waits = 0;
			continue;
		}
		size_t k = MIN(room, n - done);
		for (size_t i = 0; i < k; i++)
			p->p_buf[(p->p_tail + i) % PIPE_BYTES] = b[done + i];
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		p->p_tail += k;
		done += k;
		wake(&p->p_reader, &p->p_reader_waits);
	}
	return (long)n;
}

static long do_read(struct pipe *p, void *buf, size_t n, bool nonblock)
{
	uint8_t *b = buf;
	if (n == 0)
		return 0;
	for (;;) {
		uint64_t avail = MIN(p->p_tail - p->p_head, (uint64_t)PIPE_BYTES);
		if (avail) {
			size_t k = MIN(avail, n);
			for (size_t i = 0; i < k; i++)
				b[i] = p->p_buf[(p->p_head + i) % PIPE_BYTES];
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			p->p_head += k;
			wake(&p->p_writer, &p->p_writer_waits);
			return (long)k;
		}
		if (p->p_closed || !end_open(p, PIPE_WRITE_END)) {
			/* the writer may have written its last bytes between
			 * our look at the ring and its close: look again */
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (p->p_tail != p->p_head)
				continue;
			return 0;
		}
		if (nonblock)
			return -EAGAIN;
		wait_on(&p->p_reader, &p->p_reader_waits);
		if (p->p_tail == p->p_head && !p->p_closed) {
			predicate_for(p);
			/* the predicate cannot see a writer die: look again soon */
			uint64_t ticks = ukinfo->ki_tick_hz / 10;
			if (ready_slot >= 0)
				sys_env_sleep_until((uint64_t)ready_slot, 0, ticks);
			else
				sys_env_sleep(ticks);
		}
		p->p_reader_waits = 0;
	}
}

long pipe_write(struct pipe *p, const void *buf, size_t n)
{
	long r = do_write(p, buf, n, false);
	return r == -EPIPE ? -E_BAD_ENV : r;
}

long pipe_read(struct pipe *p, void *buf, size_t n)
{
	return do_read(p, buf, n, false);
}

void pipe_close_write(struct pipe *p)
{
	release(p, PIPE_WRITE_END);
	p->p_closed = 1;
	wake(&p->p_reader, &p->p_reader_waits);
}

/* ---- descriptors ---- */

/* The page as this process maps it: shared by the two ends pipe() made. */
struct pipe_map {
	struct pipe *pm_pipe;
	int pm_refs;
};

struct pipe_end {
	struct pipe_map *pe_map;
	int pe_end;
};

static const struct file_ops pipe_ops;

static struct pipe_map *map_new(struct pipe *p)
{
	struct pipe_map *m = malloc(sizeof(*m));
	if (m)
		*m = (struct pipe_map){ p, 1 };
	return m;
}

static void map_put(struct pipe_map *m)
{
	if (--m->pm_refs == 0) {
		vm_unmap((uint64_t)m->pm_pipe, PAGE_SIZE);
		free(m);
	}
}

static ssize_t end_read(struct file *f, void *buf, size_t n)
{
	struct pipe_end *e = f->f_priv;
	if (e->pe_end != PIPE_READ_END)
		return -EBADF;
	return do_read(e->pe_map->pm_pipe, buf, n, f->f_flags & O_NONBLOCK);
}

static ssize_t end_write(struct file *f, const void *buf, size_t n)
{
	struct pipe_end *e = f->f_priv;
	if (e->pe_end != PIPE_WRITE_END)
		return -EBADF;
	return do_write(e->pe_map->pm_pipe, buf, n, f->f_flags & O_NONBLOCK);
}

static int end_fstat(struct file *f, struct stat *st)
{
	struct pipe_end *e = f->f_priv;
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFIFO | 0600;
	st->st_ino = (uint64_t)e->pe_map->pm_pipe >> PAGE_SHIFT;
	st->st_blksize = PIPE_BYTES;
	return 0;
}

static void end_close(struct file *f)
{
	struct pipe_end *e = f->f_priv;
	release(e->pe_map->pm_pipe, e->pe_end);
	map_put(e->pe_map);
	free(e);
}

/* Bind the page in the child at *va_next and make it a holder of the end. */
static int end_export(struct file *f, envid_t child, uint64_t *va_next, uint8_t blob[48])
{
	struct pipe_end *e = f->f_priv;
	struct pipe *p = e->pe_map->pm_pipe;
	uint64_t ppn = vm_lookup((uint64_t)p) >> PAGE_SHIFT;
	long r = sys_page_bind(child, *va_next, ppn, BIND_READ | BIND_WRITE, CAP_SELF);
	if (r < 0)
		return -errno_from_exo(r);
	int h = hold(p, e->pe_end, child);
	if (h < 0)
		return h;
	memcpy(blob, va_next, sizeof(*va_next));
	blob[8] = (uint8_t)e->pe_end;
	*va_next += PAGE_SIZE;
	return 0;
}

/* fork: the child holds every end we hold. */
static void end_fork(struct file *f, envid_t child)
{
	struct pipe_end *e = f->f_priv;
	hold(e->pe_map->pm_pipe, e->pe_end, child);
}

static const struct file_ops pipe_ops = {
	.fo_name = "pipe",
	.fo_read = end_read,
	.fo_write = end_write,
	.fo_fstat = end_fstat,
	.fo_close = end_close,
	.fo_export = end_export,
	.fo_fork = end_fork,
	.fo_kind = FILE_KIND_PIPE,
};

/* A file for one end; it takes over a map reference and our hold on the
 * end, and gives both back if it cannot be made. */
static struct file *end_file(struct pipe_map *m, int end, int flags)
{
	struct pipe_end *e = malloc(sizeof(*e));
	struct file *f = e ? file_new(&pipe_ops, flags, e) : NULL;
	if (!f) {
		free(e);
		release(m->pm_pipe, end);
		map_put(m);
		return NULL;
	}
	*e = (struct pipe_end){ m, end };
	return f;
}

int pipe(int fds[2])
{
	struct pipe *p = pipe_new();
	if (!p)
		return -ENOMEM;
	struct pipe_map *m = map_new(p);
	if (!m) {
		vm_unmap((uint64_t)p, PAGE_SIZE);
		return -ENOMEM;
	}
	m->pm_refs = 2;
	hold(p, PIPE_READ_END, thisenv_id);
	hold(p, PIPE_WRITE_END, thisenv_id);
	struct file *r = end_file(m, PIPE_READ_END, O_RDONLY);
	struct file *w = end_file(m, PIPE_WRITE_END, O_WRONLY);
	int rfd = r ? fd_install(r, 0) : -ENOMEM;
	int wfd = rfd < 0 ? rfd : w ? fd_install(w, 0) : -ENOMEM;
	/* fd_install took references of its own: what got no descriptor closes */
	if (r)
		file_put(r);
	if (w)
		file_put(w);
	if (wfd < 0) {
		if (rfd >= 0)
			close(rfd);
		return wfd;
	}
	fds[0] = rfd;
	fds[1] = wfd;
	return 0;
}

static struct file *pipe_import(const uint8_t blob[48], int flags)
{
	uint64_t va;
	memcpy(&va, blob, sizeof(va));
	int end = blob[8];
	if ((end != PIPE_READ_END && end != PIPE_WRITE_END) || vm_adopt_shared(va, PAGE_SIZE) < 0)
		return NULL;
	pct_serve(NULL, NULL);
	struct pipe_map *m = map_new((struct pipe *)va);
	if (!m) {
		release((struct pipe *)va, end);
		vm_unmap(va, PAGE_SIZE);
		return NULL;
	}
	return end_file(m, end, flags);
}


/* ---- TTY: a job's terminal ---- */

static ssize_t tty_read(struct file *f, void *buf, size_t n)
{
	return end_read(f->f_priv, buf, n);
}

static ssize_t tty_write(struct file *f UNUSED, const void *buf, size_t n)
{
	long r = sys_cputs(buf, n);
	return r < 0 ? -errno_from_exo(r) : (ssize_t)n;
}

static int tty_fstat(struct file *f UNUSED, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR | 0620;
	st->st_rdev = 0x0400; /* tty0's numbers, for tools that look */
	return 0;
}

static void tty_close(struct file *f)
{
	file_put(f->f_priv);
}

static int tty_export(struct file *f, envid_t child, uint64_t *va_next, uint8_t blob[48])
{
	return end_export(f->f_priv, child, va_next, blob);
}

static void tty_fork(struct file *f, envid_t child)
{
	end_fork(f->f_priv, child);
}

static const struct file_ops tty_ops = {
	.fo_name = "tty",
	.fo_read = tty_read,
	.fo_write = tty_write,
	.fo_fstat = tty_fstat,
	.fo_close = tty_close,
	.fo_export = tty_export,
	.fo_fork = tty_fork,
	.fo_tty = true,
	.fo_kind = FILE_KIND_TTY,
};

static struct file *tty_wrap(struct file *in, int flags)
{
	struct file *t = file_new(&tty_ops, (flags & ~O_ACCMODE) | O_RDWR, in);
	if (!t)
		file_put(in);
	return t;
}

int tty_open(int in_fd)
{
	struct file *in = fd_file(in_fd);
	if (!in || in->f_ops != &pipe_ops || ((struct pipe_end *)in->f_priv)->pe_end != PIPE_READ_END)
		return -EBADF;
	in->f_refs++;
	struct file *t = tty_wrap(in, 0);
	if (!t)
		return -ENOMEM;
	int fd = fd_install(t, 0);
	file_put(t);
	return fd;
}

static struct file *tty_import(const uint8_t blob[48], int flags)
{
	struct file *in = pipe_import(blob, O_RDONLY);
	return in ? tty_wrap(in, flags) : NULL;
}

void pipe_kinds_register(void)
{
	file_kind_register(FILE_KIND_PIPE, pipe_import);
	file_kind_register(FILE_KIND_TTY, tty_import);
}
