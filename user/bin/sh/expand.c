/*
 * Word expansion (parse.h): tilde, parameters (${N-w} and the like, "$@"),
 * command substitution (through ops->subst), arithmetic (arith.c), quote
 * removal, field splitting and pathname globbing (glob.c), in POSIX's
 * order; also here-document bodies and single-string expansion (case,
 * assignments).
 *
 * A word is scanned once into fields. Each field is built as a pattern in
 * which every quoted character that globbing would treat specially is
 * escaped with a backslash, so one matcher (sh_match) serves both quoted
 * and unquoted text; a field with an unquoted * ? or [ is globbed against
 * directory listings from the caller (ops->list_dir), and one that matches
 * nothing stays as written, as POSIX says.
 *
 * Memory comes from ops->alloc (malloc in the guest and in host tests);
 * every path that fails frees what it took. A failed expansion (1/0, a
 * ${N?} unset) is said through ops->error and fails the word.
 */
#include <common/fmt.h>
#include <common/string.h>
#include "expand.h"

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

char *sh_dup_str(const struct sh_expand_ops *ops, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = ops->alloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

int sh_fields_add(struct sh_fields *f, const struct sh_expand_ops *ops, char *s)
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

/* ---- the word ---- */

struct field {
	struct sbuf b;
	bool have;  /* a field exists (even empty, from quotes) */
	bool globby; /* an unquoted glob character is in it */
	bool nosplit; /* one string wanted: values are not split */
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
			r = sh_glob(pat, ops, out);
		if (r == 0 && out->n == before)
			r = sh_fields_add(out, ops, sh_unescape(ops, pat, strlen(pat)));
	}
	if (f->b.s)
		ops->release(f->b.s);
	*f = (struct field){ .b = { .ops = ops }, .nosplit = f->nosplit };
	return r;
}

/* An expansion's value: quoted, it joins the field; unquoted, whitespace
 * in it splits fields. */
static int put_value(struct field *f, const char *v, bool quoted, const struct sh_expand_ops *ops,
		     struct sh_fields *out)
{
	for (; v && *v; v++) {
		if (!quoted && !f->nosplit && (*v == ' ' || *v == '\t' || *v == '\n')) {
			if (f->have && end_field(f, ops, out) < 0)
				return -1;
			continue;
		}
		put(f, *v, quoted || *v == '\\');
	}
	return 0;
}

static int report(const struct sh_expand_ops *ops, const char *msg)
{
	if (ops->error)
		ops->error(ops->ctx, msg);
	return -2; /* said: the caller need not say "out of memory" too */
}

/* w[i] is a '(' (of "$(" or "$(("): the index of its matching ')'.
 * The lexer checked the word, so it is there; quotes inside are followed. */
static size_t paren_end(const char *w, size_t i)
{
	int depth = 0;
	for (; w[i]; i++) {
		char c = w[i];
		if (c == '\\' && w[i + 1]) {
			i++;
		} else if (c == '\'') {
			while (w[i + 1] && w[i + 1] != '\'')
				i++;
			if (w[i + 1])
				i++;
		} else if (c == '"') {
			for (i++; w[i] && w[i] != '"'; i++)
				if (w[i] == '\\' && w[i + 1])
					i++;
			if (!w[i])
				return i;
		} else if (c == '(') {
			depth++;
		} else if (c == ')' && --depth == 0) {
			return i;
		}
	}
	return i;
}

static int expand_text(const char *s, size_t n, bool heredoc, const struct sh_expand_ops *ops,
		       struct field *f, struct sh_fields *out);

/* Run text as commands: their output, less trailing newlines, as a value. */
static int command_subst(const char *text, size_t len, struct field *f, bool quoted,
			 const struct sh_expand_ops *ops, struct sh_fields *out)
{
	if (!ops->subst)
		return 0;
	char *o = ops->subst(ops->ctx, text, len);
	if (!o)
		return -2; /* the runner said why */
	size_t n = strlen(o);
	while (n && o[n - 1] == '\n')
		o[--n] = '\0';
	if (quoted)
		f->have = true;
	int r = put_value(f, o, quoted, ops, out);
	ops->release(o);
	return r;
}

static const char *arith_get(void *ctx, const char *name, size_t len)
{
	const struct sh_expand_ops *ops = ctx;
	return ops->var(ops->ctx, name, len);
}

static int arith_set(void *ctx, const char *name, size_t len, long v)
{
	const struct sh_expand_ops *ops = ctx;
	return ops->set ? ops->set(ops->ctx, name, len, v) : -1;
}

/* $((expr)): expand what is inside as in double quotes, then evaluate. */
static int arith_subst(const char *text, size_t len, struct field *f,
		       const struct sh_expand_ops *ops)
{
	struct field inner = { .b = { .ops = ops } };
	struct sh_fields none = { 0 };
	int r = expand_text(text, len, true, ops, &inner, &none);
	sh_fields_free(&none, ops);
	if (r < 0 || inner.b.oom) {
		if (inner.b.s)
			ops->release(inner.b.s);
		return r < 0 ? r : -1;
	}
	const char *e = inner.b.s ? inner.b.s : "";
	/* the field escapes quoted glob characters: none matter here */
	char *plain = sh_unescape(ops, e, strlen(e));
	if (inner.b.s)
		ops->release(inner.b.s);
	if (!plain)
		return -1;
	struct sh_arith_ops aops = { arith_get, arith_set, (void *)ops };
	long v;
	char err[80], msg[160];
	r = sh_arith(plain, strlen(plain), &aops, &v, err, sizeof(err));
	if (r < 0) {
		snprintf(msg, sizeof(msg), "$((%.60s)): %s", plain, err);
		ops->release(plain);
		return report(ops, msg);
	}
	ops->release(plain);
	char num[24];
	snprintf(num, sizeof(num), "%ld", v);
	for (char *c = num; *c; c++)
		put(f, *c, true);
	return 0;
}

/* `text`: backslash quotes $ ` and \ inside; the rest is the command. */
static int backquote_subst(const char *w, size_t *i, struct field *f, bool quoted,
			   const struct sh_expand_ops *ops, struct sh_fields *out)
{
	size_t start = *i + 1, end = start;
	while (w[end] && w[end] != '`')
		end += w[end] == '\\' && w[end + 1] ? 2 : 1;
	char *text = ops->alloc(end - start + 1);
	if (!text)
		return -1;
	size_t n = 0;
	for (size_t k = start; k < end; k++) {
		if (w[k] == '\\' && (w[k + 1] == '$' || w[k + 1] == '`' || w[k + 1] == '\\'))
			k++;
		text[n++] = w[k];
	}
	text[n] = '\0';
	*i = w[end] ? end + 1 : end;
	int r = command_subst(text, n, f, quoted, ops, out);
	ops->release(text);
	return r;
}

/* "$@": each positional parameter a field of its own (none if there
 * are none); text around it joins the first and the last. */
static int quoted_at(struct field *f, const struct sh_expand_ops *ops, struct sh_fields *out)
{
	const char *count = ops->var(ops->ctx, "#", 1);
	long n = count ? strtol(count, NULL, 10) : 0;
	for (long k = 1; k <= n; k++) {
		char num[24];
		int l = snprintf(num, sizeof(num), "%ld", k);
		f->have = true;
		int r = put_value(f, ops->var(ops->ctx, num, (size_t)l), true, ops, out);
		if (r == 0 && k < n)
			r = end_field(f, ops, out);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ${NAME}, ${#NAME}, ${NAME-word} ${NAME:-word} ${NAME+word} ${NAME:+word}
 * and ${NAME?word} ${NAME:?word}: w[*i] is the '$'. The word is expanded
 * as inside double quotes. */
static int braced(const char *w, size_t *i, struct field *f, bool quoted,
		  const struct sh_expand_ops *ops, struct sh_fields *out)
{
	const char *s = w + *i + 2;
	/* the closing brace, past quotes and nested braces in the word */
	size_t end = 0;
	for (int depth = 1; s[end]; end++) {
		if (s[end] == '\\' && s[end + 1])
			end++;
		else if (s[end] == '{')
			depth++;
		else if (s[end] == '}' && --depth == 0)
			break;
	}
	*i += 2 + end + (s[end] ? 1 : 0);
	bool length = s[0] == '#' && end > 1;
	const char *name = s + length;
	size_t len = 0;
	if (name[0] == '?' || name[0] == '$' || name[0] == '#' || name[0] == '!' ||
	    name[0] == '@' || name[0] == '*')
		len = 1;
	else
		while (isalnum(name[len]) || name[len] == '_')
			len++;
	const char *op = name + len, *stop = s + end;
	if (len == 0 || (length && op != stop))
		return report(ops, "bad substitution");
	if (quoted)
		f->have = true;
	const char *v = ops->var(ops->ctx, name, len);
	if (length) {
		char num[24];
		snprintf(num, sizeof(num), "%zu", v ? strlen(v) : (size_t)0);
		return put_value(f, num, quoted, ops, out);
	}
	if (op == stop)
		return put_value(f, v, quoted, ops, out);
	bool colon = *op == ':';
	char kind = op[colon];
	const char *word = op + colon + 1;
	if (kind != '-' && kind != '+' && kind != '?')
		return report(ops, "bad substitution (only - + ? and their : forms)");
	bool set = v && (!colon || v[0]);
	if ((kind == '-' && set) || (kind == '+' && !set))
		return kind == '-' ? put_value(f, v, quoted, ops, out) : 0;
	if (kind == '?' && set)
		return put_value(f, v, quoted, ops, out);
	if (kind == '?') {
		char msg[160];
		snprintf(msg, sizeof(msg), "%.*s: %.*s", (int)len, name,
			 (int)MIN((size_t)(stop - word), 100),
			 stop > word ? word : "parameter not set");
		return report(ops, msg);
	}
	return expand_text(word, (size_t)(stop - word), false, ops, f, out);
}

/* $... at w[*i] (the '$'): expand it, advancing *i past it. */
static int dollar(const char *w, size_t *i, struct field *f, bool quoted,
		  const struct sh_expand_ops *ops, struct sh_fields *out)
{
	const char *s = w + *i + 1;
	const char *name = s;
	size_t len = 0, skip = 0;
	if (*s == '(') {
		size_t open = *i + 1, close = paren_end(w, open);
		bool arith = s[1] == '(' && close > open + 2 && w[close - 1] == ')' &&
			     paren_end(w, open + 1) == close - 1;
		*i = w[close] ? close + 1 : close;
		if (arith) {
			if (quoted)
				f->have = true;
			return arith_subst(w + open + 2, close - 1 - (open + 2), f, ops);
		}
		return command_subst(w + open + 1, close - open - 1, f, quoted, ops, out);
	}
	if (*s == '{')
		return braced(w, i, f, quoted, ops, out);
	if (*s == '?' || *s == '$' || *s == '#' || *s == '!' || *s == '@' || *s == '*' ||
	    isdigit(*s)) {
		len = 1;
		skip = 1;
	} else {
		while (isalnum(s[len]) || s[len] == '_')
			len++;
		skip = len;
	}
	if (len == 0) {
		put(f, '$', true); /* a lone dollar */
		*i += 1;
		return 0;
	}
	*i += 1 + skip;
	if (quoted && *s == '@')
		return quoted_at(f, ops, out);
	const char *v = ops->var(ops->ctx, name, len);
	if (quoted)
		f->have = true; /* "$EMPTY" is one empty field */
	return put_value(f, v, quoted, ops, out);
}

/* Expand n bytes of s as inside double quotes (heredoc: '"' is plain). */
static int expand_text(const char *s, size_t n, bool heredoc, const struct sh_expand_ops *ops,
		       struct field *f, struct sh_fields *out)
{
	char *w = ops->alloc(n + 1);
	if (!w)
		return -1;
	memcpy(w, s, n);
	w[n] = '\0';
	int r = 0;
	for (size_t i = 0; w[i] && r == 0;) {
		if (w[i] == '\\' && w[i + 1] &&
		    (w[i + 1] == '$' || w[i + 1] == '\\' || w[i + 1] == '`' ||
		     (!heredoc && w[i + 1] == '"') || w[i + 1] == '\n')) {
			if (w[i + 1] != '\n')
				put(f, w[i + 1], true);
			i += 2;
		} else if (w[i] == '$') {
			r = dollar(w, &i, f, true, ops, out);
		} else if (w[i] == '`') {
			r = backquote_subst(w, &i, f, true, ops, out);
		} else {
			put(f, w[i++], true);
		}
	}
	ops->release(w);
	return r;
}

static int expand_word(const char *w, const struct sh_expand_ops *ops, struct field *f,
		       struct sh_fields *out)
{
	size_t i = 0;
	int r = 0;
	if (w[0] == '~' && (w[1] == '/' || w[1] == '\0')) {
		const char *home = ops->var(ops->ctx, "HOME", 4);
		if (home) {
			for (; *home; home++)
				put(f, *home, true);
			i = 1;
		}
	}
	while (w[i] && r == 0) {
		char c = w[i];
		if (c == '\\') {
			if (w[i + 1]) {
				put(f, w[i + 1], true);
				i += 2;
			} else {
				put(f, '\\', true);
				i++;
			}
		} else if (c == '\'') {
			f->have = true;
			for (i++; w[i] && w[i] != '\''; i++)
				put(f, w[i], true);
			if (w[i])
				i++;
		} else if (c == '"') {
			if (strncmp(w + i, "\"$@\"", 4) != 0)
				f->have = true; /* "" is a field; "$@" may be none */
			size_t end = i + 1;
			while (w[end] && w[end] != '"') {
				if (w[end] == '\\' && w[end + 1]) {
					end += 2;
				} else if (w[end] == '$' && w[end + 1] == '(') {
					end = paren_end(w, end + 1);
					if (w[end])
						end++;
				} else if (w[end] == '`') {
					for (end++; w[end] && w[end] != '`';)
						end += w[end] == '\\' && w[end + 1] ? 2 : 1;
					if (w[end])
						end++;
				} else {
					end++;
				}
			}
			r = expand_text(w + i + 1, end - i - 1, false, ops, f, out);
			i = w[end] ? end + 1 : end;
		} else if (c == '$') {
			r = dollar(w, &i, f, false, ops, out);
		} else if (c == '`') {
			r = backquote_subst(w, &i, f, false, ops, out);
		} else {
			put(f, c, false);
			i++;
		}
	}
	return r;
}

static int said(int r, const struct sh_expand_ops *ops)
{
	if (r == -1)
		report(ops, "out of memory or too many fields expanding a word");
	return r < 0 ? -1 : 0;
}

int sh_expand(const char *w, const struct sh_expand_ops *ops, struct sh_fields *out)
{
	struct field f = { .b = { .ops = ops } };
	int r = expand_word(w, ops, &f, out);
	if (r == 0)
		return said(end_field(&f, ops, out), ops);
	if (f.b.s)
		ops->release(f.b.s);
	return said(r, ops);
}

/* The field's text: unescaped, or kept as a pattern. */
static char *field_text(struct field *f, const struct sh_expand_ops *ops, bool pattern)
{
	const char *e = f->b.s ? f->b.s : "";
	char *t = pattern ? sh_dup_str(ops, e) : sh_unescape(ops, e, strlen(e));
	if (f->b.s)
		ops->release(f->b.s);
	return t;
}

/* The text of an expansion into the one field f (r its result; none takes
 * the fields it must not have made), or NULL with the error said. */
static char *one_text(struct field *f, struct sh_fields *none, int r,
		      const struct sh_expand_ops *ops, bool pattern)
{
	sh_fields_free(none, ops);
	if (r < 0 || f->b.oom) {
		if (f->b.s)
			ops->release(f->b.s);
		said(r < 0 ? r : -1, ops);
		return NULL;
	}
	char *t = field_text(f, ops, pattern);
	if (!t)
		said(-1, ops);
	return t;
}

char *sh_expand_one(const char *w, const struct sh_expand_ops *ops, bool pattern)
{
	struct field f = { .b = { .ops = ops }, .nosplit = true };
	struct sh_fields none = { 0 };
	int r = expand_word(w, ops, &f, &none);
	return one_text(&f, &none, r, ops, pattern);
}

char *sh_expand_heredoc(const char *body, const struct sh_expand_ops *ops)
{
	struct field f = { .b = { .ops = ops } };
	struct sh_fields none = { 0 };
	int r = expand_text(body, strlen(body), true, ops, &f, &none);
	return one_text(&f, &none, r, ops, false);
}
