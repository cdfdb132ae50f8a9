/*
 * The engine's internal interface, shared by the files of user/srv/kvd:
 * memory accounting (mem_*), the hash table (dict.c), values (object.c),
 * numbers (number.c), replies and the protocol parser (resp.c), the
 * keyspace (db.c), and the command table with its handlers (cmd_*.c).
 *
 * Every allocation goes through mem_alloc/mem_free with its size, so
 * used_memory is exact up to the allocator's own overhead and maxmemory
 * means something. Strings are counted: a key or value is (pointer, length)
 * and may hold any byte, NUL included.
 */
#ifndef KVD_ENGINE_H
#define KVD_ENGINE_H

#include <user/srv/kvd/kvd.h>
#include <common/string.h>
#include <common/fmt.h>
#include <stdarg.h>

#define KVD_DBS 16		  /* SELECT 0..15, as Redis */
#define KVD_MAX_ARGS (1024 * 1024) /* a larger *N is a protocol error */
#define KVD_INLINE_MAX (64 * 1024) /* an inline command or header line */
#define KVD_NAME_MAX 64		  /* longest command name looked up */
#define KVD_LONG_STR 24		  /* room for any long long and a NUL */
#define KVD_DOUBLE_STR 5200	  /* room for %.17Lf of any long double */

struct kvd;
struct kvd_client;

/* --- memory -------------------------------------------------------------- */
/* NULL only when the hook has none; callers that cannot fail use mem_must. */
void *mem_alloc(struct kvd *kv, size_t n);
void *mem_must(struct kvd *kv, size_t n);
void mem_free(struct kvd *kv, void *p, size_t n);
void *mem_realloc(struct kvd *kv, void *p, size_t old, size_t n);
char *mem_dup(struct kvd *kv, const char *s, size_t n); /* adds a NUL */

/* --- a growable byte buffer ---------------------------------------------- */
struct buf {
	char *b;
	size_t len, cap;
};
void buf_put(struct kvd *kv, struct buf *b, const void *p, size_t n);
void buf_free(struct kvd *kv, struct buf *b);
void buf_printf(struct kvd *kv, struct buf *b, const char *fmt, ...);

/* --- dict.c: chained hash table with inline keys --------------------------- */
struct dent {
	struct dent *next;
	union {
		void *p;
		int64_t i;
		double d;
	} v;
	uint32_t klen;
	char key[]; /* klen bytes and a NUL */
};

/*
 * Two tables while a resize is under way (tab[1] != NULL): bucket j of
 * tab[0] has moved to tab[1] iff j < moved, and an entry whose hash h has
 * (h & mask[0]) < moved is in tab[1], else in tab[0].
 */
struct dict {
	struct dent **tab[2];
	uint64_t mask[2]; /* size - 1; size 0 when tab is NULL */
	uint64_t used;
	uint64_t moved; /* buckets of tab[0] moved to tab[1] so far */
	int iterating; /* > 0: no rehash steps (someone walks the buckets) */
};

struct dict_iter {
	struct dict *d;
	uint64_t bucket; /* over tab[0], then tab[1] */
	struct dent *next;
};

void dict_init(struct dict *d);
struct dent *dict_find(struct kvd *kv, struct dict *d, const char *k, size_t n);
/* Add k (which must be absent); the new entry's v is zero. */
struct dent *dict_add(struct kvd *kv, struct dict *d, const char *k, size_t n);
/* Unlink k's entry and return it (NULL if absent); free it with dent_free. */
struct dent *dict_unlink(struct kvd *kv, struct dict *d, const char *k, size_t n);
void dent_free(struct kvd *kv, struct dent *e);
/* Free every entry, calling fn(kv, e) first on each (fn may be NULL). */
void dict_clear(struct kvd *kv, struct dict *d, void (*fn)(struct kvd *, struct dent *));
struct dent *dict_random(struct kvd *kv, struct dict *d);
/* n picks from d (HRANDFIELD, ZRANDMEMBER): dict_pick_start, then
 * dict_pick_next for i = 0..n-1 (n at most d->used when distinct), then
 * dict_pick_end. distinct: each entry once, by a partial shuffle of them
 * all; otherwise with repeats (dict_random). */
struct dict_pick {
	struct dent **all; /* distinct: every entry, the first i shuffled */
	size_t total;
};
void dict_pick_start(struct kvd *kv, struct dict *d, bool distinct, struct dict_pick *p);
struct dent *dict_pick_next(struct kvd *kv, struct dict *d, struct dict_pick *p, size_t i);
void dict_pick_end(struct kvd *kv, struct dict_pick *p);
/* One SCAN step: calls fn on a bucket's entries; returns the next cursor
 * (0 when done). Entries present for the whole scan are seen at least once. */
uint64_t dict_scan(struct dict *d, uint64_t cursor, void (*fn)(void *, struct dent *), void *arg);
void dict_iter_start(struct dict_iter *it, struct dict *d);
struct dent *dict_iter_next(struct dict_iter *it);
void dict_iter_end(struct dict_iter *it);
/* Shrink a table much larger than its contents (called from kvd_tick). */
void dict_shrink(struct kvd *kv, struct dict *d);
/* Move buckets of a resize under way for about ms milliseconds (kvd_tick). */
void dict_rehash_for(struct kvd *kv, struct dict *d, uint64_t ms);
size_t dict_mem(const struct dict *d); /* bucket array bytes */
uint64_t dict_hash(const struct kvd *kv, const char *k, size_t n);

/* --- object.c: values ------------------------------------------------------ */
enum { T_STRING, T_LIST, T_HASH, T_SET, T_ZSET };

struct obj {
	uint8_t type;
	uint8_t pad[3];
	uint32_t lru; /* seconds clock when last touched (OBJECT IDLETIME, LRU) */
};

struct sobj { /* T_STRING */
	struct obj h;
	uint32_t len, cap;
	char data[]; /* len bytes and a NUL, cap bytes of room */
};

struct lnode {
	struct lnode *prev, *next;
	uint32_t len;
	char data[];
};

struct lobj { /* T_LIST */
	struct obj h;
	struct lnode *head, *tail;
	size_t len;
};

struct hobj { /* T_HASH: field -> value (v.p is a struct bstr *) */
	struct obj h;
	struct dict d;
};

struct bstr { /* a counted string on its own */
	uint32_t len;
	char data[];
};

struct setobj { /* T_SET: members are keys, v unused */
	struct obj h;
	struct dict d;
};

#define ZSL_MAXLEVEL 32
struct zsl_node {
	double score;
	struct zsl_node *back;
	char *ele; /* the member: the dict entry's key, which outlives the node */
	uint32_t elen;
	uint32_t nlevel;
	struct zsl_level {
		struct zsl_node *fwd;
		unsigned long span;
	} level[];
};

struct zobj { /* T_ZSET: dict member -> node (v.p), and a skiplist by score */
	struct obj h;
	struct dict d;
	struct zsl_node *head, *tail;
	unsigned long len;
	int level;
};

struct sobj *str_new(struct kvd *kv, const char *p, size_t n);
struct sobj *str_from_ll(struct kvd *kv, long long v);
/* Make room for len bytes (keeps content); returns the moved object. */
struct sobj *str_grow(struct kvd *kv, struct sobj *s, size_t len);
struct bstr *bstr_new(struct kvd *kv, const char *p, size_t n);
void bstr_free(struct kvd *kv, struct bstr *b);
struct obj *obj_new(struct kvd *kv, int type);
void obj_free(struct kvd *kv, struct obj *o);
size_t obj_mem(const struct obj *o); /* bytes it holds (approximate for big) */
const char *obj_type_name(int type);
const char *obj_encoding(struct kvd *kv, const struct obj *o);
size_t obj_len(const struct obj *o); /* elements, or string length */

/* list */
void list_push(struct kvd *kv, struct lobj *l, const char *p, size_t n, bool head);
/* A new node of p[0..n) next to at: after it if after, else before it; at
 * NULL: at the tail (after) or the head. */
void list_insert(struct kvd *kv, struct lobj *l, struct lnode *at, bool after, const char *p,
		 size_t n);
struct lnode *list_pop(struct lobj *l, bool head); /* caller frees with lnode_free */
void lnode_free(struct kvd *kv, struct lnode *n);
struct lnode *list_index(struct lobj *l, long long i);

/* zset */
struct zsl_node *zset_add(struct kvd *kv, struct zobj *z, const char *m, size_t n, double score);
void zset_update(struct kvd *kv, struct zobj *z, struct zsl_node *node, double score);
bool zset_del(struct kvd *kv, struct zobj *z, const char *m, size_t n);
unsigned long zset_rank(struct zobj *z, struct zsl_node *node); /* 1-based */
struct zsl_node *zset_by_rank(struct zobj *z, unsigned long rank); /* 1-based */
int zsl_cmp(const struct zsl_node *x, double score, const char *m, size_t n);

/* --- number.c: numbers as Redis reads and writes them ----------------------- */
int ll2str(char *buf, long long v); /* returns length */
/* The whole string must be a canonical integer ("12", "-3"; not "+1",
 * " 1", "01", "1.0"): true and *v, or false. */
bool str2ll(const char *s, size_t n, long long *v);
/* strtod-like, whole string, no leading space; "inf" allowed, nan not;
 * overflow and underflow to zero refused. */
bool str2d(const char *s, size_t n, double *v);
bool str2ld(const char *s, size_t n, long double *v);
/* %.17g of d (inf as "inf"): returns length. */
int d2str(char *buf, size_t size, double d);
/* %.17Lf with trailing zeros (and a bare '.') removed, "-0" as "0". */
int ld2str_human(char *buf, size_t size, long double d);
/* %.17Lg of d */
int ld2str_g(char *buf, size_t size, long double d);
/* "100mb" and friends, as Redis's memtoll: false on a bad string. */
bool str2mem(const char *s, long long *v);

/* --- glob.c ----------------------------------------------------------------- */
bool glob_match(const char *pat, size_t plen, const char *s, size_t slen, bool nocase);

/* --- resp.c: replies -------------------------------------------------------- */
void reply_raw(struct kvd_client *c, const void *p, size_t n);
void reply_status(struct kvd_client *c, const char *s);
void reply_ok(struct kvd_client *c);
void reply_error(struct kvd_client *c, const char *msg); /* "ERR ..." added if no code */
void reply_errorf(struct kvd_client *c, const char *fmt, ...);
void reply_ll(struct kvd_client *c, long long v);
void reply_bulk(struct kvd_client *c, const char *p, size_t n);
void reply_cstr(struct kvd_client *c, const char *s);
void reply_bulk_ll(struct kvd_client *c, long long v);
void reply_null(struct kvd_client *c);      /* $-1 or _ */
void reply_null_array(struct kvd_client *c); /* *-1 or _ */
void reply_array(struct kvd_client *c, long long n);
void reply_map(struct kvd_client *c, long long n);  /* n pairs */
void reply_set(struct kvd_client *c, long long n);
void reply_push(struct kvd_client *c, long long n); /* pubsub message header */
void reply_double(struct kvd_client *c, double d);
void reply_bool(struct kvd_client *c, bool b);
void reply_verbatim(struct kvd_client *c, const char *p, size_t n); /* INFO etc. */
/* An array whose length is known only at the end. */
size_t reply_defer(struct kvd_client *c);
void reply_defer_array(struct kvd_client *c, size_t at, long long n);
void reply_defer_map(struct kvd_client *c, size_t at, long long n);
void reply_defer_set(struct kvd_client *c, size_t at, long long n);

void reply_wrongtype(struct kvd_client *c);
void reply_syntax(struct kvd_client *c);
void reply_notint(struct kvd_client *c);
void reply_notfloat(struct kvd_client *c);
void reply_arity(struct kvd_client *c, const char *name);
void reply_oom(struct kvd_client *c);

/* --- the server --------------------------------------------------------------- */
struct arg {
	char *p; /* NUL-terminated (the parser puts it there) */
	size_t n;
};

struct db {
	struct dict keys;     /* key -> struct obj * */
	struct dict expires;  /* key -> expiry, ms (v.i) */
	struct dict blocking; /* key -> struct waitq * (clients in BLPOP on it) */
	struct dict watched;  /* key -> struct watchq * (clients that WATCH it) */
	int id;
	uint64_t avg_ttl;
	uint64_t expire_cursor;
};

/* Clients that wait on one key, oldest first. */
struct waiter {
	struct waiter *next;
	struct kvd_client *c;
};
struct waitq {
	struct waiter *head, *tail;
};
/* Clamp [start, end] (negative: from the end) to a sequence of len: false
 * if nothing is left. */
bool clamp_range(long long len, long long *start, long long *end);
/* Queue c on key's waitq in d (made on first use) / take it off (the queue
 * and its entry go when empty). */
void waitq_add(struct kvd *kv, struct dict *d, const char *key, size_t n, struct kvd_client *c);
void waitq_remove(struct kvd *kv, struct dict *d, const char *key, size_t n, struct kvd_client *c);

struct cmd;
typedef void cmd_fn(struct kvd_client *c);

enum { /* command flags */
       CMD_WRITE = 1 << 0,
       CMD_READONLY = 1 << 1,
       CMD_DENYOOM = 1 << 2,
       CMD_ADMIN = 1 << 3,
       CMD_PUBSUB = 1 << 4,
       CMD_NOSCRIPT = 1 << 5,
       CMD_BLOCKING = 1 << 6,
       CMD_LOADING = 1 << 7,
       CMD_STALE = 1 << 8,
       CMD_FAST = 1 << 9,
       CMD_NOMULTI = 1 << 10, /* not queued inside MULTI (EXEC, DISCARD, WATCH...) */
       CMD_SUBOK = 1 << 11,   /* allowed while subscribed (RESP2) */
       CMD_OWNTOUCH = 1 << 12, /* the handler touches WATCHed keys itself (SMOVE) */
       CMD_DENYMULTI = 1 << 13, /* refused inside MULTI (SAVE, SHUTDOWN), as Redis */
};

struct cmd {
	const char *name;
	cmd_fn *fn;
	int arity; /* N: exactly N args with the name; -N: at least N */
	int flags;
	int first, last, step; /* key positions, for COMMAND */
	const char *group;     /* for COMMAND DOCS and doc/kvd.md */
	unsigned long long calls, usec;
};

struct queued { /* a command queued by MULTI */
	struct cmd *cmd;
	int argc;
	struct arg *argv;
};

struct kvd_client {
	struct kvd *kv;
	void *conn;
	struct kvd_client *prev, *next;        /* all clients */
	struct kvd_client *pend_next;        /* clients with output to send */
	bool pending, closing, listed;
	uint64_t id;
	char addr[48];
	char *name; /* CLIENT SETNAME, NUL-terminated, or NULL */
	int resp;   /* 2 or 3 */
	struct db *db;
	uint64_t ctime, atime; /* ms */
	struct cmd *last_cmd;

	/* input: the parser's state over qbuf */
	struct buf qbuf;
	size_t qpos;      /* start of the command being parsed */
	size_t qscan;      /* where parsing resumes */
	long long mb_left;   /* bulks still to read of a *N command; -1 none */
	long long bulk_len;  /* length of the bulk being read; -1 header */
	int argc, argv_cap;
	size_t *arg_off, *arg_len; /* offsets into qbuf of the args so far */
	struct arg *argv;    /* the command being run */
	bool inline_cmd;
	long long consumed; /* bytes of whole commands taken from qbuf */

	struct buf out; /* replies not yet handed to hooks.send */
	/* CLIENT REPLY: OFF drops every reply; SKIP drops the next command's */
	bool reply_off, reply_skip, reply_skip_next;

	/* MULTI */
	bool in_multi, multi_dirty, cas_dirty, in_exec;
	int nqueued, queued_cap;
	struct queued *queued;
	struct dict watching; /* "db:key" -> 1, for UNWATCH */

	/* blocking list pops */
	bool blocked;
	struct db *bdb;
	int bnkeys;
	struct arg *bkeys; /* copies */
	uint64_t btimeout; /* ms, 0 = forever */
	int bwhere;    /* 0 left, 1 right; for BLMOVE: +2 * dst side */
	struct arg bdst;   /* BLMOVE destination, or n == 0 */
	long long bcount;  /* BLMPOP's or BZMPOP's COUNT; 0: the one-element forms */
	int btype;    /* T_LIST or T_ZSET: the kind of key it waits for */
	bool bmove;
	struct kvd_client *unblocked_next;

	/* pubsub */
	struct dict channels; /* channel -> unused */
	struct dict patterns; /* pattern -> unused */

	/* the current command's replacement in the log, if any */
	int prop_argc;
	struct arg *prop_argv;
	bool prop_none;
};

struct config_vals {
	long long maxmemory;
	int maxmemory_policy; /* EVICT_* */
	int maxmemory_samples;
	long long proto_max_bulk_len;
	long long client_query_buffer_limit;
	int hz;
	int appendonly;
	int appendfsync; /* FSYNC_* */
	long long auto_aof_rewrite_percentage;
	long long auto_aof_rewrite_min_size;
	int maxclients;
	long long timeout;
	int databases;
	int list_max_listpack_size;
	int list_compress_depth; /* accepted for Redis's tests; lists are not compressed */
	int hash_max_listpack_entries, hash_max_listpack_value;
	int set_max_intset_entries;
	int zset_max_listpack_entries, zset_max_listpack_value;
	int lazyfree_lazy_user_del;
	long long slowlog_log_slower_than;
	long long slowlog_max_len;
	int save_dummy;
	int active_expire_enabled;
	int notify_dummy;
};

enum {
	EVICT_NONE,
	EVICT_ALLKEYS_LRU,
	EVICT_VOLATILE_LRU,
	EVICT_ALLKEYS_RANDOM,
	EVICT_VOLATILE_RANDOM,
	EVICT_VOLATILE_TTL,
	EVICT_ALLKEYS_LFU,
	EVICT_VOLATILE_LFU
};
enum { FSYNC_NO, FSYNC_EVERYSEC, FSYNC_ALWAYS };

struct pattern_sub {
	struct pattern_sub *next;
	struct kvd_client *c;
	uint32_t plen;
	char pat[];
};

struct kvd {
	struct kvd_hooks h;
	uint64_t sip_k0, sip_k1;
	size_t used;    /* bytes allocated through mem_alloc */
	size_t peak;
	struct db dbs[KVD_DBS];
	struct dict commands; /* lower-case name -> struct cmd * */
	struct config_vals cfg;
	uint64_t next_client_id;
	struct kvd_client *clients;
	unsigned long nclients;
	struct kvd_client *pending;   /* clients with output to send */
	struct kvd_client *unblocked; /* to resume reading after a command */
	struct kvd_client *current;   /* running a command */
	unsigned long nblocked;
	struct dict ready_keys;  /* "dbid:key" of lists that got elements */
	/* ... in the order they did (v.p links each entry to the next), so
	 * clients are served key by key as Redis does */
	struct dent *ready_head, *ready_tail;
	struct dict pubsub_channels; /* channel -> struct waitq * */
	struct pattern_sub *patterns;
	unsigned long npatterns;
	uint64_t start_ms;
	uint64_t now_ms; /* cached at each entry point */
	long long dirty; /* changes since the last save */
	long long last_save; /* seconds */

	/* stats */
	unsigned long long stat_conns, stat_cmds, stat_expired, stat_evicted;
	unsigned long long stat_hits, stat_misses, stat_rejected, stat_net_in, stat_net_out;
	unsigned long long stat_expired_stale, stat_pubsub_msgs;
	/* cycles (hooks.cycles) in kvd_client_feed, in commands (from
	 * looking the name up to the reply buffered), and in handing replies
	 * to the runner (flush_pending) */
	unsigned long long cyc_feed, cyc_cmd, cyc_reply;

	/* the append-only log */
	struct buf aof_buf;
	int aof_db; /* db of the last SELECT written, -1 none */
	bool aof_on;
	uint64_t aof_last_sync;
	long long aof_size, aof_base_size;
	long long aof_rewrites;
	int aof_last_write_status; /* 0 ok, -1 failed */
	bool loading;
	struct buf load_buf;
	long long load_valid; /* bytes of the log applied */
	struct kvd_client *loader;
	const char *load_error;
	bool shutting_down;
	bool serving; /* loaded, or a client came: CONFIG appendonly now rewrites */
};

/* the clock in Redis's "LRU" seconds */
static inline uint32_t kv_lru_clock(struct kvd *kv)
{
	return (uint32_t)(kv->now_ms / 1000);
}

/* server.c */
struct cmd *cmd_lookup(struct kvd *kv, const char *name, size_t n);
void call(struct kvd_client *c, struct cmd *cmd);
void client_flush_later(struct kvd_client *c);
void client_close_later(struct kvd_client *c);
void flush_pending(struct kvd *kv);
void client_process_input(struct kvd_client *c);
void kv_log(struct kvd *kv, const char *fmt, ...);
bool arg_eq(const struct arg *a, const char *s); /* case-insensitive */
void propagate_as(struct kvd_client *c, int argc, ...); /* const char * pairs (p, n) */
void propagate_argv(struct kvd_client *c, int argc, struct arg *argv);
void propagate_none(struct kvd_client *c);
bool arg_ll(struct kvd_client *c, const struct arg *a, long long *v); /* replies error */
bool arg_ll_range(struct kvd_client *c, const struct arg *a, long long min, long long max,
		  long long *v, const char *msg);
bool arg_double(struct kvd_client *c, const struct arg *a, double *v);
bool arg_ld(struct kvd_client *c, const struct arg *a, long double *v);
int client_argc(struct kvd_client *c);
/* Each cmd_*.c file's table, ended by a NULL name. */
extern struct cmd cmds_string[], cmds_keys[], cmds_server[], cmds_list[], cmds_hash[], cmds_set[],
	cmds_zset[], cmds_multi[], cmds_pubsub[];
extern struct cmd cmds_bit[], cmds_dump[], cmds_zsetop[], cmds_sort[], cmds_lcs[];
void process_command(struct kvd_client *c);
void scan_generic(struct kvd_client *c, struct dict *d, int kind, int first);
void config_set_command(struct kvd_client *c);

/* db.c */
struct obj *db_lookup_read(struct kvd_client *c, const struct arg *key);
struct obj *db_lookup_write(struct kvd_client *c, const struct arg *key);
struct obj *db_get(struct kvd *kv, struct db *db, const char *k, size_t n); /* expires lazily */
struct dent *db_find(struct kvd *kv, struct db *db, const char *k, size_t n);
void db_add(struct kvd *kv, struct db *db, const struct arg *key, struct obj *o);
/* Set key to o (replacing any value); keep_ttl false drops the expiry. */
void db_set(struct kvd *kv, struct db *db, const struct arg *key, struct obj *o, bool keep_ttl);
/* Replace the value of an existing entry (keeps its expiry). */
void db_replace(struct kvd *kv, struct dent *e, struct obj *o);
bool db_delete(struct kvd *kv, struct db *db, const char *k, size_t n);
void db_set_expire(struct kvd *kv, struct db *db, const char *k, size_t n, long long when);
long long db_get_expire(struct kvd *kv, struct db *db, const char *k, size_t n); /* -1 none */
bool db_remove_expire(struct kvd *kv, struct db *db, const char *k, size_t n);
void db_flush(struct kvd *kv, struct db *db);
void db_active_expire(struct kvd *kv);
void signal_modified(struct kvd *kv, struct db *db, const char *k, size_t n);
void signal_list_ready(struct kvd *kv, struct db *db, const char *k, size_t n);
bool evict_if_needed(struct kvd *kv); /* false: still over maxmemory */
struct obj *lookup_typed(struct kvd_client *c, const struct arg *key, int type, bool *wrong);
bool keyspace_check_type(struct kvd_client *c, struct obj *o, int type);

/* blocking.c */
void block_client(struct kvd_client *c, struct arg *keys, int nkeys, uint64_t timeout, int where,
		  const struct arg *dst);
/* BZPOPMIN/BZMPOP's reply and log: count members from the min or max end
 * (count 0: one, as [key, member, score]); the caller deletes an empty z. */
void zmpop_reply(struct kvd_client *c, struct db *db, const struct arg *key, struct zobj *z,
		 long long count, bool max);
/* BLMPOP's reply and log for n elements popped from list l at key. */
void mpop_reply(struct kvd_client *c, struct db *db, const struct arg *key, struct lobj *l,
		long long count, bool left);
void unblock_client(struct kvd_client *c, bool timed_out);
void serve_ready_keys(struct kvd *kv);
void blocked_timeouts(struct kvd *kv);
bool parse_timeout(struct kvd_client *c, const struct arg *a, uint64_t *when);
/* The arguments of LMPOP/ZMPOP and their blocking forms ([timeout] numkeys
 * key... SIDE [COUNT n], numkeys at argv[at]): SIDE is first or second
 * (*is_second says which), *count 1 when absent. False after replying
 * with the error, checked in Redis's order. */
bool mpop_args(struct kvd_client *c, int at, bool block, const char *first, const char *second,
	       long long *nkeys, bool *is_second, long long *count, uint64_t *when);

/* multi.c */
void multi_queue(struct kvd_client *c, struct cmd *cmd);
void multi_discard(struct kvd_client *c);
void unwatch_all(struct kvd_client *c);
void touch_watched(struct kvd *kv, struct db *db, const char *k, size_t n);
/* Every watched key of db that exists there or in `other` (SWAPDB: the key
 * will exist after the swap; may be NULL) loses its transaction. */
void touch_all_watched(struct kvd *kv, struct db *db, struct db *other);

/* pubsub.c */
void pubsub_unsubscribe_all(struct kvd_client *c, bool notify);
unsigned long client_subscriptions(struct kvd_client *c);

/* aof.c */
void aof_feed(struct kvd *kv, int dbid, int argc, const struct arg *argv);
void aof_flush(struct kvd *kv, bool force_sync);
void aof_tick(struct kvd *kv);
int aof_rewrite(struct kvd *kv);
void aof_start(struct kvd *kv);

/* info.c */
void info_generate(struct kvd *kv, struct buf *b, int nsections, const struct arg *sections);

/* config.c */
int config_set(struct kvd *kv, const char *name, const char *val, const char **why);
void config_defaults(struct config_vals *cfg);
void config_get(struct kvd_client *c, int npat, struct arg *pats);

/* helpers for numbers of keys: */
static inline bool is_volatile_policy(int p)
{
	return p == EVICT_VOLATILE_LRU || p == EVICT_VOLATILE_RANDOM || p == EVICT_VOLATILE_TTL ||
	       p == EVICT_VOLATILE_LFU;
}

#endif
