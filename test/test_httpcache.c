/*
 * Host tests of httpd's merged file cache and its precomputed checksums
 * (user/srv/httpd/cache.c): every chunk sum and every range sum is checked
 * against a straightforward one's-complement sum over the bytes, and a whole
 * TCP checksum made the transport's way (header sum folded into the stored
 * payload sum) against one computed over the segment as it would go out.
 * Then the cache's own rules: hits, replacement of a changed file, LRU
 * eviction within the capacity, held objects never evicted, stale objects
 * freed by their last holder, files too large, and a failed fill.
 */
#include "check.h"

#include <stdint.h>

#include "rename.h"

#include <common/fmt.h>
#include <common/string.h>
#include "http_fake.h"

/* RFC 1071 done the obvious way, one 16-bit little-endian word at a time,
 * as lib/net's csum_add reads them. */
static uint16_t naive_sum(const uint8_t *p, size_t len)
{
	uint64_t s = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] | (uint32_t)p[i + 1] << 8;
	if (len & 1)
		s += p[len - 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* One's complement has two zeros: compare as values. */
static bool same_sum(uint16_t a, uint16_t b)
{
	return a % 0xffff == b % 0xffff;
}

static uint8_t data[300000];
static struct http_stats stats;

static void random_data(unsigned seed)
{
	srand(seed);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)rand();
}

static struct http_cache *new_cache(uint64_t capacity, unsigned chunk)
{
	memset(&stats, 0, sizeof(stats));
	fake_nfiles = 0;
	return http_cache_new(&fake_hooks, capacity, 1 << 20, chunk, &stats);
}

static struct http_obj *get(struct http_cache *c, const char *path)
{
	struct http_stat st;
	if (fake_stat(NULL, path, &st) < 0)
		return NULL;
	return http_cache_get(c, path, &st);
}

TEST(csum, fast_sum_matches_naive)
{
	random_data(1);
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len < 300; len++)
			if (!CHECK_EQ(http_csum(data + off, len), naive_sum(data + off, len)))
				return;
	CHECK_EQ(http_csum(data, sizeof(data)), naive_sum(data, sizeof(data)));
	memset(data, 0xff, 64);
	CHECK_EQ(http_csum(data, 64), naive_sum(data, 64));
}

TEST(csum, chunk_sums_at_fill)
{
	random_data(2);
	struct http_cache *c = new_cache(1 << 24, 1460);
	fake_add("/f", (const char *)data, 100001, 5);
	struct http_obj *o = get(c, "/f");
	CHECK(o && o->o_sums && o->o_chunk == 1460);
	for (uint64_t i = 0; i * 1460 < o->o_size; i++) {
		uint64_t at = i * 1460, n = o->o_size - at < 1460 ? o->o_size - at : 1460;
		if (!CHECK_EQ(o->o_sums[i], naive_sum(data + at, n)))
			break;
	}
	CHECK_EQ(stats.csum_bytes, 100001);
	http_obj_release(o);
	http_cache_free(c);
}

TEST(csum, any_range_matches_naive)
{
	random_data(3);
	static const unsigned chunks[] = { 0, 64, 1460, 1448 };
	for (size_t k = 0; k < ARRAY_SIZE(chunks); k++) {
		struct http_cache *c = new_cache(1 << 24, chunks[k]);
		fake_add("/f", (const char *)data, 50003, 5);
		struct http_obj *o = get(c, "/f");
		CHECK(o && (chunks[k] == 0) == (o->o_sums == NULL));
		srand(4);
		for (int i = 0; i < 20000; i++) {
			uint64_t off = (uint64_t)rand() % 50004;
			uint64_t len = (uint64_t)rand() % (50004 - off);
			if (i % 4 == 0 && chunks[k]) /* aligned runs of whole chunks too */
				off = off / chunks[k] * chunks[k];
			if (off + len > 50003)
				len = 50003 - off;
			uint16_t got = http_obj_sum(o, off, len), want = naive_sum(data + off, len);
			if (!CHECK_MSG(same_sum(got, want),
				       "chunk %u off %lu len %lu: %#x, want %#x", chunks[k],
				       (unsigned long)off, (unsigned long)len, got, want))
				break;
		}
		CHECK_EQ(http_obj_sum(o, 50000, 10), 0); /* outside: harmless */
		http_obj_release(o);
		http_cache_free(c);
	}
}

/* The transport's way: sum the pseudo-header and TCP header, add the stored
 * payload sum, fold and complement; the checksum over the segment as sent
 * must then verify to zero, and equal a straight computation. */
TEST(csum, tcp_checksum_folds_header_into_stored_sum)
{
	random_data(5);
	struct http_cache *c = new_cache(1 << 24, 1460);
	fake_add("/f", (const char *)data, 20000, 5);
	struct http_obj *o = get(c, "/f");
	uint8_t seg[12 + 20 + 1460];
	/* pseudo-header (src, dst, 0, proto 6, length) and a TCP header */
	uint8_t ph[12] = { 10, 0, 2, 15, 10, 0, 2, 2, 0, 6, (20 + 1460) >> 8, (20 + 1460) & 0xff };
	for (uint64_t i = 0; i < 20000 / 1460; i++) {
		uint8_t tcp[20];
		for (int b = 0; b < 20; b++)
			tcp[b] = (uint8_t)(i * 31 + b);
		tcp[16] = tcp[17] = 0; /* the checksum field */
		uint32_t s = naive_sum(ph, 12) + naive_sum(tcp, 20) + o->o_sums[i];
		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		uint16_t check = (uint16_t)~s;
		memcpy(seg, ph, 12);
		memcpy(seg + 12, tcp, 20);
		memcpy(seg + 32, data + i * 1460, 1460);
		uint16_t straight = (uint16_t)~naive_sum(seg, sizeof(seg));
		CHECK(same_sum(check, straight));
		seg[28] = (uint8_t)check;
		seg[29] = (uint8_t)(check >> 8);
		CHECK_EQ(naive_sum(seg, sizeof(seg)) % 0xffff, 0); /* verifies */
	}
	http_obj_release(o);
	http_cache_free(c);
}

TEST(cache, hits_and_a_changed_file)
{
	random_data(6);
	struct http_cache *c = new_cache(1 << 24, 1460);
	fake_add("/a", (const char *)data, 1000, 5);
	struct http_obj *o1 = get(c, "/a");
	struct http_obj *o2 = get(c, "/a");
	CHECK(o1 && o1 == o2);
	CHECK_EQ(stats.cache_hits, 1);
	CHECK_EQ(stats.cache_fills, 1);
	int reads = fake_reads;
	http_obj_release(o2);
	/* the file changes while o1 is still being sent */
	fake_files[0].mtime = 6;
	fake_files[0].data = (const char *)data + 1;
	struct http_obj *o3 = get(c, "/a");
	CHECK(o3 && o3 != o1 && o3->o_mtime == 6);
	CHECK(fake_reads > reads);
	CHECK(o1->o_stale && memcmp(o1->o_data, data, 1000) == 0); /* untouched */
	CHECK(memcmp(o3->o_data, data + 1, 1000) == 0);
	CHECK_EQ(stats.cache_objects, 2);
	http_obj_release(o1); /* the stale one goes now */
	CHECK_EQ(stats.cache_objects, 1);
	http_obj_release(o3);
	http_cache_free(c);
}

TEST(cache, lru_eviction_spares_held_objects)
{
	random_data(7);
	/* room for two 10000-byte files and their bookkeeping, not three */
	struct http_cache *c = new_cache(25000, 0);
	fake_add("/1", (const char *)data, 10000, 1);
	fake_add("/2", (const char *)data, 10000, 1);
	fake_add("/3", (const char *)data, 10000, 1);
	struct http_obj *a = get(c, "/1"), *b = get(c, "/2");
	CHECK(a && b);
	http_obj_release(b);
	/* /1 is held: /2 is evicted though /1 is older */
	struct http_obj *d = get(c, "/3");
	CHECK(d != NULL);
	CHECK_EQ(stats.cache_evictions, 1);
	CHECK(memcmp(a->o_data, data, 10000) == 0);
	/* both held now: no room, so /2 is served uncached */
	CHECK(get(c, "/2") == NULL);
	CHECK(stats.cache_bytes <= 25000);
	http_obj_release(d);
	http_obj_release(a);
	/* released: /1 is the least recently used now */
	struct http_obj *e = get(c, "/2");
	CHECK(e != NULL);
	CHECK_EQ(stats.cache_evictions, 2);
	http_obj_release(e);
	e = get(c, "/3");
	CHECK(e != NULL);
	CHECK_EQ(stats.cache_hits, 1);
	http_obj_release(e);
	http_cache_free(c);
}

TEST(cache, too_large_and_failed_fills)
{
	random_data(8);
	struct http_cache *c = new_cache(1 << 24, 1460);
	static uint8_t huge[(1 << 20) + 1];
	fake_add("/huge", (const char *)huge, sizeof(huge), 1);
	CHECK(get(c, "/huge") == NULL); /* past file_max */
	fake_add("/short", (const char *)data, 5000, 1);
	fake_files[1].size = 5000;
	/* the file shrinks between stat and read: not cached */
	struct http_stat st = { 6000, 1, false };
	CHECK(http_cache_get(c, "/short", &st) == NULL);
	for (long k = 0; k < 4; k++) { /* memory runs out at each of a fill's 4 steps */
		fake_allocs_left = k;
		CHECK(get(c, "/short") == NULL);
	}
	fake_allocs_left = -1;
	struct http_obj *o = get(c, "/short");
	CHECK(o != NULL);
	http_obj_release(o);
	CHECK_EQ(stats.cache_objects, 1);
	http_cache_free(c);
}
