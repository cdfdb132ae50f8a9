/*
 * The hash table every keyed structure of kvd uses: the keyspace, expiry
 * times, hash fields, set members, sorted-set members, channels.
 *
 * Chained buckets, a power-of-two table, and the key stored inline in its
 * entry (one allocation per entry: next, an 8-byte value, the length and the
 * bytes). Keys are hashed with SipHash-1-3 under a random key chosen at
 * start-up, so a client cannot pick keys that all land in one bucket.
 *
 * Resizing is incremental, so that no single command pays for a whole
 * table: the table doubles when it holds as many entries as buckets (and
 * shrinks from kvd_tick when mostly empty) by allocating the new table and
 * then moving one old bucket per lookup, insertion or deletion (and more
 * from kvd_tick, for an idle server) until all have moved. Meanwhile an
 * entry lives in exactly one place: the new table if its old bucket has
 * moved, else the old one, and new entries go where that rule says. The
 * new table's buckets are not zeroed up front (a 2^21-bucket table is
 * 16 MiB, and writing it all at once is the stall this avoids): a new
 * bucket is cleared just before the first old bucket that maps to it moves,
 * and nothing reads it before that. While an iterator or SCAN step is open
 * no bucket moves, so deleting the current entry during a walk is safe, and
 * entries never move in memory, so a pointer to one stays good.
 *
 * SCAN uses the reverse-binary cursor: it walks buckets in bit-reversed order
 * so that after the table grows or shrinks, the buckets already visited map
 * onto buckets the cursor has also passed; during a resize a step visits
 * the smaller table's bucket and every bucket of the larger one that expands
 * from it. An element present for the whole scan is returned at least once.
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
	memset(d, 0, sizeof(*d));
}

static uint64_t tab_size(const struct dict *d, int t)
{
	return d->tab[t] ? d->mask[t] + 1 : 0;
}

static bool rehashing(const struct dict *d)
{
	return d->tab[1] != NULL;
}

size_t dict_mem(const struct dict *d)
{
	return (tab_size(d, 0) + tab_size(d, 1)) * sizeof(struct dent *);
}

/* Has bucket b of table t been written (see the rule above)? */
static bool bucket_ready(const struct dict *d, int t, uint64_t b)
{
	return t == 0 || (b & d->mask[0]) < d->moved;
}

/* The chain where an entry of hash h lives (or goes). */
static struct dent **chain(struct dict *d, uint64_t h)
{
	if (rehashing(d) && (h & d->mask[0]) < d->moved)
		return &d->tab[1][h & d->mask[1]];
	return &d->tab[0][h & d->mask[0]];
}

static void finish_rehash(struct kvd *kv, struct dict *d)
{
	mem_free(kv, d->tab[0], tab_size(d, 0) * sizeof(struct dent *));
	d->tab[0] = d->tab[1];
	d->mask[0] = d->mask[1];
	d->tab[1] = NULL;
	d->mask[1] = 0;
	d->moved = 0;
}

/* Move up to n old buckets (visiting at most 10 n empty ones). */
static void rehash_step(struct kvd *kv, struct dict *d, uint64_t n)
{
	if (!rehashing(d) || d->iterating)
		return;
	uint64_t size0 = tab_size(d, 0), size1 = tab_size(d, 1), empty = n * 10;
	while (n && d->moved < size0) {
		uint64_t j = d->moved;
		/* clear the new buckets this old bucket is the first to feed */
		if (size1 > size0) {
			for (uint64_t b = j; b < size1; b += size0)
				d->tab[1][b] = NULL;
		} else if (j < size1) {
			d->tab[1][j] = NULL;
		}
		struct dent *e = d->tab[0][j], *next;
		d->tab[0][j] = NULL;
		d->moved++;
		if (!e && empty) {
			empty--;
			continue;
		}
		for (; e; e = next) {
			next = e->next;
			struct dent **to = &d->tab[1][dict_hash(kv, e->key, e->klen) & d->mask[1]];
			e->next = *to;
			*to = e;
		}
		n--;
	}
	if (d->moved == size0)
		finish_rehash(kv, d);
}

/* Start moving to a table of `size` buckets (all at once when empty). */
static void start_resize(struct kvd *kv, struct dict *d, uint64_t size)
{
	if (rehashing(d) || d->iterating)
		return;
	struct dent **tab = mem_alloc(kv, size * sizeof(*tab));
	if (!tab)
		return; /* chains grow longer instead */
	if (!d->tab[0] || d->used == 0) {
		memset(tab, 0, size * sizeof(*tab));
		if (d->tab[0])
			mem_free(kv, d->tab[0], tab_size(d, 0) * sizeof(*tab));
		d->tab[0] = tab;
		d->mask[0] = size - 1;
		return;
	}
	d->tab[1] = tab;
	d->mask[1] = size - 1;
	d->moved = 0;
	rehash_step(kv, d, 1);
}

void dict_rehash_for(struct kvd *kv, struct dict *d, uint64_t ms)
{
	uint64_t start = kv->h.now_ms(kv->h.ctx);
	while (rehashing(d) && !d->iterating) {
		rehash_step(kv, d, 100);
		if (kv->h.now_ms(kv->h.ctx) - start >= ms)
			break;
	}
}

struct dent *dict_find(struct kvd *kv, struct dict *d, const char *k, size_t n)
{
	if (!d->tab[0] || d->used == 0)
		return NULL;
	rehash_step(kv, d, 1);
	struct dent *e = *chain(d, dict_hash(kv, k, n));
	for (; e; e = e->next)
		if (e->klen == n && memcmp(e->key, k, n) == 0)
			return e;
	return NULL;
}

struct dent *dict_add(struct kvd *kv, struct dict *d, const char *k, size_t n)
{
	if (!d->tab[0])
		start_resize(kv, d, 4);
	else if (d->used >= tab_size(d, 0) && !rehashing(d))
		start_resize(kv, d, tab_size(d, 0) * 2);
	else
		rehash_step(kv, d, 1);
	if (!d->tab[0])
		return NULL;
	struct dent *e = mem_must(kv, sizeof(*e) + n + 1);
	e->v.i = 0;
	e->klen = (uint32_t)n;
	memcpy(e->key, k, n);
	e->key[n] = '\0';
	struct dent **to = chain(d, dict_hash(kv, k, n));
	e->next = *to;
	*to = e;
	d->used++;
	return e;
}

struct dent *dict_unlink(struct kvd *kv, struct dict *d, const char *k, size_t n)
{
	if (!d->tab[0] || d->used == 0)
		return NULL;
	rehash_step(kv, d, 1);
	for (struct dent **pp = chain(d, dict_hash(kv, k, n)); *pp; pp = &(*pp)->next) {
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
	for (int t = 0; t < 2; t++) {
		for (uint64_t i = 0; i < tab_size(d, t); i++) {
			if (!bucket_ready(d, t, i))
				continue;
			for (struct dent *e = d->tab[t][i], *next; e; e = next) {
				next = e->next;
				if (fn)
					fn(kv, e);
				dent_free(kv, e);
			}
		}
		if (d->tab[t])
			mem_free(kv, d->tab[t], tab_size(d, t) * sizeof(struct dent *));
	}
	dict_init(d);
}

/* The k-th entry in walking order (k < used). */
static struct dent *nth_entry(struct dict *d, uint64_t k)
{
	for (int t = 0; t < 2; t++)
		for (uint64_t b = 0; b < tab_size(d, t); b++) {
			if (!bucket_ready(d, t, b))
				continue;
			for (struct dent *e = d->tab[t][b]; e; e = e->next)
				if (k-- == 0)
					return e;
		}
	return NULL;
}

/*
 * A random entry. Up to FAIR_MAX entries every one is equally likely (a walk
 * to a uniformly chosen position: SRANDMEMBER and HRANDFIELD with a count,
 * whose distribution Redis's suite checks, mostly see small values); past
 * that, a random non-empty bucket and a random entry of its chain, which
 * favours entries in short chains a little but costs O(1), as Redis's
 * dictGetRandomKey.
 */
#define FAIR_MAX 1024
struct dent *dict_random(struct kvd *kv, struct dict *d)
{
	if (d->used == 0)
		return NULL;
	rehash_step(kv, d, 1);
	if (d->used <= FAIR_MAX)
		return nth_entry(d, kv->h.random(kv->h.ctx) % d->used);
	uint64_t size0 = tab_size(d, 0), all = size0 + tab_size(d, 1);
	struct dent *e = NULL;
	while (!e) {
		uint64_t b = kv->h.random(kv->h.ctx) % all;
		int t = b >= size0;
		if (t)
			b -= size0;
		if (bucket_ready(d, t, b))
			e = d->tab[t][b];
	}
	unsigned len = 0;
	for (struct dent *x = e; x; x = x->next)
		len++;
	for (unsigned pick = (unsigned)(kv->h.random(kv->h.ctx) % len); pick; pick--)
		e = e->next;
	return e;
}

void dict_pick_start(struct kvd *kv, struct dict *d, bool distinct, struct dict_pick *p)
{
	p->all = NULL;
	p->total = d->used;
	if (!distinct || !p->total)
		return;
	p->all = mem_must(kv, p->total * sizeof(*p->all));
	struct dict_iter it;
	size_t i = 0;
	dict_iter_start(&it, d);
	for (struct dent *e; (e = dict_iter_next(&it));)
		p->all[i++] = e;
	dict_iter_end(&it);
}

struct dent *dict_pick_next(struct kvd *kv, struct dict *d, struct dict_pick *p, size_t i)
{
	if (!p->all)
		return dict_random(kv, d);
	size_t j = i + (size_t)(kv->h.random(kv->h.ctx) % (p->total - i));
	struct dent *e = p->all[j];
	p->all[j] = p->all[i];
	p->all[i] = e;
	return e;
}

void dict_pick_end(struct kvd *kv, struct dict_pick *p)
{
	if (p->all)
		mem_free(kv, p->all, p->total * sizeof(*p->all));
	p->all = NULL;
}

static uint64_t rev64(uint64_t v)
{
	uint64_t r = 0;
	for (int i = 0; i < 64; i++, v >>= 1)
		r = (r << 1) | (v & 1);
	return r;
}

static void scan_bucket(struct dict *d, int t, uint64_t b, void (*fn)(void *, struct dent *),
			void *arg)
{
	if (!bucket_ready(d, t, b))
		return; /* its entries are still in the other table's bucket */
	for (struct dent *e = d->tab[t][b], *next; e; e = next) {
		next = e->next;
		fn(arg, e);
	}
}

uint64_t dict_scan(struct dict *d, uint64_t cursor, void (*fn)(void *, struct dent *), void *arg)
{
	if (d->used == 0 || !d->tab[0])
		return 0;
	d->iterating++; /* fn may delete: no bucket moves under the walk */
	uint64_t m;
	if (!rehashing(d)) {
		m = d->mask[0];
		scan_bucket(d, 0, cursor & m, fn, arg);
	} else {
		int small = d->mask[0] <= d->mask[1] ? 0 : 1, large = 1 - small;
		uint64_t ms = d->mask[small], ml = d->mask[large];
		scan_bucket(d, small, cursor & ms, fn, arg);
		/* every bucket of the larger table whose low bits are cursor's */
		uint64_t v = cursor;
		do {
			scan_bucket(d, large, v & ml, fn, arg);
			v = (((v | ms) + 1) & ~ms) | (v & ms);
		} while (v & (ms ^ ml));
		m = ms;
	}
	d->iterating--;
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
	uint64_t size0 = tab_size(d, 0);
	while (!it->next) {
		uint64_t b = it->bucket;
		if (b >= size0 + tab_size(d, 1))
			return NULL;
		it->bucket++;
		int t = b >= size0;
		if (t)
			b -= size0;
		if (bucket_ready(d, t, b))
			it->next = d->tab[t][b];
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
	if (d->iterating || !d->tab[0] || rehashing(d))
		return;
	uint64_t size = tab_size(d, 0);
	if (d->used == 0) {
		mem_free(kv, d->tab[0], size * sizeof(struct dent *));
		dict_init(d);
		return;
	}
	uint64_t want = 4;
	while (want < d->used)
		want *= 2;
	if (size > 4 && d->used * 10 < size && want < size)
		start_resize(kv, d, want);
}
