/*
 * poll and select (lib/posix/poll.c) over every descriptor kind. Without a
 * NIC (the default test boot): the errors (EFAULT, EINVAL, EBADF, POLLNVAL),
 * pipes (data, room, hang-ups both ways, a forked writer and reader, many
 * pipes at once), the console, /dev/null, sockets that need no wire, a
 * forked child's copy of a socket, finite and zero timeouts, and an idle
 * poller that the kernel does not run at all. With a NIC (tools/test-sock
 * forwards a host port to guest port 7004): one poll over a listening
 * socket, its connections and a pipe a child writes to, driven by the host:
 * "poke" has the child write the pipe, whose bytes go back to the host;
 * a connection the host ends is seen as POLLIN | POLLRDHUP.
 */
#include <lib/base/libos.h>
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/net/net.h>
#include <lib/posix/posix.h>

#include "pollwaiter.h"

/* poll one descriptor for events with timeout: its revents, or the error. */
static int poll1(int fd, short events, int timeout)
{
	struct pollfd p = { fd, events, 0x7777 };
	int r = poll(&p, 1, timeout);
	return r < 0 ? r : r == 0 ? (p.revents ? -1000 : 0) : p.revents;
}

static void errors(void)
{
	struct pollfd p[2] = { { 0, POLLIN, 0 }, { -1, POLLIN, 0 } };
	check_eq("poll-null", poll(NULL, 1, 0), -EFAULT);
	check_eq("poll-null-none", poll(NULL, 0, 0), 0);
	check_eq("poll-kernel", poll((struct pollfd *)0xffffffff80200000UL, 1, 0), -EFAULT);
	check_eq("poll-past-utop", poll((struct pollfd *)(UTOP - 4), 1, 0), -EFAULT);
	check_eq("poll-too-many", poll(p, POLL_NFDS_MAX + 1, 0), -EINVAL);
	check_eq("poll-nvals", poll1(50, POLLIN, 0), POLLNVAL);
	check_eq("poll-nval-past-table", poll1(FD_MAX + 5, POLLOUT, -1), POLLNVAL);
	check_eq("poll-nval-no-events", poll1(51, 0, 0), POLLNVAL);
	p[0].fd = 50;
	p[1].revents = 0x55;
	check_eq("poll-negative-ignored", poll(p, 2, 0), 1);
	check_eq("poll-negative-revents", p[1].revents, 0);

	fd_set r, w;
	FD_ZERO(&r);
	FD_ZERO(&w);
	struct timeval tv = { 0, 0 };
	check_eq("select-negative", select(-1, &r, NULL, NULL, &tv), -EINVAL);
	check_eq("select-too-many", select(FD_SETSIZE + 1, &r, NULL, NULL, &tv), -EINVAL);
	FD_SET(50, &r);
	check_eq("select-closed", select(51, &r, NULL, NULL, &tv), -EBADF);
	check_eq("select-closed-kept", FD_ISSET(50, &r), 1);
	FD_ZERO(&r);
	FD_SET(FD_MAX + 3, &w);
	check_eq("select-past-table", select(FD_MAX + 4, NULL, &w, NULL, &tv), -EBADF);
	check_eq("select-closed-beyond-nfds", select(FD_MAX, NULL, &w, NULL, &tv), 0);
	struct timeval bad = { 0, 1000000 };
	check_eq("select-usec-big", select(0, NULL, NULL, NULL, &bad), -EINVAL);
	bad = (struct timeval){ -1, 0 };
	check_eq("select-sec-negative", select(0, NULL, NULL, NULL, &bad), -EINVAL);
	bad = (struct timeval){ 0, -1 };
	check_eq("select-usec-negative", select(0, NULL, NULL, NULL, &bad), -EINVAL);
	check_eq("select-set-kernel", select(1, (fd_set *)0xffffffff80200000UL, NULL, NULL, &tv),
		 -EFAULT);
	check_eq("select-tv-null-page", select(0, NULL, NULL, NULL, (struct timeval *)8), -EFAULT);
	check_eq("select-nothing", select(0, NULL, NULL, NULL, &tv), 0);
}

static void timeouts(void)
{
	int fds[2];
	check_eq("t-pipe", pipe(fds), 0);
	check_eq("t-zero", poll1(fds[0], POLLIN, 0), 0);
	uint64_t t0 = ms_now();
	check_eq("t-finite", poll1(fds[0], POLLIN, 60), 0);
	check("t-finite-waited", ms_now() - t0 >= 60);
	fd_set r;
	FD_ZERO(&r);
	FD_SET(fds[0], &r);
	struct timeval tv = { 0, 40000 };
	t0 = ms_now();
	check_eq("t-select-finite", select(fds[0] + 1, &r, NULL, NULL, &tv), 0);
	check("t-select-waited", ms_now() - t0 >= 40);
	check_eq("t-select-cleared", FD_ISSET(fds[0], &r), 0);
	check_eq("t-select-time-left", tv.tv_sec * 1000000 + tv.tv_usec, 0);
	close(fds[0]);
	close(fds[1]);
}

static void pipes(void)
{
	int fds[2];
	check_eq("pipe", pipe(fds), 0);
	check_eq("p-empty", poll1(fds[0], POLLIN | POLLOUT, 0), 0);
	check_eq("p-room", poll1(fds[1], POLLIN | POLLOUT, 0), POLLOUT);
	check_eq("p-write", write(fds[1], "ab", 2), 2);
	check_eq("p-data", poll1(fds[0], POLLIN, 0), POLLIN);
	check_eq("p-data-rdnorm-only", poll1(fds[0], POLLRDNORM, 0), POLLRDNORM);
	/* the same pipe twice, and through a dup */
	int d = dup(fds[0]);
	struct pollfd two[3] = { { fds[0], POLLIN, 0 }, { d, POLLIN, 0 }, { fds[1], POLLOUT, 0 } };
	check_eq("p-dup-both", poll(two, 3, -1), 3);
	close(d);
	/* every writer gone: POLLHUP, with POLLIN while bytes remain */
	check_eq("p-close-writer", close(fds[1]), 0);
	check_eq("p-hup-data", poll1(fds[0], POLLIN, -1), POLLIN | POLLHUP);
	char b[4];
	check_eq("p-drain", read(fds[0], b, sizeof(b)), 2);
	check_eq("p-hup", poll1(fds[0], POLLIN, -1), POLLHUP);
	check_eq("p-hup-unasked", poll1(fds[0], 0, 0), POLLHUP);
	close(fds[0]);
	/* every reader gone: POLLERR for the writer */
	check_eq("pipe2", pipe(fds), 0);
	close(fds[0]);
	check_eq("p-err", poll1(fds[1], POLLOUT, -1), POLLOUT | POLLERR);
	fd_set w;
	FD_ZERO(&w);
	FD_SET(fds[1], &w);
	check_eq("p-err-select-writable", select(fds[1] + 1, NULL, &w, NULL, NULL), 1);
	close(fds[1]);
	/* a full pipe has no room until its reader reads */
	check_eq("pipe3", pipe(fds), 0);
	static char big[8192];
	check_eq("p-nonblock", fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
	ssize_t put = 0, n;
	while ((n = write(fds[1], big, sizeof(big))) > 0)
		put += n;
	check("p-filled", put > 0 && n == -EAGAIN);
	check_eq("p-full", poll1(fds[1], POLLOUT, 0), 0);
	long pid = fork();
	if (pid == 0) {
		int r = poll1(fds[1], POLLOUT, 10000);
		exit(r == (POLLOUT) ? 0 : 1);
	}
	check("p-full-child-waits", blocked(pid));
	check_eq("p-read-makes-room", read(fds[0], big, 100), 100);
	check_eq("p-full-child-woken", wait(pid), 0);
	close(fds[0]);
	close(fds[1]);
}

/* A forked writer wakes a parent in poll(-1); its exit is a hang-up. */
static void fork_pipe(void)
{
	int fds[2];
	check_eq("f-pipe", pipe(fds), 0);
	long pid = fork();
	if (pid == 0) {
		close(fds[0]);
		sys_env_sleep(ukinfo->ki_tick_hz / 10);
		write(fds[1], "hi", 2);
		exit(0);
	}
	close(fds[1]);
	check_eq("f-woken", poll1(fds[0], POLLIN, -1) & POLLIN, POLLIN);
	char b[4];
	check_eq("f-read", read(fds[0], b, sizeof(b)), 2);
	check_eq("f-hup", poll1(fds[0], POLLIN, -1), POLLHUP);
	check_eq("f-child", wait(pid), 0);
	close(fds[0]);
}

/* An idle poller is not run: its env's run count does not move while it
 * waits on a pipe and a listening socket, until the pipe is written. */
static void idle(void)
{
	int fds[2];
	check_eq("i-pipe", pipe(fds), 0);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = addr(0, 7200);
	check_eq("i-listen", bind(l, &a, sizeof(a)) || listen(l, 4), 0);
	volatile uint32_t *shared = vm_alloc_shared(PAGE_SIZE);
	shared[0] = 0;
	long pid = fork();
	if (pid == 0) {
		/* the socket is the parent's (EBADF here): make our own */
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in b = addr(0, 7201);
		bind(s, &b, sizeof(b));
		listen(s, 4);
		struct pollfd p[2] = { { fds[0], POLLIN, 0 }, { s, POLLIN, 0 } };
		shared[0] = 1;
		int r = poll(p, 2, -1);
		exit(r == 1 && p[0].revents == (POLLIN) && p[1].revents == 0 ? 0 : 1);
	}
	idle_check(pid, shared, "i-child-polls", "posixpoll: idle poller", fds[1]);
	close(fds[0]);
	close(fds[1]);
	close(l);
}

/* Many pipes in one poll: the one written is the one reported. */
static void many(void)
{
	enum { N = 24 };
	int r[N], w[N];
	for (int i = 0; i < N; i++) {
		int fds[2];
		if (pipe(fds) < 0) {
			check("m-pipes", false);
			return;
		}
		r[i] = fds[0], w[i] = fds[1];
	}
	struct pollfd p[N];
	for (int i = 0; i < N; i++)
		p[i] = (struct pollfd){ r[i], POLLIN, 0 };
	check_eq("m-none", poll(p, N, 0), 0);
	write(w[17], "x", 1);
	check_eq("m-one", poll(p, N, 0), 1);
	check_eq("m-which", p[17].revents, POLLIN);
	check_eq("m-others", p[16].revents | p[18].revents | p[0].revents, 0);
	char b;
	read(r[17], &b, 1);
	/* a child writes the last pipe while we sleep on all of them */
	long pid = fork();
	if (pid == 0) {
		sys_env_sleep(ukinfo->ki_tick_hz / 10);
		write(w[N - 1], "y", 1);
		exit(0);
	}
	check_eq("m-woken", poll(p, N, -1), 1);
	check_eq("m-woken-which", p[N - 1].revents, POLLIN);
	check_eq("m-child", wait(pid), 0);
	fd_set rs;
	FD_ZERO(&rs);
	int top = 0;
	for (int i = 0; i < N; i++) {
		FD_SET(r[i], &rs);
		top = MAX(top, r[i]);
	}
	check_eq("m-select", select(top + 1, &rs, NULL, NULL, NULL), 1);
	check_eq("m-select-which", FD_ISSET(r[N - 1], &rs), 1);
	check_eq("m-select-not-others", FD_ISSET(r[0], &rs), 0);
	for (int i = 0; i < N; i++) {
		close(r[i]);
		close(w[i]);
	}
}

static void others(void)
{
	int n = open("/dev/null", O_RDWR, 0);
	check("null-open", n >= 0);
	check_eq("null-ready", poll1(n, POLLIN | POLLOUT, -1), POLLIN | POLLOUT);
	close(n);
	/* the console: writable; readable only with input, which a test has
	 * none of; a process not holding it gets an error, as its read would */
	int cons = open("/dev/console", O_RDWR, 0);
	check("console-open", cons >= 0);
	check_eq("console-writable", poll1(cons, POLLOUT, 0), POLLOUT);
	int in = poll1(cons, POLLIN, 0);
	close(cons);
	if (ukinfo->ki_console == thisenv_id)
		check_eq("console-no-input", in, 0);
	else
		check_eq("console-not-ours", in, POLLERR);

	/* sockets that need no wire */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	check_eq("s-fresh", poll1(s, POLLIN | POLLOUT, 0), POLLOUT | POLLHUP);
	struct sockaddr_in a = addr(0, 7202);
	check_eq("s-listen", bind(s, &a, sizeof(a)) || listen(s, 4), 0);
	check_eq("s-listener-idle", poll1(s, POLLIN | POLLOUT, 30), 0);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	check_eq("s-udp-writable", poll1(u, POLLIN | POLLOUT, 0), POLLOUT);
	long pid = fork();
	if (pid == 0) {
		fd_set r;
		FD_ZERO(&r);
		FD_SET(s, &r);
		struct timeval tv = { 0, 0 };
		bool ok = poll1(s, POLLIN, 0) == POLLNVAL &&
			  select(s + 1, &r, NULL, NULL, &tv) == -EBADF;
		exit(ok ? 0 : 1);
	}
	check_eq("s-fork-copy-nval", wait(pid), 0);
	close(u);
	close(s);
}

/* With a NIC: one poll over the listener, its connections and a pipe. */
static void serve(void)
{
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = addr(0, 7004);
	check_eq("serve-listen", bind(l, &a, sizeof(a)) || listen(l, 8), 0);
	int data[2], ctl[2];
	check_eq("serve-pipes", pipe(data) || pipe(ctl), 0);
	long pid = fork();
	if (pid == 0) {
		/* the child: each byte on ctl has it write the data pipe */
		close(data[0]);
		close(ctl[1]);
		for (;;) {
			char b;
			if (poll1(ctl[0], POLLIN, -1) < 0 || read(ctl[0], &b, 1) != 1)
				exit(0);
			write(data[1], "from-child", 10);
		}
	}
	close(data[1]);
	close(ctl[0]);
	printf("posixpoll: ready on port 7004\n");
	enum { CONNS = 8 };
	int conn[CONNS], nconn = 0, served = 0, fins = 0, pokes = 0;
	bool quit = false;
	uint64_t waits = 0, runs = 0;
	while (!quit) {
		struct pollfd p[2 + CONNS] = { { l, POLLIN, 0 }, { data[0], POLLIN, 0 } };
		for (int i = 0; i < nconn; i++)
			p[2 + i] = (struct pollfd){ conn[i], POLLIN | POLLRDHUP, 0 };
		uint64_t r0 = uenvs[ENVX(thisenv_id)].env_runs;
		int n = poll(p, (nfds_t)(2 + nconn), -1);
		runs += uenvs[ENVX(thisenv_id)].env_runs - r0, waits++;
		if (n <= 0) {
			check_eq("serve-poll", n, 1);
			break;
		}
		if ((p[0].revents & POLLIN) && nconn < CONNS) {
			int c = accept4(l, NULL, NULL, SOCK_NONBLOCK);
			if (c >= 0)
				conn[nconn++] = c, served++;
		}
		if (p[1].revents & POLLIN) {
			char b[64] = "piped:";
			ssize_t k = read(data[0], b + 6, sizeof(b) - 6);
			/* the poke came from the newest connection */
			if (k > 0 && nconn)
				write_all(conn[nconn - 1], b, (size_t)k + 6);
		}
		for (int i = nconn - 1; i >= 0; i--) {
			short ev = p[2 + i].revents;
			if (!ev)
				continue;
			char b[64];
			ssize_t k = read(conn[i], b, sizeof(b));
			if (k == 4 && memcmp(b, "poke", 4) == 0) {
				write(ctl[1], "p", 1), pokes++;
			} else if (k == 4 && memcmp(b, "quit", 4) == 0) {
				quit = true;
			} else if (k == 0 && (ev & POLLRDHUP)) {
				write_all(conn[i], "fin-seen", 8), fins++;
				close(conn[i]);
				conn[i] = conn[--nconn];
			}
		}
	}
	printf("posixpoll: served %d connections, %d pokes, %d ends; %lu polls ran %lu times\n",
	       served, pokes, fins, waits, runs);
	/* frames and TCP timers wake it, a few times a poll; a poller that
	 * spun through the host's idle second would run thousands of times */
	check("serve-not-spinning", runs <= 16 * waits + 64);
	check("serve-pokes", pokes >= 1);
	check("serve-fins", fins >= 1);
	for (int i = 0; i < nconn; i++)
		close(conn[i]);
	close(ctl[1]);
	check_eq("serve-child", wait(pid), 0);
	close(data[0]);
	close(l);
}

int main(void)
{
	errors();
	timeouts();
	pipes();
	fork_pipe();
	many();
	others();
	idle();
	if (net_open() == 0)
		serve();
	return test_finish();
}
