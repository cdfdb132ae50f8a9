/*
 * Host tests of httpd's disk grouping (--group, user/srv/httpd/group.c):
 * the scanner that finds the objects an HTML page embeds, on good pages and
 * hostile ones (references outside the root, to other hosts and schemes,
 * badly encoded, over-long, repeated, the page itself, more than the
 * limit), and whole exchanges: a page read from the files brings its
 * objects into the cache with it (the group hook told them all first), so
 * the browser's next requests are hits that read nothing; references to a
 * missing file, a directory, a file too large and a loop of pages cost
 * nothing but a count; --group off reads nothing ahead; and running out of
 * memory anywhere leaves the page served.
 */
#include "check.h"

#include <stdint.h>

#include "rename.h"

#include <common/fmt.h>
#include <common/string.h>
#include "http_fake.h"

static char refs[HTTP_GROUP_REFS][HTTP_PATH_MAX + 1];

static int scan(const char *page, const char *html, unsigned *refused)
{
	return http_page_refs(page, html, strlen(html), refs, HTTP_GROUP_REFS, refused);
}

TEST(refs, finds_embedded_objects)
{
	unsigned refused;
	const char *html = "<!DOCTYPE html><html><head>\n"
			   "<LINK REL=\"stylesheet\" HREF=\"../css/site.css\">\n"
			   "<link href='icon.ico' rel='shortcut icon'>\n"
			   "<link rel=\"next\" href=\"page2.html\">\n" /* not embedded */
			   "<script src=js/app.js defer></script>\n"
			   "<!-- <img src=\"commented.png\"> -->\n"
			   "</head><body><a href=\"other.html\">x</a>\n" /* a link, not embedded */
			   "<img alt=\"a > b\" src=\"pics/a%20b.png?v=2#top\" width=3>\n"
			   "<picture><source src=\"/abs/v.webm\"></picture>\n"
			   "<img src=\"./pics/../pics/c.png\"/>\n"
			   "<img src=\"js/app.js\">\n" /* a repeat */
			   "</body></html>\n";
	int n = scan("/site/doc/page.html", html, &refused);
	CHECK_EQ(n, 6);
	CHECK_EQ(refused, 0);
	CHECK_STREQ(refs[0], "/site/css/site.css");
	CHECK_STREQ(refs[1], "/site/doc/icon.ico");
	CHECK_STREQ(refs[2], "/site/doc/js/app.js");
	CHECK_STREQ(refs[3], "/site/doc/pics/a b.png");
	CHECK_STREQ(refs[4], "/abs/v.webm");
	CHECK_STREQ(refs[5], "/site/doc/pics/c.png");
}

TEST(refs, hostile_references_refused)
{
	static const char *bad[] = {
		"../../x.png", /* above the root from /a/p.html */
		"/../x.png",
		"..",
		"%2e%2e/%2e%2e/x.png", /* dots the decoder refuses */
		"a%2fb.png", /* an encoded slash */
		"a%00b.png", /* NUL */
		"a%zzb.png", /* a bad escape */
		"a%5cb.png", /* a backslash */
		"http://evil.example/x.png",
		"//evil.example/x.png",
		"data:image/png;base64,AAAA",
		"javascript:alert(1)",
		"",
		"?only=query",
		"#frag",
		"dir/", /* a directory */
		"p.html", /* the page itself */
		"/a/./p.html",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char html[256];
		snprintf(html, sizeof(html), "<img src=\"%s\">", bad[i]);
		unsigned refused;
		int n = scan("/a/p.html", html, &refused);
		CHECK_MSG(n == 0, "'%s' gave %s", bad[i], n ? refs[0] : "");
		CHECK_MSG(refused == 1, "'%s': %u refused", bad[i], refused);
	}
	/* a reference longer than any path */
	static char html[HTTP_PATH_MAX * 4 + 64];
	strcpy(html, "<img src=\"");
	memset(html + 10, 'x', HTTP_PATH_MAX * 4);
	strcpy(html + 10 + HTTP_PATH_MAX * 4, "\">");
	unsigned refused;
	CHECK_EQ(scan("/p.html", html, &refused), 0);
	CHECK_EQ(refused, 1);
	/* a tag cut off at the end of the page, an unclosed comment */
	CHECK_EQ(scan("/p.html", "<img src=\"a.png", &refused), 1);
	CHECK_EQ(scan("/p.html", "<img src=a.png", &refused), 1);
	CHECK_EQ(scan("/p.html", "<!-- <img src=a.png>", &refused), 0);
	CHECK_EQ(scan("/p.html", "<img", &refused), 0);
	CHECK_EQ(scan("/p.html", "<", &refused), 0);
}

TEST(refs, at_most_the_limit)
{
	static char html[HTTP_GROUP_REFS * 2 * 32];
	size_t o = 0;
	for (int i = 0; i < HTTP_GROUP_REFS * 2; i++)
		o += (size_t)snprintf(html + o, sizeof(html) - o, "<img src=i%d.png>", i);
	unsigned refused;
	CHECK_EQ(scan("/p.html", html, &refused), HTTP_GROUP_REFS);
	CHECK_STREQ(refs[HTTP_GROUP_REFS - 1], "/i31.png");
}

/* --- whole exchanges ------------------------------------------------------ */

static const char page[] = "<html><head><link rel=stylesheet href=\"css/s.css\">"
			   "<script src=\"/js/a.js\"></script></head><body>"
			   "<img src=\"img/a.png\"><img src=\"img/missing.png\">"
			   "<img src=\"img\"><img src=\"huge.bin\">"
			   "<img src=\"../../outside.png\"><img src=\"loop.html\">"
			   "<img src=\"page.html\"></body></html>";
static const char loop[] = "<img src=\"page.html\"><img src=\"img/b.png\">";
static char huge[4096];

static char group_seen[HTTP_GROUP_REFS][HTTP_PATH_MAX + 1];
static int group_calls, group_n, group_reads_before;

static void fake_group(void *ctx, const char *const *paths, int n)
{
	(void)ctx;
	group_calls++;
	group_n = n;
	for (int i = 0; i < n; i++)
		snprintf(group_seen[i], sizeof(group_seen[i]), "%s", paths[i]);
	group_reads_before = fake_reads;
}

static struct http_server *setup(bool group, bool hook)
{
	static struct http_hooks hooks;
	fake_nfiles = 0;
	fake_add("/page.html", page, sizeof(page) - 1, 784111777);
	fake_add("/loop.html", loop, sizeof(loop) - 1, 784111777);
	fake_add("/css", NULL, 0, 784111777);
	fake_add("/css/s.css", "b{}", 3, 784111777);
	fake_add("/js", NULL, 0, 784111777);
	fake_add("/js/a.js", "f()", 3, 784111777);
	fake_add("/img", NULL, 0, 784111777);
	fake_add("/img/a.png", "PNGa", 4, 784111777);
	fake_add("/img/b.png", "PNGb", 4, 784111777);
	fake_add("/huge.bin", huge, sizeof(huge), 784111777);
	struct http_config cfg;
	http_config_default(&cfg);
	cfg.group = group;
	cfg.cache_file_max = 1024; /* huge.bin is too large to cache */
	hooks = fake_hooks;
	hooks.group = hook ? fake_group : NULL;
	group_calls = group_n = 0;
	struct http_server *srv = http_server_new(&cfg, &hooks);
	CHECK(srv != NULL);
	return srv;
}

static int status_of_get(struct http_server *srv, const char *path)
{
	char req[256];
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
	struct http_conn *c = http_accept(srv, "peer");
	if (!c)
		return 0; /* out of memory */
	size_t n = strlen(req), got = 0;
	while (got < n) {
		char *buf;
		size_t space = http_conn_recv_space(c, &buf);
		if (!space)
			break;
		size_t k = n - got < space ? n - got : space;
		memcpy(buf, req + got, k);
		http_conn_received(c, k);
		got += k;
	}
	int status = 0;
	struct http_iov iov[4];
	bool fin;
	int k;
	while ((k = http_conn_output(c, iov, 4, &fin)) > 0) {
		size_t total = 0;
		for (int i = 0; i < k; i++)
			total += iov[i].len;
		if (!status && iov[0].len > 12 && !memcmp(iov[0].base, "HTTP/1.1 ", 9))
			status = atoi((const char *)iov[0].base + 9);
		http_conn_sent(c, total);
	}
	http_conn_free(c);
	return status;
}

TEST(group, page_brings_its_objects_in_one_group)
{
	struct http_server *srv = setup(true, true);
	const struct http_stats *st = http_server_stats(srv);
	CHECK_EQ(status_of_get(srv, "/page.html"), 200);
	CHECK_EQ(st->group_pages, 1);
	CHECK_EQ(st->group_objects, 4);
	/* outside the root and the page itself (scanner); the missing file, the
	 * directory and the file too large to cache (stat) */
	CHECK_EQ(st->group_refused, 5);
	CHECK_EQ(st->cache_misses, 1);
	CHECK_EQ(st->cache_fills, 5);
	CHECK_EQ(group_calls, 1);
	CHECK_EQ(group_n, 4);
	if (group_n == 4) {
		CHECK_STREQ(group_seen[0], "/css/s.css");
		CHECK_STREQ(group_seen[1], "/js/a.js");
		CHECK_STREQ(group_seen[2], "/img/a.png");
		CHECK_STREQ(group_seen[3], "/loop.html");
	}
	/* the hook heard of them all before any was read */
	CHECK_EQ(fake_reads - group_reads_before, 4);
	int reads = fake_reads;
	static const char *objs[] = { "/css/s.css", "/js/a.js", "/img/a.png", "/loop.html" };
	for (size_t i = 0; i < ARRAY_SIZE(objs); i++)
		CHECK_EQ(status_of_get(srv, objs[i]), 200);
	CHECK_EQ(fake_reads, reads); /* all hits: nothing read */
	CHECK_EQ(st->cache_hits, 4);
	CHECK_EQ(st->cache_misses, 1);
	/* loop.html came in with the page, so it is not scanned: no recursion */
	CHECK_EQ(st->group_pages, 1);
	CHECK_EQ(status_of_get(srv, "/img/b.png"), 200);
	CHECK_EQ(st->cache_misses, 2);
	/* the missing reference is still a 404 when asked for */
	CHECK_EQ(status_of_get(srv, "/img/missing.png"), 404);
	http_server_free(srv);
}

TEST(group, loop_of_pages_reads_each_once)
{
	struct http_server *srv = setup(true, true);
	const struct http_stats *st = http_server_stats(srv);
	CHECK_EQ(status_of_get(srv, "/loop.html"), 200); /* brings page.html, b.png */
	CHECK_EQ(st->group_pages, 1);
	CHECK_EQ(st->group_objects, 2);
	CHECK_EQ(status_of_get(srv, "/page.html"), 200); /* a hit: not scanned again */
	CHECK_EQ(st->group_pages, 1);
	CHECK_EQ(st->cache_fills, 3);
	http_server_free(srv);
}

TEST(group, off_reads_nothing_ahead)
{
	struct http_server *srv = setup(false, true);
	const struct http_stats *st = http_server_stats(srv);
	CHECK_EQ(status_of_get(srv, "/page.html"), 200);
	CHECK_EQ(st->group_pages, 0);
	CHECK_EQ(st->cache_fills, 1);
	CHECK_EQ(group_calls, 0);
	int reads = fake_reads;
	CHECK_EQ(status_of_get(srv, "/img/a.png"), 200);
	CHECK(fake_reads > reads);
	CHECK_EQ(st->cache_misses, 2);
	http_server_free(srv);
}

TEST(group, without_the_hook_objects_still_cached)
{
	struct http_server *srv = setup(true, false);
	const struct http_stats *st = http_server_stats(srv);
	CHECK_EQ(status_of_get(srv, "/page.html"), 200);
	CHECK_EQ(st->group_objects, 4);
	int reads = fake_reads;
	CHECK_EQ(status_of_get(srv, "/js/a.js"), 200);
	CHECK_EQ(fake_reads, reads);
	http_server_free(srv);
}

TEST(group, status_page_reports_it)
{
	struct http_server *srv = setup(true, true);
	CHECK_EQ(status_of_get(srv, "/page.html"), 200);
	struct http_conn *c = http_accept(srv, "peer");
	const char *req = "GET /status HTTP/1.1\r\nHost: x\r\n\r\n";
	char *buf;
	size_t space = http_conn_recv_space(c, &buf);
	CHECK(space >= strlen(req));
	memcpy(buf, req, strlen(req));
	http_conn_received(c, strlen(req));
	char out[4096] = "";
	size_t len = 0;
	struct http_iov iov[4];
	bool fin;
	int k;
	while ((k = http_conn_output(c, iov, 4, &fin)) > 0) {
		size_t total = 0;
		for (int i = 0; i < k; i++) {
			if (len + iov[i].len < sizeof(out)) {
				memcpy(out + len, iov[i].base, iov[i].len);
				len += iov[i].len;
			}
			total += iov[i].len;
		}
		http_conn_sent(c, total);
	}
	out[len] = '\0';
	CHECK(strstr(out, "group: 1 pages, 4 objects read with them, 5 references refused") !=
	      NULL);
	CHECK(strstr(out, "group on") != NULL);
	http_conn_free(c);
	http_server_free(srv);
}

TEST(group, out_of_memory_anywhere)
{
	for (long k = 0; k < 60; k++) {
		fake_allocs_left = -1;
		struct http_server *srv = setup(true, true);
		fake_allocs_left = k;
		int s = status_of_get(srv, "/page.html");
		CHECK_MSG(s == 200 || s == 0, "allocation %ld: status %d", k, s);
		fake_allocs_left = -1;
		CHECK_EQ(status_of_get(srv, "/page.html"), 200);
		http_server_free(srv);
	}
}
