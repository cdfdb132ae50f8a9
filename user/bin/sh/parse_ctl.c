/*
 * Compound commands (parse.h): ( list ), { list; }, if, while, until, for
 * and case, parsed into K_SUBSHELL ... K_CASE nodes by recursive descent
 * over lex.c's tokens. parse.c calls parse_compound where a command starts
 * with one of their opening words.
 *
 * Each level of nesting costs a few stack frames, so lx->depth is bounded
 * by SH_NEST_MAX: past it the parse fails with "too deeply nested" rather
 * than running off the stack. Text that ends inside a construct is
 * SH_PARSE_MORE, with p->err naming what is open ("'if' is not closed
 * (expected 'fi')"), so the interactive shell can ask for more and a script
 * gets a clear message.
 */
#include <common/fmt.h>
#include <common/string.h>
#include "lex.h"

/* The current token must be reserved word w, which ends construct what. */
static int expect(struct lexer *lx, const char *w, const char *what)
{
	if (lex_is(lx, w)) {
		lex_drop_word(lx);
		return lex_next(lx);
	}
	struct sh_prog *p = lx->p;
	if (lx->tok == T_END) {
		lx->more = true;
		snprintf(p->err, sizeof(p->err), "syntax error: '%s' is not closed (expected '%s')",
			 what, w);
	} else if (!p->err[0]) {
		snprintf(p->err, sizeof(p->err), "syntax error near '%s' (expected '%s')",
			 lex_tok_name(lx), w);
	}
	lx->tok = T_ERR;
	return -1;
}

/* The list inside a construct; the opening word or token is current. */
static int inner_list(struct lexer *lx)
{
	if (lex_next(lx) < 0)
		return -1;
	return parse_list(lx, false);
}

static int parse_if(struct lexer *lx, int n, const char *opener)
{
	struct sh_prog *p = lx->p;
	lex_drop_word(lx); /* "if" or "elif" */
	int cond = inner_list(lx);
	if (cond < 0 || !lex_is(lx, "then"))
		return cond < 0 ? -1 : expect(lx, "then", opener);
	int then = inner_list(lx);
	if (then < 0)
		return -1;
	p->nodes[n].n_a = cond;
	p->nodes[n].n_b = then;
	if (lex_is(lx, "elif")) {
		int e = node_new(lx, K_IF);
		if (e < 0 || parse_if(lx, e, "elif") < 0)
			return -1;
		p->nodes[n].n_c = e;
		return 0; /* the innermost consumed the "fi" */
	}
	if (lex_is(lx, "else")) {
		lex_drop_word(lx);
		int other = inner_list(lx);
		if (other < 0)
			return -1;
		p->nodes[n].n_c = other;
	}
	return expect(lx, "fi", opener);
}

/* do list done, after a loop's head */
static int parse_do(struct lexer *lx, int n, const char *opener)
{
	if (parse_linebreak(lx) < 0)
		return -1;
	if (!lex_is(lx, "do"))
		return expect(lx, "do", opener);
	lex_drop_word(lx);
	int body = inner_list(lx);
	if (body < 0)
		return -1;
	lx->p->nodes[n].n_b = body;
	return expect(lx, "done", opener);
}

static int parse_for(struct lexer *lx, int n)
{
	struct sh_prog *p = lx->p;
	lex_drop_word(lx); /* "for" */
	if (lex_next(lx) < 0)
		return -1;
	if (lx->tok != T_WORD) {
		if (lx->tok == T_END)
			return lex_more(lx, "syntax error: 'for' is not closed (expected '%s')",
					"a name");
		return lex_fail(lx, "syntax error: 'for' needs a %s", "name");
	}
	const char *name = p->words[lx->word];
	if (!sh_valid_name(name, strlen(name)))
		return lex_fail(lx, "syntax error: '%s' is not a valid name", name);
	p->nodes[n].n_word0 = lx->word;
	p->nodes[n].n_nwords = 1;
	if (lex_next(lx) < 0 || parse_linebreak(lx) < 0)
		return -1;
	if (lex_is(lx, "in")) {
		lex_drop_word(lx);
		p->nodes[n].n_in = true;
		for (;;) {
			if (lex_next(lx) < 0)
				return -1;
			if (lx->tok != T_WORD)
				break;
			p->nodes[n].n_nwords++;
		}
		if (lx->tok == T_SEMI || lx->tok == T_NEWLINE) {
			if (lex_next(lx) < 0)
				return -1;
		} else if (lx->tok != T_END) {
			return lex_fail(lx, "syntax error near '%s' (expected 'do')",
					lex_tok_name(lx));
		}
	} else if (lx->tok == T_SEMI) {
		if (lex_next(lx) < 0)
			return -1;
	}
	return parse_do(lx, n, "for");
}

/* case WORD in { [(] pattern {| pattern} ) list ;; } esac */
static int parse_case(struct lexer *lx, int n)
{
	struct sh_prog *p = lx->p;
	lex_drop_word(lx); /* "case" */
	if (lex_next(lx) < 0)
		return -1;
	if (lx->tok != T_WORD) {
		if (lx->tok == T_END)
			return lex_more(lx, "syntax error: 'case' is not closed (expected '%s')",
					"esac");
		return lex_fail(lx, "syntax error: 'case' needs a %s", "word");
	}
	p->nodes[n].n_word0 = lx->word;
	p->nodes[n].n_nwords = 1;
	if (lex_next(lx) < 0 || parse_linebreak(lx) < 0)
		return -1;
	if (!lex_is(lx, "in"))
		return expect(lx, "in", "case");
	lex_drop_word(lx);
	int last = -1;
	for (;;) {
		if (lex_next(lx) < 0 || parse_linebreak(lx) < 0)
			return -1;
		if (lex_is(lx, "esac"))
			break;
		if (lx->tok == T_LPAREN && lex_next(lx) < 0)
			return -1;
		int item = node_new(lx, K_ITEM);
		if (item < 0)
			return -1;
		p->nodes[item].n_word0 = p->nwords - (lx->tok == T_WORD);
		for (;;) {
			if (lx->tok != T_WORD)
				return lx->tok == T_END
					       ? expect(lx, "esac", "case")
					       : lex_fail(
							 lx,
							 "syntax error near '%s' (expected a pattern)",
							 lex_tok_name(lx));
			p->nodes[item].n_nwords++;
			if (lex_next(lx) < 0)
				return -1;
			if (lx->tok == T_RPAREN)
				break;
			if (lx->tok != T_PIPE)
				return lx->tok == T_END
					       ? expect(lx, "esac", "case")
					       : lex_fail(lx,
							  "syntax error near '%s' (expected ')')",
							  lex_tok_name(lx));
			if (lex_next(lx) < 0)
				return -1;
		}
		if (lex_next(lx) < 0 || parse_linebreak(lx) < 0)
			return -1;
		if (lx->tok != T_DSEMI && !lex_is(lx, "esac")) {
			int body = parse_list(lx, false);
			if (body < 0)
				return -1;
			p->nodes[item].n_a = body;
		}
		if (last < 0)
			p->nodes[n].n_kid = item;
		else
			p->nodes[last].n_next = item;
		last = item;
		if (lx->tok == T_DSEMI)
			continue;
		if (lex_is(lx, "esac"))
			break;
		return expect(lx, "esac", "case");
	}
	lex_drop_word(lx);
	return lex_next(lx);
}

int parse_compound(struct lexer *lx)
{
	struct sh_prog *p = lx->p;
	if (++lx->depth > SH_NEST_MAX)
		return lex_fail(lx, "too deeply nested (at most %s levels)", "64");
	int kind = lx->tok == T_LPAREN   ? K_SUBSHELL
		   : lex_is(lx, "{")     ? K_GROUP
		   : lex_is(lx, "if")    ? K_IF
		   : lex_is(lx, "while") ? K_WHILE
		   : lex_is(lx, "until") ? K_UNTIL
		   : lex_is(lx, "for")   ? K_FOR
					 : K_CASE;
	int n = node_new(lx, kind);
	if (n < 0)
		return -1;
	int r;
	switch (kind) {
	case K_SUBSHELL:
	case K_GROUP: {
		if (kind == K_GROUP)
			lex_drop_word(lx);
		int list = inner_list(lx);
		if (list < 0)
			return -1;
		p->nodes[n].n_a = list;
		if (kind == K_GROUP) {
			r = expect(lx, "}", "{");
		} else if (lx->tok == T_RPAREN) {
			r = lex_next(lx);
		} else if (lx->tok == T_END) {
			r = lex_more(lx, "syntax error: '(' is not closed (expected '%s')", ")");
		} else {
			r = lex_fail(lx, "syntax error near '%s' (expected ')')", lex_tok_name(lx));
		}
		break;
	}
	case K_IF: r = parse_if(lx, n, "if"); break;
	case K_WHILE:
	case K_UNTIL: {
		lex_drop_word(lx);
		int cond = inner_list(lx);
		if (cond < 0)
			return -1;
		p->nodes[n].n_a = cond;
		r = parse_do(lx, n, kind == K_WHILE ? "while" : "until");
		break;
	}
	case K_FOR: r = parse_for(lx, n); break;
	default: r = parse_case(lx, n); break;
	}
	if (r < 0)
		return -1;
	lx->depth--;
	p->nodes[n].n_end = (int)lx->tok_start;
	return n;
}
