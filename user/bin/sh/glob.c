/*
 * Pattern matching and pathname globbing for word expansion (expand.c):
 * sh_match (* ? [set] [!set], backslash quotes) and sh_glob, which walks a
 * pattern a path component at a time through the caller's directory
 * listings (ops->list_dir). Patterns come from expand.c with every quoted
 * special character escaped by a backslash, so one matcher serves quoted
 * and unquoted text.
 *
 * Memory comes from ops->alloc; every path that fails frees what it took.
 * Matching recurses only at '*' and never deeper than the pattern is long.
 */
#include <common/string.h>
#include "expand.h"

/* ---- matching ---- */

/* The set at p (just after '['): does it hold c? *end gets the byte after
 * the ']'; NULL if the set is not closed (then '[' is literal). */
static bool in_set(const char *p, char c, const char **end)
{
	bool negate = *p == '!' || *p == '^';
	if (negate)
		p++;
	bool hit = false;
	bool first = true;
	for (; *p && (*p != ']' || first); first = false) {
		char lo = *p == '\\' && p[1] ? *++p : *p;
		p++;
		char hi = lo;
		if (*p == '-' && p[1] && p[1] != ']') {
			p++;
			hi = *p == '\\' && p[1] ? *++p : *p;
			p++;
		}
		if (c >= lo && c <= hi)
			hit = true;
	}
	if (*p != ']') {
		*end = NULL;
		return false;
	}
	*end = p + 1;
	return hit != negate;
}

static bool match_from(const char *p, const char *s)
{
	for (; *p; p++, s++) {
		switch (*p) {
		case '*':
			while (p[1] == '*')
				p++;
			if (!p[1])
				return true;
			for (const char *t = s; *t; t++)
				if (match_from(p + 1, t))
					return true;
			return match_from(p + 1, s + strlen(s));
		case '?':
			if (!*s)
				return false;
			break;
		case '[': {
			const char *end;
			if (!*s)
				return false;
			bool hit = in_set(p + 1, *s, &end);
			if (end) {
				if (!hit)
					return false;
				p = end - 1;
				break;
			}
			if (*s != '[')
				return false;
			break;
		}
		case '\\':
			if (p[1])
				p++;
			/* fall through */
		default:
			if (*p != *s)
				return false;
		}
	}
	return *s == '\0';
}

bool sh_match(const char *pattern, const char *s)
{
	if (s[0] == '.' && pattern[0] != '.')
		return false;
	return match_from(pattern, s);
}

bool sh_match_case(const char *pattern, const char *s)
{
	return match_from(pattern, s);
}

/* ---- globbing ---- */

static bool has_glob(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n)
			i++;
		else if (p[i] == '*' || p[i] == '?' || p[i] == '[')
			return true;
	}
	return false;
}

char *sh_unescape(const struct sh_expand_ops *ops, const char *p, size_t n)
{
	char *d = ops->alloc(n + 1);
	if (!d)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n)
			i++;
		d[k++] = p[i];
	}
	d[k] = '\0';
	return d;
}

struct glob_step {
	const struct sh_expand_ops *ops;
	const char *pattern; /* this component, NUL-ended */
	const char *dir;     /* the path so far ("" or ending in '/') */
	struct sh_fields *next;
	bool failed;
};

static void glob_emit(void *arg, const char *name)
{
	struct glob_step *g = arg;
	if (g->failed || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    !sh_match(g->pattern, name))
		return;
	size_t dl = strlen(g->dir), nl = strlen(name);
	char *path = g->ops->alloc(dl + nl + 1);
	if (!path) {
		g->failed = true;
		return;
	}
	memcpy(path, g->dir, dl);
	memcpy(path + dl, name, nl + 1);
	if (sh_fields_add(g->next, g->ops, path) < 0)
		g->failed = true;
}

static void sort_fields(struct sh_fields *f)
{
	for (int i = 1; i < f->n; i++) {
		char *x = f->v[i];
		int j = i;
		for (; j > 0 && strcmp(f->v[j - 1], x) > 0; j--)
			f->v[j] = f->v[j - 1];
		f->v[j] = x;
	}
}

/* Glob pattern into out; 0 with nothing added if it matches nothing. */
int sh_glob(const char *pattern, const struct sh_expand_ops *ops, struct sh_fields *out)
{
	struct sh_fields cur = { 0 }, next = { 0 };
	if (sh_fields_add(&cur, ops, sh_dup_str(ops, pattern[0] == '/' ? "/" : "")) < 0)
		return -1;
	const char *p = pattern;
	int r = 0;
	while (*p && cur.n && r == 0) {
		while (*p == '/')
			p++;
		const char *e = p;
		while (*e && *e != '/')
			e++;
		if (e == p)
			break;
		bool last = *e == '\0';
		char *comp = ops->alloc((size_t)(e - p) + 1);
		if (!comp) {
			r = -1;
			break;
		}
		memcpy(comp, p, (size_t)(e - p));
		comp[e - p] = '\0';
		for (int i = 0; i < cur.n && r == 0; i++) {
			if (has_glob(comp, (size_t)(e - p))) {
				struct glob_step g = { ops, comp, cur.v[i], &next, false };
				ops->list_dir(ops->ctx, cur.v[i][0] ? cur.v[i] : ".", glob_emit,
					      &g);
				if (g.failed)
					r = -1;
			} else {
				char *lit = sh_unescape(ops, comp, strlen(comp));
				size_t dl = strlen(cur.v[i]), ll = lit ? strlen(lit) : 0;
				char *path = lit ? ops->alloc(dl + ll + 1) : NULL;
				if (path) {
					memcpy(path, cur.v[i], dl);
					memcpy(path + dl, lit, ll + 1);
				}
				if (lit)
					ops->release(lit);
				if (sh_fields_add(&next, ops, path) < 0)
					r = -1;
			}
		}
		ops->release(comp);
		/* directories go on: give each a slash */
		if (!last)
			for (int i = 0; i < next.n && r == 0; i++) {
				size_t l = strlen(next.v[i]);
				char *d = ops->alloc(l + 2);
				if (!d) {
					r = -1;
					break;
				}
				memcpy(d, next.v[i], l);
				d[l] = '/';
				d[l + 1] = '\0';
				ops->release(next.v[i]);
				next.v[i] = d;
			}
		sh_fields_free(&cur, ops);
		cur = next;
		next = (struct sh_fields){ 0 };
		p = e;
	}
	if (r == 0) {
		sort_fields(&cur);
		for (int i = 0; i < cur.n && r == 0; i++) {
			r = sh_fields_add(out, ops, cur.v[i]);
			cur.v[i] = NULL;
		}
	}
	for (int i = 0; i < cur.n; i++)
		if (cur.v[i])
			ops->release(cur.v[i]);
	if (cur.v)
		ops->release(cur.v);
	cur.n = 0;
	sh_fields_free(&next, ops);
	return r;
}
