/*
 * Sorted-set algebra, random members and pops: ZUNION ZINTER ZDIFF and
 * their STORE forms (WEIGHTS, AGGREGATE SUM|MIN|MAX, WITHSCORES),
 * ZINTERCARD (LIMIT), ZRANDMEMBER, ZPOPMIN ZPOPMAX ZMPOP (MIN|MAX, COUNT)
 * and the blocking BZMPOP BZPOPMIN BZPOPMAX (parked by blocking.c), with
 * Redis 7.0's replies and errors.
 *
 * Sources may be sorted sets or plain sets (whose members score 1). The
 * result is built as a sorted set of its own, then stored or replied in
 * score order and freed; as in Redis, a score that comes out NaN
 * (inf * 0 weights, inf + -inf sums) is 0, sources are visited from the
 * smallest up (so an intersection costs the smallest set's size times the
 * number of sets), and an empty STORE result deletes the destination.
 *
 * Hostile input: numkeys is checked against the arguments actually given
 * before any key is looked at; every source is type-checked before work.
 */
#include <user/srv/kvd/engine.h>

enum { OP_UNION, OP_INTER, OP_DIFF };
enum { AGG_SUM, AGG_MIN, AGG_MAX };

struct src {
	struct obj *o; /* NULL: missing, an empty set */
	double weight;
};

static size_t src_len(const struct src *s)
{
	return s->o ? obj_len(s->o) : 0;
}

static struct dict *src_dict(const struct src *s)
{
	return &((struct hobj *)s->o)->d; /* setobj and zobj: d first, as hobj */
}

static double entry_score(const struct src *s, const struct dent *e)
{
	return s->o->type == T_ZSET ? ((const struct zsl_node *)e->v.p)->score : 1.0;
}

/* Score of member in s, false if absent. */
static bool src_score(struct kvd *kv, const struct src *s, const char *m, size_t n, double *v)
{
	if (!s->o)
		return false;
	struct dent *e = dict_find(kv, src_dict(s), m, n);
	if (!e)
		return false;
	*v = entry_score(s, e);
	return true;
}

static double weighted(double score, double weight)
{
	double v = score * weight;
	return v != v ? 0 : v;
}

static double aggregate(double acc, double v, int agg)
{
	if (agg == AGG_SUM) {
		double s = acc + v;
		return s != s ? 0 : s;
	}
	if (agg == AGG_MIN)
		return v < acc ? v : acc;
	return v > acc ? v : acc;
}

/* Add member with score to the result, or aggregate into its score. */
static void acc_add(struct kvd *kv, struct zobj *z, const char *m, size_t n, double v, int agg)
{
	struct dent *e = dict_find(kv, &z->d, m, n);
	if (!e) {
		zset_add(kv, z, m, n, v);
		return;
	}
	struct zsl_node *x = e->v.p;
	zset_update(kv, z, x, aggregate(x->score, v, agg));
}

static void compute(struct kvd *kv, struct src *s, long long nsrc, int op, int agg,
		    struct zobj *res, long long limit, long long *card)
{
	if (op != OP_DIFF) /* smallest first, stable */
		for (long long i = 1; i < nsrc; i++)
			for (long long j = i; j > 0 && src_len(&s[j - 1]) > src_len(&s[j]); j--) {
				struct src t = s[j];
				s[j] = s[j - 1];
				s[j - 1] = t;
			}
	if (op != OP_UNION && !s[0].o)
		return; /* nothing in the smallest (or the first, for DIFF) */
	if (op == OP_UNION) {
		for (long long i = 0; i < nsrc; i++) {
			if (!s[i].o)
				continue;
			struct dict_iter it;
			dict_iter_start(&it, src_dict(&s[i]));
			for (struct dent *e; (e = dict_iter_next(&it));)
				acc_add(kv, res, e->key, e->klen,
					weighted(entry_score(&s[i], e), s[i].weight), agg);
			dict_iter_end(&it);
		}
		return;
	}
	struct dict_iter it;
	dict_iter_start(&it, src_dict(&s[0]));
	for (struct dent *e; (e = dict_iter_next(&it));) {
		double score = op == OP_DIFF ? entry_score(&s[0], e)
					     : weighted(entry_score(&s[0], e), s[0].weight);
		bool keep = true;
		for (long long i = 1; i < nsrc && keep; i++) {
			double v;
			bool in = src_score(kv, &s[i], e->key, e->klen, &v);
			if (op == OP_DIFF)
				keep = !in;
			else if ((keep = in))
				score = aggregate(score, weighted(v, s[i].weight), agg);
		}
		if (!keep)
			continue;
		if (card) {
			if (++*card == limit)
				break;
			continue;
		}
		zset_add(kv, res, e->key, e->klen, score);
	}
	dict_iter_end(&it);
}

/*
 * ZUNION/ZINTER/ZDIFF[STORE], ZINTERCARD: numkeys at argv[at]; dst is the
 * STORE destination or NULL; card: ZINTERCARD.
 */
static void setop_generic(struct kvd_client *c, struct arg *dst, int at, int op, bool card,
			  const char *name)
{
	struct kvd *kv = c->kv;
	long long nsrc;
	if (!arg_ll(c, &c->argv[at], &nsrc))
		return;
	if (nsrc < 1) {
		reply_errorf(c, "ERR at least 1 input key is needed for '%s' command", name);
		return;
	}
	if (nsrc > c->argc - (at + 1)) {
		reply_syntax(c);
		return;
	}
	struct src *s = mem_must(kv, (size_t)nsrc * sizeof(*s));
	int j = at + 1;
	for (long long i = 0; i < nsrc; i++, j++) {
		s[i].o = db_lookup_read(c, &c->argv[j]);
		s[i].weight = 1;
		if (s[i].o && s[i].o->type != T_ZSET && s[i].o->type != T_SET) {
			reply_wrongtype(c);
			goto out;
		}
	}
	int agg = AGG_SUM;
	bool scores = false;
	long long limit = 0;
	while (j < c->argc) {
		int left = c->argc - j;
		struct arg *o = &c->argv[j];
		if (op != OP_DIFF && !card && left >= nsrc + 1 && arg_eq(o, "weights")) {
			j++;
			for (long long i = 0; i < nsrc; i++, j++)
				if (!str2d(c->argv[j].p, c->argv[j].n, &s[i].weight)) {
					reply_error(c, "ERR weight value is not a float");
					goto out;
				}
		} else if (op != OP_DIFF && !card && left >= 2 && arg_eq(o, "aggregate")) {
			struct arg *a = &c->argv[j + 1];
			if (arg_eq(a, "sum"))
				agg = AGG_SUM;
			else if (arg_eq(a, "min"))
				agg = AGG_MIN;
			else if (arg_eq(a, "max"))
				agg = AGG_MAX;
			else {
				reply_syntax(c);
				goto out;
			}
			j += 2;
		} else if (!dst && !card && arg_eq(o, "withscores")) {
			scores = true;
			j++;
		} else if (card && left >= 2 && arg_eq(o, "limit")) {
			if (!str2ll(c->argv[j + 1].p, c->argv[j + 1].n, &limit) || limit < 0) {
				reply_error(c, "ERR LIMIT can't be negative");
				goto out;
			}
			j += 2;
		} else {
			reply_syntax(c);
			goto out;
		}
	}
	if (card) {
		long long n = 0;
		compute(kv, s, nsrc, OP_INTER, AGG_SUM, NULL, limit, &n);
		reply_ll(c, n);
		goto out;
	}
	struct zobj *res = (struct zobj *)obj_new(kv, T_ZSET);
	compute(kv, s, nsrc, op, agg, res, 0, NULL);
	if (dst) {
		long long n = (long long)res->len;
		if (n) {
			res->h.pad[0] = res->len > (unsigned long)kv->cfg.zset_max_listpack_entries;
			db_set(kv, c->db, dst, &res->h, false);
			kv->dirty++;
		} else {
			obj_free(kv, &res->h);
			if (db_delete(kv, c->db, dst->p, dst->n))
				kv->dirty++;
		}
		reply_ll(c, n);
		goto out;
	}
	long long n = (long long)res->len;
	reply_array(c, scores && c->resp == 2 ? n * 2 : n);
	for (struct zsl_node *x = res->head->level[0].fwd; x; x = x->level[0].fwd) {
		if (scores && c->resp == 3)
			reply_array(c, 2);
		reply_bulk(c, x->ele, x->elen);
		if (scores)
			reply_double(c, x->score);
	}
	obj_free(kv, &res->h);
out:
	mem_free(kv, s, (size_t)nsrc * sizeof(*s));
}

static void cmd_zunionstore(struct kvd_client *c)
{
	setop_generic(c, &c->argv[1], 2, OP_UNION, false, "zunionstore");
}

static void cmd_zinterstore(struct kvd_client *c)
{
	setop_generic(c, &c->argv[1], 2, OP_INTER, false, "zinterstore");
}

static void cmd_zdiffstore(struct kvd_client *c)
{
	setop_generic(c, &c->argv[1], 2, OP_DIFF, false, "zdiffstore");
}

static void cmd_zunion(struct kvd_client *c)
{
	setop_generic(c, NULL, 1, OP_UNION, false, "zunion");
}

static void cmd_zinter(struct kvd_client *c)
{
	setop_generic(c, NULL, 1, OP_INTER, false, "zinter");
}

static void cmd_zdiff(struct kvd_client *c)
{
	setop_generic(c, NULL, 1, OP_DIFF, false, "zdiff");
}

static void cmd_zintercard(struct kvd_client *c)
{
	setop_generic(c, NULL, 1, OP_INTER, true, "zintercard");
}

/* --- ZMPOP, BZMPOP, BZPOPMIN, BZPOPMAX ------------------------------------------ */
void zmpop_reply(struct kvd_client *c, struct db *db, const struct arg *key, struct zobj *z,
		 long long count, bool max)
{
	struct kvd *kv = c->kv;
	bool single = count == 0;
	long long n = single ? 1 : count < (long long)z->len ? count : (long long)z->len;
	reply_array(c, single ? 3 : 2);
	reply_bulk(c, key->p, key->n);
	if (!single)
		reply_array(c, n);
	for (long long i = 0; i < n; i++) {
		struct zsl_node *x = max ? z->tail : z->head->level[0].fwd;
		if (!single)
			reply_array(c, 2);
		reply_bulk(c, x->ele, x->elen);
		reply_double(c, x->score);
		char *m = mem_dup(kv, x->ele, x->elen);
		size_t mn = x->elen;
		zset_del(kv, z, m, mn);
		mem_free(kv, m, mn + 1);
	}
	kv->dirty += n;
	char num[KVD_LONG_STR];
	struct arg argv[3] = { { max ? "ZPOPMAX" : "ZPOPMIN", 7 }, *key, { num, 0 } };
	argv[2].n = (size_t)ll2str(num, n);
	aof_feed(kv, db->id, 3, argv);
	touch_watched(kv, db, key->p, key->n); /* ZMPOP's keys are not in its key spec */
	if (kv->current == c)
		propagate_none(c);
}

/* --- ZRANDMEMBER ------------------------------------------------------------------ */
/* ZRANDMEMBER key [count [WITHSCORES]]: a negative count may repeat
 * members, a positive one gives at most the set's size, all distinct. */
static void cmd_zrandmember(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	long long count = 1;
	bool scores = false, multi = c->argc >= 3;
	if (multi) {
		if (!arg_ll(c, &c->argv[2], &count))
			return;
		if (count < -INT64_MAX) {
			reply_errorf(c,
				     "ERR value is out of range, value must between %lld and %lld",
				     -INT64_MAX, INT64_MAX);
			return;
		}
	}
	if (c->argc > 4 || (c->argc == 4 && !arg_eq(&c->argv[3], "withscores"))) {
		reply_syntax(c);
		return;
	}
	scores = c->argc == 4;
	if (scores && (count < -(INT64_MAX / 2) || count > INT64_MAX / 2)) {
		reply_error(c, "ERR value is out of range");
		return;
	}
	bool wrong;
	struct zobj *z = (struct zobj *)lookup_typed(c, &c->argv[1], T_ZSET, &wrong);
	if (wrong)
		return;
	if (!z) {
		if (multi)
			reply_array(c, 0);
		else
			reply_null(c);
		return;
	}
	if (!multi) {
		struct dent *e = dict_random(kv, &z->d);
		reply_bulk(c, e->key, e->klen);
		return;
	}
	bool repeat = count < 0;
	long long n = repeat ? -count : count;
	size_t total = z->d.used;
	if (!repeat && n > (long long)total)
		n = (long long)total;
	reply_array(c, scores && c->resp == 2 ? n * 2 : n);
	struct dict_pick pick;
	dict_pick_start(kv, &z->d, !repeat && n, &pick);
	for (long long i = 0; i < n; i++) {
		struct dent *e = dict_pick_next(kv, &z->d, &pick, (size_t)i);
		if (scores && c->resp == 3)
			reply_array(c, 2);
		reply_bulk(c, e->key, e->klen);
		if (scores)
			reply_double(c, ((struct zsl_node *)e->v.p)->score);
	}
	dict_pick_end(kv, &pick);
}

/* ZPOPMIN/ZPOPMAX key [count] */
static void zpop_generic(struct kvd_client *c, bool max)
{
	struct kvd *kv = c->kv;
	long long count = 1;
	bool with_count = c->argc == 3;
	if (c->argc > 3) {
		reply_syntax(c);
		return;
	}
	if (with_count && (!str2ll(c->argv[2].p, c->argv[2].n, &count) || count < 0)) {
		reply_error(c, "ERR value is out of range, must be positive");
		return;
	}
	bool wrong;
	struct zobj *z = (struct zobj *)lookup_typed(c, &c->argv[1], T_ZSET, &wrong);
	if (wrong)
		return;
	if (!z || count == 0) {
		reply_array(c, 0);
		return;
	}
	if (count > (long long)z->len)
		count = (long long)z->len;
	bool pairs = c->resp == 3 && with_count;
	reply_array(c, pairs ? count : count * 2);
	for (long long i = 0; i < count; i++) {
		struct zsl_node *x = max ? z->tail : z->head->level[0].fwd;
		if (pairs)
			reply_array(c, 2);
		reply_bulk(c, x->ele, x->elen);
		reply_double(c, x->score);
		char *m = mem_dup(kv, x->ele, x->elen);
		size_t n = x->elen;
		zset_del(kv, z, m, n);
		mem_free(kv, m, n + 1);
	}
	kv->dirty += count;
	if (z->len == 0)
		db_delete(kv, c->db, c->argv[1].p, c->argv[1].n);
}

static void cmd_zpopmin(struct kvd_client *c)
{
	zpop_generic(c, false);
}

static void cmd_zpopmax(struct kvd_client *c)
{
	zpop_generic(c, true);
}

/* Pop from the first non-empty sorted set of keys[0..nkeys), or block
 * (BZ* forms) until one has members. count 0: BZPOPMIN/MAX's one member. */
static void zpop_first(struct kvd_client *c, struct arg *keys, int nkeys, bool max, long long count,
		       bool block, uint64_t when)
{
	for (int k = 0; k < nkeys; k++) {
		bool wrong;
		struct zobj *z = (struct zobj *)lookup_typed(c, &keys[k], T_ZSET, &wrong);
		if (wrong)
			return;
		if (!z)
			continue;
		zmpop_reply(c, c->db, &keys[k], z, count, max);
		if (z->len == 0)
			db_delete(c->kv, c->db, keys[k].p, keys[k].n);
		return;
	}
	if (!block || c->kv->loading || c->in_exec) {
		reply_null_array(c);
		return;
	}
	block_client(c, keys, nkeys, when, max ? 1 : 0, NULL);
	c->btype = T_ZSET;
	c->bcount = count;
}

/* ZMPOP numkeys key... MIN|MAX [COUNT n]; BZMPOP timeout numkeys ... */
static void zmpop_generic(struct kvd_client *c, int at, bool block)
{
	long long nkeys, count;
	uint64_t when;
	bool max;
	if (!mpop_args(c, at, block, "min", "max", &nkeys, &max, &count, &when))
		return;
	zpop_first(c, &c->argv[at + 1], (int)nkeys, max, count, block, when);
}

static void cmd_zmpop(struct kvd_client *c)
{
	zmpop_generic(c, 1, false);
}

static void cmd_bzmpop(struct kvd_client *c)
{
	zmpop_generic(c, 2, true);
}

static void bzpop_generic(struct kvd_client *c, bool max)
{
	uint64_t when;
	if (parse_timeout(c, &c->argv[c->argc - 1], &when))
		zpop_first(c, &c->argv[1], c->argc - 2, max, 0, true, when);
}

static void cmd_bzpopmin(struct kvd_client *c)
{
	bzpop_generic(c, false);
}

static void cmd_bzpopmax(struct kvd_client *c)
{
	bzpop_generic(c, true);
}

struct cmd cmds_zsetop[] = {
	{ "zunionstore", cmd_zunionstore, -4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "sorted-set", 0,
	  0 },
	{ "zinterstore", cmd_zinterstore, -4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "sorted-set", 0,
	  0 },
	{ "zdiffstore", cmd_zdiffstore, -4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zunion", cmd_zunion, -3, CMD_READONLY, 0, 0, 0, "sorted-set", 0, 0 },
	{ "zinter", cmd_zinter, -3, CMD_READONLY, 0, 0, 0, "sorted-set", 0, 0 },
	{ "zdiff", cmd_zdiff, -3, CMD_READONLY, 0, 0, 0, "sorted-set", 0, 0 },
	{ "zintercard", cmd_zintercard, -3, CMD_READONLY, 0, 0, 0, "sorted-set", 0, 0 },
	{ "zrandmember", cmd_zrandmember, -2, CMD_READONLY, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zpopmin", cmd_zpopmin, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zpopmax", cmd_zpopmax, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "sorted-set", 0, 0 },
	{ "zmpop", cmd_zmpop, -4, CMD_WRITE, 0, 0, 0, "sorted-set", 0, 0 },
	{ "bzmpop", cmd_bzmpop, -5, CMD_WRITE | CMD_BLOCKING, 0, 0, 0, "sorted-set", 0, 0 },
	{ "bzpopmin", cmd_bzpopmin, -3, CMD_WRITE | CMD_BLOCKING | CMD_FAST, 1, -2, 1, "sorted-set",
	  0, 0 },
	{ "bzpopmax", cmd_bzpopmax, -3, CMD_WRITE | CMD_BLOCKING | CMD_FAST, 1, -2, 1, "sorted-set",
	  0, 0 },
	{ NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, 0 },
};
