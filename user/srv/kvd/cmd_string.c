/*
 * String commands: GET SET (EX PX EXAT PXAT NX XX KEEPTTL GET) SETNX SETEX
 * PSETEX GETSET GETDEL GETEX MGET MSET MSETNX INCR DECR INCRBY DECRBY
 * INCRBYFLOAT APPEND STRLEN GETRANGE SETRANGE.
 *
 * Semantics and error words are Redis 7.0's. Relative expiry times are
 * logged as absolute ones (SET k v PXAT ms, PEXPIREAT), and INCRBYFLOAT as
 * the SET of its result, so replaying the log later gives the same value.
 */
#include <user/srv/kvd/engine.h>

enum {
	SET_NX = 1,
	SET_XX = 2,
	SET_GET = 4,
	SET_KEEPTTL = 8,
	SET_PERSIST = 16,
	SET_EX = 32,
	SET_PX = 64,
	SET_EXAT = 128,
	SET_PXAT = 256,
};
#define SET_ANY_EXPIRE (SET_EX | SET_PX | SET_EXAT | SET_PXAT)

static void reply_expire_error(struct kvd_client *c, const char *cmd)
{
	reply_errorf(c, "ERR invalid expire time in '%s' command", cmd);
}

/* The absolute expiry time in ms for an EX/PX/EXAT/PXAT value. */
static bool expire_ms(struct kvd_client *c, const struct arg *a, int unit_flag, const char *cmd,
		      long long *out)
{
	long long v;
	if (!arg_ll(c, a, &v))
		return false;
	bool seconds = unit_flag & (SET_EX | SET_EXAT);
	if (v <= 0 || (seconds && v > INT64_MAX / 1000)) {
		reply_expire_error(c, cmd);
		return false;
	}
	if (seconds)
		v *= 1000;
	if (unit_flag & (SET_EX | SET_PX)) {
		if (v > INT64_MAX - (long long)c->kv->now_ms) {
			reply_expire_error(c, cmd);
			return false;
		}
		v += (long long)c->kv->now_ms;
	}
	*out = v;
	return true;
}

/* Parse SET's or GETEX's options from argv[from]; *when is the absolute expiry. */
static bool parse_string_opts(struct kvd_client *c, int from, bool is_set, int *flags,
			      long long *when, const char *cmd)
{
	int expire_at = 0;
	for (int j = from; j < c->argc; j++) {
		struct arg *o = &c->argv[j];
		bool next = j + 1 < c->argc;
		int f = *flags;
		if (is_set && arg_eq(o, "nx") && !(f & SET_XX)) {
			*flags |= SET_NX;
		} else if (is_set && arg_eq(o, "xx") && !(f & SET_NX)) {
			*flags |= SET_XX;
		} else if (is_set && arg_eq(o, "get")) {
			*flags |= SET_GET;
		} else if (is_set && arg_eq(o, "keepttl") &&
			   !(f & (SET_ANY_EXPIRE | SET_PERSIST))) {
			*flags |= SET_KEEPTTL;
		} else if (!is_set && arg_eq(o, "persist") &&
			   !(f & (SET_ANY_EXPIRE | SET_KEEPTTL))) {
			*flags |= SET_PERSIST;
		} else if (next && !(f & (SET_KEEPTTL | SET_PERSIST))) {
			int which = arg_eq(o, "ex")     ? SET_EX
				    : arg_eq(o, "px")   ? SET_PX
				    : arg_eq(o, "exat") ? SET_EXAT
				    : arg_eq(o, "pxat") ? SET_PXAT
							: 0;
			if (!which || (f & SET_ANY_EXPIRE & ~which)) {
				reply_syntax(c);
				return false;
			}
			*flags |= which;
			expire_at = ++j;
		} else {
			reply_syntax(c);
			return false;
		}
	}
	if (expire_at && !expire_ms(c, &c->argv[expire_at], *flags & SET_ANY_EXPIRE, cmd, when))
		return false;
	return true;
}

/* Reply with a string key's value (or nil): false after WRONGTYPE. */
static bool reply_get(struct kvd_client *c, const struct arg *key)
{
	struct obj *o = db_lookup_read(c, key);
	if (!o) {
		reply_null(c);
		return true;
	}
	if (o->type != T_STRING) {
		reply_wrongtype(c);
		return false;
	}
	struct sobj *s = (struct sobj *)o;
	reply_bulk(c, s->data, s->len);
	return true;
}

static void set_generic(struct kvd_client *c, int flags, struct arg *key, struct arg *val,
			long long when, bool has_expire, const char *ok_reply, bool ok_is_int)
{
	struct kvd *kv = c->kv;
	if (flags & SET_GET) {
		if (!reply_get(c, key))
			return;
	}
	bool found = db_lookup_write(c, key) != NULL;
	if (((flags & SET_NX) && found) || ((flags & SET_XX) && !found)) {
		if (!(flags & SET_GET)) {
			if (ok_is_int)
				reply_ll(c, 0);
			else
				reply_null(c);
		}
		return;
	}
	db_set(kv, c->db, key, &str_new(kv, val->p, val->n)->h, flags & SET_KEEPTTL);
	kv->dirty++;
	if (has_expire) {
		db_set_expire(kv, c->db, key->p, key->n, when);
		char ms[KVD_LONG_STR];
		int n = ll2str(ms, when);
		propagate_as(c, 5, "SET", (size_t)3, key->p, key->n, val->p, val->n, "PXAT",
			     (size_t)4, ms, (size_t)n);
	} else if (flags & SET_GET) {
		if (flags & SET_KEEPTTL)
			propagate_as(c, 4, "SET", (size_t)3, key->p, key->n, val->p, val->n,
				     "KEEPTTL", (size_t)7);
		else
			propagate_as(c, 3, "SET", (size_t)3, key->p, key->n, val->p, val->n);
	}
	if (!(flags & SET_GET)) {
		if (ok_is_int)
			reply_ll(c, 1);
		else
			reply_status(c, ok_reply);
	}
}

static void cmd_set(struct kvd_client *c)
{
	int flags = 0;
	long long when = 0;
	if (!parse_string_opts(c, 3, true, &flags, &when, "set"))
		return;
	if (c->argv[2].n > (size_t)c->kv->cfg.proto_max_bulk_len) {
		reply_error(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
		return;
	}
	set_generic(c, flags, &c->argv[1], &c->argv[2], when, flags & SET_ANY_EXPIRE, "OK", false);
}

static void cmd_setnx(struct kvd_client *c)
{
	set_generic(c, SET_NX, &c->argv[1], &c->argv[2], 0, false, NULL, true);
}

static void setex_generic(struct kvd_client *c, int unit, const char *name)
{
	long long when;
	if (!expire_ms(c, &c->argv[2], unit, name, &when))
		return;
	set_generic(c, 0, &c->argv[1], &c->argv[3], when, true, "OK", false);
}

static void cmd_setex(struct kvd_client *c)
{
	setex_generic(c, SET_EX, "setex");
}

static void cmd_psetex(struct kvd_client *c)
{
	setex_generic(c, SET_PX, "psetex");
}

static void cmd_get(struct kvd_client *c)
{
	reply_get(c, &c->argv[1]);
}

static void cmd_getset(struct kvd_client *c)
{
	if (!reply_get(c, &c->argv[1]))
		return;
	db_set(c->kv, c->db, &c->argv[1], &str_new(c->kv, c->argv[2].p, c->argv[2].n)->h, false);
	c->kv->dirty++;
	propagate_as(c, 3, "SET", (size_t)3, c->argv[1].p, c->argv[1].n, c->argv[2].p,
		     c->argv[2].n);
}

static void cmd_getdel(struct kvd_client *c)
{
	struct obj *o = db_lookup_read(c, &c->argv[1]);
	if (!keyspace_check_type(c, o, T_STRING))
		return;
	if (!o) {
		reply_null(c);
		return;
	}
	struct sobj *s = (struct sobj *)o;
	reply_bulk(c, s->data, s->len);
	db_delete(c->kv, c->db, c->argv[1].p, c->argv[1].n);
	c->kv->dirty++;
	propagate_as(c, 2, "DEL", (size_t)3, c->argv[1].p, c->argv[1].n);
}

static void cmd_getex(struct kvd_client *c)
{
	int flags = 0;
	long long when = 0;
	if (!parse_string_opts(c, 2, false, &flags, &when, "getex"))
		return;
	struct arg *key = &c->argv[1];
	struct obj *o = db_lookup_read(c, key);
	if (!keyspace_check_type(c, o, T_STRING))
		return;
	if (!o) {
		reply_null(c);
		return;
	}
	struct sobj *s = (struct sobj *)o;
	reply_bulk(c, s->data, s->len);
	struct kvd *kv = c->kv;
	if ((flags & SET_ANY_EXPIRE) && when <= (long long)kv->now_ms) {
		db_delete(kv, c->db, key->p, key->n);
		kv->dirty++;
		propagate_as(c, 2, "DEL", (size_t)3, key->p, key->n);
	} else if (flags & SET_ANY_EXPIRE) {
		db_set_expire(kv, c->db, key->p, key->n, when);
		kv->dirty++;
		char ms[KVD_LONG_STR];
		int n = ll2str(ms, when);
		propagate_as(c, 3, "PEXPIREAT", (size_t)9, key->p, key->n, ms, (size_t)n);
	} else if ((flags & SET_PERSIST) && db_remove_expire(kv, c->db, key->p, key->n)) {
		kv->dirty++;
		propagate_as(c, 2, "PERSIST", (size_t)7, key->p, key->n);
	}
}

static void cmd_mget(struct kvd_client *c)
{
	reply_array(c, c->argc - 1);
	for (int i = 1; i < c->argc; i++) {
		struct obj *o = db_lookup_read(c, &c->argv[i]);
		if (!o || o->type != T_STRING) {
			reply_null(c);
		} else {
			struct sobj *s = (struct sobj *)o;
			reply_bulk(c, s->data, s->len);
		}
	}
}

static void mset_generic(struct kvd_client *c, bool nx)
{
	if (c->argc % 2 == 0) {
		reply_arity(c, nx ? "msetnx" : "mset");
		return;
	}
	if (nx) {
		for (int i = 1; i < c->argc; i += 2)
			if (db_lookup_write(c, &c->argv[i])) {
				reply_ll(c, 0);
				return;
			}
	}
	for (int i = 1; i < c->argc; i += 2) {
		db_set(c->kv, c->db, &c->argv[i],
		       &str_new(c->kv, c->argv[i + 1].p, c->argv[i + 1].n)->h, false);
		c->kv->dirty++;
	}
	if (nx)
		reply_ll(c, 1);
	else
		reply_ok(c);
}

static void cmd_mset(struct kvd_client *c)
{
	mset_generic(c, false);
}

static void cmd_msetnx(struct kvd_client *c)
{
	mset_generic(c, true);
}

static void incr_generic(struct kvd_client *c, long long by)
{
	struct kvd *kv = c->kv;
	struct arg *key = &c->argv[1];
	struct dent *e = db_find(kv, c->db, key->p, key->n);
	long long v = 0;
	if (e) {
		struct obj *o = e->v.p;
		if (o->type != T_STRING) {
			reply_wrongtype(c);
			return;
		}
		struct sobj *s = (struct sobj *)o;
		if (!str2ll(s->data, s->len, &v)) {
			reply_notint(c);
			return;
		}
	}
	if ((by < 0 && v < 0 && by < INT64_MIN - v) || (by > 0 && v > 0 && by > INT64_MAX - v)) {
		reply_error(c, "ERR increment or decrement would overflow");
		return;
	}
	v += by;
	struct sobj *n = str_from_ll(kv, v);
	if (e)
		db_replace(kv, e, &n->h);
	else
		db_add(kv, c->db, key, &n->h);
	kv->dirty++;
	reply_ll(c, v);
}

static void cmd_incr(struct kvd_client *c)
{
	incr_generic(c, 1);
}

static void cmd_decr(struct kvd_client *c)
{
	incr_generic(c, -1);
}

static void cmd_incrby(struct kvd_client *c)
{
	long long by;
	if (arg_ll(c, &c->argv[2], &by))
		incr_generic(c, by);
}

static void cmd_decrby(struct kvd_client *c)
{
	long long by;
	if (!arg_ll(c, &c->argv[2], &by))
		return;
	if (by == INT64_MIN) {
		reply_error(c, "ERR decrement would overflow");
		return;
	}
	incr_generic(c, -by);
}

static void cmd_incrbyfloat(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	struct arg *key = &c->argv[1];
	struct dent *e = db_find(kv, c->db, key->p, key->n);
	long double v = 0, by;
	if (e) {
		struct obj *o = e->v.p;
		if (o->type != T_STRING) {
			reply_wrongtype(c);
			return;
		}
		struct sobj *s = (struct sobj *)o;
		if (!str2ld(s->data, s->len, &v)) {
			reply_notfloat(c);
			return;
		}
	}
	if (!arg_ld(c, &c->argv[2], &by))
		return;
	v += by;
	if (v != v || v - v != 0) { /* NaN or infinite */
		reply_error(c, "ERR increment would produce NaN or Infinity");
		return;
	}
	char buf[KVD_DOUBLE_STR];
	int n = ld2str_human(buf, sizeof(buf), v);
	struct sobj *s = str_new(kv, buf, (size_t)n);
	if (e)
		db_replace(kv, e, &s->h);
	else
		db_add(kv, c->db, key, &s->h);
	kv->dirty++;
	reply_bulk(c, buf, (size_t)n);
	propagate_as(c, 4, "SET", (size_t)3, key->p, key->n, buf, (size_t)n, "KEEPTTL", (size_t)7);
}

/* Would a string of base + add bytes (each >= 0) be too long? Checked
 * without overflow (SETRANGE's offset may be near 2^63), and never past the
 * 32-bit length a kvd string has, whatever proto-max-bulk-len says. */
static bool check_string_size(struct kvd_client *c, long long base, long long add)
{
	long long max = c->kv->cfg.proto_max_bulk_len;
	if (max > 0xfffffff0LL)
		max = 0xfffffff0LL;
	if (base > max || add > max - base) {
		reply_error(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
		return false;
	}
	return true;
}

static void cmd_append(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	struct arg *key = &c->argv[1], *val = &c->argv[2];
	struct dent *e = db_find(kv, c->db, key->p, key->n);
	if (!e) {
		db_add(kv, c->db, key, &str_new(kv, val->p, val->n)->h);
		kv->dirty++;
		reply_ll(c, (long long)val->n);
		return;
	}
	struct obj *o = e->v.p;
	if (o->type != T_STRING) {
		reply_wrongtype(c);
		return;
	}
	struct sobj *s = (struct sobj *)o;
	if (!check_string_size(c, (long long)s->len, (long long)val->n))
		return;
	s = str_grow(kv, s, s->len + val->n);
	memcpy(s->data + s->len, val->p, val->n);
	s->len += (uint32_t)val->n;
	s->data[s->len] = '\0';
	e->v.p = s;
	kv->dirty++;
	reply_ll(c, s->len);
}

static void cmd_strlen(struct kvd_client *c)
{
	struct obj *o = db_lookup_read(c, &c->argv[1]);
	if (!keyspace_check_type(c, o, T_STRING))
		return;
	reply_ll(c, o ? ((struct sobj *)o)->len : 0);
}

static void cmd_getrange(struct kvd_client *c)
{
	long long start, end;
	if (!arg_ll(c, &c->argv[2], &start) || !arg_ll(c, &c->argv[3], &end))
		return;
	struct obj *o = db_lookup_read(c, &c->argv[1]);
	if (!keyspace_check_type(c, o, T_STRING))
		return;
	if (!o) {
		reply_bulk(c, "", 0);
		return;
	}
	struct sobj *s = (struct sobj *)o;
	long long len = s->len;
	if (start < 0 && end < 0 && start > end) {
		reply_bulk(c, "", 0);
		return;
	}
	if (start < 0)
		start += len;
	if (end < 0)
		end += len;
	if (start < 0)
		start = 0;
	if (end < 0)
		end = 0;
	if (end >= len)
		end = len - 1;
	if (start > end || len == 0) {
		reply_bulk(c, "", 0);
		return;
	}
	reply_bulk(c, s->data + start, (size_t)(end - start + 1));
}

static void cmd_setrange(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	long long off;
	if (!arg_ll(c, &c->argv[2], &off))
		return;
	if (off < 0) {
		reply_error(c, "ERR offset is out of range");
		return;
	}
	struct arg *key = &c->argv[1], *val = &c->argv[3];
	struct dent *e = db_find(kv, c->db, key->p, key->n);
	if (e && ((struct obj *)e->v.p)->type != T_STRING) {
		reply_wrongtype(c);
		return;
	}
	if (!e && val->n == 0) {
		reply_ll(c, 0);
		return;
	}
	if (val->n && !check_string_size(c, off, (long long)val->n))
		return;
	if (!e) {
		db_add(kv, c->db, key, &str_new(kv, "", 0)->h);
		e = db_find(kv, c->db, key->p, key->n);
	}
	struct sobj *s = e->v.p;
	if (val->n == 0) {
		reply_ll(c, s->len);
		return;
	}
	size_t need = (size_t)off + val->n;
	if (need > s->len) {
		s = str_grow(kv, s, need);
		memset(s->data + s->len, 0, need - s->len);
		s->len = (uint32_t)need;
		s->data[need] = '\0';
		e->v.p = s;
	}
	memcpy(s->data + off, val->p, val->n);
	s->h.pad[0] = 1;
	kv->dirty++;
	reply_ll(c, s->len);
}

struct cmd cmds_string[] = {
	{ "get", cmd_get, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "string", 0, 0 },
	{ "set", cmd_set, -3, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "string", 0, 0 },
	{ "setnx", cmd_setnx, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "string", 0, 0 },
	{ "setex", cmd_setex, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "string", 0, 0 },
	{ "psetex", cmd_psetex, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "string", 0, 0 },
	{ "getset", cmd_getset, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "string", 0, 0 },
	{ "getdel", cmd_getdel, 2, CMD_WRITE | CMD_FAST, 1, 1, 1, "string", 0, 0 },
	{ "getex", cmd_getex, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "string", 0, 0 },
	{ "mget", cmd_mget, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, "string", 0, 0 },
	{ "mset", cmd_mset, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 2, "string", 0, 0 },
	{ "msetnx", cmd_msetnx, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 2, "string", 0, 0 },
	{ "incr", cmd_incr, 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "string", 0, 0 },
	{ "decr", cmd_decr, 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "string", 0, 0 },
	{ "incrby", cmd_incrby, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "string", 0, 0 },
	{ "decrby", cmd_decrby, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "string", 0, 0 },
	{ "incrbyfloat", cmd_incrbyfloat, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "string",
	  0, 0 },
	{ "append", cmd_append, 3, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "string", 0, 0 },
	{ "strlen", cmd_strlen, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "string", 0, 0 },
	{ "getrange", cmd_getrange, 4, CMD_READONLY, 1, 1, 1, "string", 0, 0 },
	{ "substr", cmd_getrange, 4, CMD_READONLY, 1, 1, 1, "string", 0, 0 },
	{ "setrange", cmd_setrange, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "string", 0, 0 },
	{ NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, 0 },
};
