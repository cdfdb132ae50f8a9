/*
 * Memory accounting and kvd's values: strings, lists, hashes, sets (the
 * sorted set's skiplist is in zset.c).
 *
 * mem_* wrap the runner's allocator and count every byte by the size asked
 * for, which becomes INFO's used_memory and what maxmemory limits.
 * mem_must is for allocations the engine cannot back out of in the middle
 * of a command; the runner's allocator failing there ends the server (on
 * Exo the library OS, on the host abort) rather than corrupting state --
 * maxmemory is what keeps the engine away from that edge.
 *
 * Strings carry spare room (cap) so APPEND and SETRANGE grow them in place.
 * A list is a doubly linked list of nodes with their bytes inline. OBJECT
 * ENCODING reports Redis 7.0's names for the same sizes (a hash of few small
 * fields is "listpack" until it grows past the thresholds, as Redis converts
 * then and never back): h.pad[0] remembers that a value outgrew them.
 */
#include <user/srv/kvd/engine.h>

void *mem_alloc(struct kvd *kv, size_t n)
{
	void *p = kv->h.alloc(kv->h.ctx, n);
	if (p) {
		kv->used += n;
		if (kv->used > kv->peak)
			kv->peak = kv->used;
	}
	return p;
}

void *mem_must(struct kvd *kv, size_t n)
{
	void *p = mem_alloc(kv, n);
	if (!p) {
		kv_log(kv, "kvd: out of memory allocating %zu bytes", n);
		kv->h.shutdown(kv->h.ctx);
		/* the runner does not return from an out-of-memory shutdown */
		__builtin_trap();
	}
	return p;
}

void mem_free(struct kvd *kv, void *p, size_t n)
{
	if (!p)
		return;
	kv->used -= n;
	kv->h.release(kv->h.ctx, p, n);
}

void *mem_realloc(struct kvd *kv, void *p, size_t old, size_t n)
{
	void *q = mem_must(kv, n);
	if (p) {
		memcpy(q, p, old < n ? old : n);
		mem_free(kv, p, old);
	}
	return q;
}

char *mem_dup(struct kvd *kv, const char *s, size_t n)
{
	char *p = mem_must(kv, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void buf_put(struct kvd *kv, struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		b->b = mem_realloc(kv, b->b, b->cap, cap);
		b->cap = cap;
	}
	memcpy(b->b + b->len, p, n);
	b->len += n;
}

void buf_free(struct kvd *kv, struct buf *b)
{
	mem_free(kv, b->b, b->cap);
	b->b = NULL;
	b->len = b->cap = 0;
}

struct buf_put_arg {
	struct kvd *kv;
	struct buf *b;
};

static void buf_put_cb(void *arg, const char *s, size_t n)
{
	struct buf_put_arg *a = arg;
	buf_put(a->kv, a->b, s, n);
}

void buf_printf(struct kvd *kv, struct buf *b, const char *fmt, ...)
{
	struct buf_put_arg a = { kv, b };
	va_list ap;
	va_start(ap, fmt);
	fmt_vformat(buf_put_cb, &a, fmt, ap);
	va_end(ap);
}

/* --- strings ---------------------------------------------------------------- */
struct sobj *str_new(struct kvd *kv, const char *p, size_t n)
{
	struct sobj *s = mem_must(kv, sizeof(*s) + n + 1);
	memset(&s->h, 0, sizeof(s->h));
	s->h.type = T_STRING;
	s->h.lru = kv_lru_clock(kv);
	s->len = s->cap = (uint32_t)n;
	if (n)
		memcpy(s->data, p, n);
	s->data[n] = '\0';
	return s;
}

struct sobj *str_from_ll(struct kvd *kv, long long v)
{
	char b[KVD_LONG_STR];
	return str_new(kv, b, (size_t)ll2str(b, v));
}

struct sobj *str_grow(struct kvd *kv, struct sobj *s, size_t len)
{
	if (len <= s->cap)
		return s;
	size_t cap = len < 1024 * 1024 ? len * 2 : len + 1024 * 1024;
	if (cap > 0xffffffffu)
		cap = len;
	struct sobj *t = mem_must(kv, sizeof(*t) + cap + 1);
	memcpy(t, s, sizeof(*s) + s->len + 1);
	t->cap = (uint32_t)cap;
	t->h.pad[0] = 1; /* grown in place: Redis calls it "raw" from now on */
	mem_free(kv, s, sizeof(*s) + s->cap + 1);
	return t;
}

struct bstr *bstr_new(struct kvd *kv, const char *p, size_t n)
{
	struct bstr *b = mem_must(kv, sizeof(*b) + n + 1);
	b->len = (uint32_t)n;
	memcpy(b->data, p, n);
	b->data[n] = '\0';
	return b;
}

void bstr_free(struct kvd *kv, struct bstr *b)
{
	mem_free(kv, b, sizeof(*b) + b->len + 1);
}

/* --- containers ------------------------------------------------------------- */
static size_t obj_size(int type)
{
	switch (type) {
	case T_LIST: return sizeof(struct lobj);
	case T_HASH: return sizeof(struct hobj);
	case T_SET: return sizeof(struct setobj);
	case T_ZSET: return sizeof(struct zobj);
	}
	return 0;
}

struct obj *obj_new(struct kvd *kv, int type)
{
	size_t sz = obj_size(type);
	struct obj *o = mem_must(kv, sz);
	memset(o, 0, sz);
	o->type = (uint8_t)type;
	o->lru = kv_lru_clock(kv);
	if (type == T_ZSET) {
		struct zobj *z = (struct zobj *)o;
		z->level = 1;
		z->head = mem_must(kv, sizeof(struct zsl_node) +
					       ZSL_MAXLEVEL * sizeof(struct zsl_level));
		memset(z->head, 0,
		       sizeof(struct zsl_node) + ZSL_MAXLEVEL * sizeof(struct zsl_level));
		z->head->nlevel = ZSL_MAXLEVEL;
	}
	return o;
}

static void free_hash_field(struct kvd *kv, struct dent *e)
{
	bstr_free(kv, e->v.p);
}

static void free_zset_member(struct kvd *kv, struct dent *e)
{
	struct zsl_node *n = e->v.p;
	mem_free(kv, n, sizeof(*n) + n->nlevel * sizeof(struct zsl_level));
}

void obj_free(struct kvd *kv, struct obj *o)
{
	switch (o->type) {
	case T_STRING: {
		struct sobj *s = (struct sobj *)o;
		mem_free(kv, s, sizeof(*s) + s->cap + 1);
		return;
	}
	case T_LIST: {
		struct lobj *l = (struct lobj *)o;
		for (struct lnode *n = l->head, *next; n; n = next) {
			next = n->next;
			lnode_free(kv, n);
		}
		break;
	}
	case T_HASH: dict_clear(kv, &((struct hobj *)o)->d, free_hash_field); break;
	case T_SET: dict_clear(kv, &((struct setobj *)o)->d, NULL); break;
	case T_ZSET: {
		struct zobj *z = (struct zobj *)o;
		dict_clear(kv, &z->d, free_zset_member);
		mem_free(kv, z->head,
			 sizeof(struct zsl_node) + ZSL_MAXLEVEL * sizeof(struct zsl_level));
		break;
	}
	}
	mem_free(kv, o, obj_size(o->type));
}

const char *obj_type_name(int type)
{
	static const char *const names[] = { "string", "list", "hash", "set", "zset" };
	return names[type];
}

size_t obj_len(const struct obj *o)
{
	switch (o->type) {
	case T_STRING: return ((const struct sobj *)o)->len;
	case T_LIST: return ((const struct lobj *)o)->len;
	case T_HASH: return ((const struct hobj *)o)->d.used;
	case T_SET: return ((const struct setobj *)o)->d.used;
	case T_ZSET: return ((const struct zobj *)o)->len;
	}
	return 0;
}

size_t obj_mem(const struct obj *o)
{
	switch (o->type) {
	case T_STRING: return sizeof(struct sobj) + ((const struct sobj *)o)->cap + 1;
	case T_LIST:
		return sizeof(struct lobj) +
		       ((const struct lobj *)o)->len * (sizeof(struct lnode) + 16);
	case T_HASH:
	case T_SET:
		return obj_size(o->type) + dict_mem(&((const struct hobj *)o)->d) +
		       obj_len(o) * (sizeof(struct dent) + 32);
	case T_ZSET:
		return sizeof(struct zobj) + dict_mem(&((const struct zobj *)o)->d) +
		       obj_len(o) * (sizeof(struct dent) + sizeof(struct zsl_node) + 48);
	}
	return 0;
}

const char *obj_encoding(struct kvd *kv UNUSED, const struct obj *o)
{
	const struct sobj *s = (const struct sobj *)o;
	long long ignored;
	switch (o->type) {
	case T_STRING:
		if (s->len <= 20 && str2ll(s->data, s->len, &ignored))
			return "int";
		return s->len <= 44 && !o->pad[0] ? "embstr" : "raw";
	case T_LIST: return "quicklist";
	case T_HASH: return o->pad[0] ? "hashtable" : "listpack";
	case T_SET: return o->pad[0] ? "hashtable" : "intset";
	case T_ZSET: return o->pad[0] ? "skiplist" : "listpack";
	}
	return "unknown";
}

/* Clamp [start, end] (negative: from the end) to a sequence of len: false if
 * nothing is left (LRANGE, LTRIM, ZRANGE by rank, ZREMRANGEBYRANK). */
bool clamp_range(long long len, long long *start, long long *end)
{
	if (*start < 0)
		*start += len;
	if (*end < 0)
		*end += len;
	if (*start < 0)
		*start = 0;
	if (*start > *end || *start >= len)
		return false;
	if (*end >= len)
		*end = len - 1;
	return true;
}

/* --- wait queues: clients waiting on a key (BLPOP) or channel (SUBSCRIBE) ---- */
void waitq_add(struct kvd *kv, struct dict *d, const char *key, size_t n, struct kvd_client *c)
{
	struct dent *e = dict_find(kv, d, key, n);
	if (!e) {
		e = dict_add(kv, d, key, n);
		struct waitq *q = mem_must(kv, sizeof(*q));
		q->head = q->tail = NULL;
		e->v.p = q;
	}
	struct waitq *q = e->v.p;
	struct waiter *w = mem_must(kv, sizeof(*w));
	w->c = c;
	w->next = NULL;
	if (q->tail)
		q->tail->next = w;
	else
		q->head = w;
	q->tail = w;
}

void waitq_remove(struct kvd *kv, struct dict *d, const char *key, size_t n, struct kvd_client *c)
{
	struct dent *e = dict_find(kv, d, key, n);
	if (!e)
		return;
	struct waitq *q = e->v.p;
	struct waiter *prev = NULL;
	for (struct waiter *w = q->head; w; prev = w, w = w->next) {
		if (w->c != c)
			continue;
		if (prev)
			prev->next = w->next;
		else
			q->head = w->next;
		if (q->tail == w)
			q->tail = prev;
		mem_free(kv, w, sizeof(*w));
		break;
	}
	if (!q->head) {
		mem_free(kv, q, sizeof(*q));
		dent_free(kv, dict_unlink(kv, d, key, n));
	}
}

/* --- lists ------------------------------------------------------------------ */
void list_insert(struct kvd *kv, struct lobj *l, struct lnode *at, bool after, const char *p,
		 size_t n)
{
	struct lnode *x = mem_must(kv, sizeof(*x) + n + 1);
	x->len = (uint32_t)n;
	memcpy(x->data, p, n);
	x->data[n] = '\0';
	if (!at)
		at = after ? l->tail : l->head;
	x->prev = at ? (after ? at : at->prev) : NULL;
	x->next = at ? (after ? at->next : at) : NULL;
	if (x->prev)
		x->prev->next = x;
	else
		l->head = x;
	if (x->next)
		x->next->prev = x;
	else
		l->tail = x;
	l->len++;
}

void list_push(struct kvd *kv, struct lobj *l, const char *p, size_t n, bool head)
{
	list_insert(kv, l, NULL, !head, p, n);
}

struct lnode *list_pop(struct lobj *l, bool head)
{
	struct lnode *x = head ? l->head : l->tail;
	if (!x)
		return NULL;
	if (x->prev)
		x->prev->next = x->next;
	else
		l->head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	else
		l->tail = x->prev;
	l->len--;
	return x;
}

void lnode_free(struct kvd *kv, struct lnode *n)
{
	mem_free(kv, n, sizeof(*n) + n->len + 1);
}

/* Element i (negative counts from the tail), walking from the nearer end. */
struct lnode *list_index(struct lobj *l, long long i)
{
	if (i < 0)
		i += (long long)l->len;
	if (i < 0 || i >= (long long)l->len)
		return NULL;
	struct lnode *x;
	if ((size_t)i < l->len / 2) {
		for (x = l->head; i--; x = x->next)
			;
	} else {
		long long back = (long long)l->len - 1 - i;
		for (x = l->tail; back--; x = x->prev)
			;
	}
	return x;
}
