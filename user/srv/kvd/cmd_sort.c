/*
 * SORT and SORT_RO: the elements of a list, set or sorted set, sorted as
 * numbers or (ALPHA) as byte strings, ASC or DESC, optionally by the values
 * of other keys (BY pattern), cut by LIMIT offset count, each replaced by
 * the values of other keys (GET pattern, GET # for the element itself), and
 * the result replied or stored as a list (STORE dst, SORT only).
 *
 * Patterns are Redis's: the first '*' is replaced by the element; a
 * "->field" after it reads that field of a hash instead of a string key;
 * a BY pattern without '*' means "do not sort" (a list or sorted set keeps
 * its own order, a set is sorted ALPHA anyway when the result is STORE'd,
 * so replaying the log stores the same list). Numeric sorting breaks ties
 * by the elements' bytes so the order is deterministic; other ties keep
 * the value's own order (a stable sort, as Redis's qsort is with glibc). ALPHA compares
 * bytes (Redis's strcoll in the C locale).
 *
 * The pattern lookups never expire or change anything, so the elements the
 * sort vector points at (inside the sorted value) stay put until the reply
 * is made. Memory: the vector is one entry per element of a value already
 * held (refused with an error, not a crash, if the runner has no memory for
 * it); LIMIT is clamped to the length before anything is sized by it.
 */
#include <user/srv/kvd/engine.h>

struct sort_item {
	const char *p; /* the element */
	size_t n;
	double score;
	const char *cp; /* the BY value for ALPHA, NULL when missing */
	size_t cn;
	size_t idx; /* its place before sorting: equal items keep their order */
};

struct sort_opts {
	bool desc, alpha, dontsort, by_pattern;
};

/* Value of a key that is not expired, without touching the keyspace. */
static struct obj *peek_key(struct kvd *kv, struct db *db, const char *k, size_t n)
{
	struct dent *e = dict_find(kv, &db->keys, k, n);
	if (!e)
		return NULL;
	long long when = db_get_expire(kv, db, k, n);
	if (when >= 0 && (uint64_t)when <= kv->now_ms && !kv->loading)
		return NULL;
	return e->v.p;
}

/* What pattern names for element (p, n): *out and true, or false (none). */
static bool lookup_pattern(struct kvd_client *c, const struct arg *pat, const char *p, size_t n,
			   const char **out, size_t *outn)
{
	struct kvd *kv = c->kv;
	if (pat->n == 1 && pat->p[0] == '#') {
		*out = p;
		*outn = n;
		return true;
	}
	const char *star = NULL;
	for (size_t i = 0; i < pat->n && !star; i++)
		if (pat->p[i] == '*')
			star = pat->p + i;
	if (!star)
		return false;
	const char *end = pat->p + pat->n, *field = NULL;
	for (const char *f = star + 1; f + 2 < end; f++)
		if (f[0] == '-' && f[1] == '>') { /* "->" with a field name after it */
			field = f;
			break;
		}
	size_t pre = (size_t)(star - pat->p);
	const char *post = star + 1;
	size_t postn = (size_t)((field ? field : end) - post);
	size_t kn = pre + n + postn;
	char small[256];
	char *key = kn <= sizeof(small) ? small : mem_must(kv, kn);
	memcpy(key, pat->p, pre);
	memcpy(key + pre, p, n);
	memcpy(key + pre + n, post, postn);
	struct obj *o = peek_key(kv, c->db, key, kn);
	if (key != small)
		mem_free(kv, key, kn);
	if (!o)
		return false;
	if (field) {
		if (o->type != T_HASH)
			return false;
		struct dent *e =
			dict_find(kv, &((struct hobj *)o)->d, field + 2, (size_t)(end - field - 2));
		if (!e)
			return false;
		struct bstr *v = e->v.p;
		*out = v->data;
		*outn = v->len;
		return true;
	}
	if (o->type != T_STRING)
		return false;
	*out = ((struct sobj *)o)->data;
	*outn = ((struct sobj *)o)->len;
	return true;
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int r = memcmp(a, b, an < bn ? an : bn);
	return r ? r : an < bn ? -1 : an > bn ? 1 : 0;
}

static int item_cmp(const struct sort_item *x, const struct sort_item *y, const struct sort_opts *o)
{
	int r;
	if (!o->alpha) {
		r = x->score > y->score ? 1 : x->score < y->score ? -1 : 0;
		if (!r)
			r = bytes_cmp(x->p, x->n, y->p, y->n);
	} else if (o->by_pattern) {
		if (!x->cp || !y->cp)
			r = x->cp == y->cp ? 0 : x->cp ? 1 : -1;
		else
			r = bytes_cmp(x->cp, x->cn, y->cp, y->cn);
	} else {
		r = bytes_cmp(x->p, x->n, y->p, y->n);
	}
	if (o->desc)
		r = -r;
	return r ? r : x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Heapsort: O(n log n) with no memory beyond the vector. */
static void sift(struct sort_item *v, size_t root, size_t n, const struct sort_opts *o)
{
	for (;;) {
		size_t child = 2 * root + 1;
		if (child >= n)
			return;
		if (child + 1 < n && item_cmp(&v[child], &v[child + 1], o) < 0)
			child++;
		if (item_cmp(&v[root], &v[child], o) >= 0)
			return;
		struct sort_item t = v[root];
		v[root] = v[child];
		v[child] = t;
		root = child;
	}
}

static void heap_sort(struct sort_item *v, size_t n, const struct sort_opts *o)
{
	for (size_t i = n / 2; i-- > 0;)
		sift(v, i, n, o);
	for (size_t end = n; end > 1; end--) {
		struct sort_item t = v[0];
		v[0] = v[end - 1];
		v[end - 1] = t;
		sift(v, 0, end - 1, o);
	}
}

/* Fill v with the elements of o in its own order (descending if rev). */
static size_t load_items(struct obj *o, struct sort_item *v, bool rev)
{
	size_t j = 0;
	if (o->type == T_LIST) {
		struct lobj *l = (struct lobj *)o;
		for (struct lnode *x = rev ? l->tail : l->head; x; x = rev ? x->prev : x->next)
			v[j] = (struct sort_item){ x->data, x->len, 0, NULL, 0, j }, j++;
	} else if (o->type == T_ZSET) {
		struct zobj *z = (struct zobj *)o;
		for (struct zsl_node *x = rev ? z->tail : z->head->level[0].fwd; x;
		     x = rev ? x->back : x->level[0].fwd)
			v[j] = (struct sort_item){ x->ele, x->elen, 0, NULL, 0, j }, j++;
	} else {
		struct dict_iter it;
		dict_iter_start(&it, &((struct setobj *)o)->d);
		for (struct dent *e; (e = dict_iter_next(&it));)
			v[j] = (struct sort_item){ e->key, e->klen, 0, NULL, 0, j }, j++;
		dict_iter_end(&it);
	}
	return j;
}

static void sort_generic(struct kvd_client *c, bool readonly)
{
	struct kvd *kv = c->kv;
	struct sort_opts so = { false, false, false, false };
	long long lstart = 0, lcount = -1;
	const struct arg *by = NULL, *store = NULL;
	int ngets = 0;
	/* GET patterns, at most one per argument */
	const struct arg **gets = mem_must(kv, (size_t)c->argc * sizeof(*gets));
	for (int j = 2; j < c->argc; j++) {
		int left = c->argc - j - 1;
		struct arg *a = &c->argv[j];
		if (arg_eq(a, "asc")) {
			so.desc = false;
		} else if (arg_eq(a, "desc")) {
			so.desc = true;
		} else if (arg_eq(a, "alpha")) {
			so.alpha = true;
		} else if (arg_eq(a, "limit") && left >= 2) {
			if (!arg_ll(c, &c->argv[j + 1], &lstart) ||
			    !arg_ll(c, &c->argv[j + 2], &lcount))
				goto out;
			j += 2;
		} else if (!readonly && arg_eq(a, "store") && left >= 1) {
			store = &c->argv[++j];
		} else if (arg_eq(a, "by") && left >= 1) {
			by = &c->argv[++j];
			so.dontsort = true;
			for (size_t i = 0; i < by->n; i++)
				if (by->p[i] == '*')
					so.dontsort = false;
		} else if (arg_eq(a, "get") && left >= 1) {
			gets[ngets++] = &c->argv[++j];
		} else {
			reply_syntax(c);
			goto out;
		}
	}
	struct obj *o = db_lookup_read(c, &c->argv[1]);
	if (o && o->type != T_LIST && o->type != T_SET && o->type != T_ZSET) {
		reply_wrongtype(c);
		goto out;
	}
	if (so.dontsort && o && o->type == T_SET && store) {
		/* a set's own order is the table's: sort it so the log replays alike */
		so.dontsort = false;
		so.alpha = true;
		by = NULL;
	}
	so.by_pattern = by && !so.dontsort;
	long long len = o ? (long long)obj_len(o) : 0;
	long long start = lstart < 0 ? 0 : lstart > len ? len : lstart;
	long long count = lcount < -1 ? -1 : lcount > len ? len : lcount;
	long long end = count < 0 ? len - 1 : start + count - 1;
	if (start >= len) {
		start = len - 1;
		end = len - 2;
	}
	if (end >= len)
		end = len - 1;

	struct sort_item *v = NULL;
	size_t vsize = (size_t)len * sizeof(*v);
	if (len) {
		v = mem_alloc(kv, vsize);
		if (!v) {
			reply_error(c, "ERR out of memory sorting the value");
			goto out;
		}
		/* not sorting: a list or sorted set is already in order (reversed for DESC) */
		load_items(o, v, so.dontsort && so.desc && o->type != T_SET);
	}
	bool bad_score = false;
	if (!so.dontsort) {
		for (long long j = 0; j < len; j++) {
			const char *p = v[j].p;
			size_t n = v[j].n;
			if (by && !lookup_pattern(c, by, v[j].p, v[j].n, &p, &n))
				continue; /* missing: score 0, or NULL for ALPHA */
			if (so.alpha) {
				if (by) {
					v[j].cp = p;
					v[j].cn = n;
				}
			} else if (!str2d(p, n, &v[j].score)) {
				bad_score = true;
			}
		}
		if (!bad_score)
			heap_sort(v, (size_t)len, &so);
	}
	long long outlen = end >= start ? (end - start + 1) * (ngets ? ngets : 1) : 0;
	if (bad_score) {
		reply_error(c, "ERR One or more scores can't be converted into double");
	} else if (!store) {
		reply_array(c, outlen);
		for (long long j = start; j <= end; j++) {
			if (!ngets)
				reply_bulk(c, v[j].p, v[j].n);
			for (int g = 0; g < ngets; g++) {
				const char *p;
				size_t n;
				if (lookup_pattern(c, gets[g], v[j].p, v[j].n, &p, &n))
					reply_bulk(c, p, n);
				else
					reply_null(c);
			}
		}
	} else {
		struct lobj *res = (struct lobj *)obj_new(kv, T_LIST);
		for (long long j = start; j <= end; j++) {
			if (!ngets)
				list_push(kv, res, v[j].p, v[j].n, false);
			for (int g = 0; g < ngets; g++) {
				const char *p = "";
				size_t n = 0;
				lookup_pattern(c, gets[g], v[j].p, v[j].n, &p, &n);
				list_push(kv, res, p, n, false);
			}
		}
		if (outlen) {
			db_set(kv, c->db, store, &res->h, false);
			kv->dirty += outlen;
		} else {
			obj_free(kv, &res->h);
			if (db_delete(kv, c->db, store->p, store->n))
				kv->dirty++;
		}
		touch_watched(kv, c->db, store->p, store->n);
		signal_list_ready(kv, c->db, store->p, store->n);
		reply_ll(c, outlen);
	}
	if (v)
		mem_free(kv, v, vsize);
out:
	mem_free(kv, gets, (size_t)c->argc * sizeof(*gets));
}

static void cmd_sort(struct kvd_client *c)
{
	sort_generic(c, false);
}

static void cmd_sort_ro(struct kvd_client *c)
{
	sort_generic(c, true);
}

struct cmd cmds_sort[] = {
	{ "sort", cmd_sort, -2, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "generic", 0, 0 },
	{ "sort_ro", cmd_sort_ro, -2, CMD_READONLY, 1, 1, 1, "generic", 0, 0 },
	{ NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, 0 },
};
