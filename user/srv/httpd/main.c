/*
 * httpd [flags]: the web server as an Exo program. The core (http.h) is
 * complete and runs on a host today through tools/httpd-host; what this
 * file adds is the Exo side of its hooks. Memory, the clock and the log
 * are here. The two that need other parts of Exo are not yet:
 *
 *  - connections: lib/net has no TCP yet. The loop will accept through it,
 *    feed http_conn_recv_space/received, and send what http_conn_output
 *    hands out - cache objects by reference (http_obj_hold until ACKed),
 *    with http_obj_sum for their payload checksums.
 *  - files: lib/fs does not exist yet; stat/read/list will map onto it.
 *
 * Until then the program checks its flags, builds its server (so the core
 * is known to link and start in the library OS), says what is missing and
 * exits 1: it does not pretend to serve.
 *
 * There is no wall clock in Exo yet either: Date headers count from the
 * epoch plus the uptime until the kernel exposes one.
 */
#include <lib/base/libos.h>
#include <user/srv/httpd/http.h>

static int64_t exo_now_ms(void *ctx UNUSED)
{
	return (int64_t)(rdtsc() / (ukinfo->ki_tsc_hz / 1000));
}

static int64_t exo_wall_s(void *ctx)
{
	return exo_now_ms(ctx) / 1000;
}

static void *exo_alloc(void *ctx UNUSED, size_t n)
{
	return malloc(n);
}

static void exo_free(void *ctx UNUSED, void *p)
{
	free(p);
}

static void exo_log(void *ctx UNUSED, const char *line, size_t len)
{
	printf("%.*s", (int)len, line);
}

/* No file system yet: every path is absent. */
static int no_stat(void *ctx UNUSED, const char *path UNUSED, struct http_stat *st UNUSED)
{
	return -HTTP_ENOENT;
}

static long no_read(void *ctx UNUSED, const char *path UNUSED, uint64_t off UNUSED, void *buf UNUSED, size_t len UNUSED)
{
	return -HTTP_EIO;
}

static int no_list(void *ctx UNUSED, const char *path UNUSED, http_list_fn *each UNUSED, void *arg UNUSED)
{
	return -HTTP_ENOENT;
}

int main(int argc, char **argv)
{
	struct http_config cfg;
	char err[2048];
	http_config_default(&cfg);
	if (http_config_parse(&cfg, argc, argv, err, sizeof(err)) < 0) {
		printf("httpd: %s\n", err);
		return 2;
	}
	struct http_hooks hooks = {
		.ctx = NULL,
		.stat = no_stat,
		.read = no_read,
		.list = no_list,
		.now_ms = exo_now_ms,
		.wall_s = exo_wall_s,
		.alloc = exo_alloc,
		.free = exo_free,
		.log = exo_log,
	};
	struct http_server *srv = http_server_new(&cfg, &hooks);
	if (!srv) {
		printf("httpd: out of memory\n");
		return 1;
	}
	printf("httpd: port %u, root %s, %u connections, cache %s, csum %s, merge %s\n",
	       cfg.port, cfg.root, cfg.max_conns, cfg.cache ? "on" : "off",
	       cfg.csum ? "on" : "off", cfg.merge ? "on" : "off");
	printf("httpd: cannot serve yet: the library OS has no TCP (lib/net) "
	       "and no file system (lib/fs)\n");
	http_server_free(srv);
	return 1;
}
