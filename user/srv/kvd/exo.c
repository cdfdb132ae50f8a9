/*
 * kvd on Exo: the engine's hooks implemented with the library OS.
 *
 * Exo has no TCP yet, so for now kvd serves one client on the console:
 * each line typed is fed to the engine as an inline command (Redis's inline
 * syntax, quotes and all) and the RESP reply is printed as it comes. When
 * lib/net grows sockets, a small file like this one, with an event loop over
 * them, makes kvd a network server; nothing else changes.
 *
 * Hooks: time from the TSC and the kernel's calibrated rate (ms since boot:
 * no wall clock here), memory from the library OS's malloc, randomness from
 * an xorshift generator seeded with the TSC. No persistence hooks: the file
 * system is another issue's; SAVE answers that there is nowhere to save.
 *
 *   kvd [name value ...]     CONFIG SET each pair first
 */
#include <lib/base/libos.h>
#include <user/srv/kvd/kvd.h>

static uint64_t rng_state;
static bool stop;

static uint64_t exo_now_ms(void *ctx UNUSED)
{
	uint64_t hz = ukinfo->ki_tsc_hz ? ukinfo->ki_tsc_hz : 1000000000ULL;
	return rdtsc() / (hz / 1000);
}

static void *exo_alloc(void *ctx UNUSED, size_t n)
{
	return malloc(n);
}

static void exo_release(void *ctx UNUSED, void *p, size_t n UNUSED)
{
	free(p);
}

static uint64_t exo_random(void *ctx UNUSED)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static void exo_send(void *ctx UNUSED, void *conn UNUSED, const void *buf, size_t n)
{
	printf("%.*s", (int)n, (const char *)buf);
}

static void exo_close(void *ctx UNUSED, void *conn UNUSED)
{
	stop = true;
}

static void exo_shutdown(void *ctx UNUSED)
{
	stop = true;
}

static void exo_log_line(void *ctx UNUSED, const char *line)
{
	printf("%s\n", line);
}

int main(int argc, char **argv)
{
	rng_state = rdtsc() | 1;
	struct kvd_hooks h = {
		.ctx = NULL,
		.now_ms = exo_now_ms,
		.alloc = exo_alloc,
		.release = exo_release,
		.random = exo_random,
		.send = exo_send,
		.close = exo_close,
		.shutdown = exo_shutdown,
		.log_line = exo_log_line,
	};
	struct kvd *kv = kvd_new(&h);
	if (!kv) {
		printf("kvd: out of memory\n");
		return 1;
	}
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *why;
		if (kvd_config_set(kv, argv[i], argv[i + 1], &why) < 0) {
			printf("kvd: %s %s: %s\n", argv[i], argv[i + 1], why);
			return 2;
		}
	}
	struct kvd_client *c = kvd_client_new(kv, &h, "console:0");
	static char line[4096];
	while (!stop) {
		int n = readline("kvd> ", line, sizeof(line) - 2);
		if (n < 0)
			break;
		line[n++] = '\r';
		line[n++] = '\n';
		kvd_client_feed(c, line, (size_t)n);
		kvd_tick(kv);
	}
	kvd_client_gone(c);
	kvd_destroy(kv);
	return 0;
}
