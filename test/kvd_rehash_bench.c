/*
 * The latency of kvd's SET while the key dictionary grows (doc/kvd.md):
 * drives the engine (user/srv/kvd, built -O2 as for kvd-host) directly
 * through its hooks, with malloc and the host's monotonic clock, and times
 * every SET of KEYS new keys (default 1,200,000, past the table's growth
 * from 2^20 to 2^21 buckets) in the thread's CPU time. Prints the slowest SET, the one that made the
 * table grow past 2^20 keys, and percentiles, then checks every key reads
 * back. Not a test: `make kvd-rehash-bench` builds and runs it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <user/srv/kvd/kvd.h>

static char out[1 << 16];
static size_t out_len;

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The engine's clock is wall time; a SET is timed in this thread's CPU time,
 * so that being descheduled on a shared machine does not count. */
static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static uint64_t cpu_ns(void)
{
	return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

static uint64_t h_now(void *ctx)
{
	(void)ctx;
	return now_ns() / 1000000;
}
static void *h_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}
static void h_release(void *ctx, void *p, size_t n)
{
	(void)ctx;
	(void)n;
	free(p);
}
static uint64_t h_random(void *ctx)
{
	static uint64_t x = 88172645463325252ull;
	(void)ctx;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}
static void h_send(void *ctx, void *conn, const void *buf, size_t n)
{
	(void)ctx;
	(void)conn;
	if (n < sizeof(out)) {
		memcpy(out, buf, n);
		out_len = n;
	}
}
static void h_close(void *ctx, void *conn)
{
	(void)ctx;
	(void)conn;
}
static void h_shutdown(void *ctx)
{
	(void)ctx;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	long keys = argc > 1 ? atol(argv[1]) : 1200000;
	struct kvd_hooks h = { .now_ms = h_now,
			       .alloc = h_alloc,
			       .release = h_release,
			       .random = h_random,
			       .send = h_send,
			       .close = h_close,
			       .shutdown = h_shutdown };
	struct kvd *kv = kvd_new(&h);
	struct kvd_client *c = kvd_client_new(kv, (void *)1, "bench");
	uint64_t *lat = malloc((size_t)keys * sizeof(*lat));
	uint64_t worst = 0, at_growth = 0;
	long worst_i = 0;
	char req[128];
	for (long i = 0; i < keys; i++) {
		int n = snprintf(req, sizeof(req), "SET key:%07ld value0\r\n", i);
		uint64_t t0 = cpu_ns();
		kvd_client_feed(c, req, (size_t)n);
		lat[i] = cpu_ns() - t0;
		if (lat[i] > worst) {
			worst = lat[i];
			worst_i = i;
		}
		if (i == 1 << 20) /* the 2^20th key is in: this SET doubles the table */
			at_growth = lat[i];
		if (i % 100000 == 0)
			kvd_tick(kv); /* as the runner would, now and then */
	}
	qsort(lat, (size_t)keys, sizeof(*lat), cmp_u64);
	printf("kvd SET CPU time over %ld new keys: p50 %.2f us, p99.9 %.2f us, p99.99 %.2f us\n",
	       keys, lat[keys / 2] / 1e3, lat[keys - keys / 1000] / 1e3,
	       lat[keys - keys / 10000] / 1e3);
	printf("slowest SET: %.3f ms (key %ld); the SET that grew the table past 2^20 keys: %.3f ms\n",
	       worst / 1e6, worst_i, at_growth / 1e6);
	long missing = 0;
	for (long i = 0; i < keys; i++) {
		int n = snprintf(req, sizeof(req), "EXISTS key:%07ld\r\n", i);
		kvd_client_feed(c, req, (size_t)n);
		missing += !(out_len == 4 && !memcmp(out, ":1\r\n", 4));
	}
	printf("%ld of %ld keys missing afterwards\n", missing, keys);
	kvd_client_gone(c);
	kvd_destroy(kv);
	free(lat);
	return missing != 0;
}
