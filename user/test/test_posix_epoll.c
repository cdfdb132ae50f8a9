/*
 * epoll (lib/posix/epoll.c) over POSIX descriptors. Without a NIC (the
 * default test boot): every error (EBADF, EINVAL, EEXIST, ENOENT, EPERM,
 * ELOOP, EFAULT), pipes level- and edge-triggered and one-shot, hang-ups
 * both ways, a forked writer waking a waiter, a writer killed without
 * closing, entries that go with their file, dup, a set copied by fork,
 * sets inside sets (and poll on a set), sockets that need no wire, and an
 * idle waiter that the kernel does not run at all. With a NIC
 * (tools/test-sock forwards a host port to guest port 7005): one set over
 * a listening socket, its connections (edge-triggered, read until EAGAIN)
 * and a pipe a child writes to, driven by the host as test_posix_poll's.
 */
#include <lib/base/libos.h>
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/net/net.h>
#include <lib/posix/posix.h>

#include "pollwaiter.h"

static int ctl(int ep, int op, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { events, { .u64 = data } };
	return epoll_ctl(ep, op, fd, &ev);
}

/* One wait for at most one event: its events (data in *data), 0, or the
 * error. */
static long wait1(int ep, int timeout, uint64_t *data)
{
	struct epoll_event ev = { 0x7777, { .u64 = 0x5555 } };
	int r = epoll_wait(ep, &ev, 1, timeout);
	if (r <= 0)
		return r;
	if (data)
		*data = ev.data.u64;
	return ev.events;
}

static void errors(void)
{
	check_eq("create1-flags", epoll_create1(1), -EINVAL);
	check_eq("create-zero", epoll_create(0), -EINVAL);
	check_eq("create-negative", epoll_create(-3), -EINVAL);
	int ep = epoll_create1(EPOLL_CLOEXEC), ep2 = epoll_create(1);
	check("create", ep >= 0 && ep2 >= 0);
	check_eq("cloexec", fcntl(ep, F_GETFD, 0), FD_CLOEXEC);
	check_eq("cloexec-always", fcntl(ep2, F_GETFD, 0), FD_CLOEXEC);
	char b[4];
	check_eq("read-set", read(ep, b, 4), -EINVAL);
	check_eq("write-set", write(ep, b, 4), -EINVAL);
	struct stat st;
	check_eq("fstat-set", fstat(ep, &st) || (st.st_mode & S_IFMT), 0);
	int fds[2];
	check_eq("e-pipe", pipe(fds), 0);

	check_eq("ctl-epfd-closed", ctl(50, EPOLL_CTL_ADD, fds[0], EPOLLIN, 0), -EBADF);
	check_eq("ctl-epfd-past-table", ctl(FD_MAX + 1, EPOLL_CTL_ADD, fds[0], EPOLLIN, 0), -EBADF);
	check_eq("ctl-fd-closed", ctl(ep, EPOLL_CTL_ADD, 50, EPOLLIN, 0), -EBADF);
	check_eq("ctl-fd-negative", ctl(ep, EPOLL_CTL_ADD, -1, EPOLLIN, 0), -EBADF);
	check_eq("ctl-epfd-not-set", ctl(fds[1], EPOLL_CTL_ADD, fds[0], EPOLLIN, 0), -EINVAL);
	check_eq("ctl-self", ctl(ep, EPOLL_CTL_ADD, ep, EPOLLIN, 0), -EINVAL);
	int d = dup(ep);
	check_eq("ctl-self-dup", ctl(ep, EPOLL_CTL_ADD, d, EPOLLIN, 0), -EINVAL);
	close(d);
	check_eq("ctl-bad-op", ctl(ep, 99, fds[0], EPOLLIN, 0), -EINVAL);
	check_eq("ctl-event-null", epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], NULL), -EFAULT);
	check_eq("ctl-event-kernel",
		 epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], (struct epoll_event *)0xffffffff80200000UL),
		 -EFAULT);
	check_eq("ctl-event-past-utop",
		 epoll_ctl(ep, EPOLL_CTL_MOD, fds[0], (struct epoll_event *)(UTOP - 4)), -EFAULT);
	check_eq("ctl-mod-absent", ctl(ep, EPOLL_CTL_MOD, fds[0], EPOLLIN, 0), -ENOENT);
	check_eq("ctl-del-absent", epoll_ctl(ep, EPOLL_CTL_DEL, fds[0], NULL), -ENOENT);
	check_eq("ctl-add", ctl(ep, EPOLL_CTL_ADD, fds[0], EPOLLIN, 0), 0);
	check_eq("ctl-add-again", ctl(ep, EPOLL_CTL_ADD, fds[0], EPOLLOUT, 0), -EEXIST);
	check_eq("ctl-add-other-set", ctl(ep2, EPOLL_CTL_ADD, fds[0], EPOLLIN, 0), 0);
	check_eq("ctl-mod", ctl(ep, EPOLL_CTL_MOD, fds[0], EPOLLIN | EPOLLET, 0), 0);
	check_eq("ctl-del-null-event", epoll_ctl(ep, EPOLL_CTL_DEL, fds[0], NULL), 0);
	check_eq("ctl-del-gone", epoll_ctl(ep, EPOLL_CTL_DEL, fds[0], NULL), -ENOENT);

	/* what cannot be waited for: always ready, refused as Linux does */
	int null = open("/dev/null", O_RDWR, 0), zero = open("/dev/zero", O_RDONLY, 0);
	check_eq("ctl-dev-null", ctl(ep, EPOLL_CTL_ADD, null, EPOLLIN, 0), -EPERM);
	check_eq("ctl-dev-zero", ctl(ep, EPOLL_CTL_ADD, zero, EPOLLIN, 0), -EPERM);
	close(null);
	close(zero);
	int f = open("/epoll-probe", O_RDWR | O_CREAT, 0644);
	if (f >= 0) { /* only with a file system */
		check_eq("ctl-regular-file", ctl(ep, EPOLL_CTL_ADD, f, EPOLLIN, 0), -EPERM);
		close(f);
		unlink("/epoll-probe");
	}

	/* EPOLLEXCLUSIVE: ADD only, with in/out/err/hup/et, never on a set */
	check_eq("excl-oneshot",
		 ctl(ep, EPOLL_CTL_ADD, fds[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 0),
		 -EINVAL);
	check_eq("excl-on-set", ctl(ep, EPOLL_CTL_ADD, ep2, EPOLLIN | EPOLLEXCLUSIVE, 0), -EINVAL);
	check_eq("excl-add", ctl(ep, EPOLL_CTL_ADD, fds[0], EPOLLIN | EPOLLEXCLUSIVE, 0), 0);
	check_eq("excl-mod", ctl(ep, EPOLL_CTL_MOD, fds[0], EPOLLIN | EPOLLEXCLUSIVE, 0), -EINVAL);
	check_eq("excl-mod-entry", ctl(ep, EPOLL_CTL_MOD, fds[0], EPOLLIN, 0), -EINVAL);
	check_eq("excl-del", epoll_ctl(ep, EPOLL_CTL_DEL, fds[0], NULL), 0);

	/* loops and chains: a chain of EPOLL_NEST_MAX sets, no longer */
	int chain[EPOLL_NEST_MAX + 1];
	for (int i = 0; i <= EPOLL_NEST_MAX; i++)
		chain[i] = epoll_create1(0);
	bool linked = true;
	for (int i = 0; i + 1 < EPOLL_NEST_MAX; i++)
		linked &= ctl(chain[i], EPOLL_CTL_ADD, chain[i + 1], EPOLLIN, 0) == 0;
	check("nest-chain", linked);
	check_eq("nest-loop", ctl(chain[EPOLL_NEST_MAX - 1], EPOLL_CTL_ADD, chain[0], EPOLLIN, 0),
		 -ELOOP);
	check_eq("nest-loop-two", ctl(chain[1], EPOLL_CTL_ADD, chain[0], EPOLLIN, 0), -ELOOP);
	check_eq("nest-too-deep-below",
		 ctl(chain[EPOLL_NEST_MAX - 1], EPOLL_CTL_ADD, chain[EPOLL_NEST_MAX], EPOLLIN, 0),
		 -ELOOP);
	check_eq("nest-too-deep-above",
		 ctl(chain[EPOLL_NEST_MAX], EPOLL_CTL_ADD, chain[0], EPOLLIN, 0), -ELOOP);
	check_eq("nest-fits-beside",
		 ctl(chain[EPOLL_NEST_MAX - 2], EPOLL_CTL_ADD, chain[EPOLL_NEST_MAX], EPOLLIN, 0),
		 0);
	for (int i = 0; i <= EPOLL_NEST_MAX; i++)
		close(chain[i]);

	struct epoll_event evs[2];
	check_eq("wait-closed", epoll_wait(50, evs, 2, 0), -EBADF);
	check_eq("wait-not-set", epoll_wait(fds[0], evs, 2, 0), -EINVAL);
	check_eq("wait-max-zero", epoll_wait(ep, evs, 0, 0), -EINVAL);
	check_eq("wait-max-negative", epoll_wait(ep, evs, -1, 0), -EINVAL);
	check_eq("wait-max-huge", epoll_wait(ep, evs, 0x7fffffff / 12 + 1, 0), -EINVAL);
	check_eq("wait-null", epoll_wait(ep, NULL, 2, 0), -EFAULT);
	check_eq("wait-kernel", epoll_wait(ep, (struct epoll_event *)0xffffffff80200000UL, 2, 0),
		 -EFAULT);
	check_eq("wait-empty", epoll_wait(ep, evs, 2, 0), 0);
	uint64_t t0 = ms_now();
	check_eq("wait-finite", epoll_wait(ep, evs, 2, 60), 0);
	check("wait-finite-waited", ms_now() - t0 >= 60);
	close(fds[0]);
	close(fds[1]);
	close(ep);
	close(ep2);
}

static void pipes(void)
{
	int ep = epoll_create1(0), fds[2];
	check_eq("p-pipe", pipe(fds), 0);
	check_eq("p-add-read", ctl(ep, EPOLL_CTL_ADD, fds[0], EPOLLIN | EPOLLRDHUP, 41), 0);
	check_eq("p-add-write", ctl(ep, EPOLL_CTL_ADD, fds[1], EPOLLOUT, 42), 0);
	uint64_t data = 0;
	check_eq("p-room", wait1(ep, 0, &data), EPOLLOUT);
	check_eq("p-room-data", data, 42);
	check_eq("p-write-not-wanted", ctl(ep, EPOLL_CTL_MOD, fds[1], EPOLLIN, 42), 0);
	check_eq("p-empty", wait1(ep, 0, NULL), 0);
	check_eq("p-write", write(fds[1], "ab", 2), 2);
	check_eq("p-data", wait1(ep, 0, &data), EPOLLIN);
	check_eq("p-data-data", data, 41);
	check_eq("p-level-again", wait1(ep, 0, NULL), EPOLLIN);
	char b[8];
	check_eq("p-drain", read(fds[0], b, sizeof(b)), 2);
	check_eq("p-drained", wait1(ep, 0, NULL), 0);

	/* edge-triggered: once per change */
	check_eq("p-et", ctl(ep, EPOLL_CTL_MOD, fds[0], EPOLLIN | EPOLLET, 43), 0);
	check_eq("p-et-write", write(fds[1], "c", 1), 1);
	check_eq("p-et-once", wait1(ep, 0, &data), EPOLLIN);
	check_eq("p-et-data", data, 43);
	check_eq("p-et-not-twice", wait1(ep, 0, NULL), 0);
	check_eq("p-et-write-more", write(fds[1], "d", 1), 1);
	check_eq("p-et-again", wait1(ep, 0, NULL), EPOLLIN);
	check_eq("p-et-drain", read(fds[0], b, sizeof(b)), 2);

	/* one-shot: once, then nothing until MOD */
	check_eq("p-oneshot", ctl(ep, EPOLL_CTL_MOD, fds[0], EPOLLIN | EPOLLONESHOT, 44), 0);
	check_eq("p-os-write", write(fds[1], "e", 1), 1);
	check_eq("p-os-once", wait1(ep, 0, NULL), EPOLLIN);
	check_eq("p-os-disarmed", wait1(ep, 0, NULL), 0);
	check_eq("p-os-write-more", write(fds[1], "f", 1), 1);
	check_eq("p-os-still-disarmed", wait1(ep, 20, NULL), 0);
	check_eq("p-os-rearm", ctl(ep, EPOLL_CTL_MOD, fds[0], EPOLLIN, 45), 0);
	check_eq("p-os-rearmed", wait1(ep, 0, &data), EPOLLIN);
	check_eq("p-os-rearmed-data", data, 45);

	/* more ready than maxevents: the rest come next, none starved */
	int more[2][2];
	check_eq("p-more-pipes", pipe(more[0]) || pipe(more[1]), 0);
	for (int i = 0; i < 2; i++) {
		ctl(ep, EPOLL_CTL_ADD, more[i][0], EPOLLIN, 100 + (uint64_t)i);
		write(more[i][1], "g", 1);
	}
	struct epoll_event evs[4];
	unsigned seen = 0; /* bit per entry: 45, 100, 101 */
	check_eq("p-max-two", epoll_wait(ep, evs, 2, 0), 2);
	for (int i = 0; i < 2; i++)
		seen |= evs[i].data.u64 == 45 ? 1 : evs[i].data.u64 == 100 ? 2 : 4;
	check_eq("p-max-next", epoll_wait(ep, evs, 2, 0), 2);
	for (int i = 0; i < 2; i++)
		seen |= evs[i].data.u64 == 45 ? 1 : evs[i].data.u64 == 100 ? 2 : 4;
	check_eq("p-max-none-starved", seen, 7);
	check_eq("p-all-three", epoll_wait(ep, evs, 4, 0), 3);
	for (int i = 0; i < 2; i++) {
		close(more[i][0]);
		close(more[i][1]);
	}

	/* the writer gone: EPOLLHUP (EPOLLRDHUP is not a pipe's), with IN
	 * while bytes remain; unasked, HUP still comes */
	check_eq("p-close-writer", close(fds[1]), 0);
	check_eq("p-hup-data", wait1(ep, -1, NULL), EPOLLIN | EPOLLHUP);
	check_eq("p-hup-drain", read(fds[0], b, sizeof(b)), 2);
	check_eq("p-hup-only", ctl(ep, EPOLL_CTL_MOD, fds[0], 0, 46), 0);
	check_eq("p-hup-unasked", wait1(ep, -1, NULL), EPOLLHUP);
	close(fds[0]);
	check_eq("p-closed-gone", epoll_wait(ep, evs, 4, 0), 0);

	/* the reader gone: EPOLLERR for the writer */
	check_eq("p-pipe2", pipe(fds), 0);
	ctl(ep, EPOLL_CTL_ADD, fds[1], EPOLLOUT, 47);
	close(fds[0]);
	check_eq("p-err", wait1(ep, -1, NULL), EPOLLOUT | EPOLLERR);
	close(fds[1]);

	/* an entry is (file, descriptor): a dup keeps the file, and the
	 * entry, open; the last close takes it */
	check_eq("p-pipe3", pipe(fds), 0);
	ctl(ep, EPOLL_CTL_ADD, fds[0], EPOLLIN, 48);
	int d = dup(fds[0]);
	close(fds[0]);
	write(fds[1], "h", 1);
	check_eq("p-dup-keeps", wait1(ep, 0, &data), EPOLLIN);
	check_eq("p-dup-keeps-data", data, 48);
	check_eq("p-dup-own-entry", ctl(ep, EPOLL_CTL_ADD, d, EPOLLIN, 49), 0);
	check_eq("p-dup-both", epoll_wait(ep, evs, 4, 0), 2);
	close(d);
	check_eq("p-last-close-gone", epoll_wait(ep, evs, 4, 0), 0);
	int again[2];
	check_eq("p-pipe4", pipe(again), 0);
	check_eq("p-number-reused", ctl(ep, EPOLL_CTL_ADD, again[0], EPOLLIN, 50), 0);
	close(again[0]);
	close(again[1]);
	close(fds[1]);
	close(ep);
}

/* A forked writer wakes a waiter; a set copied by fork; a writer killed
 * without closing is a hang-up. */
static void forks(void)
{
	int ep = epoll_create1(0), fds[2];
	check_eq("f-pipe", pipe(fds), 0);
	ctl(ep, EPOLL_CTL_ADD, fds[0], EPOLLIN, 60);
	long me = thisenv_id;
	long pid = fork();
	if (pid == 0) {
		blocked(me);
		write(fds[1], "hi", 2);
		exit(0);
	}
	uint64_t data = 0;
	check_eq("f-woken", wait1(ep, 10000, &data), EPOLLIN);
	check_eq("f-woken-data", data, 60);
	check_eq("f-child", wait(pid), 0);
	char b[8];
	read(fds[0], b, sizeof(b));

	/* the child's copy of the set: it waits on it, and its DEL is its own */
	pid = fork();
	if (pid == 0) {
		uint64_t got = 0;
		bool ok = wait1(ep, 10000, &got) == EPOLLIN && got == 60;
		ok &= epoll_ctl(ep, EPOLL_CTL_DEL, fds[0], NULL) == 0;
		exit(ok ? 0 : 1);
	}
	check("f-copy-child-waits", blocked(pid));
	write(fds[1], "x", 1);
	check_eq("f-copy-child", wait(pid), 0);
	check_eq("f-copy-parent-keeps", wait1(ep, 0, NULL), EPOLLIN);
	read(fds[0], b, sizeof(b));

	/* the only other writer destroyed without closing: a hang-up */
	pid = fork();
	if (pid == 0) {
		blocked(me);
		sys_env_destroy(thisenv_id, CAP_SELF); /* no exit, no close */
		exit(1);
	}
	close(fds[1]);
	check_eq("f-killed-writer-hup", wait1(ep, 10000, NULL), EPOLLHUP);
	wait(pid);
	close(fds[0]);
	close(ep);
}

/* Many pipes in one set: a wait looks at the pipe that changed, not at
 * all of them (epoll_looks counts the kinds' fo_poll calls). */
static void many(void)
{
	enum { PIPES = 28 }; /* with stdio and the set, nearly FD_MAX */
	int ep = epoll_create1(0), p[PIPES][2];
	bool made = ep >= 0;
	for (int i = 0; i < PIPES; i++)
		made &= pipe(p[i]) == 0 &&
			ctl(ep, EPOLL_CTL_ADD, p[i][0], EPOLLIN, (uint64_t)i) == 0;
	check("m-made", made);
	struct epoll_event evs[4];
	uint64_t looks = epoll_looks();
	check_eq("m-idle", epoll_wait(ep, evs, 4, 0), 0);
	check("m-first-look-arms-all", epoll_looks() - looks >= PIPES);
	looks = epoll_looks();
	check_eq("m-idle-again", epoll_wait(ep, evs, 4, 0), 0);
	check_eq("m-idle-looks-at-none", epoll_looks() - looks, 0);
	check_eq("m-write", write(p[17][1], "z", 1), 1);
	looks = epoll_looks();
	uint64_t data = 0;
	check_eq("m-one", wait1(ep, 0, &data), EPOLLIN);
	check_eq("m-one-data", data, 17);
	check_eq("m-one-looked-at", epoll_looks() - looks, 2); /* arm, then report */
	char b[4];
	read(p[17][0], b, sizeof(b));
	/* a child writes one while we sleep, and stays (its exit closes its
	 * copies of every end, which every pipe's reader hears of) */
	volatile uint32_t *release = vm_alloc_shared(PAGE_SIZE);
	*release = 0;
	long me = thisenv_id;
	long pid = fork();
	if (pid == 0) {
		blocked(me);
		write(p[5][1], "y", 1);
		while (!*release)
			sys_page_sleep((uint64_t)(uintptr_t)release, 0, ukinfo->ki_tick_hz);
		exit(0);
	}
	looks = epoll_looks();
	check_eq("m-woken", wait1(ep, 10000, &data), EPOLLIN);
	check_eq("m-woken-data", data, 5);
	looks = epoll_looks() - looks;
	printf("posixepoll: a wake on one of %d pipes looked at %lu\n", PIPES, looks);
	/* the pipe read dry (level-triggered, on the list since reported),
	 * found empty; then the one that moved, armed and reported */
	check_eq("m-woken-looked-at-two-pipes", looks, 3);
	*release = 1;
	sys_page_wake((uint64_t)(uintptr_t)release);
	check_eq("m-child", wait(pid), 0);
	vm_unmap((uint64_t)(uintptr_t)release, PAGE_SIZE);
	for (int i = 0; i < PIPES; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
	close(ep);
}

/* Sets inside sets; poll on a set. */
static void nested(void)
{
	int outer = epoll_create1(0), inner = epoll_create1(0), fds[2];
	check_eq("n-pipe", pipe(fds), 0);
	check_eq("n-add-pipe", ctl(inner, EPOLL_CTL_ADD, fds[0], EPOLLIN, 70), 0);
	check_eq("n-add-inner", ctl(outer, EPOLL_CTL_ADD, inner, EPOLLIN, 71), 0);
	check_eq("n-idle", wait1(outer, 0, NULL), 0);
	struct pollfd p = { inner, POLLIN, 0 };
	check_eq("n-poll-idle", poll(&p, 1, 0), 0);
	long pid = fork();
	if (pid == 0) {
		sys_env_sleep(ukinfo->ki_tick_hz / 10);
		write(fds[1], "n", 1);
		exit(0);
	}
	uint64_t data = 0;
	check_eq("n-outer-woken", wait1(outer, 10000, &data), EPOLLIN);
	check_eq("n-outer-data", data, 71);
	check_eq("n-poll-ready", poll(&p, 1, 0), 1);
	check_eq("n-poll-revents", p.revents, POLLIN);
	check_eq("n-inner-event", wait1(inner, 0, &data), EPOLLIN);
	check_eq("n-inner-data", data, 70);
	/* edge-triggered on a set: once while it stays ready */
	check_eq("n-et", ctl(outer, EPOLL_CTL_MOD, inner, EPOLLIN | EPOLLET, 72), 0);
	check_eq("n-et-once", wait1(outer, 0, &data), EPOLLIN);
	check_eq("n-et-data", data, 72);
	check_eq("n-et-not-twice", wait1(outer, 0, NULL), 0);
	char b[4];
	check_eq("n-et-drain", read(fds[0], b, sizeof(b)), 1);
	check_eq("n-et-drained", wait1(outer, 0, NULL), 0);
	check_eq("n-et-write", write(fds[1], "m", 1), 1);
	check_eq("n-et-again", wait1(outer, 0, NULL), EPOLLIN);
	check_eq("n-child", wait(pid), 0);
	close(inner); /* the last descriptor: its entry in outer goes */
	check_eq("n-inner-gone", wait1(outer, 0, NULL), 0);
	close(outer);
	close(fds[0]);
	close(fds[1]);
}

/* Sockets that need no wire; a forked child's copies. */
static void sockets(void)
{
	int ep = epoll_create1(0);
	int s = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_DGRAM, 0);
	check_eq("s-add-fresh", ctl(ep, EPOLL_CTL_ADD, s, EPOLLIN | EPOLLOUT, 80), 0);
	check_eq("s-fresh", wait1(ep, 0, NULL), EPOLLOUT | EPOLLHUP);
	struct sockaddr_in a = addr(0, 7210);
	check_eq("s-listen", bind(s, &a, sizeof(a)) || listen(s, 4), 0);
	check_eq("s-mod", ctl(ep, EPOLL_CTL_MOD, s, EPOLLIN, 80), 0);
	check_eq("s-listener-idle", wait1(ep, 30, NULL), 0);
	check_eq("s-add-udp", ctl(ep, EPOLL_CTL_ADD, u, EPOLLIN | EPOLLOUT, 81), 0);
	uint64_t data = 0;
	check_eq("s-udp-writable", wait1(ep, 0, &data), EPOLLOUT);
	check_eq("s-udp-data", data, 81);
	long pid = fork();
	if (pid == 0) {
		/* the parent's sockets: errors here, as their calls are EBADF */
		struct epoll_event evs[4];
		int n = epoll_wait(ep, evs, 4, 0);
		bool ok = n == 2;
		for (int i = 0; i < n; i++)
			ok &= evs[i].events == (EPOLLERR | EPOLLHUP);
		exit(ok ? 0 : 1);
	}
	check_eq("s-fork-copy-errors", wait(pid), 0);
	close(u);
	close(s);
	close(ep);
}

/* An idle waiter is not run until the pipe is written. */
static void idle(void)
{
	int fds[2];
	check_eq("i-pipe", pipe(fds), 0);
	volatile uint32_t *shared = vm_alloc_shared(PAGE_SIZE);
	shared[0] = 0;
	long pid = fork();
	if (pid == 0) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in b = addr(0, 7211);
		bind(s, &b, sizeof(b));
		listen(s, 4);
		int ep = epoll_create1(0);
		ctl(ep, EPOLL_CTL_ADD, fds[0], EPOLLIN, 1);
		ctl(ep, EPOLL_CTL_ADD, s, EPOLLIN, 2);
		shared[0] = 1;
		uint64_t data = 0;
		long r = wait1(ep, -1, &data);
		exit(r == EPOLLIN && data == 1 ? 0 : 1);
	}
	idle_check(pid, shared, "i-child-waits", "posixepoll: idle waiter", fds[1]);
	close(fds[0]);
	close(fds[1]);
}

/* With a NIC: one set over the listener, its connections and a pipe. */
static void serve(void)
{
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = addr(0, 7005);
	check_eq("serve-listen", bind(l, &a, sizeof(a)) || listen(l, 8), 0);
	int data[2], cmd[2];
	check_eq("serve-pipes", pipe(data) || pipe(cmd), 0);
	long pid = fork();
	if (pid == 0) {
		/* the child: each byte on cmd has it write the data pipe */
		close(data[0]);
		close(cmd[1]);
		char b;
		while (read(cmd[0], &b, 1) == 1)
			write(data[1], "from-child", 10);
		exit(0);
	}
	close(data[1]);
	close(cmd[0]);
	enum { LISTENER = 1000, PIPE = 1001 };
	int ep = epoll_create1(0);
	check_eq("serve-add",
		 ctl(ep, EPOLL_CTL_ADD, l, EPOLLIN, LISTENER) ||
			 ctl(ep, EPOLL_CTL_ADD, data[0], EPOLLIN, PIPE),
		 0);
	printf("posixepoll: ready on port 7005\n");
	uint64_t looks0 = epoll_looks();
	int served = 0, fins = 0, pokes = 0, poker = -1;
	bool quit = false;
	uint64_t waits = 0, runs = 0;
	while (!quit) {
		struct epoll_event evs[8];
		uint64_t r0 = uenvs[ENVX(thisenv_id)].env_runs;
		int n = epoll_wait(ep, evs, 8, -1);
		runs += uenvs[ENVX(thisenv_id)].env_runs - r0, waits++;
		if (n <= 0) {
			check_eq("serve-wait", n, 1);
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			char b[64];
			ssize_t k;
			if (tag == LISTENER) {
				int c;
				while ((c = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					served++;
					ctl(ep, EPOLL_CTL_ADD, c, EPOLLIN | EPOLLRDHUP | EPOLLET,
					    (uint64_t)c);
				}
			} else if (tag == PIPE) {
				memcpy(b, "piped:", 6);
				k = read(data[0], b + 6, sizeof(b) - 6);
				if (k > 0 && poker >= 0)
					write_all(poker, b, (size_t)k + 6);
			} else {
				/* edge-triggered: read until there is no more */
				int c = (int)tag;
				while ((k = read(c, b, sizeof(b))) > 0) {
					if (k == 4 && memcmp(b, "poke", 4) == 0)
						write(cmd[1], "p", 1), pokes++, poker = c;
					else if (k == 4 && memcmp(b, "quit", 4) == 0)
						quit = true;
				}
				if (k == 0 && (evs[i].events & EPOLLRDHUP)) {
					write_all(c, "fin-seen", 8), fins++;
					close(c); /* its entry goes with it */
					poker = poker == c ? -1 : poker;
				}
			}
		}
	}
	printf("posixepoll: served %d connections, %d pokes, %d ends; %lu waits ran %lu times, "
	       "looked at %lu descriptors\n",
	       served, pokes, fins, waits, runs, epoll_looks() - looks0);
	/* frames and TCP timers wake it, a few times a wait; a waiter that
	 * spun through the host's idle second would run thousands of times */
	check("serve-not-spinning", runs <= 16 * waits + 64);
	check("serve-pokes", pokes >= 1);
	check("serve-fins", fins >= 1);
	close(cmd[1]);
	check_eq("serve-child", wait(pid), 0);
	close(data[0]);
	close(ep);
	close(l);
}

int main(void)
{
	errors();
	pipes();
	forks();
	many();
	nested();
	sockets();
	idle();
	if (net_open() == 0)
		serve();
	return test_finish();
}
