/*
 * udpecho [-k] [PORT]: a UDP echo server on PORT (default 5555) of
 * 10.0.2.15. Every datagram goes back to its sender unchanged; the datagram
 * "quit" (or "!quit") is answered "bye" and ends the server (after a second
 * in which it answers any datagram "bye"), which then prints what its
 * network stack counted (frames dropped, and why) and exits 0.
 *
 * -k: the echo is answered in the kernel, on arrival, by a packet handler
 * (user/bpf/udp_echo_ash.c) attached to the port's filter; the env sleeps
 * and sees only the datagrams the handler passes on: those starting with
 * '!', so "!quit" ends it. make bench compares the two (doc/bench).
 */
#include <lib/base/libos.h>
#include <lib/net/net.h>
#include <lib/base/vm.h>
#include <lib/base/wakeup.h>

static char buf[UDP_PAYLOAD_MAX];

/* Attach the echo handler to socket s's filter: 0 or -E_*. */
static long echo_in_kernel(int s)
{
	/* the handler builds the reply here, in a page of ours */
	void *scratch = vm_alloc_shared(PAGE_SIZE);
	if (!scratch)
		return -E_NO_MEM;
	struct bpf_grant g = { (uint64_t)scratch, PAGE_SIZE, BPF_REGION_READ | BPF_REGION_WRITE,
			       0 };
	struct bpf_load_error err;
	long slot = bpf_attach_packet(udp_filter(s), bpfobj_udp_echo_ash,
				      (size_t)(bpfobj_udp_echo_ash_end - bpfobj_udp_echo_ash), &g,
				      1, &err);
	if (slot == -E_REFUSED)
		printf("udpecho: the handler was refused: %s\n", err.le_msg);
	return slot < 0 ? slot : 0;
}

static bool is_quit(const char *b, long n)
{
	return (n == 4 && memcmp(b, "quit", 4) == 0) || (n == 5 && memcmp(b, "!quit", 5) == 0);
}

int main(int argc, char **argv)
{
	bool in_kernel = argc > 1 && strcmp(argv[1], "-k") == 0;
	if (in_kernel)
		argc--, argv++;
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
	long k = in_kernel ? echo_in_kernel(s) : 0;
	if (k < 0) {
		printf("udpecho: cannot answer in the kernel: %le\n", k);
		return 2;
	}
	printf("udpecho: listening on 10.0.2.15 port %u%s\n", port,
	       in_kernel ? " (echo by a packet handler in the kernel)" : "");
	struct net_info before, after;
	sys_net_info(&before);
	unsigned long echoed = 0;
	uint32_t ip;
	uint16_t from;
	for (;;) {
		long n = udp_recvfrom(s, buf, sizeof(buf), &ip, &from, UINT64_MAX);
		if (n < 0) {
			printf("udpecho: recvfrom: %le\n", n);
			return 1;
		}
		if (is_quit(buf, n))
			break;
		if ((r = udp_sendto(s, buf, (size_t)n, ip, from)) < 0)
			printf("udpecho: sendto: %e\n", r);
		else
			echoed++;
	}
	sys_net_info(&after);
	/* "bye" to every "quit" for a second more: one may be lost, and the
	 * machine may stop as soon as this program ends */
	do {
		udp_sendto(s, "bye", 3, ip, from);
	} while (udp_recvfrom(s, buf, sizeof(buf), &ip, &from, 1000) >= 0);
	uint64_t turns = after.ni_turn_count - before.ni_turn_count;
	printf("udpecho: turnaround %lu cycles on average over %lu replies\n",
	       turns ? (after.ni_turn_cycles - before.ni_turn_cycles) / turns : 0, turns);
	const struct net_stats *st = &net_stats;
	printf("udpecho: %lu echoed, %lu by the kernel; frames %lu, runt %lu, other type %lu, "
	       "ip bad header %lu, bad checksum %lu, fragments %lu, not ours %lu; udp bad %lu, "
	       "no port %lu, queue full %lu; arp bad %lu, icmp bad %lu\n",
	       echoed, after.ni_rx_ash - before.ni_rx_ash, st->rx_frames, st->rx_runt,
	       st->rx_other_type, st->ip_bad_header, st->ip_bad_checksum, st->ip_fragments,
	       st->ip_not_ours, st->udp_bad, st->udp_no_port, st->udp_queue_full, st->arp_bad,
	       st->icmp_bad);
	udp_close(s);
	net_close();
	return 0;
}
