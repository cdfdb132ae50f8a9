/*
 * Host tests for the socket layer (lib/net/sock.c, lib/net/sockopt.c) over
 * the real TCP core, with test/sock_fake.h's fakes of its Exo ties: every
 * call's errors (bad sockets, addresses, states), a blocking and a
 * non-blocking connection's life, refused and unreachable connects, EOF,
 * EPIPE, resets from SO_LINGER 0 and lingering closes, the options, UDP
 * under the same calls, and what poll's sleep watches
 * (sock_poll_prepare); after each, no connection or byte of the stack's
 * memory is left. The event sets are test/test_sockev.c's.
 */
#include "sock_fake.h"

/* --- tests --- */
TEST(sock, stream_life)
{
	int l = server(80), c;
	CHECK(l >= 0);
	int s = pair(l, 80, &c);
	CHECK(s >= 0);
	struct sockaddr_in a, b;
	CHECK_EQ(sock_getsockname(c, &a), 0);
	CHECK_EQ(sock_getpeername(s, &b), 0);
	CHECK_EQ(a.sin_port, b.sin_port);
	CHECK_EQ(a.sin_addr, __builtin_bswap32(LOCAL));
	CHECK_EQ(sock_getpeername(c, &b), 0);
	CHECK_EQ(b.sin_port, __builtin_bswap16(80));
	CHECK_EQ(sock_getsockname(l, &a), 0);
	CHECK_EQ(a.sin_port, __builtin_bswap16(80));
	CHECK_EQ(sock_getpeername(l, &a), -ENOTCONN);
	CHECK(client_claims > 0); /* an unbound client takes the client block */

	static uint8_t out[100000], in[100000];
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + i / 251);
	CHECK_EQ(sock_send(c, out, sizeof(out), 0), (long)sizeof(out)); /* blocks for room */
	CHECK_EQ(sock_shutdown(c, SHUT_WR), 0);
	CHECK_EQ(sock_send(c, out, 1, 0), -EPIPE);
	size_t got = 0;
	long r;
	while ((r = sock_recv(s, in + got, sizeof(in) - got, 0)) > 0)
		got += (size_t)r;
	CHECK_EQ(r, 0);
	CHECK_EQ(got, sizeof(out));
	CHECK(memcmp(in, out, sizeof(out)) == 0);
	CHECK_EQ(sock_recv(s, in, 10, 0), 0); /* EOF stays */
	CHECK_EQ(sock_send(s, "bye", 3, 0), 3);
	CHECK_EQ(sock_close(s), 0);
	char b3[8];
	CHECK_EQ(sock_recv(c, b3, sizeof(b3), 0), 3);
	CHECK_EQ(sock_recv(c, b3, sizeof(b3), 0), 0);
	CHECK_EQ(sock_close(c), 0);
	CHECK_EQ(sock_close(l), 0);
	CHECK_EQ(sock_close(l), -EBADF);
	CHECK_EQ(claims, unclaims); /* the port was given back with its last socket */
	check_clean();
}

TEST(sock, argument_errors)
{
	CHECK_EQ(sock_socket(10, SOCK_STREAM, 0), -E_INVAL); /* AF_INET6 */
	CHECK_EQ(sock_socket(AF_INET, 5, 0), -EOPNOTSUPP);
	CHECK_EQ(sock_socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), -EOPNOTSUPP);
	char b[4];
	for (int bad = -1; bad <= SOCK_MAX; bad += SOCK_MAX + 1) {
		CHECK_EQ(sock_close(bad), -EBADF);
		CHECK_EQ(sock_send(bad, b, 1, 0), -EBADF);
		CHECK_EQ(sock_recv(bad, b, 1, 0), -EBADF);
		CHECK_EQ(sock_listen(bad, 1), -EBADF);
		CHECK_EQ(sock_accept(bad, NULL, 0), -EBADF);
		CHECK_EQ(sock_poll(bad), -EBADF);
	}
	CHECK_EQ(sock_close(7), -EBADF); /* in range, never opened */
	int s = sock_socket(AF_INET, SOCK_STREAM, 0);
	CHECK(s >= 0);
	struct sockaddr_in a = addr(LOCAL, 0);
	a.sin_family = 10;
	CHECK_EQ(sock_bind(s, &a), -E_INVAL);
	CHECK_EQ(sock_bind(s, NULL), -E_INVAL);
	CHECK_EQ(sock_connect(s, &a), -E_INVAL);
	a = addr(0x0a000002u, 80);
	CHECK_EQ(sock_bind(s, &a), -EADDRNOTAVAIL); /* not our address */
	a = addr(LOCAL, 0);
	CHECK_EQ(sock_connect(s, &a), -E_INVAL); /* port 0 */
	CHECK_EQ(sock_recv(s, b, 1, 0), -ENOTCONN);
	CHECK_EQ(sock_send(s, b, 1, 0), -ENOTCONN);
	CHECK_EQ(sock_shutdown(s, SHUT_WR), -ENOTCONN);
	CHECK_EQ(sock_shutdown(s, 7), -E_INVAL);
	CHECK_EQ(sock_accept(s, NULL, 0), -E_INVAL); /* not listening */
	CHECK_EQ(sock_getpeername(s, &a), -ENOTCONN);
	CHECK_EQ(sock_recv(s, b, 1, MSG_PEEK), -EOPNOTSUPP);
	a = addr(0, TAKEN_PORT);
	CHECK_EQ(sock_bind(s, &a), -EADDRINUSE); /* another env's port */
	a = addr(0, 90);
	CHECK_EQ(sock_bind(s, &a), 0);
	CHECK_EQ(sock_bind(s, &a), -E_INVAL); /* bound already */
	int t = sock_socket(AF_INET, SOCK_STREAM, 0);
	CHECK_EQ(sock_bind(t, &a), -EADDRINUSE);
	CHECK_EQ(sock_listen(s, 5), 0);
	CHECK_EQ(sock_accept(s, NULL, 0x1234), -E_INVAL);
	CHECK_EQ(sock_connect(s, &a), -EISCONN); /* a listener */
	CHECK_EQ(sock_close(t), 0);
	CHECK_EQ(sock_close(s), 0);
	/* the table fills, then empties */
	int n = 0, last = -1;
	while ((last = sock_socket(AF_INET, SOCK_STREAM, 0)) >= 0)
		n++;
	CHECK_EQ(last, -E_FULL);
	CHECK_EQ(n, SOCK_MAX);
	for (int i = 0; i < SOCK_MAX; i++)
		CHECK_EQ(sock_close(i), 0);
	check_clean();
}

TEST(sock, reuseaddr)
{
	int a = sock_socket(AF_INET, SOCK_STREAM, 0), b = sock_socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	CHECK_EQ(sock_setsockopt(a, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	CHECK_EQ(sock_setsockopt(b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	struct sockaddr_in x = addr(0, 100);
	CHECK_EQ(sock_bind(a, &x), 0);
	CHECK_EQ(sock_bind(b, &x), 0); /* both asked for it, neither listens */
	CHECK_EQ(sock_listen(a, 4), -EADDRINUSE);
	CHECK_EQ(sock_close(b), 0);
	CHECK_EQ(sock_listen(a, 4), 0);
	int c = sock_socket(AF_INET, SOCK_STREAM, 0);
	CHECK_EQ(sock_setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	CHECK_EQ(sock_bind(c, &x), -EADDRINUSE); /* a listener holds it */
	/* a listener closed with its connection in TIME_WAIT: bind again */
	int cl, s = pair(a, 100, &cl);
	CHECK(s >= 0);
	CHECK_EQ(sock_close(s), 0);
	settle(50);
	CHECK_EQ(sock_close(cl), 0);
	CHECK_EQ(sock_close(a), 0);
	settle(50);
	CHECK(tcp_stack_stats(the_stack)->tw_count > 0);
	CHECK_EQ(sock_bind(c, &x), 0);
	CHECK_EQ(sock_listen(c, 4), 0);
	CHECK_EQ(sock_close(c), 0);
	/* bind to port 0 picks one */
	int d = sock_socket(AF_INET, SOCK_STREAM, 0);
	x = addr(0, 0);
	CHECK_EQ(sock_bind(d, &x), 0);
	CHECK_EQ(sock_getsockname(d, &x), 0);
	CHECK(x.sin_port != 0);
	CHECK_EQ(sock_close(d), 0);
	check_clean();
}

TEST(sock, refused_unreachable_nonblocking)
{
	int c = sock_socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = addr(LOCAL, 81); /* nobody listens */
	CHECK_EQ(sock_connect(c, &a), -ECONNREFUSED);
	a = addr(FAR, 80);
	CHECK_EQ(sock_connect(c, &a), -EHOSTUNREACH);
	CHECK_EQ(sock_close(c), 0);

	int l = server(82);
	c = sock_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	a = addr(LOCAL, 82);
	CHECK_EQ(sock_connect(c, &a), -EINPROGRESS);
	CHECK_EQ(sock_connect(c, &a), -EALREADY);
	CHECK_EQ(sock_poll(c) & SOCK_EV_OUT, 0);
	settle(10);
	CHECK(sock_poll(c) & SOCK_EV_OUT);
	CHECK_EQ(sock_connect(c, &a), -EISCONN);
	int e = -1;
	size_t len = sizeof(e);
	CHECK_EQ(sock_getsockopt(c, SOL_SOCKET, SO_ERROR, &e, &len), 0);
	CHECK_EQ(e, 0);
	char b[4];
	CHECK_EQ(sock_recv(c, b, 4, 0), -E_AGAIN);
	int s = sock_accept(l, NULL, SOCK_NONBLOCK);
	CHECK(s >= 0);
	CHECK_EQ(sock_set_nonblock(l, true), 0);
	CHECK_EQ(sock_accept(l, NULL, 0), -E_AGAIN);
	CHECK_EQ(sock_recv(s, b, 4, 0), -E_AGAIN); /* inherited SOCK_NONBLOCK */
	CHECK_EQ(sock_set_nonblock(s, false), 0);
	CHECK_EQ(sock_recv(c, b, 4, MSG_DONTWAIT), -E_AGAIN);
	CHECK_EQ(sock_send(c, "hey", 3, 0), 3);
	CHECK_EQ(sock_recv(s, b, 4, 0), 3); /* blocks until it comes */
	sock_close(s);
	sock_close(c);
	sock_close(l);

	/* a non-blocking connect refused: SO_ERROR and the event say so */
	c = sock_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	a = addr(LOCAL, 83);
	CHECK_EQ(sock_connect(c, &a), -EINPROGRESS);
	settle(10);
	CHECK(sock_poll(c) & SOCK_EV_ERR);
	CHECK_EQ(sock_getsockopt(c, SOL_SOCKET, SO_ERROR, &e, &len), 0);
	CHECK_EQ(e, -ECONNREFUSED);
	CHECK_EQ(sock_errno(e), 111);
	CHECK_EQ(sock_close(c), 0);
	check_clean();
}

TEST(sock, linger)
{
	int l = server(85), c;
	int s = pair(l, 85, &c);
	struct linger lg = { 1, 0 };
	CHECK_EQ(sock_setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	struct linger got;
	size_t len = sizeof(got);
	CHECK_EQ(sock_getsockopt(s, SOL_SOCKET, SO_LINGER, &got, &len), 0);
	CHECK(got.l_onoff == 1 && got.l_linger == 0);
	CHECK_EQ(sock_close(s), 0); /* a reset */
	settle(10);
	char b[4];
	CHECK_EQ(sock_recv(c, b, 4, 0), -ECONNRESET);
	CHECK(sock_poll(c) & SOCK_EV_ERR);
	CHECK_EQ(sock_close(c), 0);

	/* lingering close: returns once the peer has everything */
	s = pair(l, 85, &c);
	lg = (struct linger){ 1, 5 };
	CHECK_EQ(sock_setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	static uint8_t big[60000];
	CHECK_EQ(sock_send(c, big, sizeof(big), 0), (long)sizeof(big));
	uint64_t t0 = net_now_ms();
	CHECK_EQ(sock_close(c), 0);
	CHECK(net_now_ms() > t0); /* it waited */
	size_t n = 0;
	long r;
	while ((r = sock_recv(s, big, sizeof(big), MSG_DONTWAIT)) > 0)
		n += (size_t)r;
	CHECK_EQ(r, 0); /* the FIN came too */
	CHECK_EQ(n, sizeof(big));
	sock_close(s);
	sock_close(l);
	check_clean();
}

TEST(sock, options)
{
	int c = sock_socket(AF_INET, SOCK_STREAM, 0), v;
	size_t len = sizeof(v);
	CHECK_EQ(sock_getsockopt(c, SOL_SOCKET, SO_TYPE, &v, &len), 0);
	CHECK_EQ(v, SOCK_STREAM);
	CHECK_EQ(sock_getsockopt(c, SOL_SOCKET, SO_RCVBUF, &v, &len), 0);
	CHECK_EQ(v, 65536);
	v = 1;
	CHECK_EQ(sock_setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)), 0);
	CHECK_EQ(sock_setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)), 0);
	v = 300000;
	CHECK_EQ(sock_setsockopt(c, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)), 0);
	v = 10;
	CHECK_EQ(sock_setsockopt(c, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)), -E_INVAL);
	CHECK_EQ(sock_setsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)), -E_INVAL);
	CHECK_EQ(sock_setsockopt(c, SOL_SOCKET, SO_RCVBUF, &v, 2), -E_INVAL); /* short */
	CHECK_EQ(sock_setsockopt(c, SOL_SOCKET, 999, &v, sizeof(v)), -EOPNOTSUPP);
	CHECK_EQ(sock_setsockopt(c, 41, 1, &v, sizeof(v)), -EOPNOTSUPP);
	CHECK_EQ(sock_setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v)), 0);
	v = 0;
	CHECK_EQ(sock_setsockopt(c, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(v)), -E_INVAL);
	CHECK_EQ(sock_setsockopt(c, SOL_SOCKET, SO_ERROR, &v, sizeof(v)), -EOPNOTSUPP);
	struct linger lg = { 1, -1 };
	CHECK_EQ(sock_setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), -E_INVAL);
	int l = server(86);
	struct sockaddr_in a = addr(LOCAL, 86);
	CHECK_EQ(sock_connect(c, &a), 0);
	/* what was set before the connection is the connection's */
	struct tcp_conn *tc = sock_tcp(c);
	CHECK(tc != NULL);
	CHECK(tcp_getopt(tc, TCP_OPT_NODELAY, &v) == 0 && v == 1);
	CHECK(tcp_getopt(tc, TCP_OPT_KEEPALIVE, &v) == 0 && v == 1);
	CHECK(tcp_getopt(tc, TCP_OPT_KEEPIDLE, &v) == 0 && v == 10);
	CHECK_EQ(sock_getsockopt(c, SOL_SOCKET, SO_RCVBUF, &v, &len), 0);
	CHECK_EQ(v, 300000);
	v = 100000;
	CHECK_EQ(sock_setsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)), 0);
	CHECK(tcp_getopt(tc, TCP_OPT_SNDBUF, &v) == 0 && v == 100000);
	v = 0;
	CHECK_EQ(sock_setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)), 0);
	CHECK(tcp_getopt(tc, TCP_OPT_NODELAY, &v) == 0 && v == 0);
	len = 2;
	CHECK_EQ(sock_getsockopt(c, SOL_SOCKET, SO_RCVBUF, &v, &len), -E_INVAL);
	int s = sock_accept(l, NULL, 0);
	CHECK(s >= 0);
	sock_close(s);
	sock_close(c);
	sock_close(l);
	CHECK_EQ(sock_errno(-EADDRINUSE), 98);
	CHECK_EQ(sock_errno(-E_AGAIN), 11);
	CHECK_EQ(sock_errno(-ETIMEDOUT), 110);
	CHECK_EQ(sock_errno(-EPIPE), 32);
	check_clean();
}

TEST(sock, udp)
{
	int a = sock_socket(AF_INET, SOCK_DGRAM, 0), b = sock_socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(a >= 0 && b >= 0);
	struct sockaddr_in x = addr(0, 5000), y = addr(0, 5001), from;
	CHECK_EQ(sock_bind(a, &x), 0);
	CHECK_EQ(sock_bind(b, &y), 0);
	int c = sock_socket(AF_INET, SOCK_DGRAM, 0);
	CHECK_EQ(sock_bind(c, &x), -EADDRINUSE);
	sock_close(c);
	char buf[64];
	CHECK_EQ(sock_recv(a, buf, sizeof(buf), MSG_DONTWAIT), -E_AGAIN);
	CHECK_EQ(sock_send(a, "x", 1, 0), -ENOTCONN); /* no peer */
	x = addr(LOCAL, 5000);
	CHECK_EQ(sock_sendto(b, "hello", 5, 0, &x), 5);
	CHECK(sock_poll(a) & SOCK_EV_IN);
	CHECK_EQ(sock_recvfrom(a, buf, sizeof(buf), 0, &from), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK_EQ(from.sin_port, __builtin_bswap16(5001));
	/* connected: sends go to the peer, only its datagrams arrive */
	y = addr(LOCAL, 5001);
	CHECK_EQ(sock_connect(a, &y), 0);
	CHECK_EQ(sock_getpeername(a, &from), 0);
	CHECK_EQ(sock_send(a, "ping", 4, 0), 4);
	CHECK_EQ(sock_recv(b, buf, sizeof(buf), 0), 4);
	int d = sock_socket(AF_INET, SOCK_DGRAM, 0);
	x = addr(LOCAL, 5000);
	CHECK_EQ(sock_sendto(d, "stranger", 8, 0, &x), 8);
	CHECK_EQ(sock_sendto(b, "friend", 6, 0, &x), 6);
	CHECK_EQ(sock_recv(a, buf, sizeof(buf), 0), 6);
	CHECK(memcmp(buf, "friend", 6) == 0);
	CHECK_EQ(sock_sendto(b, "x", 100, 0, &x), -E_TOO_BIG);
	int v = 1;
	CHECK_EQ(sock_setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)), -EOPNOTSUPP);
	size_t len = sizeof(v);
	CHECK_EQ(sock_getsockopt(a, SOL_SOCKET, SO_TYPE, &v, &len), 0);
	CHECK_EQ(v, SOCK_DGRAM);
	/* events */
	int ep = sock_epoll_create();
	struct sock_event ev = { SOCK_EV_IN, 77 }, out[4];
	CHECK_EQ(sock_epoll_ctl(ep, SOCK_CTL_ADD, a, &ev), 0);
	CHECK_EQ(sock_epoll_wait(ep, out, 4, 0), 0);
	CHECK_EQ(sock_sendto(b, "wake", 4, 0, &x), 4);
	CHECK_EQ(sock_epoll_wait(ep, out, 4, 0), 1);
	CHECK_EQ(out[0].data, 77);
	sock_close(a);
	sock_close(b);
	sock_close(d);
	sock_epoll_close(ep);
	check_clean();
}

/* What a descriptor layer's poll sleeps on: the ring's word as it was,
 * and no longer than the stack's next timer (or a moment, while frames
 * wait). */
TEST(sock, poll_prepare)
{
	int l = server(87), c;
	int s = pair(l, 87, &c);
	settle(10);
	volatile uint32_t *word;
	uint32_t seen;
	uint64_t ms;
	fake_head = 12345;
	int before = runs;
	CHECK_EQ(sock_poll_prepare(&word, &seen, &ms), 0);
	CHECK(runs == before + 1); /* the stack ran once, without waiting */
	CHECK(word == &fake_head);
	CHECK_EQ(seen, 12345);
	/* data in flight: a retransmission (or delayed ACK) timer is due */
	CHECK_EQ(sock_send(c, "x", 1, MSG_DONTWAIT), 1);
	CHECK_EQ(sock_poll_prepare(&word, &seen, &ms), 0);
	CHECK(ms != UINT64_MAX && ms <= 120000);
	fake_busy = true;
	CHECK_EQ(sock_poll_prepare(&word, &seen, &ms), 0);
	CHECK(ms <= 1);
	fake_busy = false;
	settle(10);
	char b[4];
	CHECK_EQ(sock_recv(s, b, sizeof(b), MSG_DONTWAIT), 1);
	sock_close(s);
	sock_close(c);
	sock_close(l);
	check_clean();
}
