/*
 * The network stack's ties to Exo: the receive ring the kernel fills, the
 * transmit buffer, the clock, and waiting for frames. The protocol files
 * reach the machine only through these (lib/net/netwire.h).
 *
 * The ring and the transmit buffer are pages this env allocates and binds
 * itself (shared memory, bound at once), as the kernel
 * requires: it writes received frames only into pages the receiver owns
 * and sends only from pages the sender owns. Both are set up once and kept
 * for the life of the program; net_close only detaches the ring.
 */
#include <inc/net.h>
#include <lib/base/libos.h>
#include <lib/net/netwire.h>
#include <lib/base/vm.h>

#define RING_PAGES NET_RING_PAGES_MAX /* 127 slots: a burst of SYNs from many clients */
#define SEND_TRIES 1000 /* yields while every transmit buffer is busy */

static struct net_ring *ring;
static uint8_t *txbuf;
static envid_t attached; /* who attached the ring: a forked child has not */

uint8_t *net_txbuf(void)
{
	return txbuf;
}

int net_tx(size_t len)
{
	long r;
	for (int tries = 0; (r = sys_net_send(txbuf, len)) == -E_AGAIN && tries < SEND_TRIES;
	     tries++) {
		net_stats.sys_sends++;
		sys_yield(); /* the device has every buffer: let it drain */
	}
	net_stats.sys_sends++;
	return (int)r;
}

uint64_t net_now_us(void)
{
	return rdtsc() / (ukinfo->ki_tsc_hz / 1000000);
}

/* Memory of npages that is bound (and ours) now, not at first touch, and
 * shared with children rather than copied on write: the kernel keeps
 * writing the ring's pages after a fork, and they must stay ours. */
static void *bound_pages(uint64_t npages)
{
	return vm_alloc_shared(npages * PAGE_SIZE);
}

int net_open(void)
{
	struct net_info ni;
	long r = sys_net_info(&ni);
	if (r < 0)
		return (int)r;
	if (attached != thisenv_id) {
		/* new, or a forked child: the ring and buffer it sees are its
		 * parent's, shared copy-on-write; the kernel needs its own */
		ring = bound_pages(RING_PAGES);
		txbuf = bound_pages(1);
		if (!ring || !txbuf)
			return -E_NO_MEM;
		r = sys_net_ring_attach(ring, RING_PAGES);
		if (r < 0)
			return (int)r;
		attached = thisenv_id;
	}
	memcpy(net_config.nc_mac, ni.ni_mac, 6);
	net_config.nc_ip = NET_QEMU_IP;
	net_config.nc_mask = NET_QEMU_MASK;
	net_config.nc_gw = NET_QEMU_GW;
	/* Asking for the gateway's address also tells it ours, so forwarded
	 * traffic can reach us before we send anything. */
	uint8_t mac[6];
	arp_resolve(net_config.nc_gw, mac, 1000);
	return 0;
}

void net_close(void)
{
	if (attached == thisenv_id)
		sys_net_ring_attach(NULL, 0);
	attached = 0;
}

int net_poll(uint64_t wait_ms)
{
	if (attached != thisenv_id)
		return -E_INVAL; /* no ring, or the parent's (after fork) */
	if (net_in_input)
		return 0; /* frames are taken in order, by the outermost caller */
	int n = 0;
	for (bool waited = false;; waited = true) {
		uint32_t head = ring->nr_head;
		while (ring->nr_tail != head && n < NET_POLL_BATCH) {
			uint32_t t = ring->nr_tail;
			struct net_slot *s = net_ring_slot(ring, t % ring->nr_nslots);
			eth_input(s->ns_data, MIN(s->ns_len, (uint32_t)sizeof(s->ns_data)));
			__asm__ volatile("" ::: "memory"); /* done with the slot first */
			ring->nr_tail = t + 1;
			n++;
		}
		if (n || wait_ms == 0 || waited)
			return n;
		uint64_t hz = ukinfo->ki_tick_hz;
		uint64_t ticks =
			wait_ms > UINT64_MAX / hz ? UINT64_MAX : (wait_ms * hz + 999) / 1000;
		net_stats.sys_waits++;
		long r = sys_net_wait(ticks);
		if (r < 0)
			return (int)r;
	}
}

int net_claim_port(uint8_t proto, uint16_t port)
{
	struct dpf_filter f;
	dpf_filter_ipv4_port(&f, proto, port);
	return (int)sys_net_filter_add(&f, CAP_SELF);
}

void net_unclaim(int filter)
{
	sys_net_filter_remove((uint64_t)filter);
}
