/*
 * Inside the library OS's network stack (lib/net/net.h is its interface): wire
 * formats, byte order, checksums, and how the protocol files reach each
 * other and the outside world.
 *
 * The protocol files (ether.c, arp.c, ipv4.c, udp.c) are pure: they touch
 * the machine only through the four hooks below, which lib/net/net.c implements
 * with system calls and the host unit test (test/test_netstack.c) with
 * fakes. A received frame is only read, never written, and every length
 * is checked before the bytes it covers are.
 */
#ifndef EXO_LIB_NETWIRE_H
#define EXO_LIB_NETWIRE_H

#include <inc/types.h>
#include <lib/net/net.h>

#define ETH_HLEN 14
#define ETH_FRAME_MAX 1514
#define ETH_TYPE_IP 0x0800
#define ETH_TYPE_ARP 0x0806
#define IP_HLEN 20
#define IP_PROTO_ICMP 1
#define IP_PROTO_TCP 6
#define IP_PROTO_UDP 17
#define IP_MTU 1500
#define ICMP_HLEN 8
#define UDP_HLEN 8
#define ARP_LEN 28

struct eth_hdr {
	uint8_t eh_dst[6], eh_src[6];
	uint16_t eh_type;
} __attribute__((packed));

struct arp_pkt {
	uint16_t ap_htype, ap_ptype;
	uint8_t ap_hlen, ap_plen;
	uint16_t ap_oper;
	uint8_t ap_sha[6];
	uint32_t ap_spa;
	uint8_t ap_tha[6];
	uint32_t ap_tpa;
} __attribute__((packed));

struct ip_hdr {
	uint8_t ih_vhl, ih_tos;
	uint16_t ih_len, ih_id, ih_off;
	uint8_t ih_ttl, ih_proto;
	uint16_t ih_sum;
	uint32_t ih_src, ih_dst;
} __attribute__((packed));

#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFMASK 0x1fff

struct icmp_hdr {
	uint8_t ic_type, ic_code;
	uint16_t ic_sum, ic_id, ic_seq;
} __attribute__((packed));

#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO 8
#define ICMP_UNREACH 3

struct udp_hdr {
	uint16_t uh_sport, uh_dport, uh_len, uh_sum;
} __attribute__((packed));

_Static_assert(sizeof(struct eth_hdr) == ETH_HLEN, "");
_Static_assert(sizeof(struct arp_pkt) == ARP_LEN, "");
_Static_assert(sizeof(struct ip_hdr) == IP_HLEN, "");
_Static_assert(sizeof(struct icmp_hdr) == ICMP_HLEN, "");
_Static_assert(sizeof(struct udp_hdr) == UDP_HLEN, "");

static inline uint16_t htons(uint16_t v)
{
	return __builtin_bswap16(v);
}
static inline uint32_t htonl(uint32_t v)
{
	return __builtin_bswap32(v);
}
#define ntohs htons
#define ntohl htonl

/* The Internet checksum (RFC 1071): sum is a running 32-bit sum (0 to
 * start); csum_fold gives the 16-bit complement, in network order when the
 * data summed was. */
uint32_t csum_add(uint32_t sum, const void *data, size_t len);
uint16_t csum_fold(uint32_t sum);

/* --- hooks: lib/net/net.c on Exo, fakes in the host test --- */
/* A buffer of ETH_FRAME_MAX bytes to build an outgoing frame in; NULL
 * until net_open has succeeded (no NIC: nothing may be sent). */
uint8_t *net_txbuf(void);
/* Send the first len bytes of net_txbuf(), with the pieces net_tx_ref
 * attached inserted where they were attached. 0 or -E_* (inside a batch,
 * errors come later and the frame is lost). */
int net_tx(size_t len);
/* Put len bytes at data into the frame being built, by reference (the
 * device reads them in place: they must not change until acknowledged),
 * after the first `at` bytes of net_txbuf() that the frame copies; net_tx's
 * len counts them. false if the frame has no room for another reference
 * (copy the bytes instead). lib/net/net.c only; the host fakes need none. */
bool net_tx_ref(size_t at, const void *data, size_t len);
/* Ask the device to finish the frame being built: flags NET_TX_CSUM (its
 * TCP or UDP checksum), or NET_TX_TSO | mss << NET_TX_MSS_SHIFT (also cut
 * it into segments: inc/net.h). false if the device does not offer that.
 * lib/net/net.c only. */
bool net_tx_offload(uint32_t flags);
/* Forget what net_tx_ref and net_tx_offload said of the frame being built
 * (it will not be sent). lib/net/net.c only. */
void net_tx_cancel(void);
/* The longest the frame being built may be: ETH_FRAME_MAX, or up to
 * NET_TSO_FRAME_MAX once net_tx_offload asked for segmentation. */
size_t net_tx_frame_max(void);
/* Microseconds since some fixed moment. */
uint64_t net_now_us(void);
/* net_poll (lib/net/net.h) completes the set. */

/* --- between the protocol files --- */
extern bool net_in_input; /* a received frame is being processed */
extern bool net_rx_sum_ok; /* ... and the device checked its TCP/UDP checksum */
/* One received frame, from the ring. */
void eth_input(const uint8_t *frame, size_t len);
/* Fill the Ethernet header of net_txbuf() and send len payload bytes
 * already placed after it. */
int eth_output(const uint8_t dst[6], uint16_t type, size_t len);
extern const uint8_t eth_broadcast[6];

void arp_input(const uint8_t *pkt, size_t len);
/* The link layer below (lib/net/net.c; host tests supply their own): have the
 * kernel send us proto/port's packets (returns a filter id or -E_*), and
 * stop. */
int net_claim_port(uint8_t proto, uint16_t port);
void net_unclaim(int filter);
/* Learn ip's hardware address from a frame it sent us. */
void arp_glean(uint32_t ip, const uint8_t mac[6]);
/* The cached MAC of ip, if fresh. */
bool arp_lookup(uint32_t ip, uint8_t mac[6]);
/* Broadcast a request for ip. */
int arp_request(uint32_t ip);

void ip_input(const struct eth_hdr *eh, const uint8_t *pkt, size_t len);
/* Place an IPv4 header in net_txbuf() before len payload bytes already at
 * ip_payload(), and send it to dst_mac. */
int ip_output(const uint8_t dst_mac[6], uint32_t dst, uint8_t proto, size_t len);
static inline uint8_t *ip_payload(void)
{
	return net_txbuf() + ETH_HLEN + IP_HLEN;
}
/* The next hop's MAC for dst (ARP, waiting up to timeout_ms). */
int ip_route(uint32_t dst, uint8_t mac[6], uint64_t timeout_ms);

void icmp_input(const struct eth_hdr *eh, const struct ip_hdr *ih, const uint8_t *pkt, size_t len);
void udp_input(const struct ip_hdr *ih, const uint8_t *pkt, size_t len);
/* TCP segments go here when a stack is attached (lib/net/tcpnet.c sets
 * it; NULL: counted as another protocol). Addresses in host order. */
extern void (*net_tcp_input)(uint32_t src, uint32_t dst, const uint8_t *seg, size_t len);
/* An ICMP destination-unreachable quoting a TCP segment we sent from
 * src:sport to dst:dport (lib/net/tcpnet.c sets it). */
extern void (*net_tcp_unreachable)(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport);
/* The sum of the IPv4 pseudo-header for a UDP datagram of len bytes. */
uint32_t udp_pseudo_sum(uint32_t src, uint32_t dst, size_t len);

#endif
