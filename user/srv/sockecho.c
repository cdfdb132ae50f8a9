/*
 * sockecho [-v] [PORT]: TCP echo on PORT (default 7777) and UDP echo on 5555 of
 * 10.0.2.15, written with the library OS's sockets and event sets
 * (lib/net/sock.h) as a server for Linux would be: one event loop, non-
 * blocking sockets, level-triggered interest.
 *
 * Before it says it is listening, it measures itself idle: a 1.5 s wait
 * with nothing arriving must sleep in the kernel, so the kernel resumes it
 * only a few times (its env_runs) and it makes only a few system calls.
 * tools/test-sock checks the line it prints.
 *
 * A connection whose echo does not fit its send buffer keeps the rest and
 * is watched for room instead of input until it has gone. A connection
 * whose first bytes are "QUIT" ends the server once every connection has
 * closed; it prints what it served, the frames it received and sent, and
 * the system calls that took (net_send per frame sent, net_wait per sleep:
 * received frames are read from the shared ring without one), then exits 0.
 */
#include <inc/net.h>
#include <lib/base/libos.h>
#include <lib/net/sock.h>
#include <lib/net/sockerr.h>
#include <lib/net/tcpnet.h>

#define UDP_PORT 5555
#define PENDING 16384
#define EVENTS 64
#define IDLE_MS 1500
#define LISTENER_DATA ((uint64_t)-1)
#define UDP_DATA ((uint64_t)-2)

struct conn {
	uint8_t *pending; /* echo bytes the send buffer did not take */
	size_t npending, off;
	bool first, eof;
	bool sink;          /* "SINK": count what comes, answer the count at EOF */
	uint64_t counted;
	uint64_t gen_left;  /* "GEN " + 8 bytes (little-endian): bytes still to send */
};

static const uint8_t zeros[PENDING];

static struct conn conns[SOCK_MAX];
static uint8_t buf[PENDING];
static int ep;
static unsigned long served, open_now, most;
static uint64_t bytes;

static void watch(int sd, uint32_t events)
{
	struct sock_event ev = { events, (uint64_t)sd };
	sock_epoll_ctl(ep, SOCK_CTL_MOD, sd, &ev);
}

static void finish(int sd)
{
	free(conns[sd].pending);
	conns[sd] = (struct conn){ 0 };
	sock_close(sd);
	open_now--;
	served++;
}

/* Echo what sd has; false when it is done with. */
static bool serve(int sd, bool *quit)
{
	struct conn *c = &conns[sd];
	while (c->gen_left) {
		long r = sock_send(sd, zeros, MIN(c->gen_left, sizeof(zeros)), 0);
		if (r == -E_AGAIN) {
			watch(sd, SOCK_EV_OUT);
			return true;
		}
		if (r < 0)
			return false;
		c->gen_left -= (uint64_t)r;
		bytes += (uint64_t)r;
		if (!c->gen_left) {
			sock_shutdown(sd, SHUT_WR);
			return false;
		}
	}
	if (c->npending) {
		long r = sock_send(sd, c->pending + c->off, c->npending, 0);
		if (r < 0 && r != -E_AGAIN)
			return false;
		if (r > 0)
			c->off += (size_t)r, c->npending -= (size_t)r;
		if (c->npending)
			return true;
		watch(sd, SOCK_EV_IN | SOCK_EV_RDHUP);
	}
	while (!c->eof) {
		long n = sock_recv(sd, buf, sizeof(buf), 0);
		if (n == -E_AGAIN)
			break;
		if (n < 0)
			return false;
		if (n == 0) {
			c->eof = true;
			break;
		}
		if (c->first && n >= 4 && memcmp(buf, "QUIT", 4) == 0)
			*quit = true;
		if (c->first && n >= 4 && memcmp(buf, "BYE!", 4) == 0)
			c->eof = true; /* close first (tools/tcpconform.py's FIN_WAIT tests) */
		if (c->first && n >= 4 && memcmp(buf, "SINK", 4) == 0)
			c->sink = true;
		if (c->first && n >= 12 && memcmp(buf, "GEN ", 4) == 0) {
			memcpy(&c->gen_left, buf + 4, 8);
			c->first = false;
			if (!c->gen_left)
				return false;
			return serve(sd, quit);
		}
		c->first = false;
		if (c->sink) {
			c->counted += (uint64_t)n;
			bytes += (uint64_t)n;
			continue;
		}
		bytes += (uint64_t)n;
		long r = sock_send(sd, buf, (size_t)n, 0);
		if (r == -E_AGAIN)
			r = 0;
		if (r < 0)
			return false;
		if (r < n) {
			if (!c->pending && !(c->pending = malloc(PENDING)))
				return false;
			memcpy(c->pending, buf + r, (size_t)(n - r));
			c->off = 0;
			c->npending = (size_t)(n - r);
			watch(sd, SOCK_EV_OUT);
			return true;
		}
	}
	if (c->eof) {
		if (c->sink) {
			uint64_t n = c->counted - 4; /* not the command */
			sock_send(sd, &n, sizeof(n), 0);
		}
		sock_shutdown(sd, SHUT_WR);
		return false;
	}
	return true;
}

static void accept_all(int l)
{
	int sd;
	while ((sd = sock_accept(l, NULL, SOCK_NONBLOCK)) >= 0) {
		conns[sd] = (struct conn){ .first = true };
		int one = 1; /* as bench/linux/tcpecho.c: replies go at once */
		sock_setsockopt(sd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct sock_event ev = { SOCK_EV_IN | SOCK_EV_RDHUP, (uint64_t)sd };
		if (sock_epoll_ctl(ep, SOCK_CTL_ADD, sd, &ev) < 0) {
			sock_close(sd);
			continue;
		}
		open_now++;
		most = MAX(most, open_now);
	}
}

static void echo_datagrams(int u)
{
	struct sockaddr_in from;
	long n;
	while ((n = sock_recvfrom(u, buf, UDP_PAYLOAD_MAX, 0, &from)) >= 0)
		sock_sendto(u, buf, (size_t)n, 0, &from);
}

static int fail(const char *what, int err)
{
	printf("sockecho: %s: %e\n", what, err);
	return 2;
}

/* -v: a line of counters every 5 s, to see where a slow run waits */
static void progress(uint64_t *next)
{
	uint64_t now = net_now_ms();
	if (now < *next)
		return;
	*next = now + 5000;
	struct net_info ni;
	uint64_t full = sys_net_info(&ni) == 0 ? ni.ni_rx_full : 0;
	const struct tcp_stats *ts = tcp_stack_stats(tcpnet_stack());
	printf("sockecho: at %lu ms: open %lu served %lu; frames in %lu out %lu, tx errors %lu, "
	       "net_send %lu; ring full %lu; segs in %lu out %lu rexmit %lu rto %lu\n",
	       (unsigned long)now, open_now, served, (unsigned long)net_stats.rx_frames,
	       (unsigned long)net_stats.tx_frames, (unsigned long)net_stats.tx_errors,
	       (unsigned long)net_stats.sys_sends, (unsigned long)full, (unsigned long)ts->in_segs,
	       (unsigned long)ts->out_segs, (unsigned long)ts->out_rexmit_segs,
	       (unsigned long)ts->rto_fired);
}

int main(int argc, char **argv)
{
	bool verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
	if (verbose)
		argc--, argv++;
	uint16_t port = argc > 1 ? (uint16_t)strtoul(argv[1], NULL, 10) : 7777;
	int r = net_open();
	if (r < 0)
		return fail("no network", r);
	int l = sock_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int u = sock_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (l < 0 || u < 0)
		return fail("socket", l < 0 ? l : u);
	int one = 1;
	sock_setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { AF_INET, __builtin_bswap16(port), INADDR_ANY, { 0 } };
	if ((r = sock_bind(l, &a)) < 0 || (r = sock_listen(l, 1024)) < 0)
		return fail("listen", r);
	a.sin_port = __builtin_bswap16(UDP_PORT);
	if ((r = sock_bind(u, &a)) < 0)
		return fail("bind udp", r);
	ep = sock_epoll_create();
	struct sock_event lev = { SOCK_EV_IN, LISTENER_DATA }, uev = { SOCK_EV_IN, UDP_DATA };
	if (ep < 0 || sock_epoll_ctl(ep, SOCK_CTL_ADD, l, &lev) < 0 ||
	    sock_epoll_ctl(ep, SOCK_CTL_ADD, u, &uev) < 0)
		return fail("event set", ep < 0 ? ep : -E_INVAL);

	/* idle: nothing can arrive yet (nobody knows we listen) */
	struct sock_event evs[EVENTS];
	uint64_t runs0 = thisenv->env_runs, calls0 = net_stats.sys_sends + net_stats.sys_waits;
	uint64_t t0 = net_now_ms();
	int n = sock_epoll_wait(ep, evs, EVENTS, IDLE_MS);
	printf("sockecho: idle %lu ms: %lu runs, %lu system calls, %d events\n",
	       (unsigned long)(net_now_ms() - t0), (unsigned long)(thisenv->env_runs - runs0),
	       (unsigned long)(net_stats.sys_sends + net_stats.sys_waits - calls0), n);
	printf("sockecho: listening on 10.0.2.15 port %u (udp %u)\n", port, UDP_PORT);

	struct net_stats s0 = net_stats;
	runs0 = thisenv->env_runs;
	bool quit = false;
	uint64_t next_progress = 0;
	while (!quit || open_now) {
		n = sock_epoll_wait(ep, evs, EVENTS, quit ? 100 : verbose ? 5000 : 60000);
		if (verbose)
			progress(&next_progress);
		for (int i = 0; i < n; i++) {
			uint64_t d = evs[i].data;
			if (d == LISTENER_DATA)
				accept_all(l);
			else if (d == UDP_DATA)
				echo_datagrams(u);
			else if (!serve((int)d, &quit))
				finish((int)d);
		}
	}
	uint64_t rx = net_stats.rx_frames - s0.rx_frames, tx = net_stats.tx_frames - s0.tx_frames;
	uint64_t sends = net_stats.sys_sends - s0.sys_sends,
		 waits = net_stats.sys_waits - s0.sys_waits;
	struct net_info ni;
	uint64_t full = sys_net_info(&ni) == 0 ? ni.ni_rx_full : 0;
	printf("sockecho: %lu connections served (%lu at once at most), %lu bytes echoed\n", served,
	       most, (unsigned long)bytes);
	printf("sockecho: frames in %lu, out %lu; system calls: %lu net_send, %lu net_wait "
	       "(%lu per 100 frames in); runs %lu; ring full drops %lu\n",
	       (unsigned long)rx, (unsigned long)tx, (unsigned long)sends, (unsigned long)waits,
	       (unsigned long)(rx ? waits * 100 / rx : 0),
	       (unsigned long)(thisenv->env_runs - runs0), (unsigned long)full);
	printf("sockecho: offloads %#x: %lu frames sent segmented by the device, %lu received "
	       "coalesced by the host\n",
	       net_offloads, (unsigned long)net_stats.tx_tso,
	       (unsigned long)net_stats.rx_coalesced);
	/* the guest's own share of a round trip (struct net_info): a frame's
	 * arrival to the next frame sent */
	uint64_t mhz = ukinfo->ki_tsc_hz / 1000000;
	if (sys_net_info(&ni) == 0 && ni.ni_turn_count && mhz)
		printf("sockecho: turnaround %lu us on average over %lu, shortest %lu us\n",
		       (unsigned long)(ni.ni_turn_cycles / ni.ni_turn_count / mhz),
		       (unsigned long)ni.ni_turn_count, (unsigned long)(ni.ni_turn_min / mhz));
	const struct tcp_stats *ts = tcp_stack_stats(tcpnet_stack());
	printf("sockecho: segments retransmitted %lu, timeouts %lu, memory %lu bytes\n",
	       (unsigned long)ts->out_rexmit_segs, (unsigned long)ts->rto_fired,
	       (unsigned long)tcp_stack_memory(tcpnet_stack()));
	sock_close(l);
	sock_close(u);
	sock_epoll_close(ep);
	net_close();
	return 0;
}
