/*
 * Word expansion (parse.h): tilde, parameters, quote removal, field
 * splitting and pathname globbing, in POSIX's order.
 *
 * A word is scanned once into fields. Each field is built as a pattern in
 * which every quoted character that globbing would treat specially is
 * escaped with a backslash, so one matcher (sh_match) serves both quoted
 * and unquoted text; a field with an unquoted * ? or [ is globbed against
 * directory listings from the caller (ops->list_dir), and one that matches
 * nothing stays as written, as POSIX says.
 *
 * Memory comes from ops->alloc (malloc in the guest and in host tests);
 * every path that fails frees what it took.
 */
#include <common/string.h>
#include "parse.h"

struct sbuf {
	char *s;
	size_t len, cap;
	const struct sh_expand_ops *ops;
	bool oom;
};

static void sb_putc(struct sbuf *b, char c)
{
	if (b->oom)
		return;
	if (b->len + 2 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		char *n = b->ops->alloc(cap);
		if (!n) {
			b->oom = true;
			return;
		}
		if (b->s) {
			memcpy(n, b->s, b->len);
			b->ops->release(b->s);
		}
		b->s = n;
		b->cap = cap;
	}
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
}

static char *dup_str(const struct sh_expand_ops *ops, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = ops->alloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static int fields_add(struct sh_fields *f, const struct sh_expand_ops *ops, char *s)
{
	if (!s)
		return -1;
	if (f->n + 1 >= f->cap) {
		if (f->n + 1 >= SH_FIELDS_MAX) {
			ops->release(s);
			return -1;
		}
		int cap = f->cap ? f->cap * 2 : 16;
		char **v = ops->alloc(sizeof(char *) * (size_t)cap);
		if (!v) {
			ops->release(s);
			return -1;
		}
		for (int i = 0; i < f->n; i++)
			v[i] = f->v[i];
		if (f->v)
			ops->release(f->v);
		f->v = v;
		f->cap = cap;
	}
	f->v[f->n++] = s;
	f->v[f->n] = NULL;
	return 0;
}

void sh_fields_free(struct sh_fields *f, const struct sh_expand_ops *ops)
{
	for (int i = 0; i < f->n; i++)
		ops->release(f->v[i]);
	if (f->v)
		ops->release(f->v);
	*f = (struct sh_fields){ 0 };
}

bool sh_valid_name(const char *name, size_t len)
{
	if (len == 0 || isdigit(name[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum(name[i]) && name[i] != '_')
			return false;
	return true;
}

bool sh_is_assignment(const char *word)
{
	const char *eq = strchr(word, '=');
	return eq && sh_valid_name(word, (size_t)(eq - word));
}

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

static char *unescape(const struct sh_expand_ops *ops, const char *p, size_t n)
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
	if (fields_add(g->next, g->ops, path) < 0)
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
static int glob(const char *pattern, const struct sh_expand_ops *ops, struct sh_fields *out)
{
	struct sh_fields cur = { 0 }, next = { 0 };
	if (fields_add(&cur, ops, dup_str(ops, pattern[0] == '/' ? "/" : "")) < 0)
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
				ops->list_dir(ops->ctx, cur.v[i][0] ? cur.v[i] : ".", glob_emit, &g);
				if (g.failed)
					r = -1;
			} else {
				char *lit = unescape(ops, comp, strlen(comp));
				size_t dl = strlen(cur.v[i]), ll = lit ? strlen(lit) : 0;
				char *path = lit ? ops->alloc(dl + ll + 1) : NULL;
				if (path) {
					memcpy(path, cur.v[i], dl);
					memcpy(path + dl, lit, ll + 1);
				}
				if (lit)
					ops->release(lit);
				if (fields_add(&next, ops, path) < 0)
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
			r = fields_add(out, ops, cur.v[i]);
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

/* ---- the word ---- */

struct field {
	struct sbuf b;
	bool have;  /* a field exists (even empty, from quotes) */
	bool globby; /* an unquoted glob character is in it */
};

static void put(struct field *f, char c, bool quoted)
{
	if (quoted && (c == '*' || c == '?' || c == '[' || c == '\\'))
		sb_putc(&f->b, '\\');
	else if (!quoted && (c == '*' || c == '?' || c == '['))
		f->globby = true;
	sb_putc(&f->b, c);
	f->have = true;
}

static int end_field(struct field *f, const struct sh_expand_ops *ops, struct sh_fields *out)
{
	int r = 0;
	if (f->b.oom)
		r = -1;
	else if (f->have) {
		const char *pat = f->b.s ? f->b.s : "";
		int before = out->n;
		if (f->globby && ops->list_dir)
			r = glob(pat, ops, out);
		if (r == 0 && out->n == before)
			r = fields_add(out, ops, unescape(ops, pat, strlen(pat)));
	}
	if (f->b.s)
		ops->release(f->b.s);
	*f = (struct field){ .b = { .ops = ops } };
	return r;
}

/* An expansion's value: quoted, it joins the field; unquoted, whitespace
 * in it splits fields. */
static int put_value(struct field *f, const char *v, bool quoted, const struct sh_expand_ops *ops,
		     struct sh_fields *out)
{
	for (; v && *v; v++) {
		if (!quoted && (*v == ' ' || *v == '\t' || *v == '\n')) {
			if (f->have && end_field(f, ops, out) < 0)
				return -1;
			continue;
		}
		put(f, *v, quoted || *v == '\\');
	}
	return 0;
}

/* $... at w[*i] (the '$'): expand it, advancing *i past it. */
static int dollar(const char *w, size_t *i, struct field *f, bool quoted,
		  const struct sh_expand_ops *ops, struct sh_fields *out)
{
	const char *s = w + *i + 1;
	const char *name = s;
	size_t len = 0, skip = 0;
	if (*s == '{') {
		const char *end = strchr(s, '}');
		name = s + 1;
		len = end ? (size_t)(end - name) : strlen(name);
		skip = len + 2;
	} else if (*s == '?' || *s == '$' || *s == '#' || *s == '!' || *s == '@' || *s == '*' ||
		   isdigit(*s)) {
		len = 1;
		skip = 1;
	} else {
		while (isalnum(s[len]) || s[len] == '_')
			len++;
		skip = len;
	}
	if (len == 0 && *s != '{') {
		put(f, '$', true); /* a lone dollar */
		*i += 1;
		return 0;
	}
	*i += 1 + skip;
	const char *v = ops->var(ops->ctx, name, len);
	if (quoted)
		f->have = true; /* "$EMPTY" is one empty field */
	return put_value(f, v, quoted, ops, out);
}

int sh_expand(const char *w, const struct sh_expand_ops *ops, struct sh_fields *out)
{
	struct field f = { .b = { .ops = ops } };
	size_t i = 0;
	int r = 0;
	if (w[0] == '~' && (w[1] == '/' || w[1] == '\0')) {
		const char *home = ops->var(ops->ctx, "HOME", 4);
		if (home) {
			for (; *home; home++)
				put(&f, *home, true);
			i = 1;
		}
	}
	while (w[i] && r == 0) {
		char c = w[i];
		if (c == '\\') {
			if (w[i + 1]) {
				put(&f, w[i + 1], true);
				i += 2;
			} else {
				put(&f, '\\', true);
				i++;
			}
		} else if (c == '\'') {
			f.have = true;
			for (i++; w[i] && w[i] != '\''; i++)
				put(&f, w[i], true);
			if (w[i])
				i++;
		} else if (c == '"') {
			f.have = true;
			for (i++; w[i] && w[i] != '"' && r == 0;) {
				if (w[i] == '\\' && w[i + 1] &&
				    (w[i + 1] == '$' || w[i + 1] == '"' || w[i + 1] == '\\' ||
				     w[i + 1] == '`')) {
					put(&f, w[i + 1], true);
					i += 2;
				} else if (w[i] == '$') {
					r = dollar(w, &i, &f, true, ops, out);
				} else {
					put(&f, w[i++], true);
				}
			}
			if (w[i])
				i++;
		} else if (c == '$') {
			r = dollar(w, &i, &f, false, ops, out);
		} else {
			put(&f, c, false);
			i++;
		}
	}
	if (r == 0)
		return end_field(&f, ops, out);
	if (f.b.s)
		ops->release(f.b.s);
	return r;
}
