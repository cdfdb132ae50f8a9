/*
 * The parameters kvd has, for CONFIG GET/SET and the runner's command line:
 * one table, each entry a name, a kind (integer, memory size, yes/no, enum)
 * with its bounds, and where the value lives. CONFIG GET matches names with
 * glob patterns (case-insensitive) and answers name/value pairs in table
 * order; CONFIG SET checks every value before it changes any (so a bad one
 * changes nothing), as Redis 7 does.
 *
 * A few parameters exist only so Redis's clients and tests, which read or
 * set them, get sensible answers: "save" (kvd's durability is the log;
 * snapshots are not taken) and the listpack thresholds OBJECT ENCODING
 * reports by.
 */
#include <user/srv/kvd/engine.h>

enum { K_INT, K_MEM, K_BOOL, K_ENUM, K_STR };

struct param {
	const char *name;
	int kind;
	size_t off; /* in struct config_vals */
	bool is_ll; /* long long, else int */
	long long min, max;
	const char *const *names; /* K_ENUM: value names, NULL-terminated */
	const char *str;   /* K_STR: a fixed value */
};

static const char *const policies[] = { "noeviction",     "allkeys-lru",     "volatile-lru",
					"allkeys-random", "volatile-random", "volatile-ttl",
					"allkeys-lfu",    "volatile-lfu",    NULL };
static const char *const fsyncs[] = { "no", "everysec", "always", NULL };

#define OFF(f) offsetof(struct config_vals, f)
#define LL(f) OFF(f), true
#define IN(f) OFF(f), false
static const struct param params[] = {
	{ "maxmemory", K_MEM, LL(maxmemory), 0, INT64_MAX, NULL, NULL },
	{ "maxmemory-policy", K_ENUM, IN(maxmemory_policy), 0, 0, policies, NULL },
	{ "maxmemory-samples", K_INT, IN(maxmemory_samples), 1, 64, NULL, NULL },
	{ "proto-max-bulk-len", K_MEM, LL(proto_max_bulk_len), 1024 * 1024, INT64_MAX, NULL, NULL },
	{ "client-query-buffer-limit", K_MEM, LL(client_query_buffer_limit), 1024 * 1024, INT64_MAX,
	  NULL, NULL },
	{ "hz", K_INT, IN(hz), 1, 500, NULL, NULL },
	{ "appendonly", K_BOOL, IN(appendonly), 0, 1, NULL, NULL },
	{ "appendfsync", K_ENUM, IN(appendfsync), 0, 0, fsyncs, NULL },
	{ "auto-aof-rewrite-percentage", K_INT, LL(auto_aof_rewrite_percentage), 0, INT32_MAX, NULL,
	  NULL },
	{ "auto-aof-rewrite-min-size", K_MEM, LL(auto_aof_rewrite_min_size), 0, INT64_MAX, NULL,
	  NULL },
	{ "maxclients", K_INT, IN(maxclients), 1, 1000000, NULL, NULL },
	{ "timeout", K_INT, LL(timeout), 0, INT32_MAX, NULL, NULL },
	{ "databases", K_INT, IN(databases), KVD_DBS, KVD_DBS, NULL, NULL },
	{ "list-max-listpack-size", K_INT, IN(list_max_listpack_size), -5, INT32_MAX, NULL, NULL },
	{ "list-compress-depth", K_INT, IN(list_compress_depth), 0, INT32_MAX, NULL, NULL },
	{ "list-max-ziplist-size", K_INT, IN(list_max_listpack_size), -5, INT32_MAX, NULL, NULL },
	{ "hash-max-listpack-entries", K_INT, IN(hash_max_listpack_entries), 0, INT32_MAX, NULL,
	  NULL },
	{ "hash-max-ziplist-entries", K_INT, IN(hash_max_listpack_entries), 0, INT32_MAX, NULL,
	  NULL },
	{ "hash-max-listpack-value", K_INT, IN(hash_max_listpack_value), 0, INT32_MAX, NULL, NULL },
	{ "hash-max-ziplist-value", K_INT, IN(hash_max_listpack_value), 0, INT32_MAX, NULL, NULL },
	{ "set-max-intset-entries", K_INT, IN(set_max_intset_entries), 0, INT32_MAX, NULL, NULL },
	{ "zset-max-listpack-entries", K_INT, IN(zset_max_listpack_entries), 0, INT32_MAX, NULL,
	  NULL },
	{ "zset-max-ziplist-entries", K_INT, IN(zset_max_listpack_entries), 0, INT32_MAX, NULL,
	  NULL },
	{ "zset-max-listpack-value", K_INT, IN(zset_max_listpack_value), 0, INT32_MAX, NULL, NULL },
	{ "zset-max-ziplist-value", K_INT, IN(zset_max_listpack_value), 0, INT32_MAX, NULL, NULL },
	{ "lazyfree-lazy-user-del", K_BOOL, IN(lazyfree_lazy_user_del), 0, 1, NULL, NULL },
	{ "slowlog-log-slower-than", K_INT, LL(slowlog_log_slower_than), -1, INT64_MAX, NULL,
	  NULL },
	{ "slowlog-max-len", K_INT, LL(slowlog_max_len), 0, INT64_MAX, NULL, NULL },
	{ "save", K_STR, 0, false, 0, 0, NULL, "" },
	{ "appendfilename", K_STR, 0, false, 0, 0, NULL, "appendonly.aof" },
	{ "notify-keyspace-events", K_STR, 0, false, 0, 0, NULL, "" },
};

void config_defaults(struct config_vals *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->maxmemory_policy = EVICT_NONE;
	cfg->maxmemory_samples = 5;
	cfg->proto_max_bulk_len = 512LL * 1024 * 1024;
	cfg->client_query_buffer_limit = 1024LL * 1024 * 1024;
	cfg->hz = 10;
	cfg->appendfsync = FSYNC_EVERYSEC;
	cfg->auto_aof_rewrite_percentage = 100;
	cfg->auto_aof_rewrite_min_size = 64LL * 1024 * 1024;
	cfg->maxclients = 10000;
	cfg->databases = KVD_DBS;
	cfg->list_max_listpack_size = -2;
	cfg->hash_max_listpack_entries = 128;
	cfg->hash_max_listpack_value = 64;
	cfg->set_max_intset_entries = 512;
	cfg->zset_max_listpack_entries = 128;
	cfg->zset_max_listpack_value = 64;
	cfg->slowlog_log_slower_than = 10000;
	cfg->slowlog_max_len = 128;
	cfg->active_expire_enabled = 1;
}

static bool streq_nocase(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (tolower(*a) != tolower(*b))
			return false;
	return *a == *b;
}

static const struct param *param_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(params); i++)
		if (streq_nocase(params[i].name, name))
			return &params[i];
	return NULL;
}

static long long param_get(const struct config_vals *cfg, const struct param *p)
{
	const char *base = (const char *)cfg + p->off;
	if (p->is_ll)
		return *(const long long *)base;
	return *(const int *)base;
}

static void param_put(struct config_vals *cfg, const struct param *p, long long v)
{
	char *base = (char *)cfg + p->off;
	if (p->is_ll)
		*(long long *)base = v;
	else
		*(int *)base = (int)v;
}

/* The value's text into buf. */
static void param_text(const struct config_vals *cfg, const struct param *p, char *buf, size_t n)
{
	long long v = param_get(cfg, p);
	switch (p->kind) {
	case K_BOOL: strlcpy(buf, v ? "yes" : "no", n); break;
	case K_ENUM: strlcpy(buf, p->names[v], n); break;
	case K_STR: strlcpy(buf, p->str, n); break;
	default:
		if (n >= KVD_LONG_STR)
			ll2str(buf, v);
		break;
	}
}

/* Check val for p: 0 and *out, or -1 and *why. */
static int param_parse(const struct param *p, const char *val, long long *out, const char **why)
{
	long long v;
	switch (p->kind) {
	case K_BOOL:
		if (streq_nocase(val, "yes"))
			v = 1;
		else if (streq_nocase(val, "no"))
			v = 0;
		else {
			*why = "argument must be 'yes' or 'no'";
			return -1;
		}
		break;
	case K_ENUM:
		for (v = 0; p->names[v]; v++)
			if (streq_nocase(val, p->names[v]))
				break;
		if (!p->names[v]) {
			*why = "argument(s) must be one of the following";
			return -1;
		}
		break;
	case K_MEM:
		if (!str2mem(val, &v)) {
			*why = "argument must be a memory value";
			return -1;
		}
		break;
	case K_STR: *out = 0; return 0; /* accepted, and has no effect: see the header */
	default:
		if (!str2ll(val, strlen(val), &v)) {
			*why = "argument couldn't be parsed into an integer";
			return -1;
		}
		break;
	}
	if ((p->kind == K_INT || p->kind == K_MEM) && (v < p->min || v > p->max)) {
		*why = "argument must be between the allowed bounds";
		return -1;
	}
	*out = v;
	return 0;
}

static void param_apply(struct kvd *kv, const struct param *p, long long v)
{
	if (p->kind == K_STR)
		return;
	bool was_aof = kv->cfg.appendonly;
	param_put(&kv->cfg, p, v);
	if (p->off == OFF(appendonly) && !was_aof && kv->cfg.appendonly && kv->serving)
		aof_start(kv);
	if (p->off == OFF(appendonly) && !kv->cfg.appendonly && kv->aof_on) {
		aof_flush(kv, true);
		kv->aof_on = false;
	}
	if (p->off == OFF(maxmemory) && kv->cfg.maxmemory)
		evict_if_needed(kv);
}

int config_set(struct kvd *kv, const char *name, const char *val, const char **why)
{
	const struct param *p = param_find(name);
	if (!p) {
		*why = "Unknown option or number of arguments for CONFIG SET";
		return -1;
	}
	long long v;
	if (param_parse(p, val, &v, why) < 0)
		return -1;
	param_apply(kv, p, v);
	return 0;
}

void config_get(struct kvd_client *c, int npat, struct arg *pats)
{
	size_t at = reply_defer(c);
	long long n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(params); i++) {
		const struct param *p = &params[i];
		bool hit = false;
		for (int j = 0; j < npat && !hit; j++)
			hit = glob_match(pats[j].p, pats[j].n, p->name, strlen(p->name), true);
		if (!hit)
			continue;
		char val[KVD_LONG_STR + 32];
		param_text(&c->kv->cfg, p, val, sizeof(val));
		reply_cstr(c, p->name);
		reply_cstr(c, val);
		n++;
	}
	reply_defer_map(c, at, n);
}

/* CONFIG SET name value [name value ...]: all checked, then all applied. */
void config_set_command(struct kvd_client *c)
{
	if (c->argc < 4 || c->argc % 2) {
		reply_arity(c, "config|set");
		return;
	}
	long long vals[64];
	int npairs = (c->argc - 2) / 2;
	if (npairs > 64) {
		reply_error(c, "ERR too many parameters");
		return;
	}
	for (int i = 0; i < npairs; i++) {
		struct arg *name = &c->argv[2 + 2 * i], *val = &c->argv[3 + 2 * i];
		const struct param *p = param_find(name->p);
		const char *why;
		if (!p) {
			reply_errorf(
				c,
				"ERR Unknown option or number of arguments for CONFIG SET - '%s'",
				name->p);
			return;
		}
		for (int j = 0; j < i; j++)
			if (param_find(c->argv[2 + 2 * j].p) == p) {
				reply_errorf(c,
					     "ERR CONFIG SET failed (possibly related to argument "
					     "'%s') - duplicate parameter",
					     name->p);
				return;
			}
		if (param_parse(p, val->p, &vals[i], &why) < 0) {
			reply_errorf(
				c, "ERR CONFIG SET failed (possibly related to argument '%s') - %s",
				name->p, why);
			return;
		}
	}
	for (int i = 0; i < npairs; i++)
		param_apply(c->kv, param_find(c->argv[2 + 2 * i].p), vals[i]);
	reply_ok(c);
}
