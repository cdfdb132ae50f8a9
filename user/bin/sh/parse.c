/*
 * The shell's parser (parse.h): one line into pipelines, commands,
 * redirections and raw words.
 *
 * A lexer reads a word or an operator at a time; words are copied with
 * their quotes into p->text, since expansion (expand.c) needs to know what
 * was quoted. Everything is bounded by the arrays of struct sh_prog; the
 * first problem ends the parse with a message in p->err.
 */
#include <common/fmt.h>
#include <common/string.h>
#include "parse.h"

enum tok { T_WORD, T_PIPE, T_OR, T_AND, T_ANDAND, T_SEMI, T_BANG, T_REDIR, T_END, T_ERR };

struct lexer {
	const char *s;
	size_t pos;
	struct sh_prog *p;
	size_t textlen;
	/* the last token */
	int tok;
	int word;            /* T_WORD: index in p->words */
	struct sh_redir rd;  /* T_REDIR: all but the word */
	size_t tok_start;
	bool at_start; /* a pipeline may start here: '!' is an operator */
};

static int fail(struct lexer *lx, const char *fmt, const char *what)
{
	if (!lx->p->err[0])
		snprintf(lx->p->err, sizeof(lx->p->err), fmt, what);
	lx->tok = T_ERR;
	return -1;
}

static bool is_meta(char c)
{
	return c == '|' || c == '&' || c == ';' || c == '<' || c == '>' || c == '(' || c == ')' ||
	       c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0';
}

/* Copy a word, quotes and all, to p->text; stop at an unquoted
 * metacharacter. */
static int lex_word(struct lexer *lx)
{
	struct sh_prog *p = lx->p;
	if (p->nwords == SH_WORDS_MAX)
		return fail(lx, "too many words (at most %s)", "512");
	size_t start = lx->textlen;
	const char *s = lx->s;
	size_t i = lx->pos;
	while (!is_meta(s[i])) {
		char c = s[i];
		size_t from = i;
		if (c == '\\') {
			i += s[i + 1] ? 2 : 1;
		} else if (c == '\'') {
			const char *end = strchr(s + i + 1, '\'');
			if (!end)
				return fail(lx, "unterminated %s", "single quote");
			i = (size_t)(end - s) + 1;
		} else if (c == '"') {
			for (i++; s[i] && s[i] != '"'; i++)
				if (s[i] == '\\' && s[i + 1])
					i++;
			if (!s[i])
				return fail(lx, "unterminated %s", "double quote");
			i++;
		} else if (c == '$' && s[i + 1] == '{') {
			const char *end = strchr(s + i, '}');
			if (!end)
				return fail(lx, "unterminated %s", "${");
			i = (size_t)(end - s) + 1;
		} else {
			i++;
		}
		if (lx->textlen + (i - from) + 1 > sizeof(p->text))
			return fail(lx, "line too long%s", "");
		memcpy(p->text + lx->textlen, s + from, i - from);
		lx->textlen += i - from;
	}
	p->text[lx->textlen++] = '\0';
	p->words[p->nwords] = p->text + start;
	lx->word = p->nwords++;
	lx->pos = i;
	lx->tok = T_WORD;
	return 0;
}

static int next(struct lexer *lx)
{
	const char *s = lx->s;
	while (s[lx->pos] == ' ' || s[lx->pos] == '\t' || s[lx->pos] == '\r' || s[lx->pos] == '\n')
		lx->pos++;
	if (s[lx->pos] == '#') /* a comment, to the end of the line */
		while (s[lx->pos])
			lx->pos++;
	lx->tok_start = lx->pos;
	char c = s[lx->pos], d = c ? s[lx->pos + 1] : '\0';
	/* an IO number: one digit right before < or > */
	int fd = -1;
	if (isdigit(c) && (d == '<' || d == '>')) {
		fd = c - '0';
		lx->pos++;
		c = d;
		d = s[lx->pos + 1];
	}
	switch (c) {
	case '\0':
		lx->tok = T_END;
		return 0;
	case '|':
		lx->pos += d == '|' ? 2 : 1;
		lx->tok = d == '|' ? T_OR : T_PIPE;
		return 0;
	case '&':
		lx->pos += d == '&' ? 2 : 1;
		lx->tok = d == '&' ? T_ANDAND : T_AND;
		return 0;
	case ';':
		lx->pos++;
		lx->tok = T_SEMI;
		return 0;
	case '(':
	case ')':
		return fail(lx, "subshells '%s' are not supported", c == '(' ? "(" : ")");
	case '<':
	case '>': {
		struct sh_redir *rd = &lx->rd;
		lx->pos++;
		rd->fd = fd >= 0 ? fd : c == '<' ? 0 : 1;
		rd->word = -1;
		rd->dupfd = -1;
		if (d == '&') {
			lx->pos++;
			char t = s[lx->pos];
			if (!isdigit(t) || !is_meta(s[lx->pos + 1]))
				return fail(lx, "syntax error: %s& needs one digit", c == '<' ? "<" : ">");
			rd->op = R_DUP;
			rd->dupfd = t - '0';
			lx->pos++;
		} else if (c == '>' && d == '>') {
			lx->pos++;
			rd->op = R_APPEND;
		} else {
			rd->op = c == '<' ? R_IN : R_OUT;
		}
		lx->tok = T_REDIR;
		return 0;
	}
	default:
		if (c == '!' && is_meta(d) && lx->at_start) {
			lx->pos++;
			lx->tok = T_BANG;
			return 0;
		}
		return lex_word(lx);
	}
}

static int next_at_start(struct lexer *lx)
{
	lx->at_start = true;
	int r = next(lx);
	lx->at_start = false;
	return r;
}

static const char *tok_name(int t)
{
	static const char *const names[] = { "word", "|", "||", "&", "&&", ";", "!", "redirection",
					     "end of line" };
	return t >= 0 && t < (int)ARRAY_SIZE(names) ? names[t] : "?";
}

static int unexpected(struct lexer *lx)
{
	return fail(lx, "syntax error near '%s'", tok_name(lx->tok));
}

/* command := { word | redir }; the current token starts it. */
static int parse_command(struct lexer *lx)
{
	struct sh_prog *p = lx->p;
	if (p->ncmds == SH_CMDS_MAX)
		return fail(lx, "too many commands (at most %s)", "64");
	struct sh_cmd *c = &p->cmds[p->ncmds];
	/* the current token, already lexed, may be its first word */
	*c = (struct sh_cmd){ .word0 = p->nwords - (lx->tok == T_WORD), .redir0 = p->nredirs };
	/* words of a command are consecutive: redirection targets go in a
	 * second pass, so collect them here first */
	int targets[SH_REDIRS_MAX];
	int ntargets = 0;
	size_t target_pos[SH_REDIRS_MAX];
	for (;;) {
		if (lx->tok == T_WORD) {
			c->nwords++;
		} else if (lx->tok == T_REDIR) {
			if (p->nredirs == SH_REDIRS_MAX)
				return fail(lx, "too many redirections (at most %s)", "64");
			struct sh_redir rd = lx->rd;
			if (rd.op != R_DUP) {
				/* the target is the next word; it is not an argument */
				if (next(lx) < 0)
					return -1;
				if (lx->tok != T_WORD)
					return fail(lx, "syntax error: redirection without a %s",
						    "file name");
				/* move it out of the argument run: remember and drop */
				target_pos[ntargets] = (size_t)(p->words[lx->word] - p->text);
				targets[ntargets++] = p->nredirs;
				p->nwords--;
			}
			p->redirs[p->nredirs++] = rd;
			c->nredirs++;
		} else {
			break;
		}
		if (next(lx) < 0)
			return -1;
	}
	if (c->nwords == 0 && c->nredirs == 0)
		return unexpected(lx);
	/* the targets' words after the arguments */
	for (int i = 0; i < ntargets; i++) {
		if (p->nwords == SH_WORDS_MAX)
			return fail(lx, "too many words (at most %s)", "512");
		p->words[p->nwords] = p->text + target_pos[i];
		p->redirs[targets[i]].word = p->nwords++;
	}
	p->ncmds++;
	return 0;
}

static int parse_pipeline(struct lexer *lx)
{
	struct sh_prog *p = lx->p;
	if (p->npipes == SH_CMDS_MAX)
		return fail(lx, "too many pipelines (at most %s)", "64");
	struct sh_pipeline *pl = &p->pipes[p->npipes];
	*pl = (struct sh_pipeline){ .cmd0 = p->ncmds, .start = (int)lx->tok_start };
	if (lx->tok == T_BANG) {
		pl->negate = true;
		if (next(lx) < 0)
			return -1;
	}
	for (;;) {
		if (parse_command(lx) < 0)
			return -1;
		pl->ncmds++;
		if (lx->tok != T_PIPE)
			break;
		if (next(lx) < 0)
			return -1;
	}
	pl->end = (int)lx->tok_start;
	p->npipes++;
	return 0;
}

int sh_parse(const char *line, struct sh_prog *p)
{
	p->npipes = p->ncmds = p->nredirs = p->nwords = 0;
	p->err[0] = '\0';
	if (strnlen(line, SH_LINE_MAX + 1) > SH_LINE_MAX) {
		snprintf(p->err, sizeof(p->err), "line too long (at most %d bytes)", SH_LINE_MAX);
		return -1;
	}
	struct lexer lx = { .s = line, .p = p };
	if (next_at_start(&lx) < 0)
		return -1;
	while (lx.tok != T_END) {
		if (parse_pipeline(&lx) < 0)
			return -1;
		struct sh_pipeline *pl = &p->pipes[p->npipes - 1];
		switch (lx.tok) {
		case T_END:
			pl->next = N_END;
			return 0;
		case T_SEMI:
		case T_AND:
			pl->next = lx.tok == T_SEMI ? N_SEQ : N_BG;
			if (next_at_start(&lx) < 0)
				return -1;
			break;
		case T_ANDAND:
		case T_OR:
			pl->next = lx.tok == T_ANDAND ? N_AND : N_OR;
			if (next_at_start(&lx) < 0)
				return -1;
			if (lx.tok == T_END)
				return fail(&lx, "syntax error: line ends after '%s'",
					    pl->next == N_AND ? "&&" : "||");
			break;
		default:
			return unexpected(&lx);
		}
	}
	return 0;
}
