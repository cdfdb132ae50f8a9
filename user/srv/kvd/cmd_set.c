/*
 * Set commands: SADD SREM SISMEMBER SMISMEMBER SMEMBERS SCARD SPOP
 * SRANDMEMBER SINTER SUNION SDIFF and their STORE forms, SINTERCARD, SMOVE
 * (SSCAN is in cmd_server.c). A set is a dict of members; an emptied set
 * is deleted. SPOP, being random, is logged as the SREM it amounts to.
 */
#include <user/srv/kvd/engine.h>

static struct setobj *set_lookup(struct kvd_client *c, const struct arg *key, bool *wrong)
{
	return (struct setobj *)lookup_typed(c, key, T_SET, wrong);
}

/* OBJECT ENCODING: "intset" while every member is an integer and there are
 * few, as Redis 7.0; past that, "hashtable" for good. */
static void note_member(struct kvd *kv, struct setobj *s, const char *m, size_t n)
{
	long long ignored;
	if (!str2ll(m, n, &ignored) || s->d.used > (uint64_t)kv->cfg.set_max_intset_entries)
		s->h.pad[0] = 1;
}

static bool set_add(struct kvd *kv, struct setobj *s, const char *m, size_t n)
{
	if (dict_find(kv, &s->d, m, n))
		return false;
	dict_add(kv, &s->d, m, n);
	note_member(kv, s, m, n);
	return true;
}

static bool set_rem(struct kvd *kv, struct setobj *s, const char *m, size_t n)
{
	struct dent *e = dict_unlink(kv, &s->d, m, n);
	if (!e)
		return false;
	dent_free(kv, e);
	return true;
}

static void cmd_sadd(struct kvd_client *c)
{
	bool wrong;
	struct setobj *s = set_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	if (!s) {
		s = (struct setobj *)obj_new(c->kv, T_SET);
		db_add(c->kv, c->db, &c->argv[1], &s->h);
	}
	long long n = 0;
	for (int i = 2; i < c->argc; i++)
		n += set_add(c->kv, s, c->argv[i].p, c->argv[i].n);
	c->kv->dirty += n;
	reply_ll(c, n);
}

static void cmd_srem(struct kvd_client *c)
{
	bool wrong;
	struct setobj *s = set_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	long long n = 0;
	for (int i = 2; s && i < c->argc; i++)
		n += set_rem(c->kv, s, c->argv[i].p, c->argv[i].n);
	if (s && s->d.used == 0)
		db_delete(c->kv, c->db, c->argv[1].p, c->argv[1].n);
	c->kv->dirty += n;
	reply_ll(c, n);
}

static void cmd_sismember(struct kvd_client *c)
{
	bool wrong;
	struct setobj *s = set_lookup(c, &c->argv[1], &wrong);
	if (!wrong)
		reply_ll(c, s && dict_find(c->kv, &s->d, c->argv[2].p, c->argv[2].n));
}

static void cmd_smismember(struct kvd_client *c)
{
	bool wrong;
	struct setobj *s = set_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	reply_array(c, c->argc - 2);
	for (int i = 2; i < c->argc; i++)
		reply_ll(c, s && dict_find(c->kv, &s->d, c->argv[i].p, c->argv[i].n));
}

static void reply_members(struct kvd_client *c, struct setobj *s)
{
	reply_set(c, s ? (long long)s->d.used : 0);
	if (!s)
		return;
	struct dict_iter it;
	dict_iter_start(&it, &s->d);
	for (struct dent *e; (e = dict_iter_next(&it));)
		reply_bulk(c, e->key, e->klen);
	dict_iter_end(&it);
}

static void cmd_smembers(struct kvd_client *c)
{
	bool wrong;
	struct setobj *s = set_lookup(c, &c->argv[1], &wrong);
	if (!wrong)
		reply_members(c, s);
}

static void cmd_scard(struct kvd_client *c)
{
	bool wrong;
	struct setobj *s = set_lookup(c, &c->argv[1], &wrong);
	if (!wrong)
		reply_ll(c, s ? (long long)s->d.used : 0);
}

static void cmd_spop(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	long long count = 1;
	bool multi = c->argc == 3;
	if (c->argc > 3) {
		reply_syntax(c);
		return;
	}
	if (multi && (!str2ll(c->argv[2].p, c->argv[2].n, &count) || count < 0)) {
		reply_error(c, "ERR value is out of range, must be positive");
		return;
	}
	bool wrong;
	struct setobj *s = set_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	if (!s) {
		if (multi)
			reply_set(c, 0);
		else
			reply_null(c);
		return;
	}
	if (count > (long long)s->d.used)
		count = (long long)s->d.used;
	if (multi)
		reply_set(c, count);
	if (count == 0)
		return;
	struct arg *prop = mem_must(kv, (size_t)(count + 2) * sizeof(*prop));
	prop[0] = (struct arg){ "SREM", 4 };
	prop[1] = c->argv[1];
	for (long long i = 0; i < count; i++) {
		struct dent *e = dict_random(kv, &s->d);
		e = dict_unlink(kv, &s->d, e->key, e->klen);
		reply_bulk(c, e->key, e->klen);
		prop[2 + i].p = mem_dup(kv, e->key, e->klen);
		prop[2 + i].n = e->klen;
		dent_free(kv, e);
	}
	kv->dirty += count;
	propagate_argv(c, (int)count + 2, prop);
	for (long long i = 0; i < count; i++)
		mem_free(kv, prop[2 + i].p, prop[2 + i].n + 1);
	mem_free(kv, prop, (size_t)(count + 2) * sizeof(*prop));
	if (s->d.used == 0)
		db_delete(kv, c->db, c->argv[1].p, c->argv[1].n);
	else
		dict_shrink(kv, &s->d);
}

static void cmd_srandmember(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	long long count = 1;
	bool multi = c->argc == 3;
	if (c->argc > 3) {
		reply_syntax(c);
		return;
	}
	if (multi && !arg_ll(c, &c->argv[2], &count))
		return;
	if (count < -(INT64_MAX / 2)) {
		reply_error(c, "ERR value is out of range");
		return;
	}
	bool wrong;
	struct setobj *s = set_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	if (!s) {
		if (multi)
			reply_array(c, 0);
		else
			reply_null(c);
		return;
	}
	if (!multi) {
		struct dent *e = dict_random(kv, &s->d);
		reply_bulk(c, e->key, e->klen);
		return;
	}
	bool repeat = count < 0;
	long long n = repeat ? -count : MIN(count, (long long)s->d.used);
	reply_array(c, n);
	struct dict_pick pick;
	dict_pick_start(kv, &s->d, !repeat, &pick);
	for (long long i = 0; i < n; i++) {
		struct dent *e = dict_pick_next(kv, &s->d, &pick, (size_t)i);
		reply_bulk(c, e->key, e->klen);
	}
	dict_pick_end(kv, &pick);
}

enum { OP_INTER, OP_UNION, OP_DIFF };

/* The result of op over the sets named by keys[0..n) as a new set object
 * (never stored), or NULL after a WRONGTYPE reply. */
static struct setobj *set_op(struct kvd_client *c, struct arg *keys, int n, int op)
{
	struct kvd *kv = c->kv;
	struct setobj **sets = mem_must(kv, (size_t)n * sizeof(*sets));
	for (int i = 0; i < n; i++) {
		bool wrong;
		sets[i] = set_lookup(c, &keys[i], &wrong);
		if (wrong) {
			mem_free(kv, sets, (size_t)n * sizeof(*sets));
			return NULL;
		}
	}
	struct setobj *r = (struct setobj *)obj_new(kv, T_SET);
	if (op == OP_UNION) {
		for (int i = 0; i < n; i++) {
			if (!sets[i])
				continue;
			struct dict_iter it;
			dict_iter_start(&it, &sets[i]->d);
			for (struct dent *e; (e = dict_iter_next(&it));)
				set_add(kv, r, e->key, e->klen);
			dict_iter_end(&it);
		}
	} else if (sets[0]) {
		/* inter: walk the smallest; diff: walk the first */
		int base = 0;
		if (op == OP_INTER)
			for (int i = 0; i < n; i++) {
				if (!sets[i]) {
					base = i; /* an empty operand: an empty result */
					break;
				}
				if (sets[i]->d.used < sets[base]->d.used)
					base = i;
			}
		if (sets[base]) {
			struct dict_iter it;
			dict_iter_start(&it, &sets[base]->d);
			for (struct dent *e; (e = dict_iter_next(&it));) {
				bool keep = true;
				for (int i = 0; i < n && keep; i++) {
					if (i == base)
						continue;
					bool in = sets[i] &&
						  dict_find(kv, &sets[i]->d, e->key, e->klen);
					keep = op == OP_INTER ? in : (i == 0 || !in);
				}
				if (keep)
					set_add(kv, r, e->key, e->klen);
			}
			dict_iter_end(&it);
		}
	}
	mem_free(kv, sets, (size_t)n * sizeof(*sets));
	return r;
}

static void setop_reply(struct kvd_client *c, int op)
{
	struct setobj *r = set_op(c, &c->argv[1], c->argc - 1, op);
	if (!r)
		return;
	reply_members(c, r);
	obj_free(c->kv, &r->h);
}

static void setop_store(struct kvd_client *c, int op)
{
	struct setobj *r = set_op(c, &c->argv[2], c->argc - 2, op);
	if (!r)
		return;
	long long n = (long long)r->d.used;
	struct kvd *kv = c->kv;
	if (n) {
		db_set(kv, c->db, &c->argv[1], &r->h, false);
	} else {
		obj_free(kv, &r->h);
		db_delete(kv, c->db, c->argv[1].p, c->argv[1].n);
	}
	kv->dirty++;
	reply_ll(c, n);
}

static void cmd_sinter(struct kvd_client *c)
{
	setop_reply(c, OP_INTER);
}

static void cmd_sunion(struct kvd_client *c)
{
	setop_reply(c, OP_UNION);
}

static void cmd_sdiff(struct kvd_client *c)
{
	setop_reply(c, OP_DIFF);
}

static void cmd_sinterstore(struct kvd_client *c)
{
	setop_store(c, OP_INTER);
}

static void cmd_sunionstore(struct kvd_client *c)
{
	setop_store(c, OP_UNION);
}

static void cmd_sdiffstore(struct kvd_client *c)
{
	setop_store(c, OP_DIFF);
}

static void cmd_sintercard(struct kvd_client *c)
{
	long long nkeys, limit = 0;
	if (!str2ll(c->argv[1].p, c->argv[1].n, &nkeys) || nkeys <= 0) {
		reply_error(c, "ERR numkeys should be greater than 0");
		return;
	}
	if (nkeys > c->argc - 2) {
		reply_error(c, "ERR Number of keys can't be greater than number of args");
		return;
	}
	for (int i = 2 + (int)nkeys; i < c->argc; i++) {
		if (arg_eq(&c->argv[i], "limit") && i + 1 < c->argc) {
			if (!str2ll(c->argv[i + 1].p, c->argv[i + 1].n, &limit) || limit < 0) {
				reply_error(c, "ERR LIMIT can't be negative");
				return;
			}
			i++;
		} else {
			reply_syntax(c);
			return;
		}
	}
	struct setobj *r = set_op(c, &c->argv[2], (int)nkeys, OP_INTER);
	if (!r)
		return;
	long long n = (long long)r->d.used;
	obj_free(c->kv, &r->h);
	reply_ll(c, limit && n > limit ? limit : n);
}

static void cmd_smove(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	bool wrong;
	struct setobj *src = set_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	struct setobj *dst = set_lookup(c, &c->argv[2], &wrong);
	if (wrong)
		return;
	struct arg *m = &c->argv[3];
	if (!src || !dict_find(kv, &src->d, m->p, m->n)) {
		reply_ll(c, 0);
		return;
	}
	if (src == dst) {
		reply_ll(c, 1);
		return;
	}
	set_rem(kv, src, m->p, m->n);
	touch_watched(kv, c->db, c->argv[1].p, c->argv[1].n);
	if (src->d.used == 0)
		db_delete(kv, c->db, c->argv[1].p, c->argv[1].n);
	if (!dst) {
		dst = (struct setobj *)obj_new(kv, T_SET);
		db_add(kv, c->db, &c->argv[2], &dst->h);
	}
	/* the destination changes only if the member is new there */
	if (set_add(kv, dst, m->p, m->n))
		touch_watched(kv, c->db, c->argv[2].p, c->argv[2].n);
	kv->dirty++;
	reply_ll(c, 1);
}

struct cmd cmds_set[] = {
	{ "sadd", cmd_sadd, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "set", 0, 0 },
	{ "srem", cmd_srem, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "set", 0, 0 },
	{ "sismember", cmd_sismember, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "set", 0, 0 },
	{ "smismember", cmd_smismember, -3, CMD_READONLY | CMD_FAST, 1, 1, 1, "set", 0, 0 },
	{ "smembers", cmd_smembers, 2, CMD_READONLY, 1, 1, 1, "set", 0, 0 },
	{ "scard", cmd_scard, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "set", 0, 0 },
	{ "spop", cmd_spop, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "set", 0, 0 },
	{ "srandmember", cmd_srandmember, -2, CMD_READONLY, 1, 1, 1, "set", 0, 0 },
	{ "sinter", cmd_sinter, -2, CMD_READONLY, 1, -1, 1, "set", 0, 0 },
	{ "sunion", cmd_sunion, -2, CMD_READONLY, 1, -1, 1, "set", 0, 0 },
	{ "sdiff", cmd_sdiff, -2, CMD_READONLY, 1, -1, 1, "set", 0, 0 },
	{ "sinterstore", cmd_sinterstore, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 1, "set", 0, 0 },
	{ "sunionstore", cmd_sunionstore, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 1, "set", 0, 0 },
	{ "sdiffstore", cmd_sdiffstore, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 1, "set", 0, 0 },
	{ "sintercard", cmd_sintercard, -3, CMD_READONLY, 0, 0, 0, "set", 0, 0 },
	{ "smove", cmd_smove, 4, CMD_WRITE | CMD_FAST | CMD_OWNTOUCH, 1, 2, 1, "set", 0, 0 },
	{ NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, 0 },
};
