/*
 * Host unit tests of kvd's later commands, through the fake runner of
 * test_kvd_fake.h: bit operations (and the refusal of offsets of 4 GiB
 * bits and more), COPY, DUMP/RESTORE (round trip of every type, a damaged
 * or random payload refused without a crash or a leak, relative TTLs
 * logged as absolute), LCS (and its memory refusal), ZUNION/ZINTER/ZDIFF
 * and their STORE forms, SORT (BY, GET, hash fields, LIMIT clamped, STORE,
 * bad scores), CLIENT REPLY, and LMPOP/BLMPOP (served with a count, timed out). The replies expected
 * are what redis-server 7.0.15 answers to the same commands.
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
#undef strtoul

#include "test_kvd_fake.h"

/* Send one command as RESP (arguments may hold any byte); returns the reply
 * and its length in *n. */
static const char *argv_cmd(struct kvd_client *c, struct out *o, int argc, const char **argv,
			    const size_t *lens, size_t *n)
{
	static char req[1 << 16];
	size_t len = (size_t)snprintf(req, sizeof(req), "*%d\r\n", argc);
	for (int i = 0; i < argc; i++) {
		len += (size_t)snprintf(req + len, sizeof(req) - len, "$%zu\r\n", lens[i]);
		memcpy(req + len, argv[i], lens[i]);
		len += lens[i];
		memcpy(req + len, "\r\n", 2);
		len += 2;
	}
	o->len = 0;
	kvd_client_feed(c, req, len);
	*n = o->len;
	return o->buf;
}

/* The payload of a bulk reply "$N\r\n...\r\n" into out; its length. */
static size_t bulk_body(const char *reply, size_t n, char *out)
{
	const char *p = memchr(reply, '\n', n);
	if (reply[0] != '$' || !p)
		return 0;
	size_t len = strtoul(reply + 1, NULL, 10);
	memcpy(out, p + 1, len);
	return len;
}

/* The log (which may hold NULs) contains s. */
static bool log_has(const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i + n <= F.log_len; i++)
		if (!memcmp(F.log + i, s, n))
			return true;
	return false;
}

static size_t restore(struct kvd_client *c, struct out *o, const char *key, const char *ttl,
		      const char *payload, size_t plen, const char *opt)
{
	const char *argv[5] = { "RESTORE", key, ttl, payload, opt };
	size_t lens[5] = { 7, strlen(key), strlen(ttl), plen, opt ? strlen(opt) : 0 };
	size_t n;
	argv_cmd(c, o, opt ? 5 : 4, argv, lens, &n);
	return n;
}

TEST(kvd_cmds, bits_as_redis)
{
	struct kvd *kv = new_kv(false);
	struct out o = { 0 };
	struct kvd_client *c = kvd_client_new(kv, &o, "t:1");
	CHECK_STREQ(cmd(c, &o, "SETBIT b 7 1"), ":0\r\n");
	CHECK_STREQ(cmd(c, &o, "SETBIT b 7 1"), ":1\r\n");
	CHECK_STREQ(cmd(c, &o, "SETBIT b 100 1"), ":0\r\n");
	CHECK_STREQ(cmd(c, &o, "STRLEN b"), ":13\r\n");
	CHECK_STREQ(cmd(c, &o, "GETBIT b 100"), ":1\r\n");
	CHECK_STREQ(cmd(c, &o, "GETBIT b 99"), ":0\r\n");
	CHECK_STREQ(cmd(c, &o, "GETBIT b 1000000"), ":0\r\n");
	size_t before = kvd_used_memory(kv);
	CHECK_STREQ(cmd(c, &o, "SETBIT b 4294967296 1"),
		    "-ERR bit offset is not an integer or out of range\r\n");
	CHECK_STREQ(cmd(c, &o, "SETBIT b 99999999999999999999 1"),
		    "-ERR bit offset is not an integer or out of range\r\n");
	CHECK_STREQ(cmd(c, &o, "SETBIT b -1 1"),
		    "-ERR bit offset is not an integer or out of range\r\n");
	CHECK_STREQ(cmd(c, &o, "SETBIT b 1 2"), "-ERR bit is not an integer or out of range\r\n");
	/* SETRANGE's offset + length must not overflow into a small size */
	CHECK_STREQ(cmd(c, &o, "SETRANGE k 9223372036854775807 A"),
		    "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
	CHECK(kvd_used_memory(kv) < before + 4096);
	CHECK_STREQ(cmd(c, &o, "SET s foobar"), "+OK\r\n");
	CHECK_STREQ(cmd(c, &o, "BITCOUNT s"), ":26\r\n");
	CHECK_STREQ(cmd(c, &o, "BITCOUNT s 1 1"), ":6\r\n");
	CHECK_STREQ(cmd(c, &o, "BITCOUNT s 5 30 BIT"), ":17\r\n");
	CHECK_STREQ(cmd(c, &o, "BITCOUNT s -5 -1 bit"), ":2\r\n");
	CHECK_STREQ(cmd(c, &o, "BITCOUNT s 1"), "-ERR syntax error\r\n");
	CHECK_STREQ(cmd(c, &o, "BITPOS s 1"), ":1\r\n");
	CHECK_STREQ(cmd(c, &o, "BITPOS s 0 2 -1"), ":16\r\n");
	CHECK_STREQ(cmd(c, &o, "BITPOS s 1 7 15 bit"), ":9\r\n");
	CHECK_STREQ(cmd(c, &o, "BITPOS s 2"), "-ERR The bit argument must be 1 or 0.\r\n");
	CHECK_STREQ(cmd(c, &o, "SET ff \"\\xff\\xff\""), "+OK\r\n");
	CHECK_STREQ(cmd(c, &o, "BITPOS ff 0"), ":16\r\n"); /* zeros after the end */
	CHECK_STREQ(cmd(c, &o, "BITPOS ff 0 0 -1"), ":-1\r\n"); /* ... unless an end is given */
	CHECK_STREQ(cmd(c, &o, "BITPOS nokey 0"), ":0\r\n");
	CHECK_STREQ(cmd(c, &o, "BITOP AND d s ff"), ":6\r\n");
	CHECK_STREQ(cmd(c, &o, "GET d"), "$6\r\nfo\0\0\0\0\r\n");
	CHECK_STREQ(cmd(c, &o, "BITOP NOT d ff"), ":2\r\n");
	CHECK_STREQ(cmd(c, &o, "BITOP NOT d ff s"),
		    "-ERR BITOP NOT must be called with a single source key.\r\n");
	CHECK_STREQ(cmd(c, &o, "BITOP AND d nokey"), ":0\r\n");
	CHECK_STREQ(cmd(c, &o, "EXISTS d"), ":0\r\n");
	cmd(c, &o, "RPUSH l x");
	CHECK_STREQ(cmd(c, &o, "SETBIT l 1 1"),
		    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
	kvd_client_gone(c);
	kvd_destroy(kv);
	CHECK_EQ(F.allocs, 0);
}

TEST(kvd_cmds, lcs_as_redis)
{
	struct kvd *kv = new_kv(false);
	struct out o = { 0 };
	struct kvd_client *c = kvd_client_new(kv, &o, "t:1");
	cmd(c, &o, "MSET a ohmytext b mynewtext");
	CHECK_STREQ(cmd(c, &o, "LCS a b"), "$6\r\nmytext\r\n");
	CHECK_STREQ(cmd(c, &o, "LCS a b LEN"), ":6\r\n");
	CHECK_STREQ(cmd(c, &o, "LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN"),
		    "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
		    ":4\r\n$3\r\nlen\r\n:6\r\n");
	CHECK_STREQ(cmd(c, &o, "LCS a b IDX LEN"),
		    "-ERR If you want both the length and indexes, please just use IDX.\r\n");
	CHECK_STREQ(cmd(c, &o, "LCS a nokey"), "$0\r\n\r\n");
	/* a table of 20001 x 20001 cells is past proto-max-bulk-len: refused */
	char *big = malloc(20000 + 16);
	memset(big, 'x', 20000);
	memcpy(big + 20000, "\r\n", 3);
	char req[64];
	snprintf(req, sizeof(req), "*3\r\n$3\r\nSET\r\n$2\r\nbb\r\n$%d\r\n", 20000);
	raw(c, &o, req);
	CHECK_STREQ(raw(c, &o, big), "+OK\r\n");
	CHECK_STREQ(cmd(c, &o, "COPY bb cc"), ":1\r\n");
	CHECK_STREQ(
		cmd(c, &o, "LCS bb cc"),
		"-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n");
	free(big);
	kvd_client_gone(c);
	kvd_destroy(kv);
	CHECK_EQ(F.allocs, 0);
}

TEST(kvd_cmds, copy_between_dbs)
{
	struct kvd *kv = new_kv(false);
	struct out o = { 0 };
	struct kvd_client *c = kvd_client_new(kv, &o, "t:1");
	cmd(c, &o, "ZADD z 1 a 2 b");
	cmd(c, &o, "PEXPIRE z 5000");
	CHECK_STREQ(cmd(c, &o, "COPY z z2"), ":1\r\n");
	CHECK_STREQ(cmd(c, &o, "COPY z z2"), ":0\r\n");
	CHECK_STREQ(cmd(c, &o, "COPY z z"), "-ERR source and destination objects are the same\r\n");
	CHECK_STREQ(cmd(c, &o, "COPY z z DB 16"), "-ERR DB index is out of range\r\n");
	CHECK_STREQ(cmd(c, &o, "COPY z z DB x"),
		    "-ERR value is not an integer or out of range\r\n");
	CHECK_STREQ(cmd(c, &o, "COPY z z DB 3 REPLACE"), ":1\r\n");
	CHECK_STREQ(cmd(c, &o, "ZINCRBY z 10 a"), "$2\r\n11\r\n");
	CHECK_STREQ(cmd(c, &o, "PTTL z2"), ":5000\r\n");
	cmd(c, &o, "SELECT 3");
	CHECK_STREQ(cmd(c, &o, "ZRANGE z 0 -1 WITHSCORES"),
		    "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"); /* independent */
	kvd_client_gone(c);
	kvd_destroy(kv);
	CHECK_EQ(F.allocs, 0);
}

TEST(kvd_cmds, dump_restore_round_trip_and_damage)
{
	struct kvd *kv = new_kv(true);
	kvd_config_set(kv, "appendonly", "yes", &(const char *){ NULL });
	struct out o = { 0 };
	struct kvd_client *c = kvd_client_new(kv, &o, "t:1");
	cmd(c, &o, "SET s \"bin\\x00ary\"");
	cmd(c, &o, "RPUSH l a b c");
	cmd(c, &o, "SADD set x 1 2");
	cmd(c, &o, "HSET h f1 v1 f2 v2");
	cmd(c, &o, "ZADD z -inf a 1.5 b");
	static const char *const keys[] = { "s", "l", "set", "h", "z" };
	static char payload[4096], again[4096];
	for (size_t i = 0; i < 5; i++) {
		char line[64];
		snprintf(line, sizeof(line), "DUMP %s", keys[i]);
		const char *r = cmd(c, &o, line);
		size_t plen = bulk_body(r, o.len, payload);
		CHECK(plen > 10);
		snprintf(line, sizeof(line), "%s.copy", keys[i]);
		restore(c, &o, line, "0", payload, plen, NULL);
		CHECK_STREQ(o.buf, "+OK\r\n");
		restore(c, &o, line, "0", payload, plen, NULL);
		CHECK_STREQ(o.buf, "-BUSYKEY Target key name already exists.\r\n");
		char line2[96];
		snprintf(line2, sizeof(line2), "DUMP %s", line);
		CHECK_EQ(bulk_body(cmd(c, &o, line2), o.len, again), plen); /* same contents */
		/* every single flipped bit is caught */
		for (size_t b = 0; b < plen * 8; b++) {
			payload[b / 8] ^= (char)(1 << (b % 8));
			restore(c, &o, "bad", "0", payload, plen, "REPLACE");
			if (!CHECK_STREQ(o.buf,
					 "-ERR DUMP payload version or checksum are wrong\r\n"))
				break;
			payload[b / 8] ^= (char)(1 << (b % 8));
		}
	}
	CHECK_STREQ(cmd(c, &o, "GET s.copy"), "$7\r\nbin\0ary\r\n");
	CHECK_STREQ(cmd(c, &o, "ZSCORE z.copy a"), "$4\r\n-inf\r\n");
	CHECK_STREQ(cmd(c, &o, "HGET h.copy f2"), "$2\r\nv2\r\n");
	CHECK_STREQ(cmd(c, &o, "LRANGE l.copy 0 -1"), "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
	CHECK_STREQ(cmd(c, &o, "SCARD set.copy"), ":3\r\n");
	/* random bytes: an error every time, never a crash */
	uint64_t x = 7;
	for (int i = 0; i < 20000; i++) {
		size_t n = (size_t)(i % 60);
		for (size_t k = 0; k < n; k++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			payload[k] = (char)(x >> 56);
		}
		restore(c, &o, "rnd", "0", payload, n, "REPLACE");
		if (!CHECK(o.buf[0] == '-'))
			break;
	}
	CHECK_STREQ(cmd(c, &o, "RESTORE k -1 x"), "-ERR Invalid TTL value, must be >= 0\r\n");
	CHECK_STREQ(cmd(c, &o, "RESTORE k 0 x IDLETIME -1"),
		    "-ERR Invalid IDLETIME value, must be >= 0\r\n");
	CHECK_STREQ(cmd(c, &o, "RESTORE k 0 x FREQ 300"),
		    "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n");
	/* a relative TTL is logged as an absolute one */
	size_t plen = bulk_body(cmd(c, &o, "DUMP s"), o.len, payload);
	F.log_len = 0;
	restore(c, &o, "t", "5000", payload, plen, NULL);
	CHECK_STREQ(o.buf, "+OK\r\n");
	CHECK_STREQ(cmd(c, &o, "PTTL t"), ":5000\r\n");
	CHECK(log_has("$13\r\n1700000005000\r\n"));
	CHECK(log_has("ABSTTL"));
	kvd_client_gone(c);
	kvd_destroy(kv);
	CHECK_EQ(F.allocs, 0);
}

TEST(kvd_cmds, zset_algebra)
{
	struct kvd *kv = new_kv(false);
	struct out o = { 0 };
	struct kvd_client *c = kvd_client_new(kv, &o, "t:1");
	cmd(c, &o, "ZADD z1 1 a 2 b 3 c");
	cmd(c, &o, "ZADD z2 1 b 2 c 3 d");
	cmd(c, &o, "SADD s1 a d e");
	CHECK_STREQ(cmd(c, &o, "ZUNIONSTORE out 2 z1 z2"), ":4\r\n");
	CHECK_STREQ(cmd(c, &o, "ZRANGE out 0 -1 WITHSCORES"),
		    "*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n3\r\n"
		    "$1\r\nc\r\n$1\r\n5\r\n");
	CHECK_STREQ(cmd(c, &o, "ZUNION 3 z1 z2 s1 WEIGHTS 1 2 3 AGGREGATE MAX"),
		    "*5\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\ne\r\n$1\r\nc\r\n$1\r\nd\r\n");
	CHECK_STREQ(cmd(c, &o, "ZINTER 2 z1 s1 WITHSCORES"), "*2\r\n$1\r\na\r\n$1\r\n2\r\n");
	CHECK_STREQ(cmd(c, &o, "ZDIFF 2 z1 s1"), "*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
	CHECK_STREQ(cmd(c, &o, "ZINTERSTORE out 2 z1 nokey"), ":0\r\n");
	CHECK_STREQ(cmd(c, &o, "EXISTS out"), ":0\r\n");
	CHECK_STREQ(cmd(c, &o, "ZINTERCARD 2 z1 z2 LIMIT 1"), ":1\r\n");
	cmd(c, &o, "ZADD inf inf a");
	CHECK_STREQ(cmd(c, &o, "ZUNION 2 inf z1 WEIGHTS 0 1 WITHSCORES"),
		    "*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n");
	CHECK_STREQ(cmd(c, &o, "ZUNION 0 z1"),
		    "-ERR at least 1 input key is needed for 'zunion' command\r\n");
	CHECK_STREQ(cmd(c, &o, "ZUNION 3 z1"), "-ERR syntax error\r\n");
	CHECK_STREQ(cmd(c, &o, "ZUNION 2 z1 z2 WEIGHTS 1 x"),
		    "-ERR weight value is not a float\r\n");
	CHECK_STREQ(cmd(c, &o, "ZDIFF 2 z1 z2 WEIGHTS 1 2"), "-ERR syntax error\r\n");
	CHECK_STREQ(
		cmd(c, &o, "ZMPOP 2 nokey z1 MAX COUNT 2"),
		"*2\r\n$2\r\nz1\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
	CHECK_STREQ(cmd(c, &o, "ZMPOP 1 z1 MIN COUNT 0"),
		    "-ERR count should be greater than 0\r\n");
	kvd_client_gone(c);
	kvd_destroy(kv);
	CHECK_EQ(F.allocs, 0);
}

TEST(kvd_cmds, sort_options)
{
	struct kvd *kv = new_kv(false);
	struct out o = { 0 };
	struct kvd_client *c = kvd_client_new(kv, &o, "t:1");
	cmd(c, &o, "RPUSH l 3 1 2 10");
	CHECK_STREQ(cmd(c, &o, "SORT l"), "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n");
	CHECK_STREQ(cmd(c, &o, "SORT l ALPHA DESC LIMIT 0 2"), "*2\r\n$1\r\n3\r\n$1\r\n2\r\n");
	CHECK_STREQ(cmd(c, &o, "SORT l LIMIT 1 99999999999"),
		    "*3\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n");
	CHECK_STREQ(cmd(c, &o, "SORT l LIMIT 99999999999 1"), "*0\r\n");
	CHECK_STREQ(cmd(c, &o, "SORT l BY nosort DESC LIMIT 1 2"), "*2\r\n$1\r\n2\r\n$1\r\n1\r\n");
	cmd(c, &o, "MSET w_3 1 w_1 3 w_2 2");
	cmd(c, &o, "HSET h_10 name ten");
	CHECK_STREQ(
		cmd(c, &o, "SORT l BY w_* GET # GET h_*->name"),
		"*8\r\n$2\r\n10\r\n$3\r\nten\r\n$1\r\n3\r\n$-1\r\n$1\r\n2\r\n$-1\r\n$1\r\n1\r\n$-1\r\n");
	CHECK_STREQ(cmd(c, &o, "SORT l BY w_* GET h_*->name STORE dst"), ":4\r\n");
	CHECK_STREQ(cmd(c, &o, "LRANGE dst 0 -1"),
		    "*4\r\n$3\r\nten\r\n$0\r\n\r\n$0\r\n\r\n$0\r\n\r\n");
	cmd(c, &o, "RPUSH bad 1 x");
	CHECK_STREQ(cmd(c, &o, "SORT bad"),
		    "-ERR One or more scores can't be converted into double\r\n");
	CHECK_STREQ(cmd(c, &o, "SORT_RO l STORE dst"), "-ERR syntax error\r\n");
	CHECK_STREQ(cmd(c, &o, "SORT l LIMIT x 1"),
		    "-ERR value is not an integer or out of range\r\n");
	CHECK_STREQ(cmd(c, &o, "SORT nokey STORE dst"), ":0\r\n");
	CHECK_STREQ(cmd(c, &o, "EXISTS dst"), ":0\r\n");
	kvd_client_gone(c);
	kvd_destroy(kv);
	CHECK_EQ(F.allocs, 0);
}

TEST(kvd_cmds, client_reply_and_lmpop)
{
	struct kvd *kv = new_kv(false);
	struct out o1 = { 0 }, o2 = { 0 };
	struct kvd_client *a = kvd_client_new(kv, &o1, "t:1");
	struct kvd_client *b = kvd_client_new(kv, &o2, "t:2");
	CHECK_STREQ(raw(a, &o1, "CLIENT REPLY OFF\r\nSET k 1\r\nKEYS *\r\nCLIENT REPLY ON\r\n"),
		    "+OK\r\n");
	CHECK_STREQ(raw(a, &o1, "CLIENT REPLY SKIP\r\nGET k\r\nGET k\r\n"), "$1\r\n1\r\n");
	CHECK_STREQ(cmd(a, &o1, "CLIENT REPLY MAYBE"), "-ERR syntax error\r\n");
	/* SHUTDOWN and SAVE are refused inside MULTI (and spoil it), not run */
	cmd(a, &o1, "MULTI");
	CHECK_STREQ(cmd(a, &o1, "SHUTDOWN"), "-ERR Command not allowed inside a transaction\r\n");
	CHECK_STREQ(cmd(a, &o1, "EXEC"),
		    "-EXECABORT Transaction discarded because of previous errors.\r\n");
	CHECK_EQ(F.shutdowns, 0);
	/* INFO with several sections: each once, in its usual place */
	const char *info = cmd(a, &o1, "INFO keyspace CPU keyspace");
	CHECK(strstr(info, "# CPU\r\n\r\n# Keyspace\r\ndb0:keys=1,") != NULL);
	CHECK(strstr(info, "# Server") == NULL);
	cmd(a, &o1, "RPUSH l a b c");
	CHECK_STREQ(cmd(a, &o1, "LMPOP 2 nokey l RIGHT COUNT 2"),
		    "*2\r\n$1\r\nl\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
	CHECK_STREQ(cmd(a, &o1, "LMPOP 0 l LEFT"), "-ERR numkeys should be greater than 0\r\n");
	CHECK_STREQ(cmd(a, &o1, "LMPOP 1 l UP"), "-ERR syntax error\r\n");
	CHECK_STREQ(cmd(a, &o1, "BLMPOP 0 2 q1 q2 LEFT COUNT 5"), "");
	CHECK_STREQ(cmd(b, &o2, "RPUSH q2 x y"), ":2\r\n");
	CHECK_STREQ(o1.buf, "*2\r\n$2\r\nq2\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n");
	CHECK_STREQ(cmd(b, &o2, "EXISTS q2"), ":0\r\n");
	CHECK_STREQ(cmd(a, &o1, "BLMPOP 0.5 1 q1 LEFT"), "");
	F.now += 600;
	kvd_tick(kv);
	CHECK_STREQ(o1.buf, "*-1\r\n");
	kvd_client_gone(a);
	kvd_client_gone(b);
	kvd_destroy(kv);
	CHECK_EQ(F.allocs, 0);
}
