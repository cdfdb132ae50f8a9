/*
 * tcpecho [PORT]: a TCP echo server on PORT (default 7777) of 10.0.2.15,
 * on the library OS's TCP stack (lib/net/tcp.h, lib/net/tcpnet.h).
 *
 * One event loop serves every connection: it sleeps in the kernel until a
 * frame arrives or a TCP timer is due, then accepts what is waiting and
 * echoes what each connection has to read. A connection whose echo does
 * not fit its send buffer keeps the rest and is not read again until it
 * has gone, so a slow reader holds back only its own connection. When a
 * peer closes, the echo is finished and the connection closed.
 *
 * A connection whose first bytes are "QUIT" ends the server, which prints
 * what it served and its stack's counters, then exits 0.
 */
#include <lib/base/libos.h>
#include <inc/net.h>
#include <lib/net/tcpnet.h>

#define MAX_CONNS 1100
#define PENDING 16384

struct client {
	struct tcp_conn *c;
	uint8_t *pending; /* echo bytes the send buffer did not take */
	size_t npending, off;
	uint64_t bytes;
	bool eof, first;
};

static struct client clients[MAX_CONNS];
static uint8_t buf[PENDING];

static bool serve(struct client *cl, bool *quit)
{
	if (cl->npending) {
		long r = tcp_send(cl->c, cl->pending + cl->off, cl->npending);
		if (r > 0) {
			cl->off += (size_t)r;
			cl->npending -= (size_t)r;
		} else if (r != -E_AGAIN) {
			return false;
		}
		if (cl->npending)
			return true;
	}
	while (!cl->eof) {
		long n = tcp_recv(cl->c, buf, sizeof(buf));
		if (n == -E_AGAIN)
			break;
		if (n < 0)
			return false;
		if (n == 0) {
			cl->eof = true;
			break;
		}
		if (cl->first && n >= 4 && memcmp(buf, "QUIT", 4) == 0)
			*quit = true;
		cl->first = false;
		cl->bytes += (uint64_t)n;
		long r = tcp_send(cl->c, buf, (size_t)n);
		if (r == -E_AGAIN)
			r = 0;
		if (r < 0)
			return false;
		if (r < n) {
			memcpy(cl->pending, buf + r, (size_t)(n - r));
			cl->off = 0;
			cl->npending = (size_t)(n - r);
			return true;
		}
	}
	if (cl->eof && !cl->npending) {
		tcp_shutdown(cl->c);
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	uint16_t port = argc > 1 ? (uint16_t)strtoul(argv[1], NULL, 10) : 7777;
	int r = net_open();
	if (r < 0) {
		printf("tcpecho: no network: %e\n", r);
		return 2;
	}
	int err;
	struct tcp_conn *l = tcpnet_listen(port, 1024, &err);
	if (!l) {
		printf("tcpecho: cannot listen on port %u: error %d\n", port, err);
		return 2;
	}
	printf("tcpecho: listening on 10.0.2.15 port %u\n", port);
	unsigned long served = 0, open = 0, most = 0;
	uint64_t bytes = 0;
	bool quit = false;
	while (!quit || open) {
		tcpnet_run(quit ? 100 : 60000);
		struct tcp_conn *c;
		while ((c = tcp_accept(l, &err))) {
			int i = 0;
			while (i < MAX_CONNS && clients[i].c)
				i++;
			uint8_t *p = i < MAX_CONNS ? malloc(PENDING) : NULL;
			if (!p) {
				tcp_abort(c);
				continue;
			}
			clients[i] = (struct client){ c, p, 0, 0, 0, false, true };
			open++;
			most = MAX(most, open);
		}
		for (int i = 0; i < MAX_CONNS; i++) {
			struct client *cl = &clients[i];
			if (!cl->c || !(tcp_events(cl->c) & (TCP_EV_IN | TCP_EV_OUT | TCP_EV_ERR)))
				continue;
			if (!serve(cl, &quit)) {
				bytes += cl->bytes;
				tcp_close(cl->c);
				free(cl->pending);
				cl->c = NULL;
				open--;
				served++;
			}
		}
	}
	/* a moment for the last FINs and ACKs */
	for (uint64_t end = net_now_ms() + 500; net_now_ms() < end;)
		tcpnet_run(end - net_now_ms());
	struct net_info ni;
	if (sys_net_info(&ni) == 0)
		printf("tcpecho: frames dropped for a full ring: %lu\n",
		       (unsigned long)ni.ni_rx_full);
	const struct tcp_stats *s = tcp_stack_stats(tcpnet_stack());
	printf("tcpecho: %lu connections served (%lu at once at most), %lu bytes echoed\n", served,
	       most, (unsigned long)bytes);
	printf("tcpecho: segments in %lu (bad sum %lu, bad header %lu, no connection %lu), "
	       "out %lu, retransmitted %lu, timeouts %lu, memory %lu bytes\n",
	       (unsigned long)s->in_segs, (unsigned long)s->in_bad_sum,
	       (unsigned long)(s->in_bad_len + s->in_bad_off + s->in_bad_opts + s->in_bad_flags),
	       (unsigned long)s->in_no_conn, (unsigned long)s->out_segs,
	       (unsigned long)s->out_rexmit_segs, (unsigned long)s->rto_fired,
	       (unsigned long)tcp_stack_memory(tcpnet_stack()));
	tcp_close(l);
	net_close();
	return 0;
}
