/*
 * The engine's core: start-up and teardown, clients, running a command, and
 * the end of every event (resuming unblocked clients, writing the log, then
 * handing replies to the runner).
 *
 * A command goes: parsed (resp.c) -> process_command, which checks it the
 * way Redis does and in Redis's order (known? right arity? allowed while
 * subscribed? queued by MULTI? refused by maxmemory?) -> call, which runs
 * its handler and then does what every write needs: append it to the log
 * (or what the handler propagated instead), touch WATCHed keys, and mark
 * lists that clients wait on as ready. Handlers never do those themselves,
 * so none can forget; they only count their changes in kv->dirty.
 *
 * Ordering at the end of an event: the log is written (and fsynced with
 * appendfsync always) before any reply goes out, so a client never sees an
 * acknowledgement of a write that a power cut could lose.
 */
#include <user/srv/kvd/engine.h>

void kv_log(struct kvd *kv, const char *fmt, ...)
{
	if (!kv->h.log_line)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	kv->h.log_line(kv->h.ctx, line);
}

bool arg_eq(const struct arg *a, const char *s)
{
	size_t n = strlen(s);
	if (a->n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (tolower(a->p[i]) != tolower(s[i]))
			return false;
	return true;
}

bool arg_ll(struct kvd_client *c, const struct arg *a, long long *v)
{
	if (str2ll(a->p, a->n, v))
		return true;
	reply_notint(c);
	return false;
}

bool arg_ll_range(struct kvd_client *c, const struct arg *a, long long min, long long max,
		  long long *v, const char *msg)
{
	if (!str2ll(a->p, a->n, v) || *v < min || *v > max) {
		if (msg)
			reply_error(c, msg);
		else
			reply_notint(c);
		return false;
	}
	return true;
}

bool arg_double(struct kvd_client *c, const struct arg *a, double *v)
{
	if (str2d(a->p, a->n, v))
		return true;
	reply_notfloat(c);
	return false;
}

bool arg_ld(struct kvd_client *c, const struct arg *a, long double *v)
{
	if (str2ld(a->p, a->n, v))
		return true;
	reply_notfloat(c);
	return false;
}

/* --- start-up and teardown ------------------------------------------------------ */
struct kvd *kvd_new(const struct kvd_hooks *hooks)
{
	struct kvd *kv = hooks->alloc(hooks->ctx, sizeof(*kv));
	if (!kv)
		return NULL;
	memset(kv, 0, sizeof(*kv));
	kv->h = *hooks;
	kv->used = sizeof(*kv);
	kv->sip_k0 = kv->h.random(kv->h.ctx);
	kv->sip_k1 = kv->h.random(kv->h.ctx);
	kv->now_ms = kv->h.now_ms(kv->h.ctx);
	kv->start_ms = kv->now_ms;
	kv->last_save = (long long)(kv->now_ms / 1000);
	kv->next_client_id = 1;
	kv->aof_db = -1;
	config_defaults(&kv->cfg);
	for (int i = 0; i < KVD_DBS; i++) {
		struct db *db = &kv->dbs[i];
		dict_init(&db->keys);
		dict_init(&db->expires);
		dict_init(&db->blocking);
		dict_init(&db->watched);
		db->id = i;
	}
	dict_init(&kv->commands);
	dict_init(&kv->ready_keys);
	dict_init(&kv->pubsub_channels);
	struct cmd *const tables[] = { cmds_string, cmds_keys, cmds_server, cmds_list,
				       cmds_hash,   cmds_set,  cmds_zset,   cmds_multi,
				       cmds_pubsub, cmds_bit,  cmds_dump,   cmds_zsetop,
				       cmds_sort,   cmds_lcs };
	for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
		for (struct cmd *cmd = tables[t]; cmd->name; cmd++) {
			struct dent *e = dict_add(kv, &kv->commands, cmd->name, strlen(cmd->name));
			e->v.p = cmd;
		}
	return kv;
}

void kvd_destroy(struct kvd *kv)
{
	while (kv->clients) {
		struct kvd_client *c = kv->clients;
		c->conn = NULL; /* no more hooks for it */
		kvd_client_gone(c);
	}
	if (kv->loader)
		kvd_client_gone(kv->loader);
	for (int i = 0; i < KVD_DBS; i++) {
		db_flush(kv, &kv->dbs[i]);
		dict_clear(kv, &kv->dbs[i].keys, NULL);
		dict_clear(kv, &kv->dbs[i].expires, NULL);
		dict_clear(kv, &kv->dbs[i].blocking, NULL);
		dict_clear(kv, &kv->dbs[i].watched, NULL);
	}
	dict_clear(kv, &kv->commands, NULL);
	dict_clear(kv, &kv->ready_keys, NULL);
	dict_clear(kv, &kv->pubsub_channels, NULL);
	buf_free(kv, &kv->aof_buf);
	buf_free(kv, &kv->load_buf);
	kv->h.release(kv->h.ctx, kv, sizeof(*kv));
}

int kvd_config_set(struct kvd *kv, const char *name, const char *value, const char **why)
{
	return config_set(kv, name, value, why);
}

size_t kvd_used_memory(const struct kvd *kv)
{
	return kv->used;
}

int kvd_hz(const struct kvd *kv)
{
	return kv->cfg.hz;
}

/* --- clients ---------------------------------------------------------------------- */
struct kvd_client *kvd_client_new(struct kvd *kv, void *conn, const char *addr)
{
	struct kvd_client *c = mem_alloc(kv, sizeof(*c));
	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->kv = kv;
	c->conn = conn;
	c->id = kv->next_client_id++;
	strlcpy(c->addr, addr ? addr : "", sizeof(c->addr));
	c->resp = 2;
	c->db = &kv->dbs[0];
	c->mb_left = -1;
	c->bulk_len = -1;
	kv->now_ms = kv->h.now_ms(kv->h.ctx);
	c->ctime = c->atime = kv->now_ms;
	dict_init(&c->watching);
	dict_init(&c->channels);
	dict_init(&c->patterns);
	if (conn) {
		if (!kv->serving) {
			kv->serving = true;
			kv->aof_on = kv->cfg.appendonly;
		}
		c->listed = true;
		c->next = kv->clients;
		if (kv->clients)
			kv->clients->prev = c;
		kv->clients = c;
		kv->nclients++;
		kv->stat_conns++;
	}
	return c;
}

void client_flush_later(struct kvd_client *c)
{
	if (c->pending || !c->conn)
		return;
	c->pending = true;
	c->pend_next = c->kv->pending;
	c->kv->pending = c;
}

void client_close_later(struct kvd_client *c)
{
	c->closing = true;
	if (!c->conn)
		return;
	if (!c->pending) {
		c->pending = true;
		c->pend_next = c->kv->pending;
		c->kv->pending = c;
	}
}

static void list_remove(struct kvd_client **head, struct kvd_client *c, bool unblocked)
{
	for (struct kvd_client **pp = head; *pp;
	     pp = unblocked ? &(*pp)->unblocked_next : &(*pp)->pend_next) {
		if (*pp == c) {
			*pp = unblocked ? c->unblocked_next : c->pend_next;
			return;
		}
	}
}

void kvd_client_gone(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	if (c->blocked)
		unblock_client(c, true);
	list_remove(&kv->unblocked, c, true);
	if (c->pending)
		list_remove(&kv->pending, c, false);
	multi_discard(c);
	unwatch_all(c);
	pubsub_unsubscribe_all(c, false);
	if (c->listed) {
		if (c->prev)
			c->prev->next = c->next;
		else
			kv->clients = c->next;
		if (c->next)
			c->next->prev = c->prev;
		kv->nclients--;
	}
	buf_free(kv, &c->qbuf);
	buf_free(kv, &c->out);
	mem_free(kv, c->arg_off, c->argv_cap * sizeof(size_t));
	mem_free(kv, c->arg_len, c->argv_cap * sizeof(size_t));
	mem_free(kv, c->argv, c->argv_cap * sizeof(struct arg));
	if (c->name)
		mem_free(kv, c->name, strlen(c->name) + 1);
	if (kv->loader == c)
		kv->loader = NULL;
	mem_free(kv, c, sizeof(*c));
}

/* Hand every pending client's replies to the runner: the log first. */
void flush_pending(struct kvd *kv)
{
	aof_flush(kv, false);
	uint64_t t0 = kv->h.cycles && kv->pending ? kv->h.cycles(kv->h.ctx) : 0;
	while (kv->pending) {
		struct kvd_client *c = kv->pending;
		kv->pending = c->pend_next;
		c->pending = false;
		if (c->out.len && c->conn) {
			kv->stat_net_out += c->out.len;
			kv->h.send(kv->h.ctx, c->conn, c->out.b, c->out.len);
		}
		c->out.len = 0;
		if (c->out.cap > 64 * 1024)
			buf_free(kv, &c->out);
		if (c->closing && c->conn)
			kv->h.close(kv->h.ctx, c->conn); /* may call kvd_client_gone */
	}
	if (t0)
		kv->cyc_reply += kv->h.cycles(kv->h.ctx) - t0;
}

/* After a command: clients whose BLPOP was served read their next commands. */
static void end_of_event(struct kvd *kv)
{
	while (kv->unblocked) {
		struct kvd_client *c = kv->unblocked;
		kv->unblocked = c->unblocked_next;
		client_process_input(c);
	}
	flush_pending(kv);
}

void kvd_client_feed(struct kvd_client *c, const void *buf, size_t n)
{
	struct kvd *kv = c->kv;
	kv->now_ms = kv->h.now_ms(kv->h.ctx);
	c->atime = kv->now_ms;
	kv->stat_net_in += n;
	if (c->closing)
		return;
	uint64_t t0 = kv->h.cycles ? kv->h.cycles(kv->h.ctx) : 0;
	buf_put(kv, &c->qbuf, buf, n);
	client_process_input(c);
	end_of_event(kv);
	if (kv->h.cycles)
		kv->cyc_feed += kv->h.cycles(kv->h.ctx) - t0;
}

void kvd_tick(struct kvd *kv)
{
	kv->now_ms = kv->h.now_ms(kv->h.ctx);
	if (kv->cfg.active_expire_enabled)
		db_active_expire(kv);
	blocked_timeouts(kv);
	for (int i = 0; i < KVD_DBS; i++) {
		dict_shrink(kv, &kv->dbs[i].keys);
		dict_shrink(kv, &kv->dbs[i].expires);
		/* an idle server finishes its resizes too, 1 ms a tick (Redis's
		 * activerehashing) */
		dict_rehash_for(kv, &kv->dbs[i].keys, 1);
		dict_rehash_for(kv, &kv->dbs[i].expires, 1);
	}
	if (kv->cfg.timeout > 0) {
		for (struct kvd_client *c = kv->clients; c; c = c->next)
			if (!c->blocked && client_subscriptions(c) == 0 &&
			    kv->now_ms - c->atime > (uint64_t)kv->cfg.timeout * 1000)
				client_close_later(c);
	}
	if (kv->cfg.maxmemory)
		evict_if_needed(kv);
	aof_tick(kv);
	end_of_event(kv);
}

/* --- running commands ------------------------------------------------------------- */
struct cmd *cmd_lookup(struct kvd *kv, const char *name, size_t n)
{
	char low[KVD_NAME_MAX];
	if (n >= sizeof(low))
		return NULL;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)tolower(name[i]);
	struct dent *e = dict_find(kv, &kv->commands, low, n);
	return e ? e->v.p : NULL;
}

static void reply_unknown(struct kvd_client *c)
{
	char args[200];
	size_t len = 0;
	args[0] = '\0';
	for (int i = 1; i < c->argc && len < 128; i++) {
		int room = 128 - (int)len;
		len += (size_t)snprintf(
			args + len, sizeof(args) - len, "'%.*s' ",
			(int)(c->argv[i].n < (size_t)room ? c->argv[i].n : (size_t)room),
			c->argv[i].p);
		if (len >= sizeof(args))
			len = sizeof(args) - 1;
	}
	reply_errorf(c, "ERR unknown command '%.128s', with args beginning with: %s", c->argv[0].p,
		     args);
}

static bool arity_ok(const struct cmd *cmd, int argc)
{
	return cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

/* Does this write find memory for itself? Evicts first, as Redis. */
static bool memory_ok(struct kvd_client *c, struct cmd *cmd)
{
	struct kvd *kv = c->kv;
	if (!kv->cfg.maxmemory || kv->loading)
		return true;
	bool ok = evict_if_needed(kv);
	if (ok || !(cmd->flags & CMD_DENYOOM))
		return true;
	/* EXEC of a transaction that only reads is fine */
	return false;
}

static void process_command_timed(struct kvd_client *c);

void process_command(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	if (!kv->h.cycles || kv->current) {
		process_command_timed(c);
		return;
	}
	uint64_t t0 = kv->h.cycles(kv->h.ctx);
	process_command_timed(c);
	kv->cyc_cmd += kv->h.cycles(kv->h.ctx) - t0;
}

static void process_command_timed(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	struct cmd *cmd = cmd_lookup(kv, c->argv[0].p, c->argv[0].n);
	if (!cmd) {
		reply_unknown(c);
		if (c->in_multi)
			c->multi_dirty = true;
		kv->stat_rejected++;
		return;
	}
	if (!arity_ok(cmd, c->argc)) {
		reply_arity(c, cmd->name);
		if (c->in_multi)
			c->multi_dirty = true;
		kv->stat_rejected++;
		return;
	}
	if (c->resp == 2 && client_subscriptions(c) > 0 && !(cmd->flags & CMD_SUBOK)) {
		reply_errorf(c,
			     "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / "
			     "PING / QUIT / RESET are allowed in this context",
			     cmd->name);
		return;
	}
	if (c->in_multi && (cmd->flags & CMD_DENYMULTI)) {
		reply_error(c, "ERR Command not allowed inside a transaction");
		c->multi_dirty = true;
		kv->stat_rejected++;
		return;
	}
	if (c->in_multi && !(cmd->flags & CMD_NOMULTI)) {
		if ((cmd->flags & CMD_DENYOOM) && !memory_ok(c, cmd)) {
			reply_oom(c);
			c->multi_dirty = true;
			return;
		}
		multi_queue(c, cmd);
		reply_raw(c, "+QUEUED\r\n", 9);
		return;
	}
	if ((cmd->flags & CMD_DENYOOM) && !memory_ok(c, cmd)) {
		reply_oom(c);
		kv->stat_rejected++;
		return;
	}
	call(c, cmd);
	c->last_cmd = cmd;
}

/* After a write: WATCHers of its keys lose their transaction, and lists that
 * blocked clients wait on may now feed them. */
static void touch_keys(struct kvd_client *c, struct cmd *cmd)
{
	struct kvd *kv = c->kv;
	if (cmd->first <= 0)
		return;
	int last = cmd->last < 0 ? c->argc + cmd->last : cmd->last;
	if (last >= c->argc)
		last = c->argc - 1;
	for (int i = cmd->first; i <= last; i += cmd->step) {
		touch_watched(kv, c->db, c->argv[i].p, c->argv[i].n);
		signal_list_ready(kv, c->db, c->argv[i].p, c->argv[i].n);
	}
}

void call(struct kvd_client *c, struct cmd *cmd)
{
	struct kvd *kv = c->kv;
	long long dirty = kv->dirty;
	struct kvd_client *prev = kv->current;
	kv->current = c;
	c->prop_none = false;
	cmd->fn(c);
	cmd->calls++;
	kv->stat_cmds++;
	if (kv->dirty != dirty && (cmd->flags & CMD_WRITE)) {
		if (!c->prop_none)
			aof_feed(kv, c->db->id, c->argc, c->argv);
		if (!(cmd->flags & CMD_OWNTOUCH))
			touch_keys(c, cmd);
	}
	c->prop_none = false;
	kv->current = prev;
	if (!prev && kv->ready_head)
		serve_ready_keys(kv);
}

/* The handler logs argv instead of the command (SPOP as SREM, EXPIRE as
 * PEXPIREAT, ...); may be called more than once. */
void propagate_argv(struct kvd_client *c, int argc, struct arg *argv)
{
	aof_feed(c->kv, c->db->id, argc, argv);
	c->prop_none = true;
}

void propagate_none(struct kvd_client *c)
{
	c->prop_none = true;
}

void propagate_as(struct kvd_client *c, int argc, ...)
{
	struct arg argv[8];
	va_list ap;
	va_start(ap, argc);
	for (int i = 0; i < argc && i < 8; i++) {
		argv[i].p = va_arg(ap, char *);
		argv[i].n = va_arg(ap, size_t);
	}
	va_end(ap);
	propagate_argv(c, argc < 8 ? argc : 8, argv);
}

int client_argc(struct kvd_client *c)
{
	return c->argc;
}
