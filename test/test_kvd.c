/*
 * Host unit tests of kvd's engine (user/srv/kvd), driven directly through
 * its hooks: a fake clock, counted malloc, a recorded output per client, and
 * an in-memory log. Covers the RESP parser against hostile input, error
 * wording, expiry with a clock the test moves, the float formatting and
 * parsing against the host C library, blocking pops and their timeouts,
 * transactions, maxmemory, and recovery from a log with a torn tail.
 */
#pragma GCC diagnostic ignored "-Wunused-parameter" /* hook signatures */
#include "check.h"
#include <math.h>
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

TEST(kvd, ping_and_pipeline_split_anywhere)
{
	struct kvd *kv = new_kv(false);
	struct out o = { 0 };
	struct kvd_client *c = kvd_client_new(kv, &o, "t:1");
	const char *req = "*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"
			  "*2\r\n$3\r\nGET\r\n$1\r\nk\r\nECHO \"a b\\x41\"\r\n";
	o.len = 0;
	for (size_t i = 0; req[i]; i++) /* one byte at a time */
		kvd_client_feed(c, req + i, 1);
	o.buf[o.len] = '\0';
	CHECK_STREQ(o.buf, "+PONG\r\n+OK\r\n$5\r\nhello\r\n$4\r\na bA\r\n");
	kvd_client_gone(c);
	kvd_destroy(kv);
	CHECK_EQ(F.allocs, 0);
}

TEST(kvd, hostile_headers_close_only_that_client)
{
	struct kvd *kv = new_kv(false);
	struct out o1 = { 0 }, o2 = { 0 };
	struct kvd_client *bad = kvd_client_new(kv, &o1, "t:1");
	struct kvd_client *good = kvd_client_new(kv, &o2, "t:2");
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n" },
		{ "*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n" },
		{ "*1\r\n$536870913\r\n", "-ERR Protocol error: invalid bulk length\r\n" },
		{ "*1\r\n$3000000000\r\n", "-ERR Protocol error: invalid bulk length\r\n" },
		{ "*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n" },
		{ "*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n" },
		{ "*1\r\nfoo\r\n", "-ERR Protocol error: expected '$', got 'f'\r\n" },
		{ "SET \"k v\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bad = kvd_client_new(kv, &o1, "t:1");
		o1.closed = false;
		CHECK_STREQ(raw(bad, &o1, cases[i].in), cases[i].want);
		CHECK(o1.closed);
		/* later bytes from a closing client are ignored */
		CHECK_STREQ(raw(bad, &o1, "PING\r\n"), "");
		kvd_client_gone(bad);
		CHECK_STREQ(cmd(good, &o2, "PING"), "+PONG\r\n");
		CHECK(!o2.closed);
	}
	/* a header line with no end, longer than KVD_INLINE_MAX */
	bad = kvd_client_new(kv, &o1, "t:1");
	o1.closed = false;
	char *junk = malloc(70000);
	memset(junk, 'x', 69999);
	junk[69999] = '\0';
	CHECK_STREQ(raw(bad, &o1, junk), "-ERR Protocol error: too big inline request\r\n");
	CHECK(o1.closed);
	kvd_client_gone(bad);
	free(junk);
	/* 512 MiB announced but never sent: nothing is allocated for it */
	bad = kvd_client_new(kv, &o1, "t:1");
	size_t before = kvd_used_memory(kv);
	CHECK_STREQ(raw(bad, &o1, "*1\r\n$536870912\r\nabc"), "");
	CHECK(kvd_used_memory(kv) < before + 1024 * 1024);
	kvd_client_gone(bad);
	kvd_client_gone(good);
	kvd_destroy(kv);
	CHECK_EQ(F.allocs, 0);
}

TEST(kvd, errors_worded_as_redis)
{
	struct kvd *kv = new_kv(false);
	struct out o = { 0 };
	struct kvd_client *c = kvd_client_new(kv, &o, "t:1");
	CHECK_STREQ(cmd(c, &o, "GET"), "-ERR wrong number of arguments for 'get' command\r\n");
	CHECK_STREQ(cmd(c, &o, "NOPE a b"),
		    "-ERR unknown command 'NOPE', with args beginning with: 'a' 'b' \r\n");
	cmd(c, &o, "LPUSH l a");
	CHECK_STREQ(cmd(c, &o, "GET l"),
		    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
	cmd(c, &o, "SET s abc");
	CHECK_STREQ(cmd(c, &o, "INCR s"), "-ERR value is not an integer or out of range\r\n");
	CHECK_STREQ(cmd(c, &o, "INCRBYFLOAT s 1"), "-ERR value is not a valid float\r\n");
	CHECK_STREQ(cmd(c, &o, "SET s v EX 0"), "-ERR invalid expire time in 'set' command\r\n");
	CHECK_STREQ(cmd(c, &o, "SET s v NX XX"), "-ERR syntax error\r\n");
	cmd(c, &o, "SET big 9223372036854775807");
	CHECK_STREQ(cmd(c, &o, "INCR big"), "-ERR increment or decrement would overflow\r\n");
	CHECK_STREQ(cmd(c, &o, "SELECT 16"), "-ERR DB index is out of range\r\n");
	CHECK_STREQ(cmd(c, &o, "LSET nokey 0 x"), "-ERR no such key\r\n");
	CHECK_STREQ(cmd(c, &o, "LSET l 5 x"), "-ERR index out of range\r\n");
	CHECK_STREQ(cmd(c, &o, "ZADD z NX XX 1 a"),
		    "-ERR XX and NX options at the same time are not compatible\r\n");
	CHECK_STREQ(cmd(c, &o, "ZADD z GT LT 1 a"),
		    "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n");
	CHECK_STREQ(cmd(c, &o, "ZADD z INCR 1 a 2 b"),
		    "-ERR INCR option supports a single increment-element pair\r\n");
	CHECK_STREQ(cmd(c, &o, "ZADD z nan a"), "-ERR value is not a valid float\r\n");
	CHECK_STREQ(cmd(c, &o, "ZRANGEBYSCORE z x 1"), "-ERR min or max is not a float\r\n");
	CHECK_STREQ(cmd(c, &o, "EXEC"), "-ERR EXEC without MULTI\r\n");
	CHECK_STREQ(cmd(c, &o, "BLPOP l2 -1"), "-ERR timeout is negative\r\n");
	CHECK_STREQ(cmd(c, &o, "CONFIG GET"),
		    "-ERR wrong number of arguments for 'config|get' command\r\n");
	kvd_client_gone(c);
	kvd_destroy(kv);
	CHECK_EQ(F.allocs, 0);
}

TEST(kvd, expiry_lazy_and_active)
{
	struct kvd *kv = new_kv(false);
	struct out o = { 0 };
	struct kvd_client *c = kvd_client_new(kv, &o, "t:1");
	CHECK_STREQ(cmd(c, &o, "SET a 1 PX 100"), "+OK\r\n");
	CHECK_STREQ(cmd(c, &o, "SET b 1 EX 10"), "+OK\r\n");
	CHECK_STREQ(cmd(c, &o, "PTTL a"), ":100\r\n");
	CHECK_STREQ(cmd(c, &o, "TTL b"), ":10\r\n");
	F.now += 100;
	CHECK_STREQ(cmd(c, &o, "GET a"), "$-1\r\n"); /* lazy */
	CHECK_STREQ(cmd(c, &o, "TTL a"), ":-2\r\n");
	for (int i = 0; i < 200; i++) {
		char b[64];
		snprintf(b, sizeof(b), "SET k%d v PX 5", i);
		cmd(c, &o, b);
	}
	CHECK_STREQ(cmd(c, &o, "DBSIZE"), ":201\r\n");
	F.now += 10;
	for (int i = 0; i < 20; i++)
		kvd_tick(kv); /* active */
	CHECK_STREQ(cmd(c, &o, "DBSIZE"), ":1\r\n");
	CHECK_STREQ(cmd(c, &o, "PERSIST b"), ":1\r\n");
	CHECK_STREQ(cmd(c, &o, "TTL b"), ":-1\r\n");
	CHECK_STREQ(cmd(c, &o, "EXPIRE b 100 XX"), ":0\r\n"); /* XX: only if it has a TTL */
	CHECK_STREQ(cmd(c, &o, "EXPIRE b 100"), ":1\r\n");
	CHECK_STREQ(cmd(c, &o, "EXPIRE b 50 GT"), ":0\r\n");
	CHECK_STREQ(cmd(c, &o, "EXPIRE b -1"), ":1\r\n");
	CHECK_STREQ(cmd(c, &o, "EXISTS b"), ":0\r\n");
	kvd_client_gone(c);
	kvd_destroy(kv);
	CHECK_EQ(F.allocs, 0);
}

/* The formatting matches glibc's printf for many doubles. */
TEST(kvd, double_format_matches_libc)
{
	uint64_t x = 88172645463325252ULL;
	char mine[KVD_DOUBLE_STR], libc[KVD_DOUBLE_STR];
	static const double fixed[] = { 0,
					-0.0,
					1,
					0.1,
					1.5,
					-2.25,
					1e21,
					1e-5,
					123456789012345678.0,
					5e-324,
					1.7976931348623157e308,
					3.0000000000000004,
					0.3 };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		d2str(mine, sizeof(mine), fixed[i]);
		snprintf(libc, sizeof(libc), "%.17g", fixed[i]);
		CHECK_STREQ(mine, libc);
	}
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		double d;
		memcpy(&d, &x, 8);
		if (isnan(d))
			continue;
		d2str(mine, sizeof(mine), d);
		snprintf(libc, sizeof(libc), isinf(d) ? (d > 0 ? "inf" : "-inf") : "%.17g", d);
		if (!CHECK_STREQ(mine, libc))
			break;
		double back;
		CHECK(str2d(mine, strlen(mine), &back) && (back == d));
	}
}

TEST(kvd, double_parse_matches_libc)
{
	static const char *const ok[] = { "1.1",
					  "0.1",
					  "3.14159",
					  "1e308",
					  "-2.5e-300",
					  "4.9e-324",
					  "123456789012345678901234567890",
					  ".5",
					  "5.",
					  "+7",
					  "2.2250738585072011e-308",
					  "inf",
					  "-Infinity",
					  "0" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		double mine, libc = strtod(ok[i], NULL);
		CHECK_MSG(str2d(ok[i], strlen(ok[i]), &mine), "%s refused", ok[i]);
		CHECK_MSG(mine == libc || (isnan(mine) && isnan(libc)), "%s: %a vs %a", ok[i], mine,
			  libc);
	}
	static const char *const bad[] = { "",    " 1",    "1 ", "nan", "1e400", "1e-400",
					   "abc", "1.2.3", "e5", "-",   "0x10" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		double v;
		CHECK_MSG(!str2d(bad[i], strlen(bad[i]), &v), "'%s' accepted", bad[i]);
	}
	uint64_t x = 1234567;
	for (int i = 0; i < 20000; i++) {
		x = x * 6364136223846793005ULL + 1;
		char s[64];
		snprintf(s, sizeof(s), "%llu.%llue%d", (unsigned long long)(x >> 40),
			 (unsigned long long)((x >> 8) & 0xffffff), (int)((x >> 2) % 600) - 300);
		double mine, libc = strtod(s, NULL);
		if (!CHECK_MSG(str2d(s, strlen(s), &mine) && mine == libc, "%s", s))
			break;
	}
}

TEST(kvd, incrbyfloat_output_as_redis)
{
	struct kvd *kv = new_kv(false);
	struct out o = { 0 };
	struct kvd_client *c = kvd_client_new(kv, &o, "t:1");
	CHECK_STREQ(cmd(c, &o, "INCRBYFLOAT f 10.5"), "$4\r\n10.5\r\n");
	CHECK_STREQ(cmd(c, &o, "INCRBYFLOAT f 0.1"), "$4\r\n10.6\r\n");
	CHECK_STREQ(cmd(c, &o, "INCRBYFLOAT f -10.6"), "$1\r\n0\r\n");
	CHECK_STREQ(cmd(c, &o, "INCRBYFLOAT f 5.0e3"), "$4\r\n5000\r\n");
	CHECK_STREQ(cmd(c, &o, "ZADD z 0.1 a"), ":1\r\n");
	CHECK_STREQ(cmd(c, &o, "ZSCORE z a"), "$19\r\n0.10000000000000001\r\n");
	CHECK_STREQ(cmd(c, &o, "ZINCRBY z inf a"), "$3\r\ninf\r\n");
	char mine[KVD_DOUBLE_STR], libc[KVD_DOUBLE_STR];
	static const long double vals[] = { 1.1L, 3.0e-10L, 12345678.875L, -0.5L, 1e30L };
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		ld2str_human(mine, sizeof(mine), vals[i]);
		snprintf(libc, sizeof(libc), "%.17Lf", vals[i]);
		size_t n = strlen(libc);
		while (n && libc[n - 1] == '0')
			libc[--n] = '\0';
		if (n && libc[n - 1] == '.')
			libc[--n] = '\0';
		CHECK_STREQ(mine, libc);
	}
	kvd_client_gone(c);
	kvd_destroy(kv);
}

TEST(kvd, blocking_pop_served_and_timed_out)
{
	struct kvd *kv = new_kv(false);
	struct out o1 = { 0 }, o2 = { 0 };
	struct kvd_client *w = kvd_client_new(kv, &o1, "t:1");
	struct kvd_client *p = kvd_client_new(kv, &o2, "t:2");
	CHECK_STREQ(raw(w, &o1, "BLPOP q1 q2 0\r\nPING\r\n"), "");
	CHECK_STREQ(cmd(p, &o2, "RPUSH q2 x y"), ":2\r\n");
	CHECK_STREQ(o1.buf, "*2\r\n$2\r\nq2\r\n$1\r\nx\r\n+PONG\r\n");
	CHECK_STREQ(cmd(p, &o2, "LRANGE q2 0 -1"), "*1\r\n$1\r\ny\r\n");
	CHECK_STREQ(cmd(w, &o1, "BRPOP empty 0.5"), "");
	F.now += 400;
	kvd_tick(kv);
	CHECK_STREQ(o1.buf, "");
	F.now += 200;
	kvd_tick(kv);
	CHECK_STREQ(o1.buf, "*-1\r\n");
	kvd_client_gone(w);
	kvd_client_gone(p);
	kvd_destroy(kv);
	CHECK_EQ(F.allocs, 0);
}

TEST(kvd, multi_exec_and_watch)
{
	struct kvd *kv = new_kv(false);
	struct out o1 = { 0 }, o2 = { 0 };
	struct kvd_client *a = kvd_client_new(kv, &o1, "t:1");
	struct kvd_client *b = kvd_client_new(kv, &o2, "t:2");
	CHECK_STREQ(cmd(a, &o1, "MULTI"), "+OK\r\n");
	CHECK_STREQ(cmd(a, &o1, "INCR n"), "+QUEUED\r\n");
	CHECK_STREQ(cmd(a, &o1, "INCR n"), "+QUEUED\r\n");
	CHECK_STREQ(cmd(a, &o1, "EXEC"), "*2\r\n:1\r\n:2\r\n");
	CHECK_STREQ(cmd(a, &o1, "WATCH n"), "+OK\r\n");
	CHECK_STREQ(cmd(b, &o2, "SET n 10"), "+OK\r\n");
	cmd(a, &o1, "MULTI");
	cmd(a, &o1, "INCR n");
	CHECK_STREQ(cmd(a, &o1, "EXEC"), "*-1\r\n");
	cmd(a, &o1, "MULTI");
	CHECK_STREQ(cmd(a, &o1, "GET"), "-ERR wrong number of arguments for 'get' command\r\n");
	CHECK_STREQ(cmd(a, &o1, "EXEC"),
		    "-EXECABORT Transaction discarded because of previous errors.\r\n");
	kvd_client_gone(a);
	kvd_client_gone(b);
	kvd_destroy(kv);
	CHECK_EQ(F.allocs, 0);
}

TEST(kvd, maxmemory_oom_and_eviction)
{
	struct kvd *kv = new_kv(false);
	struct out o = { 0 };
	struct kvd_client *c = kvd_client_new(kv, &o, "t:1");
	char b[128];
	snprintf(b, sizeof(b), "CONFIG SET maxmemory %zu", kvd_used_memory(kv) + 200000);
	CHECK_STREQ(cmd(c, &o, b), "+OK\r\n");
	bool oom = false;
	for (int i = 0; i < 5000 && !oom; i++) {
		snprintf(b, sizeof(b), "SET key:%d 0123456789012345678901234567890123456789", i);
		oom = strcmp(cmd(c, &o, b), "+OK\r\n") != 0;
	}
	CHECK(oom);
	CHECK_STREQ(o.buf, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
	CHECK_STREQ(cmd(c, &o, "GET key:1"), "$40\r\n0123456789012345678901234567890123456789\r\n");
	CHECK_STREQ(cmd(c, &o, "CONFIG SET maxmemory-policy allkeys-lru"), "+OK\r\n");
	for (int i = 0; i < 5000; i++) {
		snprintf(b, sizeof(b), "SET other:%d 0123456789012345678901234567890123456789", i);
		if (!CHECK_STREQ(cmd(c, &o, b), "+OK\r\n"))
			break;
	}
	CHECK(kvd_used_memory(kv) < kvd_used_memory(kv) + 1);
	kvd_client_gone(c);
	kvd_destroy(kv);
	CHECK_EQ(F.allocs, 0);
}

TEST(kvd, log_replay_drops_torn_tail)
{
	struct kvd *kv = new_kv(true);
	kvd_config_set(kv, "appendonly", "yes", &(const char *){ NULL });
	struct out o = { 0 };
	struct kvd_client *c = kvd_client_new(kv, &o, "t:1");
	cmd(c, &o, "SET a 1");
	cmd(c, &o, "SELECT 3");
	cmd(c, &o, "RPUSH l x y z");
	cmd(c, &o, "SET t v EX 100");
	cmd(c, &o, "MULTI");
	cmd(c, &o, "INCR a");
	cmd(c, &o, "EXEC");
	cmd(c, &o, "SPOP nothing");
	kvd_client_gone(c);
	kvd_destroy(kv);
	char saved[sizeof(F.log)];
	size_t whole = F.log_len;
	memcpy(saved, F.log, whole);
	CHECK(strstr(saved, "PXAT") != NULL); /* relative times logged as absolute */

	for (size_t cut = whole; cut + 40 > whole && cut > 0; cut--) {
		struct kvd *k2 = new_kv(false);
		const char *why = NULL;
		CHECK_EQ(kvd_load(k2, saved, cut), 0);
		long long valid = kvd_load_end(k2, &why);
		CHECK(valid >= 0 && (size_t)valid <= cut);
		struct out o2 = { 0 };
		struct kvd_client *r = kvd_client_new(k2, &o2, "t:2");
		cmd(r, &o2, "SELECT 3");
		if (cut == whole) {
			CHECK_EQ((size_t)valid, whole);
			CHECK_STREQ(cmd(r, &o2, "LRANGE l 0 -1"),
				    "*3\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n");
			CHECK_STREQ(cmd(r, &o2, "GET a"), "$1\r\n1\r\n"); /* db 3's, from EXEC */
			CHECK_STREQ(cmd(r, &o2, "TTL t"), ":100\r\n");
		} else {
			/* the transaction is there whole or not at all */
			const char *a = cmd(r, &o2, "GET a");
			CHECK_MSG(!strcmp(a, "$1\r\n1\r\n") || !strcmp(a, "$-1\r\n"), "cut %zu: %s",
				  cut, a);
		}
		kvd_client_gone(r);
		kvd_destroy(k2);
	}
	/* garbage in the middle is damage, not a torn tail */
	struct kvd *k3 = new_kv(false);
	const char *why = NULL;
	kvd_load(k3, "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*1\r\n$4\r\nNOPE\r\n*1\r\n$4\r\nPING\r\n", 47);
	CHECK(kvd_load_end(k3, &why) < 0 && why != NULL);
	kvd_destroy(k3);
}
