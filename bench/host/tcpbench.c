/*
 * tcpbench IP PORT ROUNDS BULK_BYTES: make bench's TCP rows, timed from the
 * host side of a TAP device against a guest's echo server (Exo's
 * user/srv/sockecho.c or the Linux guest's bench/linux/tcpecho.c, which
 * speak the same). Prints BENCH lines tools/bench reads:
 *   BENCH tcp_conn_per_s N      connect, 1-byte exchange, close; ROUNDS times
 *   BENCH tcp_rtt_p50_ns N      1-byte ping-pong on one connection, ROUNDS
 *   BENCH tcp_rtt_p99_ns N
 *   BENCH tcp_bulk_in_kbps N    BULK_BYTES to the guest ("SINK"), KB/s
 *   BENCH tcp_bulk_out_kbps N   BULK_BYTES from the guest ("GEN "), KB/s
 * then sends QUIT. Exits 1 with a message if an exchange fails.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in dst;

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int dial_once(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct timeval tv = { 20, 0 };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (s >= 0 && connect(s, (struct sockaddr *)&dst, sizeof(dst)) == 0)
		return s;
	if (s >= 0)
		close(s);
	return -1;
}

static int dial(void)
{
	int s = dial_once();
	if (s < 0) {
		perror("tcpbench: connect");
		exit(1);
	}
	return s;
}

static void pingpong(int s)
{
	char b = 'x';
	if (send(s, &b, 1, 0) != 1 || recv(s, &b, 1, MSG_WAITALL) != 1) {
		perror("tcpbench: 1-byte exchange");
		exit(1);
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: tcpbench IP PORT ROUNDS BULK_BYTES\n");
		return 2;
	}
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)atoi(argv[2]));
	inet_pton(AF_INET, argv[1], &dst.sin_addr);
	int rounds = atoi(argv[3]);
	uint64_t bulk = strtoull(argv[4], NULL, 10);
	if (rounds < 1 || bulk < 1)
		return 2;

	/* the guest has just said it listens: give ARP and its stack a moment */
	int first = -1;
	for (int tries = 0; first < 0 && tries < 100; tries++)
		if ((first = dial_once()) < 0)
			usleep(100000);
	if (first < 0) {
		perror("tcpbench: connect");
		return 1;
	}
	pingpong(first);
	close(first);

	/* connection rate */
	double t0 = now_ns();
	for (int i = 0; i < rounds; i++) {
		int s = dial();
		pingpong(s);
		close(s);
	}
	printf("BENCH tcp_conn_per_s %.0f\n", rounds / ((now_ns() - t0) / 1e9));

	/* latency */
	double *rtt = malloc(sizeof(double) * (size_t)rounds);
	int s = dial();
	for (int i = 0; i < 10; i++)
		pingpong(s); /* warm */
	for (int i = 0; i < rounds; i++) {
		double a = now_ns();
		pingpong(s);
		rtt[i] = now_ns() - a;
	}
	close(s);
	qsort(rtt, (size_t)rounds, sizeof(double), cmp);
	printf("BENCH tcp_rtt_p50_ns %.0f\n", rtt[rounds / 2]);
	printf("BENCH tcp_rtt_p99_ns %.0f\n", rtt[(int)(rounds * 0.99)]);

	/* bulk to the guest */
	static uint8_t buf[65536];
	s = dial();
	t0 = now_ns();
	send(s, "SINK", 4, 0);
	for (uint64_t sent = 0; sent < bulk;) {
		ssize_t n = send(s, buf, bulk - sent < sizeof(buf) ? bulk - sent : sizeof(buf), 0);
		if (n <= 0) {
			perror("tcpbench: bulk send");
			return 1;
		}
		sent += (uint64_t)n;
	}
	shutdown(s, SHUT_WR);
	uint64_t got = 0;
	if (recv(s, &got, 8, MSG_WAITALL) != 8 || got != bulk) {
		fprintf(stderr, "tcpbench: the guest counted %llu of %llu\n",
			(unsigned long long)got, (unsigned long long)bulk);
		return 1;
	}
	printf("BENCH tcp_bulk_in_kbps %.0f\n", bulk / ((now_ns() - t0) / 1e9) / 1000);
	close(s);

	/* bulk from the guest */
	s = dial();
	t0 = now_ns();
	uint8_t cmd[12] = "GEN ";
	memcpy(cmd + 4, &bulk, 8);
	send(s, cmd, sizeof(cmd), 0);
	got = 0;
	for (;;) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);
		if (n < 0) {
			perror("tcpbench: bulk recv");
			return 1;
		}
		if (n == 0)
			break;
		got += (uint64_t)n;
	}
	if (got != bulk) {
		fprintf(stderr, "tcpbench: got %llu of %llu\n", (unsigned long long)got,
			(unsigned long long)bulk);
		return 1;
	}
	printf("BENCH tcp_bulk_out_kbps %.0f\n", bulk / ((now_ns() - t0) / 1e9) / 1000);
	close(s);

	s = dial();
	send(s, "QUIT", 4, 0);
	shutdown(s, SHUT_WR);
	char b[8];
	while (recv(s, b, sizeof(b), 0) > 0)
		;
	close(s);
	return 0;
}
