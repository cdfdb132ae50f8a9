/*
 * A minimal framework for host unit tests.
 *
 * A test file includes this header (before test/rename.h and any lib/ header),
 * defines its tests with TEST(suite, name) { ... } and gets main() from here.
 * Every test prints exactly one line on stdout:
 *
 *	PASS: suite.name
 *	FAIL: suite.name: file:line: what went wrong
 *
 * and nothing else here prints a line starting with those prefixes, since the
 * project's test runner counts them. A failed CHECK records the first failure
 * and the test goes on (later checks may still crash, which is reported too).
 *
 * Each test runs in a forked child with an alarm, so a crash, a sanitizer
 * report or a hang fails that one test, with a line of its own, and the others
 * still run. The child sends its verdict up a pipe; the parent prints it. The
 * binary exits 0 whenever it ran every test, failed or not: a non-zero exit
 * means the binary itself broke, and test/host.mk reports that separately.
 *
 * `test_X [substring]` runs only the tests whose suite.name contains it.
 */
#ifndef EXO_TEST_CHECK_H
#define EXO_TEST_CHECK_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK_MAX_TESTS 512   /* per binary; raise it if a file needs more */
#define CHECK_TIMEOUT 60      /* seconds one test may run */
#define CHECK_WHAT_MAX 1024   /* bytes of failure text kept */

#define CHECK(cond) check_true(!!(cond), __FILE__, __LINE__, "CHECK(%s)", #cond)
/* CHECK with a printf-style explanation instead of the condition's text. */
#define CHECK_MSG(cond, ...) check_true(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_STREQ(a, b) check_streq((a), (b), __FILE__, __LINE__, #a, #b)
/* Integer equality, showing both values (compared as 64-bit patterns). */
#define CHECK_EQ(a, b)                                                                  \
	check_eq((unsigned long long)(a), (unsigned long long)(b), __FILE__, __LINE__, #a, \
		 #b)

typedef void check_fn(void);

struct check_test {
	const char *suite, *name;
	check_fn *fn;
	int line; /* tests run in the order they appear in the file */
};

static struct check_test check_tests[CHECK_MAX_TESTS];
static int check_ntests;
static bool check_failed;
static char check_what[CHECK_WHAT_MAX];
static int check_verdict_fd = -1; /* the pipe to the parent, in a test's child */

#define TEST(suite, name)                                                                \
	static void test_##suite##_##name(void);                                          \
	__attribute__((constructor)) static void check_register_##suite##_##name(void)    \
	{                                                                                 \
		check_register(#suite, #name, test_##suite##_##name, __LINE__);           \
	}                                                                                 \
	static void test_##suite##_##name(void)

static inline void check_register(const char *suite, const char *name, check_fn *fn, int line)
{
	if (check_ntests == CHECK_MAX_TESTS) {
		fprintf(stderr, "check.h: more than CHECK_MAX_TESTS tests\n");
		exit(2);
	}
	check_tests[check_ntests++] = (struct check_test){ suite, name, fn, line };
}

static inline void check_send(const char *s, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t w = write(check_verdict_fd, s + done, len - done);
		if (w <= 0)
			break;
		done += (size_t)w;
	}
}

/* Records the first failure and sends it to the parent at once, so that it is
 * shown even if the test crashes afterwards. Newlines become spaces. */
__attribute__((format(printf, 3, 4))) static inline void check_fail(const char *file, int line,
								    const char *fmt, ...)
{
	if (check_failed)
		return;
	check_failed = true;
	int n = snprintf(check_what, sizeof(check_what), "%s:%d: ", file, line);
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(check_what))
		vsnprintf(check_what + n, sizeof(check_what) - (size_t)n, fmt, ap);
	va_end(ap);
	for (char *p = check_what; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	check_send("F", 1);
	check_send(check_what, strlen(check_what));
}

__attribute__((format(printf, 4, 5))) static inline bool check_true(bool ok, const char *file,
							       int line, const char *fmt, ...)
{
	if (!ok && !check_failed) {
		char msg[CHECK_WHAT_MAX];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		check_fail(file, line, "%s", msg);
	}
	return ok;
}

/* Writes s as a C string literal (at most about n bytes), so that invisible
 * and non-ASCII characters show in a failure message. */
static inline void check_quote(char *out, size_t n, const char *s)
{
	size_t o = 0;
	if (!s) {
		snprintf(out, n, "NULL");
		return;
	}
	out[o++] = '"';
	for (; *s && o + 6 < n; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, n - o, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, n - o, "\\x%02x", c);
	}
	if (*s)
		o += (size_t)snprintf(out + o, n - o, "...");
	out[o++] = '"';
	out[o] = '\0';
}

static inline bool check_streq(const char *a, const char *b, const char *file, int line,
			const char *a_text, const char *b_text)
{
	bool ok = a && b ? strcmp(a, b) == 0 : a == b;
	if (!ok) {
		char qa[CHECK_WHAT_MAX / 3], qb[CHECK_WHAT_MAX / 3];
		check_quote(qa, sizeof(qa), a);
		check_quote(qb, sizeof(qb), b);
		check_fail(file, line, "%s == %s: got %s, want %s", a_text, b_text, qa, qb);
	}
	return ok;
}

static inline bool check_eq(unsigned long long a, unsigned long long b, const char *file, int line,
		     const char *a_text, const char *b_text)
{
	if (a != b)
		check_fail(file, line, "%s == %s: got %lld (%#llx), want %lld (%#llx)", a_text,
			   b_text, (long long)a, a, (long long)b, b);
	return a == b;
}

/* In the child: run the test; a failure has already sent "F<what>", a pass
 * sends "P". exit() rather than _exit() so LeakSanitizer checks this test. */
static inline void check_child(const struct check_test *t, int fd)
{
	/* CHECK_TIMEOUT in the environment overrides (0: no limit), for the
	 * long runs (make tcp-torture) */
	const char *limit = getenv("CHECK_TIMEOUT");
	alarm(limit ? (unsigned)strtoul(limit, NULL, 10) : CHECK_TIMEOUT);
	check_verdict_fd = fd;
	t->fn();
	if (!check_failed)
		check_send("P", 1);
	close(fd);
	exit(0);
}

static inline void check_run(const struct check_test *t)
{
	int fds[2];
	if (pipe(fds) < 0) {
		perror("check.h: pipe");
		exit(2);
	}
	fflush(NULL); /* or the child would print our buffered output again */
	pid_t pid = fork();
	if (pid < 0) {
		perror("check.h: fork");
		exit(2);
	}
	if (pid == 0) {
		close(fds[0]);
		check_child(t, fds[1]);
	}
	close(fds[1]);

	char verdict[CHECK_WHAT_MAX + 1];
	size_t len = 0;
	ssize_t r;
	while (len < sizeof(verdict) - 1 &&
	       (r = read(fds[0], verdict + len, sizeof(verdict) - 1 - len)) > 0)
		len += (size_t)r;
	verdict[len] = '\0';
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		;

	/* A failure sent before a crash is the likeliest cause: show it too. */
	const char *first = verdict[0] == 'F' ? verdict + 1 : NULL;
	bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (clean && verdict[0] == 'P')
		printf("PASS: %s.%s\n", t->suite, t->name);
	else if (clean && first)
		printf("FAIL: %s.%s: %s\n", t->suite, t->name, first);
	else if (WIFSIGNALED(status))
		printf("FAIL: %s.%s: crashed (signal %d%s)%s%s\n", t->suite, t->name,
		       WTERMSIG(status), WTERMSIG(status) == SIGALRM ? ", timed out" : "",
		       first ? " after " : "", first ? first : "");
	else
		printf("FAIL: %s.%s: exited %d before its verdict (see stderr)%s%s\n", t->suite,
		       t->name, WEXITSTATUS(status), first ? " after " : "", first ? first : "");
	fflush(stdout);
}

static inline int check_by_line(const void *a, const void *b)
{
	return ((const struct check_test *)a)->line - ((const struct check_test *)b)->line;
}

int main(int argc, char **argv)
{
	qsort(check_tests, (size_t)check_ntests, sizeof(check_tests[0]), check_by_line);
	for (int i = 0; i < check_ntests; i++) {
		const struct check_test *t = &check_tests[i];
		char full[256];
		snprintf(full, sizeof(full), "%s.%s", t->suite, t->name);
		if (argc > 1 && !strstr(full, argv[1]))
			continue;
		check_run(t);
	}
	return 0;
}

#endif
