/*
 * Host tests of httpd's core (user/srv/httpd): the request parser on good,
 * bad and hostile heads; HTTP dates against libc's calendar; and whole
 * exchanges through a connection, for every status code the server sends,
 * persistent connections and pipelining, the timeouts, the connection limit,
 * /status, the uncached path and running out of memory.
 *
 * The hooks are test/http_fake.h's: files in memory, a clock moved by hand.
 */
#include "check.h"

#include <stdint.h>
#include <time.h>

#include "rename.h"

#include <common/fmt.h>
#include <common/string.h>
#include "http_fake.h"

/* --- the parser ------------------------------------------------------------ */

static long parse(const char *text, struct http_request *req)
{
	return http_parse_request(text, strlen(text), req);
}

static int status_of(const char *text)
{
	struct http_request req;
	long r = parse(text, &req);
	return r > 0 ? 200 : (int)-r;
}

TEST(parse, simple_get)
{
	struct http_request req;
	const char *t = "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\nGET /next";
	CHECK_EQ(parse(t, &req), strlen(t) - strlen("GET /next"));
	CHECK_EQ(req.method, HTTP_GET);
	CHECK_EQ(req.minor, 1);
	CHECK(req.keep_alive);
	CHECK_STREQ(req.path, "/index.html");
	CHECK_STREQ(req.line, "GET /index.html HTTP/1.1");
}

TEST(parse, incomplete_then_complete_byte_by_byte)
{
	const char *t = "HEAD /a HTTP/1.0\r\nConnection: keep-alive\r\nX-Y:  z \r\n\r\n";
	struct http_request req;
	size_t n = strlen(t);
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(http_parse_request(t, i, &req), 0);
	CHECK_EQ(http_parse_request(t, n, &req), n);
	CHECK_EQ(req.method, HTTP_HEAD);
	CHECK_EQ(req.minor, 0);
	CHECK(req.keep_alive);
}

TEST(parse, connection_tokens)
{
	struct http_request req;
	CHECK(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, Close\r\n\r\n", &req) > 0);
	CHECK(!req.keep_alive);
	CHECK(parse("GET / HTTP/1.0\r\n\r\n", &req) > 0);
	CHECK(!req.keep_alive);
	CHECK(parse("GET / HTTP/1.2\r\nHost: x\r\n\r\n", &req) > 0);
	CHECK_EQ(req.minor, 1);
}

TEST(parse, bare_lf_and_leading_empty_lines)
{
	struct http_request req;
	const char *t = "\r\n\nGET /x HTTP/1.1\nHost: a\n\n";
	CHECK_EQ(parse(t, &req), strlen(t));
	CHECK_STREQ(req.path, "/x");
}

TEST(parse, absolute_form_and_query)
{
	struct http_request req;
	CHECK(parse("GET http://example.org/a/b?q=1 HTTP/1.1\r\nHost: example.org\r\n\r\n", &req) >
	      0);
	CHECK_STREQ(req.path, "/a/b");
	CHECK(req.has_query);
	CHECK(parse("GET HTTP://h HTTP/1.1\r\nHost: h\r\n\r\n", &req) > 0);
	CHECK_STREQ(req.path, "/");
	CHECK_EQ(status_of("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	CHECK_EQ(status_of("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	CHECK_EQ(status_of("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

static int decode(const char *in, char *out)
{
	return http_decode_path(in, strlen(in), out, HTTP_PATH_MAX + 1);
}

TEST(path, decoding_and_normalising)
{
	char out[HTTP_PATH_MAX + 1];
	CHECK_EQ(decode("/a%20b", out), 0);
	CHECK_STREQ(out, "/a b");
	CHECK_EQ(decode("//a///b/", out), 0);
	CHECK_STREQ(out, "/a/b/");
	CHECK_EQ(decode("/./a/./b", out), 0);
	CHECK_STREQ(out, "/a/b");
	CHECK_EQ(decode("/", out), 0);
	CHECK_STREQ(out, "/");
	CHECK_EQ(decode("/%41%62c", out), 0);
	CHECK_STREQ(out, "/Abc");
	/* decoded once: %2541 is the name "%41", not "A" */
	CHECK_EQ(decode("/%2541", out), 0);
	CHECK_STREQ(out, "/%41");
	CHECK_EQ(decode("/..a/b..", out), 0);
	CHECK_STREQ(out, "/..a/b..");
}

TEST(path, traversal_refused)
{
	char out[HTTP_PATH_MAX + 1];
	static const char *const bad[] = {
		"/..",       "/../etc/passwd", "/a/../../b",  "/a/..",       "/%2e%2e/x",
		"/%2E%2e",   "/.%2e/x",        "/a/%2e./b",   "/%2e%2e%2fx", "/a%2f..",
		"/%00",      "/a%00.html",     "/%zz",        "/%4",         "/%",
		"/a\\..\\b", "/%5c..",         "/%0d%0aX: y", "/%7f",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK_MSG(decode(bad[i], out) == -400, "%s gave %d", bad[i], decode(bad[i], out));
	char req[256];
	snprintf(req, sizeof(req), "GET /../secret HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_EQ(status_of(req), 400);
	CHECK_EQ(status_of("GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
}

TEST(path, too_long)
{
	char target[HTTP_LINE_MAX], req[HTTP_LINE_MAX + 64], out[HTTP_PATH_MAX + 1];
	memset(target, 'a', HTTP_PATH_MAX + 10);
	target[0] = '/';
	target[HTTP_PATH_MAX + 10] = '\0';
	CHECK_EQ(decode(target, out), -414);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
	CHECK_EQ(status_of(req), 414);
	/* exactly at the limit is fine */
	target[HTTP_PATH_MAX] = '\0';
	CHECK_EQ(decode(target, out), 0);
	CHECK_EQ(strlen(out), HTTP_PATH_MAX);
}

TEST(parse, request_line_too_long)
{
	size_t n = HTTP_LINE_MAX + 100;
	char *t = malloc(n + 1);
	memcpy(t, "GET /", 5);
	memset(t + 5, 'b', n - 5);
	t[n] = '\0';
	struct http_request req;
	CHECK_EQ(http_parse_request(t, n, &req), -414);
	CHECK_EQ(http_parse_request(t, HTTP_LINE_MAX / 2, &req), 0); /* not yet */
	free(t);
}

TEST(parse, header_limits)
{
	struct http_request req;
	char *t = malloc(HTTP_HEAD_MAX * 2);
	size_t n = (size_t)sprintf(t, "GET / HTTP/1.1\r\nHost: x\r\n");
	while (n < HTTP_HEAD_MAX + 10)
		n += (size_t)sprintf(t + n, "X-Filler: %0100d\r\n", 7);
	CHECK_EQ(http_parse_request(t, n, &req), -431);
	free(t);
	char many[8000];
	n = (size_t)sprintf(many, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < HTTP_FIELDS_MAX; i++)
		n += (size_t)sprintf(many + n, "A%d: b\r\n", i);
	sprintf(many + n, "\r\n");
	CHECK_EQ(status_of(many), 431);
}

TEST(parse, version)
{
	CHECK_EQ(status_of("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 505);
	CHECK_EQ(status_of("GET / HTTP/0.9\r\nHost: x\r\n\r\n"), 505);
	CHECK_EQ(status_of("GET / HTTP/1\r\nHost: x\r\n\r\n"), 400);
	CHECK_EQ(status_of("GET / http/1.1\r\nHost: x\r\n\r\n"), 400);
	CHECK_EQ(status_of("GET / HTTP/1.1x\r\nHost: x\r\n\r\n"), 400);
	CHECK_EQ(status_of("GET /\r\n\r\n"), 400); /* HTTP/0.9 style */
}

TEST(parse, methods)
{
	struct http_request req;
	CHECK_EQ(parse("POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", &req), -405);
	CHECK(req.keep_alive); /* framing is sound: the body can be skipped */
	CHECK_EQ(req.body_len, 3);
	CHECK_EQ(status_of("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n"), 405);
	CHECK_EQ(status_of("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"), 405);
	CHECK_EQ(status_of("BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n"), 501);
	CHECK_EQ(status_of("get / HTTP/1.1\r\nHost: x\r\n\r\n"), 501); /* case matters */
	CHECK_EQ(status_of("G(T / HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
	CHECK_EQ(status_of(" GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
	CHECK_EQ(status_of("GET  / HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
}

TEST(parse, hostile_fields)
{
	CHECK_EQ(status_of("GET / HTTP/1.1\r\n\r\n"), 400); /* no Host */
	CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
	CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400);
	CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400);
	CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n"), 400);
	CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"), 400);
	CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n"), 400);
	CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"), 400);
	CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n"), 400);
	CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: \x7f\r\n\r\n"), 400);
	struct http_request req;
	const char nul[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
	CHECK_EQ(http_parse_request(nul, sizeof(nul) - 1, &req), -400);
	/* a NUL is refused before the head is complete */
	CHECK_EQ(http_parse_request("GE\0", 3, &req), -400);
	CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n"), 200);
}

TEST(parse, bodies)
{
	struct http_request req;
	CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n"), 400);
	CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"), 400);
	CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
			   "Content-Length: 2\r\n\r\n"),
		 400);
	CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
			   "Transfer-Encoding: chunked\r\n\r\n"),
		 400);
	CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"), 501);
	CHECK_EQ(status_of("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
	CHECK_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999\r\n\r\n"),
		 413);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
		       "Content-Length: 5\r\n\r\n",
		       &req) > 0,
		 1);
	CHECK_EQ(req.body_len, 5);
}

TEST(parse, ranges)
{
	struct http_request req;
	CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=2-5\r\n\r\n", &req) > 0);
	CHECK_EQ(req.range, RANGE_FROM);
	CHECK_EQ(req.range_first, 2);
	CHECK_EQ(req.range_last, 5);
	CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=7-\r\n\r\n", &req) > 0);
	CHECK_EQ(req.range, RANGE_FROM);
	CHECK_EQ(req.range_last, UINT64_MAX);
	CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=-9\r\n\r\n", &req) > 0);
	CHECK_EQ(req.range, RANGE_SUFFIX);
	CHECK_EQ(req.range_first, 9);
	static const char *const ignored[] = { "bytes=5-2", "bytes=1-2,4-5",
					       "items=1-2", "bytes=-",
					       "bytes=a-b", "bytes=99999999999999999999999-" };
	for (size_t i = 0; i < ARRAY_SIZE(ignored); i++) {
		char t[256];
		snprintf(t, sizeof(t), "GET / HTTP/1.1\r\nHost: a\r\nRange: %s\r\n\r\n",
			 ignored[i]);
		CHECK(parse(t, &req) > 0);
		CHECK_MSG(req.range == RANGE_NONE, "%s was not ignored", ignored[i]);
	}
	CHECK(parse("HEAD / HTTP/1.1\r\nHost: a\r\nRange: bytes=1-2\r\n\r\n", &req) > 0);
	CHECK_EQ(req.range, RANGE_NONE); /* only GET has ranges */
}

/* --- dates ------------------------------------------------------------------- */

TEST(date, format_known)
{
	char d[HTTP_DATE_LEN + 1];
	http_date_format(0, d);
	CHECK_STREQ(d, "Thu, 01 Jan 1970 00:00:00 GMT");
	http_date_format(784111777, d);
	CHECK_STREQ(d, "Sun, 06 Nov 1994 08:49:37 GMT");
	http_date_format(951782400, d); /* a leap day */
	CHECK_STREQ(d, "Tue, 29 Feb 2000 00:00:00 GMT");
}

TEST(date, format_agrees_with_libc)
{
	srand(7);
	for (int i = 0; i < 20000; i++) {
		int64_t t = ((int64_t)rand() << 20 ^ rand()) % 253402300799LL; /* to 9999 */
		if (t < 0)
			t = -t;
		char d[HTTP_DATE_LEN + 1], want[64];
		time_t tt = (time_t)t;
		struct tm tm;
		gmtime_r(&tt, &tm);
		strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		http_date_format(t, d);
		if (!CHECK_STREQ(d, want))
			break;
		int64_t back;
		if (!CHECK(http_date_parse(d, strlen(d), &back) && back == t))
			break;
	}
}

TEST(date, three_formats)
{
	int64_t t;
	CHECK(http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", 29, &t) && t == 784111777);
	const char *rfc850 = "Sunday, 06-Nov-94 08:49:37 GMT";
	CHECK(http_date_parse(rfc850, strlen(rfc850), &t) && t == 784111777);
	const char *asc = "Sun Nov  6 08:49:37 1994";
	CHECK(http_date_parse(asc, strlen(asc), &t) && t == 784111777);
	const char *asc2 = "Wed Nov 16 08:49:37 1994";
	CHECK(http_date_parse(asc2, strlen(asc2), &t) && t == 784111777 + 10 * 86400);
	const char *y2k = "Saturday, 01-Jan-00 00:00:00 GMT";
	CHECK(http_date_parse(y2k, strlen(y2k), &t) && t == 946684800);
}

TEST(date, bad_dates)
{
	static const char *const bad[] = {
		"Sun, 06 Nov 1994 08:49:37 UTC",
		"Sun, 6 Nov 1994 08:49:37 GMT",
		"Sun, 31 Feb 1994 08:49:37 GMT",
		"Sun, 29 Feb 1900 00:00:00 GMT",
		"Sun, 06 Foo 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 24:00:00 GMT",
		"Sun, 06 Nov 1994 08:60:00 GMT",
		"Sun, 06 Nov 1994 08:49:37 GMTx",
		"Xyz, 06 Nov 1994 08:49:37 GMT",
		"Sun Nov 6 08:49:37 1994",
		"Sunday, 06-Nov-1994 08:49:37 GMT",
		"",
		"yesterday",
		"Sun, 00 Nov 1994 08:49:37 GMT",
	};
	int64_t t;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK_MSG(!http_date_parse(bad[i], strlen(bad[i]), &t), "accepted '%s'", bad[i]);
}

/* --- whole exchanges ---------------------------------------------------------- */

static const char page[] = "<html><body>Hello, Exo!</body></html>\n";
static char big[100000];

static struct http_config test_config(void)
{
	struct http_config cfg;
	http_config_default(&cfg);
	cfg.request_ms = 1000;
	cfg.idle_ms = 5000;
	cfg.send_ms = 3000;
	return cfg;
}

static struct http_server *setup(struct http_config cfg)
{
	fake_nfiles = 0;
	fake_add("/index.html", page, sizeof(page) - 1, 784111777);
	fake_add("/docs", NULL, 0, 784111777);
	fake_add("/docs/a.txt", "alpha\n", 6, 784111777);
	fake_add("/docs/<b>&\".css", "b{}", 3, 784111777);
	fake_add("/empty.bin", "", 0, 784111777);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i * 7 % 26);
	fake_add("/big.dat", big, sizeof(big), 784111777);
	struct http_server *srv = http_server_new(&cfg, &fake_hooks);
	CHECK(srv != NULL);
	return srv;
}

/* Everything the connection has to send now, as one NUL-terminated string
 * (caller frees); *fin: whether a FIN was offered with its last piece. */
static char *drain(struct http_conn *c, bool *fin_out, size_t *len_out)
{
	size_t len = 0, cap = 1024;
	char *out = malloc(cap);
	bool any_fin = false;
	for (;;) {
		struct http_iov iov[4];
		bool fin;
		int n = http_conn_output(c, iov, 4, &fin);
		if (n == 0)
			break;
		size_t total = 0;
		for (int i = 0; i < n; i++) {
			while (len + iov[i].len + 1 > cap)
				out = realloc(out, cap *= 2);
			memcpy(out + len, iov[i].base, iov[i].len);
			len += iov[i].len;
			total += iov[i].len;
		}
		any_fin |= fin;
		http_conn_sent(c, total);
	}
	out[len] = '\0';
	if (fin_out)
		*fin_out = any_fin;
	if (len_out)
		*len_out = len;
	return out;
}

static void feed(struct http_conn *c, const char *data, size_t n)
{
	while (n) {
		char *buf;
		size_t space = http_conn_recv_space(c, &buf);
		if (!space)
			return;
		size_t k = n < space ? n : space;
		memcpy(buf, data, k);
		http_conn_received(c, k);
		data += k, n -= k;
	}
}

/* One request on a fresh connection: the whole response. */
static char *ask(struct http_server *srv, const char *request)
{
	struct http_conn *c = http_accept(srv, "peer");
	feed(c, request, strlen(request));
	char *r = drain(c, NULL, NULL);
	http_conn_free(c);
	return r;
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static const char *body_of(const char *r)
{
	const char *b = strstr(r, "\r\n\r\n");
	return b ? b + 4 : "";
}

TEST(respond, get_and_head)
{
	struct http_server *srv = setup(test_config());
	char *r = ask(srv, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK(starts(r, "HTTP/1.1 200 OK\r\n"));
	CHECK(strstr(r, "\r\nContent-Length: 38\r\n"));
	CHECK(strstr(r, "\r\nContent-Type: text/html; charset=utf-8\r\n"));
	CHECK(strstr(r, "\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
	CHECK(strstr(r, "\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\n"));
	CHECK_STREQ(body_of(r), page);
	free(r);
	r = ask(srv, "HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK(starts(r, "HTTP/1.1 200 OK\r\n"));
	CHECK(strstr(r, "\r\nContent-Length: 38\r\n"));
	CHECK_STREQ(body_of(r), "");
	free(r);
	r = ask(srv, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); /* the index */
	CHECK_STREQ(body_of(r), page);
	free(r);
	r = ask(srv, "GET /empty.bin HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK(strstr(r, "Content-Length: 0\r\n") && strstr(r, "application/octet-stream"));
	free(r);
	http_server_free(srv);
}

TEST(respond, if_modified_since)
{
	struct http_server *srv = setup(test_config());
	char *r = ask(srv, "GET /index.html HTTP/1.1\r\nHost: x\r\n"
			   "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n");
	CHECK(starts(r, "HTTP/1.1 304 Not Modified\r\n"));
	CHECK(!strstr(r, "Content-Length"));
	CHECK_STREQ(body_of(r), "");
	free(r);
	r = ask(srv, "GET /index.html HTTP/1.1\r\nHost: x\r\n"
		     "If-Modified-Since: Sunday, 06-Nov-94 08:49:36 GMT\r\n\r\n");
	CHECK(starts(r, "HTTP/1.1 200 OK\r\n"));
	free(r);
	r = ask(srv, "GET /index.html HTTP/1.1\r\nHost: x\r\n"
		     "If-Modified-Since: Mon Nov  7 00:00:00 1994\r\n\r\n");
	CHECK(starts(r, "HTTP/1.1 304 "));
	free(r);
	r = ask(srv, "GET /index.html HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: soon\r\n\r\n");
	CHECK(starts(r, "HTTP/1.1 200 OK\r\n")); /* not a date: ignored */
	free(r);
	http_server_free(srv);
}

TEST(respond, ranges)
{
	struct http_server *srv = setup(test_config());
	char *r = ask(srv, "GET /index.html HTTP/1.1\r\nHost: x\r\nRange: bytes=6-11\r\n\r\n");
	CHECK(starts(r, "HTTP/1.1 206 Partial Content\r\n"));
	CHECK(strstr(r, "\r\nContent-Range: bytes 6-11/38\r\n"));
	CHECK(strstr(r, "\r\nContent-Length: 6\r\n"));
	CHECK_STREQ(body_of(r), "<body>");
	free(r);
	r = ask(srv, "GET /index.html HTTP/1.1\r\nHost: x\r\nRange: bytes=-3\r\n\r\n");
	CHECK(strstr(r, "Content-Range: bytes 35-37/38\r\n"));
	CHECK_STREQ(body_of(r), "l>\n");
	free(r);
	r = ask(srv, "GET /index.html HTTP/1.1\r\nHost: x\r\nRange: bytes=30-1000\r\n\r\n");
	CHECK(strstr(r, "Content-Range: bytes 30-37/38\r\n"));
	free(r);
	r = ask(srv, "GET /index.html HTTP/1.1\r\nHost: x\r\nRange: bytes=-100\r\n\r\n");
	CHECK(strstr(r, "Content-Range: bytes 0-37/38\r\n"));
	free(r);
	r = ask(srv, "GET /index.html HTTP/1.1\r\nHost: x\r\nRange: bytes=38-\r\n\r\n");
	CHECK(starts(r, "HTTP/1.1 416 Range Not Satisfiable\r\n"));
	CHECK(strstr(r, "\r\nContent-Range: bytes */38\r\n"));
	CHECK(strstr(body_of(r), "416"));
	free(r);
	r = ask(srv, "GET /index.html HTTP/1.1\r\nHost: x\r\nRange: bytes=-0\r\n\r\n");
	CHECK(starts(r, "HTTP/1.1 416 "));
	free(r);
	r = ask(srv, "GET /empty.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-\r\n\r\n");
	CHECK(starts(r, "HTTP/1.1 416 "));
	free(r);
	r = ask(srv, "GET /index.html HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1,5-6\r\n\r\n");
	CHECK(starts(r, "HTTP/1.1 200 OK\r\n")); /* several ranges: the whole file */
	free(r);
	r = ask(srv, "GET /index.html HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\n"
		     "If-Range: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n");
	CHECK(starts(r, "HTTP/1.1 206 "));
	free(r);
	r = ask(srv, "GET /index.html HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\n"
		     "If-Range: \"etag\"\r\n\r\n");
	CHECK(starts(r, "HTTP/1.1 200 "));
	free(r);
	http_server_free(srv);
}

TEST(respond, directories)
{
	struct http_server *srv = setup(test_config());
	char *r = ask(srv, "GET /docs HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK(starts(r, "HTTP/1.1 301 Moved Permanently\r\n"));
	CHECK(strstr(r, "\r\nLocation: /docs/\r\n"));
	free(r);
	r = ask(srv, "GET /docs/ HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK(starts(r, "HTTP/1.1 200 OK\r\n"));
	CHECK(strstr(r, "<a href=\"a.txt\">a.txt</a>"));
	/* a hostile name is escaped for the URL and for HTML */
	CHECK(strstr(r, "<a href=\"%3Cb%3E%26%22.css\">&lt;b&gt;&amp;&quot;.css</a>"));
	CHECK(!strstr(r, "<b>"));
	free(r);
	r = ask(srv, "GET /docs/a.txt/ HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK(starts(r, "HTTP/1.1 404 "));
	free(r);
	http_server_free(srv);
}

/* Every error status, with its body naming it. */
TEST(respond, error_statuses)
{
	static const struct {
		const char *req;
		int status;
	} cases[] = {
		{ "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404 },
		{ "GET /../x HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "PUT /x HTTP/1.1\r\nHost: x\r\n\r\n", 405 },
		{ "GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n", 413 },
		{ "FROB /x HTTP/1.1\r\nHost: x\r\n\r\n", 501 },
		{ "GET /x HTTP/3.0\r\nHost: x\r\n\r\n", 505 },
	};
	struct http_server *srv = setup(test_config());
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *r = ask(srv, cases[i].req);
		char want[64];
		snprintf(want, sizeof(want), "HTTP/1.1 %d %s\r\n", cases[i].status,
			 http_reason(cases[i].status));
		CHECK_MSG(starts(r, want), "%s got %.40s", cases[i].req, r);
		snprintf(want, sizeof(want), "<h1>%d %s</h1>", cases[i].status,
			 http_reason(cases[i].status));
		CHECK_MSG(strstr(body_of(r), want), "no body naming %d", cases[i].status);
		char cl[64];
		snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", strlen(body_of(r)));
		CHECK(strstr(r, cl));
		if (cases[i].status == 405)
			CHECK(strstr(r, "\r\nAllow: GET, HEAD\r\n"));
		free(r);
	}
	/* 414 and 431 from oversized heads */
	char *t = malloc(HTTP_HEAD_MAX * 2);
	memset(t, 'a', HTTP_HEAD_MAX * 2 - 1);
	memcpy(t, "GET /", 5);
	t[HTTP_HEAD_MAX * 2 - 1] = '\0';
	char *r = ask(srv, t);
	CHECK(starts(r, "HTTP/1.1 414 URI Too Long\r\n") && strstr(r, "Connection: close"));
	free(r);
	size_t n = (size_t)sprintf(t, "GET / HTTP/1.1\r\n");
	while (n < HTTP_HEAD_MAX + 100)
		n += (size_t)sprintf(t + n, "X: %050d\r\n", 1);
	r = ask(srv, t);
	CHECK(starts(r, "HTTP/1.1 431 Request Header Fields Too Large\r\n"));
	free(r);
	free(t);
	http_server_free(srv);
}

TEST(conn, keep_alive_and_pipelining)
{
	struct http_server *srv = setup(test_config());
	struct http_conn *c = http_accept(srv, "peer");
	const char *two = "GET /docs/a.txt HTTP/1.1\r\nHost: x\r\n\r\n"
			  "HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
			  "GET /docs/a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	feed(c, two, strlen(two));
	bool fin;
	char *r = drain(c, &fin, NULL);
	char *second = strstr(r + 1, "HTTP/1.1 200");
	char *third = second ? strstr(second + 1, "HTTP/1.1 200") : NULL;
	CHECK(starts(r, "HTTP/1.1 200") && second && third);
	CHECK(strstr(r, "alpha\n") < second && strstr(third, "alpha\n"));
	CHECK(strstr(third, "Connection: close\r\n"));
	CHECK(fin);
	CHECK_EQ(http_conn_events(c), HTTP_WANT_READ | HTTP_WANT_FIN); /* lingering */
	http_conn_peer_closed(c);
	CHECK_EQ(http_conn_events(c), HTTP_WANT_CLOSE);
	free(r);
	http_conn_free(c);
	CHECK_EQ(http_server_stats(srv)->requests, 3);
	CHECK_EQ(http_server_stats(srv)->conns_open, 0);
	http_server_free(srv);
}

TEST(conn, http10_closes_unless_asked)
{
	struct http_server *srv = setup(test_config());
	char *r = ask(srv, "GET /docs/a.txt HTTP/1.0\r\n\r\n");
	CHECK(strstr(r, "Connection: close\r\n"));
	free(r);
	r = ask(srv, "GET /docs/a.txt HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
	CHECK(strstr(r, "Connection: keep-alive\r\n"));
	free(r);
	http_server_free(srv);
}

TEST(conn, body_skipped_then_next_request)
{
	struct http_server *srv = setup(test_config());
	struct http_conn *c = http_accept(srv, "peer");
	const char *t = "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234";
	feed(c, t, strlen(t));
	char *r = drain(c, NULL, NULL);
	CHECK(starts(r, "HTTP/1.1 405 "));
	free(r);
	t = "56789GET /docs/a.txt HTTP/1.1\r\nHost: x\r\n\r\n";
	feed(c, t, strlen(t));
	r = drain(c, NULL, NULL);
	CHECK(starts(r, "HTTP/1.1 200 ") && strstr(r, "alpha"));
	free(r);
	http_conn_free(c);
	http_server_free(srv);
}

TEST(conn, errors_that_lose_framing_close)
{
	struct http_server *srv = setup(test_config());
	struct http_conn *c = http_accept(srv, "peer");
	const char *t =
		"GET / HTTP/1.1\r\nHost: x\r\nX : y\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
	feed(c, t, strlen(t));
	bool fin;
	char *r = drain(c, &fin, NULL);
	CHECK(starts(r, "HTTP/1.1 400 ") && strstr(r, "Connection: close\r\n"));
	CHECK(!strstr(r + 1, "HTTP/1.1 200")); /* the rest is not trusted */
	CHECK(fin);
	free(r);
	http_conn_free(c);
	http_server_free(srv);
}

TEST(conn, request_timeout_408)
{
	struct http_server *srv = setup(test_config());
	struct http_conn *c = http_accept(srv, "peer");
	feed(c, "GET / HTTP/1.1\r\nHost:", strlen("GET / HTTP/1.1\r\nHost:"));
	CHECK_EQ(http_conn_deadline(c), fake_now + 1000);
	fake_now += 999;
	http_conn_timer(c);
	char *r = drain(c, NULL, NULL);
	CHECK_STREQ(r, "");
	free(r);
	fake_now += 1;
	http_conn_timer(c);
	r = drain(c, NULL, NULL);
	CHECK(starts(r, "HTTP/1.1 408 Request Timeout\r\n") && strstr(r, "Connection: close"));
	free(r);
	CHECK_EQ(http_server_stats(srv)->timeouts_request, 1);
	fake_now += 2000; /* the linger ends */
	http_conn_timer(c);
	CHECK_EQ(http_conn_events(c), HTTP_WANT_CLOSE);
	http_conn_free(c);
	http_server_free(srv);
}

TEST(conn, slowloris_trickle_times_out)
{
	struct http_server *srv = setup(test_config());
	struct http_conn *c = http_accept(srv, "slow");
	const char *t = "GET / HTTP/1.1\r\nHost: x\r\nX-a: b\r\nX-a: b\r\nX-a: b\r\n";
	for (size_t i = 0; t[i]; i++) { /* one byte every 30 ms: never done in time */
		feed(c, t + i, 1);
		fake_now += 30;
		http_conn_timer(c);
	}
	char *r = drain(c, NULL, NULL);
	CHECK(starts(r, "HTTP/1.1 408 "));
	free(r);
	http_conn_free(c);
	http_server_free(srv);
}

TEST(conn, idle_and_send_timeouts)
{
	struct http_server *srv = setup(test_config());
	struct http_conn *c = http_accept(srv, "peer");
	/* a connection that never sends: closed after request_ms, silently */
	fake_now += 1000;
	http_conn_timer(c);
	CHECK_EQ(http_conn_events(c), HTTP_WANT_CLOSE);
	http_conn_free(c);
	c = http_accept(srv, "peer");
	feed(c, "GET /docs/a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
	     strlen("GET /docs/a.txt HTTP/1.1\r\nHost: x\r\n\r\n"));
	free(drain(c, NULL, NULL));
	CHECK_EQ(http_conn_deadline(c), fake_now + 5000); /* idle keep-alive */
	fake_now += 5000;
	http_conn_timer(c);
	CHECK_EQ(http_conn_events(c), HTTP_WANT_CLOSE);
	http_conn_free(c);
	/* a client that reads nothing */
	c = http_accept(srv, "peer");
	feed(c, "GET /big.dat HTTP/1.1\r\nHost: x\r\n\r\n",
	     strlen("GET /big.dat HTTP/1.1\r\nHost: x\r\n\r\n"));
	CHECK(http_conn_events(c) & HTTP_WANT_WRITE);
	fake_now += 3000;
	http_conn_timer(c);
	CHECK_EQ(http_conn_events(c), HTTP_WANT_CLOSE);
	http_conn_free(c);
	const struct http_stats *s = http_server_stats(srv);
	CHECK_EQ(s->timeouts_idle, 2);
	CHECK_EQ(s->timeouts_send, 1);
	http_server_free(srv);
}

TEST(conn, connection_limit)
{
	struct http_config cfg = test_config();
	cfg.max_conns = 3;
	struct http_server *srv = setup(cfg);
	struct http_conn *c[4];
	for (int i = 0; i < 3; i++)
		CHECK((c[i] = http_accept(srv, "p")) != NULL);
	CHECK(http_accept(srv, "p") == NULL);
	http_conn_free(c[1]);
	CHECK((c[3] = http_accept(srv, "p")) != NULL);
	CHECK_EQ(http_server_stats(srv)->conns_refused, 1);
	http_conn_free(c[0]);
	http_conn_free(c[2]);
	http_conn_free(c[3]);
	http_server_free(srv);
}

TEST(conn, status_page_and_log)
{
	struct http_server *srv = setup(test_config());
	free(ask(srv, "GET /big.dat HTTP/1.1\r\nHost: x\r\n\r\n"));
	free(ask(srv, "GET /big.dat HTTP/1.1\r\nHost: x\r\n\r\n"));
	CHECK_STREQ(fake_log_line,
		    "peer - - [14/Nov/2023:22:13:20 +0000] \"GET /big.dat HTTP/1.1\" 200 100000\n");
	char *r = ask(srv, "GET /status HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK(strstr(r, "requests: 3\n"));
	CHECK(strstr(r, "cache: 1 hits, 1 misses, 1 fills"));
	CHECK(strstr(r, "connections: 1 open, 3 accepted"));
	free(r);
	/* a quote in the target cannot break the log line's quoting */
	free(ask(srv, "GET /a\"b HTTP/1.1\r\nHost: x\r\n\r\n"));
	CHECK(strstr(fake_log_line, "\"GET /a?b HTTP/1.1\" 404"));
	http_server_free(srv);
}

TEST(conn, uncached_and_unmerged)
{
	struct http_config cfg = test_config();
	cfg.cache = false;
	cfg.merge = false;
	struct http_server *srv = setup(cfg);
	struct http_conn *c = http_accept(srv, "peer");
	feed(c, "GET /big.dat HTTP/1.1\r\nHost: x\r\n\r\n",
	     strlen("GET /big.dat HTTP/1.1\r\nHost: x\r\n\r\n"));
	struct http_iov iov[4];
	bool fin;
	int n = http_conn_output(c, iov, 4, &fin);
	CHECK_EQ(n, 1); /* the head alone: no merging */
	CHECK(iov[0].obj == NULL && starts(iov[0].base, "HTTP/1.1 200"));
	size_t len;
	char *r = drain(c, NULL, &len);
	CHECK(len > sizeof(big) && memcmp(r + len - sizeof(big), big, sizeof(big)) == 0);
	free(r);
	/* a range from the middle, read in bounce-buffer pieces */
	fake_read_limit = 1000;
	feed(c, "GET /big.dat HTTP/1.1\r\nHost: x\r\nRange: bytes=12345-80000\r\n\r\n",
	     strlen("GET /big.dat HTTP/1.1\r\nHost: x\r\nRange: bytes=12345-80000\r\n\r\n"));
	r = drain(c, NULL, &len);
	fake_read_limit = -1;
	CHECK(memcmp(body_of(r), big + 12345, 80000 - 12345 + 1) == 0);
	free(r);
	http_conn_free(c);
	http_server_free(srv);
}

TEST(conn, file_shrinks_while_sent)
{
	struct http_config cfg = test_config();
	cfg.cache = false;
	struct http_server *srv = setup(cfg);
	struct http_conn *c = http_accept(srv, "peer");
	feed(c, "GET /big.dat HTTP/1.1\r\nHost: x\r\n\r\n",
	     strlen("GET /big.dat HTTP/1.1\r\nHost: x\r\n\r\n"));
	fake_find("/big.dat")->size = 10; /* the read will come up short */
	free(drain(c, NULL, NULL));
	CHECK_EQ(http_conn_events(c), HTTP_WANT_CLOSE);
	http_conn_free(c);
	http_server_free(srv);
}

TEST(conn, cached_output_references_the_object)
{
	struct http_server *srv = setup(test_config());
	struct http_conn *c = http_accept(srv, "peer");
	feed(c, "GET /big.dat HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	     strlen("GET /big.dat HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
	struct http_iov iov[4];
	bool fin;
	int n = http_conn_output(c, iov, 4, &fin);
	CHECK_EQ(n, 2);
	CHECK(fin); /* merged: head, body and FIN together */
	CHECK(iov[1].obj != NULL && iov[1].off == 0 && iov[1].len == sizeof(big));
	CHECK(iov[1].base == iov[1].obj->o_data);
	/* the transport keeps it for retransmission past the response */
	struct http_obj *o = iov[1].obj;
	http_obj_hold(o);
	http_conn_sent(c, iov[0].len + iov[1].len);
	http_conn_free(c);
	CHECK_EQ(o->o_refs, 1);
	CHECK_EQ(http_obj_sum(o, 0, sizeof(big)), http_csum(big, sizeof(big)));
	http_obj_release(o);
	http_server_free(srv);
}

/* Every allocation failing in turn: answers or a dropped connection,
 * never a crash or a leak (LeakSanitizer checks at exit). */
TEST(conn, out_of_memory)
{
	for (long k = 0; k < 40; k++) {
		fake_allocs_left = -1;
		struct http_server *srv = setup(test_config());
		fake_allocs_left = k;
		struct http_conn *c = http_accept(srv, "peer");
		if (c) {
			const char *t =
				"GET /big.dat HTTP/1.1\r\nHost: x\r\n\r\nGET /docs/ HTTP/1.1\r\n"
				"Host: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
			feed(c, t, strlen(t));
			free(drain(c, NULL, NULL));
			http_conn_free(c);
		}
		fake_allocs_left = -1;
		http_server_free(srv);
	}
}
