/*
 * Connections and the server (http.h has the driver's side of it): each
 * connection is a small state machine that takes bytes in, finds requests
 * (pipelined ones in order, one response at a time), and hands out each
 * response as pieces to send, then goes on with the next request, lingers
 * before closing, or closes.
 *
 *	IDLE ──bytes──> READING ──head complete──> SENDING ──done──> IDLE
 *	   │               │ (408 after request_ms)   │
 *	   └ idle_ms: close                            └ close wanted: LINGER ─> closed
 *
 * Deadlines, all on the now_ms hook's clock: a request's head must arrive
 * within request_ms of its first byte (of the connection's opening for the
 * first request), else 408 - so a slowloris client holds a slot for at most
 * that long and is never waited on: nothing here blocks, and each call
 * does work bounded by the bytes it is given. A keep-alive connection may
 * idle idle_ms; output that makes no progress for send_ms drops the
 * connection. After a response that closes the connection, it lingers
 * reading (and dropping) input for LINGER_MS after its FIN, so that a
 * client still sending does not get a reset that destroys the response.
 *
 * Ownership: a connection owns its input buffer, its current response
 * (which may hold a cache object) and a bounce buffer for uncached files.
 * The driver owns the transport and frees the connection when told.
 */
#include <user/srv/httpd/core.h>
#include <common/fmt.h>
#include <common/string.h>

#define IN_MAX (HTTP_HEAD_MAX + 4096) /* a head past HTTP_HEAD_MAX is 431 anyway */
#define BOUNCE_MAX (32 * 1024)        /* bytes of an uncached file read at a time */
#define LINGER_MS 2000                /* reading after our FIN, before closing */

enum conn_state { C_IDLE, C_READING, C_SENDING, C_LINGER, C_DEAD };

struct http_conn {
	struct http_server *srv;
	enum conn_state state;
	char peer[64];
	char in[IN_MAX];
	size_t in_len;
	bool need_parse;   /* bytes arrived that may complete a head */
	uint64_t discard;  /* request body bytes still to drop */
	bool peer_eof;
	int64_t since;     /* when the current state's deadline started counting */
	struct http_response rsp;
	size_t head_sent;
	uint64_t body_sent;
	char *bounce;      /* BODY_FILE: bytes [bounce_at, bounce_at + bounce_len) */
	uint64_t bounce_at;
	size_t bounce_len;
};

static int64_t now(const struct http_server *srv)
{
	return srv->hooks.now_ms(srv->hooks.ctx);
}

struct http_server *http_server_new(const struct http_config *cfg, const struct http_hooks *hooks)
{
	struct http_server *srv = hooks->alloc(hooks->ctx, sizeof(*srv));
	if (!srv)
		return NULL;
	memset(srv, 0, sizeof(*srv));
	srv->cfg = *cfg;
	srv->hooks = *hooks;
	if (cfg->cache) {
		srv->cache = http_cache_new(&srv->hooks, cfg->cache_bytes, cfg->cache_file_max,
					    cfg->csum ? cfg->csum_chunk : 0, &srv->stats);
		if (!srv->cache) {
			hooks->free(hooks->ctx, srv);
			return NULL;
		}
	}
	return srv;
}

void http_server_free(struct http_server *srv)
{
	if (srv->cache)
		http_cache_free(srv->cache);
	srv->hooks.free(srv->hooks.ctx, srv);
}

const struct http_stats *http_server_stats(const struct http_server *srv)
{
	return &srv->stats;
}

struct http_conn *http_accept(struct http_server *srv, const char *peer)
{
	if (srv->stats.conns_open >= srv->cfg.max_conns) {
		srv->stats.conns_refused++;
		return NULL;
	}
	struct http_conn *c = srv->hooks.alloc(srv->hooks.ctx, sizeof(*c));
	if (!c) {
		srv->stats.conns_refused++;
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->srv = srv;
	c->state = C_IDLE;
	strlcpy(c->peer, peer ? peer : "-", sizeof(c->peer));
	/* the first request is a request from the start: request_ms, not idle_ms */
	c->since = now(srv) - (int64_t)srv->cfg.idle_ms + (int64_t)srv->cfg.request_ms;
	srv->stats.conns_open++;
	srv->stats.conns_total++;
	return c;
}

static void end_response(struct http_conn *c)
{
	http_response_release(c->srv, &c->rsp);
	if (c->bounce)
		c->srv->hooks.free(c->srv->hooks.ctx, c->bounce);
	c->bounce = NULL;
	c->bounce_len = 0;
}

void http_conn_free(struct http_conn *c)
{
	end_response(c);
	c->srv->stats.conns_open--;
	c->srv->hooks.free(c->srv->hooks.ctx, c);
}

const char *http_server_date(struct http_server *srv)
{
	int64_t now = srv->hooks.wall_s(srv->hooks.ctx);
	if (now != srv->date_at || !srv->date[0]) {
		http_date_format(now, srv->date);
		srv->date_at = now;
	}
	return srv->date;
}

/* One access-log line, Common Log Format. */
static void log_request(struct http_conn *c, const struct http_request *req)
{
	char line[sizeof(req->line)], out[400];
	const char *date = http_server_date(c->srv);
	/* "Sun, 06 Nov 1994 08:49:37 GMT" -> "06/Nov/1994:08:49:37 +0000" */
	char clf[27];
	snprintf(clf, sizeof(clf), "%.2s/%.3s/%.4s:%.8s +0000", date + 5, date + 8, date + 12,
		 date + 17);
	size_t i;
	for (i = 0; req->line[i] && i < sizeof(line) - 1; i++) {
		unsigned char ch = (unsigned char)req->line[i];
		line[i] = ch == '"' || ch == '\\' || ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
	}
	line[i] = '\0';
	int n = snprintf(out, sizeof(out), "%s - - [%s] \"%s\" %d %lu\n", c->peer, clf, line,
			 c->rsp.status, (unsigned long)c->rsp.len);
	if (n > 0)
		c->srv->hooks.log(c->srv->hooks.ctx, out, MIN((size_t)n, sizeof(out) - 1));
}

static void consume(struct http_conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* Start sending the response to req (status: a parse error, or 0). */
static void start_response(struct http_conn *c, const struct http_request *req, int status)
{
	struct http_server *srv = c->srv;
	srv->stats.requests++; /* before: /status counts itself */
	http_respond(srv, req, status, &c->rsp);
	srv->stats.responses[c->rsp.status / 100 % 6]++;
	if (srv->hooks.log)
		log_request(c, req);
	c->head_sent = 0;
	c->body_sent = 0;
	c->state = c->rsp.head_len ? C_SENDING : C_DEAD;
	c->since = now(srv);
}

/* Serve what the input holds, until a response is under way or more input
 * is needed. */
static void serve(struct http_conn *c)
{
	while (c->state == C_IDLE || c->state == C_READING) {
		if (c->discard) {
			size_t n = (size_t)MIN(c->discard, (uint64_t)c->in_len);
			consume(c, n);
			c->discard -= n;
			if (c->discard) {
				c->state = C_READING; /* a body still counts as the request */
				return;
			}
		}
		/* empty lines between requests are no request's (RFC 9112 2.2) */
		size_t blank = 0;
		while (blank < c->in_len && (c->in[blank] == '\r' || c->in[blank] == '\n'))
			blank++;
		consume(c, blank);
		if (c->in_len == 0) {
			if (c->state == C_READING) { /* a body ended: idle again */
				c->state = C_IDLE;
				c->since = now(c->srv);
			}
			if (c->peer_eof)
				c->state = C_DEAD;
			return;
		}
		if (c->state == C_IDLE) {
			c->state = C_READING;
			c->since = now(c->srv);
			c->need_parse = true;
		}
		if (!c->need_parse)
			return;
		struct http_request req;
		long r = http_parse_request(c->in, c->in_len, &req);
		if (r == 0) {
			c->need_parse = false;
			if (c->peer_eof)
				c->state = C_DEAD; /* half a request, and no more coming */
			return;
		}
		if (r > 0 || req.keep_alive) {
			consume(c, r > 0 ? (size_t)r : req.head_len);
			c->discard = req.body_len;
		}
		start_response(c, &req, r < 0 ? (int)-r : 0);
	}
}

size_t http_conn_recv_space(struct http_conn *c, char **buf)
{
	if (c->state == C_DEAD)
		return 0;
	if (c->state == C_LINGER) { /* read and dropped */
		c->in_len = 0;
		*buf = c->in;
		return sizeof(c->in);
	}
	*buf = c->in + c->in_len;
	return sizeof(c->in) - c->in_len;
}

/* Could these bytes end a head, or make one hopeless? Only then is the
 * whole buffer parsed again, so trickled bytes cost no more than they are. */
static bool worth_parsing(const char *p, size_t n, size_t total)
{
	if (total > HTTP_LINE_MAX)
		return true;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch == '\n' || (ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f)
			return true;
	}
	return false;
}

void http_conn_received(struct http_conn *c, size_t n)
{
	if (c->state == C_LINGER || c->state == C_DEAD || n == 0)
		return;
	if (n > sizeof(c->in) - c->in_len)
		n = sizeof(c->in) - c->in_len; /* a driver's bug: keep within the buffer */
	if (worth_parsing(c->in + c->in_len, n, c->in_len + n))
		c->need_parse = true;
	c->in_len += n;
	serve(c);
}

void http_conn_peer_closed(struct http_conn *c)
{
	c->peer_eof = true;
	if (c->state == C_LINGER)
		c->state = C_DEAD;
	serve(c);
}

/* The next bytes of an uncached file, read into the bounce buffer; false
 * if the file cannot be read (it shrank, or the disk failed): the status
 * has gone out, so the connection can only be dropped. */
static bool refill(struct http_conn *c)
{
	const struct http_hooks *h = &c->srv->hooks;
	uint64_t at = c->rsp.off + c->body_sent;
	if (c->bounce && at >= c->bounce_at && at < c->bounce_at + c->bounce_len)
		return true;
	if (!c->bounce && !(c->bounce = h->alloc(h->ctx, BOUNCE_MAX)))
		return false;
	size_t want = (size_t)MIN((uint64_t)BOUNCE_MAX, c->rsp.len - c->body_sent);
	long got = h->read(h->ctx, c->rsp.file, at, c->bounce, want);
	if (got <= 0)
		return false;
	c->bounce_at = at;
	c->bounce_len = (size_t)got;
	return true;
}

int http_conn_output(struct http_conn *c, struct http_iov *iov, int max, bool *fin)
{
	*fin = false;
	if (c->state != C_SENDING || max < 1)
		return 0;
	struct http_response *r = &c->rsp;
	int n = 0;
	if (c->head_sent < r->head_len) {
		iov[n++] = (struct http_iov){ r->head + c->head_sent, r->head_len - c->head_sent,
					      NULL, 0 };
		if (!c->srv->cfg.merge)
			return n; /* the head on its own, then the body */
	}
	uint64_t left = r->len - c->body_sent, at = r->off + c->body_sent;
	if (r->body != BODY_NONE && left && n < max) {
		if (r->body == BODY_BYTES) {
			iov[n++] =
				(struct http_iov){ r->bytes + c->body_sent, (size_t)left, NULL, 0 };
		} else if (r->body == BODY_OBJ) {
			iov[n++] =
				(struct http_iov){ r->obj->o_data + at, (size_t)left, r->obj, at };
		} else {
			if (!refill(c)) {
				c->state = C_DEAD;
				return 0;
			}
			size_t skip = (size_t)(at - c->bounce_at);
			left = MIN(left, (uint64_t)(c->bounce_len - skip));
			iov[n++] = (struct http_iov){ c->bounce + skip, (size_t)left, NULL, 0 };
		}
	}
	/* when these pieces are all that is left, the FIN may ride along */
	uint64_t offered = 0, remaining = r->head_len - c->head_sent;
	for (int i = 0; i < n; i++)
		offered += iov[i].len;
	if (r->body != BODY_NONE)
		remaining += r->len - c->body_sent;
	*fin = r->close && c->srv->cfg.merge && offered == remaining;
	return n;
}

void http_conn_sent(struct http_conn *c, size_t n)
{
	if (c->state != C_SENDING || n == 0)
		return;
	struct http_server *srv = c->srv;
	struct http_response *r = &c->rsp;
	c->since = now(srv);
	srv->stats.bytes_out += n;
	size_t h = MIN(n, r->head_len - c->head_sent);
	c->head_sent += h;
	n -= h;
	uint64_t body_len = r->body == BODY_NONE ? 0 : r->len;
	uint64_t b = MIN((uint64_t)n, body_len - c->body_sent);
	c->body_sent += b;
	srv->stats.body_bytes_out += b;
	if (c->head_sent < r->head_len || c->body_sent < body_len)
		return;
	end_response(c);
	if (r->close) {
		c->state = c->peer_eof ? C_DEAD : C_LINGER;
		return;
	}
	c->state = C_IDLE;
	c->need_parse = true; /* a pipelined request may be waiting */
	serve(c);
}

unsigned http_conn_events(const struct http_conn *c)
{
	switch (c->state) {
	case C_DEAD: return HTTP_WANT_CLOSE;
	case C_LINGER: return HTTP_WANT_READ | HTTP_WANT_FIN;
	case C_SENDING: return HTTP_WANT_WRITE | (c->in_len < sizeof(c->in) ? HTTP_WANT_READ : 0);
	default: return c->in_len < sizeof(c->in) ? HTTP_WANT_READ : 0;
	}
}

int64_t http_conn_deadline(const struct http_conn *c)
{
	const struct http_config *cfg = &c->srv->cfg;
	switch (c->state) {
	case C_IDLE: return c->since + cfg->idle_ms;
	case C_READING: return c->since + cfg->request_ms;
	case C_SENDING: return c->since + cfg->send_ms;
	case C_LINGER: return c->since + LINGER_MS;
	default: return INT64_MAX;
	}
}

void http_conn_timer(struct http_conn *c)
{
	struct http_server *srv = c->srv;
	if (now(srv) < http_conn_deadline(c))
		return;
	switch (c->state) {
	case C_IDLE:
		srv->stats.timeouts_idle++;
		c->state = C_DEAD;
		break;
	case C_READING: {
		srv->stats.timeouts_request++;
		struct http_request req;
		memset(&req, 0, sizeof(req));
		strlcpy(req.line, "(request timed out)", sizeof(req.line));
		c->discard = 0;
		c->in_len = 0;
		start_response(c, &req, 408);
		break;
	}
	case C_SENDING:
		srv->stats.timeouts_send++;
		c->state = C_DEAD;
		break;
	case C_LINGER: c->state = C_DEAD; break;
	default: break;
	}
}
