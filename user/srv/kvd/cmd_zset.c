/*
 * Sorted-set commands: ZADD (NX XX GT LT CH INCR) ZINCRBY ZREM ZSCORE
 * ZMSCORE ZCARD ZCOUNT ZLEXCOUNT ZRANGE (BYSCORE BYLEX REV LIMIT
 * WITHSCORES) ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX
 * ZREVRANGE ZRANGESTORE ZRANK ZREVRANK ZREMRANGEBYRANK/SCORE/LEX, with
 * Redis 7.0's semantics (ZPOPMIN/ZPOPMAX are with the other pops in
 * cmd_zsetop.c) and error words. Ranges walk the skiplist of
 * zset.c: the first node of a score or lex range is found in O(log n).
 */
#include <user/srv/kvd/engine.h>

static struct zobj *zset_lookup(struct kvd_client *c, const struct arg *key, bool *wrong)
{
	return (struct zobj *)lookup_typed(c, key, T_ZSET, wrong);
}

static void note_size(struct kvd *kv, struct zobj *z, size_t mlen)
{
	if (z->len > (unsigned long)kv->cfg.zset_max_listpack_entries ||
	    mlen > (size_t)kv->cfg.zset_max_listpack_value)
		z->h.pad[0] = 1;
}

/* --- ranges ------------------------------------------------------------------- */
struct srange {
	double min, max;
	bool minex, maxex;
};

static bool parse_score_bound(const struct arg *a, double *v, bool *ex)
{
	*ex = a->n && a->p[0] == '(';
	const char *p = a->p + *ex;
	size_t n = a->n - *ex;
	return str2d(p, n, v) && *v == *v;
}

static bool parse_srange(const struct arg *min, const struct arg *max, struct srange *r)
{
	return parse_score_bound(min, &r->min, &r->minex) &&
	       parse_score_bound(max, &r->max, &r->maxex);
}

static bool gte_min(double s, const struct srange *r)
{
	return r->minex ? s > r->min : s >= r->min;
}

static bool lte_max(double s, const struct srange *r)
{
	return r->maxex ? s < r->max : s <= r->max;
}

struct lrange {
	const char *min, *max;
	size_t minn, maxn;
	int mininf, maxinf; /* -1 "-", +1 "+", 0 a bound */
	bool minex, maxex;
};

static bool parse_lex_bound(const struct arg *a, const char **p, size_t *n, int *inf, bool *ex)
{
	*inf = 0;
	*ex = false;
	if (a->n == 1 && a->p[0] == '-') {
		*inf = -1;
		return true;
	}
	if (a->n == 1 && a->p[0] == '+') {
		*inf = 1;
		return true;
	}
	if (a->n == 0 || (a->p[0] != '(' && a->p[0] != '['))
		return false;
	*ex = a->p[0] == '(';
	*p = a->p + 1;
	*n = a->n - 1;
	return true;
}

static bool parse_lrange(const struct arg *min, const struct arg *max, struct lrange *r)
{
	return parse_lex_bound(min, &r->min, &r->minn, &r->mininf, &r->minex) &&
	       parse_lex_bound(max, &r->max, &r->maxn, &r->maxinf, &r->maxex);
}

static int lexcmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t m = an < bn ? an : bn;
	int c = memcmp(a, b, m);
	return c ? c : an < bn ? -1 : an > bn ? 1 : 0;
}

static bool lex_gte_min(const struct zsl_node *x, const struct lrange *r)
{
	if (r->mininf)
		return r->mininf < 0;
	int c = lexcmp(x->ele, x->elen, r->min, r->minn);
	return r->minex ? c > 0 : c >= 0;
}

static bool lex_lte_max(const struct zsl_node *x, const struct lrange *r)
{
	if (r->maxinf)
		return r->maxinf > 0;
	int c = lexcmp(x->ele, x->elen, r->max, r->maxn);
	return r->maxex ? c < 0 : c <= 0;
}

/* First node with score >= min (by the bound), or NULL. */
static struct zsl_node *first_in(struct zobj *z, const struct srange *sr, const struct lrange *lr)
{
	struct zsl_node *p = z->head;
	for (int i = z->level - 1; i >= 0; i--)
		while (p->level[i].fwd && !(sr ? gte_min(p->level[i].fwd->score, sr)
					       : lex_gte_min(p->level[i].fwd, lr)))
			p = p->level[i].fwd;
	p = p->level[0].fwd;
	if (!p || !(sr ? lte_max(p->score, sr) : lex_lte_max(p, lr)))
		return NULL;
	return p;
}

/* Last node with score <= max, or NULL. */
static struct zsl_node *last_in(struct zobj *z, const struct srange *sr, const struct lrange *lr)
{
	struct zsl_node *p = z->head;
	for (int i = z->level - 1; i >= 0; i--)
		while (p->level[i].fwd && (sr ? lte_max(p->level[i].fwd->score, sr)
					      : lex_lte_max(p->level[i].fwd, lr)))
			p = p->level[i].fwd;
	if (p == z->head || !(sr ? gte_min(p->score, sr) : lex_gte_min(p, lr)))
		return NULL;
	return p;
}

/* --- ZADD ------------------------------------------------------------------------ */
enum { Z_NX = 1, Z_XX = 2, Z_GT = 4, Z_LT = 8, Z_CH = 16, Z_INCR = 32 };

static void zadd_generic(struct kvd_client *c, int flags, int first)
{
	struct kvd *kv = c->kv;
	int i = first;
	for (; i < c->argc; i++) {
		struct arg *o = &c->argv[i];
		if (arg_eq(o, "nx"))
			flags |= Z_NX;
		else if (arg_eq(o, "xx"))
			flags |= Z_XX;
		else if (arg_eq(o, "gt"))
			flags |= Z_GT;
		else if (arg_eq(o, "lt"))
			flags |= Z_LT;
		else if (arg_eq(o, "ch"))
			flags |= Z_CH;
		else if (arg_eq(o, "incr"))
			flags |= Z_INCR;
		else
			break;
	}
	int pairs = c->argc - i;
	if (pairs % 2 || pairs == 0) {
		reply_syntax(c);
		return;
	}
	pairs /= 2;
	if ((flags & Z_NX) && (flags & Z_XX)) {
		reply_error(c, "ERR XX and NX options at the same time are not compatible");
		return;
	}
	if (((flags & Z_GT) && (flags & (Z_NX | Z_LT))) || ((flags & Z_LT) && (flags & Z_NX))) {
		reply_error(c, "ERR GT, LT, and/or NX options at the same time are not compatible");
		return;
	}
	if ((flags & Z_INCR) && pairs > 1) {
		reply_error(c, "ERR INCR option supports a single increment-element pair");
		return;
	}
	/* every score is checked before anything changes */
	for (int j = 0; j < pairs; j++) {
		double ignored;
		if (!arg_double(c, &c->argv[i + 2 * j], &ignored))
			return;
	}
	bool wrong;
	struct zobj *z = zset_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	if (!z) {
		if (flags & Z_XX) {
			if (flags & Z_INCR)
				reply_null(c);
			else
				reply_ll(c, 0);
			return;
		}
		z = (struct zobj *)obj_new(kv, T_ZSET);
		db_add(kv, c->db, &c->argv[1], &z->h);
	}
	long long added = 0, changed = 0;
	double result = 0;
	bool done = false;
	for (int j = 0; j < pairs; j++) {
		struct arg *m = &c->argv[i + 2 * j + 1];
		double s;
		str2d(c->argv[i + 2 * j].p, c->argv[i + 2 * j].n, &s);
		struct dent *e = dict_find(kv, &z->d, m->p, m->n);
		if (e) {
			if (flags & Z_NX)
				continue;
			struct zsl_node *x = e->v.p;
			if (flags & Z_INCR) {
				s += x->score;
				if (s != s) {
					reply_error(c, "ERR resulting score is not a number (NaN)");
					goto out;
				}
			}
			if (((flags & Z_GT) && s <= x->score) || ((flags & Z_LT) && s >= x->score))
				continue;
			result = s;
			done = true;
			if (s != x->score) {
				zset_update(kv, z, x, s);
				changed++;
			}
		} else {
			if (flags & Z_XX)
				continue;
			zset_add(kv, z, m->p, m->n, s);
			note_size(kv, z, m->n);
			added++;
			result = s;
			done = true;
		}
	}
	kv->dirty += added + changed;
	if (flags & Z_INCR) {
		if (done)
			reply_double(c, result);
		else
			reply_null(c);
	} else {
		reply_ll(c, (flags & Z_CH) ? added + changed : added);
	}
out:
	if (z->len == 0)
		db_delete(kv, c->db, c->argv[1].p, c->argv[1].n);
}

static void cmd_zadd(struct kvd_client *c)
{
	zadd_generic(c, 0, 2);
}

static void cmd_zincrby(struct kvd_client *c)
{
	zadd_generic(c, Z_INCR, 2);
}

static void cmd_zrem(struct kvd_client *c)
{
	bool wrong;
	struct zobj *z = zset_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	long long n = 0;
	for (int i = 2; z && i < c->argc; i++)
		n += zset_del(c->kv, z, c->argv[i].p, c->argv[i].n);
	if (z && z->len == 0)
		db_delete(c->kv, c->db, c->argv[1].p, c->argv[1].n);
	c->kv->dirty += n;
	reply_ll(c, n);
}

static struct zsl_node *member(struct kvd_client *c, struct zobj *z, const struct arg *m)
{
	struct dent *e = z ? dict_find(c->kv, &z->d, m->p, m->n) : NULL;
	return e ? e->v.p : NULL;
}

static void cmd_zscore(struct kvd_client *c)
{
	bool wrong;
	struct zobj *z = zset_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	struct zsl_node *x = member(c, z, &c->argv[2]);
	if (x)
		reply_double(c, x->score);
	else
		reply_null(c);
}

static void cmd_zmscore(struct kvd_client *c)
{
	bool wrong;
	struct zobj *z = zset_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	reply_array(c, c->argc - 2);
	for (int i = 2; i < c->argc; i++) {
		struct zsl_node *x = member(c, z, &c->argv[i]);
		if (x)
			reply_double(c, x->score);
		else
			reply_null(c);
	}
}

static void cmd_zcard(struct kvd_client *c)
{
	bool wrong;
	struct zobj *z = zset_lookup(c, &c->argv[1], &wrong);
	if (!wrong)
		reply_ll(c, z ? (long long)z->len : 0);
}

static void count_generic(struct kvd_client *c, bool lex)
{
	struct srange sr;
	struct lrange lr;
	if (!lex && !parse_srange(&c->argv[2], &c->argv[3], &sr)) {
		reply_error(c, "ERR min or max is not a float");
		return;
	}
	if (lex && !parse_lrange(&c->argv[2], &c->argv[3], &lr)) {
		reply_error(c, "ERR min or max not valid string range item");
		return;
	}
	bool wrong;
	struct zobj *z = zset_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	if (!z) {
		reply_ll(c, 0);
		return;
	}
	struct zsl_node *a = first_in(z, lex ? NULL : &sr, lex ? &lr : NULL);
	struct zsl_node *b = last_in(z, lex ? NULL : &sr, lex ? &lr : NULL);
	if (!a || !b) {
		reply_ll(c, 0);
		return;
	}
	long long n = (long long)zset_rank(z, b) - (long long)zset_rank(z, a) + 1;
	reply_ll(c, n > 0 ? n : 0);
}

static void cmd_zcount(struct kvd_client *c)
{
	count_generic(c, false);
}

static void cmd_zlexcount(struct kvd_client *c)
{
	count_generic(c, true);
}

static void reply_node(struct kvd_client *c, struct zsl_node *x, bool scores)
{
	if (scores && c->resp == 3)
		reply_array(c, 2);
	reply_bulk(c, x->ele, x->elen);
	if (scores)
		reply_double(c, x->score);
}

/* --- ZRANGE and friends --------------------------------------------------------------- */
enum { BY_RANK, BY_SCORE, BY_LEX };

/* One node of a range: to the reply, or into ZRANGESTORE's result. */
static void emit(struct kvd_client *c, struct zobj *res, struct zsl_node *x, bool scores)
{
	if (res)
		zset_add(c->kv, res, x->ele, x->elen, x->score);
	else
		reply_node(c, x, scores);
}

/* argv[first], argv[first+1] are the range (max, min when rev for score/lex,
 * as the user wrote them) of the key at argv[first - 1]; options start at
 * opt. store: ZRANGESTORE, into the key at argv[1]. */
static void zrange_generic(struct kvd_client *c, int by, bool rev, int first, int opt,
			   bool allow_opts, bool store)
{
	bool scores = false, limit = false;
	long long offset = 0, count = -1;
	for (int i = opt; i < c->argc; i++) {
		struct arg *o = &c->argv[i];
		if (arg_eq(o, "withscores") && !store) {
			scores = true;
		} else if (arg_eq(o, "limit") && i + 2 < c->argc) {
			if (!arg_ll(c, &c->argv[i + 1], &offset) ||
			    !arg_ll(c, &c->argv[i + 2], &count))
				return;
			limit = true;
			i += 2;
		} else if (allow_opts && arg_eq(o, "byscore") && by == BY_RANK) {
			by = BY_SCORE;
		} else if (allow_opts && arg_eq(o, "bylex") && by == BY_RANK) {
			by = BY_LEX;
		} else if (allow_opts && arg_eq(o, "rev")) {
			rev = true;
		} else {
			reply_syntax(c);
			return;
		}
	}
	if (limit && by == BY_RANK) {
		reply_error(c,
			    "ERR syntax error, LIMIT is only supported in combination with either "
			    "BYSCORE or BYLEX");
		return;
	}
	if (scores && by == BY_LEX) {
		reply_error(c,
			    "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
		return;
	}
	struct arg *lo = &c->argv[first], *hi = &c->argv[first + 1];
	if (rev && by != BY_RANK) {
		lo = &c->argv[first + 1];
		hi = &c->argv[first];
	}
	struct srange sr;
	struct lrange lr;
	long long start = 0, stop = 0;
	if (by == BY_RANK) {
		if (!arg_ll(c, lo, &start) || !arg_ll(c, hi, &stop))
			return;
	} else if (by == BY_SCORE && !parse_srange(lo, hi, &sr)) {
		reply_error(c, "ERR min or max is not a float");
		return;
	} else if (by == BY_LEX && !parse_lrange(lo, hi, &lr)) {
		reply_error(c, "ERR min or max not valid string range item");
		return;
	}
	bool wrong;
	struct zobj *z = zset_lookup(c, &c->argv[first - 1], &wrong);
	if (wrong)
		return;
	struct zobj *res = store ? (struct zobj *)obj_new(c->kv, T_ZSET) : NULL;
	bool flat2 = scores && c->resp == 2;
	long long n = 0;
	if (!z) {
		if (!res)
			reply_array(c, 0);
	} else if (by == BY_RANK) {
		if (!clamp_range((long long)z->len, &start, &stop)) {
			if (!res)
				reply_array(c, 0);
		} else {
			n = stop - start + 1;
			if (!res)
				reply_array(c, flat2 ? n * 2 : n);
			struct zsl_node *x = zset_by_rank(
				z, (unsigned long)(rev ? (long long)z->len - start : start + 1));
			for (long long i = 0; i < n && x; i++) {
				emit(c, res, x, scores);
				x = rev ? x->back : x->level[0].fwd;
			}
		}
	} else {
		struct srange *s = by == BY_SCORE ? &sr : NULL;
		struct lrange *l = by == BY_LEX ? &lr : NULL;
		struct zsl_node *x = rev ? last_in(z, s, l) : first_in(z, s, l);
		size_t at = res ? 0 : reply_defer(c);
		while (x && offset > 0) {
			x = rev ? x->back : x->level[0].fwd;
			offset--;
		}
		if (offset < 0)
			x = NULL;
		for (; x && count != 0; x = rev ? x->back : x->level[0].fwd, count--) {
			bool in = s ? (rev ? gte_min(x->score, s) : lte_max(x->score, s))
				    : (rev ? lex_gte_min(x, l) : lex_lte_max(x, l));
			if (!in)
				break;
			emit(c, res, x, scores);
			n++;
		}
		if (!res)
			reply_defer_array(c, at, flat2 ? n * 2 : n);
	}
	if (!res)
		return;
	/* ZRANGESTORE: an empty result deletes the destination */
	struct kvd *kv = c->kv;
	n = (long long)res->len;
	if (n) {
		note_size(kv, res, 0);
		db_set(kv, c->db, &c->argv[1], &res->h, false);
		kv->dirty++;
	} else {
		obj_free(kv, &res->h);
		if (db_delete(kv, c->db, c->argv[1].p, c->argv[1].n))
			kv->dirty++;
	}
	reply_ll(c, n);
}

static void cmd_zrangestore(struct kvd_client *c)
{
	zrange_generic(c, BY_RANK, false, 3, 5, true, true);
}

static void cmd_zrange(struct kvd_client *c)
{
	zrange_generic(c, BY_RANK, false, 2, 4, true, false);
}

static void cmd_zrevrange(struct kvd_client *c)
{
	zrange_generic(c, BY_RANK, true, 2, 4, false, false);
}

static void cmd_zrangebyscore(struct kvd_client *c)
{
	zrange_generic(c, BY_SCORE, false, 2, 4, false, false);
}

static void cmd_zrevrangebyscore(struct kvd_client *c)
{
	zrange_generic(c, BY_SCORE, true, 2, 4, false, false);
}

static void cmd_zrangebylex(struct kvd_client *c)
{
	zrange_generic(c, BY_LEX, false, 2, 4, false, false);
}

static void cmd_zrevrangebylex(struct kvd_client *c)
{
	zrange_generic(c, BY_LEX, true, 2, 4, false, false);
}

static void rank_generic(struct kvd_client *c, bool rev)
{
	bool wrong;
	struct zobj *z = zset_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	struct zsl_node *x = member(c, z, &c->argv[2]);
	if (!x) {
		reply_null(c);
		return;
	}
	unsigned long r = zset_rank(z, x);
	reply_ll(c, rev ? (long long)(z->len - r) : (long long)r - 1);
}

static void cmd_zrank(struct kvd_client *c)
{
	rank_generic(c, false);
}

static void cmd_zrevrank(struct kvd_client *c)
{
	rank_generic(c, true);
}

static void remrange_generic(struct kvd_client *c, int by)
{
	struct kvd *kv = c->kv;
	struct srange sr;
	struct lrange lr;
	long long start = 0, stop = 0;
	if (by == BY_RANK) {
		if (!arg_ll(c, &c->argv[2], &start) || !arg_ll(c, &c->argv[3], &stop))
			return;
	} else if (by == BY_SCORE && !parse_srange(&c->argv[2], &c->argv[3], &sr)) {
		reply_error(c, "ERR min or max is not a float");
		return;
	} else if (by == BY_LEX && !parse_lrange(&c->argv[2], &c->argv[3], &lr)) {
		reply_error(c, "ERR min or max not valid string range item");
		return;
	}
	bool wrong;
	struct zobj *z = zset_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	if (!z) {
		reply_ll(c, 0);
		return;
	}
	struct zsl_node *x;
	long long n = 0, limit = -1;
	if (by == BY_RANK) {
		if (!clamp_range((long long)z->len, &start, &stop)) {
			reply_ll(c, 0);
			return;
		}
		x = zset_by_rank(z, (unsigned long)start + 1);
		limit = stop - start + 1;
	} else {
		x = first_in(z, by == BY_SCORE ? &sr : NULL, by == BY_LEX ? &lr : NULL);
	}
	while (x && limit != 0) {
		if (by == BY_SCORE && !lte_max(x->score, &sr))
			break;
		if (by == BY_LEX && !lex_lte_max(x, &lr))
			break;
		struct zsl_node *next = x->level[0].fwd;
		char *m = mem_dup(kv, x->ele, x->elen);
		size_t mn = x->elen;
		zset_del(kv, z, m, mn);
		mem_free(kv, m, mn + 1);
		x = next;
		n++;
		limit--;
	}
	kv->dirty += n;
	if (z->len == 0)
		db_delete(kv, c->db, c->argv[1].p, c->argv[1].n);
	reply_ll(c, n);
}

static void cmd_zremrangebyrank(struct kvd_client *c)
{
	remrange_generic(c, BY_RANK);
}

static void cmd_zremrangebyscore(struct kvd_client *c)
{
	remrange_generic(c, BY_SCORE);
}

static void cmd_zremrangebylex(struct kvd_client *c)
{
	remrange_generic(c, BY_LEX);
}

struct cmd cmds_zset[] = {
	{ "zadd", cmd_zadd, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zincrby", cmd_zincrby, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "sorted-set", 0,
	  0 },
	{ "zrem", cmd_zrem, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zscore", cmd_zscore, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zmscore", cmd_zmscore, -3, CMD_READONLY | CMD_FAST, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zcard", cmd_zcard, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zcount", cmd_zcount, 4, CMD_READONLY | CMD_FAST, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zlexcount", cmd_zlexcount, 4, CMD_READONLY | CMD_FAST, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zrange", cmd_zrange, -4, CMD_READONLY, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zrangestore", cmd_zrangestore, -5, CMD_WRITE | CMD_DENYOOM, 1, 2, 1, "sorted-set", 0,
	  0 },
	{ "zrevrange", cmd_zrevrange, -4, CMD_READONLY, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zrangebyscore", cmd_zrangebyscore, -4, CMD_READONLY, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zrevrangebyscore", cmd_zrevrangebyscore, -4, CMD_READONLY, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zrangebylex", cmd_zrangebylex, -4, CMD_READONLY, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zrevrangebylex", cmd_zrevrangebylex, -4, CMD_READONLY, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zrank", cmd_zrank, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zrevrank", cmd_zrevrank, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zremrangebyrank", cmd_zremrangebyrank, 4, CMD_WRITE, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zremrangebyscore", cmd_zremrangebyscore, 4, CMD_WRITE, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zremrangebylex", cmd_zremrangebylex, 4, CMD_WRITE, 1, 1, 1, "sorted-set", 0, 0 },
	{ NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, 0 },
};
