/*
 * The TCP core on Exo: the one stack a program has, bound to the library
 * OS's IPv4 (lib/net/ipv4.c hands it segments through net_tcp_input) and
 * to the kernel's packet filters, and the waiting calls a program uses.
 *
 * Hooks: a segment goes out through ip_output from a transmit slot (the
 * headers and copied pieces are gathered there), its zero-copy pieces
 * (tcp_send_zc's objects) of REF_MIN bytes or more by reference: the
 * kernel pins their pages and the device reads them in place
 * (lib/net/net.c). Frames produced during one tcpnet_run - the answers to
 * a burst of received segments, and what the timers send - leave in one
 * batch, one system call. Output never waits for ARP: with no address cached for the
 * next hop it asks and drops the segment, which retransmission repeats -
 * waiting would process received frames inside the stack's own call.
 * Memory is the library OS's malloc, or the program's own
 * (tcpnet_set_memory: the appliance library OS gives its slab allocator).
 *
 * Demultiplexing: each listener claims its TCP port with a DPF filter
 * (net_claim_port), and one more filter claims a block of CLIENT_BLOCK
 * ephemeral ports for all the env's outgoing connections (the stack takes
 * their ports from it), so the kernel gives this env its ports' segments
 * and no other env's, with a filter count that does not grow with
 * connections; the 4-tuple lookup inside is the stack's hash table. (One
 * filter per connection in the kernel's trie was measured against this:
 * doc/net.md.)
 *
 * Waiting: tcpnet_run sleeps in the kernel (net_poll, sys_net_wait) until
 * a frame arrives or the stack's next timer is due, then runs both. An
 * idle program with no timers pending sleeps until a frame comes.
 *
 * The secret for ISNs and SYN cookies comes from the kernel's entropy
 * source (sys_entropy_get: the CPU's RDSEED/RDRAND, or its boot-time pool),
 * mixed with the cycle counter and the env id in case the call fails.
 */
#include <inc/dpf.h>
#include <inc/net.h>
#include <lib/base/libos.h>
#include <lib/net/netwire.h>
#include <lib/net/tcp_int.h> /* tcp_keyed_hash */
#include <lib/net/tcpnet.h>

#define CLAIMS 64 /* ports claimed at once (listeners and clients) */
#define REF_MIN 512 /* shorter zero-copy pieces are copied: cheaper than a descriptor */
#define CLIENT_BLOCK 1024 /* ephemeral ports one env claims with one filter */
#define CLIENT_BLOCKS ((65536 - 49152) / CLIENT_BLOCK)

static struct tcp_stack *stack;
static void (*wake_fn)(struct tcp_conn *c);
static int client_filter = -1; /* the filter of our block of client ports */
static uint16_t client_first;   /* its first port */
static struct {
	uint16_t port;
	int filter;
} claims[CLAIMS];

/* Tell the stack what the device does: on the first segment, and again
 * if net.c had to give segmentation up. */
static void offloads_follow(void)
{
	static int told = -1;
	if (told == net_offloads)
		return;
	told = net_offloads;
	tcp_stack_set_offload(stack, net_offloads & NET_OFFLOAD_CSUM,
			      net_offloads & NET_OFFLOAD_TSO4 ? TCP_TSO_MAX : 0);
}

static int tcp_out(void *ctx, uint32_t src, uint32_t dst, const struct tcp_piece *pieces, int n)
{
	(void)ctx, (void)src;
	size_t len = 0;
	for (int i = 0; i < n; i++)
		len += pieces[i].tp_len;
	if (!net_txbuf())
		return -E_NOT_FOUND; /* net_open has not succeeded: no NIC */
	uint16_t mss = pieces[0].tp_tso_mss;
	if ((mss && !net_tx_offload(NET_TX_TSO | (uint32_t)mss << NET_TX_MSS_SHIFT)) ||
	    (!mss && pieces[0].tp_csum_partial && !net_tx_offload(NET_TX_CSUM))) {
		offloads_follow(); /* the device no longer does it: lost, resent without */
		return -E_INVAL;
	}
	if (len > net_tx_frame_max() - ETH_HLEN - IP_HLEN) {
		net_tx_cancel();
		return -E_TOO_BIG;
	}
	bool local = (dst & net_config.nc_mask) == (net_config.nc_ip & net_config.nc_mask);
	uint32_t hop = local ? dst : net_config.nc_gw;
	uint8_t mac[6];
	if (!arp_lookup(hop, mac)) {
		net_tx_cancel();
		if (!net_in_input)
			arp_request(hop);
		return -E_AGAIN;
	}
	uint8_t *out = ip_payload();
	size_t copied = 0;
	for (int i = 0; i < n; i++) {
		/* a segmented frame's payload goes by reference, all of it: the
		 * stack's own buffers stay as they are until acknowledged too,
		 * and the slot holds only one MSS (TCP_TSO_PIECES fit) */
		bool by_ref = mss ? i > 0 : pieces[i].tp_ref && pieces[i].tp_len >= REF_MIN;
		if (by_ref &&
		    net_tx_ref(ETH_HLEN + IP_HLEN + copied, pieces[i].tp_data, pieces[i].tp_len))
			continue;
		if (mss && i > 0) {
			net_tx_cancel();
			return -E_FULL; /* cannot happen: TCP_TSO_PIECES fit a frame */
		}
		memcpy(out + copied, pieces[i].tp_data, pieces[i].tp_len);
		copied += pieces[i].tp_len;
	}
	return ip_output(mac, dst, IP_PROTO_TCP, len); /* checked: it reaches net_tx */
}

static uint64_t tcp_clock(void *ctx)
{
	(void)ctx;
	return net_now_us();
}

/* The stack's memory: the library OS's malloc unless a program gave its
 * own (tcpnet_set_memory, before the stack exists). */
static void *(*mem_alloc)(size_t n);
static void (*mem_free)(void *p, size_t n);

static void *tcp_malloc(void *ctx, size_t n)
{
	(void)ctx;
	return mem_alloc ? mem_alloc(n) : malloc(n);
}

static void tcp_mfree(void *ctx, void *p, size_t n)
{
	(void)ctx;
	if (mem_free)
		mem_free(p, n);
	else
		free(p);
}

static void tcp_wake_hook(void *ctx, struct tcp_conn *c)
{
	(void)ctx;
	if (wake_fn)
		wake_fn(c);
}

int tcpnet_set_memory(void *(*alloc)(size_t n), void (*release)(void *p, size_t n))
{
	if (stack)
		return -E_BUSY;
	mem_alloc = alloc;
	mem_free = release;
	return 0;
}

void tcpnet_set_wake(void (*fn)(struct tcp_conn *c))
{
	wake_fn = fn;
}

static void input(uint32_t src, uint32_t dst, const uint8_t *seg, size_t len)
{
	tcp_input_checked(stack, src, dst, seg, len, net_rx_sum_ok);
}

static void unreachable(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	tcp_icmp_unreachable(stack, src, sport, dst, dport);
}

struct tcp_stack *tcpnet_stack(void)
{
	if (stack)
		return stack;
	uint64_t mix[4] = { rdtsc(), (uint64_t)thisenv_id, 0, 0 };
	if (sys_entropy_get(&mix[2], 16) < 0) /* only a broken kernel fails it */
		for (int i = 0; i < 64; i++)
			mix[2] ^= rdtsc() << (i % 7);
	uint8_t secret[16];
	uint64_t h1 = tcp_keyed_hash((const uint8_t *)"exo-tcp-secret-0", mix, sizeof(mix));
	mix[3] = rdtsc();
	uint64_t h2 = tcp_keyed_hash((const uint8_t *)"exo-tcp-secret-1", mix, sizeof(mix));
	memcpy(secret, &h1, 8);
	memcpy(secret + 8, &h2, 8);
	struct tcp_hooks h = { NULL, tcp_out, tcp_clock, tcp_malloc, tcp_mfree, tcp_wake_hook };
	stack = tcp_stack_new(&h, secret);
	if (stack) {
		offloads_follow();
		net_tcp_input = input;
		net_tcp_unreachable = unreachable;
	}
	return stack;
}

/* One filter for all of this env's client connections: the first block
 * of CLIENT_BLOCK ephemeral ports no other env has claimed (the kernel
 * refuses overlapping filters, so blocks are disjoint between envs), and
 * the stack takes its ephemeral ports from it. Without one (no filter
 * left, every block taken), clients claim their ports one by one. */
static void claim_client_block(struct tcp_stack *st)
{
	if (client_filter >= 0)
		return;
	for (int b = 0; b < CLIENT_BLOCKS; b++) {
		uint16_t first = (uint16_t)(49152 + b * CLIENT_BLOCK);
		struct dpf_filter f;
		dpf_filter_ipv4_port(&f, IP_PROTO_TCP, first);
		f.df_atoms[4].da_mask = (uint32_t)(0x10000 - CLIENT_BLOCK); /* the block */
		long r = sys_net_filter_add(&f, CAP_SELF);
		if (r >= 0) {
			client_filter = (int)r;
			client_first = first;
			tcp_stack_set_ephemeral(st, first, CLIENT_BLOCK);
			return;
		}
		if (r != -E_BUSY)
			return;
	}
}

static bool in_client_block(uint16_t port)
{
	return client_filter >= 0 && port >= client_first && port - client_first < CLIENT_BLOCK;
}

static int claim(uint16_t port)
{
	if (in_client_block(port))
		return 0;
	for (int i = 0; i < CLAIMS; i++)
		if (claims[i].port == port)
			return 0;
	for (int i = 0; i < CLAIMS; i++) {
		if (claims[i].port)
			continue;
		int f = net_claim_port(IP_PROTO_TCP, port);
		if (f == -E_BUSY)
			return -EADDRINUSE; /* another env's port */
		claims[i].port = port;
		claims[i].filter = f; /* < 0: no kernel filter, the default frames */
		return 0;
	}
	return 0; /* out of slots: the default receiver's frames still come */
}

void tcpnet_unclaim(uint16_t port)
{
	for (int i = 0; i < CLAIMS; i++) {
		if (claims[i].port == port) {
			if (claims[i].filter >= 0)
				net_unclaim(claims[i].filter);
			claims[i].port = 0;
		}
	}
}

int tcpnet_claim(uint16_t port)
{
	struct tcp_stack *st = tcpnet_stack();
	if (!st)
		return -E_NO_MEM;
	return claim(port);
}

void tcpnet_claim_clients(void)
{
	struct tcp_stack *st = tcpnet_stack();
	if (st)
		claim_client_block(st);
}

int tcpnet_route(uint32_t ip, uint64_t timeout_ms)
{
	uint8_t mac[6];
	if (!net_txbuf())
		return -E_NOT_FOUND;
	if (timeout_ms == 0) {
		bool local = (ip & net_config.nc_mask) == (net_config.nc_ip & net_config.nc_mask);
		uint32_t hop = local ? ip : net_config.nc_gw;
		if (arp_lookup(hop, mac))
			return 0;
		if (!net_in_input)
			arp_request(hop);
		return -E_AGAIN;
	}
	return ip_route(ip, mac, timeout_ms);
}

int tcpnet_run(uint64_t wait_ms)
{
	struct tcp_stack *st = tcpnet_stack();
	if (!st)
		return -E_NO_MEM;
	net_tx_batch_begin(); /* net_poll flushes before it sleeps */
	uint64_t next = tcp_timers(st), now = net_now_us();
	if (next != UINT64_MAX) {
		uint64_t until = next > now ? (next - now + 999) / 1000 : 0;
		wait_ms = MIN(wait_ms, until);
	}
	int r = net_poll(wait_ms);
	/* then drain the ring: a burst (many clients' SYNs) must not find it
	 * full while the program walks its connections */
	for (int n = r, rounds = 0; n == NET_POLL_BATCH && rounds < 32; rounds++) {
		n = net_poll(0);
		if (n > 0)
			r += n;
	}
	tcp_timers(st);
	net_tx_batch_end();
	return r;
}

struct tcp_conn *tcpnet_listen(uint16_t port, int backlog, int *err)
{
	struct tcp_stack *st = tcpnet_stack();
	if (!st) {
		*err = -E_NO_MEM;
		return NULL;
	}
	int r = claim(port);
	if (r < 0) {
		*err = r;
		return NULL;
	}
	return tcp_listen(st, net_config.nc_ip, port, backlog, false, err);
}

struct tcp_conn *tcpnet_connect(uint32_t ip, uint16_t port, uint64_t timeout_ms, int *err)
{
	struct tcp_stack *st = tcpnet_stack();
	if (!st) {
		*err = -E_NO_MEM;
		return NULL;
	}
	uint8_t mac[6];
	*err = ip_route(ip, mac, MIN(timeout_ms, 3000ULL)); /* ARP before the SYN */
	if (*err < 0)
		return NULL;
	claim_client_block(st);
	struct tcp_conn *c = tcp_connect(st, net_config.nc_ip, 0, ip, port, err);
	if (!c)
		return NULL;
	uint16_t lport;
	tcp_addrs(c, NULL, &lport, NULL, NULL);
	claim(lport);
	uint64_t deadline = net_now_ms() + timeout_ms;
	while (!(tcp_events(c) & (TCP_EV_CONN | TCP_EV_ERR))) {
		uint64_t now = net_now_ms();
		if (now >= deadline) {
			tcp_close(c);
			tcpnet_unclaim(lport);
			*err = -ETIMEDOUT;
			return NULL;
		}
		tcpnet_run(deadline - now);
	}
	if (tcp_error(c)) {
		*err = tcp_error(c);
		tcp_close(c);
		tcpnet_unclaim(lport);
		return NULL;
	}
	*err = 0;
	return c;
}

long tcpnet_send_all(struct tcp_conn *c, const void *buf, size_t len, uint64_t timeout_ms)
{
	size_t done = 0;
	uint64_t deadline = net_now_ms() + timeout_ms;
	while (done < len) {
		net_tx_batch_begin(); /* the segments one call sends leave together */
		long r = tcp_send(c, (const uint8_t *)buf + done, len - done);
		net_tx_batch_end();
		if (r > 0) {
			done += (size_t)r;
			continue;
		}
		if (r != -E_AGAIN)
			return r;
		uint64_t now = net_now_ms();
		if (now >= deadline)
			return done ? (long)done : -E_AGAIN;
		tcpnet_run(deadline - now);
	}
	return (long)done;
}

long tcpnet_recv(struct tcp_conn *c, void *buf, size_t len, uint64_t timeout_ms)
{
	uint64_t deadline = net_now_ms() + timeout_ms;
	for (;;) {
		long r = tcp_recv(c, buf, len);
		if (r != -E_AGAIN)
			return r;
		uint64_t now = net_now_ms();
		if (now >= deadline)
			return -E_AGAIN;
		tcpnet_run(deadline - now);
	}
}
