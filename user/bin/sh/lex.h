/*
 * The lexer shared by the parser's files (lex.c, parse.c, parse_ctl.c):
 * a token at a time from the complete command's text, words copied with
 * their quotes into p->text. Private to the parser.
 */
#ifndef EXO_SH_LEX_H
#define EXO_SH_LEX_H

#include "parse.h"

enum tok {
	T_WORD,
	T_NEWLINE,
	T_PIPE,
	T_OR,
	T_AND,
	T_ANDAND,
	T_SEMI,
	T_DSEMI,
	T_LPAREN,
	T_RPAREN,
	T_REDIR,
	T_END,
	T_ERR,
};

#define HEREDOCS_PENDING_MAX 16 /* here-documents started on one line */

struct heredoc_pending {
	int redir;         /* index in p->redirs */
	const char *delim; /* quote-removed, in p->text */
	bool strip_tabs;   /* <<- */
};

struct lexer {
	const char *s;
	size_t pos, len;
	struct sh_prog *p;
	int tok;
	int word;           /* T_WORD: index in p->words */
	struct sh_redir rd; /* T_REDIR: all but the word */
	bool heredoc;       /* T_REDIR: << or <<- */
	bool strip_tabs;    /* T_REDIR: <<- */
	size_t tok_start;
	int depth;          /* compound commands open */
	bool more;          /* the text ended inside a construct */
	struct heredoc_pending hd[HEREDOCS_PENDING_MAX];
	int nhd;
};

int lex_fail(struct lexer *lx, const char *fmt, const char *what);
/* The text ended with what still open: SH_PARSE_MORE's error. */
int lex_more(struct lexer *lx, const char *fmt, const char *what);
int lex_next(struct lexer *lx);
/* Is the current token the unquoted word w (a reserved word)? */
bool lex_is(struct lexer *lx, const char *w);
/* Drop the current word from p->words (a reserved word, a name). */
void lex_drop_word(struct lexer *lx);
const char *lex_tok_name(const struct lexer *lx);
/* Add node kind: its index, or -1 (said in p->err) when full. */
int node_new(struct lexer *lx, int kind);
int add_redir(struct lexer *lx, const struct sh_redir *rd);
int add_word_ptr(struct lexer *lx, char *w);

/* parse.c / parse_ctl.c */
int parse_list(struct lexer *lx, bool top);
int parse_compound(struct lexer *lx);
int parse_linebreak(struct lexer *lx);

#endif
