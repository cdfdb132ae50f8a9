/*
 * Host tests for the socket layer's event sets (lib/net/sockev.c) over the
 * real TCP core, with test/sock_fake.h's fakes: readiness (accept, in,
 * out, peer hang-up, hang-up, error), level, edge and one-shot triggering
 * and timeouts, and 300 connections served by one event loop, reported for
 * what changed rather than once per wait; after each, no connection or
 * byte of the stack's memory is left.
 */
#include "sock_fake.h"

TEST(sockev, readiness)
{
	int l = server(90);
	int ep = sock_epoll_create();
	CHECK(ep >= 0);
	struct sock_event ev = { SOCK_EV_IN, 1000 }, out[8];
	CHECK_EQ(sock_epoll_ctl(ep, SOCK_CTL_ADD, l, &ev), 0);
	CHECK_EQ(sock_epoll_ctl(ep, SOCK_CTL_ADD, l, &ev), -E_BUSY);
	CHECK_EQ(sock_epoll_ctl(ep, 9, l, &ev), -E_INVAL);
	CHECK_EQ(sock_epoll_ctl(ep + 1, SOCK_CTL_ADD, l, &ev), -EBADF);
	CHECK_EQ(sock_epoll_ctl(ep, SOCK_CTL_ADD, 1999, &ev), -EBADF);
	CHECK_EQ(sock_epoll_wait(ep + 1, out, 8, 0), -EBADF);
	CHECK_EQ(sock_epoll_wait(ep, out, 0, 0), -E_INVAL);
	/* a timeout: nothing comes, the clock moves by it */
	uint64_t t0 = net_now_ms();
	CHECK_EQ(sock_epoll_wait(ep, out, 8, 250), 0);
	CHECK(net_now_ms() >= t0 + 250);
	/* a connection to accept */
	int c = sock_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = addr(LOCAL, 90);
	CHECK_EQ(sock_connect(c, &a), -EINPROGRESS);
	struct sock_event cev = { SOCK_EV_OUT | SOCK_EV_IN | SOCK_EV_RDHUP, 2000 };
	CHECK_EQ(sock_epoll_ctl(ep, SOCK_CTL_ADD, c, &cev), 0);
	int n = sock_epoll_wait(ep, out, 8, 1000);
	CHECK(n >= 1);
	bool saw_l = false, saw_c = false;
	for (int i = 0; i < 8 && !(saw_l && saw_c); i++) {
		for (int k = 0; k < n; k++) {
			saw_l |= out[k].data == 1000 && out[k].events == SOCK_EV_IN;
			if (out[k].data == 2000 && out[k].events == SOCK_EV_OUT) {
				/* writable stays so: ask for input only now */
				saw_c = true;
				cev.events = SOCK_EV_IN | SOCK_EV_RDHUP;
				CHECK_EQ(sock_epoll_ctl(ep, SOCK_CTL_MOD, c, &cev), 0);
			}
		}
		n = sock_epoll_wait(ep, out, 8, 100);
	}
	CHECK(saw_l && saw_c);
	int s = sock_accept(l, NULL, SOCK_NONBLOCK);
	CHECK(s >= 0);
	struct sock_event sev = { SOCK_EV_IN | SOCK_EV_RDHUP, 3000 };
	CHECK_EQ(sock_epoll_ctl(ep, SOCK_CTL_ADD, s, &sev), 0);
	/* data: the server's side readable, the client's writable (level) */
	CHECK_EQ(sock_send(c, "abc", 3, 0), 3);
	bool in = false;
	for (int i = 0; i < 5 && !in; i++) {
		n = sock_epoll_wait(ep, out, 8, 100);
		for (int k = 0; k < n; k++)
			in |= out[k].data == 3000 && out[k].events == SOCK_EV_IN;
	}
	CHECK(in);
	char b[8];
	CHECK_EQ(sock_recv(s, b, 8, 0), 3);
	/* the peer finishes sending: RDHUP, then both ways: HUP */
	CHECK_EQ(sock_shutdown(c, SHUT_WR), 0);
	unsigned seen = 0;
	for (int i = 0; i < 5 && !(seen & SOCK_EV_RDHUP); i++) {
		n = sock_epoll_wait(ep, out, 8, 100);
		for (int k = 0; k < n; k++)
			if (out[k].data == 3000)
				seen |= out[k].events;
	}
	CHECK(seen & SOCK_EV_RDHUP);
	CHECK(!(seen & SOCK_EV_HUP));
	CHECK_EQ(sock_shutdown(s, SHUT_WR), 0);
	settle(50);
	CHECK(sock_poll(s) & SOCK_EV_HUP);
	CHECK(sock_poll(c) & SOCK_EV_HUP);
	/* DEL: no more reports */
	CHECK_EQ(sock_epoll_ctl(ep, SOCK_CTL_DEL, s, NULL), 0);
	CHECK_EQ(sock_epoll_ctl(ep, SOCK_CTL_DEL, s, NULL), -E_NOT_FOUND);
	CHECK_EQ(sock_epoll_ctl(ep, SOCK_CTL_DEL, c, NULL), 0);
	CHECK_EQ(sock_epoll_wait(ep, out, 8, 10), 0);
	sock_close(s);
	sock_close(c);
	sock_close(l);
	CHECK_EQ(sock_epoll_close(ep), 0);
	CHECK_EQ(sock_epoll_close(ep), -EBADF);
	check_clean();
}

TEST(sockev, edge_and_oneshot)
{
	int l = server(91), c;
	int s = pair(l, 91, &c);
	int ep = sock_epoll_create();
	struct sock_event ev = { SOCK_EV_IN | SOCK_EV_ET, 1 }, out[4];
	CHECK_EQ(sock_epoll_ctl(ep, SOCK_CTL_ADD, s, &ev), 0);
	CHECK_EQ(sock_send(c, "12345", 5, 0), 5);
	CHECK_EQ(sock_epoll_wait(ep, out, 4, 100), 1);
	CHECK_EQ(out[0].events, SOCK_EV_IN);
	CHECK_EQ(sock_epoll_wait(ep, out, 4, 100), 0); /* edge: once */
	CHECK_EQ(sock_send(c, "6", 1, 0), 1);
	CHECK_EQ(sock_epoll_wait(ep, out, 4, 100), 1); /* a new edge */
	ev.events = SOCK_EV_IN | SOCK_EV_ONESHOT;
	CHECK_EQ(sock_epoll_ctl(ep, SOCK_CTL_MOD, s, &ev), 0);
	CHECK_EQ(sock_epoll_wait(ep, out, 4, 100), 1);
	CHECK_EQ(sock_send(c, "7", 1, 0), 1);
	CHECK_EQ(sock_epoll_wait(ep, out, 4, 100), 0); /* disarmed */
	CHECK_EQ(sock_epoll_ctl(ep, SOCK_CTL_MOD, s, &ev), 0);
	CHECK_EQ(sock_epoll_wait(ep, out, 4, 100), 1); /* rearmed, still readable */
	/* level-triggered stays ready until read */
	ev.events = SOCK_EV_IN;
	CHECK_EQ(sock_epoll_ctl(ep, SOCK_CTL_MOD, s, &ev), 0);
	CHECK_EQ(sock_epoll_wait(ep, out, 4, 0), 1);
	CHECK_EQ(sock_epoll_wait(ep, out, 4, 0), 1);
	char b[16];
	CHECK_EQ(sock_recv(s, b, sizeof(b), 0), 7);
	CHECK_EQ(sock_epoll_wait(ep, out, 4, 0), 0);
	/* a socket closed while in the set leaves it */
	sock_close(s);
	CHECK_EQ(sock_epoll_wait(ep, out, 4, 10), 0);
	sock_close(c);
	sock_close(l);
	sock_epoll_close(ep);
	check_clean();
}

/* One event loop serving 300 clients, each sending a message and reading
 * the echo; the waits look only at sockets that changed. */
TEST(sockev, many_connections)
{
	enum { N = 300, MSG = 3000 };
	int l = server_backlog(92, 2 * N); /* all at once: none waits for a cookie */
	CHECK_EQ(sock_set_nonblock(l, true), 0);
	int ep = sock_epoll_create();
	struct sock_event ev = { SOCK_EV_IN, (uint64_t)-1 }, out[64];
	CHECK_EQ(sock_epoll_ctl(ep, SOCK_CTL_ADD, l, &ev), 0);
	static int cl[N];
	static size_t echoed[N];
	static uint8_t msg[MSG], buf[MSG];
	for (int i = 0; i < MSG; i++)
		msg[i] = (uint8_t)(i * 13);
	struct sockaddr_in a = addr(LOCAL, 92);
	for (int i = 0; i < N; i++) {
		cl[i] = sock_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		CHECK_EQ(sock_connect(cl[i], &a), -EINPROGRESS);
		struct sock_event e = { SOCK_EV_OUT | SOCK_EV_ONESHOT, (uint64_t)i };
		CHECK_EQ(sock_epoll_ctl(ep, SOCK_CTL_ADD, cl[i], &e), 0);
	}
	int served = 0, done = 0, accepted = 0;
	unsigned long looked = 0, waits = 0;
	while (done < N && waits < 100000) {
		int n = sock_epoll_wait(ep, out, 64, 1000);
		waits++;
		looked += (unsigned long)(n < 0 ? 0 : n);
		for (int k = 0; k < n; k++) {
			uint64_t d = out[k].data;
			if (d == (uint64_t)-1) {
				int s;
				while ((s = sock_accept(l, NULL, SOCK_NONBLOCK)) >= 0) {
					struct sock_event e = { SOCK_EV_IN,
								(uint64_t)(100000 + s) };
					CHECK_EQ(sock_epoll_ctl(ep, SOCK_CTL_ADD, s, &e), 0);
					accepted++;
				}
			} else if (d >= 100000) { /* a server side: echo */
				int s = (int)(d - 100000);
				long r;
				while ((r = sock_recv(s, buf, sizeof(buf), 0)) > 0)
					CHECK_EQ(sock_send(s, buf, (size_t)r, 0), r);
				if (r == 0) {
					sock_close(s);
					served++;
				}
			} else if (out[k].events & SOCK_EV_OUT) { /* a client connected */
				int i = (int)d;
				CHECK_EQ(sock_send(cl[i], msg, MSG, 0), MSG);
				CHECK_EQ(sock_shutdown(cl[i], SHUT_WR), 0);
				struct sock_event e = { SOCK_EV_IN, (uint64_t)i };
				CHECK_EQ(sock_epoll_ctl(ep, SOCK_CTL_MOD, cl[i], &e), 0);
			} else { /* a client's echo */
				int i = (int)d;
				long r;
				while ((r = sock_recv(cl[i], buf, sizeof(buf), 0)) > 0) {
					CHECK(memcmp(buf, msg + echoed[i], (size_t)r) == 0);
					echoed[i] += (size_t)r;
				}
				if (r == 0) {
					CHECK_EQ(echoed[i], MSG);
					sock_close(cl[i]);
					done++;
				}
			}
		}
	}
	if (getenv("SOCK_TRACE")) {
		const struct tcp_stats *x = tcp_stack_stats(the_stack);
		fprintf(stderr,
			"no_conn %lu cookies ok %lu bad %lu out %lu syn dropped %lu rst %lu\n",
			(unsigned long)x->in_no_conn, (unsigned long)x->in_cookies_ok,
			(unsigned long)x->in_cookies_bad, (unsigned long)x->out_cookies,
			(unsigned long)x->in_syn_dropped, (unsigned long)x->out_rst);
		int n = sock_epoll_wait(ep, out, 64, 0);
		for (int k = 0; k < n && k < 5; k++) {
			uint64_t d = out[k].data;
			int sd = d == (uint64_t)-1 ? l : d >= 100000 ? (int)(d - 100000) : cl[d];
			struct tcp_conn *tc = sock_tcp(sd);
			fprintf(stderr, "ready %llu err %d ev %x state %s tcpev %x\n",
				(unsigned long long)d, tcp_error(tc), out[k].events,
				tcp_state_name(tcp_state(tc)), tcp_events(tc));
		}
	}
	CHECK_EQ(done, N);
	CHECK_EQ(served, N);
	/* each socket is reported for what changed (accept, connected, data,
	 * EOF), not once per wait: the ready list holds only those */
	CHECK_MSG(looked <= 4 * N, "%lu events reported for %d connections", looked, N);
	CHECK_EQ(accepted, N);
	sock_close(l);
	sock_epoll_close(ep);
	printf("sockev: %d connections, %lu waits, %lu events, %d runs, %lu wake-ups\n", N, waits,
	       looked, runs, wakes);
	check_clean();
}
