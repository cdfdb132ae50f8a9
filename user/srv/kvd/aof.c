/*
 * Durability: the append-only log, its compaction, and recovery from it.
 *
 * The log is a stream of RESP commands, as Redis's AOF: each write that
 * changed something is appended (in the form its handler chose, with
 * relative times made absolute), with a SELECT whenever the database
 * changes and MULTI/EXEC around transactions. Appends collect in aof_buf
 * during an event and reach the runner's log_append at the end of it,
 * before any reply is sent (server.c, flush_pending):
 *
 *   appendfsync always    log_sync before the replies go out: an
 *                         acknowledged write survives a power cut;
 *   appendfsync everysec  log_sync at most a second apart (kvd_tick): a
 *                         power cut loses at most the last second or so;
 *   appendfsync no        the runner's OS decides.
 *
 * A failed write or sync under "always" stops the server (as Redis does),
 * since it can no longer keep its promise; otherwise it is retried and
 * INFO shows aof_last_write_status:err.
 *
 * Compaction (BGREWRITEAOF, SAVE, and automatically when the log has grown
 * by auto-aof-rewrite-percentage since the last one) writes the data set as
 * a fresh minimal log through rewrite_* and has the runner switch to it
 * atomically. It runs synchronously: kvd has no fork, and the engine is
 * single-threaded; a big data set pauses the server while it is written.
 *
 * Recovery (kvd_load) replays a log through an internal client with no
 * connection. A command cut short at the end (a torn write) is dropped, as
 * is a transaction whose EXEC never made it; kvd_load_end tells the runner
 * the length to truncate the log to.
 */
#include <user/srv/kvd/engine.h>

static void put_bulk(struct kvd *kv, struct buf *b, const char *p, size_t n)
{
	char hdr[KVD_LONG_STR + 4];
	hdr[0] = '$';
	int len = 1 + ll2str(hdr + 1, (long long)n);
	hdr[len++] = '\r';
	hdr[len++] = '\n';
	buf_put(kv, b, hdr, (size_t)len);
	buf_put(kv, b, p, n);
	buf_put(kv, b, "\r\n", 2);
}

static void put_array(struct kvd *kv, struct buf *b, long long n)
{
	char hdr[KVD_LONG_STR + 4];
	hdr[0] = '*';
	int len = 1 + ll2str(hdr + 1, n);
	hdr[len++] = '\r';
	hdr[len++] = '\n';
	buf_put(kv, b, hdr, (size_t)len);
}

void aof_feed(struct kvd *kv, int dbid, int argc, const struct arg *argv)
{
	if (!kv->aof_on || kv->loading)
		return;
	if (dbid != kv->aof_db) {
		char id[KVD_LONG_STR];
		int n = ll2str(id, dbid);
		put_array(kv, &kv->aof_buf, 2);
		put_bulk(kv, &kv->aof_buf, "SELECT", 6);
		put_bulk(kv, &kv->aof_buf, id, (size_t)n);
		kv->aof_db = dbid;
	}
	put_array(kv, &kv->aof_buf, argc);
	for (int i = 0; i < argc; i++)
		put_bulk(kv, &kv->aof_buf, argv[i].p, argv[i].n);
}

static void aof_fatal(struct kvd *kv, const char *what)
{
	kv_log(kv, "kvd: %s failed with appendfsync always: stopping", what);
	kv->aof_last_write_status = -1;
	kv->h.shutdown(kv->h.ctx);
}

void aof_flush(struct kvd *kv, bool force_sync)
{
	if (!kv->h.log_append)
		return;
	if (kv->aof_buf.len) {
		if (kv->h.log_append(kv->h.ctx, kv->aof_buf.b, kv->aof_buf.len) < 0) {
			if (kv->cfg.appendfsync == FSYNC_ALWAYS) {
				aof_fatal(kv, "writing the log");
				return;
			}
			kv->aof_last_write_status = -1;
			return; /* keep the bytes; retried at the next event */
		}
		kv->aof_size += (long long)kv->aof_buf.len;
		kv->aof_buf.len = 0;
		if (kv->aof_buf.cap > 1024 * 1024)
			buf_free(kv, &kv->aof_buf);
		kv->aof_last_write_status = 0;
		if (kv->cfg.appendfsync == FSYNC_ALWAYS || force_sync) {
			if (kv->h.log_sync(kv->h.ctx) < 0 && kv->cfg.appendfsync == FSYNC_ALWAYS)
				aof_fatal(kv, "syncing the log");
			kv->aof_last_sync = kv->now_ms;
		}
	} else if (force_sync && kv->aof_on) {
		kv->h.log_sync(kv->h.ctx);
		kv->aof_last_sync = kv->now_ms;
	}
}

void aof_tick(struct kvd *kv)
{
	if (!kv->aof_on)
		return;
	if (kv->cfg.appendfsync == FSYNC_EVERYSEC && kv->now_ms - kv->aof_last_sync >= 1000)
		aof_flush(kv, true);
	long long base = kv->aof_base_size ? kv->aof_base_size : 1;
	if (kv->cfg.auto_aof_rewrite_percentage &&
	    kv->aof_size > kv->cfg.auto_aof_rewrite_min_size &&
	    (kv->aof_size - base) * 100 / base >= kv->cfg.auto_aof_rewrite_percentage)
		aof_rewrite(kv);
}

void aof_start(struct kvd *kv)
{
	kv->aof_on = true;
	if (kv->h.rewrite_begin)
		aof_rewrite(kv);
}

/* --- compaction ------------------------------------------------------------- */
struct rewriter {
	struct kvd *kv;
	struct buf b;
	int failed;
};

static void rw_flush(struct rewriter *w, bool all)
{
	if (w->b.len == 0 || (!all && w->b.len < 64 * 1024))
		return;
	if (!w->failed && w->kv->h.rewrite_append(w->kv->h.ctx, w->b.b, w->b.len) < 0)
		w->failed = 1;
	w->b.len = 0;
}

static void rw_cmd(struct rewriter *w, int argc, ...)
{
	va_list ap;
	va_start(ap, argc);
	put_array(w->kv, &w->b, argc);
	for (int i = 0; i < argc; i++) {
		const char *p = va_arg(ap, const char *);
		size_t n = va_arg(ap, size_t);
		put_bulk(w->kv, &w->b, p, n);
	}
	va_end(ap);
	rw_flush(w, false);
}

#define BATCH 64 /* elements per RPUSH/SADD/HSET/ZADD in a compacted log */

static void rw_container(struct rewriter *w, const char *cmd, struct dent *key)
{
	struct kvd *kv = w->kv;
	struct obj *o = key->v.p;
	size_t total = obj_len(o), done = 0;
	int per = o->type == T_HASH || o->type == T_ZSET ? 2 : 1;
	struct dict_iter it;
	struct lnode *ln = o->type == T_LIST ? ((struct lobj *)o)->head : NULL;
	if (o->type != T_LIST)
		dict_iter_start(&it, &((struct hobj *)o)->d); /* hobj, setobj, zobj: d first */
	while (done < total) {
		size_t n = total - done < BATCH ? total - done : BATCH;
		put_array(kv, &w->b, 2 + (long long)n * per);
		put_bulk(kv, &w->b, cmd, strlen(cmd));
		put_bulk(kv, &w->b, key->key, key->klen);
		for (size_t i = 0; i < n; i++) {
			if (o->type == T_LIST) {
				put_bulk(kv, &w->b, ln->data, ln->len);
				ln = ln->next;
				continue;
			}
			struct dent *e = dict_iter_next(&it);
			if (o->type == T_ZSET) {
				char s[KVD_DOUBLE_STR];
				int sl = d2str(s, sizeof(s), ((struct zsl_node *)e->v.p)->score);
				put_bulk(kv, &w->b, s, (size_t)sl);
				put_bulk(kv, &w->b, e->key, e->klen);
			} else {
				put_bulk(kv, &w->b, e->key, e->klen);
				if (o->type == T_HASH) {
					struct bstr *v = e->v.p;
					put_bulk(kv, &w->b, v->data, v->len);
				}
			}
		}
		done += n;
		rw_flush(w, false);
	}
	if (o->type != T_LIST)
		dict_iter_end(&it);
}

int aof_rewrite(struct kvd *kv)
{
	if (!kv->h.rewrite_begin)
		return -1;
	aof_flush(kv, true); /* the old log stays whole if this fails */
	if (kv->h.rewrite_begin(kv->h.ctx) < 0) {
		kv_log(kv, "kvd: cannot start a log rewrite");
		return -1;
	}
	struct rewriter w = { kv, { 0 }, 0 };
	for (int i = 0; i < KVD_DBS; i++) {
		struct db *db = &kv->dbs[i];
		if (db->keys.used == 0)
			continue;
		char id[KVD_LONG_STR];
		int idn = ll2str(id, i);
		rw_cmd(&w, 2, "SELECT", (size_t)6, id, (size_t)idn);
		struct dict_iter it;
		dict_iter_start(&it, &db->keys);
		for (struct dent *e; (e = dict_iter_next(&it));) {
			struct obj *o = e->v.p;
			long long when = db_get_expire(kv, db, e->key, e->klen);
			if (when >= 0 && (uint64_t)when <= kv->now_ms)
				continue; /* expired: not worth writing */
			static const char *const cmds[] = { "SET", "RPUSH", "HSET", "SADD",
							    "ZADD" };
			if (o->type == T_STRING) {
				struct sobj *s = (struct sobj *)o;
				rw_cmd(&w, 3, "SET", (size_t)3, e->key, (size_t)e->klen, s->data,
				       (size_t)s->len);
			} else {
				rw_container(&w, cmds[o->type], e);
			}
			if (when >= 0) {
				char ms[KVD_LONG_STR];
				int msn = ll2str(ms, when);
				rw_cmd(&w, 3, "PEXPIREAT", (size_t)9, e->key, (size_t)e->klen, ms,
				       (size_t)msn);
			}
		}
		dict_iter_end(&it);
	}
	rw_flush(&w, true);
	buf_free(kv, &w.b);
	if (w.failed) {
		kv->h.rewrite_abort(kv->h.ctx);
		kv_log(kv, "kvd: log rewrite failed writing");
		return -1;
	}
	if (kv->h.rewrite_commit(kv->h.ctx) < 0) {
		kv_log(kv, "kvd: log rewrite failed at commit");
		return -1;
	}
	kv->aof_db = -1; /* the next append begins with a SELECT */
	kv->aof_rewrites++;
	kv->dirty = 0;
	kv->last_save = (long long)(kv->now_ms / 1000);
	kv->aof_last_sync = kv->now_ms;
	return 0;
}

/* --- recovery --------------------------------------------------------------------- */
int kvd_load(struct kvd *kv, const void *buf, size_t n)
{
	if (!kv->loader) {
		kv->loader = kvd_client_new(kv, NULL, "log");
		if (!kv->loader)
			return -1;
		kv->loading = true;
		kv->serving = true;
		kv->load_valid = 0;
		kv->load_error = NULL;
	}
	struct kvd_client *c = kv->loader;
	kv->now_ms = kv->h.now_ms(kv->h.ctx);
	buf_put(kv, &c->qbuf, buf, n);
	client_process_input(c);
	return kv->load_error ? -1 : 0;
}

long long kvd_load_end(struct kvd *kv, const char **why)
{
	long long valid = kv->load_valid;
	const char *err = kv->load_error;
	if (kv->loader) {
		kvd_client_gone(kv->loader);
		kv->loader = NULL;
	}
	kv->loading = false;
	kv->aof_on = kv->cfg.appendonly;
	kv->aof_size = kv->aof_base_size = valid;
	kv->aof_db = -1;
	kv->dirty = 0;
	if (err) {
		*why = err;
		return -1;
	}
	return valid;
}
