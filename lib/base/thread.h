/*
 * User-level threads, scheduled by the library OS inside its own time:
 * create, join, yield, mutexes and condition variables. Switching is a
 * library call (no kernel entry); with preemption on, the kernel's slice-end
 * upcall (T_EPILOGUE) also switches threads before giving the CPU back.
 *
 * malloc and free are safe under preemption (a thread is not switched
 * while in them). The rest of the library OS (the page table) is not: with
 * preemption on, take a mutex around it, or keep it to one thread.
 */
#ifndef EXO_LIB_THREAD_H
#define EXO_LIB_THREAD_H

#include <inc/types.h>

struct thread;

struct mutex {
	volatile int m_locked;
	struct thread *m_waiters;
};

struct cond {
	struct thread *c_waiters;
};

#define MUTEX_INIT { 0, NULL }
#define COND_INIT { NULL }

/* Start fn(arg) in a new thread; NULL if out of memory. */
struct thread *thread_create(void *(*fn)(void *), void *arg);
/* Wait for t to end and return fn's result; t is then freed. */
void *thread_join(struct thread *t);
/* Let the other threads run. */
void thread_yield(void);
/* End the calling thread (the first thread ends the program). */
void thread_exit(void *result) __attribute__((noreturn));
struct thread *thread_self(void);

void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
void cond_wait(struct cond *c, struct mutex *m);
void cond_signal(struct cond *c);
void cond_broadcast(struct cond *c);

/* Switch threads at the end of each of our time slices (needs a slot:
 * sys_slice_alloc). Returns 0 or -E_*. */
int threads_preemptive(void);

/* Statistics: cooperative and preemptive switches. */
extern uint64_t thread_switches, thread_preemptions;

#endif
