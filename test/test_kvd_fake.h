/*
 * The fake runner that kvd's host unit tests (test/test_kvd*.c) drive the
 * engine with: a clock the test moves (F.now), counted malloc (F.allocs
 * must come back to 0), a seeded generator, a recorded output per client
 * (struct out), and an in-memory append-only log (F.log).
 *
 * new_kv() makes an engine on these hooks; raw() feeds bytes and returns
 * the reply; cmd() does the same for one inline command.
 */
#ifndef TEST_KVD_FAKE_H
#define TEST_KVD_FAKE_H

struct fake {
	uint64_t now;
	long allocs;
	uint64_t rng;
	char log[1 << 16];
	size_t log_len;
	int closes, shutdowns;
};

struct out {
	char buf[1 << 16];
	size_t len;
	bool closed;
};

static struct fake F;

static uint64_t f_now(void *ctx)
{
	return F.now;
}
static void *f_alloc(void *ctx, size_t n)
{
	F.allocs++;
	return malloc(n);
}
static void f_release(void *ctx, void *p, size_t n)
{
	F.allocs--;
	free(p);
}
static uint64_t f_random(void *ctx)
{
	F.rng = F.rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return F.rng >> 11;
}
static void f_send(void *ctx, void *conn, const void *buf, size_t n)
{
	struct out *o = conn;
	if (o->len + n < sizeof(o->buf)) {
		memcpy(o->buf + o->len, buf, n);
		o->len += n;
		o->buf[o->len] = '\0';
	}
}
static void f_close(void *ctx, void *conn)
{
	((struct out *)conn)->closed = true;
	F.closes++;
}
static void f_shutdown(void *ctx)
{
	F.shutdowns++;
}
static int f_log_append(void *ctx, const void *buf, size_t n)
{
	if (F.log_len + n > sizeof(F.log))
		return -1;
	memcpy(F.log + F.log_len, buf, n);
	F.log_len += n;
	return 0;
}
static int f_log_sync(void *ctx)
{
	return 0;
}

static inline struct kvd *new_kv(bool with_log)
{
	memset(&F, 0, sizeof(F));
	F.now = 1700000000000ULL;
	F.rng = 42;
	struct kvd_hooks h = { .now_ms = f_now,
			       .alloc = f_alloc,
			       .release = f_release,
			       .random = f_random,
			       .send = f_send,
			       .close = f_close,
			       .shutdown = f_shutdown };
	if (with_log) {
		h.log_append = f_log_append;
		h.log_sync = f_log_sync;
	}
	return kvd_new(&h);
}

/* Send raw bytes and return what came back (and clear it). */
static inline const char *raw(struct kvd_client *c, struct out *o, const char *bytes)
{
	static char last[1 << 16];
	o->len = 0;
	o->buf[0] = '\0';
	kvd_client_feed(c, bytes, strlen(bytes));
	memcpy(last, o->buf, o->len + 1);
	return last;
}

/* An inline command's reply. */
static inline const char *cmd(struct kvd_client *c, struct out *o, const char *line)
{
	char b[4096];
	snprintf(b, sizeof(b), "%s\r\n", line);
	return raw(c, o, b);
}

#endif
