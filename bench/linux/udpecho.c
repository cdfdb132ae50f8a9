/*
 * udpecho PORT: the Linux guest's UDP echo server for make bench's network
 * rows, the counterpart of Exo's user/srv/udpecho.c. Every datagram goes back to
 * its sender unchanged; "quit" is answered "bye" and ends it (the guest's
 * /init then powers off). Plain blocking sockets: what a Linux program
 * would do.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	struct sockaddr_in me = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)(argc > 1 ? atoi(argv[1]) : 5555)),
				  .sin_addr.s_addr = htonl(INADDR_ANY) };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&me, sizeof(me)) < 0) {
		perror("udpecho");
		return 1;
	}
	printf("udpecho: listening on port %u\n", ntohs(me.sin_port));
	fflush(stdout);
	char buf[2048];
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			perror("udpecho: recvfrom");
			return 1;
		}
		if (n == 4 && memcmp(buf, "quit", 4) == 0) {
			sendto(s, "bye", 3, 0, (struct sockaddr *)&from, fl);
			return 0;
		}
		if (sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, fl) < 0)
			perror("udpecho: sendto");
	}
}
