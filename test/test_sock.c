/*
 * Host tests for the socket layer and its event sets (lib/net/sock.c,
 * lib/net/sockopt.c, lib/net/sockev.c) over the real TCP core: the layer's Exo ties (tcpnet's
 * stack, waiting, port claims, routes; UDP's sockets) are faked here. The
 * stack is one test/tcp_sim.h stack on 10.0.0.1 talking to itself over the
 * simulated link, so clients and servers in one program meet as on Exo;
 * "waiting" (tcpnet_run) moves the simulated clock to the next event.
 *
 * Checked: every call's errors (bad sockets, addresses, states), a blocking
 * and a non-blocking connection's life, refused and unreachable connects,
 * EOF, EPIPE, resets from SO_LINGER 0 and lingering closes, the options,
 * UDP under the same calls, the event sets' readiness (accept, in, out,
 * peer hang-up, hang-up, error), level, edge and one-shot triggering and
 * timeouts, what poll's sleep watches (sock_poll_prepare), 300
 * connections served by one event loop, reported for what
 * changed rather than once per wait; at the end no connection or byte of
 * the stack's memory is left.
 */
#include "check.h"

#include <stdint.h>

#include "tcp_sim.h"

#include <lib/net/sock.h>
#include <lib/net/sockerr.h>
#include <lib/net/tcpnet.h>

#define LOCAL 0x0a000001u   /* 10.0.0.1: us */
#define FAR 0x0a000063u     /* 10.0.0.99: no host answers */
#define TAKEN_PORT 4444     /* another env's */

/* tcp_sim.h's calls for several stacks: this test makes its one itself */
__attribute__((unused)) static const void *const sim_unused[] = { (const void *)sim_free_all,
								  (const void *)sim_add_stack };

struct net_config net_config = { { 0 }, LOCAL, 0xffffff00u, 0x0a0000feu };
void (*udp_on_datagram)(int s);

/* --- fakes of tcpnet (lib/net/tcpnet.c) --- */
static struct tcp_stack *the_stack;
static void (*wake_fn)(struct tcp_conn *c);
static int claims, unclaims, client_claims, runs;
static unsigned long wakes;

static void fake_wake(void *ctx, struct tcp_conn *c)
{
	(void)ctx;
	wakes++;
	if (wake_fn)
		wake_fn(c);
}

struct tcp_stack *tcpnet_stack(void)
{
	if (!the_stack) {
		sim_reset(42);
		struct tcp_hooks h = { (void *)0, sim_output, sim_now,
				       sim_alloc, sim_free,   fake_wake };
		uint8_t key[16] = "sock-test-key-0";
		the_stack = tcp_stack_new(&h, key);
		sim.st[0] = the_stack;
		sim.ip[0] = LOCAL;
		sim.nstacks = 1;
		sim.imp.delay_us = 200;
		tcp_stack_set_msl(the_stack, 2000);
		sim_trace = getenv("SOCK_TRACE") != NULL;
	}
	return the_stack;
}

void tcpnet_set_wake(void (*fn)(struct tcp_conn *c))
{
	wake_fn = fn;
}

int tcpnet_claim(uint16_t port)
{
	if (port == TAKEN_PORT)
		return -EADDRINUSE;
	claims++;
	return 0;
}

void tcpnet_unclaim(uint16_t port)
{
	(void)port;
	unclaims++;
}

void tcpnet_claim_clients(void)
{
	client_claims++;
}

int tcpnet_route(uint32_t ip, uint64_t timeout_ms)
{
	if (ip == FAR)
		return timeout_ms ? -E_NOT_FOUND : -E_AGAIN;
	return 0;
}

uint64_t net_now_ms(void)
{
	return sim.now_us / 1000;
}

/* The simulated link takes each segment as it is sent: a batch of them
 * (lib/net/net.c) has nothing to gather; only its nesting is checked. */
static int tx_batch_depth;

void net_tx_batch_begin(void)
{
	tx_batch_depth++;
}

int net_tx_batch_end(void)
{
	CHECK_MSG(tx_batch_depth > 0, "a transmit batch ended that never began");
	tx_batch_depth--;
	return 0;
}

/* Deliver what is due; then move the clock to the next event, at most
 * wait_ms on. */
int tcpnet_run(uint64_t wait_ms)
{
	runs++;
	uint64_t next = sim_step();
	uint64_t limit = wait_ms >= UINT64_MAX / 2000 ? UINT64_MAX : sim.now_us + wait_ms * 1000;
	if (next == UINT64_MAX && limit == UINT64_MAX) {
		/* waiting forever with nothing pending: a test's bug */
		CHECK_MSG(false, "waited forever with nothing to come");
		if (getenv("SOCK_TRACE"))
			abort();
		exit(1);
	}
	uint64_t to = next < limit ? next : limit;
	if (to > sim.now_us)
		sim.now_us = to;
	sim_step();
	return 0;
}

/* lib/net/net.c's ring, for sock_poll_prepare: a word the test sets */
static volatile uint32_t fake_head;
static bool fake_busy;

volatile uint32_t *net_ring_head(bool *busy)
{
	*busy = fake_busy;
	return &fake_head;
}

uint64_t net_now_us(void)
{
	return sim.now_us;
}

/* --- fake UDP (lib/net/udp.c): loopback sockets --- */
#define DG_MAX 8
static struct {
	bool used;
	uint16_t port;
	int n;
	struct {
		uint32_t ip;
		uint16_t port;
		size_t len;
		uint8_t data[64];
	} q[DG_MAX];
} us[UDP_SOCKETS];

int udp_socket(void)
{
	for (int i = 0; i < UDP_SOCKETS; i++)
		if (!us[i].used) {
			memset(&us[i], 0, sizeof(us[i]));
			us[i].used = true;
			return i;
		}
	return -E_FULL;
}
int udp_bind(int s, uint16_t port)
{
	for (int i = 0; i < UDP_SOCKETS; i++)
		if (us[i].used && us[i].port == port && port)
			return -E_BUSY;
	us[s].port = port ? port : (uint16_t)(50000 + s);
	return 0;
}
int udp_port(int s)
{
	return us[s].port;
}
int udp_sendto(int s, const void *buf, size_t len, uint32_t ip, uint16_t port)
{
	if (len > 64)
		return -E_TOO_BIG;
	if (!us[s].port)
		udp_bind(s, 0);
	for (int i = 0; i < UDP_SOCKETS && ip == LOCAL; i++) {
		if (us[i].used && us[i].port == port && us[i].n < DG_MAX) {
			int k = us[i].n++;
			us[i].q[k].ip = LOCAL, us[i].q[k].port = us[s].port, us[i].q[k].len = len;
			memcpy(us[i].q[k].data, buf, len);
			if (udp_on_datagram)
				udp_on_datagram(i);
		}
	}
	return (int)len;
}
long udp_recvfrom(int s, void *buf, size_t len, uint32_t *ip, uint16_t *port, uint64_t t)
{
	(void)t;
	if (!us[s].n)
		return -E_AGAIN;
	size_t n = len < us[s].q[0].len ? len : us[s].q[0].len;
	memcpy(buf, us[s].q[0].data, n);
	*ip = us[s].q[0].ip, *port = us[s].q[0].port;
	memmove(&us[s].q[0], &us[s].q[1], sizeof(us[s].q[0]) * (size_t)--us[s].n);
	return (long)n;
}
int udp_close(int s)
{
	us[s].used = false;
	return 0;
}
int udp_pending(int s)
{
	return us[s].n;
}

/* --- helpers --- */
static struct sockaddr_in addr(uint32_t ip, uint16_t port)
{
	struct sockaddr_in a = { AF_INET, __builtin_bswap16(port), __builtin_bswap32(ip), { 0 } };
	return a;
}

static int server_backlog(uint16_t port, int backlog)
{
	int l = sock_socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = addr(0, port);
	if (l < 0 || sock_bind(l, &a) < 0 || sock_listen(l, backlog) < 0)
		return -1;
	return l;
}

static int server(uint16_t port)
{
	return server_backlog(port, 64);
}

/* A connected pair: *c the client, returns the server's side. */
static int pair(int l, uint16_t port, int *c)
{
	*c = sock_socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = addr(LOCAL, port);
	if (*c < 0 || sock_connect(*c, &a) != 0)
		return -1;
	return sock_accept(l, NULL, 0);
}

static void settle(uint64_t ms)
{
	for (uint64_t end = net_now_ms() + ms; net_now_ms() < end;)
		tcpnet_run(end - net_now_ms());
}

static void check_clean(void)
{
	settle(10000); /* past TIME_WAIT (2 MSL = 4 s) */
	const struct tcp_stats *x = tcp_stack_stats(the_stack);
	CHECK_EQ(x->conns_created, x->conns_freed);
	CHECK_EQ(x->tw_count, 0);
	size_t left = tcp_stack_memory(the_stack);
	tcp_stack_free(the_stack);
	CHECK_MSG(sim.mem_bytes == 0, "%ld bytes left (stack said %zu)", sim.mem_bytes, left);
}

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
