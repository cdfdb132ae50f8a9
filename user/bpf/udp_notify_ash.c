/*
 * An application-specific handler that hands a UDP datagram to its env
 * without the ring: it copies the payload to the start of the env's page
 * (region 1) and notifies the env with (payload length, source IPv4
 * address, source port), then consumes the frame. The env's message
 * handler runs the next time it is scheduled - woken from its sleep by the
 * notification itself. A datagram whose first byte is '!' is a command for
 * the env, passed on through the ring. Used by ashecho's "!notify" step.
 */
#include <lib/base/bpfprog.h>

struct frame {
	uint8_t b[BPF_PACKET_MAX];
};
extern struct frame region0; /* the frame received */
extern struct frame region1; /* the env's page */

#define UDP_DATA 42 /* Ethernet 14 + IPv4 20 (no options) + UDP 8 */

SEC("packet") uint64_t udp_notify(struct bpf_packet_ctx *c)
{
	uint64_t len = c->pc_len;
	if (len < UDP_DATA || len > BPF_PACKET_MAX || region0.b[14] != 0x45)
		return 1; /* not a plain IPv4 datagram: the env's business */
	uint64_t n = ((uint64_t)region0.b[38] << 8 | region0.b[39]) - 8;
	if (n > len - UDP_DATA)
		return 1; /* a UDP length the frame does not hold (or below 8) */
	if (n > 0 && region0.b[UDP_DATA] == '!')
		return 1; /* a command: through the ring */
	if (bpf_copy_csum(1, 0, 0, UDP_DATA, n) < 0)
		return 1;
	uint64_t ip = (uint64_t)region0.b[26] << 24 | (uint64_t)region0.b[27] << 16 |
		      (uint64_t)region0.b[28] << 8 | region0.b[29];
	uint64_t port = (uint64_t)region0.b[34] << 8 | region0.b[35];
	return bpf_notify(n, ip, port) == 0 ? 0 : 1;
}
