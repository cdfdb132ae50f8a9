/*
 * The library OS's network stack: Ethernet, ARP, IPv4, ICMP echo and UDP
 * with a sockets-like API, over the kernel's receive ring and net_send.
 *
 * Single-threaded and driven by the caller: frames are processed when the
 * program polls (net_poll) or blocks in a call that waits (udp_recvfrom,
 * arp_resolve, net_ping). Addresses and ports are in host byte order in
 * this API. Configured statically for QEMU's user network: 10.0.2.15/24,
 * gateway 10.0.2.2 (no DHCP).
 *
 * Errors are -E_* from inc/error.h: E_AGAIN a wait timed out, E_NOT_FOUND
 * no NIC or no ARP answer, E_INVAL bad argument, E_BUSY port in use,
 * E_TOO_BIG payload above UDP_PAYLOAD_MAX, E_FULL no free socket.
 */
#ifndef EXO_LIB_NET_H
#define EXO_LIB_NET_H

#include <inc/types.h>

#define IP4(a, b, c, d) \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/* QEMU's user network (slirp). */
#define NET_QEMU_IP IP4(10, 0, 2, 15)
#define NET_QEMU_MASK IP4(255, 255, 255, 0)
#define NET_QEMU_GW IP4(10, 0, 2, 2)

#define UDP_PAYLOAD_MAX 1472 /* 1500 - IPv4 header - UDP header: no fragments */
#define UDP_SOCKETS 4        /* open at once */
#define UDP_QUEUE 8          /* datagrams waiting per socket */
#define ARP_CACHE 16         /* entries */
#define NET_POLL_BATCH UDP_QUEUE /* frames net_poll takes from the ring */
#define ARP_TTL_MS 60000     /* an entry is trusted this long */

struct net_config {
	uint8_t nc_mac[6];
	uint32_t nc_ip, nc_mask, nc_gw;
};

/* What the stack saw: every frame dropped is counted under one reason. */
struct net_stats {
	uint64_t rx_frames, rx_runt, rx_other_type;
	uint64_t arp_in, arp_bad, arp_replied;
	uint64_t ip_in, ip_bad_header, ip_bad_checksum, ip_fragments, ip_not_ours, ip_other_proto;
	uint64_t icmp_in, icmp_bad, icmp_echo_replied, icmp_unreach;
	uint64_t udp_in, udp_bad, udp_no_port, udp_queue_full;
	uint64_t tcp_in; /* handed to the TCP stack (its own counters: tcp.h) */
	uint64_t tx_frames, tx_errors;
	uint64_t sys_sends, sys_waits; /* system calls made: net_send(_batch), net_wait */
	uint64_t tx_batches, tx_refs;  /* batches the kernel took; pieces sent in place */
	uint64_t tx_tso;               /* frames the device segmented (net_tx_offload) */
	uint64_t rx_coalesced; /* frames longer than a slot (receive offload) */
	uint64_t sys_yields;   /* sys_yield while the kernel had no room for frames */
	/* TSC cycles (rdtsc: cheap beside the work measured), to show where a
	 * server's time goes: in sys_net_send_batch, in sys_net_wait (asleep
	 * included), and taking received frames off the ring (the protocols'
	 * work on them, and the frames that work sends). */
	uint64_t cyc_send, cyc_wait, cyc_rx;
};

extern struct net_config net_config;
extern struct net_stats net_stats;
/* NET_OFFLOAD_* (inc/net.h): what this stack asks of the device, from
 * net_open (less segmentation if the kernel ever refused a segmented
 * frame's references). */
extern uint8_t net_offloads;
/* Set before net_open: ask no offload of the device (to measure them). */
extern bool net_offload_off;

/* Attach a receive ring, learn the MAC, configure for QEMU's user network
 * and resolve the gateway (which also tells it our address). 0 or -E_*. */
int net_open(void);
/* Detach the ring. */
void net_close(void);
/* Process the frames waiting, at most NET_POLL_BATCH; if none, first wait
 * up to wait_ms for one. Returns the number processed, or -E_*. The rest
 * stay in the ring (63 slots), so a burst for one socket is not dropped
 * for want of room in its queue. */
int net_poll(uint64_t wait_ms);
/* For a caller that sleeps by itself (poll's sys_page_sleep_any): the
 * ring's head word, which the kernel bumps for each frame it delivers
 * (NULL: no ring of ours), and in *busy whether frames still wait to be
 * taken from it or for room in the kernel (come back soon, do not sleep). */
volatile uint32_t *net_ring_head(bool *busy);
/* Gather the frames sent from here to the matching net_tx_batch_end (they
 * nest) and hand them to the kernel together: one system call and one
 * doorbell for many frames. Waiting for frames (net_poll) flushes first.
 * _end returns 0 or the error that lost frames (lost as on the wire). */
void net_tx_batch_begin(void);
int net_tx_batch_end(void);
/* The same for an event loop that comes back (its next net_poll, or
 * tcpnet_run, flushes again): frames the kernel has no room for now stay
 * gathered instead of the env waiting with input unread. */
void net_tx_batch_end_later(void);
/* Milliseconds since boot. */
uint64_t net_now_ms(void);

/* The MAC address of ip (on our subnet, or else the gateway's), asking by
 * ARP and waiting up to timeout_ms. 0, -E_NOT_FOUND, or -E_AGAIN if called
 * while a received frame is being processed. */
int arp_resolve(uint32_t ip, uint8_t mac[6], uint64_t timeout_ms);

/* Send an ICMP echo request with len bytes of data. */
int icmp_echo_send(uint32_t dst, uint16_t id, uint16_t seq, const void *data, size_t len);
/* Ping dst once: the round trip in microseconds, or -E_AGAIN after
 * timeout_ms with no reply. */
long net_ping(uint32_t dst, uint16_t seq, uint64_t timeout_ms);

/* UDP sockets. */
int udp_socket(void);
/* Take local port (0: any free one, from 49152). */
int udp_bind(int s, uint16_t port);
/* The socket's local port (bound by sendto if it was not). */
int udp_port(int s);
/* The kernel packet filter that claims the socket's port (to attach a
 * packet handler to), or -E_NOT_FOUND (no filter: the default receiver's
 * frames), -E_INVAL. */
int udp_filter(int s);
int udp_sendto(int s, const void *buf, size_t len, uint32_t ip, uint16_t port);
/* The next datagram (truncated to len): its length; the sender in *ip,
 * *port (either may be NULL). Waits up to timeout_ms (UINT64_MAX: no
 * limit), then -E_AGAIN. */
long udp_recvfrom(int s, void *buf, size_t len, uint32_t *ip, uint16_t *port, uint64_t timeout_ms);
int udp_close(int s);
/* Datagrams queued on socket s, or -E_INVAL. */
int udp_pending(int s);
/* Called (if set) when a datagram is queued on socket s: the socket
 * layer's wake-up (lib/net/sockev.c). Must not call back into the stack. */
extern void (*udp_on_datagram)(int s);

/* "a.b.c.d" into *ip; false if malformed. */
bool ip_parse(const char *s, uint32_t *ip);

#endif
