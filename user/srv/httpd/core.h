/*
 * Between the files of httpd's core (http.h is its outside interface): the
 * parsed request (parse.c), HTTP dates (date.c), the file cache (cache.c),
 * building responses (respond.c) and the server's state (conn.c). Host
 * tests include this too, to drive each piece alone.
 */
#ifndef EXO_HTTPD_CORE_H
#define EXO_HTTPD_CORE_H

#include <user/srv/httpd/http.h>

/* --- parse.c --- */
enum http_method { HTTP_GET, HTTP_HEAD, HTTP_OTHER_KNOWN, HTTP_UNKNOWN };

enum http_range_kind {
	RANGE_NONE,    /* no Range, or one we ignore (not bytes, malformed, several) */
	RANGE_FROM,    /* bytes=first-last, or first- (last = UINT64_MAX) */
	RANGE_SUFFIX,  /* bytes=-n: the last n bytes */
};

struct http_request {
	enum http_method method;
	int minor;        /* HTTP/1.minor: 0 or 1 (1.2 and later count as 1) */
	bool keep_alive;  /* the connection persists after the response */
	char path[HTTP_PATH_MAX + 1]; /* decoded and normalised */
	bool has_query;
	bool has_ims;     /* If-Modified-Since, as seconds */
	int64_t ims;
	enum http_range_kind range;
	uint64_t range_first, range_last; /* RANGE_SUFFIX: range_first is n */
	bool has_if_range;    /* If-Range: a date (an entity tag never matches) */
	int64_t if_range;     /* -1 when it was not a date */
	uint64_t body_len;    /* Content-Length of a body to read and drop */
	size_t head_len;      /* the head's length, once its end was found */
	char line[160];       /* the request line, cut short, for the log */
};

/* Parses the request head at the start of buf[0..len). Returns the head's
 * length (request line through the empty line) when it is complete and
 * good, 0 when more bytes are needed, or -status for a bad request (400,
 * 405, 413, 414, 431, 501, 505); then req->keep_alive tells whether the
 * connection may go on after the error (it may when framing is intact: the
 * next request starts req->head_len + req->body_len bytes on) and req->line
 * holds what could be read of the request line. */
long http_parse_request(const char *buf, size_t len, struct http_request *req);

/* Decodes %XX once and normalises the path part of a request target: 0, or
 * -400 (bad escape, NUL, control byte, ".." segment) or -414 (too long). */
int http_decode_path(const char *target, size_t len, char *out, size_t outsize);

/* --- date.c --- */
#define HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */
/* Formats t as an IMF-fixdate into out[HTTP_DATE_LEN + 1]. */
void http_date_format(int64_t t, char *out);
/* Parses an HTTP-date in any of the three formats of RFC 9110 section 5.6.7
 * (IMF-fixdate, RFC 850, asctime): true and *t, or false. */
bool http_date_parse(const char *s, size_t len, int64_t *t);

/* --- cache.c --- */
struct http_cache;
struct http_obj {
	struct http_obj *o_next_hash, *o_lru_prev, *o_lru_next;
	struct http_cache *o_cache;
	char *o_path;        /* the key: the normalised path */
	uint8_t *o_data;     /* o_size bytes, immutable once filled */
	uint64_t o_size;
	int64_t o_mtime;
	uint16_t *o_sums;    /* one per o_chunk bytes, or NULL (csum off) */
	unsigned o_chunk;
	unsigned o_refs;     /* responses and transports using it */
	bool o_stale;        /* out of the table: freed when o_refs drops to 0 */
};
struct http_cache *http_cache_new(const struct http_hooks *hooks, uint64_t capacity,
				  uint64_t file_max, unsigned csum_chunk, struct http_stats *stats);
void http_cache_free(struct http_cache *cache);
/* The object for path, filled if need be, held for the caller; NULL when
 * the file is too large, memory is short, or the read failed (the caller
 * then reads the file itself). st is the file's current stat: an object of
 * another size or time is replaced. */
struct http_obj *http_cache_get(struct http_cache *cache, const char *path,
				const struct http_stat *st);
/* The same, for a file nobody asked for yet (--group): neither a hit nor a
 * miss is counted, only the fill. */
struct http_obj *http_cache_get_quiet(struct http_cache *cache, const char *path,
				      const struct http_stat *st);
/* Whether the cache holds path as st describes it (nothing counted). */
bool http_cache_holds(struct http_cache *cache, const char *path, const struct http_stat *st);

/* --- group.c --- */
#define HTTP_GROUP_REFS 32             /* objects read with one page, at most */
#define HTTP_GROUP_BYTES (4ull << 20)  /* ... and their bytes in all */
/* The paths of the objects the HTML page at path embeds (img, script and
 * source src; link href of a stylesheet or icon), resolved and normalised
 * as request paths, without repeats or the page itself: how many (at most
 * max) went into out; *refused counts references that name no path here
 * (another host, above the root, badly encoded). */
int http_page_refs(const char *path, const char *html, size_t len, char (*out)[HTTP_PATH_MAX + 1],
		   int max, unsigned *refused);

/* --- respond.c --- */
struct http_server;
/* What one response sends: a head (status line and fields) built into the
 * connection's buffer, then a body from one of several places. */
enum http_body_kind { BODY_NONE, BODY_BYTES, BODY_OBJ, BODY_FILE };
struct http_response {
	int status;
	char head[HTTP_PATH_MAX * 3 + 1024]; /* room for a Location of any path */
	size_t head_len;
	enum http_body_kind body;
	char *bytes;          /* BODY_BYTES: allocated, bytes_len long */
	size_t bytes_len;
	struct http_obj *obj; /* BODY_OBJ: held */
	char file[HTTP_PATH_MAX + 1]; /* BODY_FILE: read through the hooks */
	uint64_t off, len;    /* the body: [off, off+len) of the file or object */
	bool close;           /* the connection ends after this response */
}; /* http_respond sets every field but the bytes of head and file: a new
    * field must be set there too */
/* Builds the response to req (or to a parse error when status != 0). */
void http_respond(struct http_server *srv, const struct http_request *req, int status,
		  struct http_response *rsp);
/* Frees what a response holds. */
void http_response_release(struct http_server *srv, struct http_response *rsp);
const char *http_reason(int status);

/* --group: the page at path was just read into the cache as page: read
 * the objects it embeds too, together (group.c). */
void http_group_page(struct http_server *srv, const char *path, const struct http_obj *page);

/* --- conn.c: the server, for respond.c --- */
struct http_server {
	struct http_config cfg;
	struct http_hooks hooks;
	struct http_stats stats;
	struct http_cache *cache; /* NULL when the cache is off */
	/* HTTP-dates formatted once and reused (a request's turnaround is
	 * what a single client waits for): now, to the second, and the last
	 * Last-Modified time */
	int64_t date_at, modified_at;
	char date[HTTP_DATE_LEN + 1], modified[HTTP_DATE_LEN + 1];
};
/* The current time as an IMF-fixdate (conn.c). */
const char *http_server_date(struct http_server *srv);

#endif
