/*
 * Pipes (lib/posix/pipe.h), and their descriptors: pipe().
 *
 * The ring is one shared page: head and tail counters, the env waiting on
 * each side and its "waiting" flag, a closed flag, then each end's holders,
 * then the bytes. The first 36 bytes keep the layout of the wakeup
 * predicate user/bpf/pipe_ready.c (test_bpf loads it on a ring of its own).
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
 * Waiting without lost wake-ups: each side has a sequence word that the
 * other bumps after every change it makes to the ring (the writer's
 * p_data_seq on a write or close, the reader's p_room_seq on a read or
 * close). A side that finds nothing to do sets its "waiting" flag, reads
 * its word, looks at the ring once more, and sleeps on the word
 * (sys_page_sleep) only if it is unchanged; the other side, after bumping
 * the word, wakes its sleepers (sys_page_wake) if the flag is set. The
 * kernel checks the word and sleeps in one step, so no wake is lost, and
 * it works between any two processes sharing the page - siblings of a
 * pipeline too, whom PCT keys do not reach. Sleeps are still bounded (a
 * tenth of a second): a peer killed without closing wakes nobody, and the
 * sleeper notices its death from the env table.
 *
 * Hostile stance: the page is shared with every holder, who can scribble
 * on it; a reader copies out modulo the ring size and trusts no counter
 * beyond that, so a liar gets garbage bytes or an early end, never a fault.
 */
#include <lib/base/libos.h>
#include <lib/base/vm.h>
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
	volatile uint32_t p_data_seq;  /* bumped on every write and close */
	volatile uint32_t p_room_seq;  /* bumped on every read and reader's close */
	uint8_t p_pad[PIPE_HDR - 48 - 2 * PIPE_HOLDERS * sizeof(struct holder)];
	volatile uint8_t p_buf[PIPE_BYTES];
};

_Static_assert(sizeof(struct pipe) == PAGE_SIZE, "a pipe is one page");
_Static_assert(__builtin_offsetof(struct pipe, p_closed) == 32, "pipe_ready.c reads it");

struct pipe *pipe_new(void)
{
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

/*
 * Claim (or count once more) who's slot on end. The slot is filled before
 * the end is marked claimed: a reader that saw the claim before the slot
 * would find no holder and take the end for closed (an early end of file,
 * which test_pct's pipe checks caught now and then). For the same reason a
 * slot is held while it names a live env, whatever its count: between the
 * two stores of hold or of release the end still counts as open, and a
 * slot is free for another only once release has cleared its env.
 */
static int hold(struct pipe *p, int end, envid_t who)
{
	struct holder *h = p->p_holders[end];
	int r = -EMFILE;
	for (int i = 0; i < PIPE_HOLDERS && r < 0; i++)
		if (h[i].h_env == who) {
			__atomic_fetch_add(&h[i].h_count, 1, __ATOMIC_SEQ_CST);
			r = 0;
		}
	for (int i = 0; i < PIPE_HOLDERS && r < 0; i++) {
		envid_t cur = h[i].h_env;
		if ((cur == 0 || !alive(cur)) &&
		    __atomic_compare_exchange_n(&h[i].h_env, &cur, who, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST)) {
			__atomic_store_n(&h[i].h_count, 1, __ATOMIC_SEQ_CST);
			r = 0;
		}
	}
	if (r == 0)
		__atomic_fetch_or(&p->p_claimed, 1u << end, __ATOMIC_SEQ_CST);
	return r;
}

static bool end_open(struct pipe *p, int end)
{
	if (!(__atomic_load_n(&p->p_claimed, __ATOMIC_SEQ_CST) & (1u << end)))
		return true;
	for (int i = 0; i < PIPE_HOLDERS; i++) {
		struct holder *h = &p->p_holders[end][i];
		envid_t id = __atomic_load_n(&h->h_env, __ATOMIC_SEQ_CST);
		if (id && alive(id))
			return true; /* a count of 0: being filled (see hold) */
	}
	return false;
}

/* Sleep on *seq, last read as seen, unless it moved (flag says we wait). */
static void wait_on(volatile uint32_t *seq, uint32_t seen)
{
	sys_page_sleep((uint64_t)(uintptr_t)seq, seen, ukinfo->ki_tick_hz / 10);
}

/* We changed the ring: bump the other side's word, and wake it if it waits. */
static void wake(volatile uint32_t *seq, volatile uint32_t *flag)
{
	__atomic_fetch_add(seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(flag, __ATOMIC_SEQ_CST)) {
		*flag = 0;
		sys_page_wake((uint64_t)(uintptr_t)seq);
	}
}

/* Say we wait, then read the word to sleep on (before looking again). */
static uint32_t about_to_wait(volatile uint32_t *seq, volatile uint32_t *flag)
{
	__atomic_store_n(flag, 1, __ATOMIC_SEQ_CST);
	return __atomic_load_n(seq, __ATOMIC_SEQ_CST);
}

static void release(struct pipe *p, int end)
{
	struct holder *h = p->p_holders[end];
	for (int i = 0; i < PIPE_HOLDERS; i++)
		if (h[i].h_env == thisenv_id && h[i].h_count) {
			if (h[i].h_count == 1) { /* the slot is free once its env is */
				__atomic_store_n(&h[i].h_count, 0, __ATOMIC_SEQ_CST);
				__atomic_store_n(&h[i].h_env, 0, __ATOMIC_SEQ_CST);
			} else {
				__atomic_fetch_sub(&h[i].h_count, 1, __ATOMIC_SEQ_CST);
			}
			break;
		}
	if (end == PIPE_WRITE_END) {
		if (!end_open(p, PIPE_WRITE_END))
			p->p_closed = 1;
		wake(&p->p_data_seq, &p->p_reader_waits);
	} else {
		wake(&p->p_room_seq, &p->p_writer_waits);
	}
}

void pipe_reader(struct pipe *p)
{
	hold(p, PIPE_READ_END, thisenv_id);
}

void pipe_writer(struct pipe *p)
{
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
			p->p_writer = thisenv_id;
			uint32_t seen = about_to_wait(&p->p_room_seq, &p->p_writer_waits);
			if (p->p_tail - p->p_head >= PIPE_BYTES && end_open(p, PIPE_READ_END))
				wait_on(&p->p_room_seq, seen);
			continue;
		}
		size_t k = MIN(room, n - done);
		for (size_t i = 0; i < k; i++)
			p->p_buf[(p->p_tail + i) % PIPE_BYTES] = b[done + i];
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		p->p_tail += k;
		done += k;
		wake(&p->p_data_seq, &p->p_reader_waits);
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
			wake(&p->p_room_seq, &p->p_writer_waits);
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
		p->p_reader = thisenv_id;
		uint32_t seen = about_to_wait(&p->p_data_seq, &p->p_reader_waits);
		if (p->p_tail == p->p_head && !p->p_closed)
			wait_on(&p->p_data_seq, seen);
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
	wake(&p->p_data_seq, &p->p_reader_waits);
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

/* poll, as Linux's pipes answer it: the read end POLLIN with data,
 * POLLHUP once every writer is gone; the write end POLLOUT with room,
 * POLLERR once every reader is gone. With w, arm the wait first (the flag,
 * then the word, as a blocked read or write does) and then look. */
static int end_poll(struct file *f, struct poll_wait *w)
{
	struct pipe_end *e = f->f_priv;
	struct pipe *p = e->pe_map->pm_pipe;
	int ev = 0;
	if (e->pe_end == PIPE_READ_END) {
		if (w) {
			p->p_reader = thisenv_id;
			poll_wait_word(w, &p->p_data_seq,
				       about_to_wait(&p->p_data_seq, &p->p_reader_waits));
		}
		if (p->p_tail != p->p_head)
			ev |= POLLIN;
		if (p->p_closed || !end_open(p, PIPE_WRITE_END))
			ev |= POLLHUP;
		return ev;
	}
	if (w) {
		p->p_writer = thisenv_id;
		poll_wait_word(w, &p->p_room_seq,
			       about_to_wait(&p->p_room_seq, &p->p_writer_waits));
	}
	if (p->p_tail - p->p_head < PIPE_BYTES)
		ev |= POLLOUT;
	if (!end_open(p, PIPE_READ_END))
		ev |= POLLERR;
	return ev;
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
	.fo_poll = end_poll,
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
	struct pipe_map *m = map_new((struct pipe *)va);
	if (!m) {
		release((struct pipe *)va, end);
		vm_unmap(va, PAGE_SIZE);
		return NULL;
	}
	return end_file(m, end, flags);
}

void pipe_kinds_register(void)
{
	file_kind_register(FILE_KIND_PIPE, pipe_import);
	tty_kind_register();
}
