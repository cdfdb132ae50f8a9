/*
 * The shell's pure parts (lex.c, parse.c, parse_ctl.c, expand.c, glob.c,
 * arith.c, edit.c): the command grammar, word expansion, arithmetic and the line
 * editor. They touch nothing but the memory they are given and the
 * callbacks below, so host tests drive them (test/test_shparse.c) and the
 * guest shell (main.c, run.c, exec.c) links the same code.
 *
 * Grammar (POSIX sh's, without aliases):
 *   complete := list, ended by a newline at the outermost level (here-
 *               document bodies follow that newline) or by the end
 *   list     := andor { (';' | '&' | newline) andor } [';' | '&']
 *   andor    := pipeline { ('&&' | '||') linebreak pipeline }
 *   pipeline := ['!'] command { '|' linebreak command }
 *   command  := simple | compound {redir} | NAME '(' ')' linebreak compound
 *   simple   := { word | redir }          (at least one of either)
 *   compound := '(' list ')' | '{' list '}' | if | while | until | for | case
 *   redir    := [digit] ('<' | '>' | '>>' | '<<' | '<<-') word
 *             | [digit] ('>&' | '<&') digit
 * Reserved words (if then elif else fi while until for in do done case esac
 * { } !) count only where a command may start. Words keep their quotes;
 * expansion ($VAR, ${VAR}, $?, $#, $(cmd), `cmd`, $((expr)), ~, quote
 * removal, field splitting, globbing) happens when the command runs, since
 * $? changes between the commands of one line.
 *
 * The tree: nodes in p->nodes, linked by index (-1: none). Children of a
 * list, an and-or list, a pipeline and a case are chained through n_next
 * from n_kid.
 *
 * Hostile stance: every count is bounded (SH_*_MAX), nesting too
 * (SH_NEST_MAX: the parser recurses); the first problem ends the parse with
 * a message in p->err, never a fault. Text that ends inside a construct
 * gives SH_PARSE_MORE, with p->err naming what is open, so an interactive
 * shell can ask for the next line.
 */
#ifndef EXO_SH_PARSE_H
#define EXO_SH_PARSE_H

#include <inc/types.h>

#define SH_LINE_MAX 4096      /* bytes of one typed line */
#define SH_TEXT_MAX (256 << 10) /* bytes of one complete command (a script's) */
#define SH_NODES_MAX 16384    /* tree nodes of one complete command */
#define SH_WORDS_MAX 16384    /* words, redirection targets, here-documents */
#define SH_REDIRS_MAX 4096    /* redirections of one complete command */
#define SH_NEST_MAX 64        /* nested compound commands: the parser recurses */
#define SH_HEREDOC_MAX (64 << 10) /* bytes of one here-document */
#define SH_FIELDS_MAX 4096    /* fields one word may expand to (globbing) */

enum sh_redir_op { R_IN, R_OUT, R_APPEND, R_DUP, R_HEREDOC, R_HEREDOC_RAW };

/* what joins an and-or list's member to the one before it */
enum sh_join { J_FIRST, J_AND, J_OR };

enum sh_kind {
	K_LIST,     /* kid..: and-or lists; n_bg on one: it runs in the background */
	K_ANDOR,    /* kid..: pipelines, each with n_join */
	K_PIPE,     /* kid..: commands; n_negate */
	K_CMD,      /* words and redirections */
	K_SUBSHELL, /* a: list, run in a copy of the shell */
	K_GROUP,    /* a: list */
	K_IF,       /* a: condition, b: then-list, c: else part (list or K_IF), or -1 */
	K_WHILE,    /* a: condition, b: body */
	K_UNTIL,    /* a: condition, b: body */
	K_FOR,      /* words: the name, then the list (n_in: an "in" was given); b: body */
	K_CASE,     /* word0: the subject; kid..: K_ITEMs */
	K_ITEM,     /* words: the patterns; a: its list, or -1 */
	K_FUNC,     /* word0: the name; a: the body (a compound command) */
};

struct sh_redir {
	int fd;     /* the descriptor redirected */
	int op;     /* enum sh_redir_op */
	int dupfd;  /* R_DUP: the descriptor copied */
	int word;   /* otherwise: the file name or here-document body, at p->text + word */
};

struct sh_node {
	uint8_t n_kind;  /* enum sh_kind */
	uint8_t n_join;  /* enum sh_join, in an and-or list */
	bool n_bg, n_negate, n_in;
	int n_kid, n_next;
	int n_a, n_b, n_c;
	int n_word0, n_nwords;
	int n_redir0, n_nredirs; /* a command's, or a compound command's */
	int n_start, n_end;      /* its text in p->src */
};

struct sh_prog {
	int root; /* the K_LIST, or -1 if there was no command */
	int nnodes, nwords, nredirs;
	int cap_nodes, cap_words, cap_redirs;
	struct sh_node *nodes;
	struct sh_redir *redirs;
	char **words;
	char *text;   /* the words, NUL-separated */
	size_t textlen, textcap;
	char *src;    /* the complete command's text, NUL-ended */
	int refs;     /* functions defined by it hold it too (run.c) */
	char err[128];
	void *(*alloc)(size_t n);
	void (*release)(void *p);
};

enum { SH_PARSE_OK = 0, SH_PARSE_ERR = -1, SH_PARSE_MORE = -2 };

/* Parse the first complete command of text into *p (p->alloc and
 * p->release set, nothing else): SH_PARSE_OK with *used the bytes it took,
 * SH_PARSE_ERR, or SH_PARSE_MORE if text ends inside a construct; p->err
 * says why for both. Only blanks, comments and newlines: OK with root -1.
 * Call sh_prog_free after, whatever the result. */
int sh_parse(const char *text, struct sh_prog *p, size_t *used);
/* The same with text's length known (text is NUL-ended at or after len;
 * len past SH_TEXT_MAX counts as SH_TEXT_MAX): a script's next command
 * costs no scan of the rest. */
int sh_parse_n(const char *text, size_t len, struct sh_prog *p, size_t *used);
void sh_prog_free(struct sh_prog *p);

/* ---- arithmetic (arith.c) ---- */

/* Evaluate expr (integers: + - * / % << >> < <= > >= == != & ^ | && || !
 * ~ unary - +, parentheses, variables by name or $name; = and op= assign
 * through set). 0 with *out, or -1 with err set (division by zero, a
 * syntax error, nesting past SH_NEST_MAX). */
struct sh_arith_ops {
	const char *(*get)(void *ctx, const char *name, size_t len);
	int (*set)(void *ctx, const char *name, size_t len, long value);
	void *ctx;
};
int sh_arith(const char *expr, size_t len, const struct sh_arith_ops *ops, long *out, char *err,
	     size_t errsize);

/* ---- expansion (expand.c) ---- */

struct sh_fields {
	int n, cap;
	char **v;
};

struct sh_expand_ops {
	/* The value of variable name[len] (also "?", "$", "#", "0".."9"), or NULL. */
	const char *(*var)(void *ctx, const char *name, size_t len);
	/* Call emit(arg, name) for every entry of directory dir ("." and ".."
	 * too); < 0 if it cannot be read. NULL: no globbing. */
	int (*list_dir)(void *ctx, const char *dir, void (*emit)(void *arg, const char *name),
			void *arg);
	/* Run text (len bytes) as commands and give their output, trailing
	 * newlines and all, in memory from alloc; NULL if they could not run.
	 * NULL: command substitution expands to nothing. */
	char *(*subst)(void *ctx, const char *text, size_t len);
	/* Set variable name[len] (for $((x = 1))); < 0 if it cannot be. */
	int (*set)(void *ctx, const char *name, size_t len, long value);
	/* An expansion failed: why (as "$((1/0)): division by zero"). */
	void (*error)(void *ctx, const char *msg);
	void *ctx;
	void *(*alloc)(size_t n);
	void (*release)(void *p);
};

/* Expand word, appending its fields to *out. 0, or -1 if out of memory,
 * past SH_FIELDS_MAX, or an expansion failed (said through ops->error). */
int sh_expand(const char *word, const struct sh_expand_ops *ops, struct sh_fields *out);
/* Expand a here-document's body ($, `, \ as inside double quotes; no
 * splitting or globbing) into memory from ops->alloc; NULL on failure. */
char *sh_expand_heredoc(const char *body, const struct sh_expand_ops *ops);
/* Expand word to one string (no splitting or globbing, as a case subject
 * or an assignment's value); NULL on failure. pattern: keep quoted glob
 * characters escaped with a backslash, for sh_match. */
char *sh_expand_one(const char *word, const struct sh_expand_ops *ops, bool pattern);
void sh_fields_free(struct sh_fields *f, const struct sh_expand_ops *ops);
/* Does pattern match s (* ? [set] [!set], backslash quotes)? A leading '.'
 * in s must be matched by a '.' in the pattern. */
bool sh_match(const char *pattern, const char *s);
/* The same, as case does it: a leading '.' is like any other character. */
bool sh_match_case(const char *pattern, const char *s);
/* Is word an assignment NAME=value (before quote removal)? */
bool sh_is_assignment(const char *word);
/* Is name[len] a valid variable name? */
bool sh_valid_name(const char *name, size_t len);

/* ---- the line editor (edit.c) ---- */

#define SH_HISTORY 64 /* lines remembered */

enum sh_edit_result {
	ED_MORE,  /* keep feeding bytes */
	ED_LINE,  /* ed->line holds a complete line */
	ED_EOF,   /* Ctrl-D on an empty line */
	ED_INTR,  /* Ctrl-C: the line was dropped */
};

struct sh_edit {
	char line[SH_LINE_MAX + 1];
	int len;
	int esc;             /* state of an escape sequence being read */
	char *hist[SH_HISTORY];
	int nhist, hpos;     /* lines stored; where up/down has got to */
	char saved[SH_LINE_MAX + 1]; /* the line being typed before up */
	void (*echo)(void *ctx, const char *s, size_t n);
	void *ctx;
	void *(*alloc)(size_t n);
	void (*release)(void *p);
};

void sh_edit_init(struct sh_edit *ed);
/* Feed one input byte; echoes through ed->echo. */
int sh_edit_feed(struct sh_edit *ed, unsigned char c);
/* Remember line (not empty, not a repeat of the last). */
void sh_edit_remember(struct sh_edit *ed, const char *line);

#endif
