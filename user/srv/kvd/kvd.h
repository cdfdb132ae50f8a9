/*
 * kvd: a key-value server that speaks Redis's protocol (RESP2, and RESP3 after
 * HELLO 3). This header is the engine's public interface, for whoever runs it
 * (user/srv/kvd/exo.c on Exo, tools/kvd-host on POSIX sockets, and the host
 * unit tests in test/test_kvd*.c).
 *
 * The engine is pure and single-threaded: it never touches the machine
 * itself. Everything it needs from outside comes through struct kvd_hooks:
 * the time, memory, random numbers, bytes to send to a client, closing a
 * connection, and the append-only log. The runner owns the connections; it
 * hands the engine each client's bytes as they arrive (kvd_client_feed),
 * calls kvd_tick about every 100 ms (expiry, blocked-client timeouts, the
 * everysec fsync, compaction), and tells it when a connection went away.
 *
 * Ownership: the engine owns every byte of data it holds and frees it in
 * kvd_destroy; a struct kvd_client is the engine's and stays valid until
 * kvd_client_gone. The runner's `conn` pointer is opaque here.
 *
 * Hostile input: any byte sequence from a client is answered by a reply or a
 * protocol error after which the engine asks the runner (hooks.close) to drop
 * that connection; nothing a client sends can make the engine read or write
 * out of bounds, or affect another client beyond the commands it runs.
 */
#ifndef KVD_KVD_H
#define KVD_KVD_H

#include <inc/types.h>

struct kvd;
struct kvd_client;

struct kvd_hooks {
	void *ctx; /* passed back to every hook */
	/* Milliseconds on a clock that never goes back (Unix time if it can). */
	uint64_t (*now_ms)(void *ctx);
	/* Memory: alloc returns NULL when there is none; release gets the size
	 * that was asked for, so any allocator can back it. */
	void *(*alloc)(void *ctx, size_t n);
	void (*release)(void *ctx, void *p, size_t n);
	uint64_t (*random)(void *ctx);
	/* Bytes for a client; the runner queues what it cannot send at once. */
	void (*send)(void *ctx, void *conn, const void *buf, size_t n);
	/* Close conn once its queued bytes are sent, then call kvd_client_gone. */
	void (*close)(void *ctx, void *conn);
	/* SHUTDOWN: the runner stops serving (after kvd_destroy if it likes). */
	void (*shutdown)(void *ctx);
	/*
	 * The append-only log (all may be NULL: no persistence). log_append
	 * adds bytes at the end and log_sync makes them durable; each returns 0
	 * or -1. Compaction writes a whole new log with rewrite_append and then
	 * rewrite_commit replaces the old one atomically (rename), after which
	 * log_append goes to the new one; rewrite_abort throws it away.
	 */
	int (*log_append)(void *ctx, const void *buf, size_t n);
	int (*log_sync)(void *ctx);
	int (*rewrite_begin)(void *ctx);
	int (*rewrite_append)(void *ctx, const void *buf, size_t n);
	int (*rewrite_commit)(void *ctx);
	void (*rewrite_abort)(void *ctx);
	/* A line for the server's log (may be NULL). */
	void (*log_line)(void *ctx, const char *line);
	/* CPU time the process has used, user and system, in microseconds, for
	 * INFO's CPU section (may be NULL: the section is then empty). */
	void (*cpu_usec)(void *ctx, uint64_t *user, uint64_t *sys);
	/* A cycle counter (the TSC), for the time the engine spends parsing,
	 * running commands and handing replies over (INFO's Runner section;
	 * may be NULL: no timing). */
	uint64_t (*cycles)(void *ctx);
	/* INFO's Runner section (INFO runner, all, everything): the runner's
	 * own "field:value\r\n" lines, at most cap bytes into out; returns
	 * the bytes written (may be NULL: only the engine's timing lines). */
	size_t (*info_runner)(void *ctx, char *out, size_t cap);
};

struct kvd *kvd_new(const struct kvd_hooks *hooks);
void kvd_destroy(struct kvd *kv);

/* Configuration by name, as CONFIG SET takes it ("maxmemory", "100mb"):
 * 0, or -1 with a message in *why. */
int kvd_config_set(struct kvd *kv, const char *name, const char *value, const char **why);

/*
 * Recovery: before serving, the runner feeds the old log's bytes in order
 * (any chunking) to kvd_load, then calls kvd_load_end, which returns how many
 * bytes formed whole commands: a torn tail (a power cut mid-write) is dropped,
 * and the runner truncates the log to that length. Returns -1 when the log is
 * damaged before its tail (a command that fails, not just a short one), with
 * a message in *why.
 */
int kvd_load(struct kvd *kv, const void *buf, size_t n);
long long kvd_load_end(struct kvd *kv, const char **why);

/* A new connection: `conn` is the runner's; `addr` ("ip:port") is shown by
 * CLIENT LIST. NULL when memory ran out. */
struct kvd_client *kvd_client_new(struct kvd *kv, void *conn, const char *addr);
void kvd_client_feed(struct kvd_client *c, const void *buf, size_t n);
/* The connection is gone (closed by either side): forget the client. */
void kvd_client_gone(struct kvd_client *c);

/* Periodic work; the runner calls it every 1000 / hz ms (kvd_hz). */
void kvd_tick(struct kvd *kv);
int kvd_hz(const struct kvd *kv);

/* Bytes the engine holds now (what INFO calls used_memory). */
size_t kvd_used_memory(const struct kvd *kv);

#endif
