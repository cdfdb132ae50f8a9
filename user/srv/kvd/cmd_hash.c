/*
 * Hash commands: HSET HMSET HSETNX HGET HMGET HDEL HEXISTS HLEN HKEYS HVALS
 * HGETALL HINCRBY HINCRBYFLOAT HSTRLEN HRANDFIELD (HSCAN is in
 * cmd_server.c beside the other SCANs). A hash is a dict from field to a
 * counted string; an emptied hash is deleted.
 */
#include <user/srv/kvd/engine.h>

static struct hobj *hash_lookup(struct kvd_client *c, bool create, bool *wrong)
{
	struct hobj *h = (struct hobj *)lookup_typed(c, &c->argv[1], T_HASH, wrong);
	if (!h && !*wrong && create) {
		h = (struct hobj *)obj_new(c->kv, T_HASH);
		db_add(c->kv, c->db, &c->argv[1], &h->h);
	}
	return h;
}

/* OBJECT ENCODING: a hash past Redis's listpack limits is a "hashtable" for good. */
static void note_size(struct kvd *kv, struct hobj *h, size_t flen, size_t vlen)
{
	if (h->d.used > (uint64_t)kv->cfg.hash_max_listpack_entries ||
	    flen > (size_t)kv->cfg.hash_max_listpack_value ||
	    vlen > (size_t)kv->cfg.hash_max_listpack_value)
		h->h.pad[0] = 1;
}

/* Set field to value: true if the field is new. */
static bool hash_set(struct kvd *kv, struct hobj *h, const struct arg *f, const char *v, size_t vn)
{
	struct dent *e = dict_find(kv, &h->d, f->p, f->n);
	bool fresh = !e;
	if (e)
		bstr_free(kv, e->v.p);
	else
		e = dict_add(kv, &h->d, f->p, f->n);
	e->v.p = bstr_new(kv, v, vn);
	note_size(kv, h, f->n, vn);
	return fresh;
}

static void hset_generic(struct kvd_client *c, bool status_reply)
{
	if (c->argc % 2) {
		reply_arity(c, status_reply ? "hmset" : "hset");
		return;
	}
	bool wrong;
	struct hobj *h = hash_lookup(c, true, &wrong);
	if (wrong)
		return;
	long long created = 0;
	for (int i = 2; i < c->argc; i += 2)
		created += hash_set(c->kv, h, &c->argv[i], c->argv[i + 1].p, c->argv[i + 1].n);
	c->kv->dirty += (c->argc - 2) / 2;
	if (status_reply)
		reply_ok(c);
	else
		reply_ll(c, created);
}

static void cmd_hset(struct kvd_client *c)
{
	hset_generic(c, false);
}

static void cmd_hmset(struct kvd_client *c)
{
	hset_generic(c, true);
}

static void cmd_hsetnx(struct kvd_client *c)
{
	bool wrong;
	struct hobj *h = hash_lookup(c, false, &wrong);
	if (wrong)
		return;
	if (h && dict_find(c->kv, &h->d, c->argv[2].p, c->argv[2].n)) {
		reply_ll(c, 0);
		return;
	}
	h = hash_lookup(c, true, &wrong);
	hash_set(c->kv, h, &c->argv[2], c->argv[3].p, c->argv[3].n);
	c->kv->dirty++;
	reply_ll(c, 1);
}

static struct bstr *hash_get(struct kvd_client *c, struct hobj *h, const struct arg *f)
{
	struct dent *e = h ? dict_find(c->kv, &h->d, f->p, f->n) : NULL;
	return e ? e->v.p : NULL;
}

static void cmd_hget(struct kvd_client *c)
{
	bool wrong;
	struct hobj *h = hash_lookup(c, false, &wrong);
	if (wrong)
		return;
	struct bstr *v = hash_get(c, h, &c->argv[2]);
	if (v)
		reply_bulk(c, v->data, v->len);
	else
		reply_null(c);
}

static void cmd_hmget(struct kvd_client *c)
{
	bool wrong;
	struct hobj *h = hash_lookup(c, false, &wrong);
	if (wrong)
		return;
	reply_array(c, c->argc - 2);
	for (int i = 2; i < c->argc; i++) {
		struct bstr *v = hash_get(c, h, &c->argv[i]);
		if (v)
			reply_bulk(c, v->data, v->len);
		else
			reply_null(c);
	}
}

static void cmd_hdel(struct kvd_client *c)
{
	bool wrong;
	struct hobj *h = hash_lookup(c, false, &wrong);
	if (wrong)
		return;
	long long n = 0;
	for (int i = 2; h && i < c->argc; i++) {
		struct dent *e = dict_unlink(c->kv, &h->d, c->argv[i].p, c->argv[i].n);
		if (!e)
			continue;
		bstr_free(c->kv, e->v.p);
		dent_free(c->kv, e);
		n++;
	}
	if (h && h->d.used == 0)
		db_delete(c->kv, c->db, c->argv[1].p, c->argv[1].n);
	else if (h)
		dict_shrink(c->kv, &h->d);
	c->kv->dirty += n;
	reply_ll(c, n);
}

static void cmd_hexists(struct kvd_client *c)
{
	bool wrong;
	struct hobj *h = hash_lookup(c, false, &wrong);
	if (!wrong)
		reply_ll(c, hash_get(c, h, &c->argv[2]) != NULL);
}

static void cmd_hlen(struct kvd_client *c)
{
	bool wrong;
	struct hobj *h = hash_lookup(c, false, &wrong);
	if (!wrong)
		reply_ll(c, h ? (long long)h->d.used : 0);
}

static void cmd_hstrlen(struct kvd_client *c)
{
	bool wrong;
	struct hobj *h = hash_lookup(c, false, &wrong);
	if (wrong)
		return;
	struct bstr *v = hash_get(c, h, &c->argv[2]);
	reply_ll(c, v ? v->len : 0);
}

/* HKEYS (1), HVALS (2), HGETALL (3) */
static void hgetall_generic(struct kvd_client *c, int what)
{
	bool wrong;
	struct hobj *h = hash_lookup(c, false, &wrong);
	if (wrong)
		return;
	long long n = h ? (long long)h->d.used : 0;
	if (what == 3)
		reply_map(c, n);
	else
		reply_array(c, n);
	if (!h)
		return;
	struct dict_iter it;
	dict_iter_start(&it, &h->d);
	for (struct dent *e; (e = dict_iter_next(&it));) {
		struct bstr *v = e->v.p;
		if (what & 1)
			reply_bulk(c, e->key, e->klen);
		if (what & 2)
			reply_bulk(c, v->data, v->len);
	}
	dict_iter_end(&it);
}

static void cmd_hkeys(struct kvd_client *c)
{
	hgetall_generic(c, 1);
}

static void cmd_hvals(struct kvd_client *c)
{
	hgetall_generic(c, 2);
}

static void cmd_hgetall(struct kvd_client *c)
{
	hgetall_generic(c, 3);
}

static void cmd_hincrby(struct kvd_client *c)
{
	long long by, v = 0;
	if (!arg_ll(c, &c->argv[3], &by))
		return;
	bool wrong;
	struct hobj *h = hash_lookup(c, false, &wrong);
	if (wrong)
		return;
	struct bstr *cur = hash_get(c, h, &c->argv[2]);
	if (cur && !str2ll(cur->data, cur->len, &v)) {
		reply_error(c, "ERR hash value is not an integer");
		return;
	}
	if ((by < 0 && v < 0 && by < INT64_MIN - v) || (by > 0 && v > 0 && by > INT64_MAX - v)) {
		reply_error(c, "ERR increment or decrement would overflow");
		return;
	}
	v += by;
	char buf[KVD_LONG_STR];
	int n = ll2str(buf, v);
	h = hash_lookup(c, true, &wrong);
	hash_set(c->kv, h, &c->argv[2], buf, (size_t)n);
	c->kv->dirty++;
	reply_ll(c, v);
}

static void cmd_hincrbyfloat(struct kvd_client *c)
{
	long double by, v = 0;
	if (!arg_ld(c, &c->argv[3], &by))
		return;
	if (by - by != 0) { /* HINCRBYFLOAT refuses an infinite increment up front */
		reply_error(c, "ERR value is NaN or Infinity");
		return;
	}
	bool wrong;
	struct hobj *h = hash_lookup(c, false, &wrong);
	if (wrong)
		return;
	struct bstr *cur = hash_get(c, h, &c->argv[2]);
	if (cur && !str2ld(cur->data, cur->len, &v)) {
		reply_error(c, "ERR hash value is not a float");
		return;
	}
	v += by;
	if (v != v || v - v != 0) {
		reply_error(c, "ERR increment would produce NaN or Infinity");
		return;
	}
	char buf[KVD_DOUBLE_STR];
	int n = ld2str_human(buf, sizeof(buf), v);
	h = hash_lookup(c, true, &wrong);
	hash_set(c->kv, h, &c->argv[2], buf, (size_t)n);
	c->kv->dirty++;
	reply_bulk(c, buf, (size_t)n);
	propagate_as(c, 4, "HSET", (size_t)4, c->argv[1].p, c->argv[1].n, c->argv[2].p,
		     c->argv[2].n, buf, (size_t)n);
}

static void cmd_hrandfield(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	long long count = 1;
	bool with_values = false, multi = c->argc >= 3;
	if (multi && !arg_ll(c, &c->argv[2], &count))
		return;
	if (c->argc == 4 && arg_eq(&c->argv[3], "withvalues"))
		with_values = true;
	else if (c->argc > 3) {
		reply_syntax(c);
		return;
	}
	if (count < -(INT64_MAX / 2) || count > INT64_MAX / 2) {
		reply_error(c, "ERR value is out of range");
		return;
	}
	bool wrong;
	struct hobj *h = hash_lookup(c, false, &wrong);
	if (wrong)
		return;
	if (!h) {
		if (multi)
			reply_array(c, 0);
		else
			reply_null(c);
		return;
	}
	if (!multi) {
		struct dent *e = dict_random(kv, &h->d);
		reply_bulk(c, e->key, e->klen);
		return;
	}
	bool repeat = count < 0;
	long long n = repeat ? -count : count;
	if (!repeat && n > (long long)h->d.used)
		n = (long long)h->d.used;
	if (with_values && c->resp == 3)
		reply_array(c, n);
	else
		reply_array(c, with_values ? n * 2 : n);
	struct dict_pick pick;
	dict_pick_start(kv, &h->d, !repeat, &pick);
	for (long long i = 0; i < n; i++) {
		struct dent *e = dict_pick_next(kv, &h->d, &pick, (size_t)i);
		if (with_values && c->resp == 3)
			reply_array(c, 2);
		reply_bulk(c, e->key, e->klen);
		if (with_values) {
			struct bstr *v = e->v.p;
			reply_bulk(c, v->data, v->len);
		}
	}
	dict_pick_end(kv, &pick);
}

struct cmd cmds_hash[] = {
	{ "hset", cmd_hset, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash", 0, 0 },
	{ "hmset", cmd_hmset, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash", 0, 0 },
	{ "hsetnx", cmd_hsetnx, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash", 0, 0 },
	{ "hget", cmd_hget, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash", 0, 0 },
	{ "hmget", cmd_hmget, -3, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash", 0, 0 },
	{ "hdel", cmd_hdel, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "hash", 0, 0 },
	{ "hexists", cmd_hexists, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash", 0, 0 },
	{ "hlen", cmd_hlen, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash", 0, 0 },
	{ "hstrlen", cmd_hstrlen, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash", 0, 0 },
	{ "hkeys", cmd_hkeys, 2, CMD_READONLY, 1, 1, 1, "hash", 0, 0 },
	{ "hvals", cmd_hvals, 2, CMD_READONLY, 1, 1, 1, "hash", 0, 0 },
	{ "hgetall", cmd_hgetall, 2, CMD_READONLY, 1, 1, 1, "hash", 0, 0 },
	{ "hincrby", cmd_hincrby, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash", 0, 0 },
	{ "hincrbyfloat", cmd_hincrbyfloat, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash",
	  0, 0 },
	{ "hrandfield", cmd_hrandfield, -2, CMD_READONLY, 1, 1, 1, "hash", 0, 0 },
	{ NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, 0 },
};
