/*
 * udpprobe HOSTPORT: the host's half of the network test (tools/test-net).
 * Talks to user/udpecho inside Exo through QEMU's user network, which
 * forwards 127.0.0.1:HOSTPORT to the guest, and prints one PASS/FAIL line
 * per check:
 *
 *   echo of a short text, of an empty datagram, of the largest unfragmented
 *   payload (1472 random bytes), of 50 in a row; a 3000-byte datagram, which
 *   QEMU must fragment and the guest refuses (no echo); a burst of 300
 *   datagrams of random sizes and bytes, sent without waiting, after which
 *   the server still answers; and "quit", answered "bye".
 *
 * Every wait is bounded (a second per try). Each check's datagrams carry a
 * fresh tag, so a late echo from an earlier check is never mistaken for one.
 * Built and run by tools/test-net with the host compiler; nothing Exo's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PAYLOAD_MAX 1472
#define WAIT_MS 1000

static int sock;
static int failures;
static unsigned tag;
static unsigned seed = 7;

static void result(const char *name, bool ok, const char *why)
{
	if (ok) {
		printf("PASS: net.%s\n", name);
	} else {
		printf("FAIL: net.%s: %s\n", name, why);
		failures++;
	}
	fflush(stdout);
}

static unsigned rnd(void)
{
	seed = seed * 1103515245 + 12345;
	return seed >> 8;
}

/* Wait up to ms for a datagram; its length, or -1. */
static long receive(void *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	if (poll(&p, 1, ms) <= 0)
		return -1;
	return recv(sock, buf, len, 0);
}

/* Send msg (which starts with its tag) and wait for the same bytes back,
 * ignoring anything else; tries times, WAIT_MS each. */
static bool echo(const void *msg, size_t len, int tries)
{
	static char back[65536];
	for (int t = 0; t < tries; t++) {
		if (send(sock, msg, len, 0) < 0)
			return false;
		for (;;) {
			long n = receive(back, sizeof(back), WAIT_MS);
			if (n < 0)
				break; /* timed out: send again */
			if ((size_t)n == len && memcmp(back, msg, len) == 0)
				return true;
		}
	}
	return false;
}

/* A message of len bytes: a fresh tag, then random bytes. */
static size_t make(char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)rnd();
	if (len >= 8)
		snprintf(buf, 8, "%07u", ++tag);
	return len;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: udpprobe HOSTPORT\n");
		return 2;
	}
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)atoi(argv[1])) };
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&to, sizeof(to)) < 0) {
		perror("udpprobe: socket");
		return 2;
	}
	int big = 1 << 20;
	setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));

	static char msg[4096];
	snprintf(msg, sizeof(msg), "%07u hello from the host", ++tag);
	result("udp-echo", echo(msg, strlen(msg), 10), "no echo in 10 s");
	result("udp-echo-empty", echo("", 0, 3), "no empty echo");
	result("udp-echo-max", echo(msg, make(msg, PAYLOAD_MAX), 3), "no 1472-byte echo");

	int ok = 0;
	for (int i = 0; i < 50; i++)
		ok += echo(msg, make(msg, 8 + rnd() % 200), 3);
	char why[64];
	snprintf(why, sizeof(why), "%d of 50 echoed", ok);
	result("udp-echo-50", ok == 50, why);

	/* QEMU fragments it on the way in; the guest drops fragments */
	result("udp-fragments-refused", !echo(msg, make(msg, 3000), 1),
	       "a fragmented datagram came back");

	/* a burst of junk without waiting: some may be dropped, none may hurt */
	for (int i = 0; i < 300; i++) {
		size_t n = make(msg, rnd() % (PAYLOAD_MAX + 1));
		if (send(sock, msg, n, 0) < 0 && errno != ECONNREFUSED)
			break;
	}
	long n;
	int back = 0;
	while ((n = receive(msg, sizeof(msg), 2 * WAIT_MS)) >= 0)
		back++;
	printf("udpprobe: %d of 300 burst datagrams echoed\n", back);
	snprintf(msg, sizeof(msg), "%07u still there?", ++tag);
	result("udp-survives-junk", echo(msg, strlen(msg), 5), "no echo after the burst");

	bool bye = false;
	for (int t = 0; t < 3 && !bye; t++) {
		send(sock, "quit", 4, 0);
		while (!bye && (n = receive(msg, sizeof(msg), WAIT_MS)) >= 0)
			bye = n == 3 && memcmp(msg, "bye", 3) == 0;
	}
	result("udp-quit", bye, "no bye");
	close(sock);
	return failures ? 1 : 0;
}
