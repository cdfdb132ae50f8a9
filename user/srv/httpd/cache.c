/*
 * The merged file cache and retransmission pool (Cheetah, SOSP'97): whole
 * files kept in memory as immutable objects that responses send from by
 * reference, and that a transport may keep referring to for retransmission
 * instead of copying into a socket buffer - one copy of each file's bytes,
 * shared by every connection sending it.
 *
 * At fill time each object can also get its payload checksums: the 16-bit
 * one's-complement sum of every csum_chunk bytes (the TCP MSS), so a
 * transport that sends the file in MSS-sized segments aligned to the file
 * adds only its header's sum (http_obj_sum answers any other range from
 * the chunk sums and its ragged ends). Sums follow lib/net's csum_add
 * convention: little-endian 16-bit words, end-around carry, folded, not
 * complemented. One's-complement arithmetic has two zeros, so a sum made up
 * from pieces may read 0xffff where a straight pass over all-zero bytes
 * reads 0; both stand for the same value in a checksum.
 *
 * Ownership: the cache owns every object. A hit is held for the caller
 * (o_refs); held objects are never evicted or changed. A file whose size or
 * time no longer matches its object gets a new object, and the old one
 * leaves the table ("stale") and is freed when its last holder lets go.
 * Eviction takes the least recently used unheld objects. Memory comes from
 * the alloc hook; when it or the capacity runs out the caller is told to
 * read the file itself, so a full cache slows the server but never stops it.
 */
#include <user/srv/httpd/core.h>
#include <common/string.h>

#define CACHE_BUCKETS 1024 /* hash chains; a power of two */

struct http_cache {
	const struct http_hooks *hooks;
	struct http_stats *stats;
	uint64_t capacity, file_max, used;
	unsigned chunk;                       /* 0: no checksums */
	struct http_obj *buckets[CACHE_BUCKETS];
	struct http_obj *lru_head, *lru_tail; /* most recently used first */
};

/* Sum of len bytes as little-endian 16-bit words, folded to 16 bits; 32-bit
 * loads into a 64-bit accumulator (the sum is independent of word width). */
static uint16_t sum_bytes(const uint8_t *p, size_t len)
{
	uint64_t acc = 0;
	for (; len >= 4; p += 4, len -= 4) {
		uint32_t w;
		memcpy(&w, p, 4);
		acc += w;
	}
	if (len >= 2) {
		acc += (uint32_t)p[0] | (uint32_t)p[1] << 8;
		p += 2, len -= 2;
	}
	if (len)
		acc += p[0];
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

uint16_t http_csum(const void *data, size_t len)
{
	return sum_bytes(data, len);
}

static uint16_t add16(uint16_t a, uint16_t b)
{
	uint32_t s = (uint32_t)a + b;
	return (uint16_t)((s & 0xffff) + (s >> 16));
}

static uint16_t swap16(uint16_t v)
{
	return (uint16_t)(v << 8 | v >> 8);
}

/* A sum of bytes that start at an odd offset in the sequence, as words of that
 * sequence, is the byte-swapped sum of the bytes themselves (RFC 1071 2(B)). */
static uint16_t at_parity(uint16_t s, uint64_t offset)
{
	return offset & 1 ? swap16(s) : s;
}

/* The sum of [pos, end) within chunk ci, as if pos were even: the precomputed
 * sum less what lies outside the piece, when that is less to read. */
static uint16_t chunk_piece(const struct http_obj *o, uint64_t ci, uint64_t pos, uint64_t end)
{
	uint64_t cs = ci * o->o_chunk, ce = MIN(cs + o->o_chunk, o->o_size);
	if (pos == cs && end == ce)
		return o->o_sums[ci];
	if ((pos - cs) + (ce - end) >= end - pos)
		return sum_bytes(o->o_data + pos, end - pos);
	uint16_t head = sum_bytes(o->o_data + cs, pos - cs);
	uint16_t tail = at_parity(sum_bytes(o->o_data + end, ce - end), end - cs);
	uint16_t piece = add16(o->o_sums[ci], (uint16_t)~add16(head, tail));
	return at_parity(piece, pos - cs);
}

uint16_t http_obj_sum(const struct http_obj *o, uint64_t off, uint64_t len)
{
	if (off > o->o_size || len > o->o_size - off)
		return 0; /* outside the object: a caller's bug, answered harmlessly */
	if (!o->o_sums)
		return sum_bytes(o->o_data + off, len);
	uint16_t acc = 0;
	for (uint64_t pos = off, end = off + len; pos < end;) {
		uint64_t ci = pos / o->o_chunk;
		uint64_t pend = MIN((ci + 1) * o->o_chunk, end);
		acc = add16(acc, at_parity(chunk_piece(o, ci, pos, pend), pos - off));
		pos = pend;
	}
	return acc;
}

struct http_cache *http_cache_new(const struct http_hooks *hooks, uint64_t capacity,
				  uint64_t file_max, unsigned csum_chunk, struct http_stats *stats)
{
	struct http_cache *c = hooks->alloc(hooks->ctx, sizeof(*c));
	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->hooks = hooks;
	c->stats = stats;
	c->capacity = capacity;
	c->file_max = file_max;
	c->chunk = csum_chunk & ~1u; /* even, so every chunk starts on a word */
	return c;
}

static uint64_t footprint(const struct http_obj *o)
{
	uint64_t chunks = o->o_sums ? (o->o_size + o->o_chunk - 1) / o->o_chunk : 0;
	return o->o_size + chunks * sizeof(uint16_t) + sizeof(*o);
}

static void obj_free(struct http_cache *c, struct http_obj *o)
{
	c->used -= footprint(o);
	c->stats->cache_bytes = c->used;
	c->stats->cache_objects--;
	c->hooks->free(c->hooks->ctx, o->o_sums);
	c->hooks->free(c->hooks->ctx, o->o_data);
	c->hooks->free(c->hooks->ctx, o->o_path);
	c->hooks->free(c->hooks->ctx, o);
}

static uint32_t hash_path(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h & (CACHE_BUCKETS - 1);
}

static void lru_unlink(struct http_cache *c, struct http_obj *o)
{
	if (o->o_lru_prev)
		o->o_lru_prev->o_lru_next = o->o_lru_next;
	else
		c->lru_head = o->o_lru_next;
	if (o->o_lru_next)
		o->o_lru_next->o_lru_prev = o->o_lru_prev;
	else
		c->lru_tail = o->o_lru_prev;
	o->o_lru_prev = o->o_lru_next = NULL;
}

static void lru_push(struct http_cache *c, struct http_obj *o)
{
	o->o_lru_prev = NULL;
	o->o_lru_next = c->lru_head;
	if (c->lru_head)
		c->lru_head->o_lru_prev = o;
	else
		c->lru_tail = o;
	c->lru_head = o;
}

/* Out of the table and the LRU list; freed now or by its last release. */
static void obj_retire(struct http_cache *c, struct http_obj *o)
{
	struct http_obj **pp = &c->buckets[hash_path(o->o_path)];
	while (*pp != o)
		pp = &(*pp)->o_next_hash;
	*pp = o->o_next_hash;
	lru_unlink(c, o);
	o->o_stale = true;
	if (o->o_refs == 0)
		obj_free(c, o);
}

void http_obj_hold(struct http_obj *o)
{
	o->o_refs++;
}

void http_obj_release(struct http_obj *o)
{
	if (--o->o_refs == 0 && o->o_stale)
		obj_free(o->o_cache, o);
}

/* Evict unheld objects, oldest first, until need more bytes fit. */
static bool make_room(struct http_cache *c, uint64_t need)
{
	struct http_obj *o = c->lru_tail;
	while (c->used + need > c->capacity && o) {
		struct http_obj *prev = o->o_lru_prev;
		if (o->o_refs == 0) {
			c->stats->cache_evictions++;
			obj_retire(c, o);
		}
		o = prev;
	}
	return c->used + need <= c->capacity;
}

/* A new object holding path's bytes (and sums), or NULL. */
static struct http_obj *fill(struct http_cache *c, const char *path, const struct http_stat *st)
{
	const struct http_hooks *h = c->hooks;
	struct http_obj *o = h->alloc(h->ctx, sizeof(*o));
	if (!o)
		return NULL;
	memset(o, 0, sizeof(*o));
	size_t plen = strlen(path) + 1;
	uint64_t chunks = c->chunk ? (st->hs_size + c->chunk - 1) / c->chunk : 0;
	o->o_path = h->alloc(h->ctx, plen);
	o->o_data = h->alloc(h->ctx, st->hs_size ? st->hs_size : 1);
	o->o_sums = chunks ? h->alloc(h->ctx, chunks * sizeof(uint16_t)) : NULL;
	bool ok = o->o_path && o->o_data && (o->o_sums || !chunks);
	for (uint64_t got = 0; ok && got < st->hs_size;) {
		long n = h->read(h->ctx, path, got, o->o_data + got, st->hs_size - got);
		ok = n > 0; /* a file that shrank under us is not cached */
		got += n > 0 ? (uint64_t)n : 0;
	}
	if (!ok) {
		h->free(h->ctx, o->o_sums);
		h->free(h->ctx, o->o_data);
		h->free(h->ctx, o->o_path);
		h->free(h->ctx, o);
		return NULL;
	}
	memcpy(o->o_path, path, plen);
	o->o_cache = c;
	o->o_size = st->hs_size;
	o->o_mtime = st->hs_mtime;
	o->o_chunk = c->chunk;
	for (uint64_t i = 0; i < chunks; i++) {
		uint64_t at = i * c->chunk;
		o->o_sums[i] = sum_bytes(o->o_data + at, MIN(c->chunk, st->hs_size - at));
	}
	c->stats->csum_bytes += chunks ? st->hs_size : 0;
	return o;
}

static struct http_obj *get(struct http_cache *c, const char *path, const struct http_stat *st,
			    bool count)
{
	uint32_t b = hash_path(path);
	for (struct http_obj *o = c->buckets[b]; o; o = o->o_next_hash) {
		if (strcmp(o->o_path, path) != 0)
			continue;
		if (o->o_size == st->hs_size && o->o_mtime == st->hs_mtime) {
			c->stats->cache_hits += count;
			lru_unlink(c, o);
			lru_push(c, o);
			o->o_refs++;
			return o;
		}
		obj_retire(c, o); /* the file changed */
		break;
	}
	c->stats->cache_misses += count;
	uint64_t chunks = c->chunk ? (st->hs_size + c->chunk - 1) / c->chunk : 0;
	uint64_t need = st->hs_size + chunks * sizeof(uint16_t) + sizeof(struct http_obj);
	if (st->hs_size > c->file_max || !make_room(c, need))
		return NULL;
	struct http_obj *o = fill(c, path, st);
	if (!o)
		return NULL;
	o->o_next_hash = c->buckets[b];
	c->buckets[b] = o;
	lru_push(c, o);
	c->used += footprint(o);
	c->stats->cache_fills++;
	c->stats->cache_objects++;
	c->stats->cache_bytes = c->used;
	o->o_refs = 1;
	return o;
}

struct http_obj *http_cache_get(struct http_cache *c, const char *path, const struct http_stat *st)
{
	return get(c, path, st, true);
}

struct http_obj *http_cache_get_quiet(struct http_cache *c, const char *path,
				      const struct http_stat *st)
{
	return get(c, path, st, false);
}

bool http_cache_holds(struct http_cache *c, const char *path, const struct http_stat *st)
{
	for (struct http_obj *o = c->buckets[hash_path(path)]; o; o = o->o_next_hash)
		if (!strcmp(o->o_path, path))
			return o->o_size == st->hs_size && o->o_mtime == st->hs_mtime;
	return false;
}

/* Every object must be unheld by now. */
void http_cache_free(struct http_cache *c)
{
	while (c->lru_head)
		obj_retire(c, c->lru_head);
	c->hooks->free(c->hooks->ctx, c);
}
