/*
 * Publish/subscribe: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH
 * PUBSUB (CHANNELS NUMSUB NUMPAT).
 *
 * The server maps each channel to the queue of its subscribers, and keeps a
 * list of (pattern, client) pairs; each client also keeps the channels and
 * patterns it subscribed to, so leaving is cheap. Messages are pushed into
 * the subscribers' output buffers (RESP3 push frames after HELLO 3, arrays
 * in RESP2) and go out at the end of the event, like any reply.
 *
 * A slow subscriber's buffer grows with what is published to it; the runner
 * decides when a connection's backlog is too much (it owns the sockets).
 */
#include <user/srv/kvd/engine.h>

unsigned long client_subscriptions(struct kvd_client *c)
{
	return (unsigned long)(c->channels.used + c->patterns.used);
}

static void reply_sub(struct kvd_client *c, const char *kind, const struct arg *name)
{
	reply_push(c, 3);
	reply_cstr(c, kind);
	if (name)
		reply_bulk(c, name->p, name->n);
	else
		reply_null(c);
	reply_ll(c, (long long)client_subscriptions(c));
}

static void subscribe_one(struct kvd_client *c, const struct arg *ch)
{
	struct kvd *kv = c->kv;
	if (!dict_find(kv, &c->channels, ch->p, ch->n)) {
		dict_add(kv, &c->channels, ch->p, ch->n);
		waitq_add(kv, &kv->pubsub_channels, ch->p, ch->n, c);
	}
	reply_sub(c, "subscribe", ch);
}

static void unsubscribe_one(struct kvd_client *c, const struct arg *ch, bool notify)
{
	struct kvd *kv = c->kv;
	struct dent *mine = dict_unlink(kv, &c->channels, ch->p, ch->n);
	if (mine) {
		dent_free(kv, mine);
		waitq_remove(kv, &kv->pubsub_channels, ch->p, ch->n, c);
	}
	if (notify)
		reply_sub(c, "unsubscribe", ch);
}

static void psubscribe_one(struct kvd_client *c, const struct arg *pat)
{
	struct kvd *kv = c->kv;
	if (!dict_find(kv, &c->patterns, pat->p, pat->n)) {
		dict_add(kv, &c->patterns, pat->p, pat->n);
		struct pattern_sub *p = mem_must(kv, sizeof(*p) + pat->n + 1);
		p->c = c;
		p->plen = (uint32_t)pat->n;
		memcpy(p->pat, pat->p, pat->n);
		p->pat[pat->n] = '\0';
		/* at the tail: messages go to patterns in subscription order */
		struct pattern_sub **pp = &kv->patterns;
		while (*pp)
			pp = &(*pp)->next;
		p->next = NULL;
		*pp = p;
		kv->npatterns++;
	}
	reply_sub(c, "psubscribe", pat);
}

static void punsubscribe_one(struct kvd_client *c, const struct arg *pat, bool notify)
{
	struct kvd *kv = c->kv;
	struct dent *mine = dict_unlink(kv, &c->patterns, pat->p, pat->n);
	if (mine) {
		dent_free(kv, mine);
		for (struct pattern_sub **pp = &kv->patterns; *pp; pp = &(*pp)->next) {
			struct pattern_sub *p = *pp;
			if (p->c == c && p->plen == pat->n && memcmp(p->pat, pat->p, pat->n) == 0) {
				*pp = p->next;
				mem_free(kv, p, sizeof(*p) + p->plen + 1);
				kv->npatterns--;
				break;
			}
		}
	}
	if (notify)
		reply_sub(c, "punsubscribe", pat);
}

/* Leave every channel (patterns too); with notify, one reply per channel. */
static void unsubscribe_all(struct kvd_client *c, bool notify)
{
	struct kvd *kv = c->kv;
	if (notify && c->channels.used == 0) {
		reply_sub(c, "unsubscribe", NULL);
		return;
	}
	while (c->channels.used) {
		struct dict_iter it;
		dict_iter_start(&it, &c->channels);
		struct dent *e = dict_iter_next(&it);
		dict_iter_end(&it);
		size_t n = e->klen;
		char *name = mem_dup(kv, e->key, n);
		struct arg a = { name, n };
		unsubscribe_one(c, &a, notify);
		mem_free(kv, name, n + 1);
	}
}

static void punsubscribe_all(struct kvd_client *c, bool notify)
{
	struct kvd *kv = c->kv;
	if (notify && c->patterns.used == 0) {
		reply_sub(c, "punsubscribe", NULL);
		return;
	}
	while (c->patterns.used) {
		struct dict_iter it;
		dict_iter_start(&it, &c->patterns);
		struct dent *e = dict_iter_next(&it);
		dict_iter_end(&it);
		size_t n = e->klen;
		char *name = mem_dup(kv, e->key, n);
		struct arg a = { name, n };
		punsubscribe_one(c, &a, notify);
		mem_free(kv, name, n + 1);
	}
}

void pubsub_unsubscribe_all(struct kvd_client *c, bool notify)
{
	unsubscribe_all(c, notify);
	punsubscribe_all(c, notify);
}

static void cmd_subscribe(struct kvd_client *c)
{
	for (int i = 1; i < c->argc; i++)
		subscribe_one(c, &c->argv[i]);
}

static void cmd_unsubscribe(struct kvd_client *c)
{
	if (c->argc == 1)
		unsubscribe_all(c, true);
	for (int i = 1; i < c->argc; i++)
		unsubscribe_one(c, &c->argv[i], true);
}

static void cmd_psubscribe(struct kvd_client *c)
{
	for (int i = 1; i < c->argc; i++)
		psubscribe_one(c, &c->argv[i]);
}

static void cmd_punsubscribe(struct kvd_client *c)
{
	if (c->argc == 1)
		punsubscribe_all(c, true);
	for (int i = 1; i < c->argc; i++)
		punsubscribe_one(c, &c->argv[i], true);
}

static void cmd_publish(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	struct arg *ch = &c->argv[1], *msg = &c->argv[2];
	long long receivers = 0;
	struct dent *e = dict_find(kv, &kv->pubsub_channels, ch->p, ch->n);
	if (e) {
		for (struct waiter *w = ((struct waitq *)e->v.p)->head; w; w = w->next) {
			reply_push(w->c, 3);
			reply_cstr(w->c, "message");
			reply_bulk(w->c, ch->p, ch->n);
			reply_bulk(w->c, msg->p, msg->n);
			receivers++;
		}
	}
	for (struct pattern_sub *p = kv->patterns; p; p = p->next) {
		if (!glob_match(p->pat, p->plen, ch->p, ch->n, false))
			continue;
		reply_push(p->c, 4);
		reply_cstr(p->c, "pmessage");
		reply_bulk(p->c, p->pat, p->plen);
		reply_bulk(p->c, ch->p, ch->n);
		reply_bulk(p->c, msg->p, msg->n);
		receivers++;
	}
	kv->stat_pubsub_msgs++;
	reply_ll(c, receivers);
}

static void cmd_pubsub(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	struct arg *sub = &c->argv[1];
	if (arg_eq(sub, "channels") && c->argc <= 3) {
		struct arg *pat = c->argc == 3 ? &c->argv[2] : NULL;
		size_t at = reply_defer(c);
		long long n = 0;
		struct dict_iter it;
		dict_iter_start(&it, &kv->pubsub_channels);
		for (struct dent *e; (e = dict_iter_next(&it));) {
			if (pat && !glob_match(pat->p, pat->n, e->key, e->klen, false))
				continue;
			reply_bulk(c, e->key, e->klen);
			n++;
		}
		dict_iter_end(&it);
		reply_defer_array(c, at, n);
	} else if (arg_eq(sub, "numsub")) {
		reply_map(c, c->argc - 2);
		for (int i = 2; i < c->argc; i++) {
			struct dent *e =
				dict_find(kv, &kv->pubsub_channels, c->argv[i].p, c->argv[i].n);
			long long n = 0;
			if (e)
				for (struct waiter *w = ((struct waitq *)e->v.p)->head; w;
				     w = w->next)
					n++;
			reply_bulk(c, c->argv[i].p, c->argv[i].n);
			reply_ll(c, n);
		}
	} else if (arg_eq(sub, "numpat") && c->argc == 2) {
		reply_ll(c, (long long)kv->npatterns);
	} else if (arg_eq(sub, "help")) {
		reply_array(c, 1);
		reply_status(c, "PUBSUB CHANNELS|NUMSUB|NUMPAT");
	} else {
		reply_errorf(c,
			     "ERR unknown subcommand or wrong number of arguments for '%.128s'. "
			     "Try PUBSUB HELP.",
			     sub->p);
	}
}

struct cmd cmds_pubsub[] = {
	{ "subscribe", cmd_subscribe, -2, CMD_PUBSUB | CMD_SUBOK | CMD_LOADING | CMD_STALE, 0, 0, 0,
	  "pubsub", 0, 0 },
	{ "unsubscribe", cmd_unsubscribe, -1, CMD_PUBSUB | CMD_SUBOK | CMD_LOADING | CMD_STALE, 0,
	  0, 0, "pubsub", 0, 0 },
	{ "psubscribe", cmd_psubscribe, -2, CMD_PUBSUB | CMD_SUBOK | CMD_LOADING | CMD_STALE, 0, 0,
	  0, "pubsub", 0, 0 },
	{ "punsubscribe", cmd_punsubscribe, -1, CMD_PUBSUB | CMD_SUBOK | CMD_LOADING | CMD_STALE, 0,
	  0, 0, "pubsub", 0, 0 },
	{ "publish", cmd_publish, 3, CMD_PUBSUB | CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0,
	  "pubsub", 0, 0 },
	{ "pubsub", cmd_pubsub, -2, CMD_PUBSUB | CMD_LOADING | CMD_STALE, 0, 0, 0, "pubsub", 0, 0 },
	{ NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, 0 },
};
