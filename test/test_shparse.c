/*
 * Host tests for the shell's pure parts (user/bin/sh/parse.c, expand.c,
 * edit.c): the grammar and its errors, expansion against a fake
 * environment and a fake directory tree, and the line editor fed byte by
 * byte. Hostile lines (too long, binary, unbalanced) must give an error and
 * never a sanitizer report.
 */
#include "check.h"

#include <stdint.h>

#include "rename.h"

#include <common/fmt.h>
#include <common/string.h>
#include <user/bin/sh/parse.h>

static struct sh_prog prog;

static int parse(const char *line)
{
	return sh_parse(line, &prog);
}

static const char *word(int cmd, int i)
{
	return prog.words[prog.cmds[cmd].word0 + i];
}

TEST(parse, simple)
{
	CHECK_EQ(parse("echo hello  world"), 0);
	CHECK_EQ(prog.npipes, 1);
	CHECK_EQ(prog.ncmds, 1);
	CHECK_EQ(prog.cmds[0].nwords, 3);
	CHECK_STREQ(word(0, 0), "echo");
	CHECK_STREQ(word(0, 2), "world");
	CHECK_EQ(prog.pipes[0].next, N_END);
}

TEST(parse, empty_and_comment)
{
	CHECK_EQ(parse(""), 0);
	CHECK_EQ(prog.npipes, 0);
	CHECK_EQ(parse("   # just a comment | ; &&"), 0);
	CHECK_EQ(prog.npipes, 0);
	CHECK_EQ(parse("echo a # b c"), 0);
	CHECK_EQ(prog.cmds[0].nwords, 2);
}

TEST(parse, pipeline_and_lists)
{
	CHECK_EQ(parse("a | b | c && d || e; f & g"), 0);
	CHECK_EQ(prog.npipes, 5);
	CHECK_EQ(prog.pipes[0].ncmds, 3);
	CHECK_EQ(prog.pipes[0].next, N_AND);
	CHECK_EQ(prog.pipes[1].next, N_OR);
	CHECK_EQ(prog.pipes[2].next, N_SEQ);
	CHECK_EQ(prog.pipes[3].next, N_BG);
	CHECK_EQ(prog.pipes[4].next, N_END);
	CHECK_STREQ(word(2, 0), "c");
	CHECK_STREQ(word(5, 0), "f");
}

TEST(parse, trailing_separators)
{
	CHECK_EQ(parse("sleep 1 &"), 0);
	CHECK_EQ(prog.npipes, 1);
	CHECK_EQ(prog.pipes[0].next, N_BG);
	CHECK_EQ(parse("a;"), 0);
	CHECK_EQ(prog.pipes[0].next, N_SEQ);
}

TEST(parse, negate)
{
	CHECK_EQ(parse("! false && echo !"), 0);
	CHECK(prog.pipes[0].negate);
	CHECK(!prog.pipes[1].negate);
	CHECK_STREQ(word(1, 1), "!");
}

TEST(parse, redirections)
{
	CHECK_EQ(parse("cmd <in >out arg 2>>log 2>&1 >&2"), 0);
	CHECK_EQ(prog.cmds[0].nwords, 2);
	CHECK_STREQ(word(0, 1), "arg");
	CHECK_EQ(prog.cmds[0].nredirs, 5);
	struct sh_redir *r = prog.redirs;
	CHECK_EQ(r[0].op, R_IN);
	CHECK_EQ(r[0].fd, 0);
	CHECK_STREQ(prog.words[r[0].word], "in");
	CHECK_EQ(r[1].op, R_OUT);
	CHECK_EQ(r[1].fd, 1);
	CHECK_STREQ(prog.words[r[1].word], "out");
	CHECK_EQ(r[2].op, R_APPEND);
	CHECK_EQ(r[2].fd, 2);
	CHECK_STREQ(prog.words[r[2].word], "log");
	CHECK_EQ(r[3].op, R_DUP);
	CHECK_EQ(r[3].fd, 2);
	CHECK_EQ(r[3].dupfd, 1);
	CHECK_EQ(r[4].op, R_DUP);
	CHECK_EQ(r[4].fd, 1);
	CHECK_EQ(r[4].dupfd, 2);
}

TEST(parse, redirection_only_command)
{
	CHECK_EQ(parse(">file"), 0);
	CHECK_EQ(prog.cmds[0].nwords, 0);
	CHECK_EQ(prog.cmds[0].nredirs, 1);
}

TEST(parse, quotes_kept_for_expansion)
{
	CHECK_EQ(parse("echo 'a b' \"c $d\" e\\ f 'x'\"y\"z"), 0);
	CHECK_EQ(prog.cmds[0].nwords, 5);
	CHECK_STREQ(word(0, 1), "'a b'");
	CHECK_STREQ(word(0, 2), "\"c $d\"");
	CHECK_STREQ(word(0, 3), "e\\ f");
	CHECK_STREQ(word(0, 4), "'x'\"y\"z");
	CHECK_EQ(parse("echo 'a|b;c&&d'"), 0);
	CHECK_EQ(prog.npipes, 1);
	CHECK_EQ(prog.cmds[0].nwords, 2);
}

TEST(parse, errors)
{
	const char *bad[] = { "echo 'open", "echo \"open", "| a", "a |", "a && ", "a || ; b",
			      ";", "a ;; b", "a > ", "a >& x", "(a)", "a & & b", "echo ${x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_MSG(parse(bad[i]) == -1, "'%s' parsed", bad[i]);
		CHECK_MSG(prog.err[0] != '\0', "'%s': no message", bad[i]);
	}
}

TEST(parse, hostile_lines)
{
	static char line[SH_LINE_MAX + 2];
	memset(line, 'x', SH_LINE_MAX + 1);
	line[SH_LINE_MAX + 1] = '\0';
	CHECK_EQ(parse(line), -1); /* one byte over */
	line[SH_LINE_MAX] = '\0';
	CHECK_EQ(parse(line), 0); /* exactly at the bound: one long word */
	/* many tiny words: past SH_WORDS_MAX */
	for (int i = 0; i < SH_LINE_MAX; i++)
		line[i] = i % 2 ? ' ' : 'a';
	line[SH_LINE_MAX] = '\0';
	CHECK_EQ(parse(line), -1);
	/* many commands: past SH_CMDS_MAX */
	for (int i = 0; i < SH_LINE_MAX; i++)
		line[i] = i % 2 ? '|' : 'a';
	line[SH_LINE_MAX - 1] = 'a';
	line[SH_LINE_MAX] = '\0';
	CHECK_EQ(parse(line), -1);
	/* every byte value, in every position: no crash */
	for (int c = 1; c < 256; c++) {
		char l[8] = { 'a', ' ', (char)c, ' ', (char)c, (char)c, 'b', 0 };
		parse(l);
	}
	unsigned seed = 12345;
	for (int round = 0; round < 2000; round++) {
		char l[64];
		int n = (int)(seed % 63);
		for (int i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			l[i] = "ab '\"\\$|&;<>2 #!{}*?"[(seed >> 16) % 21];
		}
		l[n] = '\0';
		if (parse(l) < 0)
			CHECK_MSG(prog.err[0], "no message for '%s'", l);
	}
}

/* ---- expansion ---- */

static const char *fake_var(void *ctx __attribute__((unused)), const char *name, size_t len)
{
	static const char *vars[][2] = { { "HOME", "/home/me" }, { "X", "ex" },
					 { "SPACED", "  one two\tthree " }, { "?", "3" },
					 { "$", "42" }, { "EMPTY", "" }, { "STAR", "*.c" },
					 { "1", "first" } };
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (strlen(vars[i][0]) == len && strncmp(vars[i][0], name, len) == 0)
			return vars[i][1];
	return NULL;
}

static int fake_list(void *ctx __attribute__((unused)), const char *dir, void (*emit)(void *, const char *), void *arg)
{
	static const char *root[] = { ".", "..", "a.c", "b.c", "c.h", ".hidden.c", "sub", NULL };
	static const char *sub[] = { ".", "..", "x.c", "y.txt", NULL };
	const char **list = strcmp(dir, ".") == 0 ? root : strcmp(dir, "sub/") == 0 ? sub : NULL;
	if (!list)
		return -1;
	for (; *list; list++)
		emit(arg, *list);
	return 0;
}

static void *alloc(size_t n)
{
	return malloc(n);
}

static const struct sh_expand_ops ops = { fake_var, fake_list, NULL, alloc, free };

/* Expand w; the fields joined with '|'. */
static const char *expand(const char *w)
{
	static char out[1024];
	struct sh_fields f = { 0 };
	out[0] = '\0';
	if (sh_expand(w, &ops, &f) < 0)
		return "(error)";
	for (int i = 0; i < f.n; i++) {
		if (i)
			strcat(out, "|");
		strcat(out, f.v[i]);
	}
	sh_fields_free(&f, &ops);
	return out;
}

TEST(expand, quotes)
{
	CHECK_STREQ(expand("plain"), "plain");
	CHECK_STREQ(expand("'a b'"), "a b");
	CHECK_STREQ(expand("\"a b\""), "a b");
	CHECK_STREQ(expand("a\\ b"), "a b");
	CHECK_STREQ(expand("'x'\"y\"z"), "xyz");
	CHECK_STREQ(expand("\"a\\\"b\\$c\\d\""), "a\"b$c\\d");
	CHECK_STREQ(expand("''"), "");
	CHECK_STREQ(expand("'$X'"), "$X");
}

TEST(expand, variables)
{
	CHECK_STREQ(expand("$X"), "ex");
	CHECK_STREQ(expand("${X}y"), "exy");
	CHECK_STREQ(expand("$Xy"), ""); /* no variable Xy: no field */
	CHECK_STREQ(expand("a$?b$$"), "a3b42");
	CHECK_STREQ(expand("$1"), "first");
	CHECK_STREQ(expand("$"), "$");
	CHECK_STREQ(expand("a$"), "a$");
	CHECK_STREQ(expand("$NOPE"), "");
	CHECK_STREQ(expand("\"$NOPE\""), "");
	CHECK_STREQ(expand("~/bin"), "/home/me/bin");
	CHECK_STREQ(expand("a~"), "a~");
}

TEST(expand, field_splitting)
{
	CHECK_STREQ(expand("$SPACED"), "one|two|three");
	CHECK_STREQ(expand("\"$SPACED\""), "  one two\tthree ");
	CHECK_STREQ(expand("x${SPACED}y"), "x|one|two|three|y");
	struct sh_fields f = { 0 };
	CHECK_EQ(sh_expand("$EMPTY", &ops, &f), 0);
	CHECK_EQ(f.n, 0);
	CHECK_EQ(sh_expand("\"$EMPTY\"", &ops, &f), 0);
	CHECK_EQ(f.n, 1);
	sh_fields_free(&f, &ops);
}

TEST(expand, globbing)
{
	CHECK_STREQ(expand("*.c"), "a.c|b.c");
	CHECK_STREQ(expand("?.h"), "c.h");
	CHECK_STREQ(expand("[ab].c"), "a.c|b.c");
	CHECK_STREQ(expand("[!a].c"), "b.c");
	CHECK_STREQ(expand(".*.c"), ".hidden.c");
	CHECK_STREQ(expand("*.none"), "*.none");
	CHECK_STREQ(expand("'*.c'"), "*.c");
	CHECK_STREQ(expand("\\*.c"), "*.c");
	CHECK_STREQ(expand("sub/*"), "sub/x.c|sub/y.txt");
	CHECK_STREQ(expand("*/*.c"), "sub/x.c");
	CHECK_STREQ(expand("$STAR"), "a.c|b.c");
	CHECK_STREQ(expand("\"$STAR\""), "*.c");
}

TEST(expand, match)
{
	CHECK(sh_match("*", "abc"));
	CHECK(!sh_match("*", ".abc"));
	CHECK(sh_match("a*c", "abbbc"));
	CHECK(!sh_match("a*c", "abbbd"));
	CHECK(sh_match("a?c", "abc"));
	CHECK(sh_match("[a-c]x", "bx"));
	CHECK(!sh_match("[a-c]x", "dx"));
	CHECK(sh_match("[]]", "]"));
	CHECK(sh_match("[", "["));
	CHECK(sh_match("\\*", "*"));
	CHECK(!sh_match("\\*", "a"));
	CHECK(sh_match("**a**", "xxaxx"));
}

TEST(expand, assignment)
{
	CHECK(sh_is_assignment("A=1"));
	CHECK(sh_is_assignment("_x9="));
	CHECK(!sh_is_assignment("=1"));
	CHECK(!sh_is_assignment("9A=1"));
	CHECK(!sh_is_assignment("a-b=1"));
	CHECK(!sh_is_assignment("echo"));
}

/* ---- the line editor ---- */

static char echoed[8192];
static size_t nechoed;

static void echo_fn(void *ctx __attribute__((unused)), const char *s, size_t n)
{
	if (nechoed + n < sizeof(echoed)) {
		memcpy(echoed + nechoed, s, n);
		nechoed += n;
	}
}

static struct sh_edit ed;

static void ed_start(void)
{
	memset(&ed, 0, sizeof(ed));
	ed.echo = echo_fn;
	ed.alloc = alloc;
	ed.release = free;
	sh_edit_init(&ed);
	nechoed = 0;
}

static int feed(const char *s)
{
	int r = ED_MORE;
	for (; *s; s++)
		r = sh_edit_feed(&ed, (unsigned char)*s);
	return r;
}

TEST(edit, line_and_erase)
{
	ed_start();
	CHECK_EQ(feed("helo"), ED_MORE);
	CHECK_EQ(feed("\x7f"), ED_MORE);
	CHECK_EQ(feed("lo wor\bld\r"), ED_LINE);
	CHECK_STREQ(ed.line, "hello wold");
	sh_edit_init(&ed);
	CHECK_EQ(feed("one two  \x17three\r"), ED_LINE);
	CHECK_STREQ(ed.line, "one three");
	sh_edit_init(&ed);
	CHECK_EQ(feed("junk\x15ok\r"), ED_LINE);
	CHECK_STREQ(ed.line, "ok");
}

TEST(edit, history)
{
	ed_start();
	sh_edit_remember(&ed, "first");
	sh_edit_remember(&ed, "second");
	sh_edit_remember(&ed, "second"); /* a repeat is kept once */
	CHECK_EQ(ed.nhist, 2);
	sh_edit_init(&ed);
	CHECK_EQ(feed("typing\x1b[A"), ED_MORE);
	CHECK_STREQ(ed.line, "second");
	feed("\x1b[A\x1b[A"); /* past the oldest: stays */
	CHECK_STREQ(ed.line, "first");
	feed("\x1bOB");
	CHECK_STREQ(ed.line, "second");
	feed("\x1b[B");
	CHECK_STREQ(ed.line, "typing");
	CHECK_EQ(feed("\x1b[A!\r"), ED_LINE);
	CHECK_STREQ(ed.line, "second!");
	for (int i = 0; i < SH_HISTORY + 10; i++) {
		char l[16];
		snprintf(l, sizeof(l), "cmd%d", i);
		sh_edit_remember(&ed, l);
	}
	CHECK_EQ(ed.nhist, SH_HISTORY);
	for (int i = 0; i < ed.nhist; i++)
		free(ed.hist[i]);
}

TEST(edit, control_keys)
{
	ed_start();
	CHECK_EQ(feed("abc\x03"), ED_INTR);
	CHECK_STREQ(ed.line, "");
	sh_edit_init(&ed);
	CHECK_EQ(feed("\x04"), ED_EOF);
	sh_edit_init(&ed);
	CHECK_EQ(feed("x\x04"), ED_MORE); /* Ctrl-D mid-line: ignored */
	CHECK_EQ(feed("\x01\x02\x1b[5~\x1b[C\xff\r"), ED_LINE);
	CHECK_STREQ(ed.line, "x\xff");
	sh_edit_init(&ed);
	CHECK_EQ(feed("a\xff\x01" "b\x1b[5~ c\r"), ED_LINE);
	CHECK_STREQ(ed.line, "a\xff" "b c");
}

TEST(edit, long_line_bounded)
{
	ed_start();
	for (int i = 0; i < SH_LINE_MAX + 100; i++)
		sh_edit_feed(&ed, 'y');
	CHECK_EQ(ed.len, SH_LINE_MAX);
	CHECK_EQ(feed("\r"), ED_LINE);
	CHECK_EQ(strlen(ed.line), SH_LINE_MAX);
}
