/*
 * The sorted set: a hash table from member to its skiplist node (for
 * ZSCORE, and to find a member's node in O(1)), and a skiplist ordered by
 * (score, member bytes) whose links carry spans, so a node's rank and the
 * node at a rank are found in O(log n) (ZRANK, ZRANGE by index).
 *
 * The node's member bytes are the dict entry's key (entries never move once
 * made), so each member is stored once. Levels are drawn with p = 1/4 up to
 * ZSL_MAXLEVEL, as in Pugh's paper and Redis.
 *
 * Callers pass scores that are not NaN (the commands refuse NaN first).
 */
#include <user/srv/kvd/engine.h>

static size_t node_size(int level)
{
	return sizeof(struct zsl_node) + (size_t)level * sizeof(struct zsl_level);
}

/* <0: node before (score, m); 0 same; >0 after */
int zsl_cmp(const struct zsl_node *x, double score, const char *m, size_t n)
{
	if (x->score < score)
		return -1;
	if (x->score > score)
		return 1;
	size_t min = x->elen < n ? x->elen : n;
	int c = memcmp(x->ele, m, min);
	if (c)
		return c;
	return x->elen < n ? -1 : x->elen > n ? 1 : 0;
}

static int random_level(struct kvd *kv)
{
	int level = 1;
	while (level < ZSL_MAXLEVEL && (kv->h.random(kv->h.ctx) & 3) == 0)
		level++;
	return level;
}

static void zsl_insert(struct kvd *kv UNUSED, struct zobj *z, struct zsl_node *x)
{
	struct zsl_node *update[ZSL_MAXLEVEL];
	unsigned long rank[ZSL_MAXLEVEL];
	struct zsl_node *p = z->head;
	for (int i = z->level - 1; i >= 0; i--) {
		rank[i] = i == z->level - 1 ? 0 : rank[i + 1];
		while (p->level[i].fwd && zsl_cmp(p->level[i].fwd, x->score, x->ele, x->elen) < 0) {
			rank[i] += p->level[i].span;
			p = p->level[i].fwd;
		}
		update[i] = p;
	}
	int level = (int)x->nlevel;
	if (level > z->level) {
		for (int i = z->level; i < level; i++) {
			rank[i] = 0;
			update[i] = z->head;
			update[i]->level[i].span = z->len;
		}
		z->level = level;
	}
	for (int i = 0; i < level; i++) {
		x->level[i].fwd = update[i]->level[i].fwd;
		update[i]->level[i].fwd = x;
		x->level[i].span = update[i]->level[i].span - (rank[0] - rank[i]);
		update[i]->level[i].span = (rank[0] - rank[i]) + 1;
	}
	for (int i = level; i < z->level; i++)
		update[i]->level[i].span++;
	x->back = update[0] == z->head ? NULL : update[0];
	if (x->level[0].fwd)
		x->level[0].fwd->back = x;
	else
		z->tail = x;
	z->len++;
}

static void zsl_unlink(struct zobj *z, struct zsl_node *x)
{
	struct zsl_node *update[ZSL_MAXLEVEL];
	struct zsl_node *p = z->head;
	for (int i = z->level - 1; i >= 0; i--) {
		while (p->level[i].fwd && zsl_cmp(p->level[i].fwd, x->score, x->ele, x->elen) < 0)
			p = p->level[i].fwd;
		update[i] = p;
	}
	for (int i = 0; i < z->level; i++) {
		if (update[i]->level[i].fwd == x) {
			update[i]->level[i].span += x->level[i].span - 1;
			update[i]->level[i].fwd = x->level[i].fwd;
		} else {
			update[i]->level[i].span--;
		}
	}
	if (x->level[0].fwd)
		x->level[0].fwd->back = x->back;
	else
		z->tail = x->back;
	while (z->level > 1 && !z->head->level[z->level - 1].fwd)
		z->level--;
	z->len--;
}

struct zsl_node *zset_add(struct kvd *kv, struct zobj *z, const char *m, size_t n, double score)
{
	struct dent *e = dict_add(kv, &z->d, m, n);
	int level = random_level(kv);
	struct zsl_node *x = mem_must(kv, node_size(level));
	memset(x, 0, node_size(level));
	x->score = score;
	x->ele = e->key;
	x->elen = e->klen;
	x->nlevel = (uint32_t)level;
	e->v.p = x;
	zsl_insert(kv, z, x);
	return x;
}

void zset_update(struct kvd *kv, struct zobj *z, struct zsl_node *x, double score)
{
	/* in place when the order does not change */
	bool after_prev = !x->back || x->back->score < score ||
			  (x->back->score == score && zsl_cmp(x->back, score, x->ele, x->elen) < 0);
	struct zsl_node *nx = x->level[0].fwd;
	bool before_next = !nx || nx->score > score ||
			   (nx->score == score && zsl_cmp(nx, score, x->ele, x->elen) > 0);
	if (after_prev && before_next) {
		x->score = score;
		return;
	}
	zsl_unlink(z, x);
	x->score = score;
	for (int i = 0; i < (int)x->nlevel; i++) {
		x->level[i].fwd = NULL;
		x->level[i].span = 0;
	}
	zsl_insert(kv, z, x);
}

bool zset_del(struct kvd *kv, struct zobj *z, const char *m, size_t n)
{
	struct dent *e = dict_unlink(kv, &z->d, m, n);
	if (!e)
		return false;
	struct zsl_node *x = e->v.p;
	zsl_unlink(z, x);
	mem_free(kv, x, node_size((int)x->nlevel));
	dent_free(kv, e);
	return true;
}

unsigned long zset_rank(struct zobj *z, struct zsl_node *x)
{
	unsigned long rank = 0;
	struct zsl_node *p = z->head;
	for (int i = z->level - 1; i >= 0; i--) {
		while (p->level[i].fwd &&
		       zsl_cmp(p->level[i].fwd, x->score, x->ele, x->elen) <= 0) {
			rank += p->level[i].span;
			p = p->level[i].fwd;
		}
		if (p == x)
			return rank;
	}
	return 0;
}

struct zsl_node *zset_by_rank(struct zobj *z, unsigned long rank)
{
	unsigned long seen = 0;
	struct zsl_node *p = z->head;
	for (int i = z->level - 1; i >= 0; i--) {
		while (p->level[i].fwd && seen + p->level[i].span <= rank) {
			seen += p->level[i].span;
			p = p->level[i].fwd;
		}
		if (seen == rank)
			return p == z->head ? NULL : p;
	}
	return NULL;
}
