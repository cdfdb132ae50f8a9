/*
 * The shell's parser (parse.h): a complete command into a tree of lists,
 * and-or lists, pipelines and simple commands; compound commands and
 * function definitions are in parse_ctl.c. Recursive descent over the
 * lexer's tokens (lex.c); nesting is bounded by SH_NEST_MAX, since each
 * level is a few stack frames.
 *
 * A simple command's words are consecutive in p->words; its redirection
 * targets and here-document bodies are not words (they sit in p->text,
 * named by offset), so nothing has to be moved out of the run.
 */
#include <common/fmt.h>
#include <common/string.h>
#include "lex.h"

static int unexpected(struct lexer *lx)
{
	if (lx->tok == T_END)
		return lex_more(lx, "syntax error near '%s'", "end of line");
	return lex_fail(lx, "syntax error near '%s'", lex_tok_name(lx));
}

/* Skip newlines (after && || | and the like). */
int parse_linebreak(struct lexer *lx)
{
	while (lx->tok == T_NEWLINE)
		if (lex_next(lx) < 0)
			return -1;
	return 0;
}

static void link_kid(struct sh_prog *p, int parent, int *last, int kid)
{
	if (*last < 0)
		p->nodes[parent].n_kid = kid;
	else
		p->nodes[*last].n_next = kid;
	*last = kid;
}

/* The delimiter word of a here-document, quotes removed in place; true
 * if anything was quoted (then the body is not expanded). */
static bool heredoc_delim(char *w)
{
	bool quoted = false;
	char *d = w;
	for (char *s = w; *s; s++) {
		if (*s == '\'' || *s == '"') {
			quoted = true;
			continue;
		}
		if (*s == '\\' && s[1]) {
			quoted = true;
			s++;
		}
		*d++ = *s;
	}
	*d = '\0';
	return quoted;
}

/* The current token is a redirection: add it, with its target, to the
 * node being built. */
static int parse_redir(struct lexer *lx, int node)
{
	struct sh_prog *p = lx->p;
	struct sh_redir rd = lx->rd;
	bool heredoc = lx->heredoc, strip = lx->strip_tabs;
	if (rd.op != R_DUP) {
		if (lex_next(lx) < 0)
			return -1;
		if (lx->tok != T_WORD) {
			if (lx->tok == T_END || lx->tok == T_NEWLINE)
				return lex_fail(lx, "syntax error: redirection without a %s",
						heredoc ? "delimiter" : "file name");
			return unexpected(lx);
		}
		char *w = p->words[lx->word];
		rd.word = (int)(w - p->text);
		lex_drop_word(lx);
		if (heredoc) {
			if (lx->nhd == HEREDOCS_PENDING_MAX)
				return lex_fail(lx,
						"too many here-documents on one line (at most %s)",
						"16");
			if (heredoc_delim(w))
				rd.op = R_HEREDOC_RAW;
		}
	}
	int r = add_redir(lx, &rd);
	if (r < 0)
		return -1;
	if (heredoc)
		lx->hd[lx->nhd++] = (struct heredoc_pending){ r, p->text + rd.word, strip };
	struct sh_node *n = &p->nodes[node];
	if (n->n_nredirs == 0)
		n->n_redir0 = r;
	n->n_nredirs++;
	return 0;
}

/* Redirections after a compound command. */
static int parse_redirs_after(struct lexer *lx, int node)
{
	struct sh_node *n = &lx->p->nodes[node];
	n->n_redir0 = lx->p->nredirs;
	while (lx->tok == T_REDIR)
		if (parse_redir(lx, node) < 0 || lex_next(lx) < 0)
			return -1;
	return 0;
}

static bool starts_compound(struct lexer *lx)
{
	return lx->tok == T_LPAREN || lex_is(lx, "if") || lex_is(lx, "while") ||
	       lex_is(lx, "until") || lex_is(lx, "for") || lex_is(lx, "case") || lex_is(lx, "{");
}

static int parse_function(struct lexer *lx, int cmd);

/* command := simple | compound {redir} | function definition */
static int parse_command(struct lexer *lx)
{
	struct sh_prog *p = lx->p;
	if (starts_compound(lx)) {
		int n = parse_compound(lx);
		if (n < 0 || parse_redirs_after(lx, n) < 0)
			return -1;
		return n;
	}
	int c = node_new(lx, K_CMD);
	if (c < 0)
		return -1;
	/* the current token, already lexed, may be its first word */
	p->nodes[c].n_word0 = p->nwords - (lx->tok == T_WORD);
	for (;;) {
		if (lx->tok == T_WORD) {
			p->nodes[c].n_nwords++;
		} else if (lx->tok == T_REDIR) {
			if (parse_redir(lx, c) < 0)
				return -1;
		} else if (lx->tok == T_LPAREN && p->nodes[c].n_nwords == 1 &&
			   p->nodes[c].n_nredirs == 0) {
			return parse_function(lx, c);
		} else {
			break;
		}
		if (lex_next(lx) < 0)
			return -1;
	}
	struct sh_node *n = &p->nodes[c];
	if (n->n_nwords == 0 && n->n_nredirs == 0)
		return unexpected(lx);
	n->n_end = (int)lx->tok_start;
	return c;
}

/* NAME ( ) linebreak compound: the "(" is the current token. */
static int parse_function(struct lexer *lx, int cmd)
{
	struct sh_prog *p = lx->p;
	struct sh_node *n = &p->nodes[cmd];
	const char *name = p->words[n->n_word0];
	if (!sh_valid_name(name, strlen(name)))
		return lex_fail(lx, "syntax error: '%s' is not a valid function name", name);
	n->n_kind = K_FUNC;
	if (lex_next(lx) < 0)
		return -1;
	if (lx->tok != T_RPAREN)
		return unexpected(lx);
	if (lex_next(lx) < 0 || parse_linebreak(lx) < 0)
		return -1;
	if (!starts_compound(lx)) {
		if (lx->tok == T_END)
			return lex_more(lx, "syntax error: function '%s' has no body", name);
		return unexpected(lx);
	}
	int body = parse_compound(lx);
	if (body < 0 || parse_redirs_after(lx, body) < 0)
		return -1;
	p->nodes[cmd].n_a = body;
	p->nodes[cmd].n_end = (int)lx->tok_start;
	return cmd;
}

static int parse_pipeline(struct lexer *lx)
{
	struct sh_prog *p = lx->p;
	int pl = node_new(lx, K_PIPE), last = -1;
	if (pl < 0)
		return -1;
	if (lex_is(lx, "!")) {
		lex_drop_word(lx);
		p->nodes[pl].n_negate = true;
		if (lex_next(lx) < 0)
			return -1;
	}
	for (;;) {
		int c = parse_command(lx);
		if (c < 0)
			return -1;
		link_kid(p, pl, &last, c);
		if (lx->tok != T_PIPE)
			break;
		if (lex_next(lx) < 0 || parse_linebreak(lx) < 0)
			return -1;
	}
	p->nodes[pl].n_end = (int)lx->tok_start;
	return pl;
}

static int parse_andor(struct lexer *lx)
{
	struct sh_prog *p = lx->p;
	int ao = node_new(lx, K_ANDOR), last = -1;
	if (ao < 0)
		return -1;
	int join = J_FIRST;
	for (;;) {
		int pl = parse_pipeline(lx);
		if (pl < 0)
			return -1;
		p->nodes[pl].n_join = (uint8_t)join;
		link_kid(p, ao, &last, pl);
		if (lx->tok != T_ANDAND && lx->tok != T_OR)
			break;
		join = lx->tok == T_ANDAND ? J_AND : J_OR;
		if (lex_next(lx) < 0 || parse_linebreak(lx) < 0)
			return -1;
		if (lx->tok == T_END)
			return lex_more(lx, "syntax error: line ends after '%s'",
					join == J_AND ? "&&" : "||");
	}
	p->nodes[ao].n_end = (int)lx->tok_start;
	return ao;
}

/* Does the current token end a list (a reserved word that closes or
 * continues the construct around it)? */
static bool list_ends(struct lexer *lx)
{
	static const char *const words[] = {
		"then", "elif", "else", "fi", "do", "done", "esac", "}"
	};
	if (lx->tok == T_END || lx->tok == T_RPAREN || lx->tok == T_DSEMI)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (lex_is(lx, words[i]))
			return true;
	return false;
}

/* list: and-or lists separated by ; & or newlines. At the top it ends at
 * a newline; inside a compound command at the word that closes it. */
int parse_list(struct lexer *lx, bool top)
{
	struct sh_prog *p = lx->p;
	int list = node_new(lx, K_LIST), last = -1;
	if (list < 0)
		return -1;
	for (;;) {
		if (!top && parse_linebreak(lx) < 0)
			return -1;
		if (list_ends(lx) || lx->tok == T_NEWLINE)
			break;
		int ao = parse_andor(lx);
		if (ao < 0)
			return -1;
		link_kid(p, list, &last, ao);
		if (lx->tok == T_SEMI || lx->tok == T_AND) {
			p->nodes[ao].n_bg = lx->tok == T_AND;
			if (lex_next(lx) < 0)
				return -1;
		} else if (lx->tok != T_NEWLINE) {
			break;
		}
	}
	if (last < 0)
		return unexpected(lx);
	p->nodes[list].n_end = (int)lx->tok_start;
	return list;
}

void sh_prog_free(struct sh_prog *p)
{
	if (p->nodes)
		p->release(p->nodes);
	if (p->redirs)
		p->release(p->redirs);
	if (p->words)
		p->release(p->words);
	if (p->text)
		p->release(p->text);
	if (p->src)
		p->release(p->src);
	p->nodes = NULL;
	p->redirs = NULL;
	p->words = NULL;
	p->text = p->src = NULL;
}

int sh_parse(const char *text, struct sh_prog *p, size_t *used)
{
	return sh_parse_n(text, strnlen(text, SH_TEXT_MAX + 1), p, used);
}

int sh_parse_n(const char *text, size_t len, struct sh_prog *p, size_t *used)
{
	void *(*alloc)(size_t) = p->alloc;
	void (*release)(void *) = p->release;
	*p = (struct sh_prog){ .root = -1, .alloc = alloc, .release = release };
	*used = 0;
	if (len > SH_TEXT_MAX)
		len = SH_TEXT_MAX;
	struct lexer lx = { .s = text, .len = len, .p = p };
	int r = lex_next(&lx);
	if (r == 0)
		r = parse_linebreak(&lx);
	if (r == 0 && lx.tok != T_END) {
		p->root = parse_list(&lx, true);
		r = p->root < 0 ? -1 : 0;
		if (r == 0 && lx.tok != T_NEWLINE && lx.tok != T_END)
			r = unexpected(&lx);
		if (r == 0 && lx.nhd)
			r = lex_more(&lx, "unterminated here-document (expected '%s')",
				     lx.hd[0].delim);
	}
	if (r < 0) {
		p->root = -1;
		return lx.more ? SH_PARSE_MORE : SH_PARSE_ERR;
	}
	if (lx.pos >= SH_TEXT_MAX && text[lx.pos]) {
		snprintf(p->err, sizeof(p->err), "command too long (at most %d bytes)",
			 SH_TEXT_MAX);
		p->root = -1;
		return SH_PARSE_ERR;
	}
	*used = lx.pos;
	p->src = alloc(lx.pos + 1);
	if (!p->src) {
		snprintf(p->err, sizeof(p->err), "out of memory");
		p->root = -1;
		return SH_PARSE_ERR;
	}
	memcpy(p->src, text, lx.pos);
	p->src[lx.pos] = '\0';
	return SH_PARSE_OK;
}
