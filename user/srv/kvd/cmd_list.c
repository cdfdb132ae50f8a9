/*
 * List commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP (with count) LLEN
 * LRANGE LINDEX LSET LREM LTRIM LINSERT LPOS LMOVE RPOPLPUSH, and the
 * blocking BLPOP BRPOP BLMOVE BRPOPLPUSH (parking is in blocking.c).
 *
 * A list that becomes empty is deleted, as in Redis. Blocking pops inside
 * MULTI, or while the log is replayed, do not block: they answer at once.
 */
#include <user/srv/kvd/engine.h>

static struct lobj *list_lookup(struct kvd_client *c, const struct arg *key, bool *wrong)
{
	return (struct lobj *)lookup_typed(c, key, T_LIST, wrong);
}

static void delete_if_empty(struct kvd_client *c, const struct arg *key, struct lobj *l)
{
	if (l->len == 0)
		db_delete(c->kv, c->db, key->p, key->n);
}

static void push_generic(struct kvd_client *c, bool head, bool only_existing)
{
	bool wrong;
	struct lobj *l = list_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	if (!l) {
		if (only_existing) {
			reply_ll(c, 0);
			return;
		}
		l = (struct lobj *)obj_new(c->kv, T_LIST);
		db_add(c->kv, c->db, &c->argv[1], &l->h);
	}
	for (int i = 2; i < c->argc; i++)
		list_push(c->kv, l, c->argv[i].p, c->argv[i].n, head);
	c->kv->dirty += c->argc - 2;
	reply_ll(c, (long long)l->len);
}

static void cmd_lpush(struct kvd_client *c)
{
	push_generic(c, true, false);
}

static void cmd_rpush(struct kvd_client *c)
{
	push_generic(c, false, false);
}

static void cmd_lpushx(struct kvd_client *c)
{
	push_generic(c, true, true);
}

static void cmd_rpushx(struct kvd_client *c)
{
	push_generic(c, false, true);
}

static void pop_generic(struct kvd_client *c, bool head)
{
	long long count = -1;
	if (c->argc > 3) {
		reply_arity(c, head ? "lpop" : "rpop");
		return;
	}
	if (c->argc == 3) {
		if (!str2ll(c->argv[2].p, c->argv[2].n, &count) || count < 0) {
			reply_error(c, "ERR value is out of range, must be positive");
			return;
		}
	}
	bool wrong;
	struct lobj *l = list_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	if (!l) {
		if (count >= 0)
			reply_null_array(c);
		else
			reply_null(c);
		return;
	}
	if (count == 0) {
		reply_array(c, 0);
		return;
	}
	long long n = count < 0 ? 1 : (count > (long long)l->len ? (long long)l->len : count);
	if (count >= 0)
		reply_array(c, n);
	for (long long i = 0; i < n; i++) {
		struct lnode *x = list_pop(l, head);
		reply_bulk(c, x->data, x->len);
		lnode_free(c->kv, x);
	}
	c->kv->dirty += n;
	delete_if_empty(c, &c->argv[1], l);
}

static void cmd_lpop(struct kvd_client *c)
{
	pop_generic(c, true);
}

static void cmd_rpop(struct kvd_client *c)
{
	pop_generic(c, false);
}

static void cmd_llen(struct kvd_client *c)
{
	bool wrong;
	struct lobj *l = list_lookup(c, &c->argv[1], &wrong);
	if (!wrong)
		reply_ll(c, l ? (long long)l->len : 0);
}

static void cmd_lrange(struct kvd_client *c)
{
	long long start, end;
	if (!arg_ll(c, &c->argv[2], &start) || !arg_ll(c, &c->argv[3], &end))
		return;
	bool wrong;
	struct lobj *l = list_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	if (!l || !clamp_range((long long)l->len, &start, &end)) {
		reply_array(c, 0);
		return;
	}
	reply_array(c, end - start + 1);
	struct lnode *x = list_index(l, start);
	for (long long i = start; i <= end; i++, x = x->next)
		reply_bulk(c, x->data, x->len);
}

static void cmd_lindex(struct kvd_client *c)
{
	long long i;
	if (!arg_ll(c, &c->argv[2], &i))
		return;
	bool wrong;
	struct lobj *l = list_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	struct lnode *x = l ? list_index(l, i) : NULL;
	if (x)
		reply_bulk(c, x->data, x->len);
	else
		reply_null(c);
}

static void cmd_lset(struct kvd_client *c)
{
	long long i;
	if (!arg_ll(c, &c->argv[2], &i))
		return;
	bool wrong;
	struct lobj *l = list_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	if (!l) {
		reply_error(c, "ERR no such key");
		return;
	}
	struct lnode *x = list_index(l, i);
	if (!x) {
		reply_error(c, "ERR index out of range");
		return;
	}
	struct arg *v = &c->argv[3];
	struct lnode *y = mem_must(c->kv, sizeof(*y) + v->n + 1);
	*y = *x;
	y->len = (uint32_t)v->n;
	memcpy(y->data, v->p, v->n);
	y->data[v->n] = '\0';
	if (y->prev)
		y->prev->next = y;
	else
		l->head = y;
	if (y->next)
		y->next->prev = y;
	else
		l->tail = y;
	lnode_free(c->kv, x);
	c->kv->dirty++;
	reply_ok(c);
}

static bool node_eq(const struct lnode *x, const struct arg *a)
{
	return x->len == a->n && memcmp(x->data, a->p, a->n) == 0;
}

static void unlink_node(struct lobj *l, struct lnode *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		l->head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	else
		l->tail = x->prev;
	l->len--;
}

static void cmd_lrem(struct kvd_client *c)
{
	long long count;
	if (!arg_ll(c, &c->argv[2], &count))
		return;
	bool wrong;
	struct lobj *l = list_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	if (!l) {
		reply_ll(c, 0);
		return;
	}
	long long removed = 0;
	bool from_tail = count < 0;
	long long limit = from_tail ? -count : count;
	for (struct lnode *x = from_tail ? l->tail : l->head, *next; x; x = next) {
		next = from_tail ? x->prev : x->next;
		if (!node_eq(x, &c->argv[3]))
			continue;
		unlink_node(l, x);
		lnode_free(c->kv, x);
		removed++;
		if (limit && removed == limit)
			break;
	}
	c->kv->dirty += removed;
	reply_ll(c, removed);
	delete_if_empty(c, &c->argv[1], l);
}

static void cmd_ltrim(struct kvd_client *c)
{
	long long start, end;
	if (!arg_ll(c, &c->argv[2], &start) || !arg_ll(c, &c->argv[3], &end))
		return;
	bool wrong;
	struct lobj *l = list_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	if (!l) {
		reply_ok(c);
		return;
	}
	long long len = (long long)l->len;
	long long ltrim, rtrim;
	if (!clamp_range(len, &start, &end)) {
		ltrim = len;
		rtrim = 0;
	} else {
		ltrim = start;
		rtrim = len - end - 1;
	}
	for (long long i = 0; i < ltrim && l->len; i++)
		lnode_free(c->kv, list_pop(l, true));
	for (long long i = 0; i < rtrim && l->len; i++)
		lnode_free(c->kv, list_pop(l, false));
	c->kv->dirty += ltrim + rtrim;
	reply_ok(c);
	delete_if_empty(c, &c->argv[1], l);
}

static void cmd_linsert(struct kvd_client *c)
{
	bool after;
	if (arg_eq(&c->argv[2], "after"))
		after = true;
	else if (arg_eq(&c->argv[2], "before"))
		after = false;
	else {
		reply_syntax(c);
		return;
	}
	bool wrong;
	struct lobj *l = list_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	if (!l) {
		reply_ll(c, 0);
		return;
	}
	struct lnode *x = l->head;
	while (x && !node_eq(x, &c->argv[3]))
		x = x->next;
	if (!x) {
		reply_ll(c, -1);
		return;
	}
	list_insert(c->kv, l, x, after, c->argv[4].p, c->argv[4].n);
	c->kv->dirty++;
	reply_ll(c, (long long)l->len);
}

static void cmd_lpos(struct kvd_client *c)
{
	long long rank = 1, count = -1, maxlen = 0;
	for (int i = 3; i < c->argc; i++) {
		bool more = i + 1 < c->argc;
		struct arg *o = &c->argv[i];
		if (arg_eq(o, "rank") && more) {
			if (!arg_ll(c, &c->argv[++i], &rank))
				return;
			if (rank == 0 || rank == INT64_MIN) {
				reply_error(c,
					    "ERR RANK can't be zero: use 1 to start from the first "
					    "match, 2 from the second ... or use negative to start "
					    "from the end of the list");
				return;
			}
		} else if (arg_eq(o, "count") && more) {
			if (!arg_ll(c, &c->argv[++i], &count))
				return;
			if (count < 0) {
				reply_error(c, "ERR COUNT can't be negative");
				return;
			}
		} else if (arg_eq(o, "maxlen") && more) {
			if (!arg_ll(c, &c->argv[++i], &maxlen))
				return;
			if (maxlen < 0) {
				reply_error(c, "ERR MAXLEN can't be negative");
				return;
			}
		} else {
			reply_syntax(c);
			return;
		}
	}
	bool wrong;
	struct lobj *l = list_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	if (!l) {
		if (count >= 0)
			reply_array(c, 0);
		else
			reply_null(c);
		return;
	}
	bool back = rank < 0;
	long long skip = (back ? -rank : rank) - 1;
	long long want = count < 0 ? 1 : count == 0 ? INT64_MAX : count;
	size_t at = count >= 0 ? reply_defer(c) : 0;
	long long found = 0, idx = back ? (long long)l->len - 1 : 0, seen = 0;
	for (struct lnode *x = back ? l->tail : l->head; x && found < want;
	     x = back ? x->prev : x->next, idx += back ? -1 : 1) {
		if (maxlen && seen++ >= maxlen)
			break;
		if (!node_eq(x, &c->argv[2]))
			continue;
		if (skip) {
			skip--;
			continue;
		}
		reply_ll(c, idx);
		found++;
	}
	if (count >= 0)
		reply_defer_array(c, at, found);
	else if (!found)
		reply_null(c);
}

static bool parse_side(struct kvd_client *c, const struct arg *a, bool *left)
{
	if (arg_eq(a, "left"))
		*left = true;
	else if (arg_eq(a, "right"))
		*left = false;
	else {
		reply_syntax(c);
		return false;
	}
	return true;
}

/* Pop from src's side, push on dst's side; reply with the element. */
static void move_now(struct kvd_client *c, struct lobj *src, const struct arg *skey,
		     const struct arg *dkey, bool sleft, bool dleft)
{
	struct kvd *kv = c->kv;
	bool wrong;
	struct lobj *dst = list_lookup(c, dkey, &wrong);
	if (wrong)
		return;
	struct lnode *x = list_pop(src, sleft);
	if (!dst) {
		dst = (struct lobj *)obj_new(kv, T_LIST);
		db_add(kv, c->db, dkey, &dst->h);
	}
	list_push(kv, dst, x->data, x->len, dleft);
	reply_bulk(c, x->data, x->len);
	lnode_free(kv, x);
	kv->dirty++;
	if (src->len == 0)
		db_delete(kv, c->db, skey->p, skey->n);
	struct arg argv[5] = { { "LMOVE", 5 },
			       *skey,
			       *dkey,
			       { sleft ? "LEFT" : "RIGHT", sleft ? 4u : 5u },
			       { dleft ? "LEFT" : "RIGHT", dleft ? 4u : 5u } };
	propagate_argv(c, 5, argv);
}

static void lmove_generic(struct kvd_client *c, bool sleft, bool dleft, bool block,
			  const struct arg *timeout)
{
	uint64_t when = 0;
	if (block && !parse_timeout(c, timeout, &when))
		return;
	bool wrong;
	struct lobj *src = list_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	if (src) {
		move_now(c, src, &c->argv[1], &c->argv[2], sleft, dleft);
		return;
	}
	if (!block || c->kv->loading || c->in_exec) {
		reply_null(c);
		return;
	}
	block_client(c, &c->argv[1], 1, when, (sleft ? 0 : 1) | (dleft ? 0 : 2), &c->argv[2]);
}

static void cmd_lmove(struct kvd_client *c)
{
	bool sl, dl;
	if (parse_side(c, &c->argv[3], &sl) && parse_side(c, &c->argv[4], &dl))
		lmove_generic(c, sl, dl, false, NULL);
}

static void cmd_rpoplpush(struct kvd_client *c)
{
	lmove_generic(c, false, true, false, NULL);
}

static void cmd_blmove(struct kvd_client *c)
{
	bool sl, dl;
	if (parse_side(c, &c->argv[3], &sl) && parse_side(c, &c->argv[4], &dl))
		lmove_generic(c, sl, dl, true, &c->argv[5]);
}

static void cmd_brpoplpush(struct kvd_client *c)
{
	lmove_generic(c, false, true, true, &c->argv[3]);
}

/* Inside EXEC, or replaying the log, a blocking pop answers at once. */
static void bpop_generic(struct kvd_client *c, bool left)
{
	uint64_t when;
	if (!parse_timeout(c, &c->argv[c->argc - 1], &when))
		return;
	for (int i = 1; i < c->argc - 1; i++) {
		bool wrong;
		struct lobj *l = list_lookup(c, &c->argv[i], &wrong);
		if (wrong)
			return;
		if (!l || l->len == 0)
			continue;
		struct lnode *x = list_pop(l, left);
		reply_array(c, 2);
		reply_bulk(c, c->argv[i].p, c->argv[i].n);
		reply_bulk(c, x->data, x->len);
		lnode_free(c->kv, x);
		c->kv->dirty++;
		propagate_as(c, 2, left ? "LPOP" : "RPOP", (size_t)4, c->argv[i].p, c->argv[i].n);
		delete_if_empty(c, &c->argv[i], l);
		return;
	}
	if (c->kv->loading || c->in_exec) {
		reply_null_array(c);
		return;
	}
	block_client(c, &c->argv[1], c->argc - 2, when, left ? 0 : 1, NULL);
}

static void cmd_blpop(struct kvd_client *c)
{
	bpop_generic(c, true);
}

static void cmd_brpop(struct kvd_client *c)
{
	bpop_generic(c, false);
}

/* [key, [elements]]: up to count elements of l (at key), logged as the
 * LPOP/RPOP with a count it amounts to; the caller deletes an emptied list. */
void mpop_reply(struct kvd_client *c, struct db *db, const struct arg *key, struct lobj *l,
		long long count, bool left)
{
	struct kvd *kv = c->kv;
	long long n = count < (long long)l->len ? count : (long long)l->len;
	reply_array(c, 2);
	reply_bulk(c, key->p, key->n);
	reply_array(c, n);
	for (long long i = 0; i < n; i++) {
		struct lnode *x = list_pop(l, left);
		reply_bulk(c, x->data, x->len);
		lnode_free(kv, x);
	}
	kv->dirty += n;
	char num[KVD_LONG_STR];
	struct arg argv[3] = { { left ? "LPOP" : "RPOP", 4 }, *key, { num, 0 } };
	argv[2].n = (size_t)ll2str(num, n);
	aof_feed(kv, db->id, 3, argv);
	touch_watched(kv, db, key->p, key->n); /* LMPOP's keys are not in its key spec */
	if (c->kv->current == c)
		propagate_none(c);
}

/* LMPOP numkeys key... LEFT|RIGHT [COUNT n]; BLMPOP timeout numkeys ... */
static void mpop_generic(struct kvd_client *c, int at, bool block)
{
	long long nkeys, count;
	uint64_t when;
	bool right;
	if (!mpop_args(c, at, block, "left", "right", &nkeys, &right, &count, &when))
		return;
	bool left = !right;
	int where = at + 1 + (int)nkeys;
	for (int k = at + 1; k < where; k++) {
		bool wrong;
		struct lobj *l = list_lookup(c, &c->argv[k], &wrong);
		if (wrong)
			return;
		if (l) {
			mpop_reply(c, c->db, &c->argv[k], l, count, left);
			delete_if_empty(c, &c->argv[k], l);
			return;
		}
	}
	if (!block || c->kv->loading || c->in_exec) {
		reply_null_array(c);
		return;
	}
	block_client(c, &c->argv[at + 1], (int)nkeys, when, left ? 0 : 1, NULL);
	c->bcount = count;
}

static void cmd_lmpop(struct kvd_client *c)
{
	mpop_generic(c, 1, false);
}

static void cmd_blmpop(struct kvd_client *c)
{
	mpop_generic(c, 2, true);
}

struct cmd cmds_list[] = {
	{ "lpush", cmd_lpush, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "list", 0, 0 },
	{ "rpush", cmd_rpush, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "list", 0, 0 },
	{ "lpushx", cmd_lpushx, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "list", 0, 0 },
	{ "rpushx", cmd_rpushx, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "list", 0, 0 },
	{ "lpop", cmd_lpop, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "list", 0, 0 },
	{ "rpop", cmd_rpop, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "list", 0, 0 },
	{ "llen", cmd_llen, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "list", 0, 0 },
	{ "lrange", cmd_lrange, 4, CMD_READONLY, 1, 1, 1, "list", 0, 0 },
	{ "lindex", cmd_lindex, 3, CMD_READONLY, 1, 1, 1, "list", 0, 0 },
	{ "lset", cmd_lset, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "list", 0, 0 },
	{ "lrem", cmd_lrem, 4, CMD_WRITE, 1, 1, 1, "list", 0, 0 },
	{ "ltrim", cmd_ltrim, 4, CMD_WRITE, 1, 1, 1, "list", 0, 0 },
	{ "linsert", cmd_linsert, 5, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "list", 0, 0 },
	{ "lpos", cmd_lpos, -3, CMD_READONLY, 1, 1, 1, "list", 0, 0 },
	{ "lmove", cmd_lmove, 5, CMD_WRITE | CMD_DENYOOM, 1, 2, 1, "list", 0, 0 },
	{ "rpoplpush", cmd_rpoplpush, 3, CMD_WRITE | CMD_DENYOOM, 1, 2, 1, "list", 0, 0 },
	{ "blmove", cmd_blmove, 6, CMD_WRITE | CMD_DENYOOM | CMD_BLOCKING, 1, 2, 1, "list", 0, 0 },
	{ "brpoplpush", cmd_brpoplpush, 4, CMD_WRITE | CMD_DENYOOM | CMD_BLOCKING, 1, 2, 1, "list",
	  0, 0 },
	{ "blpop", cmd_blpop, -3, CMD_WRITE | CMD_BLOCKING, 1, -2, 1, "list", 0, 0 },
	{ "brpop", cmd_brpop, -3, CMD_WRITE | CMD_BLOCKING, 1, -2, 1, "list", 0, 0 },
	{ "lmpop", cmd_lmpop, -4, CMD_WRITE, 0, 0, 0, "list", 0, 0 },
	{ "blmpop", cmd_blmpop, -5, CMD_WRITE | CMD_BLOCKING, 0, 0, 0, "list", 0, 0 },
	{ NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, 0 },
};
