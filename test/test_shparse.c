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

static void *alloc(size_t n)
{
	return malloc(n);
}

static struct sh_prog prog = { .alloc = alloc, .release = free };
static size_t used;

/* Parse text: SH_PARSE_OK / ERR / MORE. */
static int parse(const char *text)
{
	sh_prog_free(&prog);
	return sh_parse(text, &prog, &used);
}

/* The tree as text, to compare whole shapes in one line. */
static char dumped[8192];

static void put(const char *s)
{
	strncat(dumped, s, sizeof(dumped) - strlen(dumped) - 1);
}

static void dump_node(int n);

static void dump_words(const struct sh_node *n, int from, const char *sep)
{
	for (int i = from; i < n->n_nwords; i++) {
		if (i > from)
			put(sep);
		put(prog.words[n->n_word0 + i]);
	}
}

static void dump_redirs(const struct sh_node *n)
{
	static const char *const ops[] = { "<", ">", ">>", ">&", "<<", "<<'" };
	for (int i = 0; i < n->n_nredirs; i++) {
		const struct sh_redir *r = &prog.redirs[n->n_redir0 + i];
		char b[32];
		snprintf(b, sizeof(b), " %d%s", r->fd, ops[r->op]);
		put(b);
		if (r->op == R_DUP) {
			snprintf(b, sizeof(b), "%d", r->dupfd);
			put(b);
		} else {
			put("[");
			put(prog.text + r->word);
			put("]");
		}
	}
}

static void dump_kids(const struct sh_node *n, const char *sep)
{
	for (int k = n->n_kid; k >= 0; k = prog.nodes[k].n_next) {
		if (k != n->n_kid)
			put(sep);
		dump_node(k);
	}
}

static void dump_node(int idx)
{
	const struct sh_node *n = &prog.nodes[idx];
	switch (n->n_kind) {
	case K_LIST:
		for (int k = n->n_kid; k >= 0; k = prog.nodes[k].n_next) {
			if (k != n->n_kid)
				put("; ");
			dump_node(k);
			if (prog.nodes[k].n_bg)
				put(" &");
		}
		return;
	case K_ANDOR:
		for (int k = n->n_kid; k >= 0; k = prog.nodes[k].n_next) {
			if (prog.nodes[k].n_join == J_AND)
				put(" && ");
			else if (prog.nodes[k].n_join == J_OR)
				put(" || ");
			dump_node(k);
		}
		return;
	case K_PIPE:
		if (n->n_negate)
			put("! ");
		dump_kids(n, " | ");
		return;
	case K_CMD: dump_words(n, 0, " "); break;
	case K_SUBSHELL:
	case K_GROUP:
		put(n->n_kind == K_GROUP ? "{" : "(");
		dump_node(n->n_a);
		put(n->n_kind == K_GROUP ? "}" : ")");
		break;
	case K_IF:
		put("if[");
		dump_node(n->n_a);
		put("]then[");
		dump_node(n->n_b);
		put("]");
		if (n->n_c >= 0) {
			put("else[");
			dump_node(n->n_c);
			put("]");
		}
		break;
	case K_WHILE:
	case K_UNTIL:
		put(n->n_kind == K_WHILE ? "while[" : "until[");
		dump_node(n->n_a);
		put("]do[");
		dump_node(n->n_b);
		put("]");
		break;
	case K_FOR:
		put("for[");
		put(prog.words[n->n_word0]);
		if (n->n_in) {
			put(" in");
			for (int i = 1; i < n->n_nwords; i++) {
				put(" ");
				put(prog.words[n->n_word0 + i]);
			}
		}
		put("]do[");
		dump_node(n->n_b);
		put("]");
		break;
	case K_CASE:
		put("case[");
		put(prog.words[n->n_word0]);
		put("]");
		dump_kids(n, "");
		break;
	case K_ITEM:
		put("(");
		dump_words(n, 0, "|");
		put(")[");
		if (n->n_a >= 0)
			dump_node(n->n_a);
		put("]");
		break;
	case K_FUNC:
		put(prog.words[n->n_word0]);
		put("()");
		dump_node(n->n_a);
		break;
	}
	dump_redirs(n);
}

/* Parse text and give its tree, or "ERR: message" / "MORE: message". */
static const char *tree(const char *text)
{
	int r = parse(text);
	dumped[0] = '\0';
	if (r == SH_PARSE_ERR || r == SH_PARSE_MORE) {
		put(r == SH_PARSE_ERR ? "ERR: " : "MORE: ");
		put(prog.err);
		return dumped;
	}
	if (prog.root >= 0)
		dump_node(prog.root);
	return dumped;
}

TEST(parse, simple)
{
	CHECK_STREQ(tree("echo hello  world"), "echo hello world");
	CHECK_EQ(used, strlen("echo hello  world"));
	CHECK_EQ(prog.nodes[prog.root].n_kind, K_LIST);
}

TEST(parse, empty_and_comment)
{
	CHECK_STREQ(tree(""), "");
	CHECK_EQ(prog.root, -1);
	CHECK_STREQ(tree("   # just a comment | ; &&"), "");
	CHECK_EQ(prog.root, -1);
	CHECK_STREQ(tree("echo a # b c"), "echo a");
	CHECK_STREQ(tree("\n\n  \n"), "");
}

TEST(parse, pipeline_and_lists)
{
	CHECK_STREQ(tree("a | b | c && d || e; f & g"), "a | b | c && d || e; f &; g");
	CHECK_STREQ(tree("sleep 1 &"), "sleep 1 &");
	CHECK_STREQ(tree("a;"), "a");
	CHECK_STREQ(tree("a &&\n\n b |\n c"), "a && b | c");
}

TEST(parse, one_complete_command_at_a_time)
{
	const char *text = "echo one\necho two; echo three\n";
	CHECK_STREQ(tree(text), "echo one");
	CHECK_EQ(used, strlen("echo one\n"));
	CHECK_STREQ(tree(text + used), "echo two; echo three");
	CHECK_STREQ(tree("if a\nthen b\nfi\nnext"), "if[a]then[b]");
	CHECK_STREQ(tree("if a\nthen b\nfi\nnext" + used), "next");
}

TEST(parse, negate)
{
	CHECK_STREQ(tree("! false && echo !"), "! false && echo !");
	CHECK(prog.nodes[prog.nodes[prog.nodes[prog.root].n_kid].n_kid].n_negate);
}

TEST(parse, redirections)
{
	CHECK_STREQ(tree("cmd <in >out arg 2>>log 2>&1 >&2"),
		    "cmd arg 0<[in] 1>[out] 2>>[log] 2>&1 1>&2");
	CHECK_STREQ(tree(">file"), " 1>[file]");
	CHECK_STREQ(tree("a >| b"), "a 1>[b]");
}

TEST(parse, quotes_kept_for_expansion)
{
	CHECK_STREQ(tree("echo 'a b' \"c $d\" e\\ f 'x'\"y\"z"),
		    "echo 'a b' \"c $d\" e\\ f 'x'\"y\"z");
	CHECK_STREQ(tree("echo 'a|b;c&&d'"), "echo 'a|b;c&&d'");
	CHECK_STREQ(tree("echo $(a | b; c) \"$(d \\\")\" `e; f` $((1 + (2*3)))"),
		    "echo $(a | b; c) \"$(d \\\")\" `e; f` $((1 + (2*3)))");
	CHECK_STREQ(tree("echo \"$(d \")\""), "MORE: unterminated $("); /* ")" is quoted in $( ) */
	CHECK_STREQ(tree("echo a\\\nb"), "echo ab"); /* a line continued */
}

TEST(parse, compound_commands)
{
	CHECK_STREQ(tree("(a; b) | c"), "(a; b) | c");
	CHECK_STREQ(tree("{ a; b; } > f"), "{a; b} 1>[f]");
	CHECK_STREQ(tree("if a; then b; elif c; then d; else e; fi"),
		    "if[a]then[b]else[if[c]then[d]else[e]]");
	CHECK_STREQ(tree("if a\nthen\n  b\n  c\nfi"), "if[a]then[b; c]");
	CHECK_STREQ(tree("while a; do b; done < in"), "while[a]do[b] 0<[in]");
	CHECK_STREQ(tree("until a\ndo b\ndone"), "until[a]do[b]");
	CHECK_STREQ(tree("for i in 1 \"2 3\" *; do echo $i; done"),
		    "for[i in 1 \"2 3\" *]do[echo $i]");
	CHECK_STREQ(tree("for i\ndo echo $i; done"), "for[i]do[echo $i]");
	CHECK_STREQ(tree("for i; do :; done"), "for[i]do[:]");
	CHECK_STREQ(tree("case $x in a|b) echo ab;; (c*) ;; *) d; e\nesac"),
		    "case[$x](a|b)[echo ab](c*)[](*)[d; e]");
	CHECK_STREQ(tree("case x in\nesac"), "case[x]");
	CHECK_STREQ(tree("f() { echo $1; }"), "f(){echo $1}");
	CHECK_STREQ(tree("f ()\n(a)"), "f()(a)");
	/* reserved words only where a command starts */
	CHECK_STREQ(tree("echo if then fi done }"), "echo if then fi done }");
	CHECK_STREQ(tree("if echo fi; then echo done; fi"), "if[echo fi]then[echo done]");
}

TEST(parse, here_documents)
{
	CHECK_STREQ(tree("cat <<EOF\nhello $x\n  two\nEOF\necho after"),
		    "cat 0<<[hello $x\n  two\n]");
	CHECK_STREQ(tree("cat <<'E F'\n$x\nE F\n"), "cat 0<<'[$x\n]");
	CHECK_STREQ(tree("cat <<\\EOF\n$x\nEOF\n"), "cat 0<<'[$x\n]");
	CHECK_STREQ(tree("cat <<-EOF\n\t\tin\n\tEOF\n"), "cat 0<<[in\n]");
	CHECK_STREQ(tree("a <<A; b <<B\n1\nA\n2\nB\n"), "a 0<<[1\n]; b 0<<[2\n]");
	CHECK_STREQ(tree("if true; then cat <<E; fi\nbody\nE\n"), "if[true]then[cat 0<<[body\n]]");
	CHECK_STREQ(tree("cat <<EOF\nno end\n"),
		    "MORE: unterminated here-document (expected 'EOF')");
}

TEST(parse, errors)
{
	static const char *const bad[][2] = {
		{ "| a", "ERR: syntax error near '|'" },
		{ "a || ; b", "ERR: syntax error near ';'" },
		{ ";", "ERR: syntax error near ';'" },
		{ "a ;; b", "ERR: syntax error near ';;'" },
		{ "a > ", "ERR: syntax error: redirection without a file name" },
		{ "a >& x", "ERR: syntax error: >& needs one digit" },
		{ "a & & b", "ERR: syntax error near '&'" },
		{ "fi", "ERR: syntax error near 'fi'" },
		{ "if a; fi", "ERR: syntax error near 'fi' (expected 'then')" },
		{ "if then b; fi", "ERR: syntax error near 'then'" },
		{ "while a; done", "ERR: syntax error near 'done' (expected 'do')" },
		{ "{ }", "ERR: syntax error near '}'" },
		{ "( )", "ERR: syntax error near ')'" },
		{ "a )", "ERR: syntax error near ')'" },
		{ "for 1x in a; do b; done", "ERR: syntax error: '1x' is not a valid name" },
		{ "1f() { a; }", "ERR: syntax error: '1f' is not a valid function name" },
		{ "f() a", "ERR: syntax error near 'a'" },
		{ "case a in b) c;; d e) f;; esac", "ERR: syntax error near 'e' (expected ')')" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_STREQ(tree(bad[i][0]), bad[i][1]);
}

TEST(parse, open_constructs_want_more)
{
	static const char *const open[][2] = {
		{ "echo 'open", "MORE: unterminated single quote" },
		{ "echo \"open", "MORE: unterminated double quote" },
		{ "echo $(a", "MORE: unterminated $(" },
		{ "echo `a", "MORE: unterminated backquote" },
		{ "echo ${x", "MORE: unterminated ${" },
		{ "a |", "MORE: syntax error near 'end of line'" },
		{ "a && ", "MORE: syntax error: line ends after '&&'" },
		{ "if a\n", "MORE: syntax error: 'if' is not closed (expected 'then')" },
		{ "if a; then\nb\n", "MORE: syntax error: 'if' is not closed (expected 'fi')" },
		{ "if a; then b; else\n", "MORE: syntax error near 'end of line'" },
		{ "while a; do\n", "MORE: syntax error near 'end of line'" },
		{ "for i in a b\n", "MORE: syntax error: 'for' is not closed (expected 'do')" },
		{ "case a in\nb) c;;\n",
		  "MORE: syntax error: 'case' is not closed (expected 'esac')" },
		{ "{ a\n", "MORE: syntax error: '{' is not closed (expected '}')" },
		{ "(a\n", "MORE: syntax error: '(' is not closed (expected ')')" },
		{ "f()\n", "MORE: syntax error: function 'f' has no body" },
		{ "echo a\\\n", "MORE: line continued at the end" },
	};
	for (size_t i = 0; i < sizeof(open) / sizeof(open[0]); i++)
		CHECK_STREQ(tree(open[i][0]), open[i][1]);
	/* and the same text, completed, parses */
	CHECK_STREQ(tree("if a\nthen b\nfi"), "if[a]then[b]");
}

TEST(parse, deep_nesting_is_an_error)
{
	static char text[32 * 1024];
	/* 1,000 nested ifs and parentheses: an error, not a deep recursion */
	text[0] = '\0';
	for (int i = 0; i < 1000; i++)
		strcat(text, "if a; then ");
	strcat(text, "b");
	for (int i = 0; i < 1000; i++)
		strcat(text, "; fi");
	CHECK_STREQ(tree(text), "ERR: too deeply nested (at most 64 levels)");
	memset(text, '(', 1000);
	text[1000] = '\0';
	CHECK_STREQ(tree(text), "ERR: too deeply nested (at most 64 levels)");
	/* just under the bound parses */
	text[0] = '\0';
	for (int i = 0; i < SH_NEST_MAX; i++)
		strcat(text, "{ ");
	strcat(text, "b");
	for (int i = 0; i < SH_NEST_MAX; i++)
		strcat(text, "; }");
	CHECK_EQ(parse(text), SH_PARSE_OK);
}

TEST(parse, hostile_text)
{
	static char text[SH_TEXT_MAX + 2];
	memset(text, 'x', SH_TEXT_MAX + 1);
	text[SH_TEXT_MAX + 1] = '\0';
	CHECK_STREQ(tree(text), "ERR: command too long (at most 262144 bytes)");
	/* many tiny words: past SH_WORDS_MAX */
	for (int i = 0; i < 2 * SH_WORDS_MAX + 8; i++)
		text[i] = i % 2 ? ' ' : 'a';
	text[2 * SH_WORDS_MAX + 8] = '\0';
	CHECK_STREQ(tree(text), "ERR: too many words (at most 16384)");
	/* a huge here-document: bounded */
	size_t n = (size_t)snprintf(text, 32, "cat <<E\n");
	memset(text + n, 'y', SH_HEREDOC_MAX + 10);
	strcpy(text + n + SH_HEREDOC_MAX + 10, "\nE\n");
	CHECK_STREQ(tree(text), "ERR: here-document too long (at most 65536 bytes)");
	/* every byte value, in every position: no crash */
	for (int c = 1; c < 256; c++) {
		char l[8] = { 'a', ' ', (char)c, ' ', (char)c, (char)c, 'b', 0 };
		parse(l);
	}
}

TEST(parse, random_text)
{
	static const char *const atoms[] = {
		"a",     "b ",    " ",     "'",     "\"",  "\\",     "$",   "|",     "&",    ";",
		"<",     ">",     "2",     "#",     "!",   "{",      "}",   "*",     "(",    ")",
		"\n",    "if ",   "then ", "else ", "fi ", "while ", "do ", "done ", "for ", "in ",
		"case ", "esac ", ";;",    "<<E",   "E\n", "$(",     "`",   "$((",   "<<-",
	};
	unsigned seed = 12345;
	for (int round = 0; round < 20000; round++) {
		char l[256];
		l[0] = '\0';
		seed = seed * 1103515245 + 12345;
		int n = (int)((seed >> 16) % 40);
		for (int i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			strcat(l, atoms[(seed >> 16) % (sizeof(atoms) / sizeof(atoms[0]))]);
		}
		int r = parse(l);
		if (r != SH_PARSE_OK)
			CHECK_MSG(prog.err[0], "no message for '%s'", l);
		else
			CHECK_MSG(used <= strlen(l), "'%s': used %zu", l, used);
	}
}

/* ---- expansion ---- */

static const char *fake_var(void *ctx __attribute__((unused)), const char *name, size_t len)
{
	static const char *vars[][2] = { { "HOME", "/home/me" },
					 { "X", "ex" },
					 { "SPACED", "  one two\tthree " },
					 { "?", "3" },
					 { "$", "42" },
					 { "EMPTY", "" },
					 { "STAR", "*.c" },
					 { "1", "first" },
					 { "2", "sec ond" },
					 { "#", "2" },
					 { "N", "7" },
					 { "BAD", "12x" },
					 { "@", "first sec ond" },
					 { "*", "first sec ond" } };
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (strlen(vars[i][0]) == len && strncmp(vars[i][0], name, len) == 0)
			return vars[i][1];
	return NULL;
}

static int fake_list(void *ctx __attribute__((unused)), const char *dir,
		     void (*emit)(void *, const char *), void *arg)
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

/* Command substitution, faked: the command's text, upper-cased, with
 * two trailing newlines (which must go). */
static char *fake_subst(void *ctx __attribute__((unused)), const char *text, size_t len)
{
	char *o = malloc(len + 3);
	for (size_t i = 0; i < len; i++)
		o[i] = (char)(text[i] >= 'a' && text[i] <= 'z' ? text[i] - 32 : text[i]);
	memcpy(o + len, "\n\n", 3);
	return o;
}

static char last_error[256];

static void fake_error(void *ctx __attribute__((unused)), const char *msg)
{
	snprintf(last_error, sizeof(last_error), "%s", msg);
}

static long assigned;

static int fake_set(void *ctx __attribute__((unused)), const char *name, size_t len, long v)
{
	if (len != 1 || name[0] != 'N')
		return -1;
	assigned = v;
	return 0;
}

static const struct sh_expand_ops ops = { .var = fake_var,
					  .list_dir = fake_list,
					  .subst = fake_subst,
					  .set = fake_set,
					  .error = fake_error,
					  .alloc = alloc,
					  .release = free };

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

TEST(expand, arithmetic)
{
	CHECK_STREQ(expand("$((1 + 2 * 3))"), "7");
	CHECK_STREQ(expand("$(( (1 + 2) * 3 ))"), "9");
	CHECK_STREQ(expand("$((7 / 2)),$((7 % 3)),$((-7 / 2))"), "3,1,-3");
	CHECK_STREQ(expand("$((1 < 2)):$((2 <= 1)):$((3 == 3)):$((3 != 3)):$((!0)):$((~0))"),
		    "1:0:1:0:1:-1");
	CHECK_STREQ(expand("$((N * 2)):$(($N + 1)):$((UNSET + 1))"), "14:8:1");
	CHECK_STREQ(expand("$((0x10 + 010)):$((1 << 4)):$((5 & 3 | 8 ^ 1))"), "24:16:9");
	CHECK_STREQ(expand("$((1 && 0 || 2)):$((0 ? 4 : 5))"), "1:5");
	CHECK_STREQ(expand("\"$((2+2))\""), "4");
	CHECK_STREQ(expand("$((N = 3 + 4))"), "7");
	CHECK_EQ(assigned, 7);
	CHECK_STREQ(expand("$((N += 1))"), "8");
	CHECK_EQ(assigned, 8);
	CHECK_STREQ(expand("$((9223372036854775807 + 1))"), "-9223372036854775808");
	/* errors: said, never a trap */
	static const char *const bad[][2] = {
		{ "$((1/0))", "$((1/0)): division by zero" },
		{ "$((5 % 0))", "$((5 % 0)): division by zero" },
		{ "$((1 +))", "$((1 +)): missing operand" },
		{ "$((1 2))", "$((1 2)): syntax error" },
		{ "$((2 ** 3))", "$((2 ** 3)): syntax error" },
		{ "$((BAD))", "$((BAD)): 'BAD' is not a number" },
		{ "$((09))", "$((09)): bad number" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		last_error[0] = '\0';
		CHECK_STREQ(expand(bad[i][0]), "(error)");
		CHECK_STREQ(last_error, bad[i][1]);
	}
	CHECK_STREQ(expand("$((1 || 1/0)):$((0 && 1/0))"), "1:0"); /* not taken: no error */
	static char deep[4096];
	memset(deep, '(', 1000);
	deep[1000] = '\0';
	long v;
	char err[64];
	struct sh_arith_ops aops = { 0 };
	CHECK_EQ(sh_arith(deep, strlen(deep), &aops, &v, err, sizeof(err)), -1);
	CHECK_STREQ(err, "expression too deeply nested");
	CHECK_EQ(sh_arith("(1 + 2", 6, &aops, &v, err, sizeof(err)), -1);
	CHECK_STREQ(err, "missing ')'");
	memset(deep, '-', 2000);
	deep[2000] = '1';
	CHECK_EQ(sh_arith(deep, 2001, &aops, &v, err, sizeof(err)), -1);
}

TEST(expand, parameter_forms)
{
	CHECK_STREQ(expand("${X}y:${#X}:${#UNSET}"), "exy:2:0");
	CHECK_STREQ(expand("${UNSET-def}:${EMPTY-def}:${EMPTY:-def}:${X:-def}"), "def::def:ex");
	CHECK_STREQ(expand("${X+alt}:${UNSET+alt}:${EMPTY:+alt}"), "alt::");
	CHECK_STREQ(expand("${UNSET:-$X $X}"), "ex ex");
	CHECK_STREQ(expand("${X?}"), "ex");
	last_error[0] = '\0';
	CHECK_STREQ(expand("${UNSET?not here}"), "(error)");
	CHECK_STREQ(last_error, "UNSET: not here");
	CHECK_STREQ(expand("${X%y}"), "(error)");
	/* "$@": a field per parameter */
	CHECK_STREQ(expand("\"$@\""), "first|sec ond");
	CHECK_STREQ(expand("<\"$@\">"), "<first|sec ond>");
	CHECK_STREQ(expand("$@"), "first|sec|ond");
	CHECK_STREQ(expand("\"$*\""), "first sec ond");
}

TEST(expand, command_substitution)
{
	CHECK_STREQ(expand("$(echo hi)"), "ECHO|HI");
	CHECK_STREQ(expand("\"$(echo hi)\""), "ECHO HI");
	CHECK_STREQ(expand("a`b\\`c`d"), "aB`Cd");
	CHECK_STREQ(expand("x$(a (b) c)y"), "xA|(B)|Cy");
	CHECK_STREQ(expand("\"$(a \")\" b)\""), "A \")\" B");
}

TEST(expand, here_document_and_one_string)
{
	char *t = sh_expand_heredoc("a \"$X\" '$1' \\$X $((1+1)) `x`\n", &ops);
	CHECK_STREQ(t, "a \"ex\" 'first' $X 2 X\n");
	free(t);
	t = sh_expand_one("$SPACED*'*'", &ops, false);
	CHECK_STREQ(t, "  one two\tthree **");
	free(t);
	t = sh_expand_one("a*'*'", &ops, true);
	CHECK_STREQ(t, "a*\\*");
	CHECK(sh_match_case(t, "ab*"));
	CHECK(!sh_match_case(t, "abc"));
	free(t);
	CHECK(sh_match_case("*", ".hidden"));
	CHECK(!sh_match("*", ".hidden"));
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
	CHECK_EQ(feed("a\xff\x01"
		      "b\x1b[5~ c\r"),
		 ED_LINE);
	CHECK_STREQ(ed.line, "a\xff"
			     "b c");
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
