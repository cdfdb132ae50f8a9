/*
 * Pipes (lib/posix/pipe.h). The ring is one shared page: head and tail counters,
 * each end's env id, a "waiting" flag per side, and the bytes.
 *
 * Waiting without lost wake-ups: a side that finds nothing to do sets its
 * flag, looks once more, then sleeps; the other side, after changing the
 * ring, sends a message if the flag is set. A message that arrives before
 * the sleep makes the sleep return at once (the kernel queues it).
 *
 * The reader also sleeps on a downloaded wakeup predicate over the ring's
 * header (user/bpf/pipe_ready.c): the kernel wakes it within a tick of data
 * arriving even when no message reaches it (a writer without a key to it,
 * or a full message queue).
 */
#include <lib/base/libos.h>
#include <lib/base/pct.h>
#include <lib/posix/pipe.h>
#include <lib/base/vm.h>
#include <lib/base/wakeup.h>

#define PIPE_BYTES (PAGE_SIZE - 64)

struct pipe {
	volatile uint64_t p_head;      /* bytes ever read */
	volatile uint64_t p_tail;      /* bytes ever written */
	volatile envid_t p_reader, p_writer;
	volatile uint32_t p_reader_waits, p_writer_waits;
	volatile uint32_t p_closed;
	uint8_t p_pad[64 - 36];
	volatile uint8_t p_buf[PIPE_BYTES];
};

_Static_assert(sizeof(struct pipe) == PAGE_SIZE, "a pipe is one page");

struct pipe *pipe_new(void)
{
	pct_serve(NULL, NULL); /* wake-ups arrive as messages */
	return vm_alloc_shared(PAGE_SIZE);
}

/* The reader's predicate, one per process: the pipe it reads. */
static long ready_slot = -1;
static struct pipe *ready_pipe;

void pipe_reader(struct pipe *p)
{
	pct_serve(NULL, NULL);
	p->p_reader = thisenv_id;
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

void pipe_writer(struct pipe *p)
{
	pct_serve(NULL, NULL);
	p->p_writer = thisenv_id;
}

/* Is the other end there? An end not yet claimed (0) counts as there: the
 * process that will claim it may not have run yet. */
static bool alive(envid_t id)
{
	const volatile struct env_info *e = &uenvs[ENVX(id)];
	return id == 0 || (e->env_id == id && e->env_status != ENV_ZOMBIE &&
			   e->env_status != ENV_FREE);
}

/* Ask the other side to message us when it changes the ring. */
static void wait_on(volatile uint32_t *flag)
{
	*flag = 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void wake(envid_t other, volatile uint32_t *flag)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (*flag && other) {
		*flag = 0;
		pct_send(other, 0, 0, 0);
	}
}

long pipe_write(struct pipe *p, const void *buf, size_t n)
{
	const uint8_t *b = buf;
	size_t done = 0;
	while (done < n) {
		uint64_t room = PIPE_BYTES - (p->p_tail - p->p_head);
		if (room == 0) {
			if (!alive(p->p_reader))
				return -E_BAD_ENV;
			wait_on(&p->p_writer_waits);
			if (PIPE_BYTES - (p->p_tail - p->p_head) == 0)
				sys_env_sleep(ukinfo->ki_tick_hz);
			p->p_writer_waits = 0;
			continue;
		}
		size_t k = MIN(room, n - done);
		for (size_t i = 0; i < k; i++)
			p->p_buf[(p->p_tail + i) % PIPE_BYTES] = b[done + i];
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		p->p_tail += k;
		done += k;
		wake(p->p_reader, &p->p_reader_waits);
	}
	return (long)n;
}

long pipe_read(struct pipe *p, void *buf, size_t n)
{
	uint8_t *b = buf;
	for (;;) {
		uint64_t avail = p->p_tail - p->p_head;
		if (avail) {
			size_t k = MIN(avail, n);
			for (size_t i = 0; i < k; i++)
				b[i] = p->p_buf[(p->p_head + i) % PIPE_BYTES];
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			p->p_head += k;
			wake(p->p_writer, &p->p_writer_waits);
			return (long)k;
		}
		if (p->p_closed || !alive(p->p_writer))
			return 0;
		wait_on(&p->p_reader_waits);
		if (p->p_tail == p->p_head && !p->p_closed) {
			if (ready_slot >= 0 && ready_pipe == p)
				sys_env_sleep_until((uint64_t)ready_slot, 0, ukinfo->ki_tick_hz);
			else
				sys_env_sleep(ukinfo->ki_tick_hz);
		}
		p->p_reader_waits = 0;
	}
}

void pipe_close_write(struct pipe *p)
{
	p->p_closed = 1;
	wake(p->p_reader, &p->p_reader_waits);
}
