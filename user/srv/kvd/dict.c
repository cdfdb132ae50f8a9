/*
 * The hash table every keyed structure of kvd uses: the keyspace, expiry
 * times, hash fields, set members, sorted-set members, channels.
 *
 * Chained buckets, a power-of-two table, and the key stored inline in its
 * entry (one allocation per entry: next, an 8-byte value, the length and the
 * bytes). Keys are hashed with SipHash-1-3 under a random key chosen at
 * start-up, so a client cannot pick keys that all land in one bucket.
 *
 * The table doubles when it holds as many entries as buckets, all at once
 * (no incremental rehash: a resize of a million keys costs tens of ms, which
 * kvd accepts for simplicity), and shrinks from kvd_tick when it is mostly
 * empty. While an iterator is open the table does not resize, so deleting
 * the current entry during a walk is safe.
 *
 * SCAN uses the reverse-binary cursor: it walks buckets in bit-reversed order
 * so that after the table grows or shrinks, the buckets already visited map
 * onto buckets the cursor has also passed; an element present for the whole
 * scan is returned at least once (perhaps more).
 */
#include <user/srv/kvd/engine.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                        \
	do {                                                            \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                    \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                    \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

/* SipHash-1-3 (one compression round, three finalisation rounds). */
uint64_t dict_hash(const struct kvd *kv, const char *k, size_t n)
{
	const unsigned char *p = (const unsigned char *)k;
	uint64_t v0 = 0x736f6d6570736575ULL ^ kv->sip_k0, v1 = 0x646f72616e646f6dULL ^ kv->sip_k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ kv->sip_k0, v3 = 0x7465646279746573ULL ^ kv->sip_k1;
	uint64_t b = (uint64_t)n << 56;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t m;
		memcpy(&m, p + i, 8);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	for (int s = 0; i < n; i++, s += 8)
		b |= (uint64_t)p[i] << s;
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

void dict_init(struct dict *d)
{
	d->tab = NULL;
	d->mask = 0;
	d->used = 0;
	d->iterating = 0;
}

static uint64_t dict_size(const struct dict *d)
{
	return d->tab ? d->mask + 1 : 0;
}

size_t dict_mem(const struct dict *d)
{
	return dict_size(d) * sizeof(struct dent *);
}

/* Move every entry into a table of `size` buckets; false if no memory. */
static bool dict_resize(struct kvd *kv, struct dict *d, uint64_t size)
{
	struct dent **tab = mem_alloc(kv, size * sizeof(*tab));
	if (!tab)
		return false;
	memset(tab, 0, size * sizeof(*tab));
	for (uint64_t i = 0; i < dict_size(d); i++) {
		struct dent *e = d->tab[i], *next;
		for (; e; e = next) {
			next = e->next;
			uint64_t h = dict_hash(kv, e->key, e->klen) & (size - 1);
			e->next = tab[h];
			tab[h] = e;
		}
	}
	if (d->tab)
		mem_free(kv, d->tab, dict_size(d) * sizeof(*tab));
	d->tab = tab;
	d->mask = size - 1;
	return true;
}

struct dent *dict_find(struct kvd *kv, struct dict *d, const char *k, size_t n)
{
	if (!d->tab || d->used == 0)
		return NULL;
	struct dent *e = d->tab[dict_hash(kv, k, n) & d->mask];
	for (; e; e = e->next)
		if (e->klen == n && memcmp(e->key, k, n) == 0)
			return e;
	return NULL;
}

struct dent *dict_add(struct kvd *kv, struct dict *d, const char *k, size_t n)
{
	if (!d->tab)
		dict_resize(kv, d, 4);
	else if (d->used >= dict_size(d) && !d->iterating)
		dict_resize(kv, d, dict_size(d) * 2); /* on failure, chains grow longer */
	if (!d->tab)
		return NULL;
	struct dent *e = mem_must(kv, sizeof(*e) + n + 1);
	e->v.i = 0;
	e->klen = (uint32_t)n;
	memcpy(e->key, k, n);
	e->key[n] = '\0';
	uint64_t h = dict_hash(kv, k, n) & d->mask;
	e->next = d->tab[h];
	d->tab[h] = e;
	d->used++;
	return e;
}

struct dent *dict_unlink(struct kvd *kv, struct dict *d, const char *k, size_t n)
{
	if (!d->tab || d->used == 0)
		return NULL;
	struct dent **pp = &d->tab[dict_hash(kv, k, n) & d->mask];
	for (; *pp; pp = &(*pp)->next) {
		struct dent *e = *pp;
		if (e->klen == n && memcmp(e->key, k, n) == 0) {
			*pp = e->next;
			d->used--;
			return e;
		}
	}
	return NULL;
}

void dent_free(struct kvd *kv, struct dent *e)
{
	mem_free(kv, e, sizeof(*e) + e->klen + 1);
}

void dict_clear(struct kvd *kv, struct dict *d, void (*fn)(struct kvd *, struct dent *))
{
	for (uint64_t i = 0; i < dict_size(d); i++) {
		struct dent *e = d->tab[i], *next;
		for (; e; e = next) {
			next = e->next;
			if (fn)
				fn(kv, e);
			dent_free(kv, e);
		}
	}
	if (d->tab)
		mem_free(kv, d->tab, dict_size(d) * sizeof(*d->tab));
	dict_init(d);
}

/* A random bucket that is not empty, then a random entry of its chain: fair
 * enough for SPOP, SRANDMEMBER, RANDOMKEY and eviction sampling, as Redis. */
struct dent *dict_random(struct kvd *kv, struct dict *d)
{
	if (d->used == 0)
		return NULL;
	struct dent *e;
	do
		e = d->tab[kv->h.random(kv->h.ctx) & d->mask];
	while (!e);
	unsigned len = 0;
	for (struct dent *x = e; x; x = x->next)
		len++;
	for (unsigned pick = (unsigned)(kv->h.random(kv->h.ctx) % len); pick; pick--)
		e = e->next;
	return e;
}

static uint64_t rev64(uint64_t v)
{
	uint64_t r = 0;
	for (int i = 0; i < 64; i++, v >>= 1)
		r = (r << 1) | (v & 1);
	return r;
}

uint64_t dict_scan(struct dict *d, uint64_t cursor, void (*fn)(void *, struct dent *), void *arg)
{
	if (d->used == 0 || !d->tab)
		return 0;
	uint64_t m = d->mask;
	for (struct dent *e = d->tab[cursor & m], *next; e; e = next) {
		next = e->next;
		fn(arg, e);
	}
	/* increment the reversed cursor: the high bits of the mask move first */
	cursor |= ~m;
	cursor = rev64(cursor);
	cursor++;
	return rev64(cursor);
}

void dict_iter_start(struct dict_iter *it, struct dict *d)
{
	it->d = d;
	it->bucket = 0;
	it->next = NULL;
	d->iterating++;
}

struct dent *dict_iter_next(struct dict_iter *it)
{
	struct dict *d = it->d;
	while (!it->next) {
		if (!d->tab || it->bucket > d->mask)
			return NULL;
		it->next = d->tab[it->bucket++];
	}
	struct dent *e = it->next;
	it->next = e->next; /* so the caller may free e */
	return e;
}

void dict_iter_end(struct dict_iter *it)
{
	it->d->iterating--;
}

void dict_shrink(struct kvd *kv, struct dict *d)
{
	if (d->iterating || !d->tab)
		return;
	if (d->used == 0) {
		mem_free(kv, d->tab, dict_size(d) * sizeof(*d->tab));
		d->tab = NULL;
		d->mask = 0;
		return;
	}
	uint64_t want = 4;
	while (want < d->used)
		want *= 2;
	if (dict_size(d) > 4 && d->used * 10 < dict_size(d) && want < dict_size(d))
		dict_resize(kv, d, want);
}
