/*
 * udprtt IP PORT ROUNDS NAME QUIT: UDP echo round trips from the host, one
 * datagram in flight at a time, for make bench's network rows (tools/bench
 * runs it inside the benchmark's network namespace).
 *
 * Waits up to 120 s for the server's first answer (the guest is booting),
 * warms up, then times ROUNDS round trips of a 32-byte datagram with
 * CLOCK_MONOTONIC and prints the same line the guests' benchmarks print,
 * in nanoseconds: "BENCH NAME MEDIAN MIN ROUNDS". A datagram that gets no
 * answer within a second is sent again and counted ("UDPRTT NAME: N sent
 * again"); a stale answer (an earlier round's) is skipped. Then it sends QUIT
 * until the server says "bye" (3 tries). Exits 1 if the server never
 * answered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD 32
#define WARMUP 100
#define BOOT_WAIT_S 120

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void set_timeout(int s, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* One round trip of a datagram carrying seq: 0, or -1 on a timeout. */
static int round_trip(int s, uint32_t seq)
{
	char out[PAYLOAD], in[2048];
	memset(out, 'e', sizeof(out));
	memcpy(out, &seq, sizeof(seq));
	if (send(s, out, sizeof(out), 0) < 0)
		return -1;
	for (;;) {
		ssize_t n = recv(s, in, sizeof(in), 0);
		if (n < 0)
			return -1; /* timed out (or refused: the port is not up yet) */
		if (n == (ssize_t)sizeof(out) && memcmp(in, out, sizeof(out)) == 0)
			return 0;
		/* an answer to an earlier, retried round: not this one */
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: udprtt IP PORT ROUNDS NAME QUIT\n");
		return 2;
	}
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)atoi(argv[2])) };
	long rounds = atol(argv[3]);
	if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1 || rounds < 1 || rounds > 10000000) {
		fprintf(stderr, "udprtt: bad address or round count\n");
		return 2;
	}
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&to, sizeof(to)) < 0) {
		perror("udprtt");
		return 1;
	}
	uint32_t seq = 0;
	set_timeout(s, 200);
	uint64_t deadline = now_ns() + BOOT_WAIT_S * 1000000000ull;
	while (round_trip(s, ++seq) < 0) {
		if (now_ns() > deadline) {
			fprintf(stderr, "udprtt: no answer from %s:%s in %d s\n", argv[1], argv[2],
				BOOT_WAIT_S);
			return 1;
		}
		if (errno == ECONNREFUSED)
			usleep(200000); /* an ICMP error came back at once: wait anyway */
	}
	set_timeout(s, 1000);
	long lost = 0;
	for (int i = 0; i < WARMUP; i++)
		while (round_trip(s, ++seq) < 0)
			lost++;
	uint64_t *t = malloc((size_t)rounds * sizeof(*t));
	if (!t)
		return 1;
	for (long i = 0; i < rounds; i++) {
		uint64_t t0 = now_ns();
		while (round_trip(s, ++seq) < 0) {
			lost++;
			t0 = now_ns(); /* time only the attempt that was answered */
		}
		t[i] = now_ns() - t0;
	}
	qsort(t, (size_t)rounds, sizeof(*t), cmp_u64);
	printf("BENCH %s %llu %llu %ld\n", argv[4], (unsigned long long)t[rounds / 2],
	       (unsigned long long)t[0], rounds);
	if (lost)
		printf("UDPRTT %s: %ld sent again\n", argv[4], lost);
	char bye[16];
	for (int i = 0; i < 3; i++) {
		if (send(s, argv[5], strlen(argv[5]), 0) < 0)
			break;
		ssize_t n = recv(s, bye, sizeof(bye), 0);
		if (n == 3 && memcmp(bye, "bye", 3) == 0)
			break;
	}
	return 0;
}
