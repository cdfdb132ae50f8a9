/*
 * Host tests for grep's basic regular expressions (lib/posix/regex.c):
 * what matches, what is refused with a message, and that hostile patterns
 * and subjects end within the step budget without a sanitizer report.
 */
#include "check.h"

#include <stdint.h>

#include "rename.h"

#include <common/string.h>
#include <lib/posix/regex.h>

static struct regex re;

static bool m(const char *pat, const char *s)
{
	char err[80];
	if (re_compile(&re, pat, false, err, sizeof(err)) < 0)
		return false;
	return re_search(&re, s, strlen(s));
}

static bool mi(const char *pat, const char *s)
{
	char err[80];
	if (re_compile(&re, pat, true, err, sizeof(err)) < 0)
		return false;
	return re_search(&re, s, strlen(s));
}

TEST(regex, literals_and_anchors)
{
	CHECK(m("abc", "xxabcxx"));
	CHECK(!m("abd", "xxabcxx"));
	CHECK(m("^abc", "abcde"));
	CHECK(!m("^abc", "xabc"));
	CHECK(m("cde$", "abcde"));
	CHECK(!m("cd$", "abcde"));
	CHECK(m("^$", ""));
	CHECK(!m("^$", "a"));
	CHECK(m("", "anything"));
	CHECK(m("a^b", "a^b")); /* ^ not first: literal */
	CHECK(m("a$b", "a$b"));
}

TEST(regex, dot_star_sets)
{
	CHECK(m("a.c", "abc"));
	CHECK(!m("a.c", "ac"));
	CHECK(m("ab*c", "ac"));
	CHECK(m("ab*c", "abbbbc"));
	CHECK(m("^a.*z$", "abcz"));
	CHECK(m("[0-9][0-9]*", "x42"));
	CHECK(!m("^[0-9]*$", "4a2"));
	CHECK(m("[^a-z]", "abc1"));
	CHECK(!m("[^a-z]", "abc"));
	CHECK(m("[]x]", "]"));
	CHECK(m("[[:digit:]]", "a5"));
	CHECK(!m("[[:digit:]]", "ab"));
	CHECK(m("[[:space:]]x", "a x"));
	CHECK(m("*a", "*a")); /* a leading * is literal */
	CHECK(m("a\\.b", "a.b"));
	CHECK(!m("a\\.b", "axb"));
}

TEST(regex, intervals_and_gnu)
{
	CHECK(m("^a\\{2\\}$", "aa"));
	CHECK(!m("^a\\{2\\}$", "aaa"));
	CHECK(m("^a\\{2,\\}$", "aaaa"));
	CHECK(m("^a\\{1,2\\}b", "aab"));
	CHECK(!m("^a\\{1,2\\}b", "aaab"));
	CHECK(m("ab\\+c", "abbc"));
	CHECK(!m("ab\\+c", "ac"));
	CHECK(m("ab\\?c", "ac"));
	CHECK(!m("^ab\\?c$", "abbc"));
}

TEST(regex, ignore_case)
{
	CHECK(mi("hello", "Say HELLO"));
	CHECK(mi("[a-c]x", "BX"));
	CHECK(!m("hello", "HELLO"));
}

TEST(regex, refused)
{
	const char *bad[] = { "[abc", "a\\", "\\(a\\)", "a\\1", "a\\{2", "a\\{3,1\\}", "a**",
			      "[[:nope:]]", "\\{1\\}", "a\\{999\\}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[80] = "";
		CHECK_MSG(re_compile(&re, bad[i], false, err, sizeof(err)) < 0, "'%s' compiled", bad[i]);
		CHECK_MSG(err[0], "'%s': no message", bad[i]);
	}
}

TEST(regex, hostile_bounded)
{
	/* catastrophic backtracking is cut off by the step budget */
	char pat[64] = "", s[200];
	for (int i = 0; i < 20; i++)
		strcat(pat, "a*");
	strcat(pat, "b");
	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	CHECK(!m(pat, s));
	/* every byte in pattern and subject */
	unsigned seed = 7;
	for (int round = 0; round < 3000; round++) {
		char p[16], t[32];
		for (size_t i = 0; i < sizeof(p) - 1; i++) {
			seed = seed * 1103515245 + 12345;
			p[i] = "ab.*[]^$\\{},0-9:"[(seed >> 16) % 17];
		}
		p[sizeof(p) - 1] = '\0';
		for (size_t i = 0; i < sizeof(t); i++) {
			seed = seed * 1103515245 + 12345;
			t[i] = (char)(seed >> 16);
		}
		char err[80];
		if (re_compile(&re, p, round & 1, err, sizeof(err)) == 0)
			re_search(&re, t, sizeof(t));
	}
}
