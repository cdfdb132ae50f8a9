/*
 * ARP (RFC 826) for IPv4 over Ethernet: a small cache of MAC addresses with
 * a time to live, answers to requests for our address, and resolution by
 * broadcast request.
 *
 * The cache learns from a request or reply sent to us, and refreshes an
 * entry it has whenever its owner speaks ARP (the RFC's merge rule); when
 * full, the entry closest to expiry goes. Resolution waits by polling the
 * ring, which processes other frames meanwhile; it is refused inside the
 * processing of a received frame (replies there go to the frame's sender
 * address, so they never need it), which bounds the nesting.
 */
#include <inc/error.h>
#include <lib/net/netwire.h>
#include <common/string.h>

#define ARP_HTYPE_ETHER 1
#define ARP_REQUEST 1
#define ARP_REPLY 2
#define ARP_RETRY_MS 250 /* between requests while resolving */

struct arp_entry {
	uint32_t ae_ip;          /* 0: unused */
	uint8_t ae_mac[6];
	uint64_t ae_expires;     /* net_now_ms() */
};

static struct arp_entry cache[ARP_CACHE];

static struct arp_entry *find(uint32_t ip)
{
	for (int i = 0; i < ARP_CACHE; i++)
		if (cache[i].ae_ip == ip && ip)
			return &cache[i];
	return NULL;
}

static void update(struct arp_entry *e, uint32_t ip, const uint8_t mac[6])
{
	e->ae_ip = ip;
	memcpy(e->ae_mac, mac, 6);
	e->ae_expires = net_now_ms() + ARP_TTL_MS;
}

static void insert(uint32_t ip, const uint8_t mac[6])
{
	struct arp_entry *victim = &cache[0];
	for (int i = 0; i < ARP_CACHE; i++) {
		if (!cache[i].ae_ip) {
			victim = &cache[i];
			break;
		}
		if (cache[i].ae_expires < victim->ae_expires)
			victim = &cache[i];
	}
	update(victim, ip, mac);
}

void arp_glean(uint32_t ip, const uint8_t mac[6])
{
	struct arp_entry *e = find(ip);
	if (e)
		update(e, ip, mac);
	else if (ip)
		insert(ip, mac);
}

bool arp_lookup(uint32_t ip, uint8_t mac[6])
{
	struct arp_entry *e = find(ip);
	if (!e || e->ae_expires <= net_now_ms())
		return false;
	memcpy(mac, e->ae_mac, 6);
	return true;
}

static int arp_send(uint16_t oper, const uint8_t eth_dst[6], const uint8_t tha[6], uint32_t tpa)
{
	if (!net_txbuf())
		return -E_NOT_FOUND; /* not opened: no NIC */
	struct arp_pkt *a = (struct arp_pkt *)(net_txbuf() + ETH_HLEN);
	a->ap_htype = htons(ARP_HTYPE_ETHER);
	a->ap_ptype = htons(ETH_TYPE_IP);
	a->ap_hlen = 6;
	a->ap_plen = 4;
	a->ap_oper = htons(oper);
	memcpy(a->ap_sha, net_config.nc_mac, 6);
	a->ap_spa = htonl(net_config.nc_ip);
	memcpy(a->ap_tha, tha, 6);
	a->ap_tpa = htonl(tpa);
	return eth_output(eth_dst, ETH_TYPE_ARP, ARP_LEN);
}

int arp_request(uint32_t ip)
{
	static const uint8_t unknown[6];
	return arp_send(ARP_REQUEST, eth_broadcast, unknown, ip);
}

void arp_input(const uint8_t *pkt, size_t len)
{
	net_stats.arp_in++;
	const struct arp_pkt *a = (const struct arp_pkt *)pkt;
	if (len < ARP_LEN || ntohs(a->ap_htype) != ARP_HTYPE_ETHER ||
	    ntohs(a->ap_ptype) != ETH_TYPE_IP || a->ap_hlen != 6 || a->ap_plen != 4 ||
	    (ntohs(a->ap_oper) != ARP_REQUEST && ntohs(a->ap_oper) != ARP_REPLY)) {
		net_stats.arp_bad++;
		return;
	}
	uint32_t spa = ntohl(a->ap_spa), tpa = ntohl(a->ap_tpa);
	if (spa == 0 || spa == 0xffffffff || (a->ap_sha[0] & 1))
		return; /* a probe, or a sender claiming a broadcast address */
	struct arp_entry *e = find(spa);
	if (e)
		update(e, spa, a->ap_sha);
	if (tpa != net_config.nc_ip || !net_config.nc_ip)
		return;
	if (!e)
		insert(spa, a->ap_sha);
	if (ntohs(a->ap_oper) == ARP_REQUEST) {
		uint8_t sha[6];
		memcpy(sha, a->ap_sha, 6);
		if (arp_send(ARP_REPLY, sha, sha, spa) == 0)
			net_stats.arp_replied++;
	}
}

int arp_resolve(uint32_t ip, uint8_t mac[6], uint64_t timeout_ms)
{
	if (arp_lookup(ip, mac))
		return 0;
	if (net_in_input)
		return -E_AGAIN;
	uint64_t now = net_now_ms(), deadline = now + timeout_ms, next_try = now;
	if (deadline < now)
		deadline = UINT64_MAX;
	for (;;) {
		if (now >= next_try) {
			arp_request(ip);
			next_try = now + ARP_RETRY_MS;
		}
		uint64_t wait = MIN(next_try, deadline) - now;
		int r = net_poll(wait);
		if (r < 0)
			return r;
		if (arp_lookup(ip, mac))
			return 0;
		now = net_now_ms();
		if (now >= deadline)
			return -E_NOT_FOUND;
	}
}
