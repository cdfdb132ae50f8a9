/*
 * httpd's core: an HTTP/1.1 static-file server (RFC 9110, RFC 9112) with no
 * I/O of its own. This header is the interface between the core and the
 * driver that runs it: on Exo, the appliance library OS's TCP and file
 * system; on a POSIX host, tools/httpd-host (sockets, epoll, a directory).
 *
 * The core reaches the machine only through struct http_hooks: file lookup,
 * reading and listing, the clock, memory, and the access log. The driver
 * owns the connections' transport and calls in:
 *
 *	srv = http_server_new(&config, &hooks);
 *	c = http_accept(srv, "10.0.2.2:41234");      NULL at the connection limit
 *	n = http_conn_recv_space(c, &buf);           read at most n bytes into buf,
 *	http_conn_received(c, got);                  then say how many arrived
 *	n = http_conn_output(c, iov, max, &fin);     bytes to send, in order
 *	http_conn_sent(c, bytes);                    as the transport takes them
 *	http_conn_events(c), http_conn_deadline(c), http_conn_timer(c)
 *	http_conn_free(c)                            when events say CLOSE
 *
 * Response bodies from the file cache are handed out as references into
 * cache objects, which are immutable while any reference is held: a
 * transport may keep such a reference (http_obj_hold/release) as its
 * retransmission copy instead of copying into a socket buffer (Cheetah's
 * merged file cache and retransmission pool), and may use the object's
 * precomputed checksums (http_obj_sum) instead of reading its bytes.
 *
 * Hostile input: everything a client sends is bounded (HTTP_HEAD_MAX ...)
 * and checked before use; a bad request gets a status code and a body
 * saying why, and never more memory or time than these limits allow.
 * Not thread-safe: one driver thread runs a server and its connections.
 */
#ifndef EXO_HTTPD_HTTP_H
#define EXO_HTTPD_HTTP_H

#include <inc/types.h>

/* Limits on what a client may send (each answered with its status code). */
#define HTTP_HEAD_MAX 8192     /* request line and header fields: 431 beyond */
#define HTTP_LINE_MAX 4096     /* the request line alone: 414 beyond */
#define HTTP_PATH_MAX 1024     /* the decoded path: 414 beyond */
#define HTTP_FIELDS_MAX 100    /* header fields: 431 beyond */
#define HTTP_BODY_MAX 65536    /* a request body, read and dropped: 413 beyond */

/* Errors the file hooks return (negative), besides a file's absence. */
#define HTTP_ENOENT 1 /* no such file: 404 */
#define HTTP_EACCES 2 /* not to be served: 404 too (we do not say why) */
#define HTTP_EIO 3    /* the file system failed: 500 */

struct http_stat {
	uint64_t hs_size;
	int64_t hs_mtime; /* seconds since 1970-01-01 UTC */
	bool hs_is_dir;
};

/* A directory listing's callback: one entry (not "." or ".."). */
typedef void http_list_fn(void *arg, const char *name, bool is_dir);

struct http_hooks {
	void *ctx; /* passed to every hook */
	/* path is decoded and normalised: it starts with '/', has no "." or ".."
	 * segment, no NUL, and is at most HTTP_PATH_MAX bytes. 0 or -HTTP_E*. */
	int (*stat)(void *ctx, const char *path, struct http_stat *st);
	/* Up to len bytes of the file at off: the count (0 at its end) or -HTTP_E*. */
	long (*read)(void *ctx, const char *path, uint64_t off, void *buf, size_t len);
	/* Calls each(arg, ...) for each entry of the directory: 0 or -HTTP_E*. */
	int (*list)(void *ctx, const char *path, http_list_fn *each, void *arg);
	int64_t (*now_ms)(void *ctx);  /* a monotonic clock, milliseconds */
	int64_t (*wall_s)(void *ctx);  /* seconds since 1970-01-01 UTC */
	void *(*alloc)(void *ctx, size_t size); /* NULL when out of memory */
	void (*free)(void *ctx, void *p);
	/* One access-log line, ending in '\n'; NULL: no access log (and no
	 * time spent making its lines). */
	void (*log)(void *ctx, const char *line, size_t len);
	/* Optional (NULL: none). --group: the n files (regular, each path as
	 * for stat) are about to be read, one after another: fetch them from
	 * the disk together. Only a hint: read must still work without it. */
	void (*group)(void *ctx, const char *const *paths, int n);
	/* Optional: the driver's own lines for /status (its disk, its
	 * network), written into buf: how many bytes (at most size). */
	size_t (*status)(void *ctx, char *buf, size_t size);
};

/* The server's settings (http_config_parse reads them from flags). */
struct http_config {
	uint16_t port;
	const char *root;        /* the document root, for the driver's hooks */
	const char *log_path;    /* where the driver writes the access log, or NULL */
	unsigned max_conns;      /* http_accept refuses beyond this */
	bool cache;              /* serve from the merged file cache */
	bool csum;               /* precompute payload checksums at cache fill */
	bool merge;              /* header, body and FIN in one send where they fit */
	bool offload;            /* let the NIC segment and checksum (a TAP device) */
	bool group;              /* read a page's embedded objects with it */
	uint64_t cache_bytes;    /* the cache's capacity */
	uint64_t cache_file_max; /* larger files bypass the cache */
	unsigned csum_chunk;     /* bytes per precomputed checksum: the TCP MSS */
	unsigned request_ms;     /* a request's head must arrive within this: 408 */
	unsigned idle_ms;        /* a keep-alive connection may idle this long */
	unsigned send_ms;        /* a client that reads nothing this long is dropped */
};

/* The defaults, then the flags (see doc/httpd.md; -h lists them). 0, or -1
 * with the reason in err. */
void http_config_default(struct http_config *cfg);
int http_config_parse(struct http_config *cfg, int argc, char **argv, char *err, size_t errsize);
extern const char http_usage[];

/* What the server counted, for /status. */
struct http_stats {
	uint64_t conns_open, conns_total, conns_refused;
	uint64_t requests, responses[6]; /* responses[k]: status k00 to k99 */
	uint64_t bytes_out, body_bytes_out;
	uint64_t cache_hits, cache_misses, cache_fills, cache_evictions;
	uint64_t cache_bytes, cache_objects, csum_bytes;
	uint64_t timeouts_request, timeouts_idle, timeouts_send;
	uint64_t group_pages, group_objects, group_refused; /* --group */
};

struct http_server;
struct http_conn;
struct http_obj;

struct http_server *http_server_new(const struct http_config *cfg, const struct http_hooks *hooks);
/* Every connection must have been freed first. */
void http_server_free(struct http_server *srv);
const struct http_stats *http_server_stats(const struct http_server *srv);

/* A new connection from peer (text for the log), or NULL at the limit. */
struct http_conn *http_accept(struct http_server *srv, const char *peer);
void http_conn_free(struct http_conn *c);

/* Where to put received bytes: *buf and how many fit (0: none now, wait for
 * output to drain). */
size_t http_conn_recv_space(struct http_conn *c, char **buf);
/* n bytes arrived in the space given; the requests they complete are served. */
void http_conn_received(struct http_conn *c, size_t n);
/* The peer will send nothing more. */
void http_conn_peer_closed(struct http_conn *c);

/* A piece of output. obj is NULL for bytes of the connection's own (valid
 * until http_conn_sent takes them), or the cache object whose immutable data
 * holds them, at offset off. */
struct http_iov {
	const void *base;
	size_t len;
	struct http_obj *obj;
	uint64_t off;
};
/* Up to max pieces of what is to be sent next, in order; returns how many.
 * *fin is set when the connection ends after them (the transport may put
 * its FIN in their last segment). */
int http_conn_output(struct http_conn *c, struct http_iov *iov, int max, bool *fin);
/* The transport took n bytes of that output. */
void http_conn_sent(struct http_conn *c, size_t n);

#define HTTP_WANT_READ 1  /* room for input */
#define HTTP_WANT_WRITE 2 /* output is waiting */
#define HTTP_WANT_CLOSE 4 /* done: close and http_conn_free */
#define HTTP_WANT_FIN 8   /* the last response is out: send a FIN (once),
			   * and go on reading until CLOSE */
unsigned http_conn_events(const struct http_conn *c);
/* When http_conn_timer must next run (the now_ms clock), or INT64_MAX. */
int64_t http_conn_deadline(const struct http_conn *c);
/* Acts on whatever deadline passed: 408, or closing an idle connection. */
void http_conn_timer(struct http_conn *c);

/* Cache objects, for the transport: hold one while it may retransmit from
 * it. http_obj_sum is the 16-bit one's-complement sum of the object's bytes
 * [off, off+len), as lib/net's csum_add would compute it (little-endian
 * words, folded, not complemented): the precomputed chunk sums when the range
 * is made of whole chunks, the chunks' sums and the ragged ends otherwise. */
void http_obj_hold(struct http_obj *o);
void http_obj_release(struct http_obj *o);
uint16_t http_obj_sum(const struct http_obj *o, uint64_t off, uint64_t len);

/* Exposed for tests: the straightforward checksum of a buffer, as above. */
uint16_t http_csum(const void *data, size_t len);

#endif
