/*
 * The HTTP/1.1 request parser (RFC 9112 sections 2-3 and 5-6, RFC 9110 for
 * the fields): a request head in a buffer becomes a struct http_request,
 * or a status code saying what is wrong with it.
 *
 * The head is parsed whole, once its empty line has arrived; until then
 * only its size is watched (414 for a request line past HTTP_LINE_MAX, 431
 * for a head past HTTP_HEAD_MAX) and bytes no request may contain (NUL and
 * other controls) are refused at once, so neither a slow client nor a
 * binary one holds a connection's buffer for long. Bare LF ends a line, as
 * RFC 9112 allows; a bare CR, whitespace before a field's colon, an obs-fold
 * continuation line, and a message with both Transfer-Encoding and
 * Content-Length (request smuggling) are refused with 400.
 *
 * The target's path is percent-decoded exactly once and then normalised:
 * repeated slashes collapse, "." segments go, and a ".." segment - raw or
 * decoded from %2e%2e - refuses the request, as do %00, control bytes and
 * a malformed escape. What the hooks see is therefore always a clean
 * absolute path inside the document root.
 *
 * The parser never writes to the buffer and reads only within len.
 */
#include <user/srv/httpd/core.h>
#include <common/string.h>

static bool is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Field value bytes: visible ASCII, obs-text, SP and HTAB. */
static bool is_field_byte(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool ieq(const char *a, size_t n, const char *b)
{
	if (strlen(b) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
			return false;
	return true;
}

static int hexval(unsigned char c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

int http_decode_path(const char *target, size_t len, char *out, size_t outsize)
{
	char seg[HTTP_PATH_MAX + 1]; /* the segment being decoded */
	size_t o = 0, s = 0;
	if (outsize < 2)
		return -414;
	out[o++] = '/';
	for (size_t i = 0; i <= len; i++) {
		if (i == len || target[i] == '/') {
			/* a segment ends: drop empty and ".", refuse ".." */
			if (s == 2 && seg[0] == '.' && seg[1] == '.')
				return -400;
			if (s > 0 && !(s == 1 && seg[0] == '.')) {
				if (o + s + 1 > outsize) /* the slash may take the NUL's place */
					return -414;
				memcpy(out + o, seg, s);
				o += s;
				out[o++] = '/';
			}
			s = 0;
			continue;
		}
		unsigned char c = (unsigned char)target[i];
		if (c == '%') {
			if (i + 2 >= len || !isxdigit((unsigned char)target[i + 1]) ||
			    !isxdigit((unsigned char)target[i + 2]))
				return -400;
			c = (unsigned char)(hexval((unsigned char)target[i + 1]) * 16 +
					    hexval((unsigned char)target[i + 2]));
			i += 2;
			/* a decoded slash is a name byte we cannot represent: refuse
			 * it rather than let it split segments after the ".." check */
			if (c == '/')
				return -400;
		}
		if (c < 0x20 || c == 0x7f || c == '\\')
			return -400;
		if (s >= HTTP_PATH_MAX)
			return -414;
		seg[s++] = (char)c;
	}
	/* keep a trailing slash only if the target had one (a directory) */
	if (o > 1 && !(len > 0 && target[len - 1] == '/'))
		o--;
	if (o >= outsize)
		return -414;
	out[o] = '\0';
	return 0;
}

/* The end of the line starting at p (the index of its LF), or -1. */
static long line_end(const char *buf, size_t from, size_t len)
{
	for (size_t i = from; i < len; i++)
		if (buf[i] == '\n')
			return (long)i;
	return -1;
}

/* Bytes no request head contains anywhere: refused before the head is whole. */
static bool has_forbidden_byte(const char *buf, size_t from, size_t len)
{
	for (size_t i = from; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c < 0x20 && c != '\t' && c != '\r' && c != '\n')
			return true;
		if (c == 0x7f)
			return true;
	}
	return false;
}

/* A line's content without its CR LF; false for a CR anywhere else. */
static bool trim_line(const char *buf, size_t start, size_t lf, size_t *end)
{
	size_t e = lf;
	if (e > start && buf[e - 1] == '\r')
		e--;
	for (size_t i = start; i < e; i++)
		if (buf[i] == '\r')
			return false;
	*end = e;
	return true;
}

static enum http_method method_of(const char *m, size_t n)
{
	static const char *const others[] = { "POST",    "PUT",   "DELETE", "CONNECT",
					      "OPTIONS", "TRACE", "PATCH" };
	if (n == 3 && memcmp(m, "GET", 3) == 0)
		return HTTP_GET;
	if (n == 4 && memcmp(m, "HEAD", 4) == 0)
		return HTTP_HEAD;
	for (size_t i = 0; i < ARRAY_SIZE(others); i++)
		if (strlen(others[i]) == n && memcmp(m, others[i], n) == 0)
			return HTTP_OTHER_KNOWN;
	return HTTP_UNKNOWN;
}

/* "bytes=first-last", "bytes=first-" or "bytes=-n"; anything else (other
 * units, several ranges, bad numbers) leaves RANGE_NONE: RFC 9110 14.2 lets
 * a server ignore a Range it cannot or will not satisfy as asked. */
static void parse_range(const char *v, size_t n, struct http_request *req)
{
	if (n < 7 || !ieq(v, 6, "bytes="))
		return;
	v += 6, n -= 6;
	uint64_t a = 0, b = 0;
	size_t i = 0, da = 0, db = 0;
	for (; i < n && isdigit((unsigned char)v[i]); i++, da++) {
		if (a > (UINT64_MAX - 9) / 10)
			return;
		a = a * 10 + (uint64_t)(v[i] - '0');
	}
	if (i == n || v[i] != '-')
		return;
	for (i++; i < n && isdigit((unsigned char)v[i]); i++, db++) {
		if (b > (UINT64_MAX - 9) / 10)
			return;
		b = b * 10 + (uint64_t)(v[i] - '0');
	}
	if (i != n || (da == 0 && db == 0))
		return;
	if (da == 0) {
		req->range = RANGE_SUFFIX;
		req->range_first = b;
	} else if (db == 0 || b >= a) {
		req->range = RANGE_FROM;
		req->range_first = a;
		req->range_last = db == 0 ? UINT64_MAX : b;
	}
	/* last < first: invalid, ignored */
}

/* Does the comma-separated list v hold token (case-insensitively)? */
static bool list_has(const char *v, size_t n, const char *token)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e > s && ieq(v + s, e - s, token))
			return true;
	}
	return false;
}

/* What the header fields said, before it is checked as a whole. */
struct fields {
	int hosts;
	bool conn_close, conn_keep_alive, has_te, has_cl, bad_cl;
	uint64_t cl;
};

static int field(const char *name, size_t nn, const char *v, size_t vn, struct http_request *req,
		 struct fields *f)
{
	if (ieq(name, nn, "host")) {
		f->hosts++;
		for (size_t i = 0; i < vn; i++)
			if (!isalnum((unsigned char)v[i]) && !strchr(".-_:[]~!$&'()*+,;=%", v[i]))
				return -400;
	} else if (ieq(name, nn, "connection")) {
		f->conn_close |= list_has(v, vn, "close");
		f->conn_keep_alive |= list_has(v, vn, "keep-alive");
	} else if (ieq(name, nn, "content-length")) {
		uint64_t cl = 0;
		if (vn == 0 || vn > 18)
			f->bad_cl = true;
		for (size_t i = 0; i < vn; i++) {
			if (!isdigit((unsigned char)v[i]))
				f->bad_cl = true;
			cl = cl * 10 + (uint64_t)(v[i] - '0');
		}
		if (f->has_cl && cl != f->cl)
			f->bad_cl = true;
		f->has_cl = true;
		f->cl = cl;
	} else if (ieq(name, nn, "transfer-encoding")) {
		f->has_te = true;
	} else if (ieq(name, nn, "if-modified-since")) {
		req->has_ims = http_date_parse(v, vn, &req->ims);
	} else if (ieq(name, nn, "range")) {
		parse_range(v, vn, req);
	} else if (ieq(name, nn, "if-range")) {
		req->has_if_range = true;
		if (!http_date_parse(v, vn, &req->if_range))
			req->if_range = -1;
	}
	return 0;
}

/* The request line: method SP request-target SP HTTP-version. */
static int request_line(const char *l, size_t n, struct http_request *req, const char **target,
			size_t *target_len)
{
	size_t copy = MIN(n, sizeof(req->line) - 1);
	memcpy(req->line, l, copy);
	req->line[copy] = '\0';

	size_t m = 0;
	while (m < n && is_tchar((unsigned char)l[m]))
		m++;
	if (m == 0 || m >= n || l[m] != ' ')
		return -400;
	size_t t = m + 1, te = t;
	while (te < n && l[te] != ' ')
		te++;
	if (te == t || te >= n)
		return -400;
	for (size_t i = t; i < te; i++)
		if ((unsigned char)l[i] <= 0x20 || (unsigned char)l[i] >= 0x7f)
			return -400;
	const char *v = l + te + 1;
	size_t vn = n - te - 1;
	if (vn != 8 || memcmp(v, "HTTP/", 5) != 0 || !isdigit((unsigned char)v[5]) || v[6] != '.' ||
	    !isdigit((unsigned char)v[7]))
		return -400;
	if (v[5] != '1')
		return -505;
	req->minor = v[7] == '0' ? 0 : 1;
	req->method = method_of(l, m);
	*target = l + t;
	*target_len = te - t;
	return 0;
}

/* The path of an origin-form or absolute-form target, query cut off. */
static int target_path(const char *t, size_t n, struct http_request *req)
{
	if (n >= 7 && ieq(t, 7, "http://")) {
		size_t i = 7;
		while (i < n && t[i] != '/' && t[i] != '?')
			i++;
		if (i == 7)
			return -400;
		t += i, n -= i;
		if (n == 0 || t[0] == '?') {
			req->has_query = n > 0;
			return http_decode_path("", 0, req->path, sizeof(req->path));
		}
	}
	if (n == 0 || t[0] != '/')
		return -400;
	size_t q = 0;
	while (q < n && t[q] != '?' && t[q] != '#')
		q++;
	if (q < n && t[q] == '#')
		return -400; /* a fragment is never sent (RFC 9110 4.2.4) */
	req->has_query = q < n;
	return http_decode_path(t, q, req->path, sizeof(req->path));
}

long http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	memset(req, 0, sizeof(*req));
	req->if_range = -1;

	/* empty lines before a request are ignored (RFC 9112 2.2) */
	size_t start = 0;
	while (start < len && (buf[start] == '\r' || buf[start] == '\n')) {
		if (start >= HTTP_HEAD_MAX)
			return -431;
		start++;
	}
	/* find the request line's end, then the empty line that ends the head,
	 * looking no further than a head may reach */
	size_t limit = MIN(len, start + HTTP_HEAD_MAX + 1), head_end = 0;
	long lf = line_end(buf, start, limit);
	for (size_t pos = lf < 0 ? limit : (size_t)lf + 1; pos < limit;) {
		long e = line_end(buf, pos, limit);
		if (e < 0)
			break;
		if ((size_t)e == pos || ((size_t)e == pos + 1 && buf[pos] == '\r')) {
			head_end = (size_t)e + 1;
			break;
		}
		pos = (size_t)e + 1;
	}
	/* bytes no head may hold are refused before it is whole (what follows
	 * a whole head is a body or the next request: not looked at) */
	if (has_forbidden_byte(buf, start, head_end ? head_end : limit))
		return -400;
	if (lf < 0 || (size_t)lf - start > HTTP_LINE_MAX)
		return len - start > HTTP_LINE_MAX ? -414 : 0;
	if (!head_end)
		return len - start > HTTP_HEAD_MAX ? -431 : 0;
	req->head_len = head_end;

	size_t le;
	const char *target;
	size_t target_len;
	if (!trim_line(buf, start, (size_t)lf, &le))
		return -400;
	int r = request_line(buf + start, le - start, req, &target, &target_len);
	if (r < 0)
		return r;

	struct fields f = { 0 };
	int nfields = 0;
	for (size_t pos = (size_t)lf + 1; pos < head_end;) {
		size_t e = (size_t)line_end(buf, pos, head_end), end;
		if (!trim_line(buf, pos, e, &end))
			return -400;
		if (end == pos)
			break; /* the empty line */
		if (++nfields > HTTP_FIELDS_MAX)
			return -431;
		const char *l = buf + pos;
		size_t n = end - pos, c = 0;
		while (c < n && is_tchar((unsigned char)l[c]))
			c++;
		if (c == 0 || c >= n || l[c] != ':')
			return -400; /* no name, obs-fold, or space before the colon */
		size_t vs = c + 1, ve = n;
		while (vs < ve && (l[vs] == ' ' || l[vs] == '\t'))
			vs++;
		while (ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t'))
			ve--;
		for (size_t i = vs; i < ve; i++)
			if (!is_field_byte((unsigned char)l[i]))
				return -400;
		r = field(l, c, l + vs, ve - vs, req, &f);
		if (r < 0)
			return r;
		pos = e + 1;
	}

	if (req->method != HTTP_GET)
		req->range = RANGE_NONE;
	if (f.hosts > 1 || (req->minor == 1 && f.hosts == 0))
		return -400;
	if (f.bad_cl || (f.has_te && (f.has_cl || req->minor == 0)))
		return -400;
	if (f.has_te)
		return -501; /* no request bodies in transfer codings here */
	if (f.cl > HTTP_BODY_MAX)
		return -413;
	req->body_len = f.cl;
	/* framing is sound from here on: the connection may go on */
	req->keep_alive = req->minor == 1 ? !f.conn_close : f.conn_keep_alive && !f.conn_close;
	if (req->method == HTTP_UNKNOWN)
		return -501;
	if (req->method == HTTP_OTHER_KNOWN)
		return -405;
	r = target_path(target, target_len, req);
	if (r < 0)
		return r;
	return (long)head_end;
}
