/*
 * Event sets (lib/net/sock.h's sock_epoll_*): epoll's interface over the
 * socket table, for servers with many connections.
 *
 * Each set keeps a ready list of its sockets that may be ready; a socket
 * goes on it when added or changed, and whenever the TCP stack or UDP says
 * its readiness may have changed (sockev_wake, from th_wake and
 * udp_on_datagram). sock_epoll_wait first processes what has arrived
 * (tcpnet_run(0): the receive ring is shared memory, so this takes no
 * system call), then walks the ready list only: each socket's readiness is
 * computed now, reported if it meets the interest, and the socket stays on
 * the list while level-triggered and still ready (moved to the end, so a
 * busy socket does not starve the others), leaves it otherwise. A wait
 * therefore costs the sockets that changed, not the sockets in the set.
 * With nothing ready it sleeps in the kernel (sys_net_wait inside
 * tcpnet_run) until a frame arrives or a TCP timer is due: an idle server
 * with no timers pending is not run at all until a frame or its timeout.
 *
 * Edge-triggered sockets (SOCK_EV_ET) leave the list once reported and come
 * back on the next wake-up; one-shot ones (SOCK_EV_ONESHOT) are disarmed
 * until SOCK_CTL_MOD. A socket belongs to one set at most.
 *
 * What a socket is ready for (sock_ready, and sock_poll for a descriptor
 * layer's poll) is computed here too, from the stack's events and the
 * socket's own shutdowns.
 */
#include <lib/net/sock_int.h>
#include <lib/net/tcpnet.h>

struct epset {
	bool e_used;
	int e_head, e_tail; /* the ready list (socket numbers; -1: empty) */
};

static struct epset sets[SOCK_EPOLL_MAX];

static struct epset *set_of(int ep)
{
	return ep >= 0 && ep < SOCK_EPOLL_MAX && sets[ep].e_used ? &sets[ep] : NULL;
}

static void unlink_ready(struct epset *e, struct sock *s)
{
	if (!s->s_queued)
		return;
	if (s->s_prev >= 0)
		sock_table[s->s_prev].s_next = s->s_next;
	else
		e->e_head = s->s_next;
	if (s->s_next >= 0)
		sock_table[s->s_next].s_prev = s->s_prev;
	else
		e->e_tail = s->s_prev;
	s->s_prev = s->s_next = -1;
	s->s_queued = false;
}

static void link_ready(struct epset *e, struct sock *s)
{
	int n = sock_number(s);
	s->s_prev = e->e_tail;
	s->s_next = -1;
	if (e->e_tail >= 0)
		sock_table[e->e_tail].s_next = n;
	else
		e->e_head = n;
	e->e_tail = n;
	s->s_queued = true;
}

void (*sock_change_hook)(int sd);

void sockev_wake(struct sock *s)
{
	if (sock_change_hook)
		sock_change_hook(sock_number(s));
	if (s->s_ep < 0 || s->s_queued || !s->s_ev_mask)
		return;
	link_ready(&sets[s->s_ep], s);
}

void sockev_forget(struct sock *s)
{
	if (s->s_ep < 0)
		return;
	unlink_ready(&sets[s->s_ep], s);
	s->s_ep = -1;
	s->s_ev_mask = 0;
}

int sock_epoll_create(void)
{
	for (int i = 0; i < SOCK_EPOLL_MAX; i++) {
		if (!sets[i].e_used) {
			sets[i] = (struct epset){ true, -1, -1 };
			return i;
		}
	}
	return -E_FULL;
}

int sock_epoll_close(int ep)
{
	struct epset *e = set_of(ep);
	if (!e)
		return -EBADF;
	for (int i = 0; i < SOCK_MAX; i++)
		if (sock_table[i].s_type && sock_table[i].s_ep == ep)
			sockev_forget(&sock_table[i]);
	e->e_used = false;
	return 0;
}

#define EV_KNOWN                                                                   \
	(SOCK_EV_IN | SOCK_EV_OUT | SOCK_EV_ERR | SOCK_EV_HUP | SOCK_EV_RDHUP | \
	 SOCK_EV_ONESHOT | SOCK_EV_ET)

int sock_epoll_ctl(int ep, int op, int sd, const struct sock_event *ev)
{
	struct epset *e = set_of(ep);
	if (!e)
		return -EBADF;
	if (sd < 0 || sd >= SOCK_MAX || !sock_table[sd].s_type)
		return -EBADF;
	struct sock *s = &sock_table[sd];
	if (op != SOCK_CTL_DEL && (!ev || (ev->events & ~EV_KNOWN)))
		return -E_INVAL;
	switch (op) {
	case SOCK_CTL_ADD:
		if (s->s_ep >= 0)
			return -E_BUSY;
		s->s_ep = ep;
		break;
	case SOCK_CTL_MOD:
		if (s->s_ep != ep)
			return -E_NOT_FOUND;
		break;
	case SOCK_CTL_DEL:
		if (s->s_ep != ep)
			return -E_NOT_FOUND;
		sockev_forget(s);
		return 0;
	default: return -E_INVAL;
	}
	/* errors and hang-ups are always reported, as epoll does */
	s->s_ev_mask = ev->events | SOCK_EV_ERR | SOCK_EV_HUP;
	s->s_ev_data = ev->data;
	sockev_wake(s); /* look at it on the next wait */
	return 0;
}

/* Report what is ready on e's list into evs (at most max). */
static int collect(struct epset *e, struct sock_event *evs, int max)
{
	int n = 0;
	/* each socket on the list now is looked at once; those kept go to
	 * the end, behind the ones not yet looked at */
	int count = 0;
	for (int i = e->e_head; i >= 0; i = sock_table[i].s_next)
		count++;
	while (count-- > 0 && n < max && e->e_head >= 0) {
		struct sock *s = &sock_table[e->e_head];
		unlink_ready(e, s);
		unsigned ready = sock_ready(s) & s->s_ev_mask;
		if (!ready)
			continue;
		evs[n].events = ready & ~(SOCK_EV_ET | SOCK_EV_ONESHOT);
		evs[n].data = s->s_ev_data;
		n++;
		if (s->s_ev_mask & SOCK_EV_ONESHOT)
			s->s_ev_mask = 0;
		else if (!(s->s_ev_mask & SOCK_EV_ET))
			link_ready(e, s);
	}
	return n;
}

int sock_epoll_wait(int ep, struct sock_event *evs, int max, int64_t timeout_ms)
{
	struct epset *e = set_of(ep);
	if (!e)
		return -EBADF;
	if (!evs || max <= 0)
		return -E_INVAL;
	uint64_t now = net_now_ms();
	uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : now + (uint64_t)timeout_ms;
	int r = tcpnet_run(0); /* what has arrived, without a system call */
	if (r < 0)
		return r;
	for (;;) {
		int n = collect(e, evs, max);
		if (n)
			return n;
		now = net_now_ms();
		if (now >= deadline)
			return 0;
		r = tcpnet_run(deadline == UINT64_MAX ? UINT64_MAX : deadline - now);
		if (r < 0)
			return r;
	}
}

/* --- readiness --- */
unsigned sock_ready(const struct sock *s)
{
	if (s->s_type == SOCK_DGRAM) {
		unsigned ev = s->s_shut_wr ? 0 : SOCK_EV_OUT;
		if (udp_pending(s->s_udp) > 0 || s->s_shut_rd)
			ev |= SOCK_EV_IN;
		return ev;
	}
	if (!s->s_c)
		return SOCK_EV_OUT | SOCK_EV_HUP; /* as Linux: nothing to wait for */
	unsigned t = tcp_events(s->s_c), ev = 0;
	if (s->s_listening)
		return t & TCP_EV_IN ? SOCK_EV_IN : 0;
	if (t & TCP_EV_IN)
		ev |= SOCK_EV_IN;
	if (t & TCP_EV_OUT)
		ev |= SOCK_EV_OUT;
	if (t & TCP_EV_HUP)
		ev |= SOCK_EV_RDHUP | SOCK_EV_IN;
	if (s->s_shut_rd)
		ev |= SOCK_EV_IN | SOCK_EV_RDHUP;
	if (t & TCP_EV_ERR)
		ev |= SOCK_EV_ERR | SOCK_EV_HUP | SOCK_EV_IN | SOCK_EV_OUT;
	enum tcp_state st = tcp_state(s->s_c);
	bool sent_all = s->s_shut_wr || st == TCP_LAST_ACK || st == TCP_CLOSING ||
			st == TCP_TIME_WAIT || st == TCP_CLOSED;
	if ((t & TCP_EV_HUP) && sent_all)
		ev |= SOCK_EV_HUP;
	return ev;
}

int sock_poll(int sd)
{
	struct sock *s = sock_get(sd);
	return s ? (int)sock_ready(s) : -EBADF;
}
