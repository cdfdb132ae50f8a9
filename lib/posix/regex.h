/*
 * Basic regular expressions (POSIX BRE, as grep uses them), in a pure
 * module (regex.c) that host tests drive: literal characters, ".", bracket
 * expressions ([a-z], [^...], [[:digit:]] and the other classes), "*",
 * the intervals \{m\} \{m,\} \{m,n\}, GNU's \+ and \?, "^" at the start and
 * "$" at the end. Groups \( \) and back-references are not supported: they
 * are refused with a message, not mismatched.
 *
 * Hostile stance: patterns are bounded (RE_ATOMS_MAX atoms, intervals up to
 * RE_DUP_MAX), and a search stops after RE_STEPS_MAX steps, reporting no
 * match, so no pattern can hang a tool.
 */
#ifndef EXO_LIB_POSIX_REGEX_H
#define EXO_LIB_POSIX_REGEX_H

#include <inc/types.h>

#define RE_ATOMS_MAX 256
#define RE_DUP_MAX 255
#define RE_STEPS_MAX 10000000

struct re_atom {
	uint8_t set[32]; /* the bytes it matches */
	uint16_t min, max;
};

struct regex {
	int natoms;
	bool anchor_start, anchor_end;
	struct re_atom atoms[RE_ATOMS_MAX];
};

/* Compile pattern: 0, or -1 with a message in err[errlen]. With icase,
 * letters match either case. */
int re_compile(struct regex *re, const char *pattern, bool icase, char *err, size_t errlen);
/* Does s[0..len) contain a match? */
bool re_search(const struct regex *re, const char *s, size_t len);

#endif
