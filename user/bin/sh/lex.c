/*
 * The shell's lexer (lex.h): words and operators from the text of one
 * complete command, and the bodies of here-documents, read after the
 * newline that ends the line they were started on.
 *
 * Words are copied quotes and all into p->text (expand.c needs to know
 * what was quoted); a word's extent follows quotes, $(...), $((...)),
 * `...` and ${...} so that the separators inside them do not end it.
 * p->text and the node, word and redirection arrays grow from p->alloc up
 * to their SH_*_MAX bounds; the first problem ends the parse with a
 * message in p->err, and text that ends inside a quote, a substitution or
 * a here-document sets lx->more (the caller may offer more lines).
 */
#include <common/fmt.h>
#include <common/string.h>
#include "lex.h"

int lex_fail(struct lexer *lx, const char *fmt, const char *what)
{
	if (!lx->p->err[0])
		snprintf(lx->p->err, sizeof(lx->p->err), fmt, what);
	lx->tok = T_ERR;
	return -1;
}

int lex_more(struct lexer *lx, const char *fmt, const char *what)
{
	if (!lx->p->err[0])
		lx->more = true;
	return lex_fail(lx, fmt, what);
}

/* Grow *arr (of *cap elements of size) to hold n + 1, up to max. */
static int grow(struct sh_prog *p, void **arr, int *cap, int n, size_t size, int max)
{
	if (n < *cap)
		return 0;
	if (n >= max)
		return -1;
	int ncap = *cap ? *cap * 2 : 32;
	if (ncap > max)
		ncap = max;
	void *a = p->alloc((size_t)ncap * size);
	if (!a)
		return -1;
	if (*arr) {
		memcpy(a, *arr, (size_t)*cap * size);
		p->release(*arr);
	}
	*arr = a;
	*cap = ncap;
	return 0;
}

int node_new(struct lexer *lx, int kind)
{
	struct sh_prog *p = lx->p;
	if (grow(p, (void **)&p->nodes, &p->cap_nodes, p->nnodes, sizeof(struct sh_node),
		 SH_NODES_MAX) < 0)
		return lex_fail(lx, "too many commands (at most %s nodes)", "16384");
	struct sh_node *n = &p->nodes[p->nnodes];
	*n = (struct sh_node){ .n_kind = (uint8_t)kind,
			       .n_kid = -1,
			       .n_next = -1,
			       .n_a = -1,
			       .n_b = -1,
			       .n_c = -1,
			       .n_word0 = p->nwords,
			       .n_redir0 = p->nredirs,
			       .n_start = (int)lx->tok_start };
	return p->nnodes++;
}

int add_redir(struct lexer *lx, const struct sh_redir *rd)
{
	struct sh_prog *p = lx->p;
	if (grow(p, (void **)&p->redirs, &p->cap_redirs, p->nredirs, sizeof(*rd), SH_REDIRS_MAX) <
	    0)
		return lex_fail(lx, "too many redirections (at most %s)", "4096");
	p->redirs[p->nredirs] = *rd;
	return p->nredirs++;
}

int add_word_ptr(struct lexer *lx, char *w)
{
	struct sh_prog *p = lx->p;
	if (grow(p, (void **)&p->words, &p->cap_words, p->nwords, sizeof(char *), SH_WORDS_MAX) < 0)
		return lex_fail(lx, "too many words (at most %s)", "16384");
	p->words[p->nwords] = w;
	return p->nwords++;
}

/* Room for n more bytes of p->text; the words point into it, so they move
 * with it. */
static int text_reserve(struct lexer *lx, size_t n)
{
	struct sh_prog *p = lx->p;
	if (p->textlen + n <= p->textcap)
		return 0;
	size_t cap = p->textcap ? p->textcap : 256;
	while (cap < p->textlen + n)
		cap *= 2;
	if (cap > 2 * SH_TEXT_MAX + 64)
		return lex_fail(lx, "command too long%s", "");
	char *t = p->alloc(cap);
	if (!t)
		return lex_fail(lx, "out of memory%s", "");
	if (p->text) {
		memcpy(t, p->text, p->textlen);
		for (int i = 0; i < p->nwords; i++)
			p->words[i] = t + (p->words[i] - p->text);
		for (int i = 0; i < lx->nhd; i++)
			lx->hd[i].delim = t + (lx->hd[i].delim - p->text);
		p->release(p->text);
	}
	p->text = t;
	p->textcap = cap;
	return 0;
}

/* The first c in s[0..n), or NULL. */
static const char *find_byte(const char *s, char c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == c)
			return s + i;
	return NULL;
}

static bool is_meta(char c)
{
	return c == '|' || c == '&' || c == ';' || c == '<' || c == '>' || c == '(' || c == ')' ||
	       c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0';
}

static size_t scan_dquote(struct lexer *lx, size_t i);
static size_t scan_backquote(struct lexer *lx, size_t i);

/* s[i] is the '(' of "$(": the index just past its ')'; 0 on failure.
 * Parentheses nest; quotes inside are followed. */
static size_t scan_paren(struct lexer *lx, size_t i)
{
	const char *s = lx->s;
	int depth = 0;
	while (i < lx->len) {
		char c = s[i];
		if (c == '(') {
			depth++;
			i++;
		} else if (c == ')') {
			i++;
			if (--depth == 0)
				return i;
		} else if (c == '\\') {
			i += 2;
		} else if (c == '\'') {
			const char *e = find_byte(s + i + 1, '\'', lx->len - i - 1);
			if (!e)
				break;
			i = (size_t)(e - s) + 1;
		} else if (c == '"') {
			if (!(i = scan_dquote(lx, i)))
				return 0;
		} else if (c == '`') {
			if (!(i = scan_backquote(lx, i)))
				return 0;
		} else {
			i++;
		}
	}
	lex_more(lx, "unterminated %s", "$(");
	return 0;
}

static size_t scan_backquote(struct lexer *lx, size_t i)
{
	for (i++; i < lx->len && lx->s[i] != '`'; i++)
		if (lx->s[i] == '\\')
			i++;
	if (i >= lx->len) {
		lex_more(lx, "unterminated %s", "backquote");
		return 0;
	}
	return i + 1;
}

/* s[i] is a '"': the index past its closing quote, 0 on failure. */
static size_t scan_dquote(struct lexer *lx, size_t i)
{
	const char *s = lx->s;
	for (i++; i < lx->len && s[i] != '"';) {
		if (s[i] == '\\') {
			i += 2;
		} else if (s[i] == '$' && s[i + 1] == '(') {
			if (!(i = scan_paren(lx, i + 1)))
				return 0;
		} else if (s[i] == '`') {
			if (!(i = scan_backquote(lx, i)))
				return 0;
		} else {
			i++;
		}
	}
	if (i >= lx->len) {
		lex_more(lx, "unterminated %s", "double quote");
		return 0;
	}
	return i + 1;
}

/* Copy a word, quotes and all, to p->text (less backslash-newlines); stop
 * at an unquoted metacharacter. */
static int lex_word(struct lexer *lx)
{
	const char *s = lx->s;
	size_t i = lx->pos;
	while (i < lx->len && !is_meta(s[i])) {
		char c = s[i];
		if (c == '\\') {
			if (s[i + 1] == '\n' && i + 2 >= lx->len)
				return lex_more(lx, "%s", "line continued at the end");
			i += 2;
		} else if (c == '\'') {
			const char *e = find_byte(s + i + 1, '\'', lx->len - i - 1);
			if (!e)
				return lex_more(lx, "unterminated %s", "single quote");
			i = (size_t)(e - s) + 1;
		} else if (c == '"') {
			if (!(i = scan_dquote(lx, i)))
				return -1;
		} else if (c == '`') {
			if (!(i = scan_backquote(lx, i)))
				return -1;
		} else if (c == '$' && s[i + 1] == '(') {
			if (!(i = scan_paren(lx, i + 1)))
				return -1;
		} else if (c == '$' && s[i + 1] == '{') {
			const char *e = find_byte(s + i, '}', lx->len - i);
			if (!e)
				return lex_more(lx, "unterminated %s", "${");
			i = (size_t)(e - s) + 1;
		} else {
			i++;
		}
	}
	if (i > lx->len)
		i = lx->len;
	if (text_reserve(lx, i - lx->pos + 1) < 0)
		return -1;
	struct sh_prog *p = lx->p;
	char *w = p->text + p->textlen;
	bool in_single = false, in_double = false;
	for (size_t k = lx->pos; k < i; k++) {
		if (s[k] == '\'' && !in_double)
			in_single = !in_single;
		else if (s[k] == '"' && !in_single)
			in_double = !in_double;
		if (!in_single && s[k] == '\\' && s[k + 1] == '\n') {
			k++; /* a line continued */
			continue;
		}
		if (!in_single && s[k] == '\\' && k + 1 < i)
			p->text[p->textlen++] = s[k++];
		p->text[p->textlen++] = s[k];
	}
	p->text[p->textlen++] = '\0';
	if ((lx->word = add_word_ptr(lx, w)) < 0)
		return -1;
	lx->pos = i;
	lx->tok = T_WORD;
	return 0;
}

/* After a newline: the bodies of the here-documents its line started. */
static int read_heredocs(struct lexer *lx)
{
	struct sh_prog *p = lx->p;
	for (int h = 0; h < lx->nhd; h++) {
		struct heredoc_pending *hd = &lx->hd[h];
		if (text_reserve(lx, MIN(lx->len - lx->pos, (size_t)SH_HEREDOC_MAX) + 1) < 0)
			return -1;
		size_t start = p->textlen, dlen = strlen(hd->delim);
		for (;;) {
			if (lx->pos >= lx->len)
				return lex_more(lx, "unterminated here-document (expected '%s')",
						hd->delim);
			size_t i = lx->pos;
			if (hd->strip_tabs)
				while (i < lx->len && lx->s[i] == '\t')
					i++;
			const char *nl = find_byte(lx->s + i, '\n', lx->len - i);
			size_t end = nl ? (size_t)(nl - lx->s) : lx->len;
			lx->pos = nl ? end + 1 : end;
			if (end - i == dlen && memcmp(lx->s + i, hd->delim, dlen) == 0)
				break;
			if (p->textlen - start + (lx->pos - i) > SH_HEREDOC_MAX)
				return lex_fail(lx, "here-document too long (at most %s bytes)",
						"65536");
			memcpy(p->text + p->textlen, lx->s + i, lx->pos - i);
			p->textlen += lx->pos - i;
		}
		p->text[p->textlen++] = '\0';
		p->redirs[hd->redir].word = (int)start;
	}
	lx->nhd = 0;
	return 0;
}

static int lex_redir(struct lexer *lx, char c, char d, int fd)
{
	const char *s = lx->s;
	struct sh_redir *rd = &lx->rd;
	lx->pos++;
	*rd = (struct sh_redir){ .fd = fd >= 0 ? fd : c == '<' ? 0 : 1, .word = -1, .dupfd = -1 };
	lx->heredoc = lx->strip_tabs = false;
	if (d == '&') {
		lx->pos++;
		char t = s[lx->pos];
		if (!isdigit(t) || !is_meta(s[lx->pos + 1]))
			return lex_fail(lx, "syntax error: %s& needs one digit",
					c == '<' ? "<" : ">");
		rd->op = R_DUP;
		rd->dupfd = t - '0';
		lx->pos++;
	} else if (c == '>' && d == '>') {
		lx->pos++;
		rd->op = R_APPEND;
	} else if (c == '<' && d == '<') {
		lx->pos++;
		lx->heredoc = true;
		rd->op = R_HEREDOC;
		if (s[lx->pos] == '-') {
			lx->pos++;
			lx->strip_tabs = true;
		}
	} else {
		if (c == '>' && d == '|')
			lx->pos++; /* >| : no noclobber here, so plain > */
		rd->op = c == '<' ? R_IN : R_OUT;
	}
	lx->tok = T_REDIR;
	return 0;
}

int lex_next(struct lexer *lx)
{
	const char *s = lx->s;
	for (;;) {
		while (s[lx->pos] == ' ' || s[lx->pos] == '\t' || s[lx->pos] == '\r')
			lx->pos++;
		if (s[lx->pos] == '\\' && s[lx->pos + 1] == '\n') {
			lx->pos += 2;
			continue;
		}
		break;
	}
	if (s[lx->pos] == '#') /* a comment, to the end of the line */
		while (lx->pos < lx->len && s[lx->pos] != '\n')
			lx->pos++;
	lx->tok_start = lx->pos;
	if (s[lx->pos] == '\\' && lx->pos + 1 >= lx->len)
		return lex_more(lx, "%s", "line continued at the end");
	char c = lx->pos < lx->len ? s[lx->pos] : '\0', d = c ? s[lx->pos + 1] : '\0';
	int fd = -1;
	if (isdigit(c) && (d == '<' || d == '>')) { /* an IO number */
		fd = c - '0';
		lx->pos++;
		c = d;
		d = s[lx->pos + 1];
	}
	switch (c) {
	case '\0': lx->tok = T_END; return 0;
	case '\n':
		lx->pos++;
		lx->tok = T_NEWLINE;
		return lx->nhd ? read_heredocs(lx) : 0;
	case '|':
		lx->pos += d == '|' ? 2 : 1;
		lx->tok = d == '|' ? T_OR : T_PIPE;
		return 0;
	case '&':
		lx->pos += d == '&' ? 2 : 1;
		lx->tok = d == '&' ? T_ANDAND : T_AND;
		return 0;
	case ';':
		lx->pos += d == ';' ? 2 : 1;
		lx->tok = d == ';' ? T_DSEMI : T_SEMI;
		return 0;
	case '(':
	case ')':
		lx->pos++;
		lx->tok = c == '(' ? T_LPAREN : T_RPAREN;
		return 0;
	case '<':
	case '>': return lex_redir(lx, c, d, fd);
	default: return lex_word(lx);
	}
}

bool lex_is(struct lexer *lx, const char *w)
{
	return lx->tok == T_WORD && strcmp(lx->p->words[lx->word], w) == 0;
}

void lex_drop_word(struct lexer *lx)
{
	struct sh_prog *p = lx->p;
	if (lx->word == p->nwords - 1)
		p->nwords--;
}

const char *lex_tok_name(const struct lexer *lx)
{
	static const char *const names[] = { "word", "newline", "|",           "||",
					     "&",    "&&",      ";",           ";;",
					     "(",    ")",       "redirection", "end of line" };
	if (lx->tok == T_WORD)
		return lx->p->words[lx->word];
	return lx->tok >= 0 && lx->tok < (int)ARRAY_SIZE(names) ? names[lx->tok] : "?";
}
