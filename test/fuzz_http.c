/*
 * libFuzzer target for httpd's request parsing (user/srv/httpd): each input
 * goes, in a heap buffer of exactly its size (so AddressSanitizer sees any
 * read past it), to the parser, the path decoder and the date parser, and
 * then through a whole connection of a server on test/http_fake.h's files,
 * fed in pieces whose sizes the input's first byte picks, with the clock
 * moving so timeouts fire too, and as an HTML page to the scanner of the
 * objects it embeds (--group) and to a server that serves it as one. What comes out must be well formed: every
 * response starts with a status line, and a parsed path is clean.
 *
 * Run by make http-fuzz (test/http.mk); seeds in test/http-corpus/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rename.h"

#include <common/fmt.h>
#include <common/string.h>
#include "http_fake.h"

static void check_path(const char *p)
{
	if (p[0] != '/' || strstr(p, "/../") || strstr(p, "//") || strlen(p) > HTTP_PATH_MAX)
		abort();
	size_t n = strlen(p);
	if (n >= 3 && strcmp(p + n - 3, "/..") == 0)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);

	struct http_request req;
	long r = http_parse_request(buf, size, &req);
	if (r > 0) {
		if ((size_t)r > size || req.method > HTTP_HEAD)
			abort();
		check_path(req.path);
	} else if (r < 0 && (r < -505 || r > -400)) {
		abort();
	}
	char path[HTTP_PATH_MAX + 1];
	if (http_decode_path(buf, size, path, sizeof(path)) == 0)
		check_path(path);
	/* the input as a page whose embedded objects --group would read */
	static char refs[HTTP_GROUP_REFS][HTTP_PATH_MAX + 1];
	unsigned refused;
	int nrefs = http_page_refs("/a/b/page.html", buf, size, refs, HTTP_GROUP_REFS, &refused);
	if (nrefs < 0 || nrefs > HTTP_GROUP_REFS)
		abort();
	for (int i = 0; i < nrefs; i++) {
		check_path(refs[i]);
		if (!strcmp(refs[i], "/a/b/page.html") || refs[i][strlen(refs[i]) - 1] == '/')
			abort();
		for (int j = 0; j < i; j++)
			if (!strcmp(refs[i], refs[j]))
				abort();
	}
	int64_t t;
	if (http_date_parse(buf, size, &t)) {
		char d[HTTP_DATE_LEN + 1];
		int64_t back;
		http_date_format(t, d);
		if (t >= 0 && t < 253402300800LL &&
		    (!http_date_parse(d, HTTP_DATE_LEN, &back) || back != t))
			abort();
	}

	/* a whole connection */
	fake_nfiles = 0;
	fake_add("/index.html", "<html>hi</html>\n", 16, 784111777);
	fake_add("/d", NULL, 0, 784111777);
	fake_add("/d/x.txt", "0123456789", 10, 784111777);
	/* the input is also a page, so --group reads what it embeds */
	fake_add("/d/page.html", buf, size, 784111777);
	struct http_config cfg;
	http_config_default(&cfg);
	cfg.cache = size && (data[0] & 0x40);
	cfg.merge = size && (data[0] & 0x80);
	struct http_server *srv = http_server_new(&cfg, &fake_hooks);
	struct http_conn *c = http_accept(srv, "fuzz");
	size_t piece = size ? (size_t)(data[0] & 0x3f) + 1 : 1;
	for (size_t off = 0; off <= size;) {
		unsigned ev = http_conn_events(c);
		if (ev & HTTP_WANT_CLOSE)
			break;
		struct http_iov iov[4];
		bool fin;
		int n;
		while ((n = http_conn_output(c, iov, 4, &fin)) > 0) {
			size_t total = 0;
			for (int i = 0; i < n; i++)
				total += iov[i].len;
			if (iov[0].len >= 9 && iov[0].obj == NULL &&
			    ((const char *)iov[0].base)[0] == 'H' &&
			    memcmp(iov[0].base, "HTTP/1.1 ", 9) != 0)
				abort();
			http_conn_sent(c, total);
		}
		if (off == size) {
			http_conn_peer_closed(c);
			fake_now += 20000; /* every deadline passes */
			http_conn_timer(c);
			while ((n = http_conn_output(c, iov, 4, &fin)) > 0)
				http_conn_sent(c, iov[0].len);
			break;
		}
		char *in;
		size_t space = http_conn_recv_space(c, &in);
		size_t k = size - off < piece ? size - off : piece;
		if (k > space)
			k = space;
		if (k == 0)
			break;
		memcpy(in, buf + off, k);
		http_conn_received(c, k);
		off += k;
		fake_now += 7;
		http_conn_timer(c);
	}
	http_conn_free(c);
	http_server_free(srv);
	free(buf);
	return 0;
}
