/*
 * tcpsend IP PORT [BYTES]: Exo as a TCP client. Connects to IP:PORT (an
 * echo server: on QEMU's user network 10.0.2.2 is the host), sends BYTES
 * (default 262144) of a fixed pattern while reading the echo back, shuts
 * down its side, reads to the end of stream and checks every byte.
 * Prints "tcpsend: ok, N bytes echoed in T ms" and exits 0, or says what
 * went wrong and exits 1.
 */
#include <lib/base/libos.h>
#include <lib/net/tcpnet.h>

#define TIMEOUT_MS 60000

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 131 + (i >> 11));
}

int main(int argc, char **argv)
{
	uint32_t ip;
	if (argc < 3 || !ip_parse(argv[1], &ip)) {
		printf("usage: tcpsend IP PORT [BYTES]\n");
		return 2;
	}
	uint16_t port = (uint16_t)strtoul(argv[2], NULL, 10);
	size_t total = argc > 3 ? strtoul(argv[3], NULL, 10) : 262144;
	int r = net_open();
	if (r < 0) {
		printf("tcpsend: no network: %e\n", r);
		return 1;
	}
	uint64_t t0 = net_now_ms();
	int err;
	struct tcp_conn *c = tcpnet_connect(ip, port, 10000, &err);
	if (!c) {
		printf("tcpsend: cannot connect: error %d (%s)\n", err,
		       sock_strerror(err) ? sock_strerror(err) : "see inc/error.h");
		return 1;
	}
	static uint8_t out[4096], in[4096];
	size_t sent = 0, rcvd = 0;
	bool shut = false;
	uint64_t deadline = net_now_ms() + TIMEOUT_MS;
	while (net_now_ms() < deadline) {
		while (sent < total) {
			size_t n = MIN(sizeof(out), total - sent);
			for (size_t i = 0; i < n; i++)
				out[i] = pattern(sent + i);
			long w = tcp_send(c, out, n);
			if (w <= 0)
				break;
			sent += (size_t)w;
		}
		if (sent == total && !shut) {
			tcp_shutdown(c);
			shut = true;
		}
		long n = tcp_recv(c, in, sizeof(in));
		if (n == 0)
			break;
		if (n == -E_AGAIN) {
			tcpnet_run(100);
			continue;
		}
		if (n < 0) {
			printf("tcpsend: receive failed: error %ld\n", n);
			return 1;
		}
		for (long i = 0; i < n; i++) {
			if (in[i] != pattern(rcvd + (size_t)i)) {
				printf("tcpsend: byte %lu came back wrong\n",
				       (unsigned long)(rcvd + i));
				return 1;
			}
		}
		rcvd += (size_t)n;
	}
	tcp_close(c);
	if (rcvd != total) {
		printf("tcpsend: %lu of %lu bytes came back\n", (unsigned long)rcvd,
		       (unsigned long)total);
		return 1;
	}
	printf("tcpsend: ok, %lu bytes echoed in %lu ms\n", (unsigned long)total,
	       (unsigned long)(net_now_ms() - t0));
	/* the FIN exchange, so the server sees a clean close */
	for (uint64_t end = net_now_ms() + 300; net_now_ms() < end;)
		tcpnet_run(end - net_now_ms());
	net_close();
	return 0;
}
