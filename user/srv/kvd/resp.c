/*
 * RESP: the request parser and the reply writer.
 *
 * Requests come as RESP arrays of bulk strings ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
 * or as inline lines ("GET k\r\n", with Redis's quoting rules), any number
 * per read and split anywhere. The parser keeps its place in the client's
 * query buffer between reads (header seen, bulks read so far, by offset), so
 * a command trickled a byte at a time costs no re-parsing; once a command is
 * whole, its arguments point into the query buffer (NUL-terminated in place)
 * and it runs before the next is parsed.
 *
 * Hostile input: a header that is not a number, an argument count above
 * KVD_MAX_ARGS, a bulk length above proto-max-bulk-len, a header or inline
 * line longer than KVD_INLINE_MAX, a missing '$', unbalanced quotes: each is
 * answered with Redis's "-ERR Protocol error: ..." and the connection is
 * closed (the other clients never notice). Nothing is allocated on a
 * header's word: the buffer grows only with bytes that arrived, and a
 * client whose buffer passes client-query-buffer-limit is dropped.
 *
 * Replies are appended to the client's output buffer in RESP2 or RESP3,
 * as the client chose with HELLO; the runner gets them after the event.
 */
#include <user/srv/kvd/engine.h>

/* --- replies ----------------------------------------------------------------- */
void reply_raw(struct kvd_client *c, const void *p, size_t n)
{
	if (!c->conn || c->reply_off || c->reply_skip) /* the log's loader; CLIENT REPLY */
		return;
	buf_put(c->kv, &c->out, p, n);
	client_flush_later(c);
}

static void reply_hdr(struct kvd_client *c, char type, long long n)
{
	char b[KVD_LONG_STR + 4];
	b[0] = type;
	int len = 1 + ll2str(b + 1, n);
	b[len++] = '\r';
	b[len++] = '\n';
	reply_raw(c, b, (size_t)len);
}

void reply_status(struct kvd_client *c, const char *s)
{
	reply_raw(c, "+", 1);
	reply_raw(c, s, strlen(s));
	reply_raw(c, "\r\n", 2);
}

void reply_ok(struct kvd_client *c)
{
	reply_raw(c, "+OK\r\n", 5);
}

/* msg is "CODE text" when it starts with an upper-case word, else gets "ERR ".
 * CR and LF would break the protocol: they become spaces. */
void reply_error(struct kvd_client *c, const char *msg)
{
	size_t n = strlen(msg);
	char line[512];
	if (n > sizeof(line) - 1)
		n = sizeof(line) - 1;
	for (size_t i = 0; i < n; i++)
		line[i] = (msg[i] == '\r' || msg[i] == '\n') ? ' ' : msg[i];
	size_t w = 0;
	while (w < n && isupper(line[w]))
		w++;
	bool has_code = w > 0 && (w == n || line[w] == ' ');
	reply_raw(c, has_code ? "-" : "-ERR ", has_code ? 1 : 5);
	reply_raw(c, line, n);
	reply_raw(c, "\r\n", 2);
	if (c->kv->loader == c && !c->kv->load_error)
		c->kv->load_error = "a command in the log failed";
}

void reply_errorf(struct kvd_client *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_error(c, msg);
}

void reply_ll(struct kvd_client *c, long long v)
{
	reply_hdr(c, ':', v);
}

void reply_bulk(struct kvd_client *c, const char *p, size_t n)
{
	reply_hdr(c, '$', (long long)n);
	reply_raw(c, p, n);
	reply_raw(c, "\r\n", 2);
}

void reply_cstr(struct kvd_client *c, const char *s)
{
	reply_bulk(c, s, strlen(s));
}

void reply_bulk_ll(struct kvd_client *c, long long v)
{
	char b[KVD_LONG_STR];
	reply_bulk(c, b, (size_t)ll2str(b, v));
}

void reply_null(struct kvd_client *c)
{
	if (c->resp == 3)
		reply_raw(c, "_\r\n", 3);
	else
		reply_raw(c, "$-1\r\n", 5);
}

void reply_null_array(struct kvd_client *c)
{
	if (c->resp == 3)
		reply_raw(c, "_\r\n", 3);
	else
		reply_raw(c, "*-1\r\n", 5);
}

void reply_array(struct kvd_client *c, long long n)
{
	reply_hdr(c, '*', n);
}

void reply_map(struct kvd_client *c, long long n)
{
	if (c->resp == 3)
		reply_hdr(c, '%', n);
	else
		reply_hdr(c, '*', n * 2);
}

void reply_set(struct kvd_client *c, long long n)
{
	reply_hdr(c, c->resp == 3 ? '~' : '*', n);
}

void reply_push(struct kvd_client *c, long long n)
{
	reply_hdr(c, c->resp == 3 ? '>' : '*', n);
}

void reply_double(struct kvd_client *c, double d)
{
	char b[KVD_DOUBLE_STR];
	int n = d2str(b, sizeof(b), d);
	if (c->resp == 3) {
		reply_raw(c, ",", 1);
		reply_raw(c, b, (size_t)n);
		reply_raw(c, "\r\n", 2);
	} else {
		reply_bulk(c, b, (size_t)n);
	}
}

void reply_bool(struct kvd_client *c, bool b)
{
	if (c->resp == 3)
		reply_raw(c, b ? "#t\r\n" : "#f\r\n", 4);
	else
		reply_ll(c, b);
}

void reply_verbatim(struct kvd_client *c, const char *p, size_t n)
{
	if (c->resp == 3) {
		reply_hdr(c, '=', (long long)n + 4);
		reply_raw(c, "txt:", 4);
		reply_raw(c, p, n);
		reply_raw(c, "\r\n", 2);
	} else {
		reply_bulk(c, p, n);
	}
}

size_t reply_defer(struct kvd_client *c)
{
	return c->out.len;
}

static void reply_defer_hdr(struct kvd_client *c, size_t at, char type, long long n)
{
	if (!c->conn || c->reply_off || c->reply_skip)
		return;
	char b[KVD_LONG_STR + 4];
	b[0] = type;
	int len = 1 + ll2str(b + 1, n);
	b[len++] = '\r';
	b[len++] = '\n';
	size_t tail = c->out.len - at;
	buf_put(c->kv, &c->out, b, (size_t)len); /* make room */
	memmove(c->out.b + at + len, c->out.b + at, tail);
	memcpy(c->out.b + at, b, (size_t)len);
	client_flush_later(c);
}

void reply_defer_array(struct kvd_client *c, size_t at, long long n)
{
	reply_defer_hdr(c, at, '*', n);
}

void reply_defer_map(struct kvd_client *c, size_t at, long long n)
{
	reply_defer_hdr(c, at, c->resp == 3 ? '%' : '*', c->resp == 3 ? n : n * 2);
}

void reply_defer_set(struct kvd_client *c, size_t at, long long n)
{
	reply_defer_hdr(c, at, c->resp == 3 ? '~' : '*', n);
}

void reply_wrongtype(struct kvd_client *c)
{
	reply_error(c, "WRONGTYPE Operation against a key holding the wrong kind of value");
}

void reply_syntax(struct kvd_client *c)
{
	reply_error(c, "ERR syntax error");
}

void reply_notint(struct kvd_client *c)
{
	reply_error(c, "ERR value is not an integer or out of range");
}

void reply_notfloat(struct kvd_client *c)
{
	reply_error(c, "ERR value is not a valid float");
}

void reply_arity(struct kvd_client *c, const char *name)
{
	reply_errorf(c, "ERR wrong number of arguments for '%s' command", name);
}

void reply_oom(struct kvd_client *c)
{
	reply_error(c, "OOM command not allowed when used memory > 'maxmemory'.");
}

/* --- the parser ---------------------------------------------------------------- */
/* common/string.h has no memchr */
static char *find_byte(char *p, int ch, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == ch)
			return p + i;
	return NULL;
}

static void protocol_error(struct kvd_client *c, const char *msg)
{
	reply_errorf(c, "ERR Protocol error: %s", msg);
	client_close_later(c);
}

static bool arg_room(struct kvd_client *c, int need)
{
	if (need <= c->argv_cap)
		return true;
	int cap = c->argv_cap ? c->argv_cap : 8;
	while (cap < need)
		cap *= 2;
	struct kvd *kv = c->kv;
	c->arg_off =
		mem_realloc(kv, c->arg_off, c->argv_cap * sizeof(size_t), cap * sizeof(size_t));
	c->arg_len =
		mem_realloc(kv, c->arg_len, c->argv_cap * sizeof(size_t), cap * sizeof(size_t));
	c->argv = mem_realloc(kv, c->argv, c->argv_cap * sizeof(struct arg),
			      cap * sizeof(struct arg));
	c->argv_cap = cap;
	return true;
}

/* A header line's number: "*N" or "$N" from p+1 to cr. */
static bool header_number(const char *p, const char *cr, long long *v)
{
	return str2ll(p + 1, (size_t)(cr - p - 1), v);
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/*
 * Split an inline line in place (Redis's sdssplitargs rules): arguments are
 * written back over the line, each NUL-terminated, and recorded by offset.
 * Returns false on unbalanced quotes.
 */
static bool split_inline(struct kvd_client *c, size_t start, size_t end)
{
	char *b = c->qbuf.b;
	size_t r = start, w = start;
	c->argc = 0;
	for (;;) {
		while (r < end && isspace(b[r]))
			r++;
		if (r >= end)
			return true;
		size_t arg = w;
		bool inq = false, insq = false, done = false;
		while (!done) {
			if (inq) {
				if (r >= end)
					return false;
				if (b[r] == '\\' && r + 3 < end && b[r + 1] == 'x' &&
				    isxdigit(b[r + 2]) && isxdigit(b[r + 3])) {
					b[w++] = (char)(hexval(b[r + 2]) * 16 + hexval(b[r + 3]));
					r += 4;
				} else if (b[r] == '\\' && r + 1 < end) {
					char e = b[r + 1];
					b[w++] = e == 'n'   ? '\n'
						 : e == 'r' ? '\r'
						 : e == 't' ? '\t'
						 : e == 'b' ? '\b'
						 : e == 'a' ? '\a'
							    : e;
					r += 2;
				} else if (b[r] == '"') {
					if (r + 1 < end && !isspace(b[r + 1]))
						return false;
					r++;
					done = true;
				} else {
					b[w++] = b[r++];
				}
			} else if (insq) {
				if (r >= end)
					return false;
				if (b[r] == '\\' && r + 1 < end && b[r + 1] == '\'') {
					b[w++] = '\'';
					r += 2;
				} else if (b[r] == '\'') {
					if (r + 1 < end && !isspace(b[r + 1]))
						return false;
					r++;
					done = true;
				} else {
					b[w++] = b[r++];
				}
			} else if (r >= end || isspace(b[r])) {
				done = true;
			} else if (b[r] == '"') {
				inq = true;
				r++;
			} else if (b[r] == '\'') {
				insq = true;
				r++;
			} else {
				b[w++] = b[r++];
			}
		}
		arg_room(c, c->argc + 1);
		c->arg_off[c->argc] = arg;
		c->arg_len[c->argc] = w - arg;
		c->argc++;
		if (r < end)
			r++; /* the separator: w < r from here on */
		b[w++] = '\0';
	}
}

/* 1: a whole command is in argv; 0: wait for more bytes; -1: error (replied). */
static int parse_inline(struct kvd_client *c)
{
	char *b = c->qbuf.b;
	char *nl = find_byte(b + c->qpos, '\n', c->qbuf.len - c->qpos);
	if (!nl) {
		if (c->qbuf.len - c->qpos > KVD_INLINE_MAX) {
			protocol_error(c, "too big inline request");
			return -1;
		}
		return 0;
	}
	size_t end = (size_t)(nl - b);
	size_t next = end + 1;
	if (end > c->qpos && b[end - 1] == '\r')
		end--;
	if (!split_inline(c, c->qpos, end)) {
		protocol_error(c, "unbalanced quotes in request");
		return -1;
	}
	c->qscan = next;
	c->inline_cmd = true;
	return 1;
}

static int parse_multibulk(struct kvd_client *c)
{
	char *b = c->qbuf.b;
	size_t end = c->qbuf.len;
	if (c->mb_left < 0) {
		char *cr = find_byte(b + c->qscan, '\r', end - c->qscan);
		if (!cr || cr + 1 >= b + end) {
			if (end - c->qscan > KVD_INLINE_MAX) {
				protocol_error(c, "too big mbulk count string");
				return -1;
			}
			return 0;
		}
		long long n;
		if (!header_number(b + c->qscan, cr, &n) || n > KVD_MAX_ARGS) {
			protocol_error(c, "invalid multibulk length");
			return -1;
		}
		c->qscan = (size_t)(cr - b) + 2;
		c->argc = 0;
		c->bulk_len = -1;
		if (n <= 0) /* an empty command: nothing to run */
			return 1;
		c->mb_left = n;
		arg_room(c, n < 1024 ? (int)n : 1024);
	}
	while (c->mb_left > 0) {
		if (c->bulk_len < 0) {
			if (c->qscan >= end)
				return 0;
			char *cr = find_byte(b + c->qscan, '\r', end - c->qscan);
			if (!cr || cr + 1 >= b + end) {
				if (end - c->qscan > KVD_INLINE_MAX) {
					protocol_error(c, "too big bulk count string");
					return -1;
				}
				return 0;
			}
			if (b[c->qscan] != '$') {
				reply_errorf(c, "ERR Protocol error: expected '$', got '%c'",
					     b[c->qscan]);
				client_close_later(c);
				return -1;
			}
			long long n;
			if (!header_number(b + c->qscan, cr, &n) || n < 0 ||
			    n > c->kv->cfg.proto_max_bulk_len) {
				protocol_error(c, "invalid bulk length");
				return -1;
			}
			c->qscan = (size_t)(cr - b) + 2;
			c->bulk_len = n;
		}
		if (end - c->qscan < (size_t)c->bulk_len + 2)
			return 0;
		arg_room(c, c->argc + 1);
		c->arg_off[c->argc] = c->qscan;
		c->arg_len[c->argc] = (size_t)c->bulk_len;
		c->argc++;
		b[c->qscan + (size_t)c->bulk_len] = '\0'; /* over its CR */
		c->qscan += (size_t)c->bulk_len + 2;
		c->bulk_len = -1;
		c->mb_left--;
	}
	c->mb_left = -1;
	return 1;
}

/* Run every whole command in the query buffer, until the client blocks,
 * closes, or the bytes run out. */
void client_process_input(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	while (!c->closing && !c->blocked && c->qpos < c->qbuf.len) {
		if (c->mb_left < 0 && c->qscan == c->qpos)
			c->inline_cmd = c->qbuf.b[c->qpos] != '*';
		int r = c->inline_cmd && c->mb_left < 0 ? parse_inline(c) : parse_multibulk(c);
		if (r <= 0)
			break;
		for (int i = 0; i < c->argc; i++) {
			c->argv[i].p = c->qbuf.b + c->arg_off[i];
			c->argv[i].n = c->arg_len[i];
		}
		int argc = c->argc;
		c->consumed += (long long)(c->qscan - c->qpos);
		c->qpos = c->qscan;
		if (argc > 0)
			process_command(c);
		/* CLIENT REPLY SKIP silences the command after it, and only that */
		c->reply_skip = c->reply_skip_next;
		c->reply_skip_next = false;
		if (c == kv->loader && !c->in_multi)
			kv->load_valid = c->consumed;
		c->argc = 0;
		c->inline_cmd = false;
	}
	/* drop what was consumed, when it is most of the buffer */
	if (c->qpos > 0 && (c->qpos == c->qbuf.len || c->qpos > c->qbuf.len / 2)) {
		memmove(c->qbuf.b, c->qbuf.b + c->qpos, c->qbuf.len - c->qpos);
		c->qbuf.len -= c->qpos;
		c->qscan -= c->qpos;
		for (int i = 0; i < c->argc; i++)
			c->arg_off[i] -= c->qpos;
		c->qpos = 0;
		if (c->qbuf.len == 0 && c->qbuf.cap > 64 * 1024)
			buf_free(kv, &c->qbuf);
	}
	if (c->qbuf.len > (size_t)kv->cfg.client_query_buffer_limit && !c->closing) {
		kv_log(kv, "kvd: closing client %llu: query buffer over client-query-buffer-limit",
		       (unsigned long long)c->id);
		client_close_later(c);
	}
}
