/*
 * Host tests for the library OS's network stack (lib/net/ether.c, arp.c,
 * ipv4.c, udp.c): what it answers and what it refuses.
 *
 * The stack's four hooks (lib/net/netwire.h) are faked here: transmitted frames
 * are captured, the clock is a variable, and net_poll plays QEMU's gateway
 * (10.0.2.2), answering ARP requests and pings for it. Received frames are
 * built byte by byte and handed to eth_input in heap buffers of exactly
 * their length, so AddressSanitizer catches any read past a frame's end -
 * the point of the truncation and fuzz tests, which feed every prefix of
 * valid frames, frames with each length field lying, bad checksums,
 * fragments and random bytes.
 */
#include "check.h"

#include <stdint.h>

#include "rename.h"

#include <inc/error.h>
#include <lib/net/netwire.h>
#include <common/string.h>

static const uint8_t our_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t gw_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x09 };
#define OUR_IP IP4(10, 0, 2, 15)
#define GW_IP IP4(10, 0, 2, 2)
#define PEER_IP IP4(10, 0, 2, 9)

/* --- the hooks --- */
static uint8_t txbuf[ETH_FRAME_MAX];
static uint8_t sent[64][ETH_FRAME_MAX]; /* frames transmitted, in order */
static size_t sent_len[64];
static int nsent;
static uint64_t now_us = 1000000;
static bool gateway_answers = true;
static uint8_t pending[8][ETH_FRAME_MAX]; /* the gateway's answers, for net_poll */
static size_t pending_len[8];
static int npending;

uint8_t *net_txbuf(void)
{
	return txbuf;
}

size_t net_tx_frame_max(void)
{
	return ETH_FRAME_MAX; /* no offloads here */
}

uint64_t net_now_us(void)
{
	return now_us;
}

static void gateway_sees(const uint8_t *f, size_t len);

int net_tx(size_t len)
{
	CHECK(len >= ETH_HLEN && len <= ETH_FRAME_MAX);
	if (nsent < 64) {
		memcpy(sent[nsent], txbuf, len);
		sent_len[nsent++] = len;
	}
	if (gateway_answers)
		gateway_sees(txbuf, len);
	return 0;
}

static void feed(const uint8_t *f, size_t len); /* eth_input from an exact-size copy */

/* No kernel here: every port is ours. */
int net_claim_port(uint8_t proto, uint16_t port)
{
	(void)proto, (void)port;
	return -E_NO_SYS;
}

void net_unclaim(int filter)
{
	(void)filter;
}

int net_poll(uint64_t wait_ms)
{
	if (npending == 0) {
		now_us += (wait_ms ? wait_ms : 1) * 1000;
		return 0;
	}
	int n = npending;
	for (int i = 0; i < n; i++)
		feed(pending[i], pending_len[i]);
	npending = 0;
	return n;
}

/* --- building frames --- */
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static size_t eth(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, type);
	return ETH_HLEN;
}

static size_t arp(uint8_t *f, uint16_t oper, const uint8_t sha[6], uint32_t spa,
		  const uint8_t tha[6], uint32_t tpa)
{
	size_t n = eth(f, oper == 1 ? eth_broadcast : tha, sha, ETH_TYPE_ARP);
	uint8_t *a = f + n;
	put16(a, 1);
	put16(a + 2, ETH_TYPE_IP);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, oper);
	memcpy(a + 8, sha, 6);
	put32(a + 14, spa);
	memcpy(a + 18, tha, 6);
	put32(a + 24, tpa);
	return n + ARP_LEN;
}

/* An IPv4 packet around payload already at f + 34; the frame's length. */
static size_t ip(uint8_t *f, const uint8_t src_mac[6], uint32_t src, uint32_t dst, uint8_t proto,
		 size_t len)
{
	eth(f, our_mac, src_mac, ETH_TYPE_IP);
	uint8_t *h = f + ETH_HLEN;
	h[0] = 0x45;
	h[1] = 0;
	put16(h + 2, (uint16_t)(IP_HLEN + len));
	put16(h + 4, 77);
	put16(h + 6, 0);
	h[8] = 64;
	h[9] = proto;
	put16(h + 10, 0);
	put32(h + 12, src);
	put32(h + 16, dst);
	uint16_t sum = csum_fold(csum_add(0, h, IP_HLEN));
	memcpy(h + 10, &sum, 2);
	return ETH_HLEN + IP_HLEN + len;
}

static size_t icmp_echo(uint8_t *f, uint8_t type, const uint8_t src_mac[6], uint32_t src,
			uint32_t dst, uint16_t id, uint16_t seq, size_t datalen)
{
	uint8_t *c = f + ETH_HLEN + IP_HLEN;
	c[0] = type;
	c[1] = 0;
	put16(c + 2, 0);
	put16(c + 4, id);
	put16(c + 6, seq);
	for (size_t i = 0; i < datalen; i++)
		c[ICMP_HLEN + i] = (uint8_t)(i * 7);
	uint16_t sum = csum_fold(csum_add(0, c, ICMP_HLEN + datalen));
	memcpy(c + 2, &sum, 2);
	return ip(f, src_mac, src, dst, IP_PROTO_ICMP, ICMP_HLEN + datalen);
}

static size_t udp(uint8_t *f, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
		  const void *data, size_t len, bool with_sum)
{
	uint8_t *u = f + ETH_HLEN + IP_HLEN;
	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (uint16_t)(UDP_HLEN + len));
	put16(u + 6, 0);
	memcpy(u + UDP_HLEN, data, len);
	if (with_sum) {
		uint16_t sum = csum_fold(
			csum_add(udp_pseudo_sum(src, dst, UDP_HLEN + len), u, UDP_HLEN + len));
		if (!sum)
			sum = 0xffff;
		memcpy(u + 6, &sum, 2);
	}
	return ip(f, gw_mac, src, dst, IP_PROTO_UDP, UDP_HLEN + len);
}

static void feed(const uint8_t *f, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, f, len);
	eth_input(copy, len);
	free(copy);
}

/* QEMU's gateway: answers ARP for itself and pings to itself. */
static void gateway_sees(const uint8_t *f, size_t len)
{
	if (npending == 8 || len < ETH_HLEN)
		return;
	uint8_t *out = pending[npending];
	if (get16(f + 12) == ETH_TYPE_ARP && len >= ETH_HLEN + ARP_LEN && get16(f + 20) == 1 &&
	    get32(f + 38) == GW_IP) {
		pending_len[npending++] = arp(out, 2, gw_mac, GW_IP, f + 22, get32(f + 28));
	} else if (get16(f + 12) == ETH_TYPE_IP && len >= 42 && f[23] == IP_PROTO_ICMP &&
		   get32(f + 30) == GW_IP && f[34] == ICMP_ECHO) {
		size_t n = len - ETH_HLEN - IP_HLEN - ICMP_HLEN;
		pending_len[npending++] = icmp_echo(out, ICMP_ECHO_REPLY, gw_mac, GW_IP, OUR_IP,
						    get16(f + 38), get16(f + 40), n);
	}
}

static void reset(void)
{
	memset(&net_stats, 0, sizeof(net_stats));
	memcpy(net_config.nc_mac, our_mac, 6);
	net_config.nc_ip = OUR_IP;
	net_config.nc_mask = IP4(255, 255, 255, 0);
	net_config.nc_gw = GW_IP;
	nsent = npending = 0;
	gateway_answers = true;
	now_us += 1000000000; /* forget the ARP cache of earlier tests */
}

/* Is the transmitted frame i a well-formed IPv4 packet? Its payload. */
static const uint8_t *sent_ip(int i, uint8_t proto, size_t *len)
{
	const uint8_t *f = sent[i];
	if (sent_len[i] < ETH_HLEN + IP_HLEN || get16(f + 12) != ETH_TYPE_IP || f[14] != 0x45 ||
	    f[23] != proto || csum_fold(csum_add(0, f + ETH_HLEN, IP_HLEN)) != 0 ||
	    get16(f + 16) != sent_len[i] - ETH_HLEN || memcmp(f + 6, our_mac, 6) != 0)
		return NULL;
	*len = sent_len[i] - ETH_HLEN - IP_HLEN;
	return f + ETH_HLEN + IP_HLEN;
}

TEST(netstack, checksum_rfc1071)
{
	/* RFC 1071's example: these words sum to 0xddf2; the checksum is its
	 * complement, 0x220d, in network order */
	static const uint8_t d[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint16_t c = csum_fold(csum_add(0, d, sizeof(d)));
	const uint8_t *b = (const uint8_t *)&c;
	CHECK_EQ(b[0], 0x22);
	CHECK_EQ(b[1], 0x0d);
	/* odd length: the last byte is padded with zero */
	static const uint8_t o[] = { 0x01, 0x02, 0x03 };
	c = csum_fold(csum_add(0, o, 3));
	CHECK_EQ(get16((const uint8_t *)&c), (uint16_t)~(0x0102 + 0x0300));
}

TEST(netstack, arp_answers_requests_for_us)
{
	reset();
	uint8_t f[64];
	static const uint8_t zero[6];
	feed(f, arp(f, 1, peer_mac, PEER_IP, zero, OUR_IP));
	CHECK_EQ(nsent, 1);
	const uint8_t *r = sent[0];
	CHECK(memcmp(r, peer_mac, 6) == 0 && memcmp(r + 6, our_mac, 6) == 0);
	CHECK_EQ(get16(r + 12), ETH_TYPE_ARP);
	CHECK_EQ(get16(r + 20), 2);
	CHECK(memcmp(r + 22, our_mac, 6) == 0);
	CHECK_EQ(get32(r + 28), OUR_IP);
	CHECK(memcmp(r + 32, peer_mac, 6) == 0);
	CHECK_EQ(get32(r + 38), PEER_IP);
	CHECK_EQ(net_stats.arp_replied, 1);
	uint8_t mac[6];
	CHECK(arp_lookup(PEER_IP, mac) && memcmp(mac, peer_mac, 6) == 0);
	/* entries expire */
	now_us += (ARP_TTL_MS + 1) * 1000ULL;
	CHECK(!arp_lookup(PEER_IP, mac));
}

TEST(netstack, arp_ignores_others_and_malformed)
{
	reset();
	uint8_t f[64], mac[6];
	static const uint8_t zero[6];
	feed(f, arp(f, 1, peer_mac, PEER_IP, zero, IP4(10, 0, 2, 99)));
	CHECK_EQ(nsent, 0);
	CHECK(!arp_lookup(PEER_IP, mac)); /* not for us: not learned */
	size_t n = arp(f, 1, peer_mac, PEER_IP, zero, OUR_IP);
	f[ETH_HLEN + 4] = 8; /* hardware length */
	feed(f, n);
	n = arp(f, 3, peer_mac, PEER_IP, zero, OUR_IP); /* no such operation */
	feed(f, n);
	feed(f, ETH_HLEN + ARP_LEN - 1);
	CHECK_EQ(net_stats.arp_bad, 3);
	/* a sender claiming a broadcast MAC is not believed */
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	feed(f, arp(f, 1, bcast, PEER_IP, zero, OUR_IP));
	CHECK_EQ(nsent, 0);
	CHECK(!arp_lookup(PEER_IP, mac));
}

TEST(netstack, arp_resolve_asks_and_times_out)
{
	reset();
	uint8_t mac[6];
	CHECK_EQ(arp_resolve(GW_IP, mac, 1000), 0);
	CHECK(memcmp(mac, gw_mac, 6) == 0);
	CHECK_EQ(nsent, 1);
	CHECK(memcmp(sent[0], eth_broadcast, 6) == 0);
	gateway_answers = false;
	nsent = 0;
	CHECK_EQ(arp_resolve(PEER_IP, mac, 1000), -E_NOT_FOUND);
	CHECK(nsent >= 3); /* retried while waiting */
}

TEST(netstack, ping_is_answered)
{
	reset();
	uint8_t f[ETH_FRAME_MAX];
	feed(f, icmp_echo(f, ICMP_ECHO, peer_mac, PEER_IP, OUR_IP, 0x1234, 7, 56));
	CHECK_EQ(nsent, 1);
	size_t len;
	const uint8_t *c = sent_ip(0, IP_PROTO_ICMP, &len);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(memcmp(sent[0], peer_mac, 6) == 0); /* straight back, no ARP */
	CHECK_EQ(get32(sent[0] + 30), PEER_IP);
	CHECK_EQ(len, ICMP_HLEN + 56);
	CHECK_EQ(c[0], ICMP_ECHO_REPLY);
	CHECK_EQ(get16(c + 4), 0x1234);
	CHECK_EQ(get16(c + 6), 7);
	CHECK_EQ(csum_fold(csum_add(0, c, len)), 0);
	CHECK(memcmp(c + ICMP_HLEN, f + ETH_HLEN + IP_HLEN + ICMP_HLEN, 56) == 0);
	CHECK_EQ(net_stats.icmp_echo_replied, 1);
}

static uint32_t unreach_src, unreach_dst;
static uint16_t unreach_sport, unreach_dport;
static int unreach_calls;
static void on_unreach(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	unreach_src = src, unreach_sport = sport, unreach_dst = dst, unreach_dport = dport;
	unreach_calls++;
}

/* An ICMP destination unreachable quoting qlen bytes of a TCP segment we
 * sent from OUR_IP:1234 to PEER_IP:80 (proto: the quoted protocol). */
static size_t unreach(uint8_t *f, size_t qlen, uint8_t proto, uint32_t quoted_src)
{
	uint8_t *c = f + ETH_HLEN + IP_HLEN;
	memset(c, 0, ICMP_HLEN + 28);
	c[0] = ICMP_UNREACH;
	c[1] = 3; /* port unreachable */
	uint8_t *q = c + ICMP_HLEN;
	q[0] = 0x45;
	put16(q + 2, 60);
	q[8] = 64;
	q[9] = proto;
	put32(q + 12, quoted_src);
	put32(q + 16, PEER_IP);
	put16(q + 20, 1234);
	put16(q + 22, 80);
	uint16_t sum = csum_fold(csum_add(0, c, ICMP_HLEN + qlen));
	memcpy(c + 2, &sum, 2);
	return ip(f, peer_mac, PEER_IP, OUR_IP, IP_PROTO_ICMP, ICMP_HLEN + qlen);
}

TEST(netstack, icmp_unreachable_reaches_tcp)
{
	reset();
	net_tcp_unreachable = on_unreach;
	uint8_t f[ETH_FRAME_MAX];
	feed(f, unreach(f, 28, IP_PROTO_TCP, OUR_IP));
	CHECK_EQ(unreach_calls, 1);
	CHECK_EQ(unreach_src, OUR_IP);
	CHECK_EQ(unreach_sport, 1234);
	CHECK_EQ(unreach_dst, PEER_IP);
	CHECK_EQ(unreach_dport, 80);
	CHECK_EQ(net_stats.icmp_unreach, 1);
	CHECK_EQ(nsent, 0); /* never answered */
	/* quotes too short for the ports, of another source, or of UDP: not TCP's */
	for (size_t q = 0; q < 28; q++)
		feed(f, unreach(f, q, IP_PROTO_TCP, OUR_IP));
	feed(f, unreach(f, 28, IP_PROTO_TCP, PEER_IP));
	feed(f, unreach(f, 28, IP_PROTO_UDP, OUR_IP));
	CHECK_EQ(unreach_calls, 1);
	CHECK_EQ(net_stats.icmp_bad, 29);
	net_tcp_unreachable = NULL;
}

TEST(netstack, ping_sends_and_waits)
{
	reset();
	CHECK(net_ping(GW_IP, 3, 1000) >= 0);
	gateway_answers = false;
	CHECK_EQ(net_ping(GW_IP, 4, 1000), -E_AGAIN);
}

TEST(netstack, udp_delivers_to_bound_socket)
{
	reset();
	int s = udp_socket();
	CHECK(s >= 0);
	CHECK_EQ(udp_bind(s, 5555), 0);
	uint8_t f[ETH_FRAME_MAX];
	feed(f, udp(f, GW_IP, 4000, OUR_IP, 5555, "hello", 5, true));
	feed(f, udp(f, GW_IP, 4001, OUR_IP, 5555, "nosum", 5, false));
	char buf[16];
	uint32_t from;
	uint16_t port;
	CHECK_EQ(udp_recvfrom(s, buf, sizeof(buf), &from, &port, 0), 5);
	CHECK(memcmp(buf, "hello", 5) == 0 && from == GW_IP && port == 4000);
	CHECK_EQ(udp_recvfrom(s, buf, 3, NULL, &port, 0), 3); /* truncated to fit */
	CHECK(memcmp(buf, "nos", 3) == 0 && port == 4001);
	CHECK_EQ(udp_recvfrom(s, buf, sizeof(buf), NULL, NULL, 50), -E_AGAIN);

	/* bad checksum, unbound port, full queue */
	size_t n = udp(f, GW_IP, 4000, OUR_IP, 5555, "hello", 5, true);
	f[n - 1] ^= 1;
	feed(f, n);
	CHECK_EQ(net_stats.udp_bad, 1);
	feed(f, udp(f, GW_IP, 4000, OUR_IP, 5556, "hello", 5, true));
	CHECK_EQ(net_stats.udp_no_port, 1);
	for (int i = 0; i < UDP_QUEUE + 2; i++)
		feed(f, udp(f, GW_IP, 4000, OUR_IP, 5555, "x", 1, true));
	CHECK_EQ(net_stats.udp_queue_full, 2);
	CHECK_EQ(nsent, 0);
	CHECK_EQ(udp_close(s), 0);
}

TEST(netstack, udp_sendto_builds_valid_datagrams)
{
	reset();
	int s = udp_socket();
	CHECK_EQ(udp_bind(s, 7), 0);
	CHECK_EQ(udp_sendto(s, "echo me", 7, GW_IP, 9000), 7); /* ARPs first */
	CHECK_EQ(nsent, 2);
	size_t len;
	const uint8_t *u = sent_ip(1, IP_PROTO_UDP, &len);
	CHECK(u != NULL);
	if (!u)
		return;
	CHECK(memcmp(sent[1], gw_mac, 6) == 0);
	CHECK_EQ(get16(sent[1] + 20) & IP_DF, IP_DF);
	CHECK_EQ(len, UDP_HLEN + 7);
	CHECK_EQ(get16(u), 7);
	CHECK_EQ(get16(u + 2), 9000);
	CHECK_EQ(get16(u + 4), UDP_HLEN + 7);
	CHECK_EQ(csum_fold(csum_add(udp_pseudo_sum(OUR_IP, GW_IP, len), u, len)), 0);
	CHECK(memcmp(u + UDP_HLEN, "echo me", 7) == 0);
	/* off the subnet: through the gateway, no new ARP */
	CHECK_EQ(udp_sendto(s, "far", 3, IP4(8, 8, 8, 8), 53), 3);
	CHECK_EQ(nsent, 3);
	CHECK(memcmp(sent[2], gw_mac, 6) == 0 && get32(sent[2] + 30) == IP4(8, 8, 8, 8));
	static char big[UDP_PAYLOAD_MAX + 1];
	CHECK_EQ(udp_sendto(s, big, UDP_PAYLOAD_MAX, GW_IP, 9000), UDP_PAYLOAD_MAX);
	CHECK_EQ(sent_len[3], ETH_FRAME_MAX);
	CHECK_EQ(udp_sendto(s, big, UDP_PAYLOAD_MAX + 1, GW_IP, 9000), -E_TOO_BIG);
	udp_close(s);
}

TEST(netstack, udp_socket_api_errors)
{
	reset();
	int s[UDP_SOCKETS];
	for (int i = 0; i < UDP_SOCKETS; i++)
		CHECK((s[i] = udp_socket()) >= 0);
	CHECK_EQ(udp_socket(), -E_FULL);
	CHECK_EQ(udp_bind(s[0], 80), 0);
	CHECK_EQ(udp_bind(s[0], 81), -E_INVAL); /* bound already */
	CHECK_EQ(udp_bind(s[1], 80), -E_BUSY);
	CHECK_EQ(udp_bind(s[1], 0), 0);
	CHECK(udp_port(s[1]) >= 49152);
	CHECK_EQ(udp_recvfrom(s[2], NULL, 0, NULL, NULL, 0), -E_INVAL); /* not bound */
	CHECK_EQ(udp_sendto(s[2], "x", 1, GW_IP, 0), -E_INVAL);
	CHECK_EQ(udp_bind(-1, 1), -E_INVAL);
	CHECK_EQ(udp_bind(UDP_SOCKETS, 1), -E_INVAL);
	for (int i = 0; i < UDP_SOCKETS; i++)
		CHECK_EQ(udp_close(s[i]), 0);
	CHECK_EQ(udp_close(s[0]), -E_INVAL);
}

TEST(netstack, ip_refuses_fragments_bad_headers_and_checksums)
{
	reset();
	int s = udp_socket();
	udp_bind(s, 5555);
	uint8_t f[ETH_FRAME_MAX];
	size_t n = udp(f, GW_IP, 4000, OUR_IP, 5555, "data", 4, true);
	struct {
		int field;     /* byte offset in the IP header */
		uint16_t value;
		bool reseal;   /* recompute the header checksum */
		uint64_t *counter;
	} cases[] = {
		{ 6, IP_MF, true, &net_stats.ip_fragments },
		{ 6, 100, true, &net_stats.ip_fragments },
		/* total length past the frame, then below the header */
		{ 2, (uint16_t)(n - ETH_HLEN + 1), true, &net_stats.ip_bad_header },
		{ 2, 19, true, &net_stats.ip_bad_header },
		/* header length 4 words, then past the frame; version 6 */
		{ 0, 0x4400, true, &net_stats.ip_bad_header },
		{ 0, 0x4f00, true, &net_stats.ip_bad_header },
		{ 0, 0x6500, true, &net_stats.ip_bad_header },
		{ 4, 0x1111, false, &net_stats.ip_bad_checksum },
		{ 18, 0x0309, true, &net_stats.ip_not_ours }, /* to 10.0.3.9 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t g[ETH_FRAME_MAX];
		memcpy(g, f, n);
		uint8_t *gh = g + ETH_HLEN;
		if (cases[i].field == 0)
			gh[0] = (uint8_t)(cases[i].value >> 8);
		else
			put16(gh + cases[i].field, cases[i].value);
		if (cases[i].reseal) {
			put16(gh + 10, 0);
			uint16_t sum = csum_fold(csum_add(0, gh, IP_HLEN));
			memcpy(gh + 10, &sum, 2);
		}
		uint64_t before = *cases[i].counter;
		feed(g, n);
		CHECK_MSG(*cases[i].counter == before + 1, "case %zu not counted", i);
	}
	/* UDP length lies */
	uint8_t g[ETH_FRAME_MAX];
	memcpy(g, f, n);
	put16(g + ETH_HLEN + IP_HLEN + 4, 200);
	feed(g, n);
	put16(g + ETH_HLEN + IP_HLEN + 4, 7);
	feed(g, n);
	CHECK_EQ(net_stats.udp_bad, 2);
	/* Ethernet padding after the IP packet is ignored */
	memcpy(g, f, n);
	memset(g + n, 0xee, 20);
	feed(g, n + 20);
	CHECK_EQ(udp_recvfrom(s, g, sizeof(g), NULL, NULL, 0), 4);
	CHECK_EQ(nsent, 0);
	udp_close(s);
}

/* Every prefix of a valid frame: nothing delivered, nothing answered, each
 * counted as a drop somewhere, and (ASan) nothing read past its end. */
TEST(netstack, truncated_frames)
{
	reset();
	int s = udp_socket();
	udp_bind(s, 5555);
	uint8_t frames[3][ETH_FRAME_MAX];
	static const uint8_t zero[6];
	size_t len[3] = {
		udp(frames[0], GW_IP, 4000, OUR_IP, 5555, "some data", 9, true),
		icmp_echo(frames[1], ICMP_ECHO, peer_mac, PEER_IP, OUR_IP, 1, 1, 32),
		arp(frames[2], 1, peer_mac, PEER_IP, zero, OUR_IP),
	};
	for (int k = 0; k < 3; k++) {
		for (size_t n = 0; n < len[k]; n++)
			feed(frames[k], n);
	}
	CHECK_EQ(nsent, 0);
	CHECK_EQ(udp_recvfrom(s, frames[0], 16, NULL, NULL, 0), -E_AGAIN);
	struct net_stats *st = &net_stats;
	uint64_t dropped =
		st->rx_runt + st->arp_bad + st->ip_bad_header + st->icmp_bad + st->udp_bad;
	CHECK_EQ(dropped, st->rx_frames);
	udp_close(s);
}

/* Random bytes, half of them dressed as IPv4 or ARP: no crash, and whatever
 * the stack sends in answer is well formed. */
TEST(netstack, random_frames)
{
	reset();
	int s = udp_socket();
	udp_bind(s, 5555);
	uint32_t x = 1;
	uint8_t f[ETH_FRAME_MAX];
	for (int i = 0; i < 200000; i++) {
		size_t n = 0;
		x = x * 1103515245 + 12345;
		n = (x >> 8) % (i % 4 == 0 ? ETH_FRAME_MAX + 1 : 120);
		for (size_t k = 0; k < n; k++) {
			x = x * 1103515245 + 12345;
			f[k] = (uint8_t)(x >> 16);
		}
		if (n >= 24 && i % 2) {
			put16(f + 12, i % 6 == 1 ? ETH_TYPE_ARP : ETH_TYPE_IP);
			f[14] = 0x45;
			put32(f + 30, OUR_IP);
			if (i % 3 == 0 && n >= 34) {
				put16(f + 16, (uint16_t)(n - ETH_HLEN));
				put16(f + 20, 0);
				f[23] = (x >> 4) & 1 ? IP_PROTO_ICMP : IP_PROTO_UDP;
				if (n >= 38)
					put16(f + 36, 5555); /* the socket's port, if UDP */
				put16(f + 24, 0);
				uint16_t sum = csum_fold(csum_add(0, f + ETH_HLEN, IP_HLEN));
				memcpy(f + 24, &sum, 2);
			}
		}
		nsent = 0;
		feed(f, n);
		for (int k = 0; k < nsent; k++) {
			size_t len;
			if (get16(sent[k] + 12) == ETH_TYPE_IP)
				CHECK_MSG(sent_ip(k, sent[k][23], &len) != NULL,
					  "frame %d: bad answer", i);
		}
		char buf[UDP_PAYLOAD_MAX];
		while (udp_recvfrom(s, buf, sizeof(buf), NULL, NULL, 0) >= 0)
			;
	}
	CHECK(net_stats.ip_bad_checksum > 0 && net_stats.ip_bad_header > 0);
	CHECK(net_stats.icmp_in > 1000 && net_stats.udp_in > 1000 && net_stats.arp_in > 1000);
	udp_close(s);
}

TEST(netstack, ip_parse)
{
	uint32_t v;
	CHECK(ip_parse("10.0.2.2", &v) && v == GW_IP);
	CHECK(ip_parse("255.255.255.255", &v) && v == 0xffffffff);
	CHECK(!ip_parse("256.0.0.1", &v));
	CHECK(!ip_parse("1.2.3", &v));
	CHECK(!ip_parse("1.2.3.4.5", &v));
	CHECK(!ip_parse("1..2.3", &v));
	CHECK(!ip_parse("0001.2.3.4", &v));
	CHECK(!ip_parse("", &v));
}
