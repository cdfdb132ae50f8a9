/*
 * The shell's pure parts (parse.c, expand.c, edit.c): the command-line
 * grammar, word expansion and the line editor. They touch nothing but the
 * memory they are given and the callbacks below, so host tests drive them
 * (test/test_shparse.c) and the guest shell (main.c, run.c) links the same
 * code.
 *
 * Grammar (a subset of POSIX sh):
 *   line     := andor { (';' | '&') andor } [';' | '&']
 *   andor    := pipeline { ('&&' | '||') pipeline }
 *   pipeline := ['!'] command { '|' command }
 *   command  := { word | redir }          (at least one of either)
 *   redir    := [digit] ('<' | '>' | '>>') word  |  [digit] ('>&' | '<&') digit
 * Words keep their quotes; expansion ($VAR, ${VAR}, $?, $$, $#, $0-$9,
 * ~, quote removal, field splitting, * ? [..] globbing) happens when the
 * command runs, since $? changes between the commands of one line.
 *
 * Hostile stance: every count is bounded (SH_*_MAX); a line past a bound,
 * an unbalanced quote or a misplaced operator is a syntax error with a
 * message, never a fault.
 */
#ifndef EXO_SH_PARSE_H
#define EXO_SH_PARSE_H

#include <inc/types.h>

#define SH_LINE_MAX 4096   /* bytes of one command line */
#define SH_WORDS_MAX 512   /* words and redirection targets in one line */
#define SH_CMDS_MAX 64     /* simple commands in one line */
#define SH_REDIRS_MAX 64   /* redirections in one line */
#define SH_FIELDS_MAX 4096 /* fields one word may expand to (globbing) */

enum sh_redir_op { R_IN, R_OUT, R_APPEND, R_DUP };
enum sh_next { N_END, N_SEQ, N_BG, N_AND, N_OR };

struct sh_redir {
	int fd;     /* the descriptor redirected */
	int op;     /* enum sh_redir_op */
	int dupfd;  /* R_DUP: the descriptor copied */
	int word;   /* R_IN, R_OUT, R_APPEND: index of the file name */
};

struct sh_cmd {
	int word0, nwords;
	int redir0, nredirs;
};

struct sh_pipeline {
	int cmd0, ncmds;
	bool negate;
	int next; /* enum sh_next: what follows it */
	int start, end; /* its text in the line, for job listings */
};

struct sh_prog {
	int npipes, ncmds, nredirs, nwords;
	struct sh_pipeline pipes[SH_CMDS_MAX];
	struct sh_cmd cmds[SH_CMDS_MAX];
	struct sh_redir redirs[SH_REDIRS_MAX];
	char *words[SH_WORDS_MAX];
	char text[SH_LINE_MAX * 2]; /* the words, NUL-separated */
	char err[96];
};

/* Parse line (at most SH_LINE_MAX bytes, NUL-ended) into *p: 0, or -1 with
 * p->err set. An empty line or one of only a comment gives npipes 0. */
int sh_parse(const char *line, struct sh_prog *p);

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
	void *ctx;
	void *(*alloc)(size_t n);
	void (*release)(void *p);
};

/* Expand word, appending its fields to *out. 0, or -1 if out of memory or
 * past SH_FIELDS_MAX. */
int sh_expand(const char *word, const struct sh_expand_ops *ops, struct sh_fields *out);
void sh_fields_free(struct sh_fields *f, const struct sh_expand_ops *ops);
/* Does pattern match s (* ? [set] [!set], backslash quotes)? A leading '.'
 * in s must be matched by a '.' in the pattern. */
bool sh_match(const char *pattern, const char *s);
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
