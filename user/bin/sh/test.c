/*
 * The test and [ builtins: file tests (-e -f -d -s -r -w -x), strings
 * (-z -n = !=), integers (-eq -ne -lt -le -gt -ge), ! -a -o and
 * parentheses, with POSIX's rules for 0 to 4 arguments and a recursive
 * descent past that (-o looser than -a looser than !).
 *
 * Status: 0 true, 1 false, 2 a usage error (said on fd[2]): a bad
 * integer, a missing operand, a missing ']'. Nesting of ! and ( is
 * bounded by the argument count, itself bounded by the parser.
 */
#include "sh.h"

struct targs {
	char **v;
	int n, i;
	const int *fd;
	bool bad;
};

static bool bad(struct targs *t, const char *what, const char *arg)
{
	if (!t->bad)
		fdprintf(t->fd[2], "test: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
	t->bad = true;
	return false;
}

static bool integer(struct targs *t, const char *s, long *out)
{
	const char *p = s;
	while (*p == ' ' || *p == '\t')
		p++;
	char *end;
	*out = strtol(p, &end, 10);
	if (end == p || (*end && *end != ' ')) {
		bad(t, "integer expression expected", s);
		return false;
	}
	return true;
}

static bool unary_file(const char *op, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return false;
	switch (op[1]) {
	case 'e': return true;
	case 'f': return S_ISREG(st.st_mode);
	case 'd': return S_ISDIR(st.st_mode);
	case 's': return st.st_size > 0;
	default: return true; /* -r -w -x: no permissions here */
	}
}

static bool is_unary(const char *s)
{
	return s[0] == '-' && s[1] && !s[2] && strchr("efdsrwxzn", s[1]);
}

static bool is_binary(const char *s)
{
	static const char *const ops[] = { "=", "!=", "-eq", "-ne", "-lt", "-le", "-gt", "-ge" };
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (strcmp(s, ops[i]) == 0)
			return true;
	return false;
}

static bool binary(struct targs *t, const char *a, const char *op, const char *b)
{
	if (strcmp(op, "=") == 0)
		return strcmp(a, b) == 0;
	if (strcmp(op, "!=") == 0)
		return strcmp(a, b) != 0;
	long x, y;
	if (!integer(t, a, &x) || !integer(t, b, &y))
		return false;
	switch (op[1] * 256 + op[2]) {
	case 'e' * 256 + 'q': return x == y;
	case 'n' * 256 + 'e': return x != y;
	case 'l' * 256 + 't': return x < y;
	case 'l' * 256 + 'e': return x <= y;
	case 'g' * 256 + 't': return x > y;
	default: return x >= y;
	}
}

static bool unary(const char *op, const char *arg)
{
	if (op[1] == 'z')
		return arg[0] == '\0';
	if (op[1] == 'n')
		return arg[0] != '\0';
	return unary_file(op, arg);
}

static bool expr_or(struct targs *t);

static const char *take(struct targs *t)
{
	return t->i < t->n ? t->v[t->i++] : NULL;
}

static bool primary(struct targs *t)
{
	const char *a = take(t);
	if (!a)
		return bad(t, "argument expected", NULL);
	if (strcmp(a, "!") == 0)
		return !primary(t);
	if (strcmp(a, "(") == 0) {
		bool v = expr_or(t);
		const char *c = take(t);
		if (!c || strcmp(c, ")") != 0)
			return bad(t, "')' expected", NULL);
		return v;
	}
	if (t->i < t->n && is_binary(t->v[t->i])) {
		const char *op = take(t), *b = take(t);
		if (!b)
			return bad(t, "argument expected after", op);
		return binary(t, a, op, b);
	}
	if (is_unary(a) && t->i < t->n)
		return unary(a, take(t));
	return a[0] != '\0';
}

static bool expr_and(struct targs *t)
{
	bool v = primary(t);
	while (t->i < t->n && strcmp(t->v[t->i], "-a") == 0) {
		t->i++;
		bool w = primary(t);
		v = v && w;
	}
	return v;
}

static bool expr_or(struct targs *t)
{
	bool v = expr_and(t);
	while (t->i < t->n && strcmp(t->v[t->i], "-o") == 0) {
		t->i++;
		bool w = expr_and(t);
		v = v || w;
	}
	return v;
}

int bi_test(int argc, char **argv, const int *fd)
{
	int n = argc - 1;
	if (strcmp(argv[0], "[") == 0) {
		if (n < 1 || strcmp(argv[argc - 1], "]") != 0) {
			fdprintf(fd[2], "[: missing ']'\n");
			return 2;
		}
		n--;
	}
	struct targs t = { .v = argv + 1, .n = n, .fd = fd };
	bool v;
	/* POSIX's rules by count, which settle "test -n" and "test ! =" */
	if (n == 0)
		v = false;
	else if (n == 1)
		v = argv[1][0] != '\0';
	else if (n == 2 && strcmp(argv[1], "!") == 0)
		v = argv[2][0] == '\0';
	else if (n == 2 && is_unary(argv[1]))
		v = unary(argv[1], argv[2]);
	else if (n == 3 && is_binary(argv[2]))
		v = binary(&t, argv[1], argv[2], argv[3]);
	else {
		v = expr_or(&t);
		if (!t.bad && t.i < t.n)
			bad(&t, "unexpected argument", t.v[t.i]);
	}
	return t.bad ? 2 : !v;
}
