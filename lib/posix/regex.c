/*
 * Basic regular expressions (lib/posix/regex.h): each atom is a set of
 * bytes with a repetition count, matched by backtracking from each start
 * position, longest repetition first. A step budget bounds the worst case.
 */
#include <common/fmt.h>
#include <common/string.h>
#include <lib/posix/regex.h>

static void set_add(struct re_atom *a, unsigned char c, bool icase)
{
	a->set[c / 8] |= (uint8_t)(1u << (c % 8));
	if (icase && isalpha(c)) {
		unsigned char o = isupper(c) ? (unsigned char)tolower(c) : (unsigned char)toupper(c);
		a->set[o / 8] |= (uint8_t)(1u << (o % 8));
	}
}

static bool set_has(const struct re_atom *a, unsigned char c)
{
	return a->set[c / 8] & (1u << (c % 8));
}

static bool in_class(const char *name, size_t len, int c)
{
#define CLASS(n, test)                                           \
	if (len == sizeof(n) - 1 && strncmp(name, n, len) == 0) \
		return test;
	CLASS("alpha", isalpha(c))
	CLASS("digit", isdigit(c))
	CLASS("alnum", isalnum(c))
	CLASS("upper", isupper(c))
	CLASS("lower", islower(c))
	CLASS("space", isspace(c))
	CLASS("xdigit", isxdigit(c))
	CLASS("blank", c == ' ' || c == '\t')
	CLASS("punct", c > 32 && c < 127 && !isalnum(c))
	CLASS("print", c >= 32 && c < 127)
	CLASS("cntrl", c < 32 || c == 127)
#undef CLASS
	return false;
}

static int fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -1;
}

/* A bracket expression at p (after '['): fills a; returns the byte after ']'. */
static const char *bracket(const char *p, struct re_atom *a, bool icase)
{
	bool negate = *p == '^';
	if (negate)
		p++;
	struct re_atom tmp = { .min = 1 };
	for (bool first = true; *p && (*p != ']' || first); first = false) {
		if (p[0] == '[' && p[1] == ':') {
			const char *end = strchr(p + 2, ':');
			if (!end || end[1] != ']')
				return NULL;
			bool known = false;
			for (int c = 0; c < 256; c++)
				if (in_class(p + 2, (size_t)(end - p - 2), c)) {
					set_add(&tmp, (unsigned char)c, icase);
					known = true;
				}
			if (!known)
				return NULL;
			p = end + 2;
			continue;
		}
		unsigned char lo = (unsigned char)*p++, hi = lo;
		if (p[0] == '-' && p[1] && p[1] != ']') {
			hi = (unsigned char)p[1];
			p += 2;
		}
		for (unsigned c = lo; c <= hi; c++)
			set_add(&tmp, (unsigned char)c, icase);
	}
	if (*p != ']')
		return NULL;
	for (int i = 0; i < 32; i++)
		a->set[i] = negate ? (uint8_t)~tmp.set[i] : tmp.set[i];
	if (negate)
		a->set[0] &= (uint8_t)~1u; /* never NUL */
	return p + 1;
}

int re_compile(struct regex *re, const char *p, bool icase, char *err, size_t errlen)
{
	memset(re, 0, sizeof(*re));
	if (*p == '^') {
		re->anchor_start = true;
		p++;
	}
	while (*p) {
		if (p[0] == '$' && p[1] == '\0') {
			re->anchor_end = true;
			break;
		}
		/* a repetition of the atom before */
		struct re_atom *prev = re->natoms ? &re->atoms[re->natoms - 1] : NULL;
		if (prev && (*p == '*' || (p[0] == '\\' && (p[1] == '+' || p[1] == '?' || p[1] == '{')))) {
			if (prev->min != 1 || prev->max != 1)
				return fail(err, errlen, "repetition of a repetition");
			if (*p == '*') {
				prev->min = 0;
				prev->max = UINT16_MAX;
				p++;
			} else if (p[1] == '+') {
				prev->max = UINT16_MAX;
				p += 2;
			} else if (p[1] == '?') {
				prev->min = 0;
				p += 2;
			} else {
				char *end;
				unsigned long m = strtoul(p + 2, &end, 10), n = m;
				if (end == p + 2)
					return fail(err, errlen, "bad interval \\{");
				if (*end == ',') {
					n = isdigit(end[1]) ? strtoul(end + 1, &end, 10) : UINT16_MAX;
					if (n == UINT16_MAX)
						end++;
				}
				if (end[0] != '\\' || end[1] != '}' || m > n ||
				    m > RE_DUP_MAX || (n > RE_DUP_MAX && n != UINT16_MAX))
					return fail(err, errlen, "bad interval \\{m,n\\}");
				prev->min = (uint16_t)m;
				prev->max = (uint16_t)n;
				p = end + 2;
			}
			continue;
		}
		if (re->natoms == RE_ATOMS_MAX)
			return fail(err, errlen, "pattern too long");
		struct re_atom *a = &re->atoms[re->natoms++];
		a->min = a->max = 1;
		if (*p == '.') {
			memset(a->set, 0xff, sizeof(a->set));
			a->set[0] &= (uint8_t)~1u;
			p++;
		} else if (*p == '[') {
			p = bracket(p + 1, a, icase);
			if (!p)
				return fail(err, errlen, "unbalanced [ or unknown class");
		} else if (*p == '\\') {
			if (!p[1])
				return fail(err, errlen, "trailing backslash");
			if (p[1] == '(' || p[1] == ')' || isdigit(p[1]))
				return fail(err, errlen, "groups and back-references are not supported");
			if (p[1] == '{' || p[1] == '}')
				return fail(err, errlen, "interval with nothing to repeat");
			set_add(a, (unsigned char)p[1], icase);
			p += 2;
		} else {
			set_add(a, (unsigned char)*p++, icase);
		}
	}
	return 0;
}

struct search {
	const struct regex *re;
	const unsigned char *s;
	size_t len;
	long steps;
};

static bool match_here(struct search *m, int k, size_t pos)
{
	if (--m->steps < 0)
		return false;
	if (k == m->re->natoms)
		return !m->re->anchor_end || pos == m->len;
	const struct re_atom *a = &m->re->atoms[k];
	size_t n = 0;
	while (n < a->max && pos + n < m->len && set_has(a, m->s[pos + n]))
		n++;
	for (;; n--) {
		if (n < a->min)
			return false;
		if (match_here(m, k + 1, pos + n))
			return true;
		if (n == 0 || m->steps < 0)
			return false;
	}
}

bool re_search(const struct regex *re, const char *s, size_t len)
{
	struct search m = { re, (const unsigned char *)s, len, RE_STEPS_MAX };
	for (size_t start = 0; start <= len; start++) {
		if (match_here(&m, 0, start))
			return true;
		if (re->anchor_start || m.steps < 0)
			return false;
	}
	return false;
}
