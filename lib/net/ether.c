/*
 * Ethernet for the library OS's network stack: the frames in the receive
 * ring are dispatched by type (IPv4, ARP; anything else is counted and
 * dropped), and outgoing frames get their header here. Also the stack's
 * shared state (configuration, statistics) and the Internet checksum.
 *
 * Frames addressed to another station are not filtered out: the kernel
 * gives each env only the frames meant for it, and IPv4 checks addresses.
 */
#include <inc/error.h>
#include <lib/net/netwire.h>
#include <common/string.h>

struct net_config net_config;
struct net_stats net_stats;
bool net_in_input;
bool net_rx_sum_ok;
const uint8_t eth_broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	for (; len >= 2; p += 2, len -= 2)
		sum += (uint32_t)p[0] | (uint32_t)p[1] << 8; /* little-endian words */
	if (len)
		sum += p[0];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint64_t net_now_ms(void)
{
	return net_now_us() / 1000;
}

void eth_input(const uint8_t *frame, size_t len)
{
	net_stats.rx_frames++;
	if (len < ETH_HLEN) {
		net_stats.rx_runt++;
		return;
	}
	const struct eth_hdr *eh = (const struct eth_hdr *)frame;
	bool was = net_in_input;
	net_in_input = true;
	switch (ntohs(eh->eh_type)) {
	case ETH_TYPE_IP: ip_input(eh, frame + ETH_HLEN, len - ETH_HLEN); break;
	case ETH_TYPE_ARP: arp_input(frame + ETH_HLEN, len - ETH_HLEN); break;
	default: net_stats.rx_other_type++;
	}
	net_in_input = was;
}

int eth_output(const uint8_t dst[6], uint16_t type, size_t len)
{
	if (len > net_tx_frame_max() - ETH_HLEN)
		return -E_TOO_BIG;
	struct eth_hdr *eh = (struct eth_hdr *)net_txbuf();
	memcpy(eh->eh_dst, dst, 6);
	memcpy(eh->eh_src, net_config.nc_mac, 6);
	eh->eh_type = htons(type);
	int r = net_tx(ETH_HLEN + len);
	if (r < 0)
		net_stats.tx_errors++;
	else
		net_stats.tx_frames++;
	return r;
}
