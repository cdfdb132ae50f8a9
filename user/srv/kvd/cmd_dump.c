/*
 * Whole values: COPY (to another key, DB n, REPLACE), DUMP and RESTORE
 * (REPLACE ABSTTL IDLETIME FREQ), with Redis 7.0's replies and errors.
 *
 * DUMP's payload is kvd's own format, not Redis's RDB (so it cannot move a
 * key between kvd and redis-server), and it is all little-endian:
 *
 *   type (1 byte: T_STRING..T_ZSET)
 *   body: string  varint len, bytes
 *         list    varint count, then count x (varint len, bytes)
 *         set     varint count, then count x member
 *         hash    varint count, then count x (field, value)
 *         zset    varint count, then count x (member, 8-byte IEEE score)
 *   version (2 bytes, DUMP_VERSION)
 *   CRC-64/ECMA-182 of everything before it (8 bytes)
 *
 * Varints are LEB128 (7 bits a byte, low first, at most 10 bytes).
 *
 * Hostile input: RESTORE checks the version and the checksum first
 * ("DUMP payload version or checksum are wrong"), then decodes with every
 * length checked against the bytes left; a count can never make it
 * allocate more than the payload's size in elements, a NaN score, a
 * duplicate member or field, trailing bytes or an unknown type is "Bad data
 * format", and a half-built value is freed, never stored.
 */
#include <user/srv/kvd/engine.h>

#define DUMP_VERSION 0x4b01 /* 'K', format 1 */
#define DUMP_TRAILER 10	    /* version and checksum */

/* --- CRC-64 (ECMA-182 polynomial, reflected, as xz's CRC64) ----------------- */
static uint64_t crc_table[256];
static bool crc_ready;

static uint64_t crc64(const unsigned char *p, size_t n)
{
	if (!crc_ready) {
		for (unsigned i = 0; i < 256; i++) {
			uint64_t r = i;
			for (int k = 0; k < 8; k++)
				r = (r >> 1) ^ (0xc96c5795d7870f42ULL & (0 - (r & 1)));
			crc_table[i] = r;
		}
		crc_ready = true;
	}
	uint64_t crc = ~0ULL;
	for (size_t i = 0; i < n; i++)
		crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* --- encoding ------------------------------------------------------------------ */
static void put_varint(struct kvd *kv, struct buf *b, uint64_t v)
{
	unsigned char tmp[10];
	int n = 0;
	do {
		tmp[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	buf_put(kv, b, tmp, (size_t)n);
}

static void put_str(struct kvd *kv, struct buf *b, const char *p, size_t n)
{
	put_varint(kv, b, n);
	buf_put(kv, b, p, n);
}

static void put_le(struct kvd *kv, struct buf *b, uint64_t v, int bytes)
{
	unsigned char tmp[8];
	for (int i = 0; i < bytes; i++)
		tmp[i] = (unsigned char)(v >> (8 * i));
	buf_put(kv, b, tmp, (size_t)bytes);
}

static void dump_value(struct kvd *kv, struct buf *b, struct obj *o)
{
	buf_put(kv, b, &o->type, 1);
	if (o->type == T_STRING) {
		struct sobj *s = (struct sobj *)o;
		put_str(kv, b, s->data, s->len);
		return;
	}
	put_varint(kv, b, obj_len(o));
	if (o->type == T_LIST) {
		for (struct lnode *x = ((struct lobj *)o)->head; x; x = x->next)
			put_str(kv, b, x->data, x->len);
		return;
	}
	struct dict_iter it;
	dict_iter_start(&it, &((struct hobj *)o)->d); /* hobj, setobj, zobj: d first */
	for (struct dent *e; (e = dict_iter_next(&it));) {
		put_str(kv, b, e->key, e->klen);
		if (o->type == T_HASH) {
			struct bstr *v = e->v.p;
			put_str(kv, b, v->data, v->len);
		} else if (o->type == T_ZSET) {
			double d = ((struct zsl_node *)e->v.p)->score;
			uint64_t bits;
			memcpy(&bits, &d, 8);
			put_le(kv, b, bits, 8);
		}
	}
	dict_iter_end(&it);
}

/* --- decoding ------------------------------------------------------------------ */
struct reader {
	const unsigned char *p;
	size_t left;
};

static bool get_varint(struct reader *r, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 70; shift += 7) {
		if (!r->left)
			return false;
		unsigned char byte = *r->p++;
		r->left--;
		if (shift == 63 && byte > 1)
			return false;
		*v |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			return true;
	}
	return false;
}

static bool get_str(struct reader *r, const char **p, size_t *n)
{
	uint64_t len;
	if (!get_varint(r, &len) || len > r->left || len > 0xffffffffULL)
		return false;
	*p = (const char *)r->p;
	*n = (size_t)len;
	r->p += len;
	r->left -= len;
	return true;
}

static void mark_big(struct kvd *kv, struct obj *o, size_t n)
{
	/* OBJECT ENCODING as Redis would convert on RESTORE */
	if (o->type == T_HASH && (obj_len(o) > (size_t)kv->cfg.hash_max_listpack_entries ||
				  n > (size_t)kv->cfg.hash_max_listpack_value))
		o->pad[0] = 1;
	if (o->type == T_ZSET && (obj_len(o) > (size_t)kv->cfg.zset_max_listpack_entries ||
				  n > (size_t)kv->cfg.zset_max_listpack_value))
		o->pad[0] = 1;
	if (o->type == T_SET && obj_len(o) > (size_t)kv->cfg.set_max_intset_entries)
		o->pad[0] = 1;
}

/* The value in a payload whose checksum was verified; NULL: bad format. */
static struct obj *load_value(struct kvd *kv, struct reader *r)
{
	if (!r->left)
		return NULL;
	int type = *r->p++;
	r->left--;
	const char *p;
	size_t n;
	if (type == T_STRING) {
		if (!get_str(r, &p, &n))
			return NULL;
		return &str_new(kv, p, n)->h;
	}
	if (type > T_ZSET)
		return NULL;
	uint64_t count;
	if (!get_varint(r, &count) || count > r->left) /* every element takes a byte */
		return NULL;
	struct obj *o = obj_new(kv, type);
	for (uint64_t i = 0; i < count; i++) {
		if (!get_str(r, &p, &n))
			goto bad;
		if (type == T_LIST) {
			list_push(kv, (struct lobj *)o, p, n, false);
			continue;
		}
		struct dict *d = &((struct hobj *)o)->d;
		if (dict_find(kv, d, p, n))
			goto bad; /* a duplicate */
		if (type == T_SET) {
			long long ignored;
			dict_add(kv, d, p, n);
			if (!str2ll(p, n, &ignored))
				o->pad[0] = 1;
		} else if (type == T_HASH) {
			const char *v;
			size_t vn;
			if (!get_str(r, &v, &vn))
				goto bad;
			dict_add(kv, d, p, n)->v.p = bstr_new(kv, v, vn);
			mark_big(kv, o, vn > n ? vn : n);
		} else {
			if (r->left < 8)
				goto bad;
			uint64_t bits = 0;
			for (int k = 0; k < 8; k++)
				bits |= (uint64_t)r->p[k] << (8 * k);
			r->p += 8;
			r->left -= 8;
			double score;
			memcpy(&score, &bits, 8);
			if (score != score)
				goto bad;
			zset_add(kv, (struct zobj *)o, p, n, score);
		}
		mark_big(kv, o, n);
	}
	if (count == 0)
		goto bad; /* Redis never stores an empty container */
	return o;
bad:
	obj_free(kv, o);
	return NULL;
}

/* --- COPY ------------------------------------------------------------------------- */
static struct obj *obj_dup(struct kvd *kv, struct obj *o)
{
	struct buf b = { 0 };
	dump_value(kv, &b, o);
	struct reader r = { (const unsigned char *)b.b, b.len };
	struct obj *copy = load_value(kv, &r);
	buf_free(kv, &b);
	if (copy)
		copy->pad[0] = o->pad[0];
	return copy;
}

static void cmd_copy(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	struct db *dst = c->db;
	bool replace = false;
	for (int i = 3; i < c->argc; i++) {
		if (arg_eq(&c->argv[i], "replace")) {
			replace = true;
		} else if (arg_eq(&c->argv[i], "db") && i + 1 < c->argc) {
			long long id;
			if (!arg_ll_range(c, &c->argv[++i], INT32_MIN, INT32_MAX, &id, NULL))
				return;
			if (id < 0 || id >= KVD_DBS) {
				reply_error(c, "ERR DB index is out of range");
				return;
			}
			dst = &kv->dbs[id];
		} else {
			reply_syntax(c);
			return;
		}
	}
	struct arg *key = &c->argv[1], *newkey = &c->argv[2];
	if (dst == c->db && key->n == newkey->n && !memcmp(key->p, newkey->p, key->n)) {
		reply_error(c, "ERR source and destination objects are the same");
		return;
	}
	struct obj *o = db_lookup_read(c, key);
	if (!o) {
		reply_ll(c, 0);
		return;
	}
	long long when = db_get_expire(kv, c->db, key->p, key->n);
	if (db_find(kv, dst, newkey->p, newkey->n)) {
		if (!replace) {
			reply_ll(c, 0);
			return;
		}
		db_delete(kv, dst, newkey->p, newkey->n);
	}
	struct obj *copy = obj_dup(kv, o);
	if (!copy) { /* cannot happen: our own encoding */
		reply_error(c, "ERR unknown type object");
		return;
	}
	db_add(kv, dst, newkey, copy);
	if (when >= 0)
		db_set_expire(kv, dst, newkey->p, newkey->n, when);
	/* call() touches keys in the client's db; the copy may be elsewhere */
	touch_watched(kv, dst, newkey->p, newkey->n);
	signal_list_ready(kv, dst, newkey->p, newkey->n);
	kv->dirty++;
	reply_ll(c, 1);
}

/* --- DUMP and RESTORE --------------------------------------------------------------- */
static void cmd_dump(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	struct obj *o = db_lookup_read(c, &c->argv[1]);
	if (!o) {
		reply_null(c);
		return;
	}
	struct buf b = { 0 };
	dump_value(kv, &b, o);
	put_le(kv, &b, DUMP_VERSION, 2);
	put_le(kv, &b, crc64((const unsigned char *)b.b, b.len), 8);
	reply_bulk(c, b.b, b.len);
	buf_free(kv, &b);
}

static bool payload_ok(const struct arg *a)
{
	if (a->n < 1 + DUMP_TRAILER)
		return false;
	const unsigned char *p = (const unsigned char *)a->p;
	size_t body = a->n - 8;
	uint64_t want = 0;
	for (int k = 0; k < 8; k++)
		want |= (uint64_t)p[body + k] << (8 * k);
	unsigned version = (unsigned)p[body - 2] | (unsigned)p[body - 1] << 8;
	return version == DUMP_VERSION && crc64(p, body) == want;
}

static void cmd_restore(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	bool replace = false, absttl = false;
	long long idle = -1, freq = -1;
	for (int i = 4; i < c->argc; i++) {
		bool more = i + 1 < c->argc;
		if (arg_eq(&c->argv[i], "replace")) {
			replace = true;
		} else if (arg_eq(&c->argv[i], "absttl")) {
			absttl = true;
		} else if (arg_eq(&c->argv[i], "idletime") && more && freq == -1) {
			if (!arg_ll(c, &c->argv[++i], &idle))
				return;
			if (idle < 0) {
				reply_error(c, "ERR Invalid IDLETIME value, must be >= 0");
				return;
			}
		} else if (arg_eq(&c->argv[i], "freq") && more && idle == -1) {
			if (!arg_ll(c, &c->argv[++i], &freq))
				return;
			if (freq < 0 || freq > 255) {
				reply_error(c, "ERR Invalid FREQ value, must be >= 0 and <= 255");
				return;
			}
		} else {
			reply_syntax(c);
			return;
		}
	}
	struct arg *key = &c->argv[1];
	if (!replace && db_lookup_write(c, key)) {
		reply_error(c, "BUSYKEY Target key name already exists.");
		return;
	}
	long long ttl;
	if (!arg_ll(c, &c->argv[2], &ttl))
		return;
	if (ttl < 0) {
		reply_error(c, "ERR Invalid TTL value, must be >= 0");
		return;
	}
	if (!payload_ok(&c->argv[3])) {
		reply_error(c, "ERR DUMP payload version or checksum are wrong");
		return;
	}
	struct reader r = { (const unsigned char *)c->argv[3].p, c->argv[3].n - DUMP_TRAILER };
	struct obj *o = load_value(kv, &r);
	if (o && r.left) {
		obj_free(kv, o);
		o = NULL;
	}
	if (!o) {
		reply_error(c, "ERR Bad data format");
		return;
	}
	bool deleted = replace && db_delete(kv, c->db, key->p, key->n);
	if (ttl && !absttl) {
		if (ttl > INT64_MAX - (long long)kv->now_ms)
			ttl = INT64_MAX;
		else
			ttl += (long long)kv->now_ms;
	}
	if (ttl && ttl <= (long long)kv->now_ms && !kv->loading) {
		obj_free(kv, o); /* already expired: as if restored and expired at once */
		if (deleted) {
			kv->dirty++;
			propagate_as(c, 2, "DEL", (size_t)3, key->p, key->n);
		} else {
			propagate_none(c);
		}
		reply_ok(c);
		return;
	}
	if (idle >= 0)
		o->lru = kv_lru_clock(kv) -
			 (uint32_t)(idle > kv_lru_clock(kv) ? kv_lru_clock(kv) : idle);
	db_add(kv, c->db, key, o);
	kv->dirty++;
	if (ttl) {
		db_set_expire(kv, c->db, key->p, key->n, ttl);
		if (!absttl) {
			/* logged with the absolute time, so a replay gives the same expiry */
			char ms[KVD_LONG_STR];
			int msn = ll2str(ms, ttl);
			propagate_as(c, 6, "RESTORE", (size_t)7, key->p, key->n, ms, (size_t)msn,
				     c->argv[3].p, c->argv[3].n, "REPLACE", (size_t)7, "ABSTTL",
				     (size_t)6);
		}
	}
	reply_ok(c);
}

struct cmd cmds_dump[] = {
	{ "copy", cmd_copy, -3, CMD_WRITE | CMD_DENYOOM, 1, 2, 1, "generic", 0, 0 },
	{ "dump", cmd_dump, 2, CMD_READONLY, 1, 1, 1, "generic", 0, 0 },
	{ "restore", cmd_restore, -4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "generic", 0, 0 },
	{ NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, 0 },
};
