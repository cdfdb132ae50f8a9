/*
 * Clients blocked in BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and BLMPOP, and on
 * sorted sets in BZPOPMIN, BZPOPMAX and BZMPOP.
 *
 * A client that finds all its lists empty is parked: each key it waits on
 * maps (per database) to a FIFO of waiting clients, and the client stops
 * reading commands (its later pipelined ones stay in its query buffer).
 * When a write leaves a list non-empty under a key somebody waits on, call()
 * marks the key ready; after the command, serve_ready_keys hands elements
 * to the waiters, oldest first, as Redis does, logs each hand-over as the
 * pop (and push) it amounts to, and queues the served clients to resume
 * reading. kvd_tick answers the ones whose timeout passed with a null array.
 */
#include <user/srv/kvd/engine.h>

bool parse_timeout(struct kvd_client *c, const struct arg *a, uint64_t *when)
{
	long double t;
	if (!str2ld(a->p, a->n, &t) || t != t || t - t != 0) {
		reply_error(c, "ERR timeout is not a float or out of range");
		return false;
	}
	if (t < 0) {
		reply_error(c, "ERR timeout is negative");
		return false;
	}
	long double ms = t * 1000;
	if (ms > (long double)INT64_MAX / 2) {
		reply_error(c, "ERR timeout is out of range");
		return false;
	}
	long long v = (long long)ms;
	*when = v > 0 ? c->kv->now_ms + (uint64_t)v : 0;
	return true;
}

bool mpop_args(struct kvd_client *c, int at, bool block, const char *first, const char *second,
	       long long *nkeys, bool *is_second, long long *count, uint64_t *when)
{
	*count = -1;
	*when = 0;
	if (block && !parse_timeout(c, &c->argv[1], when))
		return false;
	if (!arg_ll_range(c, &c->argv[at], 1, INT64_MAX, nkeys,
			  "ERR numkeys should be greater than 0"))
		return false;
	if (*nkeys >= c->argc - at - 1) {
		reply_syntax(c);
		return false;
	}
	int where = at + 1 + (int)*nkeys;
	if (arg_eq(&c->argv[where], first)) {
		*is_second = false;
	} else if (arg_eq(&c->argv[where], second)) {
		*is_second = true;
	} else {
		reply_syntax(c);
		return false;
	}
	for (int j = where + 1; j < c->argc; j++) {
		if (*count == -1 && arg_eq(&c->argv[j], "count") && j + 1 < c->argc) {
			if (!arg_ll_range(c, &c->argv[++j], 1, INT64_MAX, count,
					  "ERR count should be greater than 0"))
				return false;
		} else {
			reply_syntax(c);
			return false;
		}
	}
	if (*count == -1)
		*count = 1;
	return true;
}

void block_client(struct kvd_client *c, struct arg *keys, int nkeys, uint64_t timeout, int where,
		  const struct arg *dst)
{
	struct kvd *kv = c->kv;
	c->blocked = true;
	c->btype = T_LIST; /* BZPOPMIN and BZMPOP set T_ZSET after */
	c->bdb = c->db;
	c->btimeout = timeout;
	c->bwhere = where;
	c->bkeys = mem_must(kv, (size_t)nkeys * sizeof(struct arg));
	c->bnkeys = 0;
	for (int i = 0; i < nkeys; i++) {
		bool dup = false;
		for (int j = 0; j < c->bnkeys; j++)
			dup |= c->bkeys[j].n == keys[i].n &&
			       !memcmp(c->bkeys[j].p, keys[i].p, keys[i].n);
		if (dup)
			continue;
		struct arg *k = &c->bkeys[c->bnkeys++];
		k->p = mem_dup(kv, keys[i].p, keys[i].n);
		k->n = keys[i].n;
		waitq_add(kv, &c->db->blocking, k->p, k->n, c);
	}
	c->bmove = dst != NULL;
	if (dst) {
		c->bdst.p = mem_dup(kv, dst->p, dst->n);
		c->bdst.n = dst->n;
	}
	kv->nblocked++;
}

void unblock_client(struct kvd_client *c, bool timed_out)
{
	struct kvd *kv = c->kv;
	if (!c->blocked)
		return;
	for (int i = 0; i < c->bnkeys; i++) {
		struct arg *k = &c->bkeys[i];
		waitq_remove(kv, &c->bdb->blocking, k->p, k->n, c);
		mem_free(kv, k->p, k->n + 1);
	}
	mem_free(kv, c->bkeys, (size_t)c->bnkeys * sizeof(struct arg));
	c->bkeys = NULL;
	c->bnkeys = 0;
	if (c->bmove) {
		mem_free(kv, c->bdst.p, c->bdst.n + 1);
		c->bmove = false;
	}
	c->blocked = false;
	c->bcount = 0;
	kv->nblocked--;
	if (timed_out)
		reply_null_array(c);
	/* resume reading its queued commands after this event */
	c->unblocked_next = kv->unblocked;
	kv->unblocked = c;
}

/* Give one element of the list at key to waiter c; false if it cannot take
 * it (BLMOVE whose destination is not a list: it stays blocked). */
static bool serve_one(struct kvd *kv, struct db *db, struct dent *key, struct kvd_client *c)
{
	struct lobj *l = key->v.p;
	struct arg k = { key->key, key->klen };
	bool left = (c->bwhere & 1) == 0;
	if (l->h.type != c->btype)
		return false;
	if (c->btype == T_ZSET) {
		zmpop_reply(c, db, &k, (struct zobj *)l, c->bcount, !left);
		return true;
	}
	if (c->bmove) {
		struct obj *d = db_get(kv, db, c->bdst.p, c->bdst.n);
		if (d && d->type != T_LIST)
			return false;
	}
	if (c->bcount) {
		mpop_reply(c, db, &k, l, c->bcount, left);
		return true;
	}
	struct lnode *x = list_pop(l, left);
	struct arg val = { x->data, x->len };
	struct arg dst = c->bmove ? c->bdst : (struct arg){ NULL, 0 };
	if (c->bmove) {
		bool dleft = (c->bwhere & 2) == 0;
		struct obj *d = db_get(kv, db, dst.p, dst.n);
		if (!d) {
			d = obj_new(kv, T_LIST);
			db_add(kv, db, &dst, d);
		}
		list_push(kv, (struct lobj *)d, val.p, val.n, dleft);
		reply_bulk(c, val.p, val.n);
		struct arg argv[5] = { { "LMOVE", 5 },
				       k,
				       dst,
				       { left ? "LEFT" : "RIGHT", left ? 4u : 5u },
				       { dleft ? "LEFT" : "RIGHT", dleft ? 4u : 5u } };
		aof_feed(kv, db->id, 5, argv);
	} else {
		reply_array(c, 2);
		reply_bulk(c, k.p, k.n);
		reply_bulk(c, val.p, val.n);
		struct arg argv[2] = { { left ? "LPOP" : "RPOP", 4 }, k };
		aof_feed(kv, db->id, 2, argv);
	}
	kv->dirty++;
	touch_watched(kv, db, k.p, k.n);
	if (c->bmove) {
		touch_watched(kv, db, dst.p, dst.n);
		signal_list_ready(kv, db, dst.p, dst.n);
	}
	lnode_free(kv, x);
	return true;
}

void serve_ready_keys(struct kvd *kv)
{
	while (kv->ready_head) {
		struct dent *r = kv->ready_head;
		kv->ready_head = r->v.p;
		if (!kv->ready_head)
			kv->ready_tail = NULL;
		r = dict_unlink(kv, &kv->ready_keys, r->key, r->klen);
		struct db *db = &kv->dbs[(unsigned char)r->key[0]];
		const char *k = r->key + 1;
		size_t n = r->klen - 1;
		for (;;) {
			struct dent *q = dict_find(kv, &db->blocking, k, n);
			struct dent *key = db_find(kv, db, k, n);
			if (!q || !key)
				break;
			struct obj *o = key->v.p;
			if (o->type != T_LIST && o->type != T_ZSET)
				break;
			struct waiter *w = ((struct waitq *)q->v.p)->head;
			struct kvd_client *c = NULL;
			for (; w; w = w->next)
				if (serve_one(kv, db, key, w->c)) {
					c = w->c;
					break;
				}
			if (!c)
				break;
			unblock_client(c, false); /* frees w and maybe q */
			if (obj_len(o) == 0) {
				db_delete(kv, db, k, n);
				break;
			}
		}
		dent_free(kv, r);
	}
}

void blocked_timeouts(struct kvd *kv)
{
	if (!kv->nblocked)
		return;
	for (struct kvd_client *c = kv->clients; c; c = c->next)
		if (c->blocked && c->btimeout && c->btimeout <= kv->now_ms)
			unblock_client(c, true);
}
