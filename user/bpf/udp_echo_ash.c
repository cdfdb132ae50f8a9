/*
 * An application-specific handler: UDP echo answered inside the kernel. It
 * copies the datagram into the env's scratch page (region 1), swaps the
 * Ethernet, IP and UDP source and destination (neither checksum changes:
 * the sums are the same), transmits the reply, and consumes the frame, so
 * the env is never scheduled for it. A datagram whose first byte is '!' is
 * a command for the env, passed on to it.
 */
#include <lib/base/bpfprog.h>

struct frame {
	uint8_t b[BPF_PACKET_MAX];
};
extern struct frame region0; /* the frame received */
extern struct frame region1; /* the reply, in the env's page */

SEC("packet") uint64_t udp_echo(struct bpf_packet_ctx *c)
{
	uint64_t len = c->pc_len;
	if (len < 42 || len > BPF_PACKET_MAX || region0.b[14] != 0x45)
		return 1; /* not a plain IPv4 datagram: the env's business */
	if (len > 42 && region0.b[42] == '!')
		return 1; /* a command: the env's */
	if (bpf_copy_csum(1, 0, 0, 0, len) < 0)
		return 1;
	for (int i = 0; i < 6; i++) {
		region1.b[i] = region0.b[6 + i];
		region1.b[6 + i] = region0.b[i];
	}
	for (int i = 0; i < 4; i++) {
		region1.b[26 + i] = region0.b[30 + i];
		region1.b[30 + i] = region0.b[26 + i];
	}
	for (int i = 0; i < 2; i++) {
		region1.b[34 + i] = region0.b[36 + i];
		region1.b[36 + i] = region0.b[34 + i];
	}
	return bpf_tx(1, 0, len) == 0 ? 0 : 1;
}
