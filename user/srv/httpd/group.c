/*
 * Disk grouping (Cheetah's fourth technique, --group): when the cache reads
 * an HTML page from the file system, it reads the objects the page embeds
 * too - <img src>, <script src>, <link href> of a stylesheet or icon, and
 * <source src> - so that the browser's next requests find them cached, and
 * so that the driver can fetch their blocks from the disk together (the
 * optional `group` hook, told every path before any is read) rather than one
 * request after another.
 *
 * http_page_refs is the scanner: it reads the page as untrusted bytes and
 * yields paths as a request would name them. A reference is resolved
 * against the page's directory (RFC 3986 5.2), its query and fragment cut
 * off, its dot segments removed while still percent-encoded, and then
 * decoded and normalised exactly as a request target is (parse.c); one that
 * names another host or scheme, climbs above the root, or does not decode is
 * refused and counted. A page's references are not scanned in turn (no
 * recursion, so a loop of pages costs one level); the page itself and
 * repeats are skipped. At most HTTP_GROUP_REFS objects, HTTP_GROUP_BYTES in
 * all, each within the cache's file limit, are read with one page: a page
 * full of references to huge files cannot make the server read more than
 * that. Everything here is a hint: a reference that fails costs the page
 * nothing, and the object is looked up again when it is asked for.
 */
#include <user/srv/httpd/core.h>
#include <common/string.h>

#define REF_MAX (HTTP_PATH_MAX * 3) /* an encoded reference, resolved */

static bool name_is(const char *p, size_t n, const char *name)
{
	if (strlen(name) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (tolower((unsigned char)p[i]) != name[i])
			return false;
	return true;
}

static bool has_word(const char *p, size_t n, const char *word)
{
	size_t w = strlen(word);
	for (size_t i = 0; i + w <= n; i++)
		if (name_is(p + i, w, word))
			return true;
	return false;
}

/* Removes "." and ".." segments of an absolute path in place (encoded, so
 * "%2e%2e" is a name here and refused by the decoder later): false when a
 * ".." would climb above the root. */
static bool remove_dots(char *p, size_t *len)
{
	size_t in = 0, out = 0, n = *len;
	while (in < n) {
		size_t s = in + 1, e = s; /* p[in] is '/' */
		while (e < n && p[e] != '/')
			e++;
		size_t sl = e - s;
		if (sl == 1 && p[s] == '.') {
			if (e == n)
				p[out++] = '/';
		} else if (sl == 2 && p[s] == '.' && p[s + 1] == '.') {
			if (out == 0)
				return false; /* above the root */
			while (out > 0 && p[out - 1] != '/')
				out--;
			out--; /* the slash before the dropped segment */
			if (e == n)
				p[out++] = '/';
		} else {
			memmove(p + out, p + in, e - in);
			out += e - in;
		}
		in = e;
	}
	if (out == 0)
		p[out++] = '/';
	*len = out;
	return true;
}

/* The path a reference names, resolved against page, into out: false if it
 * is not a path on this server. */
static bool resolve(const char *page, const char *ref, size_t rlen, char *out, size_t outsize)
{
	size_t q = 0;
	while (q < rlen && ref[q] != '?' && ref[q] != '#')
		q++;
	rlen = q;
	if (rlen == 0 || (rlen >= 2 && ref[0] == '/' && ref[1] == '/'))
		return false; /* the page itself, or another host */
	for (size_t i = 0; i < rlen && ref[i] != '/'; i++)
		if (ref[i] == ':')
			return false; /* a scheme: http:, data:, javascript: ... */
	char buf[REF_MAX + 1];
	size_t n = 0;
	if (ref[0] != '/') {
		const char *slash = strrchr(page, '/');
		n = (size_t)(slash - page) + 1;
		if (n > REF_MAX)
			return false;
		memcpy(buf, page, n);
	}
	if (n + rlen > REF_MAX)
		return false;
	memcpy(buf + n, ref, rlen);
	n += rlen;
	if (!remove_dots(buf, &n))
		return false;
	return http_decode_path(buf, n, out, outsize) == 0 && out[strlen(out) - 1] != '/';
}

/* An attribute's value at p (after '='), quoted or not: its start and length,
 * and where scanning goes on. */
static const char *attr_value(const char *p, const char *end, const char **v, size_t *vl)
{
	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p < end && (*p == '"' || *p == '\'')) {
		char quote = *p++;
		*v = p;
		while (p < end && *p != quote)
			p++;
		*vl = (size_t)(p - *v);
		return p < end ? p + 1 : p;
	}
	*v = p;
	while (p < end && !isspace((unsigned char)*p) && *p != '>')
		p++;
	*vl = (size_t)(p - *v);
	return p;
}

int http_page_refs(const char *page, const char *html, size_t len, char (*out)[HTTP_PATH_MAX + 1],
		   int max, unsigned *refused)
{
	const char *p = html, *end = html + len;
	int n = 0;
	*refused = 0;
	while (n < max) {
		while (p < end && *p != '<')
			p++;
		if (p++ >= end)
			break;
		if (end - p >= 3 && !memcmp(p, "!--", 3)) { /* a comment: to its end */
			const char *c = p + 3;
			while (c + 3 <= end && memcmp(c, "-->", 3) != 0)
				c++;
			p = c;
			continue;
		}
		const char *t = p;
		while (p < end && isalnum((unsigned char)*p))
			p++;
		size_t tl = (size_t)(p - t);
		bool img = name_is(t, tl, "img") || name_is(t, tl, "script") ||
			   name_is(t, tl, "source");
		bool link = name_is(t, tl, "link");
		if (!img && !link)
			continue;
		const char *ref = NULL;
		size_t refl = 0;
		bool wanted = img; /* a link only for a stylesheet or an icon */
		while (p < end && *p != '>') {
			while (p < end && (isspace((unsigned char)*p) || *p == '/'))
				p++;
			const char *a = p;
			while (p < end && !isspace((unsigned char)*p) && *p != '=' && *p != '>')
				p++;
			size_t al = (size_t)(p - a);
			if (p >= end || *p != '=') {
				if (al == 0 && p < end && *p != '>')
					p++;
				continue;
			}
			const char *v;
			size_t vl;
			p = attr_value(p + 1, end, &v, &vl);
			if ((img && name_is(a, al, "src")) || (link && name_is(a, al, "href")))
				ref = v, refl = vl;
			else if (link && name_is(a, al, "rel"))
				wanted = has_word(v, vl, "stylesheet") || has_word(v, vl, "icon");
		}
		if (!ref || !wanted)
			continue;
		if (!resolve(page, ref, refl, out[n], sizeof(out[n])) || !strcmp(out[n], page)) {
			(*refused)++;
			continue;
		}
		bool repeat = false;
		for (int i = 0; i < n && !repeat; i++)
			repeat = !strcmp(out[i], out[n]);
		n += !repeat;
	}
	return n;
}

static bool is_html(const char *path)
{
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
	return dot && dot > slash &&
	       (name_is(dot, strlen(dot), ".html") || name_is(dot, strlen(dot), ".htm"));
}

void http_group_page(struct http_server *srv, const char *path, const struct http_obj *page)
{
	const struct http_hooks *h = &srv->hooks;
	if (!srv->cfg.group || !srv->cache || !is_html(path))
		return;
	char(*refs)[HTTP_PATH_MAX + 1] = h->alloc(h->ctx, HTTP_GROUP_REFS * sizeof(*refs));
	const char **names = h->alloc(h->ctx, HTTP_GROUP_REFS * sizeof(*names));
	struct http_stat *st = h->alloc(h->ctx, HTTP_GROUP_REFS * sizeof(*st));
	if (!refs || !names || !st) {
		h->free(h->ctx, refs), h->free(h->ctx, names), h->free(h->ctx, st);
		return;
	}
	unsigned refused;
	int n = http_page_refs(path, (const char *)page->o_data, page->o_size, refs,
			       HTTP_GROUP_REFS, &refused);
	int k = 0;
	uint64_t bytes = 0;
	for (int i = 0; i < n; i++) {
		struct http_stat s;
		if (h->stat(h->ctx, refs[i], &s) < 0 || s.hs_is_dir ||
		    s.hs_size > srv->cfg.cache_file_max || s.hs_size > HTTP_GROUP_BYTES - bytes) {
			refused++; /* absent, a directory, or too large to read unasked */
			continue;
		}
		if (http_cache_holds(srv->cache, refs[i], &s))
			continue;
		bytes += s.hs_size;
		st[k] = s;
		names[k++] = refs[i];
	}
	srv->stats.group_pages++;
	srv->stats.group_refused += refused;
	if (k > 0 && h->group)
		h->group(h->ctx, names, k);
	for (int i = 0; i < k; i++) {
		struct http_obj *o = http_cache_get_quiet(srv->cache, names[i], &st[i]);
		if (o) {
			srv->stats.group_objects++;
			http_obj_release(o);
		}
	}
	h->free(h->ctx, refs), h->free(h->ctx, names), h->free(h->ctx, st);
}
