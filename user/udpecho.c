/*
 * udpecho [PORT]: a UDP echo server on PORT (default 5555) of 10.0.2.15.
 * Every datagram goes back to its sender unchanged; the datagram "quit" is
 * answered "bye" and ends the server (after a second in which it answers
 * any datagram "bye"), which then prints what its network stack counted
 * (frames dropped, and why) and exits 0.
 */
#include <lib/libos.h>
#include <lib/net.h>

static char buf[UDP_PAYLOAD_MAX];

int main(int argc, char **argv)
{
	uint16_t port = argc > 1 ? (uint16_t)strtoul(argv[1], NULL, 10) : 5555;
	int r = net_open();
	if (r < 0) {
		printf("udpecho: no network: %e\n", r);
		return 2;
	}
	int s = udp_socket();
	if (s < 0 || (r = udp_bind(s, port)) < 0) {
		printf("udpecho: cannot bind port %u: %e\n", port, s < 0 ? s : r);
		return 2;
	}
	printf("udpecho: listening on 10.0.2.15 port %u\n", port);
	unsigned long echoed = 0;
	uint32_t ip;
	uint16_t from;
	for (;;) {
		long n = udp_recvfrom(s, buf, sizeof(buf), &ip, &from, UINT64_MAX);
		if (n < 0) {
			printf("udpecho: recvfrom: %le\n", n);
			return 1;
		}
		if (n == 4 && memcmp(buf, "quit", 4) == 0)
			break;
		if ((r = udp_sendto(s, buf, (size_t)n, ip, from)) < 0)
			printf("udpecho: sendto: %e\n", r);
		else
			echoed++;
	}
	/* "bye" to every "quit" for a second more: one may be lost, and the
	 * machine may stop as soon as this program ends */
	do {
		udp_sendto(s, "bye", 3, ip, from);
	} while (udp_recvfrom(s, buf, sizeof(buf), &ip, &from, 1000) >= 0);
	const struct net_stats *st = &net_stats;
	printf("udpecho: %lu echoed; frames %lu, runt %lu, other type %lu, ip bad header %lu, "
	       "bad checksum %lu, fragments %lu, not ours %lu; udp bad %lu, no port %lu, "
	       "queue full %lu\n",
	       echoed, st->rx_frames, st->rx_runt, st->rx_other_type, st->ip_bad_header,
	       st->ip_bad_checksum, st->ip_fragments, st->ip_not_ours, st->udp_bad,
	       st->udp_no_port, st->udp_queue_full);
	udp_close(s);
	net_close();
	return 0;
}
