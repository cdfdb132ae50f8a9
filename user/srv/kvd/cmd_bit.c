/*
 * Bit commands on string values: SETBIT GETBIT BITCOUNT BITPOS BITOP, with
 * Redis 7.0's semantics (bit 0 is the most significant bit of byte 0;
 * BITCOUNT and BITPOS take a BYTE or BIT range with negative indexes from
 * the end; a missing key is an empty string, i.e. an endless run of zeros).
 *
 * Hostile input: a bit offset is refused ("bit offset is not an integer or
 * out of range") when it is negative or its byte lies at or beyond
 * proto-max-bulk-len (512 MiB: offsets of 2^32 bits and more), and never
 * past what a kvd string can hold (its length is 32 bits), so SETBIT cannot
 * ask for more than one string's worth of memory. BITOP's result is no
 * longer than its longest source.
 */
#include <user/srv/kvd/engine.h>

#define BIT_OFFSET_ERR "ERR bit offset is not an integer or out of range"
#define STRING_MAX 0xfffffff0ull /* sobj lengths are 32 bits */

static bool parse_bit_offset(struct kvd_client *c, const struct arg *a, uint64_t *off)
{
	long long v;
	unsigned long long max_bytes = (unsigned long long)c->kv->cfg.proto_max_bulk_len;
	if (max_bytes > STRING_MAX)
		max_bytes = STRING_MAX;
	if (!str2ll(a->p, a->n, &v) || v < 0 || (unsigned long long)(v >> 3) >= max_bytes) {
		reply_error(c, BIT_OFFSET_ERR);
		return false;
	}
	*off = (uint64_t)v;
	return true;
}

/* Set bits in a byte range, 64 at a time where it can. */
static long long popcount(const unsigned char *p, size_t n)
{
	long long count = 0;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		v = v - ((v >> 1) & 0x5555555555555555ULL);
		v = (v & 0x3333333333333333ULL) + ((v >> 2) & 0x3333333333333333ULL);
		v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
		count += (long long)((v * 0x0101010101010101ULL) >> 56);
	}
	for (; i < n; i++)
		for (unsigned b = p[i]; b; b &= b - 1)
			count++;
	return count;
}

static struct sobj *string_lookup(struct kvd_client *c, const struct arg *key, bool *wrong)
{
	return (struct sobj *)lookup_typed(c, key, T_STRING, wrong);
}

static void cmd_setbit(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	uint64_t off;
	if (!parse_bit_offset(c, &c->argv[2], &off))
		return;
	long long on;
	if (!str2ll(c->argv[3].p, c->argv[3].n, &on) || (on & ~1LL)) {
		reply_error(c, "ERR bit is not an integer or out of range");
		return;
	}
	struct arg *key = &c->argv[1];
	struct dent *e = db_find(kv, c->db, key->p, key->n);
	if (e && ((struct obj *)e->v.p)->type != T_STRING) {
		reply_wrongtype(c);
		return;
	}
	if (!e) {
		db_add(kv, c->db, key, &str_new(kv, "", 0)->h);
		e = db_find(kv, c->db, key->p, key->n);
	}
	struct sobj *s = e->v.p;
	size_t byte = (size_t)(off >> 3);
	if (byte >= s->len) {
		s = str_grow(kv, s, byte + 1);
		memset(s->data + s->len, 0, byte + 1 - s->len);
		s->len = (uint32_t)(byte + 1);
		s->data[s->len] = '\0';
		e->v.p = s;
	}
	unsigned mask = 1u << (7 - (off & 7));
	unsigned char *p = (unsigned char *)s->data + byte;
	int old = (*p & mask) != 0;
	*p = (unsigned char)(on ? (*p | mask) : (*p & ~mask));
	s->h.pad[0] = 1; /* Redis keeps a bitmap "raw" */
	kv->dirty++;
	reply_ll(c, old);
}

static void cmd_getbit(struct kvd_client *c)
{
	uint64_t off;
	if (!parse_bit_offset(c, &c->argv[2], &off))
		return;
	bool wrong;
	struct sobj *s = string_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	size_t byte = (size_t)(off >> 3);
	if (!s || byte >= s->len) {
		reply_ll(c, 0);
		return;
	}
	reply_ll(c, (((unsigned char)s->data[byte]) >> (7 - (off & 7))) & 1);
}

/*
 * The range of BITCOUNT and BITPOS: [start, end] in bytes or bits (negative
 * from the end), clamped to the string. Out: the byte range and masks of the
 * bits of the first and last byte that are outside a BIT range. False: an
 * empty range.
 */
struct bit_range {
	long long start, end; /* bytes */
	unsigned char head_out, tail_out;
};

static bool clamp_bits(long long len, long long start, long long end, bool bits,
		       struct bit_range *r)
{
	long long total = bits ? len * 8 : len;
	if (start < 0)
		start += total;
	if (end < 0)
		end += total;
	if (start < 0)
		start = 0;
	if (end < 0)
		end = 0;
	if (end >= total)
		end = total - 1;
	r->head_out = r->tail_out = 0;
	if (start > end)
		return false;
	if (bits) {
		r->head_out = (unsigned char)(0xff00u >> (start & 7));  /* bits before start */
		r->tail_out = (unsigned char)((1u << (7 - (end & 7))) - 1); /* bits after end */
		start >>= 3;
		end >>= 3;
	}
	r->start = start;
	r->end = end;
	return true;
}

static bool parse_unit(struct kvd_client *c, const struct arg *a, bool *bits)
{
	if (arg_eq(a, "bit"))
		*bits = true;
	else if (arg_eq(a, "byte"))
		*bits = false;
	else {
		reply_syntax(c);
		return false;
	}
	return true;
}

static void cmd_bitcount(struct kvd_client *c)
{
	long long start = 0, end = -1;
	bool bits = false;
	/* Redis's order: a missing key is 0 whatever the rest says */
	bool wrong;
	struct sobj *s = string_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	if (!s) {
		reply_ll(c, 0);
		return;
	}
	if (c->argc == 4 || c->argc == 5) {
		if (!arg_ll(c, &c->argv[2], &start) || !arg_ll(c, &c->argv[3], &end))
			return;
		if (c->argc == 5 && !parse_unit(c, &c->argv[4], &bits))
			return;
	} else if (c->argc != 2) {
		reply_syntax(c);
		return;
	}
	if (start < 0 && end < 0 && start > end) {
		reply_ll(c, 0);
		return;
	}
	struct bit_range r;
	if (!clamp_bits(s->len, start, end, bits, &r)) {
		reply_ll(c, 0);
		return;
	}
	const unsigned char *p = (const unsigned char *)s->data;
	long long n = popcount(p + r.start, (size_t)(r.end - r.start + 1));
	unsigned char edges[2] = { (unsigned char)(p[r.start] & r.head_out),
				   (unsigned char)(p[r.end] & r.tail_out) };
	reply_ll(c, n - popcount(edges, 2));
}

/* First bit equal to `bit` in p[0..n) with the outside bits of the first and
 * last byte forced to the opposite; -1 if none. */
static long long find_bit(const unsigned char *p, size_t n, int bit, unsigned char head_out,
			  unsigned char tail_out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char b = p[i];
		if (i == 0)
			b = bit ? (unsigned char)(b & ~head_out) : (unsigned char)(b | head_out);
		if (i == n - 1)
			b = bit ? (unsigned char)(b & ~tail_out) : (unsigned char)(b | tail_out);
		if (!bit)
			b = (unsigned char)~b;
		if (!b)
			continue;
		int k = 0;
		while (!(b & (0x80 >> k)))
			k++;
		return (long long)i * 8 + k;
	}
	return -1;
}

static void cmd_bitpos(struct kvd_client *c)
{
	long long bit;
	if (!arg_ll(c, &c->argv[2], &bit))
		return;
	if (bit != 0 && bit != 1) {
		reply_error(c, "ERR The bit argument must be 1 or 0.");
		return;
	}
	bool wrong;
	struct sobj *s = string_lookup(c, &c->argv[1], &wrong);
	if (wrong)
		return;
	if (!s) {
		reply_ll(c, bit ? -1 : 0);
		return;
	}
	if (c->argc > 6) {
		reply_syntax(c);
		return;
	}
	long long start = 0, end = -1;
	bool bits = false, end_given = c->argc >= 5;
	if (c->argc >= 4 && !arg_ll(c, &c->argv[3], &start))
		return;
	if (c->argc == 6 && !parse_unit(c, &c->argv[5], &bits))
		return;
	if (end_given && !arg_ll(c, &c->argv[4], &end))
		return;
	struct bit_range r;
	if (!clamp_bits(s->len, start, end, bits, &r)) {
		reply_ll(c, -1);
		return;
	}
	size_t n = (size_t)(r.end - r.start + 1);
	long long pos = find_bit((const unsigned char *)s->data + r.start, n, (int)bit, r.head_out,
				 r.tail_out);
	if (pos < 0 && bit == 0 && !end_given) {
		/* no end given: the string goes on with zeros after it */
		pos = (long long)n * 8;
	}
	reply_ll(c, pos < 0 ? -1 : pos + r.start * 8);
}

enum { OP_AND, OP_OR, OP_XOR, OP_NOT };

static void cmd_bitop(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	int op;
	if (arg_eq(&c->argv[1], "and"))
		op = OP_AND;
	else if (arg_eq(&c->argv[1], "or"))
		op = OP_OR;
	else if (arg_eq(&c->argv[1], "xor"))
		op = OP_XOR;
	else if (arg_eq(&c->argv[1], "not"))
		op = OP_NOT;
	else {
		reply_syntax(c);
		return;
	}
	if (op == OP_NOT && c->argc != 4) {
		reply_error(c, "ERR BITOP NOT must be called with a single source key.");
		return;
	}
	int nsrc = c->argc - 3;
	size_t maxlen = 0;
	/* every source is checked before anything is made */
	for (int i = 0; i < nsrc; i++) {
		struct obj *o = db_lookup_read(c, &c->argv[3 + i]);
		if (o && !keyspace_check_type(c, o, T_STRING))
			return;
		if (o && ((struct sobj *)o)->len > maxlen)
			maxlen = ((struct sobj *)o)->len;
	}
	struct arg *dst = &c->argv[2];
	if (maxlen == 0) {
		if (db_delete(kv, c->db, dst->p, dst->n))
			kv->dirty++;
		reply_ll(c, 0);
		return;
	}
	struct sobj *res = str_new(kv, NULL, 0);
	res = str_grow(kv, res, maxlen);
	memset(res->data, 0, maxlen + 1);
	res->len = (uint32_t)maxlen;
	unsigned char *out = (unsigned char *)res->data;
	for (int i = 0; i < nsrc; i++) {
		struct sobj *s =
			(struct sobj *)db_get(kv, c->db, c->argv[3 + i].p, c->argv[3 + i].n);
		const unsigned char *p = s ? (const unsigned char *)s->data : NULL;
		size_t len = s ? s->len : 0;
		for (size_t j = 0; j < maxlen; j++) {
			unsigned char b = j < len ? p[j] : 0; /* short sources pad with zeros */
			if (i == 0)
				out[j] = op == OP_NOT ? (unsigned char)~b : b;
			else if (op == OP_AND)
				out[j] &= b;
			else if (op == OP_OR)
				out[j] |= b;
			else
				out[j] ^= b;
		}
	}
	db_set(kv, c->db, dst, &res->h, false);
	kv->dirty++;
	reply_ll(c, (long long)maxlen);
}

struct cmd cmds_bit[] = {
	{ "setbit", cmd_setbit, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "bitmap", 0, 0 },
	{ "getbit", cmd_getbit, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "bitmap", 0, 0 },
	{ "bitcount", cmd_bitcount, -2, CMD_READONLY, 1, 1, 1, "bitmap", 0, 0 },
	{ "bitpos", cmd_bitpos, -3, CMD_READONLY, 1, 1, 1, "bitmap", 0, 0 },
	{ "bitop", cmd_bitop, -4, CMD_WRITE | CMD_DENYOOM, 2, -1, 1, "bitmap", 0, 0 },
	{ NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, 0 },
};
