/*
 * Connection and server commands: PING ECHO QUIT RESET HELLO CLIENT COMMAND
 * CONFIG INFO TIME LASTSAVE SAVE BGSAVE BGREWRITEAOF SHUTDOWN MEMORY
 * FUNCTION (FLUSH only: kvd has no functions, and Redis's test suite
 * flushes them before each test) and DEBUG (SET-ACTIVE-EXPIRE only).
 *
 * INFO's fields keep Redis's names, so tools that parse it (redis-cli,
 * redis-benchmark, the test suite's [s field] helper) find what they look
 * for; kvd_version says what is really answering.
 */
#include <user/srv/kvd/engine.h>

#define KVD_REDIS_VERSION "7.0.15" /* the protocol and test suite kvd follows */
#define KVD_VERSION "0.1"

static void reply_subcommand_arity(struct kvd_client *c, const char *cmd)
{
	char name[80];
	snprintf(name, sizeof(name), "%s|%.40s", cmd, c->argv[1].p);
	for (char *p = name; *p; p++)
		*p = (char)tolower(*p);
	reply_arity(c, name);
}

static void reply_unknown_sub(struct kvd_client *c, const char *cmd)
{
	reply_errorf(c, "ERR unknown subcommand '%.128s'. Try %s HELP.", c->argv[1].p, cmd);
}

static void cmd_ping(struct kvd_client *c)
{
	if (c->argc > 2) {
		reply_arity(c, "ping");
		return;
	}
	if (c->resp == 2 && client_subscriptions(c) > 0) {
		reply_array(c, 2);
		reply_cstr(c, "pong");
		if (c->argc == 2)
			reply_bulk(c, c->argv[1].p, c->argv[1].n);
		else
			reply_bulk(c, "", 0);
		return;
	}
	if (c->argc == 2)
		reply_bulk(c, c->argv[1].p, c->argv[1].n);
	else
		reply_status(c, "PONG");
}

static void cmd_echo(struct kvd_client *c)
{
	reply_bulk(c, c->argv[1].p, c->argv[1].n);
}

static void cmd_quit(struct kvd_client *c)
{
	reply_ok(c);
	client_close_later(c);
}

static void cmd_reset(struct kvd_client *c)
{
	multi_discard(c);
	unwatch_all(c);
	pubsub_unsubscribe_all(c, false);
	c->db = &c->kv->dbs[0];
	c->resp = 2;
	if (c->name) {
		mem_free(c->kv, c->name, strlen(c->name) + 1);
		c->name = NULL;
	}
	reply_status(c, "RESET");
}

static bool name_ok(const struct arg *a)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->p[i] < '!' || a->p[i] > '~')
			return false;
	return true;
}

static void set_name(struct kvd_client *c, const struct arg *a)
{
	if (c->name)
		mem_free(c->kv, c->name, strlen(c->name) + 1);
	c->name = a->n ? mem_dup(c->kv, a->p, a->n) : NULL;
}

static void cmd_hello(struct kvd_client *c)
{
	long long ver = c->resp;
	int i = 1;
	if (c->argc >= 2) {
		if (!str2ll(c->argv[1].p, c->argv[1].n, &ver)) {
			reply_error(c, "ERR Protocol version is not an integer or out of range");
			return;
		}
		if (ver < 2 || ver > 3) {
			reply_error(c, "NOPROTO unsupported protocol version");
			return;
		}
		i = 2;
	}
	for (; i < c->argc; i++) {
		bool more = c->argc - i - 1;
		if (arg_eq(&c->argv[i], "auth") && c->argc - i - 1 >= 2) {
			i += 2; /* kvd has no users: any credentials are accepted */
		} else if (arg_eq(&c->argv[i], "setname") && more) {
			if (!name_ok(&c->argv[i + 1])) {
				reply_error(c,
					    "ERR Client names cannot contain spaces, newlines or "
					    "special characters.");
				return;
			}
			set_name(c, &c->argv[++i]);
		} else {
			reply_errorf(c, "ERR Syntax error in HELLO option '%s'", c->argv[i].p);
			return;
		}
	}
	c->resp = (int)ver;
	reply_map(c, 7);
	reply_cstr(c, "server");
	reply_cstr(c, "redis");
	reply_cstr(c, "version");
	reply_cstr(c, KVD_REDIS_VERSION);
	reply_cstr(c, "proto");
	reply_ll(c, c->resp);
	reply_cstr(c, "id");
	reply_ll(c, (long long)c->id);
	reply_cstr(c, "mode");
	reply_cstr(c, "standalone");
	reply_cstr(c, "role");
	reply_cstr(c, "master");
	reply_cstr(c, "modules");
	reply_array(c, 0);
}

/* --- CLIENT --------------------------------------------------------------------- */
static void client_info_line(struct kvd_client *x, struct buf *b)
{
	struct kvd *kv = x->kv;
	char flags[8];
	int f = 0;
	if (x->in_multi)
		flags[f++] = 'x';
	if (x->blocked)
		flags[f++] = 'b';
	if (x->channels.used || x->patterns.used)
		flags[f++] = 'P';
	if (!f)
		flags[f++] = 'N';
	flags[f] = '\0';
	buf_printf(kv, b,
		   "id=%llu addr=%s laddr=%s fd=0 name=%s age=%llu idle=%llu flags=%s db=%d "
		   "sub=%llu psub=%llu ssub=0 multi=%d qbuf=%zu qbuf-free=%zu argv-mem=0 "
		   "multi-mem=0 rbs=%zu rbp=0 obl=0 oll=0 omem=%zu tot-mem=%zu events=r "
		   "cmd=%s user=default redir=-1 resp=%d\n",
		   (unsigned long long)x->id, x->addr, x->addr, x->name ? x->name : "",
		   (unsigned long long)((kv->now_ms - x->ctime) / 1000),
		   (unsigned long long)((kv->now_ms - x->atime) / 1000), flags, x->db->id,
		   (unsigned long long)x->channels.used, (unsigned long long)x->patterns.used,
		   x->in_multi ? x->nqueued : -1, x->qbuf.len - x->qpos, x->qbuf.cap - x->qbuf.len,
		   x->qbuf.cap, x->out.cap, sizeof(*x) + x->qbuf.cap + x->out.cap,
		   x->last_cmd ? x->last_cmd->name : "NULL", x->resp);
}

static void cmd_client(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	struct arg *sub = &c->argv[1];
	if (arg_eq(sub, "id") && c->argc == 2) {
		reply_ll(c, (long long)c->id);
	} else if (arg_eq(sub, "setname")) {
		if (c->argc != 3) {
			reply_subcommand_arity(c, "client");
			return;
		}
		if (!name_ok(&c->argv[2])) {
			reply_error(c,
				    "ERR Client names cannot contain spaces, newlines or special "
				    "characters.");
			return;
		}
		set_name(c, &c->argv[2]);
		reply_ok(c);
	} else if (arg_eq(sub, "getname") && c->argc == 2) {
		if (c->name)
			reply_cstr(c, c->name);
		else
			reply_null(c);
	} else if (arg_eq(sub, "list") || (arg_eq(sub, "info") && c->argc == 2)) {
		struct buf b = { 0 };
		if (arg_eq(sub, "info")) {
			client_info_line(c, &b);
		} else {
			for (struct kvd_client *x = kv->clients; x; x = x->next)
				client_info_line(x, &b);
		}
		reply_verbatim(c, b.b ? b.b : "", b.len);
		buf_free(kv, &b);
	} else if (arg_eq(sub, "kill")) {
		if (c->argc < 3) {
			reply_subcommand_arity(c, "client");
			return;
		}
		long long killed = 0;
		bool old_style = c->argc == 3;
		for (struct kvd_client *x = kv->clients; x; x = x->next) {
			bool hit = false;
			if (old_style) {
				hit = arg_eq(&c->argv[2], x->addr);
			} else if (c->argc == 4 && arg_eq(&c->argv[2], "id")) {
				long long id;
				hit = str2ll(c->argv[3].p, c->argv[3].n, &id) &&
				      (uint64_t)id == x->id;
			} else if (c->argc == 4 && arg_eq(&c->argv[2], "addr")) {
				hit = arg_eq(&c->argv[3], x->addr);
			} else {
				reply_syntax(c);
				return;
			}
			if (hit) {
				client_close_later(x);
				killed++;
			}
		}
		if (old_style) {
			if (killed)
				reply_ok(c);
			else
				reply_error(c, "ERR No such client");
		} else {
			reply_ll(c, killed);
		}
	} else if (arg_eq(sub, "reply") && c->argc == 3) {
		if (arg_eq(&c->argv[2], "on")) {
			c->reply_off = c->reply_skip = false;
			reply_ok(c);
		} else if (arg_eq(&c->argv[2], "off")) {
			c->reply_off = true;
		} else if (arg_eq(&c->argv[2], "skip")) {
			if (!c->reply_off)
				c->reply_skip_next = true;
		} else {
			reply_syntax(c);
		}
	} else if (arg_eq(sub, "no-evict") || arg_eq(sub, "no-touch")) {
		reply_ok(c);
	} else if (arg_eq(sub, "help")) {
		reply_array(c, 1);
		reply_status(c, "CLIENT ID|SETNAME|GETNAME|LIST|INFO|KILL|REPLY");
	} else {
		reply_unknown_sub(c, "CLIENT");
	}
}

/* --- COMMAND ------------------------------------------------------------------------ */
static void reply_command_info(struct kvd_client *c, const struct cmd *cmd)
{
	static const struct {
		int flag;
		const char *name;
	} fl[] = { { CMD_WRITE, "write" },       { CMD_READONLY, "readonly" },
		   { CMD_DENYOOM, "denyoom" },   { CMD_ADMIN, "admin" },
		   { CMD_PUBSUB, "pubsub" },     { CMD_NOSCRIPT, "noscript" },
		   { CMD_BLOCKING, "blocking" }, { CMD_LOADING, "loading" },
		   { CMD_STALE, "stale" },       { CMD_FAST, "fast" } };
	reply_array(c, 10);
	reply_cstr(c, cmd->name);
	reply_ll(c, cmd->arity);
	int n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(fl); i++)
		n += !!(cmd->flags & fl[i].flag);
	reply_set(c, n);
	for (size_t i = 0; i < ARRAY_SIZE(fl); i++)
		if (cmd->flags & fl[i].flag)
			reply_status(c, fl[i].name);
	reply_ll(c, cmd->first);
	reply_ll(c, cmd->last);
	reply_ll(c, cmd->step);
	reply_set(c, 0);
	reply_set(c, 0);
	reply_array(c, 0);
	reply_array(c, 0);
}

/* COMMAND GETKEYS cmd arg...: the key arguments, by the command's key
 * positions; SORT's keys are its first argument and the last STORE's. */
static void command_getkeys(struct kvd_client *c)
{
	struct cmd *cmd = cmd_lookup(c->kv, c->argv[2].p, c->argv[2].n);
	int argc = c->argc - 2;
	struct arg *argv = c->argv + 2;
	if (!cmd) {
		reply_error(c, "ERR Invalid command specified");
		return;
	}
	bool sort = !strcmp(cmd->name, "sort") || !strcmp(cmd->name, "sort_ro");
	if (cmd->first <= 0 && !sort) {
		reply_error(c, "ERR The command has no key arguments");
		return;
	}
	if (cmd->arity > 0 ? argc != cmd->arity : argc < -cmd->arity) {
		reply_error(c, "ERR Invalid number of arguments specified for command");
		return;
	}
	if (sort) {
		int store = 0;
		for (int i = 2; i < argc; i++) {
			if (arg_eq(&argv[i], "limit"))
				i += 2;
			else if (arg_eq(&argv[i], "by") || arg_eq(&argv[i], "get"))
				i++;
			else if (!strcmp(cmd->name, "sort") && arg_eq(&argv[i], "store") &&
				 i + 1 < argc)
				store = ++i;
		}
		reply_array(c, store ? 2 : 1);
		reply_bulk(c, argv[1].p, argv[1].n);
		if (store)
			reply_bulk(c, argv[store].p, argv[store].n);
		return;
	}
	int last = cmd->last < 0 ? argc + cmd->last : cmd->last;
	if (last >= argc)
		last = argc - 1;
	size_t at = reply_defer(c);
	long long n = 0;
	for (int i = cmd->first; i <= last; i += cmd->step, n++)
		reply_bulk(c, argv[i].p, argv[i].n);
	reply_defer_array(c, at, n);
}

static void cmd_command(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	if (c->argc == 1) {
		reply_array(c, (long long)kv->commands.used);
		struct dict_iter it;
		dict_iter_start(&it, &kv->commands);
		for (struct dent *e; (e = dict_iter_next(&it));)
			reply_command_info(c, e->v.p);
		dict_iter_end(&it);
		return;
	}
	struct arg *sub = &c->argv[1];
	if (arg_eq(sub, "count") && c->argc == 2) {
		reply_ll(c, (long long)kv->commands.used);
	} else if (arg_eq(sub, "info")) {
		reply_array(c, c->argc - 2);
		for (int i = 2; i < c->argc; i++) {
			struct cmd *cmd = cmd_lookup(kv, c->argv[i].p, c->argv[i].n);
			if (cmd)
				reply_command_info(c, cmd);
			else
				reply_null_array(c);
		}
	} else if (arg_eq(sub, "docs")) {
		reply_map(c, 0); /* no documentation to offer: redis-cli does without */
	} else if (arg_eq(sub, "list")) {
		reply_array(c, (long long)kv->commands.used);
		struct dict_iter it;
		dict_iter_start(&it, &kv->commands);
		for (struct dent *e; (e = dict_iter_next(&it));)
			reply_cstr(c, ((struct cmd *)e->v.p)->name);
		dict_iter_end(&it);
	} else if (arg_eq(sub, "getkeys")) {
		if (c->argc < 4)
			reply_subcommand_arity(c, "command");
		else
			command_getkeys(c);
	} else if (arg_eq(sub, "help")) {
		reply_array(c, 1);
		reply_status(c, "COMMAND [COUNT|INFO|DOCS|LIST|GETKEYS]");
	} else {
		reply_unknown_sub(c, "COMMAND");
	}
}

/* --- CONFIG, INFO ---------------------------------------------------------------------- */
static void cmd_config(struct kvd_client *c)
{
	struct arg *sub = &c->argv[1];
	if (arg_eq(sub, "get")) {
		if (c->argc < 3) {
			reply_subcommand_arity(c, "config");
			return;
		}
		config_get(c, c->argc - 2, &c->argv[2]);
	} else if (arg_eq(sub, "set")) {
		config_set_command(c);
	} else if (arg_eq(sub, "resetstat") && c->argc == 2) {
		struct kvd *kv = c->kv;
		kv->stat_cmds = kv->stat_expired = kv->stat_evicted = kv->stat_hits = 0;
		kv->stat_misses = kv->stat_rejected = kv->stat_net_in = kv->stat_net_out = 0;
		kv->stat_conns = kv->stat_pubsub_msgs = 0;
		struct dict_iter it;
		dict_iter_start(&it, &kv->commands);
		for (struct dent *e; (e = dict_iter_next(&it));)
			((struct cmd *)e->v.p)->calls = ((struct cmd *)e->v.p)->usec = 0;
		dict_iter_end(&it);
		reply_ok(c);
	} else if (arg_eq(sub, "rewrite")) {
		reply_error(c, "ERR The server is running without a config file");
	} else if (arg_eq(sub, "help")) {
		reply_array(c, 1);
		reply_status(c, "CONFIG GET|SET|RESETSTAT");
	} else {
		reply_unknown_sub(c, "CONFIG");
	}
}

static void cmd_info(struct kvd_client *c)
{
	struct buf b = { 0 };
	info_generate(c->kv, &b, c->argc - 1, c->argv + 1);
	reply_verbatim(c, b.b ? b.b : "", b.len);
	buf_free(c->kv, &b);
}

static void cmd_time(struct kvd_client *c)
{
	uint64_t ms = c->kv->h.now_ms(c->kv->h.ctx);
	reply_array(c, 2);
	reply_bulk_ll(c, (long long)(ms / 1000));
	reply_bulk_ll(c, (long long)(ms % 1000) * 1000);
}

static void cmd_lastsave(struct kvd_client *c)
{
	reply_ll(c, c->kv->last_save);
}

/* SAVE and BGSAVE both write a compacted log at once: the log is kvd's only
 * file, and compaction is the snapshot (doc/kvd.md). */
static bool save_now(struct kvd_client *c)
{
	if (!c->kv->h.rewrite_begin) {
		reply_error(c, "ERR kvd runs without persistence: nothing to save to");
		return false;
	}
	if (aof_rewrite(c->kv) < 0) {
		reply_error(c, "ERR writing the log failed");
		return false;
	}
	return true;
}

static void cmd_save(struct kvd_client *c)
{
	if (save_now(c))
		reply_ok(c);
}

static void cmd_bgsave(struct kvd_client *c)
{
	if (save_now(c))
		reply_status(c, "Background saving started");
}

static void cmd_bgrewriteaof(struct kvd_client *c)
{
	if (save_now(c))
		reply_status(c, "Background append only file rewriting started");
}

static void cmd_shutdown(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	for (int i = 1; i < c->argc; i++) {
		struct arg *a = &c->argv[i];
		if (arg_eq(a, "abort")) {
			reply_error(c, "ERR No shutdown in progress.");
			return;
		}
		if (!arg_eq(a, "nosave") && !arg_eq(a, "save") && !arg_eq(a, "now") &&
		    !arg_eq(a, "force")) {
			reply_syntax(c);
			return;
		}
	}
	aof_flush(kv, true);
	kv->shutting_down = true;
	kv_log(kv, "kvd: shutdown asked by client %llu", (unsigned long long)c->id);
	client_close_later(c);
	kv->h.shutdown(kv->h.ctx);
}

static void cmd_memory(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	if (arg_eq(&c->argv[1], "usage") && c->argc >= 3) {
		struct dent *e = db_find(kv, c->db, c->argv[2].p, c->argv[2].n);
		if (!e)
			reply_null(c);
		else
			reply_ll(c, (long long)(sizeof(*e) + e->klen + 1 + obj_mem(e->v.p)));
	} else if (arg_eq(&c->argv[1], "help")) {
		reply_array(c, 1);
		reply_status(c, "MEMORY USAGE <key>");
	} else {
		reply_unknown_sub(c, "MEMORY");
	}
}

static void cmd_function(struct kvd_client *c)
{
	if (arg_eq(&c->argv[1], "flush") && c->argc <= 3) {
		reply_ok(c); /* there are no functions in kvd */
	} else if (arg_eq(&c->argv[1], "list")) {
		reply_array(c, 0);
	} else {
		reply_error(c, "ERR kvd does not run functions");
	}
}

static void cmd_debug(struct kvd_client *c)
{
	if (arg_eq(&c->argv[1], "set-active-expire") && c->argc == 3) {
		c->kv->cfg.active_expire_enabled = c->argv[2].n == 1 && c->argv[2].p[0] == '1';
		reply_ok(c);
	} else {
		reply_unknown_sub(c, "DEBUG");
	}
}

static void cmd_hscan(struct kvd_client *c)
{
	bool wrong;
	struct obj *o = lookup_typed(c, &c->argv[1], T_HASH, &wrong);
	if (wrong)
		return;
	struct dict empty;
	dict_init(&empty);
	scan_generic(c, o ? &((struct hobj *)o)->d : &empty, T_HASH, 3);
}

static void cmd_sscan(struct kvd_client *c)
{
	bool wrong;
	struct obj *o = lookup_typed(c, &c->argv[1], T_SET, &wrong);
	if (wrong)
		return;
	struct dict empty;
	dict_init(&empty);
	scan_generic(c, o ? &((struct setobj *)o)->d : &empty, T_SET, 3);
}

static void cmd_zscan(struct kvd_client *c)
{
	bool wrong;
	struct obj *o = lookup_typed(c, &c->argv[1], T_ZSET, &wrong);
	if (wrong)
		return;
	struct dict empty;
	dict_init(&empty);
	scan_generic(c, o ? &((struct zobj *)o)->d : &empty, T_ZSET, 3);
}

struct cmd cmds_server[] = {
	{ "ping", cmd_ping, -1, CMD_FAST | CMD_SUBOK | CMD_STALE, 0, 0, 0, "connection", 0, 0 },
	{ "echo", cmd_echo, 2, CMD_FAST, 0, 0, 0, "connection", 0, 0 },
	{ "quit", cmd_quit, -1, CMD_FAST | CMD_SUBOK | CMD_NOMULTI | CMD_LOADING, 0, 0, 0,
	  "connection", 0, 0 },
	{ "reset", cmd_reset, 1, CMD_FAST | CMD_SUBOK | CMD_NOMULTI | CMD_LOADING, 0, 0, 0,
	  "connection", 0, 0 },
	{ "hello", cmd_hello, -1, CMD_FAST | CMD_LOADING | CMD_STALE, 0, 0, 0, "connection", 0, 0 },
	{ "client", cmd_client, -2, CMD_ADMIN | CMD_LOADING | CMD_STALE, 0, 0, 0, "connection", 0,
	  0 },
	{ "command", cmd_command, -1, CMD_LOADING | CMD_STALE, 0, 0, 0, "server", 0, 0 },
	{ "config", cmd_config, -2, CMD_ADMIN | CMD_LOADING | CMD_STALE, 0, 0, 0, "server", 0, 0 },
	{ "info", cmd_info, -1, CMD_LOADING | CMD_STALE, 0, 0, 0, "server", 0, 0 },
	{ "time", cmd_time, 1, CMD_FAST | CMD_LOADING, 0, 0, 0, "server", 0, 0 },
	{ "lastsave", cmd_lastsave, 1, CMD_FAST, 0, 0, 0, "server", 0, 0 },
	{ "save", cmd_save, 1, CMD_ADMIN | CMD_DENYMULTI, 0, 0, 0, "server", 0, 0 },
	{ "bgsave", cmd_bgsave, -1, CMD_ADMIN, 0, 0, 0, "server", 0, 0 },
	{ "bgrewriteaof", cmd_bgrewriteaof, 1, CMD_ADMIN, 0, 0, 0, "server", 0, 0 },
	{ "shutdown", cmd_shutdown, -1, CMD_ADMIN | CMD_DENYMULTI | CMD_LOADING, 0, 0, 0, "server",
	  0, 0 },
	{ "memory", cmd_memory, -2, CMD_READONLY, 0, 0, 0, "server", 0, 0 },
	{ "function", cmd_function, -2, CMD_NOSCRIPT, 0, 0, 0, "scripting", 0, 0 },
	{ "debug", cmd_debug, -2, CMD_ADMIN, 0, 0, 0, "server", 0, 0 },
	{ "hscan", cmd_hscan, -3, CMD_READONLY, 1, 1, 1, "hash", 0, 0 },
	{ "sscan", cmd_sscan, -3, CMD_READONLY, 1, 1, 1, "set", 0, 0 },
	{ "zscan", cmd_zscan, -3, CMD_READONLY, 1, 1, 1, "sorted-set", 0, 0 },
	{ NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, 0 },
};
