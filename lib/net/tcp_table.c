/*
 * The TCP stack's tables: connections by 4-tuple, listeners by port,
 * TIME_WAIT entries by 4-tuple, and the timer heap; also the stack's
 * creation, memory accounting and the hooks' wrappers.
 *
 * Lookups are hashed, never list walks: a chained table whose keyed hash
 * (tcp_isn.c) a peer cannot aim, doubled when it holds more entries than
 * buckets, so 10,000 established connections and 100,000 in TIME_WAIT
 * leave a new connection's lookups at a bucket or two.
 *
 * Timers: each connection has one deadline, the earliest of its timers
 * (tcp_timer.c), kept in a binary min-heap, so finding what is due is
 * O(1) and rearming O(log n). TIME_WAIT entries all last 2 MSL from when
 * they were made, so they expire in the order made: a FIFO, no heap.
 *
 * A connection the application has closed that reaches TIME_WAIT becomes a
 * struct tcp_tw of 56 bytes, and its buffers and block are freed.
 */
#include <common/string.h>
#include <lib/net/tcp_int.h>

#define TF_HASHED 0x80000000u /* in st_conns (or st_listeners, if listening) */
#define HASH_MIN 64

struct hnode {
	struct hnode *next;
};

void *tcp_alloc(struct tcp_stack *st, size_t size)
{
	void *p = st->st_hooks.th_alloc(st->st_hooks.th_ctx, size);
	if (p)
		st->st_mem += size;
	return p;
}

void tcp_free(struct tcp_stack *st, void *p, size_t size)
{
	if (!p)
		return;
	st->st_mem -= size;
	st->st_hooks.th_free(st->st_hooks.th_ctx, p, size);
}

uint64_t tcp_now(struct tcp_stack *st)
{
	return st->st_hooks.th_now_us(st->st_hooks.th_ctx);
}

void tcp_wake(struct tcp_conn *c)
{
	struct tcp_stack *st = c->c_st;
	if (st->st_hooks.th_wake && !(c->c_flags & TF_ORPHAN))
		st->st_hooks.th_wake(st->st_hooks.th_ctx, c);
}

/* --- the hash tables --- */
typedef uint32_t key_fn(struct tcp_stack *st, const void *node);

static uint32_t conn_key(struct tcp_stack *st, const void *n)
{
	const struct tcp_conn *c = n;
	return tcp_tuple_hash(st, c->c_lip, c->c_lport, c->c_rip, c->c_rport);
}

static uint32_t tw_key(struct tcp_stack *st, const void *n)
{
	const struct tcp_tw *t = n;
	return tcp_tuple_hash(st, t->tw_lip, t->tw_lport, t->tw_rip, t->tw_rport);
}

static uint32_t listener_key(struct tcp_stack *st, const void *n)
{
	const struct tcp_conn *c = n;
	return tcp_tuple_hash(st, 0, c->c_lport, 0, 0);
}

static int hash_init(struct tcp_stack *st, struct tcp_hash *h)
{
	h->h_buckets = tcp_alloc(st, HASH_MIN * sizeof(void *));
	if (!h->h_buckets)
		return -E_NO_MEM;
	memset(h->h_buckets, 0, HASH_MIN * sizeof(void *));
	h->h_size = HASH_MIN;
	h->h_count = 0;
	return 0;
}

/* Double the table; if memory is short, the chains just grow longer. */
static void hash_grow(struct tcp_stack *st, struct tcp_hash *h, key_fn *key)
{
	uint32_t nsize = h->h_size * 2;
	void **nb = tcp_alloc(st, nsize * sizeof(void *));
	if (!nb)
		return;
	memset(nb, 0, nsize * sizeof(void *));
	for (uint32_t i = 0; i < h->h_size; i++) {
		struct hnode *n = h->h_buckets[i], *next;
		for (; n; n = next) {
			next = n->next;
			uint32_t b = key(st, n) & (nsize - 1);
			n->next = nb[b];
			nb[b] = n;
		}
	}
	tcp_free(st, h->h_buckets, h->h_size * sizeof(void *));
	h->h_buckets = nb;
	h->h_size = nsize;
}

static void hash_insert(struct tcp_stack *st, struct tcp_hash *h, void *node, key_fn *key)
{
	if (h->h_count >= h->h_size)
		hash_grow(st, h, key);
	struct hnode *n = node;
	uint32_t b = key(st, node) & (h->h_size - 1);
	n->next = h->h_buckets[b];
	h->h_buckets[b] = n;
	h->h_count++;
}

static void hash_remove(struct tcp_stack *st, struct tcp_hash *h, void *node, key_fn *key)
{
	uint32_t b = key(st, node) & (h->h_size - 1);
	for (struct hnode **pp = (struct hnode **)&h->h_buckets[b]; *pp; pp = &(*pp)->next) {
		if (*pp == node) {
			*pp = ((struct hnode *)node)->next;
			h->h_count--;
			return;
		}
	}
}

/* --- the stack --- */
struct tcp_stack *tcp_stack_new(const struct tcp_hooks *hooks, const uint8_t secret[16])
{
	struct tcp_stack *st = hooks->th_alloc(hooks->th_ctx, sizeof(*st));
	if (!st)
		return NULL;
	memset(st, 0, sizeof(*st));
	st->st_hooks = *hooks;
	memcpy(st->st_secret, secret, 16);
	st->st_mem = sizeof(*st);
	st->st_msl_ms = TCP_MSL_DEFAULT_MS;
	st->st_eph_first = TCP_EPHEMERAL_FIRST;
	st->st_eph_count = 65536 - TCP_EPHEMERAL_FIRST;
	st->st_next_port = (uint16_t)(TCP_EPHEMERAL_FIRST +
				      tcp_keyed_hash(secret, "port", 4) % st->st_eph_count);
	if (hash_init(st, &st->st_conns) < 0 || hash_init(st, &st->st_tws) < 0 ||
	    hash_init(st, &st->st_listeners) < 0) {
		tcp_stack_free(st);
		return NULL;
	}
	return st;
}

int tcp_stack_set_ephemeral(struct tcp_stack *st, uint16_t first, uint32_t count)
{
	if (first == 0 || count == 0 || first + count > 65536)
		return -E_INVAL;
	st->st_eph_first = first;
	st->st_eph_count = count;
	st->st_next_port = (uint16_t)(first + tcp_keyed_hash(st->st_secret, "port", 4) % count);
	return 0;
}

int tcp_stack_set_offload(struct tcp_stack *st, bool csum, uint32_t tso_max)
{
	if (tso_max && (!csum || tso_max > TCP_TSO_MAX))
		return -E_INVAL;
	st->st_csum_offload = csum;
	st->st_tso_max = tso_max;
	return 0;
}

void tcp_stack_free(struct tcp_stack *st)
{
	st->st_dying = true;
	/* listeners first: freeing one frees its unaccepted children */
	struct tcp_hash *hs[2] = { &st->st_listeners, &st->st_conns };
	for (int k = 0; k < 2; k++) {
		struct tcp_hash *h = hs[k];
		for (uint32_t i = 0; h->h_buckets && i < h->h_size; i++)
			while (h->h_buckets[i])
				tcp_conn_free(h->h_buckets[i]);
	}
	/* connections never hashed (closed before connecting) are the
	 * caller's to close; anything left in the heap goes too */
	while (st->st_heap_len)
		tcp_conn_free(st->st_heap[0]);
	while (st->st_da_first)
		tcp_conn_free(st->st_da_first);
	while (st->st_tw_first)
		tcp_tw_free(st, st->st_tw_first);
	while (st->st_nspare)
		tcp_free(st, st->st_rbuf_spare[--st->st_nspare], TCP_RCVBUF_DEFAULT);
	struct tcp_hash *all[3] = { &st->st_conns, &st->st_tws, &st->st_listeners };
	for (int k = 0; k < 3; k++)
		tcp_free(st, all[k]->h_buckets, all[k]->h_size * sizeof(void *));
	tcp_free(st, st->st_heap, st->st_heap_cap * sizeof(*st->st_heap));
	st->st_hooks.th_free(st->st_hooks.th_ctx, st, sizeof(*st));
}

const struct tcp_stats *tcp_stack_stats(const struct tcp_stack *st)
{
	return &st->st_stats;
}

void tcp_stack_set_msl(struct tcp_stack *st, uint32_t msl_ms)
{
	st->st_msl_ms = msl_ms;
}

size_t tcp_stack_memory(const struct tcp_stack *st)
{
	return st->st_mem;
}

size_t tcp_conn_size(void)
{
	return sizeof(struct tcp_conn);
}

/* --- connections --- */
struct tcp_conn *tcp_conn_new(struct tcp_stack *st)
{
	struct tcp_conn *c = tcp_alloc(st, sizeof(*c));
	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->c_st = st;
	c->c_state = TCP_CLOSED;
	c->c_sndbuf = TCP_SNDBUF_DEFAULT;
	c->c_rbuf_size = TCP_RCVBUF_DEFAULT;
	c->c_rto_us = TCP_RTO_INIT_US;
	c->c_mss = TCP_MSS_DEFAULT;
	c->c_peer_mss = TCP_MSS_DEFAULT;
	c->c_keepidle_s = TCP_KEEPIDLE_S;
	c->c_keepintvl_s = TCP_KEEPINTVL_S;
	c->c_keepcnt = TCP_KEEPCNT;
	c->c_linger = -1;
	st->st_stats.conns_created++;
	return c;
}

int tcp_hash_conn(struct tcp_conn *c)
{
	hash_insert(c->c_st, &c->c_st->st_conns, c, conn_key);
	c->c_flags |= TF_HASHED;
	return 0;
}

int tcp_hash_listener(struct tcp_conn *l)
{
	hash_insert(l->c_st, &l->c_st->st_listeners, l, listener_key);
	l->c_flags |= TF_HASHED;
	return 0;
}

static void heap_remove(struct tcp_conn *c);

void tcp_conn_free(struct tcp_conn *c)
{
	struct tcp_stack *st = c->c_st;
	if (c->c_flags & TF_HASHED)
		hash_remove(st, c->c_state == TCP_LISTEN ? &st->st_listeners : &st->st_conns, c,
			    c->c_state == TCP_LISTEN ? listener_key : conn_key);
	c->c_flags &= ~TF_HASHED;
	if (c->c_state == TCP_LISTEN) {
		while (c->c_children) {
			struct tcp_conn *k = c->c_children;
			c->c_children = k->c_lnext;
			k->c_parent = NULL;
			k->c_flags |= TF_ORPHAN;
			/* the peer thinks it is connected: tell it otherwise */
			tcp_send_rst(st, k->c_lip, k->c_lport, k->c_rip, k->c_rport, k->c_snd_nxt,
				     0, false);
			tcp_conn_free(k);
		}
	}
	if (c->c_parent) {
		struct tcp_conn *p = c->c_parent;
		for (struct tcp_conn **pp = &p->c_children; *pp; pp = &(*pp)->c_lnext) {
			if (*pp == c) {
				*pp = c->c_lnext;
				p->c_nchildren--;
				break;
			}
		}
		c->c_parent = NULL;
	}
	heap_remove(c);
	tcp_delack_cancel(c);
	tcp_rcvbuf_free(c);
	tcp_sndbuf_free(c);
	st->st_stats.conns_freed++;
	tcp_free(st, c, sizeof(*c));
}

struct tcp_conn *tcp_lookup(struct tcp_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
			    uint16_t rport)
{
	struct tcp_hash *h = &st->st_conns;
	uint32_t b = tcp_tuple_hash(st, lip, lport, rip, rport) & (h->h_size - 1);
	for (struct tcp_conn *c = h->h_buckets[b]; c; c = c->c_hnext) {
		st->st_stats.lookup_steps++;
		if (c->c_lport == lport && c->c_rport == rport && c->c_rip == rip &&
		    c->c_lip == lip)
			return c;
	}
	return NULL;
}

struct tcp_conn *tcp_lookup_listener(struct tcp_stack *st, uint32_t lip, uint16_t lport)
{
	struct tcp_hash *h = &st->st_listeners;
	uint32_t b = tcp_tuple_hash(st, 0, lport, 0, 0) & (h->h_size - 1);
	struct tcp_conn *any = NULL;
	for (struct tcp_conn *c = h->h_buckets[b]; c; c = c->c_hnext) {
		if (c->c_lport != lport)
			continue;
		if (c->c_lip == lip)
			return c;
		if (c->c_lip == 0)
			any = c;
	}
	return any;
}

struct tcp_tw *tcp_lookup_tw(struct tcp_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
			     uint16_t rport)
{
	struct tcp_hash *h = &st->st_tws;
	uint32_t b = tcp_tuple_hash(st, lip, lport, rip, rport) & (h->h_size - 1);
	for (struct tcp_tw *t = h->h_buckets[b]; t; t = t->tw_hnext) {
		st->st_stats.lookup_steps++;
		if (t->tw_lport == lport && t->tw_rport == rport && t->tw_rip == rip &&
		    t->tw_lip == lip)
			return t;
	}
	return NULL;
}

bool tcp_port_in_use(struct tcp_stack *st, uint32_t lip, uint16_t lport)
{
	struct tcp_conn *l = tcp_lookup_listener(st, lip, lport);
	return l && (l->c_lip == lip || l->c_lip == 0 || lip == 0);
}

/* --- TIME_WAIT --- */
void tcp_tw_enter(struct tcp_conn *c)
{
	struct tcp_stack *st = c->c_st;
	struct tcp_tw *tw = tcp_alloc(st, sizeof(*tw));
	if (tw) {
		memset(tw, 0, sizeof(*tw));
		tw->tw_lip = c->c_lip, tw->tw_rip = c->c_rip;
		tw->tw_lport = c->c_lport, tw->tw_rport = c->c_rport;
		tw->tw_snd_nxt = c->c_snd_nxt;
		tw->tw_rcv_nxt = c->c_rcv_nxt;
		tw->tw_ts = !!(c->c_flags & TF_TS);
		tw->tw_ts_recent = c->c_ts_recent;
		tw->tw_ts_offset = c->c_ts_offset;
		tw->tw_rcv_wscale = c->c_rcv_wscale;
		tw->tw_expires_us = tcp_now(st) + 2ULL * st->st_msl_ms * 1000;
		hash_insert(st, &st->st_tws, tw, tw_key);
		tw->tw_qprev = st->st_tw_last;
		if (st->st_tw_last)
			st->st_tw_last->tw_qnext = tw;
		else
			st->st_tw_first = tw;
		st->st_tw_last = tw;
		st->st_stats.tw_count++;
	}
	/* without memory for the entry the connection just ends early */
	tcp_conn_free(c);
}

void tcp_tw_free(struct tcp_stack *st, struct tcp_tw *tw)
{
	hash_remove(st, &st->st_tws, tw, tw_key);
	if (tw->tw_qprev)
		tw->tw_qprev->tw_qnext = tw->tw_qnext;
	else
		st->st_tw_first = tw->tw_qnext;
	if (tw->tw_qnext)
		tw->tw_qnext->tw_qprev = tw->tw_qprev;
	else
		st->st_tw_last = tw->tw_qprev;
	st->st_stats.tw_count--;
	tcp_free(st, tw, sizeof(*tw));
}

void tcp_tw_expire(struct tcp_stack *st, uint64_t now)
{
	while (st->st_tw_first && st->st_tw_first->tw_expires_us <= now)
		tcp_tw_free(st, st->st_tw_first);
}

/* --- the timer heap --- */
static void heap_set(struct tcp_stack *st, uint32_t i, struct tcp_conn *c)
{
	st->st_heap[i] = c;
	c->c_heap_idx = i + 1;
}

static void heap_up(struct tcp_stack *st, uint32_t i)
{
	struct tcp_conn *c = st->st_heap[i];
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (st->st_heap[p]->c_deadline <= c->c_deadline)
			break;
		heap_set(st, i, st->st_heap[p]);
		i = p;
	}
	heap_set(st, i, c);
}

static void heap_down(struct tcp_stack *st, uint32_t i)
{
	struct tcp_conn *c = st->st_heap[i];
	for (;;) {
		uint32_t l = 2 * i + 1, m = i;
		uint64_t best = c->c_deadline;
		if (l < st->st_heap_len && st->st_heap[l]->c_deadline < best)
			m = l, best = st->st_heap[l]->c_deadline;
		if (l + 1 < st->st_heap_len && st->st_heap[l + 1]->c_deadline < best)
			m = l + 1;
		if (m == i)
			break;
		heap_set(st, i, st->st_heap[m]);
		i = m;
	}
	heap_set(st, i, c);
}

static void heap_remove(struct tcp_conn *c)
{
	struct tcp_stack *st = c->c_st;
	if (!c->c_heap_idx)
		return;
	st->st_stats.timer_removes++;
	uint32_t i = c->c_heap_idx - 1;
	c->c_heap_idx = 0;
	struct tcp_conn *last = st->st_heap[--st->st_heap_len];
	if (last == c)
		return;
	heap_set(st, i, last);
	heap_up(st, i);
	heap_down(st, last->c_heap_idx - 1);
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

void tcp_timer_update(struct tcp_conn *c)
{
	struct tcp_stack *st = c->c_st;
	uint64_t d = earliest(c->c_rexmt_at, earliest(c->c_keep_at, c->c_close_at));
	if (!d) {
		heap_remove(c);
		c->c_deadline = 0;
		return;
	}
	if (c->c_heap_idx) {
		uint64_t old = c->c_deadline;
		c->c_deadline = d;
		if (d < old)
			heap_up(st, c->c_heap_idx - 1);
		else if (d > old)
			heap_down(st, c->c_heap_idx - 1);
		return;
	}
	if (st->st_heap_len == st->st_heap_cap) {
		uint32_t ncap = st->st_heap_cap ? st->st_heap_cap * 2 : 64;
		struct tcp_conn **nh = tcp_alloc(st, ncap * sizeof(*nh));
		if (!nh)
			return; /* no timers for c: memory is the caller's limit */
		if (st->st_heap_len)
			memcpy(nh, st->st_heap, st->st_heap_len * sizeof(*nh));
		tcp_free(st, st->st_heap, st->st_heap_cap * sizeof(*nh));
		st->st_heap = nh;
		st->st_heap_cap = ncap;
	}
	c->c_deadline = d;
	st->st_stats.timer_adds++;
	heap_set(st, st->st_heap_len++, c);
	heap_up(st, st->st_heap_len - 1);
}

struct tcp_conn *tcp_heap_first(struct tcp_stack *st)
{
	return st->st_heap_len ? st->st_heap[0] : NULL;
}

void tcp_tw_restart(struct tcp_stack *st, struct tcp_tw *tw)
{
	tw->tw_expires_us = tcp_now(st) + 2ULL * st->st_msl_ms * 1000;
	if (st->st_tw_last == tw)
		return;
	/* to the back of the FIFO */
	if (tw->tw_qprev)
		tw->tw_qprev->tw_qnext = tw->tw_qnext;
	else
		st->st_tw_first = tw->tw_qnext;
	tw->tw_qnext->tw_qprev = tw->tw_qprev;
	tw->tw_qprev = st->st_tw_last;
	tw->tw_qnext = NULL;
	st->st_tw_last->tw_qnext = tw;
	st->st_tw_last = tw;
}

void tcp_unhash(struct tcp_conn *c)
{
	if (!(c->c_flags & TF_HASHED))
		return;
	struct tcp_stack *st = c->c_st;
	if (c->c_state == TCP_LISTEN)
		hash_remove(st, &st->st_listeners, c, listener_key);
	else
		hash_remove(st, &st->st_conns, c, conn_key);
	c->c_flags &= ~TF_HASHED;
}
