/*
 * The TCP core's calls for the application (lib/net/tcp.h): listen,
 * accept, connect, send, receive, shutdown, close, events and options.
 *
 * None of them blocks: each does what it can now and returns -E_AGAIN
 * otherwise; the socket layer (lib/net/socket.c) waits for tcp_hooks'
 * wake-ups. Each checks its arguments and the connection's state before
 * changing anything.
 *
 * Local ports: tcp_connect picks an ephemeral one (49152-65535) starting
 * from a keyed-random point and taking the first whose 4-tuple is free (no
 * connection, no TIME_WAIT entry): RFC 6056's "simple hash" choice. A
 * listener's port is refused (EADDRINUSE) only by another listener on it;
 * connections and TIME_WAIT entries never collide with a listener, since
 * they are looked up by their whole 4-tuple first.
 */
#include <common/string.h>
#include <lib/net/tcp_int.h>

uint8_t tcp_wscale_for(const struct tcp_conn *c)
{
	uint32_t size = c->c_flags & TF_RBUF_SET
				? c->c_rbuf_size
				: MAX(c->c_rbuf_size, (uint32_t)TCP_RCVBUF_AUTO_MAX);
	uint8_t s = 0;
	while (s < TCP_WSCALE_MAX && (size >> s) > 65535)
		s++;
	return s;
}

struct tcp_conn *tcp_listen(struct tcp_stack *st, uint32_t ip, uint16_t port, int backlog,
			    bool reuse, int *err)
{
	(void)reuse; /* TIME_WAIT entries never block a listener here */
	if (port == 0 || backlog < 0) {
		*err = -E_INVAL;
		return NULL;
	}
	if (tcp_port_in_use(st, ip, port)) {
		*err = -EADDRINUSE;
		return NULL;
	}
	struct tcp_conn *l = tcp_conn_new(st);
	if (!l) {
		*err = -E_NO_MEM;
		return NULL;
	}
	l->c_state = TCP_LISTEN;
	l->c_lip = ip;
	l->c_lport = port;
	l->c_backlog = (uint16_t)MIN(MAX(backlog, 1), TCP_BACKLOG_MAX);
	tcp_hash_listener(l);
	*err = 0;
	return l;
}

struct tcp_conn *tcp_accept(struct tcp_conn *l, int *err)
{
	if (l->c_state != TCP_LISTEN) {
		*err = -E_INVAL;
		return NULL;
	}
	for (struct tcp_conn **pp = &l->c_children; *pp; pp = &(*pp)->c_lnext) {
		struct tcp_conn *c = *pp;
		if (c->c_state == TCP_SYN_RECEIVED)
			continue;
		*pp = c->c_lnext;
		l->c_nchildren--;
		c->c_parent = NULL;
		c->c_lnext = NULL;
		c->c_flags &= ~TF_ORPHAN;
		c->c_flags |= TF_ACCEPTED;
		*err = 0;
		return c;
	}
	*err = -E_AGAIN;
	return NULL;
}

static bool tuple_free(struct tcp_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
		       uint16_t rport)
{
	return !tcp_lookup(st, lip, lport, rip, rport) &&
	       !tcp_lookup_tw(st, lip, lport, rip, rport);
}

struct tcp_conn *tcp_connect(struct tcp_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
			     uint16_t rport, int *err)
{
	return tcp_connect_rcvbuf(st, lip, lport, rip, rport, 0, err);
}

struct tcp_conn *tcp_connect_rcvbuf(struct tcp_stack *st, uint32_t lip, uint16_t lport,
				    uint32_t rip, uint16_t rport, int rcvbuf, int *err)
{
	if (rport == 0 || rip == 0 || lip == 0 ||
	    (rcvbuf && (rcvbuf < TCP_BUF_MIN || rcvbuf > TCP_BUF_MAX))) {
		*err = -E_INVAL;
		return NULL;
	}
	if (lport == 0) {
		uint32_t span = st->st_eph_count, last = st->st_eph_first + span - 1;
		for (uint32_t i = 0; i < span && !lport; i++) {
			uint16_t p = st->st_next_port;
			if (p < st->st_eph_first || p > last)
				p = st->st_eph_first; /* the range changed */
			st->st_next_port = p == last ? st->st_eph_first : (uint16_t)(p + 1);
			if (!tcp_lookup_listener(st, lip, p) && tuple_free(st, lip, p, rip, rport))
				lport = p;
		}
		if (!lport) {
			*err = -EADDRNOTAVAIL;
			return NULL;
		}
	} else if (!tuple_free(st, lip, lport, rip, rport)) {
		*err = -EADDRINUSE;
		return NULL;
	}
	struct tcp_conn *c = tcp_conn_new(st);
	if (!c) {
		*err = -E_NO_MEM;
		return NULL;
	}
	c->c_lip = lip, c->c_lport = lport, c->c_rip = rip, c->c_rport = rport;
	c->c_flags |= TF_ACTIVE | TF_TS | TF_SACK | TF_WS;
	if (rcvbuf) {
		c->c_rbuf_size = (uint32_t)rcvbuf;
		c->c_flags |= TF_RBUF_SET;
	}
	c->c_rcv_wscale = tcp_wscale_for(c);
	c->c_ts_offset = (uint32_t)tcp_keyed_hash(st->st_secret, &c->c_lip, 12);
	c->c_iss = tcp_isn(st, lip, lport, rip, rport);
	c->c_snd_una = c->c_snd_nxt = c->c_snd_max = c->c_iss;
	c->c_snd_end = c->c_iss + 1;
	c->c_state = TCP_SYN_SENT;
	tcp_hash_conn(c);
	c->c_rtt_start_us = tcp_now(st);
	tcp_send_syn(c);
	tcp_rexmt_arm(c, true);
	*err = 0;
	return c;
}

/* Why c cannot send now, or 0. */
static int send_check(const struct tcp_conn *c)
{
	if (c->c_err)
		return c->c_err;
	if (c->c_flags & TF_SHUT_WR)
		return -EPIPE;
	switch (c->c_state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT: return 0;
	case TCP_LISTEN:
	case TCP_CLOSED: return c->c_flags & TF_CONNECTED ? -EPIPE : -ENOTCONN;
	default: return -EPIPE;
	}
}

size_t tcp_send_room(const struct tcp_conn *c)
{
	return c->c_sndbuf > c->c_sq_bytes ? c->c_sndbuf - c->c_sq_bytes : 0;
}

long tcp_send(struct tcp_conn *c, const void *buf, size_t len)
{
	int r = send_check(c);
	if (r < 0)
		return r;
	if (len == 0)
		return 0;
	if (tcp_send_room(c) == 0)
		return -E_AGAIN;
	long n = tcp_sndbuf_append(c, buf, len);
	if (n > 0)
		tcp_output(c);
	return n;
}

long tcp_send_zc(struct tcp_conn *c, struct tcp_zc *zc, size_t off, size_t len)
{
	int r = send_check(c);
	if (r < 0)
		return r;
	r = tcp_sndbuf_append_zc(c, zc, off, len);
	if (r < 0)
		return r;
	tcp_output(c);
	return (long)len;
}

long tcp_recv(struct tcp_conn *c, void *buf, size_t len)
{
	if (c->c_state == TCP_LISTEN)
		return -ENOTCONN;
	if (len == 0)
		return 0;
	size_t n = c->c_rbuf ? tcp_rcvbuf_read(c, buf, len) : 0;
	if (n) {
		/* tell the peer about the room, once it is worth a segment */
		uint32_t edge = c->c_rcv_nxt + tcp_rcvbuf_space(c);
		uint32_t grown = SEQ_GT(edge, c->c_rcv_adv) ? edge - c->c_rcv_adv : 0;
		bool may_ack = c->c_state == TCP_ESTABLISHED || c->c_state == TCP_FIN_WAIT_1 ||
			       c->c_state == TCP_FIN_WAIT_2;
		if (may_ack && (grown >= 2u * c->c_mss || grown >= c->c_rbuf_size / 2)) {
			c->c_flags |= TF_ACK_NOW;
			tcp_output(c);
		}
		return (long)n;
	}
	if (c->c_flags & TF_FIN_RCVD)
		return 0;
	if (c->c_err)
		return c->c_err;
	if (c->c_state == TCP_CLOSED)
		return c->c_flags & TF_CONNECTED ? 0 : -ENOTCONN;
	return -E_AGAIN;
}

int tcp_shutdown(struct tcp_conn *c)
{
	if (c->c_flags & TF_SHUT_WR)
		return 0;
	switch (c->c_state) {
	case TCP_SYN_SENT: tcp_drop(c, 0); return 0;
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
		c->c_flags |= TF_SHUT_WR;
		tcp_set_state(c, TCP_FIN_WAIT_1);
		break;
	case TCP_CLOSE_WAIT:
		c->c_flags |= TF_SHUT_WR;
		tcp_set_state(c, TCP_LAST_ACK);
		break;
	case TCP_LISTEN:
	case TCP_CLOSED: return -ENOTCONN;
	default: return 0;
	}
	tcp_output(c);
	return 0;
}

void tcp_abort(struct tcp_conn *c)
{
	switch (c->c_state) {
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT_1:
	case TCP_FIN_WAIT_2:
	case TCP_CLOSE_WAIT:
		tcp_send_rst(c->c_st, c->c_lip, c->c_lport, c->c_rip, c->c_rport, c->c_snd_nxt, 0,
			     false);
		break;
	default: break;
	}
	tcp_conn_free(c);
}

void tcp_close(struct tcp_conn *c)
{
	switch (c->c_state) {
	case TCP_LISTEN:
	case TCP_CLOSED:
	case TCP_SYN_SENT: tcp_conn_free(c); return;
	case TCP_TIME_WAIT: tcp_tw_enter(c); return;
	default: break;
	}
	/* RFC 2525 2.17: unread data means the peer's bytes were lost */
	if (c->c_linger == 0 || tcp_rcvbuf_unread(c)) {
		tcp_abort(c);
		return;
	}
	c->c_flags |= TF_ORPHAN;
	tcp_shutdown(c);
	if (c->c_state == TCP_FIN_WAIT_2) {
		c->c_close_at = tcp_now(c->c_st) + TCP_FIN_WAIT_2_US;
		tcp_timer_update(c);
	}
}

unsigned tcp_events(const struct tcp_conn *c)
{
	unsigned ev = 0;
	if (c->c_state == TCP_LISTEN) {
		for (const struct tcp_conn *k = c->c_children; k; k = k->c_lnext)
			if (k->c_state != TCP_SYN_RECEIVED)
				return TCP_EV_IN;
		return 0;
	}
	if (c->c_flags & TF_CONNECTED)
		ev |= TCP_EV_CONN;
	if (c->c_err)
		ev |= TCP_EV_ERR | TCP_EV_IN | TCP_EV_OUT | TCP_EV_HUP;
	if (tcp_rcvbuf_unread(c) || (c->c_flags & TF_FIN_RCVD))
		ev |= TCP_EV_IN;
	if (c->c_flags & TF_FIN_RCVD)
		ev |= TCP_EV_HUP;
	if (c->c_state == TCP_CLOSED && (c->c_flags & TF_CONNECTED))
		ev |= TCP_EV_HUP | TCP_EV_IN;
	if ((c->c_state == TCP_ESTABLISHED || c->c_state == TCP_CLOSE_WAIT) &&
	    !(c->c_flags & TF_SHUT_WR) && tcp_send_room(c) > 0)
		ev |= TCP_EV_OUT;
	return ev;
}

int tcp_error(const struct tcp_conn *c)
{
	return c->c_err;
}

enum tcp_state tcp_state(const struct tcp_conn *c)
{
	return (enum tcp_state)c->c_state;
}

void tcp_addrs(const struct tcp_conn *c, uint32_t *lip, uint16_t *lport, uint32_t *rip,
	       uint16_t *rport)
{
	if (lip)
		*lip = c->c_lip;
	if (lport)
		*lport = c->c_lport;
	if (rip)
		*rip = c->c_rip;
	if (rport)
		*rport = c->c_rport;
}

void tcp_set_user(struct tcp_conn *c, void *user)
{
	c->c_user = user;
}

void *tcp_user(const struct tcp_conn *c)
{
	return c->c_user;
}

static void set_flag(struct tcp_conn *c, uint32_t flag, int on)
{
	if (on)
		c->c_flags |= flag;
	else
		c->c_flags &= ~flag;
}

int tcp_setopt(struct tcp_conn *c, enum tcp_opt opt, int v)
{
	switch (opt) {
	case TCP_OPT_NODELAY:
		set_flag(c, TF_NODELAY, v);
		if (v)
			tcp_output(c);
		return 0;
	case TCP_OPT_CORK:
		set_flag(c, TF_CORK, v);
		if (!v)
			tcp_output(c);
		return 0;
	case TCP_OPT_KEEPALIVE:
		set_flag(c, TF_KEEPALIVE, v);
		tcp_keep_reset(c);
		return 0;
	case TCP_OPT_KEEPIDLE:
	case TCP_OPT_KEEPINTVL:
		if (v < 1 || v > 32767)
			return -E_INVAL;
		if (opt == TCP_OPT_KEEPIDLE)
			c->c_keepidle_s = (uint16_t)v;
		else
			c->c_keepintvl_s = (uint16_t)v;
		tcp_keep_reset(c);
		return 0;
	case TCP_OPT_KEEPCNT:
		if (v < 1 || v > 255)
			return -E_INVAL;
		c->c_keepcnt = (uint8_t)v;
		return 0;
	case TCP_OPT_SNDBUF:
		if (v < TCP_BUF_MIN || v > TCP_BUF_MAX)
			return -E_INVAL;
		c->c_sndbuf = (uint32_t)v;
		return 0;
	case TCP_OPT_RCVBUF:
		/* the ring and the window scale are fixed at the handshake */
		if (v < TCP_BUF_MIN || v > TCP_BUF_MAX)
			return -E_INVAL;
		if ((c->c_state != TCP_CLOSED && c->c_state != TCP_LISTEN) || c->c_rbuf)
			return -EISCONN; /* (a closed one's unread bytes keep their ring) */
		c->c_rbuf_size = (uint32_t)v;
		c->c_flags |= TF_RBUF_SET;
		return 0;
	case TCP_OPT_LINGER:
		if (v != -1 && v != 0)
			return -E_INVAL;
		c->c_linger = (int8_t)v;
		return 0;
	}
	return -E_INVAL;
}

int tcp_getopt(const struct tcp_conn *c, enum tcp_opt opt, int *v)
{
	switch (opt) {
	case TCP_OPT_CORK: *v = !!(c->c_flags & TF_CORK); return 0;
	case TCP_OPT_NODELAY: *v = !!(c->c_flags & TF_NODELAY); return 0;
	case TCP_OPT_KEEPALIVE: *v = !!(c->c_flags & TF_KEEPALIVE); return 0;
	case TCP_OPT_KEEPIDLE: *v = c->c_keepidle_s; return 0;
	case TCP_OPT_KEEPINTVL: *v = c->c_keepintvl_s; return 0;
	case TCP_OPT_KEEPCNT: *v = c->c_keepcnt; return 0;
	case TCP_OPT_SNDBUF: *v = (int)c->c_sndbuf; return 0;
	case TCP_OPT_RCVBUF: *v = (int)c->c_rbuf_size; return 0;
	case TCP_OPT_LINGER: *v = c->c_linger; return 0;
	}
	return -E_INVAL;
}

int tcp_getopt_default(enum tcp_opt opt, int *v)
{
	switch (opt) {
	case TCP_OPT_NODELAY:
	case TCP_OPT_KEEPALIVE:
	case TCP_OPT_CORK: *v = 0; return 0;
	case TCP_OPT_KEEPIDLE: *v = TCP_KEEPIDLE_S; return 0;
	case TCP_OPT_KEEPINTVL: *v = TCP_KEEPINTVL_S; return 0;
	case TCP_OPT_KEEPCNT: *v = TCP_KEEPCNT; return 0;
	case TCP_OPT_SNDBUF: *v = TCP_SNDBUF_DEFAULT; return 0;
	case TCP_OPT_RCVBUF: *v = TCP_RCVBUF_DEFAULT; return 0;
	case TCP_OPT_LINGER: *v = -1; return 0;
	}
	return -E_INVAL;
}
