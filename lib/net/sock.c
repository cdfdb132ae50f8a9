/*
 * Sockets (lib/net/sock.h) over the program's TCP stack and UDP.
 *
 * The table: SOCK_MAX entries, a socket's number is its index. A stream
 * socket holds a struct tcp_conn (a listener, or a connection made by
 * connect or accept) and the options set before it existed, applied when
 * it is made; a datagram socket holds a UDP socket of lib/net/udp.c and,
 * once connected, its peer.
 *
 * Ports: bind claims the port's segments from the kernel for this env
 * (tcpnet_claim, a DPF filter; -EADDRINUSE when another env has it), and
 * the claim is given back when the last socket on the port closes (port
 * references below; an accepted connection shares its listener's port).
 * A connect from an unbound socket takes a port from the env's block of
 * client ports, which one filter claims (tcpnet_claim_clients). Within this
 * program, a port is bound by one socket only, unless every socket on it
 * set SO_REUSEADDR and none listens (an address a connection in TIME_WAIT
 * still holds never blocks a bind: the stack's tables decide).
 *
 * Waiting: the calls that block loop on tcpnet_run, which sleeps in the
 * kernel until a frame or the next TCP timer; the stack's wake-ups (th_wake,
 * via tcpnet_set_wake) and UDP's (udp_on_datagram) go to the event sets.
 *
 * Options and sock_errno are in lib/net/sockopt.c, readiness (sock_ready,
 * sock_poll) with the event sets in lib/net/sockev.c.
 *
 * Hostile input: arguments are checked (a socket number out of range or
 * free is -EBADF, an address of another family or a bad length -E_INVAL)
 * before anything changes; received data is the stack's business.
 */
#include <common/string.h>
#include <lib/net/sock_int.h>
#include <lib/net/netwire.h>
#include <lib/net/tcpnet.h>

#define PORT_REFS 64         /* claimed ports outside the client block */
#define ROUTE_WAIT_MS 3000   /* a blocking connect's ARP wait */
#define FOREVER UINT64_MAX

struct sock sock_table[SOCK_MAX];
static int udp_owner[UDP_SOCKETS]; /* UDP socket -> socket number + 1 */
static bool hooked;
static struct {
	uint16_t port;
	uint32_t refs;
} port_refs[PORT_REFS];

static inline uint16_t swap16(uint16_t v)
{
	return __builtin_bswap16(v);
}
static inline uint32_t swap32(uint32_t v)
{
	return __builtin_bswap32(v);
}

struct tcp_conn *sock_tcp(int sd)
{
	struct sock *s = sock_get(sd);
	return s && s->s_type == SOCK_STREAM ? s->s_c : NULL;
}

static void on_tcp_wake(struct tcp_conn *c)
{
	struct sock *s = tcp_user(c);
	if (s)
		sockev_wake(s);
}

static void on_datagram(int u)
{
	if (u >= 0 && u < UDP_SOCKETS && udp_owner[u])
		sockev_wake(&sock_table[udp_owner[u] - 1]);
}

/* The stack and the wake-ups, on first use. */
static struct tcp_stack *stack(void)
{
	struct tcp_stack *st = tcpnet_stack();
	if (st && !hooked) {
		tcpnet_set_wake(on_tcp_wake);
		udp_on_datagram = on_datagram;
		hooked = true;
	}
	return st;
}

static void fill_addr(struct sockaddr_in *a, uint32_t ip, uint16_t port)
{
	if (!a)
		return;
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = swap16(port);
	a->sin_addr = swap32(ip);
}

static int check_addr(const struct sockaddr_in *a)
{
	return a && a->sin_family == AF_INET ? 0 : -E_INVAL;
}

/* --- port claims --- */
static int port_ref(uint16_t port)
{
	int free_slot = -1;
	for (int i = 0; i < PORT_REFS; i++) {
		if (port_refs[i].refs && port_refs[i].port == port) {
			port_refs[i].refs++;
			return 0;
		}
		if (!port_refs[i].refs && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return -E_FULL;
	int r = tcpnet_claim(port);
	if (r < 0)
		return r;
	port_refs[free_slot].port = port;
	port_refs[free_slot].refs = 1;
	return 0;
}

static void port_unref(uint16_t port)
{
	for (int i = 0; i < PORT_REFS; i++) {
		if (port_refs[i].refs && port_refs[i].port == port) {
			if (--port_refs[i].refs == 0)
				tcpnet_unclaim(port);
			return;
		}
	}
}

/* Whether port is held by a socket other than me that me may not share:
 * to bind, any socket unless both set SO_REUSEADDR and it does not
 * listen; to listen, a listener or a socket bound but not connected
 * (connections of an earlier listener do not stop a new one). */
static bool port_taken(const struct sock *me, uint8_t type, uint32_t ip, uint16_t port,
		       bool to_listen)
{
	for (int i = 0; i < SOCK_MAX; i++) {
		const struct sock *o = &sock_table[i];
		if (o == me || o->s_type != type || o->s_lport != port)
			continue;
		if (o->s_lip && ip && o->s_lip != ip)
			continue;
		if (to_listen ? o->s_listening || !o->s_c
			      : !(me->s_reuse && o->s_reuse && !o->s_listening))
			return true;
	}
	return false;
}

/* --- making and freeing --- */
int sock_socket(int domain, int type, int protocol)
{
	bool nonblock = type & SOCK_NONBLOCK;
	type &= ~SOCK_NONBLOCK;
	if (domain != AF_INET)
		return -E_INVAL;
	if (type != SOCK_STREAM && type != SOCK_DGRAM)
		return -EOPNOTSUPP;
	if (protocol && protocol != (type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP))
		return -EOPNOTSUPP;
	if (!stack())
		return -E_NO_MEM;
	int sd = 0;
	while (sd < SOCK_MAX && sock_table[sd].s_type)
		sd++;
	if (sd == SOCK_MAX)
		return -E_FULL;
	int u = -1;
	if (type == SOCK_DGRAM) {
		u = udp_socket();
		if (u < 0)
			return u;
		udp_owner[u] = sd + 1;
	}
	struct sock *s = &sock_table[sd];
	memset(s, 0, sizeof(*s));
	s->s_type = (uint8_t)type;
	s->s_nonblock = nonblock;
	s->s_udp = u;
	s->s_ep = -1;
	s->s_prev = s->s_next = -1;
	return sd;
}

int sock_set_nonblock(int sd, bool on)
{
	struct sock *s = sock_get(sd);
	if (!s)
		return -EBADF;
	s->s_nonblock = on;
	return 0;
}

static int apply_options(struct sock *s, struct tcp_conn *c)
{
	int r = 0;
	if (s->s_nodelay)
		r = tcp_setopt(c, TCP_OPT_NODELAY, 1);
	if (!r && s->s_keepidle)
		r = tcp_setopt(c, TCP_OPT_KEEPIDLE, s->s_keepidle);
	if (!r && s->s_keepintvl)
		r = tcp_setopt(c, TCP_OPT_KEEPINTVL, s->s_keepintvl);
	if (!r && s->s_keepcnt)
		r = tcp_setopt(c, TCP_OPT_KEEPCNT, s->s_keepcnt);
	if (!r && s->s_keepalive)
		r = tcp_setopt(c, TCP_OPT_KEEPALIVE, 1);
	if (!r && s->s_sndbuf)
		r = tcp_setopt(c, TCP_OPT_SNDBUF, s->s_sndbuf);
	if (!r && s->s_linger.l_onoff && s->s_linger.l_linger == 0)
		r = tcp_setopt(c, TCP_OPT_LINGER, 0);
	return r;
}

/* Wait until done(s) or the deadline: false if the time ran out. */
static bool wait_until(struct sock *s, bool (*done)(struct sock *s), uint64_t deadline_ms)
{
	while (!done(s)) {
		uint64_t now = net_now_ms();
		if (now >= deadline_ms)
			return false;
		int r = tcpnet_run(deadline_ms == FOREVER ? FOREVER : deadline_ms - now);
		if (r < 0)
			return false;
	}
	return true;
}

static bool drained(struct sock *s)
{
	enum tcp_state st = tcp_state(s->s_c);
	return tcp_error(s->s_c) || st == TCP_FIN_WAIT_2 || st == TCP_TIME_WAIT || st == TCP_CLOSED;
}

int sock_close(int sd)
{
	struct sock *s = sock_get(sd);
	if (!s)
		return -EBADF;
	sockev_forget(s);
	if (s->s_c) {
		tcp_set_user(s->s_c, NULL);
		/* SO_LINGER with a time: wait that long for the data to go */
		if (s->s_linger.l_onoff && s->s_linger.l_linger > 0 && !s->s_nonblock &&
		    !s->s_listening && tcp_shutdown(s->s_c) == 0)
			wait_until(s, drained,
				   net_now_ms() + (uint64_t)s->s_linger.l_linger * 1000);
		tcp_close(s->s_c);
	}
	if (s->s_udp >= 0) {
		udp_owner[s->s_udp] = 0;
		udp_close(s->s_udp);
	}
	if (s->s_port_ref)
		port_unref(s->s_lport);
	memset(s, 0, sizeof(*s));
	return 0;
}

/* --- addresses --- */
int sock_bind(int sd, const struct sockaddr_in *addr)
{
	struct sock *s = sock_get(sd);
	if (!s)
		return -EBADF;
	if (check_addr(addr) < 0)
		return -E_INVAL;
	if (s->s_lport || s->s_c)
		return -E_INVAL; /* bound already */
	uint32_t ip = swap32(addr->sin_addr);
	uint16_t port = swap16(addr->sin_port);
	if (ip && ip != net_config.nc_ip)
		return -EADDRNOTAVAIL;
	if (s->s_type == SOCK_DGRAM) {
		int r = udp_bind(s->s_udp, port);
		if (r < 0)
			return r == -E_BUSY ? -EADDRINUSE : r;
		s->s_lip = ip;
		s->s_lport = (uint16_t)udp_port(s->s_udp);
		return 0;
	}
	int r;
	if (port == 0) {
		/* the next port no socket here and no other env holds */
		static uint16_t next_any = 60000;
		for (int tries = 0; tries < 1000 && !port; tries++) {
			uint16_t p = next_any;
			next_any = p == 65535 ? 60000 : (uint16_t)(p + 1);
			if (!port_taken(s, SOCK_STREAM, ip, p, false) && port_ref(p) == 0)
				port = p;
		}
		if (!port)
			return -EADDRNOTAVAIL;
	} else if (port_taken(s, SOCK_STREAM, ip, port, false)) {
		return -EADDRINUSE;
	} else if ((r = port_ref(port)) < 0) {
		return r == -E_FULL ? -EADDRNOTAVAIL : r;
	}
	s->s_port_ref = true;
	s->s_lip = ip;
	s->s_lport = port;
	return 0;
}

int sock_getsockname(int sd, struct sockaddr_in *addr)
{
	struct sock *s = sock_get(sd);
	if (!s)
		return -EBADF;
	if (!addr)
		return -E_INVAL;
	uint32_t ip = s->s_lip;
	uint16_t port = s->s_lport;
	if (s->s_c && !s->s_listening)
		tcp_addrs(s->s_c, &ip, &port, NULL, NULL);
	else if (s->s_udp >= 0 && !port && udp_port(s->s_udp) > 0)
		port = (uint16_t)udp_port(s->s_udp);
	fill_addr(addr, ip, port);
	return 0;
}

int sock_getpeername(int sd, struct sockaddr_in *addr)
{
	struct sock *s = sock_get(sd);
	if (!s)
		return -EBADF;
	if (!addr)
		return -E_INVAL;
	if (s->s_type == SOCK_DGRAM) {
		if (!s->s_peer_ip)
			return -ENOTCONN;
		fill_addr(addr, s->s_peer_ip, s->s_peer_port);
		return 0;
	}
	if (!s->s_c || s->s_listening || !(tcp_events(s->s_c) & TCP_EV_CONN))
		return -ENOTCONN;
	uint32_t ip;
	uint16_t port;
	tcp_addrs(s->s_c, NULL, NULL, &ip, &port);
	fill_addr(addr, ip, port);
	return 0;
}

/* --- connections --- */
int sock_listen(int sd, int backlog)
{
	struct sock *s = sock_get(sd);
	if (!s)
		return -EBADF;
	if (s->s_type != SOCK_STREAM)
		return -EOPNOTSUPP;
	if (s->s_listening)
		return 0;
	if (s->s_c)
		return -EISCONN;
	if (!s->s_lport) {
		struct sockaddr_in any = { AF_INET, 0, 0, { 0 } };
		int r = sock_bind(sd, &any);
		if (r < 0)
			return r;
	}
	if (port_taken(s, SOCK_STREAM, s->s_lip, s->s_lport, true))
		return -EADDRINUSE; /* sharing with SO_REUSEADDR ends at listen */
	backlog = backlog < 1 ? 1 : backlog > 4096 ? 4096 : backlog;
	int err;
	struct tcp_conn *l = tcp_listen(stack(), s->s_lip, s->s_lport, backlog, s->s_reuse, &err);
	if (!l)
		return err;
	int r = apply_options(s, l);
	if (!r && s->s_rcvbuf)
		r = tcp_setopt(l, TCP_OPT_RCVBUF, s->s_rcvbuf);
	if (r < 0) {
		tcp_close(l);
		return r;
	}
	tcp_set_user(l, s);
	s->s_c = l;
	s->s_listening = true;
	sockev_wake(s);
	return 0;
}

static bool acceptable(struct sock *s)
{
	return tcp_events(s->s_c) & (TCP_EV_IN | TCP_EV_ERR);
}

int sock_accept(int sd, struct sockaddr_in *peer, int flags)
{
	struct sock *s = sock_get(sd);
	if (!s)
		return -EBADF;
	if (!s->s_listening)
		return -E_INVAL;
	if (flags & ~SOCK_NONBLOCK)
		return -E_INVAL;
	for (;;) {
		int err;
		struct tcp_conn *c = tcp_accept(s->s_c, &err);
		if (c) {
			int nd = sock_socket(AF_INET, SOCK_STREAM | (flags & SOCK_NONBLOCK), 0);
			if (nd < 0) {
				tcp_abort(c);
				return nd;
			}
			struct sock *n = &sock_table[nd];
			n->s_c = c;
			n->s_lip = s->s_lip;
			n->s_lport = s->s_lport;
			n->s_nodelay = s->s_nodelay;
			n->s_keepalive = s->s_keepalive;
			n->s_linger = s->s_linger;
			port_ref(s->s_lport); /* the listener holds it: cannot fail */
			n->s_port_ref = true;
			tcp_set_user(c, n);
			if (peer) {
				uint32_t ip;
				uint16_t port;
				tcp_addrs(c, NULL, NULL, &ip, &port);
				fill_addr(peer, ip, port);
			}
			return nd;
		}
		if (err != -E_AGAIN)
			return err;
		if (s->s_nonblock)
			return -E_AGAIN;
		if (!wait_until(s, acceptable, FOREVER))
			return -E_AGAIN;
	}
}

static bool connect_done(struct sock *s)
{
	return tcp_events(s->s_c) & (TCP_EV_CONN | TCP_EV_ERR);
}

int sock_connect(int sd, const struct sockaddr_in *addr)
{
	struct sock *s = sock_get(sd);
	if (!s)
		return -EBADF;
	if (check_addr(addr) < 0)
		return -E_INVAL;
	uint32_t ip = swap32(addr->sin_addr);
	uint16_t port = swap16(addr->sin_port);
	if (s->s_type == SOCK_DGRAM) {
		if (!ip || !port)
			return -E_INVAL;
		s->s_peer_ip = ip, s->s_peer_port = port;
		return 0;
	}
	if (s->s_listening)
		return -EISCONN;
	if (s->s_c) {
		if (tcp_error(s->s_c))
			return tcp_error(s->s_c);
		return tcp_events(s->s_c) & TCP_EV_CONN ? -EISCONN : -EALREADY;
	}
	if (!ip || !port)
		return -E_INVAL;
	struct tcp_stack *st = stack();
	int r = tcpnet_route(ip, s->s_nonblock ? 0 : ROUTE_WAIT_MS);
	if (r < 0 && (r != -E_AGAIN || !s->s_nonblock))
		return -EHOSTUNREACH; /* a non-blocking SYN is retransmitted after ARP */
	if (!s->s_lport)
		tcpnet_claim_clients();
	uint32_t lip = s->s_lip ? s->s_lip : net_config.nc_ip;
	int err;
	struct tcp_conn *c = tcp_connect_rcvbuf(st, lip, s->s_lport, ip, port, s->s_rcvbuf, &err);
	if (!c)
		return err;
	if ((r = apply_options(s, c)) < 0) {
		tcp_abort(c);
		return r;
	}
	tcp_set_user(c, s);
	s->s_c = c;
	if (s->s_nonblock)
		return -EINPROGRESS;
	wait_until(s, connect_done, FOREVER);
	if (tcp_error(c)) {
		err = tcp_error(c);
		tcp_set_user(c, NULL);
		tcp_close(c);
		s->s_c = NULL;
		return err;
	}
	return 0;
}

/* --- data --- */
static bool writable(struct sock *s)
{
	return tcp_events(s->s_c) & (TCP_EV_OUT | TCP_EV_ERR | TCP_EV_HUP) ||
	       tcp_state(s->s_c) == TCP_CLOSED;
}

static bool readable(struct sock *s)
{
	return tcp_events(s->s_c) & (TCP_EV_IN | TCP_EV_ERR | TCP_EV_HUP) ||
	       tcp_state(s->s_c) == TCP_CLOSED;
}

long sock_send(int sd, const void *buf, size_t len, int flags)
{
	return sock_sendto(sd, buf, len, flags, NULL);
}

long sock_recv(int sd, void *buf, size_t len, int flags)
{
	return sock_recvfrom(sd, buf, len, flags, NULL);
}

long sock_sendto(int sd, const void *buf, size_t len, int flags, const struct sockaddr_in *to)
{
	struct sock *s = sock_get(sd);
	if (!s)
		return -EBADF;
	if (flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL))
		return -EOPNOTSUPP;
	if (s->s_type == SOCK_DGRAM) {
		uint32_t ip = s->s_peer_ip;
		uint16_t port = s->s_peer_port;
		if (to) {
			if (check_addr(to) < 0)
				return -E_INVAL;
			ip = swap32(to->sin_addr), port = swap16(to->sin_port);
		}
		if (!ip)
			return -ENOTCONN;
		if (s->s_shut_wr)
			return -EPIPE;
		int r = udp_sendto(s->s_udp, buf, len, ip, port);
		if (r >= 0 && !s->s_lport)
			s->s_lport = (uint16_t)udp_port(s->s_udp);
		return r;
	}
	if (!s->s_c || s->s_listening)
		return -ENOTCONN;
	bool wait = !s->s_nonblock && !(flags & MSG_DONTWAIT);
	size_t done = 0;
	while (done < len || len == 0) {
		net_tx_batch_begin(); /* the segments one call sends: one system call */
		long r = tcp_send(s->s_c, (const uint8_t *)buf + done, len - done);
		net_tx_batch_end();
		if (r >= 0 && len == 0)
			return 0;
		if (r > 0) {
			done += (size_t)r;
			if (!wait)
				break;
			continue;
		}
		if (r != -E_AGAIN || !wait)
			return done ? (long)done : r;
		wait_until(s, writable, FOREVER);
	}
	return (long)done;
}

long sock_recvfrom(int sd, void *buf, size_t len, int flags, struct sockaddr_in *from)
{
	struct sock *s = sock_get(sd);
	if (!s)
		return -EBADF;
	if (flags & ~MSG_DONTWAIT)
		return -EOPNOTSUPP; /* MSG_PEEK among them */
	bool wait = !s->s_nonblock && !(flags & MSG_DONTWAIT);
	if (s->s_type == SOCK_DGRAM) {
		if (!s->s_lport && udp_port(s->s_udp) <= 0)
			return -E_INVAL; /* nothing can arrive: not bound */
		for (;;) {
			if (s->s_shut_rd)
				return 0;
			uint32_t ip;
			uint16_t port;
			long r = udp_recvfrom(s->s_udp, buf, len, &ip, &port, 0);
			if (r >= 0 && s->s_peer_ip &&
			    (ip != s->s_peer_ip || port != s->s_peer_port))
				continue; /* connected: only the peer's datagrams */
			if (r >= 0) {
				fill_addr(from, ip, port);
				return r;
			}
			if (r != -E_AGAIN || !wait)
				return r;
			if ((r = tcpnet_run(FOREVER)) < 0)
				return r;
		}
	}
	if (!s->s_c || s->s_listening)
		return -ENOTCONN;
	for (;;) {
		if (s->s_shut_rd)
			return 0;
		long r = tcp_recv(s->s_c, buf, len);
		if (r != -E_AGAIN || !wait) {
			if (r >= 0 && from) {
				uint32_t ip;
				uint16_t port;
				tcp_addrs(s->s_c, NULL, NULL, &ip, &port);
				fill_addr(from, ip, port);
			}
			return r;
		}
		wait_until(s, readable, FOREVER);
	}
}

int sock_shutdown(int sd, int how)
{
	struct sock *s = sock_get(sd);
	if (!s)
		return -EBADF;
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return -E_INVAL;
	if (s->s_type == SOCK_STREAM && (!s->s_c || s->s_listening))
		return -ENOTCONN;
	if (how != SHUT_RD) {
		if (s->s_type == SOCK_STREAM && !s->s_shut_wr) {
			int r = tcp_shutdown(s->s_c);
			if (r < 0)
				return r;
		}
		s->s_shut_wr = true;
	}
	if (how != SHUT_WR)
		s->s_shut_rd = true;
	sockev_wake(s);
	return 0;
}

int sock_poll_prepare(volatile uint32_t **word, uint32_t *seen, uint64_t *wait_ms)
{
	struct tcp_stack *st = stack();
	if (!st)
		return -E_NO_MEM;
	int r = tcpnet_run(0);
	if (r < 0 && r != -E_INVAL) /* -E_INVAL: no ring of ours, nothing arrives */
		return r;
	bool busy;
	*word = net_ring_head(&busy);
	*seen = *word ? **word : 0;
	uint64_t next = tcp_timers(st), now = net_now_us();
	*wait_ms = next == UINT64_MAX ? UINT64_MAX : next > now ? (next - now + 999) / 1000 : 0;
	if (busy) /* frames left in the ring, or not yet sent: look again soon */
		*wait_ms = MIN(*wait_ms, 1);
	return 0;
}

int sock_wait(uint64_t timeout_ms)
{
	if (!stack())
		return -E_NO_MEM;
	return tcpnet_run(timeout_ms);
}
