/*
 * In-guest test checks (lib/base/test.h).
 */
#include <lib/base/test.h>

static int failures;

void check(const char *name, bool ok)
{
	if (ok) {
		printf("PASS: %s.%s\n", thisenv->env_name, name);
	} else {
		printf("FAIL: %s.%s\n", thisenv->env_name, name);
		failures++;
	}
}

static void describe(char *buf, size_t n, long v)
{
	if (v < 0 && err_name(v))
		snprintf(buf, n, "%ld (%s)", v, err_name(v));
	else
		snprintf(buf, n, "%ld", v);
}

void check_eq(const char *name, long got, long want)
{
	if (got == want) {
		printf("PASS: %s.%s\n", thisenv->env_name, name);
		return;
	}
	char g[48], w[48];
	describe(g, sizeof(g), got);
	describe(w, sizeof(w), want);
	printf("FAIL: %s.%s: got %s, want %s\n", thisenv->env_name, name, g, w);
	failures++;
}

int test_finish(void)
{
	return failures;
}
