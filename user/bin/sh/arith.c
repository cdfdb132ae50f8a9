/*
 * Shell arithmetic (parse.h: sh_arith): the expression of $((...)), by
 * recursive descent over C's precedence levels, in long, with variables
 * read and assigned through the caller's hooks.
 *
 * Hostile stance: the expression is untrusted text. Overflow wraps (the
 * sums are done unsigned, so there is no undefined behaviour), division
 * or remainder by zero and LONG_MIN / -1 are errors, nesting of
 * parentheses and unary operators is bounded by SH_NEST_MAX, and a
 * variable that does not hold a number is an error naming it.
 */
#include <common/fmt.h>
#include <common/string.h>
#include "parse.h"

#define LONG_LOWEST ((long)(1UL << 63)) /* the one long with no negation */

struct arith {
	const char *s;
	size_t pos, len;
	const struct sh_arith_ops *ops;
	char *err;
	size_t errsize;
	int depth;
	bool failed;
	bool skip; /* evaluating the side && || ?: do not take: no assignments */
};

static long fail(struct arith *a, const char *msg)
{
	if (!a->failed)
		snprintf(a->err, a->errsize, "%s", msg);
	a->failed = true;
	return 0;
}

static void blanks(struct arith *a)
{
	while (a->pos < a->len &&
	       (a->s[a->pos] == ' ' || a->s[a->pos] == '\t' || a->s[a->pos] == '\n'))
		a->pos++;
}

/* Is the operator op next? Take it if so (not if a longer one starts
 * with it, as "<" in "<=" or "<<"). */
static bool take(struct arith *a, const char *op)
{
	blanks(a);
	size_t n = strlen(op);
	if (a->pos + n > a->len || memcmp(a->s + a->pos, op, n) != 0)
		return false;
	char next = a->pos + n < a->len ? a->s[a->pos + n] : '\0';
	if (n == 1 && strchr("<>&|", op[0]) && (next == op[0] || next == '='))
		return false; /* "<" is not the start of "<<" or "<=" */
	if (n == 1 && strchr("=!+-*/%^~", op[0]) && next == '=')
		return false; /* nor "+" of "+=", "=" of "==" */
	if (n == 2 && (op[0] == '<' || op[0] == '>') && op[1] == op[0] && next == '=')
		return false;
	a->pos += n;
	return true;
}

static long expr(struct arith *a);

static bool name_char(char c)
{
	return isalnum(c) || c == '_';
}

/* A number from a string, as C writes it (decimal, 0x hex, 0 octal); -1
 * if it is not one. */
static int to_number(const char *s, size_t n, long *out)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	if (n == 0) {
		*out = 0;
		return 0;
	}
	bool neg = false;
	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		s++;
		n--;
	}
	unsigned base = 10;
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		n -= 2;
	} else if (n > 1 && s[0] == '0') {
		base = 8;
	}
	if (n == 0)
		return -1;
	unsigned long v = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		unsigned d = isdigit(c)             ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
						    : 99;
		if (d >= base)
			return -1;
		v = v * base + d;
	}
	*out = (long)(neg ? 0 - v : v);
	return 0;
}

static long variable(struct arith *a, size_t start, size_t n)
{
	const char *v = a->ops->get(a->ops->ctx, a->s + start, n);
	long x = 0;
	if (v && to_number(v, strlen(v), &x) < 0) {
		char msg[96];
		snprintf(msg, sizeof(msg), "'%.*s' is not a number", (int)MIN(n, 40), a->s + start);
		return fail(a, msg);
	}
	return x;
}

static long assign(struct arith *a, size_t start, size_t n, long v)
{
	if (!a->skip && a->ops->set && a->ops->set(a->ops->ctx, a->s + start, n, v) < 0)
		return fail(a, "cannot assign");
	return v;
}

static long binop(struct arith *a, char op, long x, long y)
{
	unsigned long ux = (unsigned long)x, uy = (unsigned long)y;
	switch (op) {
	case '+': return (long)(ux + uy);
	case '-': return (long)(ux - uy);
	case '*': return (long)(ux * uy);
	case '/':
	case '%':
		if (y == 0)
			return a->skip ? 0 : fail(a, "division by zero");
		if (x == LONG_LOWEST && y == -1)
			return op == '/' ? x : 0;
		return op == '/' ? x / y : x % y;
	case '<': return (long)(ux << (uy & 63));
	case '>': return x >> (uy & 63);
	case '&': return x & y;
	case '|': return x | y;
	case '^': return x ^ y;
	}
	return fail(a, "bad operator");
}

static long unary(struct arith *a)
{
	if (++a->depth > SH_NEST_MAX) {
		a->depth--;
		return fail(a, "expression too deeply nested");
	}
	long v = 0;
	blanks(a);
	if (a->failed) {
	} else if (take(a, "!")) {
		v = !unary(a);
	} else if (take(a, "~")) {
		v = ~unary(a);
	} else if (take(a, "-")) {
		v = (long)(0 - (unsigned long)unary(a));
	} else if (take(a, "+")) {
		v = unary(a);
	} else if (take(a, "(")) {
		v = expr(a);
		if (!take(a, ")"))
			v = fail(a, "missing ')'");
	} else if (a->pos < a->len && isdigit(a->s[a->pos])) {
		size_t start = a->pos;
		while (a->pos < a->len && name_char(a->s[a->pos]))
			a->pos++;
		if (to_number(a->s + start, a->pos - start, &v) < 0)
			v = fail(a, "bad number");
	} else {
		if (a->pos < a->len && a->s[a->pos] == '$')
			a->pos++;
		size_t start = a->pos;
		while (a->pos < a->len && name_char(a->s[a->pos]))
			a->pos++;
		size_t n = a->pos - start;
		if (n == 0) {
			v = fail(a, a->pos < a->len ? "syntax error" : "missing operand");
		} else {
			static const char *const ops[] = { "=",   "+=",  "-=", "*=", "/=", "%=",
							   "<<=", ">>=", "&=", "|=", "^=" };
			size_t k = 0;
			blanks(a);
			for (; k < ARRAY_SIZE(ops); k++) {
				size_t l = strlen(ops[k]);
				if (a->pos + l <= a->len && memcmp(a->s + a->pos, ops[k], l) == 0 &&
				    !(l == 1 && a->pos + 1 < a->len && a->s[a->pos + 1] == '='))
					break;
			}
			if (k < ARRAY_SIZE(ops)) {
				a->pos += strlen(ops[k]);
				long rhs = expr(a);
				v = k == 0 ? rhs : binop(a, ops[k][0], variable(a, start, n), rhs);
				if (!a->failed)
					v = assign(a, start, n, v);
			} else {
				v = variable(a, start, n);
			}
		}
	}
	a->depth--;
	return v;
}

/* Binary operators by precedence, loosest last. */
static const char *const levels[][4] = {
	{ "*", "/", "%", NULL }, { "+", "-", NULL }, { "<<", ">>", NULL }, { "<=", ">=", "<", ">" },
	{ "==", "!=", NULL },    { "&", NULL },      { "^", NULL },        { "|", NULL },
};

static long binary(struct arith *a, int level)
{
	if (level < 0)
		return unary(a);
	long x = binary(a, level - 1);
	for (;;) {
		if (a->failed)
			return 0;
		const char *op = NULL;
		for (int k = 0; k < 4 && levels[level][k] && !op; k++)
			if (take(a, levels[level][k]))
				op = levels[level][k];
		if (!op)
			return x;
		long y = binary(a, level - 1);
		if (strcmp(op, "<=") == 0)
			x = x <= y;
		else if (strcmp(op, ">=") == 0)
			x = x >= y;
		else if (strcmp(op, "==") == 0)
			x = x == y;
		else if (strcmp(op, "!=") == 0)
			x = x != y;
		else if (strcmp(op, "<") == 0)
			x = x < y;
		else if (strcmp(op, ">") == 0)
			x = x > y;
		else
			x = binop(a, op[0], x, y);
	}
}

static long logical_and(struct arith *a)
{
	long x = binary(a, (int)ARRAY_SIZE(levels) - 1);
	while (!a->failed && take(a, "&&")) {
		bool was = a->skip;
		a->skip = was || !x;
		long y = binary(a, (int)ARRAY_SIZE(levels) - 1);
		a->skip = was;
		x = x && y;
	}
	return x;
}

static long logical_or(struct arith *a)
{
	long x = logical_and(a);
	while (!a->failed && take(a, "||")) {
		bool was = a->skip;
		a->skip = was || x;
		long y = logical_and(a);
		a->skip = was;
		x = x || y;
	}
	return x;
}

static long expr(struct arith *a)
{
	if (++a->depth > SH_NEST_MAX) {
		a->depth--;
		return fail(a, "expression too deeply nested");
	}
	long c = logical_or(a);
	if (!a->failed && take(a, "?")) {
		bool was = a->skip;
		a->skip = was || !c;
		long x = expr(a);
		a->skip = was;
		if (!take(a, ":"))
			c = fail(a, "missing ':'");
		a->skip = was || c;
		long y = expr(a);
		a->skip = was;
		c = c ? x : y;
	}
	a->depth--;
	return c;
}

int sh_arith(const char *s, size_t len, const struct sh_arith_ops *ops, long *out, char *err,
	     size_t errsize)
{
	struct arith a = { .s = s, .len = len, .ops = ops, .err = err, .errsize = errsize };
	long v = expr(&a);
	blanks(&a);
	if (!a.failed && a.pos < a.len)
		fail(&a, "syntax error");
	if (a.failed)
		return -1;
	*out = v;
	return 0;
}
