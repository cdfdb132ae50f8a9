/*
 * Fake hooks for httpd's core in host tests (test_http.c, test_httpcache.c,
 * fuzz_http.c): an in-memory file tree, a clock that moves only when a test
 * moves it, a log that keeps its last line, and an allocator that can be
 * told to fail after N allocations (to drive the out-of-memory paths).
 *
 * Include after test/rename.h; uses libc's malloc underneath.
 */
#ifndef EXO_TEST_HTTP_FAKE_H
#define EXO_TEST_HTTP_FAKE_H

#include <stdlib.h>

#include <user/srv/httpd/core.h>

struct fake_file {
	const char *path;  /* as the core asks for it: "/a/b.txt", "/dir" */
	const char *data;  /* NULL for a directory */
	size_t size;
	int64_t mtime;
};

#define FAKE_FILES_MAX 32
static struct fake_file fake_files[FAKE_FILES_MAX];
static int fake_nfiles;
static int64_t fake_now = 1000000;           /* ms */
static int64_t fake_wall = 1700000000;       /* s */
static long fake_allocs_left = -1;           /* -1: never fail */
static char fake_log_line[512];
static int fake_log_count;
static int fake_reads;
static long fake_read_limit = -1;            /* bytes a file read may return */

static void fake_add(const char *path, const char *data, size_t size, int64_t mtime)
{
	fake_files[fake_nfiles++] = (struct fake_file){ path, data, size, mtime };
}

static struct fake_file *fake_find(const char *path)
{
	for (int i = 0; i < fake_nfiles; i++) {
		const char *p = fake_files[i].path;
		size_t n = strlen(p), m = strlen(path);
		/* a directory is found with or without its trailing slash */
		if ((n == m && memcmp(p, path, n) == 0) ||
		    (!fake_files[i].data && m == n + 1 && path[n] == '/' &&
		     memcmp(p, path, n) == 0))
			return &fake_files[i];
	}
	return NULL;
}

static int fake_stat(void *ctx, const char *path, struct http_stat *st)
{
	(void)ctx;
	struct fake_file *f = fake_find(path);
	if (strcmp(path, "/") == 0) { /* the root is always there */
		*st = (struct http_stat){ 0, 784111777, true };
		return 0;
	}
	if (!f)
		return -HTTP_ENOENT;
	st->hs_size = f->size;
	st->hs_mtime = f->mtime;
	st->hs_is_dir = f->data == NULL;
	return 0;
}

static long fake_read(void *ctx, const char *path, uint64_t off, void *buf, size_t len)
{
	(void)ctx;
	struct fake_file *f = fake_find(path);
	fake_reads++;
	if (!f || !f->data)
		return -HTTP_ENOENT;
	if (off >= f->size)
		return 0;
	size_t n = len < f->size - off ? len : (size_t)(f->size - off);
	if (fake_read_limit >= 0 && n > (size_t)fake_read_limit)
		n = (size_t)fake_read_limit;
	memcpy(buf, f->data + off, n);
	return (long)n;
}

static int fake_list(void *ctx, const char *path, http_list_fn *each, void *arg)
{
	(void)ctx;
	size_t m = strlen(path); /* path ends in '/' */
	for (int i = 0; i < fake_nfiles; i++) {
		const char *p = fake_files[i].path;
		if (strncmp(p, path, m) == 0 && p[m] && !strchr(p + m, '/'))
			each(arg, p + m, fake_files[i].data == NULL);
	}
	return 0;
}

static int64_t fake_now_ms(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static int64_t fake_wall_s(void *ctx)
{
	(void)ctx;
	return fake_wall;
}

static void *fake_alloc(void *ctx, size_t n)
{
	(void)ctx;
	if (fake_allocs_left == 0)
		return NULL;
	if (fake_allocs_left > 0)
		fake_allocs_left--;
	return malloc(n);
}

static void fake_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static void fake_log(void *ctx, const char *line, size_t len)
{
	(void)ctx;
	if (len >= sizeof(fake_log_line))
		len = sizeof(fake_log_line) - 1;
	memcpy(fake_log_line, line, len);
	fake_log_line[len] = '\0';
	fake_log_count++;
}

static const struct http_hooks fake_hooks = { NULL,        fake_stat,   fake_read,  fake_list,
					      fake_now_ms, fake_wall_s, fake_alloc, fake_free,
					      fake_log,    NULL,        NULL };

#endif
