/*
 * The appliance's event loop (interface in lib/appl/appl.h).
 *
 * One turn: sleep in the kernel until a frame arrives or the earliest of
 * the TCP stack's timers, the connections' deadlines and the ticks is due
 * (tcpnet_run; no sleep when work is already waiting), then call the
 * program back. The stack's wake hook (tcpnet_set_wake) puts a connection
 * whose state changed on the ready list, so a turn touches only the
 * connections that have something to do, never all of them: what makes
 * 1,000 open connections cost no more per turn than one.
 *
 * A turn serves the ready list as it stood when it began; connections
 * woken or kicked meanwhile wait for the next turn, so one that always has
 * work cannot keep the others (or the network) from being served.
 * Listeners on the list accept everything waiting; each new connection is
 * put on the list at once, since its first data may already be there.
 *
 * Deadlines are a binary heap of connections keyed by time; ticks are a
 * short array. A connection closed while on the ready list is only marked
 * (its tcp_conn gone) and freed when the list reaches it.
 */
#include <lib/appl/appl.h>
#include <lib/base/libos.h>
#include <lib/net/tcpnet.h>

enum { KIND_CONN = 0x636f6e6e, KIND_LISTENER = 0x6c697374 };

struct appl_listener {
	uint32_t l_kind;
	struct tcp_conn *l_tcp;
	const struct appl_ops *l_ops;
	void *l_arg;
	bool l_ready;
	struct appl_listener *l_next;
};

struct appl_conn {
	uint32_t ac_kind;
	bool ac_ready;
	struct tcp_conn *ac_tcp; /* NULL once closed */
	void *ac_user;
	struct appl_listener *ac_l;
	struct appl_conn *ac_next; /* on the ready list */
	uint64_t ac_deadline;
	size_t ac_heap;            /* its index + 1 in the heap, 0 when not there */
	char ac_peer[24];
};

static struct appl_conn *ready_head, *ready_tail;
static struct appl_listener *listeners;
static bool listener_ready, stopping;
static struct appl_conn **heap;
static size_t heap_len, heap_cap;
static struct {
	uint64_t period, next;
	void (*fn)(void *arg);
	void *arg;
} ticks[APPL_TICKS];
static int nticks;
static struct appl_loop_stats lstats;

uint64_t appl_now_ms(void)
{
	return net_now_ms();
}

static void ready_push(struct appl_conn *c)
{
	if (c->ac_ready)
		return;
	c->ac_ready = true;
	c->ac_next = NULL;
	if (ready_tail)
		ready_tail->ac_next = c;
	else
		ready_head = c;
	ready_tail = c;
}

/* The stack's wake hook: note who needs attention; nothing else. */
static void on_wake(struct tcp_conn *tc)
{
	uint32_t *kind = tcp_user(tc);
	if (!kind)
		return; /* not accepted yet: its listener is woken too */
	if (*kind == KIND_LISTENER) {
		struct appl_listener *l = (struct appl_listener *)kind;
		l->l_ready = true;
		listener_ready = true;
	} else if (*kind == KIND_CONN) {
		ready_push((struct appl_conn *)kind);
	}
}

/* --- deadlines: a binary heap on ac_deadline --- */
static void heap_place(size_t i, struct appl_conn *c)
{
	heap[i] = c;
	c->ac_heap = i + 1;
}

static void heap_up(size_t i)
{
	struct appl_conn *c = heap[i];
	while (i > 0 && heap[(i - 1) / 2]->ac_deadline > c->ac_deadline) {
		heap_place(i, heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_place(i, c);
}

static void heap_down(size_t i)
{
	struct appl_conn *c = heap[i];
	for (;;) {
		size_t k = 2 * i + 1;
		if (k >= heap_len)
			break;
		if (k + 1 < heap_len && heap[k + 1]->ac_deadline < heap[k]->ac_deadline)
			k++;
		if (heap[k]->ac_deadline >= c->ac_deadline)
			break;
		heap_place(i, heap[k]);
		i = k;
	}
	heap_place(i, c);
}

static void heap_remove(struct appl_conn *c)
{
	if (!c->ac_heap)
		return;
	size_t i = c->ac_heap - 1;
	c->ac_heap = 0;
	struct appl_conn *last = heap[--heap_len];
	if (last == c)
		return;
	heap_place(i, last);
	heap_up(i);
	heap_down(last->ac_heap - 1);
}

static bool heap_grow(void)
{
	size_t cap = heap_cap ? heap_cap * 2 : 256;
	struct appl_conn **h = appl_alloc(cap * sizeof(*h));
	if (!h)
		return false;
	if (heap_len)
		memcpy(h, heap, heap_len * sizeof(*h));
	appl_free(heap);
	heap = h;
	heap_cap = cap;
	return true;
}

void appl_conn_set_deadline(struct appl_conn *c, uint64_t at_ms)
{
	if (!at_ms) {
		heap_remove(c);
		c->ac_deadline = 0;
		return;
	}
	if (c->ac_heap) {
		c->ac_deadline = at_ms;
		heap_up(c->ac_heap - 1);
		heap_down(c->ac_heap - 1);
		return;
	}
	if (heap_len == heap_cap && !heap_grow()) {
		/* no memory for the heap: run it on the next turn instead of never */
		c->ac_deadline = 0;
		ready_push(c);
		return;
	}
	c->ac_deadline = at_ms;
	heap_len++;
	heap_place(heap_len - 1, c);
	heap_up(heap_len - 1);
}

/* --- connections --- */
struct tcp_conn *appl_conn_tcp(const struct appl_conn *c)
{
	return c->ac_tcp;
}

void *appl_conn_user(const struct appl_conn *c)
{
	return c->ac_user;
}

void appl_conn_set_user(struct appl_conn *c, void *user)
{
	c->ac_user = user;
}

const char *appl_conn_peer(const struct appl_conn *c)
{
	return c->ac_peer;
}

void appl_kick(struct appl_conn *c)
{
	if (c->ac_tcp)
		ready_push(c);
}

static void forget(struct appl_conn *c)
{
	heap_remove(c);
	tcp_set_user(c->ac_tcp, NULL);
	c->ac_tcp = NULL;
	c->ac_user = NULL;
	lstats.open--;
	if (!c->ac_ready)
		appl_free(c); /* else freed when the ready list reaches it */
}

void appl_close(struct appl_conn *c)
{
	if (!c->ac_tcp)
		return;
	struct tcp_conn *tc = c->ac_tcp;
	forget(c);
	tcp_close(tc);
}

void appl_abort(struct appl_conn *c)
{
	if (!c->ac_tcp)
		return;
	struct tcp_conn *tc = c->ac_tcp;
	forget(c);
	tcp_abort(tc);
}

struct appl_listener *appl_listen(uint16_t port, int backlog, const struct appl_ops *ops, void *arg,
				  int *err)
{
	struct appl_listener *l = appl_calloc(sizeof(*l));
	if (!l) {
		*err = -E_NO_MEM;
		return NULL;
	}
	tcpnet_set_wake(on_wake);
	l->l_tcp = tcpnet_listen(port, backlog, err);
	if (!l->l_tcp) {
		appl_free(l);
		return NULL;
	}
	l->l_kind = KIND_LISTENER;
	l->l_ops = ops;
	l->l_arg = arg;
	l->l_ready = true; /* connections may have come before the hook was set */
	listener_ready = true;
	l->l_next = listeners;
	listeners = l;
	tcp_set_user(l->l_tcp, l);
	*err = 0;
	return l;
}

static void accept_all(struct appl_listener *l)
{
	int err;
	struct tcp_conn *tc;
	while ((tc = tcp_accept(l->l_tcp, &err))) {
		struct appl_conn *c = appl_calloc(sizeof(*c));
		if (!c) {
			tcp_abort(tc);
			lstats.refused++;
			continue;
		}
		c->ac_kind = KIND_CONN;
		c->ac_tcp = tc;
		c->ac_l = l;
		uint32_t rip;
		uint16_t rport;
		tcp_addrs(tc, NULL, NULL, &rip, &rport);
		snprintf(c->ac_peer, sizeof(c->ac_peer), "%u.%u.%u.%u:%u", rip >> 24,
			 (rip >> 16) & 255, (rip >> 8) & 255, rip & 255, rport);
		tcp_set_user(tc, c);
		lstats.open++;
		lstats.most_open = MAX(lstats.most_open, lstats.open);
		if (!l->l_ops->on_accept(c, l->l_arg)) {
			lstats.refused++;
			appl_abort(c);
			continue;
		}
		lstats.accepts++;
		ready_push(c);
	}
}

/* --- the loop --- */
int appl_every(uint64_t period_ms, void (*fn)(void *arg), void *arg)
{
	if (nticks == APPL_TICKS)
		return -E_NO_MEM;
	period_ms = MAX(period_ms, 1ULL);
	ticks[nticks].period = period_ms;
	ticks[nticks].next = appl_now_ms() + period_ms;
	ticks[nticks].fn = fn;
	ticks[nticks].arg = arg;
	nticks++;
	return 0;
}

void appl_stop(void)
{
	stopping = true;
}

/* How long the next sleep may last. */
static uint64_t sleep_ms(uint64_t now)
{
	if (ready_head || listener_ready || stopping)
		return 0;
	uint64_t until = 60000;
	for (int i = 0; i < nticks; i++)
		until = MIN(until, ticks[i].next > now ? ticks[i].next - now : 0);
	if (heap_len)
		until = MIN(until, heap[0]->ac_deadline > now ? heap[0]->ac_deadline - now : 0);
	return until;
}

static void run_due(uint64_t now)
{
	for (int i = 0; i < nticks; i++) {
		if (ticks[i].next > now)
			continue;
		ticks[i].next = now + ticks[i].period;
		ticks[i].fn(ticks[i].arg);
	}
	while (heap_len && heap[0]->ac_deadline <= now) {
		struct appl_conn *c = heap[0];
		heap_remove(c);
		c->ac_deadline = 0;
		lstats.timers++;
		c->ac_l->l_ops->on_timer(c);
	}
}

static void serve_ready(void)
{
	if (listener_ready) {
		listener_ready = false;
		for (struct appl_listener *l = listeners; l; l = l->l_next) {
			if (l->l_ready) {
				l->l_ready = false;
				accept_all(l);
			}
		}
	}
	struct appl_conn *c = ready_head;
	ready_head = ready_tail = NULL;
	while (c) {
		struct appl_conn *next = c->ac_next;
		c->ac_ready = false;
		if (!c->ac_tcp) {
			appl_free(c); /* closed while it waited */
		} else {
			lstats.events++;
			c->ac_l->l_ops->on_event(c, tcp_events(c->ac_tcp));
		}
		c = next;
	}
}

int appl_run(void)
{
	tcpnet_set_wake(on_wake);
	while (!stopping) {
		lstats.turns++;
		uint64_t wait = sleep_ms(appl_now_ms());
		if (wait)
			lstats.sleeps++;
		/* what the turn sends - answers to the frames, the program's
		 * replies, the timers' - leaves in one batch (tcpnet_run flushes
		 * before it sleeps) */
		net_tx_batch_begin();
		uint64_t t0 = rdtsc();
		int r = tcpnet_run(wait);
		uint64_t t1 = rdtsc(), t2 = t1;
		if (r >= 0) {
			lstats.frames += (uint64_t)r;
			serve_ready();
			t2 = rdtsc();
			run_due(appl_now_ms());
		}
		uint64_t t3 = rdtsc();
		net_tx_batch_end_later(); /* the next turn's tcpnet_run sends the rest */
		lstats.cyc_net += t1 - t0;
		lstats.cyc_serve += t2 - t1;
		lstats.cyc_due += t3 - t2;
		lstats.cyc_flush += rdtsc() - t3;
		if (r < 0) {
			net_tx_batch_end();
			return r;
		}
	}
	net_tx_batch_begin();
	net_tx_batch_end(); /* nothing left behind */
	stopping = false;
	return 0;
}

void appl_loop_stats(struct appl_loop_stats *s)
{
	*s = lstats;
}
