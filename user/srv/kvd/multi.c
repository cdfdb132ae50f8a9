/*
 * Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
 *
 * After MULTI, commands are checked (name, arity, memory) and queued with
 * copies of their arguments; a command that fails those checks marks the
 * transaction, and EXEC then answers EXECABORT and runs nothing. EXEC runs
 * the queue back to back (no other client runs in between: the engine is
 * single-threaded) and logs it between MULTI and EXEC, so recovery replays a
 * transaction whole or not at all.
 *
 * WATCH: each database maps a watched key to the clients watching it; any
 * write to the key (call() touches every key a write command names, FLUSH*
 * touch all existing ones, expiry and eviction touch what they delete)
 * marks those clients, and their EXEC answers a null array. As Redis 7.0, a
 * key that had already expired when it was watched does not fail EXEC when
 * its expiry is finally carried out.
 */
#include <user/srv/kvd/engine.h>

struct watcher {
	struct watcher *next;
	struct kvd_client *c;
	bool expired; /* the key had expired (not yet deleted) at WATCH time */
};

struct watchq {
	struct watcher *head;
};

void multi_queue(struct kvd_client *c, struct cmd *cmd)
{
	struct kvd *kv = c->kv;
	if (c->nqueued == c->queued_cap) {
		int cap = c->queued_cap ? c->queued_cap * 2 : 8;
		c->queued = mem_realloc(kv, c->queued, (size_t)c->queued_cap * sizeof(*c->queued),
					(size_t)cap * sizeof(*c->queued));
		c->queued_cap = cap;
	}
	struct queued *q = &c->queued[c->nqueued++];
	q->cmd = cmd;
	q->argc = c->argc;
	q->argv = mem_must(kv, (size_t)c->argc * sizeof(struct arg));
	for (int i = 0; i < c->argc; i++) {
		q->argv[i].p = mem_dup(kv, c->argv[i].p, c->argv[i].n);
		q->argv[i].n = c->argv[i].n;
	}
}

void multi_discard(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	for (int i = 0; i < c->nqueued; i++) {
		struct queued *q = &c->queued[i];
		for (int j = 0; j < q->argc; j++)
			mem_free(kv, q->argv[j].p, q->argv[j].n + 1);
		mem_free(kv, q->argv, (size_t)q->argc * sizeof(struct arg));
	}
	mem_free(kv, c->queued, (size_t)c->queued_cap * sizeof(*c->queued));
	c->queued = NULL;
	c->nqueued = c->queued_cap = 0;
	c->in_multi = c->multi_dirty = false;
}

static void cmd_multi(struct kvd_client *c)
{
	if (c->in_multi) {
		reply_error(c, "ERR MULTI calls can not be nested");
		return;
	}
	c->in_multi = true;
	reply_ok(c);
}

static void cmd_discard(struct kvd_client *c)
{
	if (!c->in_multi) {
		reply_error(c, "ERR DISCARD without MULTI");
		return;
	}
	multi_discard(c);
	unwatch_all(c);
	reply_ok(c);
}

/* Has a key this client watches expired since (without being deleted)? */
static bool watched_key_expired(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	bool expired = false;
	struct dict_iter it;
	dict_iter_start(&it, &c->watching);
	for (struct dent *e; !expired && (e = dict_iter_next(&it));) {
		struct db *db = &kv->dbs[(unsigned char)e->key[0]];
		const char *k = e->key + 1;
		size_t n = e->klen - 1;
		if (e->v.i) /* was already expired when watched */
			continue;
		long long when = db_get_expire(kv, db, k, n);
		expired = when >= 0 && (uint64_t)when <= kv->now_ms &&
			  dict_find(kv, &db->keys, k, n) != NULL;
	}
	dict_iter_end(&it);
	return expired;
}

static void cmd_exec(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	if (!c->in_multi) {
		reply_error(c, "ERR EXEC without MULTI");
		return;
	}
	if (c->multi_dirty) {
		reply_error(c, "EXECABORT Transaction discarded because of previous errors.");
		multi_discard(c);
		unwatch_all(c);
		return;
	}
	if (c->cas_dirty || watched_key_expired(c)) {
		reply_null_array(c);
		multi_discard(c);
		unwatch_all(c);
		return;
	}
	unwatch_all(c);
	bool writes = false;
	for (int i = 0; i < c->nqueued; i++)
		writes |= (c->queued[i].cmd->flags & CMD_WRITE) != 0;
	struct arg multi = { "MULTI", 5 }, exec = { "EXEC", 4 };
	if (writes)
		aof_feed(kv, c->db->id, 1, &multi);
	int argc = c->argc;
	struct arg *argv = c->argv;
	int n = c->nqueued;
	c->in_multi = false;
	c->in_exec = true;
	reply_array(c, n);
	for (int i = 0; i < n; i++) {
		struct queued *q = &c->queued[i];
		c->argc = q->argc;
		c->argv = q->argv;
		call(c, q->cmd);
	}
	c->in_exec = false;
	c->argc = argc;
	c->argv = argv;
	if (writes)
		aof_feed(kv, c->db->id, 1, &exec);
	multi_discard(c);
	propagate_none(c); /* EXEC itself is not logged again */
}

/* --- WATCH -------------------------------------------------------------------- */
static size_t watch_name(char *out, size_t cap, int dbid, const struct arg *key)
{
	if (key->n + 1 > cap)
		return 0;
	out[0] = (char)dbid;
	memcpy(out + 1, key->p, key->n);
	return key->n + 1;
}

static void cmd_watch(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	if (c->in_multi) {
		reply_error(c, "ERR WATCH inside MULTI is not allowed");
		return;
	}
	for (int i = 1; i < c->argc; i++) {
		struct arg *key = &c->argv[i];
		size_t len = key->n + 1;
		char *name = mem_must(kv, len);
		watch_name(name, len, c->db->id, key);
		if (!dict_find(kv, &c->watching, name, len)) {
			long long when = db_get_expire(kv, c->db, key->p, key->n);
			bool expired = when >= 0 && (uint64_t)when <= kv->now_ms &&
				       dict_find(kv, &c->db->keys, key->p, key->n);
			dict_add(kv, &c->watching, name, len)->v.i = expired;
			struct dent *e = dict_find(kv, &c->db->watched, key->p, key->n);
			if (!e) {
				e = dict_add(kv, &c->db->watched, key->p, key->n);
				struct watchq *q = mem_must(kv, sizeof(*q));
				q->head = NULL;
				e->v.p = q;
			}
			struct watchq *q = e->v.p;
			struct watcher *w = mem_must(kv, sizeof(*w));
			w->c = c;
			w->expired = expired;
			w->next = q->head;
			q->head = w;
		}
		mem_free(kv, name, len);
	}
	reply_ok(c);
}

/* Stop watching the key named (dbid, k, n). */
static void unwatch_one(struct kvd_client *c, struct db *db, const char *k, size_t n)
{
	struct kvd *kv = c->kv;
	struct dent *e = dict_find(kv, &db->watched, k, n);
	if (!e)
		return;
	struct watchq *q = e->v.p;
	for (struct watcher **pp = &q->head; *pp; pp = &(*pp)->next) {
		if ((*pp)->c == c) {
			struct watcher *w = *pp;
			*pp = w->next;
			mem_free(kv, w, sizeof(*w));
			break;
		}
	}
	if (!q->head) {
		mem_free(kv, q, sizeof(*q));
		dent_free(kv, dict_unlink(kv, &db->watched, k, n));
	}
}

void unwatch_all(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	struct dict_iter it;
	dict_iter_start(&it, &c->watching);
	for (struct dent *e; (e = dict_iter_next(&it));)
		unwatch_one(c, &kv->dbs[(unsigned char)e->key[0]], e->key + 1, e->klen - 1);
	dict_iter_end(&it);
	dict_clear(kv, &c->watching, NULL);
	c->cas_dirty = false;
}

static void cmd_unwatch(struct kvd_client *c)
{
	unwatch_all(c);
	reply_ok(c);
}

void touch_watched(struct kvd *kv, struct db *db, const char *k, size_t n)
{
	if (db->watched.used == 0)
		return;
	struct dent *e = dict_find(kv, &db->watched, k, n);
	if (!e)
		return;
	struct watchq *q = e->v.p;
	for (struct watcher *w = q->head; w; w = w->next) {
		if (w->expired) {
			/* deleting an already-expired key changes nothing logically */
			if (!dict_find(kv, &db->keys, k, n)) {
				w->expired = false;
				continue;
			}
		}
		w->c->cas_dirty = true;
	}
}

void touch_all_watched(struct kvd *kv, struct db *db, struct db *other)
{
	struct dict_iter it;
	dict_iter_start(&it, &db->watched);
	for (struct dent *e; (e = dict_iter_next(&it));) {
		if (!dict_find(kv, &db->keys, e->key, e->klen) &&
		    !(other && dict_find(kv, &other->keys, e->key, e->klen)))
			continue;
		struct watchq *q = e->v.p;
		for (struct watcher *w = q->head; w; w = w->next) {
			if (w->expired) {
				w->expired = false; /* the flush deletes it: no logical change */
				continue;
			}
			w->c->cas_dirty = true;
		}
	}
	dict_iter_end(&it);
}

struct cmd cmds_multi[] = {
	{ "multi", cmd_multi, 1, CMD_FAST | CMD_NOMULTI | CMD_LOADING | CMD_STALE, 0, 0, 0,
	  "transactions", 0, 0 },
	{ "exec", cmd_exec, 1, CMD_NOMULTI | CMD_LOADING | CMD_STALE, 0, 0, 0, "transactions", 0,
	  0 },
	{ "discard", cmd_discard, 1, CMD_FAST | CMD_NOMULTI | CMD_LOADING | CMD_STALE, 0, 0, 0,
	  "transactions", 0, 0 },
	{ "watch", cmd_watch, -2, CMD_FAST | CMD_NOMULTI | CMD_LOADING | CMD_STALE, 1, -1, 1,
	  "transactions", 0, 0 },
	{ "unwatch", cmd_unwatch, 1, CMD_FAST | CMD_LOADING | CMD_STALE, 0, 0, 0, "transactions", 0,
	  0 },
	{ NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, 0 },
};
