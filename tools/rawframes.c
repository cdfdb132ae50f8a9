/*
 * rawframes IFNAME COUNT SEED: send COUNT malformed Ethernet frames out of
 * IFNAME (a TAP device whose other end is a guest's NIC) with a raw packet
 * socket, for tools/test-tap. QEMU's user network builds every frame it
 * delivers, so this is the only way hostile frames reach the guest whole.
 *
 * The frames cycle through kinds, each aimed at one check of the guest's
 * receive path (the kernel's demultiplexing, the library OS's parsing):
 * bare headers, IPv4 headers with bad versions, lengths, checksums, fragments,
 * UDP with bad lengths and checksums, truncated ARP and ICMP, unknown and
 * VLAN types, and random bytes - to the guest's MAC and to broadcast. The
 * random parts come from SEED, so a failure can be replayed. Needs root
 * (CAP_NET_RAW). Prints "rawframes: sent N of COUNT".
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }; /* QEMU's default */
static uint8_t host_mac[6];
static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet header to the guest (or broadcast) with type. */
static void ether(uint8_t *f, uint16_t type, int broadcast)
{
	if (broadcast)
		memset(f, 0xff, 6);
	else
		memcpy(f, guest_mac, 6);
	memcpy(f + 6, host_mac, 6);
	put16(f + 12, type);
}

/* A well-formed IPv4 header at f + 14 (10.0.2.2 -> 10.0.2.15), total
 * length tot, protocol proto, checksum filled in. */
static void ipv4(uint8_t *f, uint16_t tot, uint8_t proto)
{
	uint8_t *ip = f + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, tot);
	ip[8] = 64;
	ip[9] = proto;
	ip[12] = 10, ip[13] = 0, ip[14] = 2, ip[15] = 2;
	ip[16] = 10, ip[17] = 0, ip[18] = 2, ip[19] = 15;
	put16(ip + 10, csum(ip, 20));
}

/* UDP header at f + 34 to port 5555 with length ulen (checksum 0: none). */
static void udp(uint8_t *f, uint16_t ulen)
{
	uint8_t *u = f + 34;
	put16(u, 40000);
	put16(u + 2, 5555);
	put16(u + 4, ulen);
	put16(u + 6, 0);
}

/* Ethernet, IPv4 (total length tot) and UDP (length ulen) headers. */
static void ipv4_udp(uint8_t *f, uint16_t tot, uint16_t ulen)
{
	ether(f, ETHERTYPE_IP, 0);
	ipv4(f, tot, IPPROTO_UDP);
	udp(f, ulen);
}

#define KINDS 20

/* Frame kind k into f: its length. */
static size_t make(uint8_t *f, int k)
{
	size_t n;
	memset(f, 0, 1514);
	switch (k) {
	case 0: /* an IP version other than 4 (no runts: a packet socket
		 * refuses frames shorter than the Ethernet header) */
		ether(f, ETHERTYPE_IP, 0);
		ipv4(f, 40, IPPROTO_UDP);
		f[14] = (uint8_t)((rnd() % 15 + 5) << 4 | 5); /* 5..19: never 4 */
		return 60;
	case 1: /* an Ethernet header and nothing after it */ ether(f, ETHERTYPE_IP, 0); return 14;
	case 2: /* IPv4 header length below 5 words */
		ether(f, ETHERTYPE_IP, 0);
		ipv4(f, 28, IPPROTO_UDP);
		f[14] = 0x40 | (uint8_t)(rnd() % 5);
		return 60;
	case 3: /* header length beyond the frame */
		ether(f, ETHERTYPE_IP, 0);
		ipv4(f, 60, IPPROTO_UDP);
		f[14] = 0x4f;
		return 40;
	case 4: /* total length beyond the frame */ ipv4_udp(f, 1400, 1380); return 60;
	case 5: /* total length below the header */
		ether(f, ETHERTYPE_IP, 0);
		ipv4(f, 12, IPPROTO_UDP);
		return 60;
	case 6: /* bad header checksum */
		ipv4_udp(f, 40, 20);
		f[24] ^= 0x5a;
		return 60;
	case 7: /* a fragment (more fragments, or an offset) */
		ipv4_udp(f, 40, 20);
		put16(f + 20, rnd() & 1 ? 0x2000 : (uint16_t)(1 + rnd() % 0x1fff));
		put16(f + 24, 0);
		put16(f + 24, csum(f + 14, 20));
		return 60;
	case 8: /* UDP length beyond the datagram */ ipv4_udp(f, 40, 500); return 60;
	case 9: /* UDP length below its header */ ipv4_udp(f, 40, (uint16_t)(rnd() % 8)); return 60;
	case 10: /* UDP checksum wrong (nonzero: must be checked) */
		ipv4_udp(f, 40, 20);
		memcpy(f + 42, "bad-checksum", 12);
		put16(f + 40, 0x1234);
		return 60;
	case 11: /* ARP cut short */
		ether(f, ETHERTYPE_ARP, rnd() & 1);
		put16(f + 14, 1);
		put16(f + 16, ETHERTYPE_IP);
		return 14 + rnd() % 20;
	case 12: /* ARP with absurd address lengths */
		ether(f, ETHERTYPE_ARP, 1);
		put16(f + 14, 1);
		put16(f + 16, ETHERTYPE_IP);
		f[18] = (uint8_t)rnd();
		f[19] = (uint8_t)rnd();
		put16(f + 20, 1);
		return 60;
	case 13: /* ICMP echo request shorter than its header */
		ether(f, ETHERTYPE_IP, 0);
		ipv4(f, 23, IPPROTO_ICMP);
		f[34] = 8;
		return 60;
	case 14: /* ICMP echo with a wrong checksum */
		ether(f, ETHERTYPE_IP, 0);
		ipv4(f, 40, IPPROTO_ICMP);
		f[34] = 8;
		put16(f + 36, 0xbeef);
		return 60;
	case 15: /* an unknown protocol */
		ether(f, ETHERTYPE_IP, 0);
		ipv4(f, 40, (uint8_t)(200 + rnd() % 50));
		return 60;
	case 16: /* an unknown Ethernet type */
		ether(f, (uint16_t)(0x9000 + rnd() % 0x100), 0);
		return 60 + rnd() % 100;
	case 17: /* VLAN-tagged IPv4 */
		ether(f, 0x8100, 0);
		put16(f + 14, 5);
		put16(f + 16, ETHERTYPE_IP);
		return 64;
	case 18: /* random bytes to the guest, any length */
		n = 14 + rnd() % (1514 - 14 + 1);
		for (size_t i = 0; i < n; i++)
			f[i] = (uint8_t)rnd();
		memcpy(f, guest_mac, 6);
		return n;
	default: /* random bytes, broadcast, with an IPv4 type */
		n = 14 + rnd() % 200;
		for (size_t i = 0; i < n; i++)
			f[i] = (uint8_t)rnd();
		ether(f, ETHERTYPE_IP, 1);
		return n;
	}
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: rawframes IFNAME COUNT SEED\n");
		return 2;
	}
	long count = atol(argv[2]);
	rng = strtoull(argv[3], NULL, 0) | 1;
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
		perror("rawframes");
		return 1;
	}
	memcpy(host_mac, ifr.ifr_hwaddr.sa_data, 6);
	struct sockaddr_ll to = { .sll_family = AF_PACKET,
				  .sll_ifindex = (int)if_nametoindex(argv[1]),
				  .sll_halen = 6 };
	memcpy(to.sll_addr, guest_mac, 6);
	static uint8_t f[1514];
	long sent = 0;
	for (long i = 0; i < count; i++) {
		size_t n = make(f, (int)(i % KINDS));
		if (sendto(s, f, n, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)n)
			sent++;
		if (i % 64 == 63)
			usleep(2000); /* let the guest drain its ring: dropped is fine, but
				       * these are meant to be parsed */
	}
	printf("rawframes: sent %ld of %ld\n", sent, count);
	return sent > 0 ? 0 : 1;
}
