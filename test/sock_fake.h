/*
 * What the socket layer's host tests share (test/test_sock.c: the calls;
 * test/test_sockev.c: the event sets): fakes of the layer's Exo ties
 * (tcpnet's stack, waiting, port claims, routes; UDP's sockets) over one
 * test/tcp_sim.h stack on 10.0.0.1 talking to itself over the simulated
 * link, so clients and servers in one program meet as on Exo, and
 * "waiting" (tcpnet_run) moves the simulated clock to the next event; and
 * the helpers the tests use (servers, connected pairs, the check that
 * no connection or byte of the stack's memory is left).
 */
#ifndef EXO_TEST_SOCK_FAKE_H
#define EXO_TEST_SOCK_FAKE_H

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

static inline void fake_wake(void *ctx, struct tcp_conn *c)
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
static inline struct sockaddr_in addr(uint32_t ip, uint16_t port)
{
	struct sockaddr_in a = { AF_INET, __builtin_bswap16(port), __builtin_bswap32(ip), { 0 } };
	return a;
}

static inline int server_backlog(uint16_t port, int backlog)
{
	int l = sock_socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = addr(0, port);
	if (l < 0 || sock_bind(l, &a) < 0 || sock_listen(l, backlog) < 0)
		return -1;
	return l;
}

static inline int server(uint16_t port)
{
	return server_backlog(port, 64);
}

/* A connected pair: *c the client, returns the server's side. */
static inline int pair(int l, uint16_t port, int *c)
{
	*c = sock_socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = addr(LOCAL, port);
	if (*c < 0 || sock_connect(*c, &a) != 0)
		return -1;
	return sock_accept(l, NULL, 0);
}

static inline void settle(uint64_t ms)
{
	for (uint64_t end = net_now_ms() + ms; net_now_ms() < end;)
		tcpnet_run(end - net_now_ms());
}

static inline void check_clean(void)
{
	settle(10000); /* past TIME_WAIT (2 MSL = 4 s) */
	const struct tcp_stats *x = tcp_stack_stats(the_stack);
	CHECK_EQ(x->conns_created, x->conns_freed);
	CHECK_EQ(x->tw_count, 0);
	size_t left = tcp_stack_memory(the_stack);
	tcp_stack_free(the_stack);
	CHECK_MSG(sim.mem_bytes == 0, "%ld bytes left (stack said %zu)", sim.mem_bytes, left);
}

#endif
