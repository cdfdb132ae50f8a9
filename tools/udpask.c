/*
 * udpask [ADDRESS:]PORT MESSAGE: send MESSAGE as one UDP datagram to
 * ADDRESS:PORT (default 127.0.0.1) and print the one datagram that answers
 * it (nothing after 10 s). For tools/test-net and tools/test-tap: bash's
 * /dev/udp reads either one byte at a time (losing the rest of a datagram)
 * or wait out their timeout.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: udpask [ADDRESS:]PORT MESSAGE\n");
		return 2;
	}
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = { .sin_family = AF_INET };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	char addr[64];
	const char *colon = strrchr(argv[1], ':');
	const char *port = colon ? colon + 1 : argv[1];
	if (colon) {
		snprintf(addr, sizeof(addr), "%.*s", (int)(colon - argv[1]), argv[1]);
		if (inet_pton(AF_INET, addr, &to.sin_addr) != 1) {
			fprintf(stderr, "udpask: bad address %s\n", addr);
			return 2;
		}
	}
	to.sin_port = htons((uint16_t)atoi(port));
	struct timeval tv = { 10, 0 };
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(s, (struct sockaddr *)&to, sizeof(to)) < 0 ||
	    send(s, argv[2], strlen(argv[2]), 0) < 0) {
		perror("udpask");
		return 1;
	}
	char buf[2048];
	ssize_t n = recv(s, buf, sizeof(buf), 0);
	if (n > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	return n > 0 ? 0 : 1;
}
