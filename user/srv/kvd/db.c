/*
 * The keyspace: sixteen databases, each a dict of key -> value and a dict of
 * key -> expiry time (ms), as Redis keeps them.
 *
 * Expiry is lazy and active. Every lookup checks the key's time first and
 * deletes it when past (lazy); kvd_tick walks each database's expiry dict
 * with a SCAN cursor and deletes what has expired, within a time budget
 * (active), so keys nobody reads do not sit in memory forever. A key that
 * expires is logged as a DEL, so replaying the log gives the same data
 * whatever the clock says then. While the log is being loaded nothing
 * expires (its DELs do that).
 *
 * maxmemory: before a command that may grow memory runs, evict_if_needed
 * frees keys chosen by maxmemory-policy (approximated LRU as Redis: sample
 * maxmemory-samples keys, drop the idlest; or random, or nearest TTL) until
 * used memory is under the limit. With noeviction, or nothing left to
 * evict, the command gets Redis's OOM error.
 */
#include <user/srv/kvd/engine.h>

static bool key_expired(struct kvd *kv, struct db *db, const char *k, size_t n)
{
	if (kv->loading || db->expires.used == 0)
		return false;
	struct dent *e = dict_find(kv, &db->expires, k, n);
	return e && (uint64_t)e->v.i <= kv->now_ms;
}

/* Delete an expired key and log it as DEL. */
static void expire_now(struct kvd *kv, struct db *db, const char *k, size_t n)
{
	struct arg argv[2] = { { "DEL", 3 }, { (char *)k, n } };
	/* the log needs the name after the key is gone: copy it first */
	char small[128];
	char *copy = n < sizeof(small) ? small : mem_must(kv, n + 1);
	memcpy(copy, k, n);
	copy[n] = '\0';
	argv[1].p = copy;
	db_delete(kv, db, copy, n);
	aof_feed(kv, db->id, 2, argv);
	touch_watched(kv, db, copy, n);
	kv->stat_expired++;
	if (copy != small)
		mem_free(kv, copy, n + 1);
}

struct dent *db_find(struct kvd *kv, struct db *db, const char *k, size_t n)
{
	struct dent *e = dict_find(kv, &db->keys, k, n);
	if (e && key_expired(kv, db, k, n)) {
		expire_now(kv, db, k, n);
		return NULL;
	}
	return e;
}

struct obj *db_get(struct kvd *kv, struct db *db, const char *k, size_t n)
{
	struct dent *e = db_find(kv, db, k, n);
	return e ? e->v.p : NULL;
}

struct obj *db_lookup_read(struct kvd_client *c, const struct arg *key)
{
	struct obj *o = db_get(c->kv, c->db, key->p, key->n);
	if (o) {
		c->kv->stat_hits++;
		o->lru = kv_lru_clock(c->kv);
	} else {
		c->kv->stat_misses++;
	}
	return o;
}

struct obj *db_lookup_write(struct kvd_client *c, const struct arg *key)
{
	struct obj *o = db_get(c->kv, c->db, key->p, key->n);
	if (o)
		o->lru = kv_lru_clock(c->kv);
	return o;
}

bool keyspace_check_type(struct kvd_client *c, struct obj *o, int type)
{
	if (o && o->type != type) {
		reply_wrongtype(c);
		return false;
	}
	return true;
}

struct obj *lookup_typed(struct kvd_client *c, const struct arg *key, int type, bool *wrong)
{
	struct obj *o = db_lookup_write(c, key);
	*wrong = o && o->type != type;
	if (*wrong) {
		reply_wrongtype(c);
		return NULL;
	}
	return o;
}

void db_add(struct kvd *kv, struct db *db, const struct arg *key, struct obj *o)
{
	struct dent *e = dict_add(kv, &db->keys, key->p, key->n);
	e->v.p = o;
}

void db_replace(struct kvd *kv, struct dent *e, struct obj *o)
{
	if (e->v.p != o)
		obj_free(kv, e->v.p);
	e->v.p = o;
}

void db_set(struct kvd *kv, struct db *db, const struct arg *key, struct obj *o, bool keep_ttl)
{
	struct dent *e = db_find(kv, db, key->p, key->n);
	if (e) {
		db_replace(kv, e, o);
		if (!keep_ttl)
			db_remove_expire(kv, db, key->p, key->n);
	} else {
		db_add(kv, db, key, o);
	}
}

bool db_delete(struct kvd *kv, struct db *db, const char *k, size_t n)
{
	struct dent *e = dict_unlink(kv, &db->keys, k, n);
	if (!e)
		return false;
	struct dent *x = dict_unlink(kv, &db->expires, k, n);
	if (x)
		dent_free(kv, x);
	obj_free(kv, e->v.p);
	dent_free(kv, e);
	return true;
}

void db_set_expire(struct kvd *kv, struct db *db, const char *k, size_t n, long long when)
{
	struct dent *e = dict_find(kv, &db->expires, k, n);
	if (!e)
		e = dict_add(kv, &db->expires, k, n);
	e->v.i = when;
}

long long db_get_expire(struct kvd *kv, struct db *db, const char *k, size_t n)
{
	struct dent *e = db->expires.used ? dict_find(kv, &db->expires, k, n) : NULL;
	return e ? e->v.i : -1;
}

bool db_remove_expire(struct kvd *kv, struct db *db, const char *k, size_t n)
{
	struct dent *e = db->expires.used ? dict_unlink(kv, &db->expires, k, n) : NULL;
	if (!e)
		return false;
	dent_free(kv, e);
	return true;
}

static void free_value(struct kvd *kv, struct dent *e)
{
	obj_free(kv, e->v.p);
}

void db_flush(struct kvd *kv, struct db *db)
{
	dict_clear(kv, &db->keys, free_value);
	dict_clear(kv, &db->expires, NULL);
}

/* --- active expiry -------------------------------------------------------------- */
struct expire_walk {
	struct kvd *kv;
	struct db *db;
	unsigned checked, expired;
};

static void expire_one(void *arg, struct dent *e)
{
	struct expire_walk *w = arg;
	w->checked++;
	if ((uint64_t)e->v.i <= w->kv->now_ms) {
		w->expired++;
		expire_now(w->kv, w->db, e->key, e->klen);
	}
}

/* Redis's budget: 25% of a tick's time; checks in batches of 20 keys per
 * database and stops early once a batch finds few expired keys. */
void db_active_expire(struct kvd *kv)
{
	uint64_t budget = 250 / (uint64_t)(kv->cfg.hz ? kv->cfg.hz : 10);
	uint64_t start = kv->h.now_ms(kv->h.ctx);
	for (int i = 0; i < KVD_DBS; i++) {
		struct db *db = &kv->dbs[i];
		for (;;) {
			if (db->expires.used == 0)
				break;
			struct expire_walk w = { kv, db, 0, 0 };
			unsigned buckets = 0;
			do {
				db->expire_cursor =
					dict_scan(&db->expires, db->expire_cursor, expire_one, &w);
				buckets++;
			} while (w.checked < 20 && db->expire_cursor && buckets < 400);
			if (w.expired * 4 < w.checked || db->expire_cursor == 0)
				break;
			if (kv->h.now_ms(kv->h.ctx) - start > budget)
				return;
		}
	}
}

/* --- WATCH and blocked-list readiness ---------------------------------------- */
void signal_list_ready(struct kvd *kv, struct db *db, const char *k, size_t n)
{
	if (db->blocking.used == 0 || !dict_find(kv, &db->blocking, k, n))
		return;
	char small[256];
	size_t len = n + 1;
	char *name = len <= sizeof(small) ? small : mem_must(kv, len);
	name[0] = (char)db->id;
	memcpy(name + 1, k, n);
	if (!dict_find(kv, &kv->ready_keys, name, len)) {
		struct dent *e = dict_add(kv, &kv->ready_keys, name, len);
		e->v.p = NULL;
		if (kv->ready_tail)
			kv->ready_tail->v.p = e;
		else
			kv->ready_head = e;
		kv->ready_tail = e;
	}
	if (name != small)
		mem_free(kv, name, len);
}

void signal_modified(struct kvd *kv, struct db *db, const char *k, size_t n)
{
	touch_watched(kv, db, k, n);
}

/* --- eviction ------------------------------------------------------------------ */
static bool over_limit(struct kvd *kv)
{
	return kv->cfg.maxmemory && kv->used > (size_t)kv->cfg.maxmemory;
}

/* One candidate key per call, by the policy; false if there is none. */
static bool evict_one(struct kvd *kv)
{
	int policy = kv->cfg.maxmemory_policy;
	struct db *best_db = NULL;
	struct dent *best = NULL;
	long long best_score = 0;
	for (int i = 0; i < KVD_DBS; i++) {
		struct db *db = &kv->dbs[i];
		struct dict *from = is_volatile_policy(policy) ? &db->expires : &db->keys;
		if (from->used == 0)
			continue;
		for (int s = 0; s < kv->cfg.maxmemory_samples; s++) {
			struct dent *e = dict_random(kv, from);
			long long score;
			if (policy == EVICT_ALLKEYS_RANDOM || policy == EVICT_VOLATILE_RANDOM) {
				score = (long long)(kv->h.random(kv->h.ctx) >> 2);
			} else if (policy == EVICT_VOLATILE_TTL) {
				score = -e->v.i; /* soonest expiry first */
			} else {
				struct dent *k = from == &db->keys ? e
								   : dict_find(kv, &db->keys,
									       e->key, e->klen);
				if (!k)
					continue;
				struct obj *o = k->v.p;
				score = (long long)kv_lru_clock(kv) - (long long)o->lru;
			}
			if (!best || score > best_score) {
				best = e;
				best_db = db;
				best_score = score;
			}
		}
	}
	if (!best)
		return false;
	size_t n = best->klen;
	char *copy = mem_must(kv, n + 1);
	memcpy(copy, best->key, n);
	struct arg argv[2] = { { "DEL", 3 }, { copy, n } };
	db_delete(kv, best_db, copy, n);
	aof_feed(kv, best_db->id, 2, argv);
	touch_watched(kv, best_db, copy, n);
	mem_free(kv, copy, n + 1);
	kv->stat_evicted++;
	return true;
}

bool evict_if_needed(struct kvd *kv)
{
	if (!over_limit(kv))
		return true;
	if (kv->cfg.maxmemory_policy == EVICT_NONE)
		return false;
	while (over_limit(kv))
		if (!evict_one(kv))
			return false;
	return true;
}
