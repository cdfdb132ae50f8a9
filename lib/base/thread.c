/*
 * User-level threads (lib/base/thread.h).
 *
 * Every thread not running is kept as a struct upcall_frame - exactly what
 * the kernel hands an upcall - so a thread that yielded (upcall_save) and one
 * preempted at a slice end (the epilogue's frame) are resumed the same way,
 * by upcall_resume, from any stack.
 *
 * Preemption is deferred while the thread library itself runs (in_library)
 * or malloc changes the heap (heap_busy): the epilogue then only yields the
 * CPU; in the heap's case the switch is left to malloc or free, which
 * yield to the next thread as they return (heap_deferred).
 *
 * Stacks: a joined thread's stack pages are freed (vm_unmap) and its
 * address range kept on a list for the next thread_create, so creating and
 * joining threads for ever neither leaks pages nor runs out of regions.
 */
#include <lib/base/libos.h>
#include <lib/base/slice.h>
#include <lib/base/thread.h>
#include <lib/base/vm.h>

#define THREAD_STACK (64 * 1024)

enum { T_READY, T_BLOCKED, T_DONE };

struct thread {
	struct upcall_frame t_frame;  /* its state while not running */
	int t_state;
	void *(*t_fn)(void *);
	void *t_arg, *t_result;
	struct thread *t_next;        /* ready queue, or a wait list */
	struct thread *t_joiner;      /* waiting in thread_join */
	uint8_t *t_stack;
};


uint64_t thread_switches, thread_preemptions;

/* Stacks of joined threads, pages freed, ready for the next thread. */
#define SPARE_STACKS 64
static uint8_t *spare_stacks[SPARE_STACKS];
static int nspare;

static uint8_t *stack_get(void)
{
	return nspare ? spare_stacks[--nspare] : vm_alloc(THREAD_STACK);
}

/* The thread that ran on s has switched away for good. */
static void stack_put(uint8_t *s)
{
	vm_unmap((uint64_t)s, THREAD_STACK); /* demand-zero again when reused */
	if (nspare < SPARE_STACKS)
		spare_stacks[nspare++] = s;
}

static struct thread main_thread;
static struct thread *current = &main_thread;
static struct thread *ready_head, *ready_tail;
static volatile int in_library;

static void ready(struct thread *t)
{
	t->t_state = T_READY;
	t->t_next = NULL;
	if (ready_tail)
		ready_tail->t_next = t;
	else
		ready_head = t;
	ready_tail = t;
}

static struct thread *next_ready(void)
{
	struct thread *t = ready_head;
	if (t) {
		ready_head = t->t_next;
		if (!ready_head)
			ready_tail = NULL;
	}
	return t;
}

/* Run the next ready thread; the current one has been put wherever it
 * waits. With nobody ready, the env sleeps until a transfer (another env
 * may wake a thread by messaging us) or a tick. */
static void reschedule(void)
{
	struct thread *me = current, *t;
	while (!(t = next_ready())) {
		if (me->t_state == T_READY)
			return;
		in_library = 0;
		sys_env_sleep(1);
		in_library = 1;
	}
	if (t == me)
		return;
	thread_switches++;
	if (upcall_save(&me->t_frame) == 0) {
		current = t;
		upcall_resume(&t->t_frame);
	}
	/* resumed: current == me again */
}

struct thread *thread_self(void)
{
	return current;
}

void thread_yield(void)
{
	in_library = 1;
	ready(current);
	reschedule();
	in_library = 0;
}

static void thread_start(void)
{
	in_library = 0;
	thread_exit(current->t_fn(current->t_arg));
}

struct thread *thread_create(void *(*fn)(void *), void *arg)
{
	struct thread *t = calloc(1, sizeof(*t));
	in_library = 1;
	uint8_t *stack = t ? stack_get() : NULL;
	in_library = 0;
	if (!t || !stack) {
		free(t);
		return NULL;
	}
	t->t_fn = fn;
	t->t_arg = arg;
	t->t_stack = stack;
	/* Start as if resumed into thread_start, called with an aligned stack. */
	t->t_frame.uf_rip = (uint64_t)thread_start;
	t->t_frame.uf_rsp = (uint64_t)stack + THREAD_STACK - 8 - UPCALL_REDZONE;
	t->t_frame.uf_rflags = 0x202;
	in_library = 1;
	ready(t);
	in_library = 0;
	return t;
}

void thread_exit(void *result)
{
	in_library = 1;
	struct thread *me = current;
	if (me == &main_thread)
		exit((int)(intptr_t)result);
	me->t_result = result;
	me->t_state = T_DONE;
	if (me->t_joiner)
		ready(me->t_joiner);
	reschedule(); /* never comes back: nobody readies a finished thread */
	for (;;)
		sys_env_sleep(UINT64_MAX);
}

void *thread_join(struct thread *t)
{
	in_library = 1;
	while (t->t_state != T_DONE) {
		t->t_joiner = current;
		current->t_state = T_BLOCKED;
		reschedule();
	}
	/* it has switched away for good: nothing runs on its stack now */
	stack_put(t->t_stack);
	in_library = 0;
	void *r = t->t_result;
	free(t);
	return r;
}

/* Put the current thread on wait list *list and run another. */
static void block_on(struct thread **list)
{
	current->t_state = T_BLOCKED;
	current->t_next = *list;
	*list = current;
	reschedule();
}

static void wake_one(struct thread **list)
{
	struct thread *t = *list;
	if (t) {
		*list = t->t_next;
		ready(t);
	}
}

void mutex_lock(struct mutex *m)
{
	in_library = 1;
	while (m->m_locked)
		block_on(&m->m_waiters);
	m->m_locked = 1;
	in_library = 0;
}

void mutex_unlock(struct mutex *m)
{
	in_library = 1;
	m->m_locked = 0;
	wake_one(&m->m_waiters);
	in_library = 0;
}

void cond_wait(struct cond *c, struct mutex *m)
{
	in_library = 1;
	m->m_locked = 0;
	wake_one(&m->m_waiters);
	block_on(&c->c_waiters);
	while (m->m_locked)
		block_on(&m->m_waiters);
	m->m_locked = 1;
	in_library = 0;
}

void cond_signal(struct cond *c)
{
	in_library = 1;
	wake_one(&c->c_waiters);
	in_library = 0;
}

void cond_broadcast(struct cond *c)
{
	in_library = 1;
	while (c->c_waiters)
		wake_one(&c->c_waiters);
	in_library = 0;
}

/* A preemption put off while the thread was in malloc or free. */
static void preempt_deferred(void)
{
	thread_preemptions++;
	thread_yield();
}

/* The slice is over: give the CPU back, and when it returns run the next
 * thread - the interrupted one waits its turn with the state the kernel
 * saved in the upcall frame. */
static void on_epilogue(bool overran)
{
	(void)overran;
	struct upcall_frame *epilogue_frame = slice_frame();
	if (heap_busy && !in_library && ready_head)
		heap_deferred = preempt_deferred; /* switch as soon as the heap is left */
	if (in_library || heap_busy || !ready_head || !epilogue_frame) {
		sys_yield();
		return;
	}
	struct thread *me = current;
	memcpy(&me->t_frame, epilogue_frame, sizeof(me->t_frame));
	ready(me);
	struct thread *t = next_ready();
	thread_preemptions++;
	sys_yield();
	current = t;
	upcall_resume(&t->t_frame);
}

int threads_preemptive(void)
{
	return slice_upcalls(NULL, on_epilogue);
}
