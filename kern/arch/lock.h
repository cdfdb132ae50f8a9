/*
 * The big kernel lock. Every entry into the kernel (trap, interrupt, syscall)
 * takes it and every exit to user mode or to the idle loop drops it, so kernel
 * code never runs on two CPUs at once. Files that keep shared state say in
 * their opening comment that they rely on it. Finer locks can replace it
 * mechanism by mechanism once more than one CPU runs.
 */
#ifndef EXO_KERN_LOCK_H
#define EXO_KERN_LOCK_H

#include <inc/types.h>

struct spinlock {
	volatile uint32_t locked;
};

extern struct spinlock kernel_lock;

static inline void spin_lock(struct spinlock *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (l->locked)
			__asm__ volatile("pause");
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

static inline void lock_kernel(void)
{
	spin_lock(&kernel_lock);
}

static inline void unlock_kernel(void)
{
	spin_unlock(&kernel_lock);
}

#endif
