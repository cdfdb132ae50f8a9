/*
 * Commands on keys whatever their type: DEL UNLINK EXISTS TYPE KEYS SCAN
 * RENAME RENAMENX EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL EXPIRETIME
 * PEXPIRETIME PERSIST RANDOMKEY TOUCH MOVE SWAPDB OBJECT, and the database
 * ones: SELECT DBSIZE FLUSHDB FLUSHALL.
 *
 * Also the SCAN engine that HSCAN, SSCAN and ZSCAN share (scan_generic):
 * Redis's cursor (see dict.c), COUNT as a hint of buckets' worth of work,
 * MATCH and TYPE applied after the walk, as Redis does.
 */
#include <user/srv/kvd/engine.h>

static void del_generic(struct kvd_client *c)
{
	long long n = 0;
	for (int i = 1; i < c->argc; i++) {
		if (!db_find(c->kv, c->db, c->argv[i].p, c->argv[i].n))
			continue;
		db_delete(c->kv, c->db, c->argv[i].p, c->argv[i].n);
		c->kv->dirty++;
		n++;
	}
	reply_ll(c, n);
}

static void cmd_exists(struct kvd_client *c)
{
	long long n = 0;
	for (int i = 1; i < c->argc; i++)
		if (db_find(c->kv, c->db, c->argv[i].p, c->argv[i].n))
			n++;
	reply_ll(c, n);
}

static void cmd_touch(struct kvd_client *c)
{
	long long n = 0;
	for (int i = 1; i < c->argc; i++)
		if (db_lookup_write(c, &c->argv[i]))
			n++;
	reply_ll(c, n);
}

static void cmd_type(struct kvd_client *c)
{
	struct obj *o = db_get(c->kv, c->db, c->argv[1].p, c->argv[1].n);
	reply_status(c, o ? obj_type_name(o->type) : "none");
}

static void cmd_keys(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	struct arg *pat = &c->argv[1];
	bool all = pat->n == 1 && pat->p[0] == '*';
	size_t at = reply_defer(c);
	long long n = 0;
	struct dict_iter it;
	dict_iter_start(&it, &c->db->keys);
	for (struct dent *e; (e = dict_iter_next(&it));) {
		if (!all && !glob_match(pat->p, pat->n, e->key, e->klen, false))
			continue;
		long long when = db_get_expire(kv, c->db, e->key, e->klen);
		if (when >= 0 && (uint64_t)when <= kv->now_ms && !kv->loading)
			continue;
		reply_bulk(c, e->key, e->klen);
		n++;
	}
	dict_iter_end(&it);
	reply_defer_array(c, at, n);
}

/* --- SCAN and friends ------------------------------------------------------------- */
struct scan_acc {
	struct kvd *kv;
	int kind; /* T_STRING for the keyspace, else the container's type */
	struct dent **items;
	size_t n, cap;
};

static void scan_collect(void *arg, struct dent *e)
{
	struct scan_acc *a = arg;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		a->items = mem_realloc(a->kv, a->items, a->cap * sizeof(*a->items),
				       cap * sizeof(*a->items));
		a->cap = cap;
	}
	a->items[a->n++] = e;
}

static bool parse_cursor(struct kvd_client *c, const struct arg *a, uint64_t *cur)
{
	uint64_t v = 0;
	if (a->n == 0 || a->n > 20)
		goto bad;
	for (size_t i = 0; i < a->n; i++) {
		if (!isdigit(a->p[i]))
			goto bad;
		unsigned d = (unsigned)(a->p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			goto bad;
		v = v * 10 + d;
	}
	*cur = v;
	return true;
bad:
	reply_error(c, "ERR invalid cursor");
	return false;
}

static int type_by_name(const struct arg *a)
{
	static const char *const names[] = { "string", "list", "hash", "set", "zset" };
	for (int t = 0; t < 5; t++)
		if (arg_eq(a, names[t]))
			return t;
	return -1;
}

/* SCAN cursor [MATCH p] [COUNT n] [TYPE t] over d, options from argv[first]. */
void scan_generic(struct kvd_client *c, struct dict *d, int kind, int first)
{
	struct kvd *kv = c->kv;
	uint64_t cursor;
	if (!parse_cursor(c, &c->argv[first - 1], &cursor))
		return;
	long long count = 10;
	struct arg *pat = NULL;
	int type = -2;
	for (int i = first; i < c->argc; i++) {
		bool more = i + 1 < c->argc;
		if (arg_eq(&c->argv[i], "count") && more) {
			if (!arg_ll(c, &c->argv[i + 1], &count))
				return;
			if (count < 1) {
				reply_syntax(c);
				return;
			}
			i++;
		} else if (arg_eq(&c->argv[i], "match") && more) {
			pat = &c->argv[++i];
			if (pat->n == 1 && pat->p[0] == '*')
				pat = NULL;
		} else if (arg_eq(&c->argv[i], "type") && more && kind == T_STRING) {
			type = type_by_name(&c->argv[++i]);
		} else {
			reply_syntax(c);
			return;
		}
	}
	struct scan_acc a = { kv, kind, NULL, 0, 0 };
	long long budget = count * 10;
	d->iterating++; /* the table must not resize under the cursor */
	do
		cursor = dict_scan(d, cursor, scan_collect, &a);
	while (cursor && budget-- && (long long)a.n < count);
	d->iterating--;

	reply_array(c, 2);
	reply_bulk_ll(c, (long long)cursor); /* as a bulk string, as Redis */
	size_t at = reply_defer(c);
	long long n = 0;
	for (size_t i = 0; i < a.n; i++) {
		struct dent *e = a.items[i];
		if (pat && !glob_match(pat->p, pat->n, e->key, e->klen, false))
			continue;
		if (kind == T_STRING) {
			if (type != -2 && ((struct obj *)e->v.p)->type != type)
				continue;
			long long when = db_get_expire(kv, c->db, e->key, e->klen);
			if (when >= 0 && (uint64_t)when <= kv->now_ms)
				continue;
			reply_bulk(c, e->key, e->klen);
			n++;
		} else if (kind == T_HASH) {
			struct bstr *v = e->v.p;
			reply_bulk(c, e->key, e->klen);
			reply_bulk(c, v->data, v->len);
			n += 2;
		} else if (kind == T_ZSET) {
			struct zsl_node *z = e->v.p;
			reply_bulk(c, e->key, e->klen);
			reply_double(c, z->score);
			n += 2;
		} else {
			reply_bulk(c, e->key, e->klen);
			n++;
		}
	}
	reply_defer_array(c, at, n);
	mem_free(kv, a.items, a.cap * sizeof(*a.items));
}

static void cmd_scan(struct kvd_client *c)
{
	scan_generic(c, &c->db->keys, T_STRING, 2);
}

/* --- renames ----------------------------------------------------------------------- */
static void rename_generic(struct kvd_client *c, bool nx)
{
	struct kvd *kv = c->kv;
	struct arg *src = &c->argv[1], *dst = &c->argv[2];
	struct dent *e = db_find(kv, c->db, src->p, src->n);
	if (!e) {
		reply_error(c, "ERR no such key");
		return;
	}
	if (src->n == dst->n && memcmp(src->p, dst->p, src->n) == 0) {
		if (nx)
			reply_ll(c, 0);
		else
			reply_ok(c);
		return;
	}
	if (db_find(kv, c->db, dst->p, dst->n)) {
		if (nx) {
			reply_ll(c, 0);
			return;
		}
		db_delete(kv, c->db, dst->p, dst->n);
	}
	long long when = db_get_expire(kv, c->db, src->p, src->n);
	struct obj *o = e->v.p;
	e->v.p = NULL;
	struct dent *x = dict_unlink(kv, &c->db->keys, src->p, src->n);
	dent_free(kv, x);
	db_remove_expire(kv, c->db, src->p, src->n);
	db_add(kv, c->db, dst, o);
	if (when >= 0)
		db_set_expire(kv, c->db, dst->p, dst->n, when);
	kv->dirty++;
	if (nx)
		reply_ll(c, 1);
	else
		reply_ok(c);
}

static void cmd_rename(struct kvd_client *c)
{
	rename_generic(c, false);
}

static void cmd_renamenx(struct kvd_client *c)
{
	rename_generic(c, true);
}

static void cmd_move(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	long long dbid;
	if (!arg_ll_range(c, &c->argv[2], INT32_MIN, INT32_MAX, &dbid, NULL))
		return;
	if (dbid < 0 || dbid >= KVD_DBS) {
		reply_error(c, "ERR DB index is out of range");
		return;
	}
	struct db *dst = &kv->dbs[dbid];
	if (dst == c->db) {
		reply_error(c, "ERR source and destination objects are the same");
		return;
	}
	struct arg *key = &c->argv[1];
	struct dent *e = db_find(kv, c->db, key->p, key->n);
	if (!e || db_find(kv, dst, key->p, key->n)) {
		reply_ll(c, 0);
		return;
	}
	long long when = db_get_expire(kv, c->db, key->p, key->n);
	struct obj *o = e->v.p;
	struct dent *x = dict_unlink(kv, &c->db->keys, key->p, key->n);
	dent_free(kv, x);
	db_remove_expire(kv, c->db, key->p, key->n);
	db_add(kv, dst, key, o);
	if (when >= 0)
		db_set_expire(kv, dst, key->p, key->n, when);
	touch_watched(kv, dst, key->p, key->n);
	signal_list_ready(kv, dst, key->p, key->n);
	kv->dirty++;
	reply_ll(c, 1);
}

static void cmd_swapdb(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	long long a, b;
	if (!str2ll(c->argv[1].p, c->argv[1].n, &a) || !str2ll(c->argv[2].p, c->argv[2].n, &b)) {
		reply_error(c, "ERR invalid first DB index");
		return;
	}
	if (a < 0 || a >= KVD_DBS || b < 0 || b >= KVD_DBS) {
		reply_error(c, "ERR DB index is out of range");
		return;
	}
	struct db *x = &kv->dbs[a], *y = &kv->dbs[b];
	touch_all_watched(kv, x, y);
	touch_all_watched(kv, y, x);
	struct dict k = x->keys, e = x->expires;
	x->keys = y->keys;
	x->expires = y->expires;
	y->keys = k;
	y->expires = e;
	kv->dirty++;
	reply_ok(c);
}

/* --- expiry ------------------------------------------------------------------------ */
enum { EXP_NX = 1, EXP_XX = 2, EXP_GT = 4, EXP_LT = 8 };

/* EXPIRE and friends: base is 0 for relative times, unit 1000 for seconds. */
static void expire_generic(struct kvd_client *c, bool relative, long long unit, const char *name)
{
	struct kvd *kv = c->kv;
	struct arg *key = &c->argv[1];
	long long when;
	int flags = 0;
	for (int i = 3; i < c->argc; i++) {
		if (arg_eq(&c->argv[i], "nx"))
			flags |= EXP_NX;
		else if (arg_eq(&c->argv[i], "xx"))
			flags |= EXP_XX;
		else if (arg_eq(&c->argv[i], "gt"))
			flags |= EXP_GT;
		else if (arg_eq(&c->argv[i], "lt"))
			flags |= EXP_LT;
		else {
			reply_errorf(c, "ERR Unsupported option %s", c->argv[i].p);
			return;
		}
	}
	if ((flags & EXP_NX) && (flags & (EXP_XX | EXP_GT | EXP_LT))) {
		reply_error(c,
			    "ERR NX and XX, GT or LT options at the same time are not compatible");
		return;
	}
	if ((flags & EXP_GT) && (flags & EXP_LT)) {
		reply_error(c, "ERR GT and LT options at the same time are not compatible");
		return;
	}
	if (!arg_ll(c, &c->argv[2], &when))
		return;
	if (when > INT64_MAX / unit || when < INT64_MIN / unit) {
	reply_expire_error:
		reply_errorf(c, "ERR invalid expire time in '%s' command", name);
		return;
	}
	when *= unit;
	if (relative) {
		if ((when > 0 && (long long)kv->now_ms > INT64_MAX - when))
			goto reply_expire_error;
		when += (long long)kv->now_ms;
	}
	if (!db_find(kv, c->db, key->p, key->n)) {
		reply_ll(c, 0);
		return;
	}
	long long cur = db_get_expire(kv, c->db, key->p, key->n);
	if (flags) {
		if (((flags & EXP_NX) && cur != -1) || ((flags & EXP_XX) && cur == -1)) {
			reply_ll(c, 0);
			return;
		}
		/* a key without a TTL counts as an infinite one */
		if ((flags & EXP_GT) && (cur == -1 || when <= cur)) {
			reply_ll(c, 0);
			return;
		}
		if ((flags & EXP_LT) && cur != -1 && when >= cur) {
			reply_ll(c, 0);
			return;
		}
	}
	if (when <= (long long)kv->now_ms && !kv->loading) {
		db_delete(kv, c->db, key->p, key->n);
		kv->dirty++;
		propagate_as(c, 2, "DEL", (size_t)3, key->p, key->n);
		reply_ll(c, 1);
		return;
	}
	db_set_expire(kv, c->db, key->p, key->n, when);
	kv->dirty++;
	char ms[KVD_LONG_STR];
	int n = ll2str(ms, when);
	propagate_as(c, 3, "PEXPIREAT", (size_t)9, key->p, key->n, ms, (size_t)n);
	reply_ll(c, 1);
}

static void cmd_expire(struct kvd_client *c)
{
	expire_generic(c, true, 1000, "expire");
}

static void cmd_pexpire(struct kvd_client *c)
{
	expire_generic(c, true, 1, "pexpire");
}

static void cmd_expireat(struct kvd_client *c)
{
	expire_generic(c, false, 1000, "expireat");
}

static void cmd_pexpireat(struct kvd_client *c)
{
	expire_generic(c, false, 1, "pexpireat");
}

/* TTL (ms false: seconds) or EXPIRETIME (absolute). */
static void ttl_generic(struct kvd_client *c, bool ms, bool absolute)
{
	struct kvd *kv = c->kv;
	struct arg *key = &c->argv[1];
	if (!db_find(kv, c->db, key->p, key->n)) {
		reply_ll(c, -2);
		return;
	}
	long long when = db_get_expire(kv, c->db, key->p, key->n);
	if (when < 0) {
		reply_ll(c, -1);
		return;
	}
	long long v = absolute ? when : when - (long long)kv->now_ms;
	if (v < 0)
		v = 0;
	reply_ll(c, ms ? v : (v + 500) / 1000);
}

static void cmd_ttl(struct kvd_client *c)
{
	ttl_generic(c, false, false);
}

static void cmd_pttl(struct kvd_client *c)
{
	ttl_generic(c, true, false);
}

static void cmd_expiretime(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	struct arg *key = &c->argv[1];
	if (!db_find(kv, c->db, key->p, key->n)) {
		reply_ll(c, -2);
		return;
	}
	long long when = db_get_expire(kv, c->db, key->p, key->n);
	reply_ll(c, when < 0 ? -1 : when / 1000);
}

static void cmd_pexpiretime(struct kvd_client *c)
{
	ttl_generic(c, true, true);
}

static void cmd_persist(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	struct arg *key = &c->argv[1];
	if (db_find(kv, c->db, key->p, key->n) && db_remove_expire(kv, c->db, key->p, key->n)) {
		kv->dirty++;
		reply_ll(c, 1);
	} else {
		reply_ll(c, 0);
	}
}

static void cmd_randomkey(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	for (int tries = 0; tries < 100 && c->db->keys.used; tries++) {
		struct dent *e = dict_random(kv, &c->db->keys);
		long long when = db_get_expire(kv, c->db, e->key, e->klen);
		if (when >= 0 && (uint64_t)when <= kv->now_ms && tries < 99)
			continue; /* expired: try another (as Redis, give up after a while) */
		reply_bulk(c, e->key, e->klen);
		return;
	}
	reply_null(c);
}

static void cmd_object(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	struct arg *sub = &c->argv[1];
	if (arg_eq(sub, "help")) {
		static const char *const lines[] = {
			"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"ENCODING <key>",
			"    Return the kind of internal representation used in order to store the value associated with a <key>.",
			"IDLETIME <key>",
			"    Return the idle time of the <key>, that is the approximated number of",
			"    seconds elapsed since the last access to the key.",
			"REFCOUNT <key>",
			"    Return the number of references of the value associated with the specified",
			"    <key>.",
			"HELP",
			"    Print this help.",
		};
		reply_array(c, ARRAY_SIZE(lines));
		for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
			reply_status(c, lines[i]);
		return;
	}
	bool known = arg_eq(sub, "encoding") || arg_eq(sub, "idletime") ||
		     arg_eq(sub, "refcount") || arg_eq(sub, "freq");
	if (!known) {
		reply_errorf(c, "ERR unknown subcommand '%.128s'. Try OBJECT HELP.", sub->p);
		return;
	}
	if (c->argc != 3) {
		char name[32];
		snprintf(name, sizeof(name), "object|%s", sub->p);
		for (char *p = name; *p; p++)
			*p = (char)tolower(*p);
		reply_arity(c, name);
		return;
	}
	struct obj *o = db_get(kv, c->db, c->argv[2].p, c->argv[2].n);
	if (!o) {
		reply_null(c);
		return;
	}
	if (arg_eq(sub, "encoding"))
		reply_cstr(c, obj_encoding(kv, o));
	else if (arg_eq(sub, "idletime"))
		reply_ll(c, (long long)kv_lru_clock(kv) - (long long)o->lru);
	else if (arg_eq(sub, "refcount"))
		reply_ll(c, 1);
	else
		reply_error(c, "ERR An LFU maxmemory policy is not selected, access frequency not "
			       "tracked. Please note that when switching between policies at "
			       "runtime LRU and LFU data will take some time to adjust.");
}

/* --- databases ------------------------------------------------------------------------ */
static void cmd_select(struct kvd_client *c)
{
	long long id;
	if (!str2ll(c->argv[1].p, c->argv[1].n, &id)) {
		reply_notint(c);
		return;
	}
	if (id < 0 || id >= KVD_DBS) {
		reply_error(c, "ERR DB index is out of range");
		return;
	}
	c->db = &c->kv->dbs[id];
	reply_ok(c);
}

static void cmd_dbsize(struct kvd_client *c)
{
	reply_ll(c, (long long)c->db->keys.used);
}

static bool flush_args_ok(struct kvd_client *c)
{
	if (c->argc > 2 ||
	    (c->argc == 2 && !arg_eq(&c->argv[1], "sync") && !arg_eq(&c->argv[1], "async"))) {
		reply_syntax(c);
		return false;
	}
	return true;
}

static void flush_one(struct kvd *kv, struct db *db)
{
	touch_all_watched(kv, db, NULL);
	kv->dirty += (long long)db->keys.used;
	db_flush(kv, db);
}

static void cmd_flushdb(struct kvd_client *c)
{
	if (!flush_args_ok(c))
		return;
	flush_one(c->kv, c->db);
	c->kv->dirty++;
	reply_ok(c);
}

static void cmd_flushall(struct kvd_client *c)
{
	if (!flush_args_ok(c))
		return;
	for (int i = 0; i < KVD_DBS; i++)
		flush_one(c->kv, &c->kv->dbs[i]);
	c->kv->dirty++;
	reply_ok(c);
}

struct cmd cmds_keys[] = {
	{ "del", del_generic, -2, CMD_WRITE, 1, -1, 1, "generic", 0, 0 },
	{ "unlink", del_generic, -2, CMD_WRITE | CMD_FAST, 1, -1, 1, "generic", 0, 0 },
	{ "exists", cmd_exists, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, "generic", 0, 0 },
	{ "touch", cmd_touch, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, "generic", 0, 0 },
	{ "type", cmd_type, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "generic", 0, 0 },
	{ "keys", cmd_keys, 2, CMD_READONLY, 0, 0, 0, "generic", 0, 0 },
	{ "scan", cmd_scan, -2, CMD_READONLY, 0, 0, 0, "generic", 0, 0 },
	{ "rename", cmd_rename, 3, CMD_WRITE, 1, 2, 1, "generic", 0, 0 },
	{ "renamenx", cmd_renamenx, 3, CMD_WRITE | CMD_FAST, 1, 2, 1, "generic", 0, 0 },
	{ "move", cmd_move, 3, CMD_WRITE | CMD_FAST, 1, 1, 1, "generic", 0, 0 },
	{ "swapdb", cmd_swapdb, 3, CMD_WRITE | CMD_FAST, 0, 0, 0, "keyspace", 0, 0 },
	{ "expire", cmd_expire, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "generic", 0, 0 },
	{ "pexpire", cmd_pexpire, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "generic", 0, 0 },
	{ "expireat", cmd_expireat, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "generic", 0, 0 },
	{ "pexpireat", cmd_pexpireat, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "generic", 0, 0 },
	{ "ttl", cmd_ttl, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "generic", 0, 0 },
	{ "pttl", cmd_pttl, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "generic", 0, 0 },
	{ "expiretime", cmd_expiretime, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "generic", 0, 0 },
	{ "pexpiretime", cmd_pexpiretime, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "generic", 0, 0 },
	{ "persist", cmd_persist, 2, CMD_WRITE | CMD_FAST, 1, 1, 1, "generic", 0, 0 },
	{ "randomkey", cmd_randomkey, 1, CMD_READONLY, 0, 0, 0, "generic", 0, 0 },
	{ "object", cmd_object, -2, CMD_READONLY, 2, 2, 1, "generic", 0, 0 },
	{ "select", cmd_select, 2, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, "connection", 0,
	  0 },
	{ "dbsize", cmd_dbsize, 1, CMD_READONLY | CMD_FAST, 0, 0, 0, "server", 0, 0 },
	{ "flushdb", cmd_flushdb, -1, CMD_WRITE, 0, 0, 0, "server", 0, 0 },
	{ "flushall", cmd_flushall, -1, CMD_WRITE, 0, 0, 0, "server", 0, 0 },
	{ NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, 0 },
};
