/*
 * IPv4 (RFC 791) and ICMP echo (RFC 792) for the library OS's stack.
 *
 * Input checks, in order, each failure counted under its own reason: a
 * header of at least 20 bytes, version 4, a header length of 5..15 words
 * within the frame, a total length covering the header and within the
 * frame (Ethernet padding after it is ignored), a valid header checksum,
 * then the destination (ours, or broadcast). Fragments are refused: any
 * packet with more-fragments set or a nonzero offset is dropped and
 * counted, since nothing here sends datagrams that need them (reassembly
 * would be buffer management the stack has no use for).
 *
 * Output: no options, don't-fragment set, TTL 64, an identification that
 * counts up. The next hop is the destination on our subnet, else the
 * gateway.
 *
 * ICMP: echo requests get a reply with the same identifier, sequence and
 * data, sent straight back to the requester's MAC; echo replies are kept
 * (the last few) for net_ping. Other types are counted and ignored.
 */
#include <inc/error.h>
#include <lib/net/netwire.h>
#include <common/string.h>

#define IP_TTL 64
#define PINGS_KEPT 8

static uint16_t next_id;
void (*net_tcp_input)(uint32_t src, uint32_t dst, const uint8_t *seg, size_t len);

/* Echo replies received, for net_ping: (id, seq) and when. */
static struct {
	uint16_t id, seq;
	bool valid;
	uint64_t at_us;
} pongs[PINGS_KEPT];
static unsigned pong_next;

static bool ours(uint32_t dst)
{
	uint32_t bcast = net_config.nc_ip | ~net_config.nc_mask;
	return dst == net_config.nc_ip || dst == 0xffffffff || dst == bcast;
}

void ip_input(const struct eth_hdr *eh, const uint8_t *pkt, size_t len)
{
	net_stats.ip_in++;
	const struct ip_hdr *ih = (const struct ip_hdr *)pkt;
	if (len < IP_HLEN || (ih->ih_vhl >> 4) != 4) {
		net_stats.ip_bad_header++;
		return;
	}
	size_t hlen = (size_t)(ih->ih_vhl & 0xf) * 4, total = ntohs(ih->ih_len);
	if (hlen < IP_HLEN || hlen > len || total < hlen || total > len) {
		net_stats.ip_bad_header++;
		return;
	}
	if (csum_fold(csum_add(0, pkt, hlen)) != 0) {
		net_stats.ip_bad_checksum++;
		return;
	}
	if (ntohs(ih->ih_off) & (IP_MF | IP_OFFMASK)) {
		net_stats.ip_fragments++;
		return;
	}
	if (!ours(ntohl(ih->ih_dst))) {
		net_stats.ip_not_ours++;
		return;
	}
	/* An env that receives only its filtered traffic never sees ARP
	 * replies (they go to the default receiver): learn the sender's
	 * address from its datagrams instead - only a neighbour's: a flood
	 * from forged distant sources must not push the gateway out. */
	uint32_t src = ntohl(ih->ih_src);
	if ((src & net_config.nc_mask) == (net_config.nc_ip & net_config.nc_mask))
		arp_glean(src, eh->eh_src);
	switch (ih->ih_proto) {
	case IP_PROTO_ICMP: icmp_input(eh, ih, pkt + hlen, total - hlen); break;
	case IP_PROTO_UDP: udp_input(ih, pkt + hlen, total - hlen); break;
	case IP_PROTO_TCP:
		if (net_tcp_input) {
			net_stats.tcp_in++;
			net_tcp_input(ntohl(ih->ih_src), ntohl(ih->ih_dst), pkt + hlen,
				      total - hlen);
			break;
		}
		net_stats.ip_other_proto++;
		break;
	default: net_stats.ip_other_proto++;
	}
}

int ip_output(const uint8_t dst_mac[6], uint32_t dst, uint8_t proto, size_t len)
{
	if (len > net_tx_frame_max() - ETH_HLEN - IP_HLEN)
		return -E_TOO_BIG; /* IP_MTU, unless the device segments it */
	struct ip_hdr *ih = (struct ip_hdr *)(net_txbuf() + ETH_HLEN);
	ih->ih_vhl = 0x45;
	ih->ih_tos = 0;
	ih->ih_len = htons((uint16_t)(IP_HLEN + len));
	ih->ih_id = htons(next_id++);
	ih->ih_off = htons(IP_DF);
	ih->ih_ttl = IP_TTL;
	ih->ih_proto = proto;
	ih->ih_sum = 0;
	ih->ih_src = htonl(net_config.nc_ip);
	ih->ih_dst = htonl(dst);
	ih->ih_sum = csum_fold(csum_add(0, ih, IP_HLEN));
	return eth_output(dst_mac, ETH_TYPE_IP, IP_HLEN + len);
}

int ip_route(uint32_t dst, uint8_t mac[6], uint64_t timeout_ms)
{
	if (dst == 0xffffffff || dst == (net_config.nc_ip | ~net_config.nc_mask)) {
		memcpy(mac, eth_broadcast, 6);
		return 0;
	}
	bool local = (dst & net_config.nc_mask) == (net_config.nc_ip & net_config.nc_mask);
	return arp_resolve(local ? dst : net_config.nc_gw, mac, timeout_ms);
}

void (*net_tcp_unreachable)(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport);

/* A destination-unreachable's quote of a datagram we sent (its IP header
 * and at least 8 bytes after): for TCP, a soft error for the connection
 * (RFC 1122 4.2.3.9; RFC 5927 on why never more). Anything that does not
 * hold a whole header and the ports is counted and ignored. */
static void unreachable(const uint8_t *q, size_t len)
{
	const struct ip_hdr *oh = (const struct ip_hdr *)q;
	size_t hlen = len >= IP_HLEN ? (size_t)(oh->ih_vhl & 0x0f) * 4 : 0;
	if (len < IP_HLEN || (oh->ih_vhl >> 4) != 4 || hlen < IP_HLEN || len < hlen + 8 ||
	    !ours(ntohl(oh->ih_src))) {
		net_stats.icmp_bad++;
		return;
	}
	net_stats.icmp_unreach++;
	if (oh->ih_proto != IP_PROTO_TCP || !net_tcp_unreachable)
		return;
	const uint8_t *t = q + hlen;
	net_tcp_unreachable(ntohl(oh->ih_src), (uint16_t)(t[0] << 8 | t[1]), ntohl(oh->ih_dst),
			    (uint16_t)(t[2] << 8 | t[3]));
}

void icmp_input(const struct eth_hdr *eh, const struct ip_hdr *ih, const uint8_t *pkt, size_t len)
{
	net_stats.icmp_in++;
	const struct icmp_hdr *ic = (const struct icmp_hdr *)pkt;
	if (len < ICMP_HLEN || csum_fold(csum_add(0, pkt, len)) != 0) {
		net_stats.icmp_bad++;
		return;
	}
	if (ic->ic_type == ICMP_ECHO && ic->ic_code == 0) {
		uint32_t src = ntohl(ih->ih_src);
		if (!ours(src) && (src >> 24) != 127 && len <= IP_MTU - IP_HLEN) {
			uint8_t *out = ip_payload();
			memcpy(out, pkt, len);
			struct icmp_hdr *oc = (struct icmp_hdr *)out;
			oc->ic_type = ICMP_ECHO_REPLY;
			oc->ic_sum = 0;
			oc->ic_sum = csum_fold(csum_add(0, out, len));
			uint8_t mac[6];
			memcpy(mac, eh->eh_src, 6);
			if (ip_output(mac, src, IP_PROTO_ICMP, len) == 0)
				net_stats.icmp_echo_replied++;
		}
	} else if (ic->ic_type == ICMP_UNREACH) {
		unreachable(pkt + ICMP_HLEN, len - ICMP_HLEN);
	} else if (ic->ic_type == ICMP_ECHO_REPLY) {
		pongs[pong_next].id = ntohs(ic->ic_id);
		pongs[pong_next].seq = ntohs(ic->ic_seq);
		pongs[pong_next].valid = true;
		pongs[pong_next].at_us = net_now_us();
		pong_next = (pong_next + 1) % PINGS_KEPT;
	}
}

int icmp_echo_send(uint32_t dst, uint16_t id, uint16_t seq, const void *data, size_t len)
{
	if (len > IP_MTU - IP_HLEN - ICMP_HLEN)
		return -E_TOO_BIG;
	uint8_t mac[6];
	int r = ip_route(dst, mac, 3000);
	if (r < 0)
		return r;
	uint8_t *out = ip_payload();
	struct icmp_hdr *ic = (struct icmp_hdr *)out;
	ic->ic_type = ICMP_ECHO;
	ic->ic_code = 0;
	ic->ic_sum = 0;
	ic->ic_id = htons(id);
	ic->ic_seq = htons(seq);
	memcpy(out + ICMP_HLEN, data, len);
	ic->ic_sum = csum_fold(csum_add(0, out, ICMP_HLEN + len));
	return ip_output(mac, dst, IP_PROTO_ICMP, ICMP_HLEN + len);
}

static bool pong_seen(uint16_t id, uint16_t seq, uint64_t *at_us)
{
	for (int i = 0; i < PINGS_KEPT; i++) {
		if (pongs[i].valid && pongs[i].id == id && pongs[i].seq == seq) {
			pongs[i].valid = false;
			*at_us = pongs[i].at_us;
			return true;
		}
	}
	return false;
}

long net_ping(uint32_t dst, uint16_t seq, uint64_t timeout_ms)
{
	static const char payload[] = "exo ping exo ping exo ping exo ping exo ping exo ping";
	uint16_t id = 0x4558; /* "EX" */
	uint64_t start = net_now_us(), at;
	int r = icmp_echo_send(dst, id, seq, payload, sizeof(payload) - 1);
	if (r < 0)
		return r;
	uint64_t deadline = start / 1000 + timeout_ms;
	for (;;) {
		if (pong_seen(id, seq, &at))
			return (long)(at - start);
		uint64_t now = net_now_ms();
		if (now >= deadline)
			return -E_AGAIN;
		r = net_poll(deadline - now);
		if (r < 0)
			return r;
	}
}

bool ip_parse(const char *s, uint32_t *ip)
{
	uint32_t v = 0;
	for (int part = 0; part < 4; part++) {
		if (!isdigit(*s))
			return false;
		uint32_t n = 0;
		for (int digits = 0; isdigit(*s); s++) {
			if (++digits > 3)
				return false;
			n = n * 10 + (uint32_t)(*s - '0');
		}
		if (n > 255 || (part < 3 && *s++ != '.'))
			return false;
		v = v << 8 | n;
	}
	if (*s)
		return false;
	*ip = v;
	return true;
}
