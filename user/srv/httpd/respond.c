/*
 * Building responses (RFC 9110): from a parsed request, or a parse error's
 * status, to a response head and a body plan (struct http_response), which
 * conn.c then sends. This is where the server's policy lives: GET and HEAD
 * of files under the root, Content-Type from the extension, Last-Modified
 * and If-Modified-Since (304), a single byte range (206, or 416 when it
 * cannot be satisfied, with If-Range honoured for dates), directories (a
 * redirect to the slashed name, then index.html, else a generated listing),
 * the /status page, and every error with a small HTML body saying why.
 *
 * File bodies come from the cache as held object references when the cache
 * is on and the file fits, and are otherwise read through the hooks while
 * they are sent (BODY_FILE). A HEAD response is planned like a GET and then
 * sent without its body. Paths reach the hooks only as parse.c normalised
 * them; names from a directory listing are escaped for HTML and for URLs,
 * so a hostile file name cannot inject markup or header lines.
 */
#include <user/srv/httpd/core.h>
#include <common/fmt.h>
#include <common/string.h>

#define LISTING_MAX (256 * 1024) /* bytes of a generated directory listing */

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static const char *explanation(int status)
{
	switch (status) {
	case 400: return "The request is malformed or asks for a path outside the site.";
	case 404: return "There is no such file here.";
	case 405: return "This server only answers GET and HEAD.";
	case 408: return "The request did not arrive in time.";
	case 413: return "The request carries a body larger than this server reads.";
	case 414: return "The request target is too long.";
	case 416: return "The range asked for lies outside the file.";
	case 431: return "The request's header fields are too large.";
	case 500: return "The file could not be read.";
	case 501: return "This server does not implement what the request asks for.";
	case 505: return "This server speaks HTTP/1.x only.";
	default: return "";
	}
}

static const struct {
	const char *ext, *type;
} types[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "htm", "text/html; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "json", "application/json" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "md", "text/markdown; charset=utf-8" },
	{ "csv", "text/csv; charset=utf-8" },
	{ "xml", "application/xml" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "ico", "image/x-icon" },
	{ "webp", "image/webp" },
	{ "pdf", "application/pdf" },
	{ "wasm", "application/wasm" },
	{ "woff", "font/woff" },
	{ "woff2", "font/woff2" },
	{ "ttf", "font/ttf" },
	{ "mp3", "audio/mpeg" },
	{ "ogg", "audio/ogg" },
	{ "mp4", "video/mp4" },
	{ "webm", "video/webm" },
	{ "zip", "application/zip" },
	{ "gz", "application/gzip" },
	{ "tar", "application/x-tar" },
};

static const char *content_type(const char *path)
{
	const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
	if (dot && (!slash || dot > slash)) {
		for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
			const char *a = dot + 1, *b = types[i].ext;
			while (*a && *b && tolower((unsigned char)*a) == *b)
				a++, b++;
			if (!*a && !*b)
				return types[i].type;
		}
	}
	return "application/octet-stream";
}

/* A text buffer: growing from the alloc hook up to max bytes, or fixed (a
 * response's head); `over` once the limit or memory ran out (the text so
 * far stays valid). */
struct text {
	const struct http_hooks *h;
	char *p;
	size_t len, cap, max;
	bool over, fixed;
};

static void text_put(struct text *t, const char *s, size_t n)
{
	if (t->over)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = MAX(t->cap * 2, t->len + n + 1024);
		char *p = cap <= t->max && !t->fixed ? t->h->alloc(t->h->ctx, cap) : NULL;
		if (!p) {
			t->over = true;
			return;
		}
		if (t->p) {
			memcpy(p, t->p, t->len);
			t->h->free(t->h->ctx, t->p);
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void text_fmt_put(void *arg, const char *s, size_t n)
{
	text_put(arg, s, n);
}

static void text_printf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vformat(text_fmt_put, t, fmt, ap);
	va_end(ap);
}

static void text_html(struct text *t, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': text_put(t, "&amp;", 5); break;
		case '<': text_put(t, "&lt;", 4); break;
		case '>': text_put(t, "&gt;", 4); break;
		case '"': text_put(t, "&quot;", 6); break;
		case '\'': text_put(t, "&#39;", 5); break;
		default: text_put(t, s, 1);
		}
	}
}

/* Percent-encodes everything but unreserved bytes and '/'. */
static void text_url(struct text *t, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
			text_put(t, s, 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			text_put(t, e, 3);
		}
	}
}

/* The head, up to (not including) Content-Length and what follows. */
static void head_start(struct http_server *srv, struct http_response *rsp, struct text *h,
		       int status)
{
	rsp->status = status;
	text_printf(h, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: exo-httpd\r\n", status,
		    http_reason(status), http_server_date(srv));
}

static void head_end(const struct http_request *req, struct http_response *rsp, struct text *h,
		     uint64_t length)
{
	if (rsp->status != 304)
		text_printf(h, "Content-Length: %lu\r\n", (unsigned long)length);
	if (rsp->close)
		text_printf(h, "Connection: close\r\n\r\n");
	else if (req->minor == 0)
		text_printf(h, "Connection: keep-alive\r\n\r\n");
	else
		text_printf(h, "\r\n");
}

/* A text growing up to max bytes (0: none), from the alloc hook. */
static struct text growing(struct http_server *srv, size_t max)
{
	return (struct text){ &srv->hooks, NULL, 0, 0, max, false, false };
}

/* A text writing into rsp->head. */
static struct text head_text(struct http_server *srv, struct http_response *rsp)
{
	return (struct text){ &srv->hooks,       rsp->head, 0,   sizeof(rsp->head),
			      sizeof(rsp->head), false,     true };
}

/* The head is complete: its length, or 0 if it did not fit (conn.c then
 * drops the connection; the sizes here make that a bug, not an input). */
static void head_take(struct http_response *rsp, struct text *h)
{
	rsp->head_len = h->over ? 0 : h->len;
}

/* A response whose body is generated text (errors, listings, /status). */
static void text_response(struct http_server *srv, const struct http_request *req,
			  struct http_response *rsp, int status, const char *type,
			  const char *extra, struct text *body)
{
	struct text h = head_text(srv, rsp);
	head_start(srv, rsp, &h, status);
	text_printf(&h, "%sContent-Type: %s\r\n", extra, type);
	head_end(req, rsp, &h, body->len);
	head_take(rsp, &h);
	if (req->method == HTTP_HEAD || body->len == 0) {
		srv->hooks.free(srv->hooks.ctx, body->p);
		return;
	}
	rsp->body = BODY_BYTES;
	rsp->bytes = body->p;
	rsp->bytes_len = body->len;
	rsp->len = body->len;
}

static void error_response(struct http_server *srv, const struct http_request *req,
			   struct http_response *rsp, int status, const char *extra)
{
	struct text b = growing(srv, 4096);
	text_printf(
		&b,
		"<!DOCTYPE html>\n<html><head><title>%d %s</title></head>\n"
		"<body><h1>%d %s</h1>\n<p>%s</p>\n<hr><address>exo-httpd</address></body></html>\n",
		status, http_reason(status), status, http_reason(status), explanation(status));
	text_response(srv, req, rsp, status, "text/html; charset=utf-8", extra, &b);
}

static void status_page(struct http_server *srv, const struct http_request *req,
			struct http_response *rsp)
{
	const struct http_stats *s = &srv->stats;
	struct text b = growing(srv, 4096);
	text_printf(
		&b,
		"exo-httpd status\n"
		"connections: %lu open, %lu accepted, %lu refused\n"
		"requests: %lu\n"
		"responses: 1xx %lu, 2xx %lu, 3xx %lu, 4xx %lu, 5xx %lu\n"
		"bytes sent: %lu (bodies %lu)\n"
		"cache: %lu hits, %lu misses, %lu fills, %lu evictions, %lu objects, %lu bytes\n"
		"checksummed at fill: %lu bytes\n"
		"timeouts: %lu request, %lu idle, %lu send\n"
		"group: %lu pages, %lu objects read with them, %lu references refused\n"
		"flags: cache %s, csum %s, merge %s, group %s\n",
		s->conns_open, s->conns_total, s->conns_refused, s->requests, s->responses[1],
		s->responses[2], s->responses[3], s->responses[4], s->responses[5], s->bytes_out,
		s->body_bytes_out, s->cache_hits, s->cache_misses, s->cache_fills,
		s->cache_evictions, s->cache_objects, s->cache_bytes, s->csum_bytes,
		s->timeouts_request, s->timeouts_idle, s->timeouts_send, s->group_pages,
		s->group_objects, s->group_refused, srv->cfg.cache ? "on" : "off",
		srv->cfg.csum ? "on" : "off", srv->cfg.merge ? "on" : "off",
		srv->cfg.group ? "on" : "off");
	if (srv->hooks.status) {
		char extra[1024];
		size_t n = srv->hooks.status(srv->hooks.ctx, extra, sizeof(extra));
		text_put(&b, extra, MIN(n, sizeof(extra)));
	}
	text_response(srv, req, rsp, 200, "text/plain; charset=utf-8",
		      "Cache-Control: no-store\r\n", &b);
}

static void list_entry(void *arg, const char *name, bool is_dir)
{
	struct text *t = arg;
	text_put(t, "<li><a href=\"", 13);
	text_url(t, name);
	text_put(t, is_dir ? "/\">" : "\">", is_dir ? 3 : 2);
	text_html(t, name);
	text_put(t, is_dir ? "/</a></li>\n" : "</a></li>\n", is_dir ? 11 : 10);
}

static void directory_listing(struct http_server *srv, const struct http_request *req,
			      struct http_response *rsp)
{
	struct text b = growing(srv, LISTING_MAX);
	text_put(&b, "<!DOCTYPE html>\n<html><head><title>Index of ", 44);
	text_html(&b, req->path);
	text_put(&b, "</title></head>\n<body><h1>Index of ", 35);
	text_html(&b, req->path);
	text_put(&b, "</h1>\n<ul>\n", 11);
	if (strcmp(req->path, "/") != 0)
		text_put(&b, "<li><a href=\"../\">../</a></li>\n", 31);
	int r = srv->hooks.list(srv->hooks.ctx, req->path, list_entry, &b);
	if (r < 0 || (b.over && !b.p)) {
		srv->hooks.free(srv->hooks.ctx, b.p);
		error_response(srv, req, rsp, r == -HTTP_EIO || b.over ? 500 : 404, "");
		return;
	}
	if (b.over) { /* cut short: say so, within what was allocated */
		static const char cut[] = "</ul><p>(listing cut short)</p></body></html>\n";
		size_t keep = b.cap - 1 >= b.len + sizeof(cut) - 1 ? b.len : b.cap - sizeof(cut);
		memcpy(b.p + keep, cut, sizeof(cut));
		b.len = keep + sizeof(cut) - 1;
	} else {
		text_put(&b, "</ul>\n<hr><address>exo-httpd</address></body></html>\n", 53);
	}
	text_response(srv, req, rsp, 200, "text/html; charset=utf-8", "", &b);
}

/* The byte range to send of a file of size bytes: 200 (whole), 206 or 416. */
static int choose_range(const struct http_request *req, const struct http_stat *st, uint64_t *first,
			uint64_t *last)
{
	*first = 0;
	*last = st->hs_size - 1;
	if (req->range == RANGE_NONE)
		return 200;
	if (req->has_if_range && req->if_range != st->hs_mtime)
		return 200; /* the client's copy is out of date: send it all */
	if (req->range == RANGE_SUFFIX) {
		if (req->range_first == 0 || st->hs_size == 0)
			return 416;
		*first = req->range_first >= st->hs_size ? 0 : st->hs_size - req->range_first;
		return 206;
	}
	if (req->range_first >= st->hs_size)
		return 416;
	*first = req->range_first;
	*last = MIN(req->range_last, st->hs_size - 1);
	return 206;
}

static void file_response(struct http_server *srv, const struct http_request *req,
			  struct http_response *rsp, const char *path, const struct http_stat *st)
{
	if (st->hs_mtime != srv->modified_at || !srv->modified[0]) {
		http_date_format(st->hs_mtime, srv->modified);
		srv->modified_at = st->hs_mtime;
	}
	const char *modified = srv->modified;
	if (req->has_ims && st->hs_mtime <= req->ims) {
		struct text h = head_text(srv, rsp);
		head_start(srv, rsp, &h, 304);
		text_printf(&h, "Last-Modified: %s\r\n", modified);
		head_end(req, rsp, &h, 0);
		head_take(rsp, &h);
		return;
	}
	uint64_t first, last;
	int status = choose_range(req, st, &first, &last);
	if (status == 416) {
		char extra[64];
		snprintf(extra, sizeof(extra), "Content-Range: bytes */%lu\r\n",
			 (unsigned long)st->hs_size);
		error_response(srv, req, rsp, 416, extra);
		return;
	}
	uint64_t len = st->hs_size ? last - first + 1 : 0;
	struct text h = head_text(srv, rsp);
	head_start(srv, rsp, &h, status);
	text_printf(&h, "Content-Type: %s\r\nLast-Modified: %s\r\nAccept-Ranges: bytes\r\n",
		    content_type(path), modified);
	if (status == 206)
		text_printf(&h, "Content-Range: bytes %lu-%lu/%lu\r\n", (unsigned long)first,
			    (unsigned long)last, (unsigned long)st->hs_size);
	head_end(req, rsp, &h, len);
	head_take(rsp, &h);
	if (req->method == HTTP_HEAD || len == 0)
		return;
	rsp->off = first;
	rsp->len = len;
	uint64_t fills = srv->stats.cache_fills;
	rsp->obj = srv->cache ? http_cache_get(srv->cache, path, st) : NULL;
	if (rsp->obj && srv->stats.cache_fills != fills)
		http_group_page(srv, path, rsp->obj); /* read from the disk just now */
	if (rsp->obj) {
		rsp->body = BODY_OBJ;
	} else {
		rsp->body = BODY_FILE;
		strlcpy(rsp->file, path, sizeof(rsp->file));
	}
}

static void redirect_to_dir(struct http_server *srv, const struct http_request *req,
			    struct http_response *rsp)
{
	struct text loc = growing(srv, sizeof(rsp->head) - 256);
	text_put(&loc, "Location: ", 10);
	text_url(&loc, req->path);
	text_put(&loc, "/\r\n", 3);
	if (loc.over) {
		srv->hooks.free(srv->hooks.ctx, loc.p);
		error_response(srv, req, rsp, 414, "");
		return;
	}
	struct text b = growing(srv, 0); /* no body */
	text_response(srv, req, rsp, 301, "text/html; charset=utf-8", loc.p, &b);
	srv->hooks.free(srv->hooks.ctx, loc.p);
}

void http_respond(struct http_server *srv, const struct http_request *req, int status,
		  struct http_response *rsp)
{
	/* every field but the two buffers, which are written before they are
	 * read (head_len, file's NUL): zeroing all 5 KiB cost a request more
	 * than building its head */
	rsp->status = 0;
	rsp->head_len = 0;
	rsp->body = BODY_NONE;
	rsp->bytes = NULL;
	rsp->bytes_len = 0;
	rsp->obj = NULL;
	rsp->file[0] = '\0';
	rsp->off = rsp->len = 0;
	rsp->close = !req->keep_alive;
	if (status) {
		error_response(srv, req, rsp, status, status == 405 ? "Allow: GET, HEAD\r\n" : "");
		return;
	}
	if (strcmp(req->path, "/status") == 0) {
		status_page(srv, req, rsp);
		return;
	}
	struct http_stat st;
	int r = srv->hooks.stat(srv->hooks.ctx, req->path, &st);
	if (r < 0) {
		error_response(srv, req, rsp, r == -HTTP_EIO ? 500 : 404, "");
		return;
	}
	size_t n = strlen(req->path);
	bool slash = req->path[n - 1] == '/';
	if (st.hs_is_dir && !slash) {
		redirect_to_dir(srv, req, rsp);
		return;
	}
	if (!st.hs_is_dir) {
		if (slash)
			error_response(srv, req, rsp, 404, "");
		else
			file_response(srv, req, rsp, req->path, &st);
		return;
	}
	char index[HTTP_PATH_MAX + 16];
	snprintf(index, sizeof(index), "%sindex.html", req->path);
	if (srv->hooks.stat(srv->hooks.ctx, index, &st) == 0 && !st.hs_is_dir)
		file_response(srv, req, rsp, index, &st);
	else
		directory_listing(srv, req, rsp);
}

void http_response_release(struct http_server *srv, struct http_response *rsp)
{
	if (rsp->bytes)
		srv->hooks.free(srv->hooks.ctx, rsp->bytes);
	if (rsp->obj)
		http_obj_release(rsp->obj);
	rsp->bytes = NULL;
	rsp->obj = NULL;
	rsp->body = BODY_NONE;
}
