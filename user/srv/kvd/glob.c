/*
 * Glob-style matching for KEYS, SCAN MATCH, PSUBSCRIBE and CONFIG GET, with
 * Redis's syntax: '*' any run, '?' any byte, [abc] [^abc] [a-z] classes, and
 * '\' quoting the next byte. Patterns and subjects are counted strings.
 *
 * Hostile input: backtracking on '*' is bounded by keeping only the last
 * star (the classic greedy-with-one-backtrack-point algorithm), so a pattern
 * like "a*a*a*a*b" costs O(pattern * subject), never exponential time.
 */
#include <user/srv/kvd/engine.h>

static int fold(int c, bool nocase)
{
	return nocase ? tolower(c) : c;
}

/* Does the class starting after '[' at pat[*pi] match c? Advances *pi past ']'. */
static bool class_match(const char *pat, size_t plen, size_t *pi, unsigned char c, bool nocase)
{
	size_t i = *pi;
	bool neg = false, hit = false;
	if (i < plen && pat[i] == '^') {
		neg = true;
		i++;
	}
	for (; i < plen && pat[i] != ']'; i++) {
		if (pat[i] == '\\' && i + 1 < plen) {
			i++;
			if (fold(pat[i], nocase) == fold(c, nocase))
				hit = true;
		} else if (i + 2 < plen && pat[i + 1] == '-' && pat[i + 2] != ']') {
			int lo = fold((unsigned char)pat[i], nocase);
			int hi = fold((unsigned char)pat[i + 2], nocase);
			if (lo > hi) {
				int t = lo;
				lo = hi;
				hi = t;
			}
			int cc = fold(c, nocase);
			if (cc >= lo && cc <= hi)
				hit = true;
			i += 2;
		} else if (fold((unsigned char)pat[i], nocase) == fold(c, nocase)) {
			hit = true;
		}
	}
	*pi = i < plen ? i + 1 : i; /* an unclosed class ends the pattern */
	return neg ? !hit : hit;
}

/*
 * Redis's matcher recurses once per run of '*' that is not the pattern's
 * last and gives up (no match) past 1000 levels; a match must pass every
 * such run, so a pattern with more than 1000 of them never matches there.
 * KEYS answers as Redis does: count them first.
 */
static bool too_many_stars(const char *pat, size_t plen)
{
	size_t runs = 0;
	for (size_t i = 0; i < plen; i++) {
		if (pat[i] == '\\') {
			i++;
		} else if (pat[i] == '[') {
			while (i + 1 < plen && pat[i + 1] != ']')
				i += pat[i + 1] == '\\' ? 2 : 1;
			i++;
		} else if (pat[i] == '*') {
			while (i + 1 < plen && pat[i + 1] == '*')
				i++;
			if (i + 1 < plen)
				runs++;
		}
	}
	return runs > 1000;
}

bool glob_match(const char *pat, size_t plen, const char *s, size_t slen, bool nocase)
{
	if (plen > 2000 && too_many_stars(pat, plen))
		return false;
	size_t pi = 0, si = 0;
	size_t star_p = (size_t)-1, star_s = 0;
	while (si < slen) {
		if (pi < plen) {
			char pc = pat[pi];
			if (pc == '*') {
				while (pi < plen && pat[pi] == '*')
					pi++;
				if (pi == plen)
					return true;
				star_p = pi;
				star_s = si;
				continue;
			}
			if (pc == '?') {
				pi++;
				si++;
				continue;
			}
			if (pc == '[') {
				size_t np = pi + 1;
				if (class_match(pat, plen, &np, (unsigned char)s[si], nocase)) {
					pi = np;
					si++;
					continue;
				}
			} else {
				size_t np = pi;
				if (pc == '\\' && pi + 1 < plen)
					np++;
				if (fold((unsigned char)pat[np], nocase) ==
				    fold((unsigned char)s[si], nocase)) {
					pi = np + 1;
					si++;
					continue;
				}
			}
		}
		if (star_p == (size_t)-1)
			return false;
		pi = star_p;
		si = ++star_s;
	}
	while (pi < plen && pat[pi] == '*')
		pi++;
	return pi == plen;
}
