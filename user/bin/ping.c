/*
 * ping [-c COUNT] [ADDRESS]: ICMP echo to ADDRESS (default the QEMU user
 * network's gateway, 10.0.2.2), COUNT times (default 3), a second apart at
 * most. Exits 0 if any reply came back, 1 if none, 2 if there is no network.
 */
#include <lib/base/libos.h>
#include <lib/net/net.h>

#define TIMEOUT_MS 1000

int main(int argc, char **argv)
{
	uint32_t dst = NET_QEMU_GW;
	unsigned long count = 3;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			count = strtoul(argv[++i], NULL, 10);
		} else if (!ip_parse(argv[i], &dst)) {
			printf("usage: ping [-c COUNT] [ADDRESS]\n");
			return 2;
		}
	}
	int r = net_open();
	if (r < 0) {
		printf("ping: no network: %e\n", r);
		return 2;
	}
	unsigned long got = 0;
	for (unsigned long seq = 0; seq < count; seq++) {
		long us = net_ping(dst, (uint16_t)seq, TIMEOUT_MS);
		if (us >= 0) {
			got++;
			printf("ping: reply from %u.%u.%u.%u: seq %lu time %ld us\n", dst >> 24,
			       (dst >> 16) & 0xff, (dst >> 8) & 0xff, dst & 0xff, seq, us);
		} else {
			printf("ping: seq %lu: %le\n", seq, us);
		}
	}
	printf("ping: %lu sent, %lu received\n", count, got);
	net_close();
	return got ? 0 : 1;
}
