/*
 * Host unit tests of kvd's hash table (user/srv/kvd/dict.c) and its
 * incremental resize: random insertions and deletions checked against a
 * plain array through several growths and shrinks (so lookups, deletions
 * and insertions run while two tables are live), a SCAN across a resize
 * that must return every element present throughout, iteration and
 * random picks during a resize, random picks on a small table equally
 * likely for every entry, and no leak at the end (ASan/UBSan).
 */
#pragma GCC diagnostic ignored "-Wunused-parameter" /* hook signatures */
#include "check.h"
#include <stdint.h>
#include "rename.h"
#include <user/srv/kvd/engine.h>

#undef snprintf
#undef strlen
#undef memcmp
#undef memcpy
#undef strcmp
#undef strstr

#include "test_kvd_fake.h"

#define N 20000

static bool present[N];

static int key_of(char *b, int i)
{
	return snprintf(b, 32, "k%d", i);
}

static void seen(void *arg, struct dent *e)
{
	int *count = arg;
	int i = atoi(e->key + 1);
	count[i]++;
}

TEST(kvd_dict, random_ops_across_resizes)
{
	struct kvd *kv = new_kv(false);
	struct dict d;
	dict_init(&d);
	uint64_t x = 99;
	long live = 0;
	bool saw_rehash = false;
	for (int round = 0; round < 4; round++) {
		/* grow to N, then delete most: growth and shrink both happen */
		for (int op = 0; op < 3 * N; op++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			int i = (int)((x >> 33) % N);
			char k[32];
			int n = key_of(k, i);
			bool add = (x >> 20) % 4 != 0;
			struct dent *e = dict_find(kv, &d, k, (size_t)n);
			if (!CHECK_EQ(e != NULL, present[i]))
				goto out;
			if (add && !e) {
				dict_add(kv, &d, k, (size_t)n)->v.i = i;
				present[i] = true;
				live++;
			} else if (!add && e) {
				CHECK_EQ(e->v.i, i);
				dent_free(kv, dict_unlink(kv, &d, k, (size_t)n));
				present[i] = false;
				live--;
			}
			saw_rehash |= d.tab[1] != NULL;
		}
		CHECK_EQ((long)d.used, live);
		for (int i = 0; i < N; i++) {
			char k[32];
			int n = key_of(k, i);
			if (present[i] && i % 10) {
				dent_free(kv, dict_unlink(kv, &d, k, (size_t)n));
				present[i] = false;
				live--;
			}
		}
		for (int t = 0; t < 50; t++) {
			dict_shrink(kv, &d);
			dict_rehash_for(kv, &d, 1);
		}
		CHECK_EQ((long)d.used, live);
	}
	CHECK(saw_rehash);
	/* iteration sees each entry once */
	int count[N] = { 0 };
	struct dict_iter it;
	dict_iter_start(&it, &d);
	long walked = 0;
	for (struct dent *e; (e = dict_iter_next(&it));)
		seen(count, e), walked++;
	dict_iter_end(&it);
	CHECK_EQ(walked, (long)d.used);
	for (int i = 0; i < N; i++)
		if (!CHECK_EQ(count[i], present[i] ? 1 : 0))
			break;
	for (int i = 0; i < 100; i++)
		CHECK(dict_random(kv, &d) != NULL);
out:
	dict_clear(kv, &d, NULL);
	memset(present, 0, sizeof(present));
	kvd_destroy(kv);
	CHECK_EQ(F.allocs, 0);
}

TEST(kvd_dict, scan_across_growth_returns_everything)
{
	struct kvd *kv = new_kv(false);
	struct dict d;
	dict_init(&d);
	char k[32];
	for (int i = 0; i < 1000; i++)
		dict_add(kv, &d, k, (size_t)key_of(k, i));
	int count[N] = { 0 };
	uint64_t cursor = 0;
	int next = 1000, steps = 0;
	bool during = false;
	do {
		cursor = dict_scan(&d, cursor, seen, count);
		/* keep adding while scanning: the table grows (twice) under the cursor */
		for (int j = 0; j < 20 && next < 5000; j++, next++)
			dict_add(kv, &d, k, (size_t)key_of(k, next));
		during |= d.tab[1] != NULL;
		steps++;
	} while (cursor && steps < 100000);
	CHECK(during);
	CHECK_EQ(cursor, 0);
	for (int i = 0; i < 1000; i++)
		if (!CHECK_MSG(count[i] >= 1, "k%d not returned", i))
			break;
	dict_clear(kv, &d, NULL);
	kvd_destroy(kv);
	CHECK_EQ(F.allocs, 0);
}

/* SRANDMEMBER and HRANDFIELD draw with dict_random: on a small table every
 * entry must be about equally likely, even those sharing a bucket. */
TEST(kvd_dict, random_is_fair_on_small_tables)
{
	struct kvd *kv = new_kv(false);
	struct dict d;
	dict_init(&d);
	char k[32];
	for (int i = 0; i < 10; i++)
		dict_add(kv, &d, k, (size_t)key_of(k, i));
	int count[N] = { 0 };
	for (int i = 0; i < 20000; i++)
		seen(count, dict_random(kv, &d));
	for (int i = 0; i < 10; i++)
		if (!CHECK_MSG(count[i] > 1700 && count[i] < 2300, "k%d drawn %d times of 20000", i,
			       count[i]))
			break;
	dict_clear(kv, &d, NULL);
	kvd_destroy(kv);
	CHECK_EQ(F.allocs, 0);
}
