/*
 * poll and select (lib/posix/posix.h): waiting for any of several
 * descriptors of every kind, with Linux's values, results and errors.
 *
 * Each kind says what a file is ready for (fo_poll; a kind without one is
 * always ready for reading and writing, as a regular file or /dev/null is)
 * and, when the caller will sleep, what a sleep must watch to hear of a
 * change: a word of shared memory its peer bumps and wakes (a pipe's
 * sequence words, lib/posix/pipe.c), or console input (the console and
 * the terminal). Sockets live in this env's own TCP stack, which only
 * frames and its timers move: before each look the stack takes what has
 * arrived and runs its timers (sock_poll_prepare), and the sleep watches
 * the receive ring's head word and lasts at most until the next TCP timer.
 * Then one system call, sys_page_sleep_any, sleeps on all of it at once:
 * a wake on any word, a frame for our ring, console input, a message, any
 * env's death (a pipe's peer killed without closing) or the time ends it,
 * and the loop looks again. Every word is armed before its kind looks, and
 * the kernel compares each with what was seen before it sleeps, so no
 * change between the look and the sleep is lost. An idle poller is not run
 * at all until one of those happens.
 *
 * Limits: there is no out-of-band data (POLLPRI, select's exceptfds never
 * hold); the clock is the TSC's, in milliseconds, and a sleep is rounded
 * up to whole timer ticks.
 *
 * Hostile stance: arrays and sets are checked for the addresses the
 * library can tell are not the program's (NULL's page, the kernel's half,
 * a range that wraps) before anything is read; descriptors out of range
 * or closed are POLLNVAL (poll) or EBADF (select), never a fault.
 */
#include <lib/base/libos.h>
#include <lib/posix/posix.h>

#include <lib/posix/pollwait.h>

void (*poll_net_prepare)(struct poll_wait *w);
void (*poll_sock_changed)(int sd);

void poll_wait_reset(struct poll_wait *w)
{
	w->pw_n = 0;
	w->pw_console = w->pw_overflow = false;
	w->pw_max_ms = POLL_FOREVER;
}

void poll_wait_word(struct poll_wait *w, volatile uint32_t *word, uint32_t seen)
{
	uint64_t va = (uint64_t)(uintptr_t)word;
	for (unsigned i = 0; i < w->pw_n; i++)
		if (w->pw_words[i].pw_va == va)
			return; /* dup'd descriptors: one file, one word */
	if (w->pw_n == PAGE_SLEEP_WORDS_MAX) {
		w->pw_overflow = true;
		return;
	}
	w->pw_words[w->pw_n++] = (struct page_word){ va, seen, 0 };
}

void poll_wait_console(struct poll_wait *w)
{
	w->pw_console = true;
}

void poll_wait_within(struct poll_wait *w, uint64_t ms)
{
	w->pw_max_ms = MIN(w->pw_max_ms, ms);
}

uint64_t poll_now_ms(void)
{
	return rdtsc() / (ukinfo->ki_tsc_hz / 1000);
}

bool poll_user_range(const void *p, size_t len)
{
	uint64_t va = (uint64_t)(uintptr_t)p;
	return len == 0 || (va >= PAGE_SIZE && va < UTOP && len <= UTOP - va);
}

long poll_wait_sleep(struct poll_wait *w, uint64_t deadline)
{
	uint64_t now = poll_now_ms();
	uint64_t ms = deadline == POLL_FOREVER ? POLL_FOREVER : deadline - MIN(now, deadline);
	ms = MIN(ms, w->pw_max_ms);
	if (w->pw_overflow)
		ms = MIN(ms, 1);
	uint64_t hz = ukinfo->ki_tick_hz;
	uint64_t ticks = ms == POLL_FOREVER     ? UINT64_MAX
			 : ms > UINT64_MAX / hz ? UINT64_MAX - 1
						: (ms * hz + 999) / 1000;
	long r = sys_page_sleep_any(w->pw_words, w->pw_n, w->pw_console ? PAGE_SLEEP_CONSOLE : 0,
				    ticks);
	if (r == -E_PERM) /* the console went: look again */
		return PAGE_SLEEP_WOKEN;
	return r < 0 ? -errno_from_exo(r) : r;
}

int console_poll(struct file *f UNUSED, struct poll_wait *w)
{
	long r = sys_page_sleep_any(NULL, 0, PAGE_SLEEP_CONSOLE, 0);
	if (r == -E_PERM)
		return POLLOUT | POLLERR; /* not ours now: a read fails (EIO) */
	if (r == PAGE_SLEEP_INPUT)
		return POLLIN | POLLOUT;
	if (w)
		poll_wait_console(w);
	return POLLOUT;
}

/* One look at every entry: how many have revents. */
static int scan(struct pollfd *fds, nfds_t nfds, struct poll_wait *w)
{
	int n = 0;
	for (nfds_t i = 0; i < nfds; i++) {
		int fd = fds[i].fd, ev;
		fds[i].revents = 0;
		if (fd < 0)
			continue;
		struct file *f = fd_file(fd);
		if (!f)
			ev = POLLNVAL;
		else if (f->f_ops->fo_poll)
			ev = f->f_ops->fo_poll(f, w);
		else
			ev = POLLIN | POLLOUT;
		if (ev & POLLIN)
			ev |= POLLRDNORM;
		if (ev & POLLOUT)
			ev |= POLLWRNORM;
		ev &= (uint16_t)fds[i].events | POLLERR | POLLHUP | POLLNVAL;
		fds[i].revents = (short)ev;
		n += ev != 0;
	}
	return n;
}

/* poll with a timeout in ms (< 0: none), the arguments checked. */
static int do_poll(struct pollfd *fds, nfds_t nfds, int64_t timeout)
{
	uint64_t deadline = timeout < 0 ? POLL_FOREVER : poll_now_ms() + (uint64_t)timeout;
	struct poll_wait w;
	for (;;) {
		struct poll_wait *pw = timeout ? &w : NULL; /* 0: look only */
		poll_wait_reset(&w);
		if (poll_net_prepare)
			poll_net_prepare(pw);
		int n = scan(fds, nfds, pw);
		if (n || poll_now_ms() >= deadline)
			return n;
		long r = poll_wait_sleep(&w, deadline);
		if (r < 0)
			return (int)r;
	}
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	if (nfds > POLL_NFDS_MAX)
		return -EINVAL;
	if (!poll_user_range(fds, nfds * sizeof(*fds)) || (nfds && !fds))
		return -EFAULT;
	return do_poll(fds, nfds, timeout < 0 ? -1 : timeout);
}

int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
	if (nfds < 0 || nfds > FD_SETSIZE)
		return -EINVAL;
	size_t setlen = (size_t)(nfds + 63) / 64 * sizeof(uint64_t);
	if (!poll_user_range(rd, rd ? setlen : 0) || !poll_user_range(wr, wr ? setlen : 0) ||
	    !poll_user_range(ex, ex ? setlen : 0) || !poll_user_range(tv, tv ? sizeof(*tv) : 0))
		return -EFAULT;
	int64_t timeout = -1;
	if (tv) {
		if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec > 999999)
			return -EINVAL;
		timeout = tv->tv_sec > INT64_MAX / 2000
				  ? INT64_MAX / 2
				  : tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;
	}
	struct pollfd fds[FD_MAX];
	nfds_t n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = (short)((rd && FD_ISSET(fd, rd) ? POLLIN : 0) |
				   (wr && FD_ISSET(fd, wr) ? POLLOUT : 0) |
				   (ex && FD_ISSET(fd, ex) ? POLLPRI : 0));
		if (!ev)
			continue;
		if (!fd_file(fd))
			return -EBADF; /* fd_file is NULL past FD_MAX too */
		fds[n++] = (struct pollfd){ fd, ev, 0 };
	}
	uint64_t start = poll_now_ms();
	int r = do_poll(fds, n, timeout);
	if (r < 0)
		return r;
	for (nfds_t i = 0; i < n; i++)
		if (fds[i].revents & POLLNVAL)
			return -EBADF; /* a socket fork copied: not ours to use */
	int count = 0;
	for (int i = 0; i < (nfds + 63) / 64; i++) {
		if (rd)
			rd->fds_bits[i] = 0;
		if (wr)
			wr->fds_bits[i] = 0;
		if (ex)
			ex->fds_bits[i] = 0;
	}
	for (nfds_t i = 0; i < n; i++) {
		int fd = fds[i].fd, ev = fds[i].revents;
		if ((fds[i].events & POLLIN) && (ev & (POLLIN | POLLHUP | POLLERR)))
			FD_SET(fd, rd), count++;
		if ((fds[i].events & POLLOUT) && (ev & (POLLOUT | POLLERR)))
			FD_SET(fd, wr), count++;
		if ((fds[i].events & POLLPRI) && (ev & POLLPRI))
			FD_SET(fd, ex), count++;
	}
	if (tv) {
		uint64_t spent = poll_now_ms() - start;
		uint64_t left = spent >= (uint64_t)timeout ? 0 : (uint64_t)timeout - spent;
		tv->tv_sec = (int64_t)(left / 1000);
		tv->tv_usec = (int64_t)(left % 1000) * 1000;
	}
	return count;
}
