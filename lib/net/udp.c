/*
 * UDP (RFC 768) and its sockets-like interface for the library OS's stack.
 *
 * A socket is a local port and a queue of UDP_QUEUE datagrams copied out of
 * the receive ring, so the ring slot is free again at once; a datagram for
 * a full queue or an unbound port is dropped and counted. Input checks: a
 * header, a UDP length within the IP payload, and the checksum when the
 * sender supplied one (0 means none, in IPv4). Output always carries a
 * checksum. No datagram needs fragments: payloads stop at UDP_PAYLOAD_MAX.
 */
#include <inc/error.h>
#include <lib/net/netwire.h>
#include <common/string.h>

#define EPHEMERAL_FIRST 49152
#define ROUTE_TIMEOUT_MS 3000

struct dgram {
	uint32_t d_ip;
	uint16_t d_port;
	uint16_t d_len;
	uint8_t d_data[UDP_PAYLOAD_MAX];
};

struct sock {
	bool s_used;
	uint16_t s_port;      /* 0: not bound */
	int s_filter;         /* the kernel packet filter for the port, or -1 */
	uint8_t s_head, s_count;
	struct dgram s_q[UDP_QUEUE];
};

static struct sock socks[UDP_SOCKETS];
void (*udp_on_datagram)(int s);
static uint16_t next_ephemeral = EPHEMERAL_FIRST;

static struct sock *sock_of(int s)
{
	return s >= 0 && s < UDP_SOCKETS && socks[s].s_used ? &socks[s] : NULL;
}

static struct sock *bound_to(uint16_t port)
{
	for (int i = 0; i < UDP_SOCKETS; i++)
		if (socks[i].s_used && socks[i].s_port == port)
			return &socks[i];
	return NULL;
}

uint32_t udp_pseudo_sum(uint32_t src, uint32_t dst, size_t len)
{
	struct {
		uint32_t src, dst;
		uint8_t zero, proto;
		uint16_t len;
	} __attribute__((packed)) ph = { htonl(src), htonl(dst), 0, IP_PROTO_UDP,
					 htons((uint16_t)len) };
	return csum_add(0, &ph, sizeof(ph));
}

void udp_input(const struct ip_hdr *ih, const uint8_t *pkt, size_t len)
{
	net_stats.udp_in++;
	const struct udp_hdr *uh = (const struct udp_hdr *)pkt;
	size_t ulen = len >= UDP_HLEN ? ntohs(uh->uh_len) : 0;
	if (ulen < UDP_HLEN || ulen > len || ulen - UDP_HLEN > UDP_PAYLOAD_MAX) {
		net_stats.udp_bad++;
		return;
	}
	uint32_t src = ntohl(ih->ih_src), dst = ntohl(ih->ih_dst);
	if (uh->uh_sum && !net_rx_sum_ok &&
	    csum_fold(csum_add(udp_pseudo_sum(src, dst, ulen), pkt, ulen)) != 0) {
		net_stats.udp_bad++;
		return;
	}
	struct sock *s = bound_to(ntohs(uh->uh_dport));
	if (!s || !s->s_port) {
		net_stats.udp_no_port++;
		return;
	}
	if (s->s_count == UDP_QUEUE) {
		net_stats.udp_queue_full++;
		return;
	}
	struct dgram *d = &s->s_q[(s->s_head + s->s_count++) % UDP_QUEUE];
	d->d_ip = src;
	d->d_port = ntohs(uh->uh_sport);
	d->d_len = (uint16_t)(ulen - UDP_HLEN);
	memcpy(d->d_data, pkt + UDP_HLEN, d->d_len);
	if (udp_on_datagram)
		udp_on_datagram((int)(s - socks));
}

int udp_pending(int sd)
{
	struct sock *s = sock_of(sd);
	return s ? s->s_count : -E_INVAL;
}

int udp_socket(void)
{
	for (int i = 0; i < UDP_SOCKETS; i++) {
		if (!socks[i].s_used) {
			memset(&socks[i], 0, sizeof(socks[i]) - sizeof(socks[i].s_q));
			socks[i].s_used = true;
			socks[i].s_filter = -1;
			return i;
		}
	}
	return -E_FULL;
}

int udp_bind(int sd, uint16_t port)
{
	struct sock *s = sock_of(sd);
	if (!s || s->s_port)
		return -E_INVAL;
	if (port == 0) {
		for (int tries = 0; tries < 65536 - EPHEMERAL_FIRST && !port; tries++) {
			uint16_t p = next_ephemeral;
			next_ephemeral = p == 65535 ? EPHEMERAL_FIRST : p + 1;
			if (!bound_to(p))
				port = p;
		}
		if (!port)
			return -E_BUSY;
	} else if (bound_to(port)) {
		return -E_BUSY;
	}
	s->s_port = port;
	/* Ask the kernel for this port's datagrams. If it cannot install the
	 * filter for another reason, the socket still gets what the default
	 * receiver is given. */
	int id = net_claim_port(IP_PROTO_UDP, port);
	if (id == -E_BUSY) {
		s->s_port = 0;
		return -E_BUSY; /* another env receives this port */
	}
	s->s_filter = id >= 0 ? id : -1;
	return 0;
}

int udp_port(int sd)
{
	struct sock *s = sock_of(sd);
	return s ? s->s_port : -E_INVAL;
}

int udp_filter(int sd)
{
	struct sock *s = sock_of(sd);
	if (!s)
		return -E_INVAL;
	return s->s_filter >= 0 ? s->s_filter : -E_NOT_FOUND;
}

int udp_sendto(int sd, const void *buf, size_t len, uint32_t ip, uint16_t port)
{
	struct sock *s = sock_of(sd);
	if (!s || port == 0)
		return -E_INVAL;
	if (len > UDP_PAYLOAD_MAX)
		return -E_TOO_BIG;
	int r;
	if (!s->s_port && (r = udp_bind(sd, 0)) < 0)
		return r;
	uint8_t mac[6];
	if ((r = ip_route(ip, mac, ROUTE_TIMEOUT_MS)) < 0)
		return r;
	uint8_t *out = ip_payload();
	struct udp_hdr *uh = (struct udp_hdr *)out;
	uh->uh_sport = htons(s->s_port);
	uh->uh_dport = htons(port);
	uh->uh_len = htons((uint16_t)(UDP_HLEN + len));
	uh->uh_sum = 0;
	memcpy(out + UDP_HLEN, buf, len);
	uint16_t sum = csum_fold(csum_add(udp_pseudo_sum(net_config.nc_ip, ip, UDP_HLEN + len), out,
					  UDP_HLEN + len));
	uh->uh_sum = sum ? sum : 0xffff; /* 0 would mean "no checksum" */
	r = ip_output(mac, ip, IP_PROTO_UDP, UDP_HLEN + len);
	return r < 0 ? r : (int)len;
}

long udp_recvfrom(int sd, void *buf, size_t len, uint32_t *ip, uint16_t *port, uint64_t timeout_ms)
{
	struct sock *s = sock_of(sd);
	if (!s || !s->s_port)
		return -E_INVAL;
	uint64_t now = net_now_ms();
	uint64_t deadline = timeout_ms > UINT64_MAX - now ? UINT64_MAX : now + timeout_ms;
	while (!s->s_count) {
		if (now >= deadline)
			return -E_AGAIN;
		int r = net_poll(deadline - now);
		if (r < 0)
			return r;
		now = net_now_ms();
	}
	struct dgram *d = &s->s_q[s->s_head];
	s->s_head = (uint8_t)((s->s_head + 1) % UDP_QUEUE);
	s->s_count--;
	size_t n = MIN(len, (size_t)d->d_len);
	memcpy(buf, d->d_data, n);
	if (ip)
		*ip = d->d_ip;
	if (port)
		*port = d->d_port;
	return (long)n;
}

int udp_close(int sd)
{
	struct sock *s = sock_of(sd);
	if (!s)
		return -E_INVAL;
	if (s->s_filter >= 0)
		net_unclaim(s->s_filter);
	s->s_filter = -1;
	s->s_used = false;
	s->s_port = 0;
	return 0;
}
