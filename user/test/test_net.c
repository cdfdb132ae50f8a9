/*
 * The network system calls: every error of net_ring_attach, net_send,
 * net_info and net_wait, in a boot without a NIC (the default) and, when
 * there is one (tools/test-net boots with PORTS), the paths that need it:
 * frames sent from owned memory, including junk and frames across a page
 * boundary; received frames landing in the ring; and a ring the env
 * damages - a tail that makes no sense, a page given back - which must cost
 * the env its frames and never the kernel anything.
 *
 * Traffic on demand: an ARP request for the gateway, which QEMU's user
 * network answers.
 */
#include <inc/net.h>
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>

#define RING_PAGES 4
#define GW_IP 0x0a000202 /* 10.0.2.2 */
#define OUR_IP 0x0a00020f

static uint8_t mac[6];

int main(void);

/* A page-aligned region of n pages, bound and ours now, and shared rather
 * than copied on fork, so the parent keeps owning and binding them
 * writable while its children run. */
static uint8_t *pages_now(uint64_t n)
{
	uint8_t *p = vm_alloc_shared(n * PAGE_SIZE);
	assert(p);
	return p;
}

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

/* An ARP request for the gateway at f; its length. */
static uint64_t arp_frame(uint8_t *f)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	put16(f + 12, 0x0806);
	put16(f + 14, 1);      /* Ethernet */
	put16(f + 16, 0x0800); /* IPv4 */
	f[18] = 6;
	f[19] = 4;
	put16(f + 20, 1);      /* request */
	memcpy(f + 22, mac, 6);
	put32(f + 28, OUR_IP);
	memset(f + 32, 0, 6);
	put32(f + 38, GW_IP);
	return 42;
}

/* Send, waiting while the device has the ring: up to 30 s of ticks (a
 * loaded host runs QEMU's transmit side late; a count of yields would be
 * a bound on its speed). */
static long send_retry(const void *va, uint64_t len)
{
	long r;
	uint64_t until = ukinfo->ki_ticks + 30 * ukinfo->ki_tick_hz;
	while ((r = sys_net_send(va, len)) == -E_AGAIN && ukinfo->ki_ticks < until)
		sys_yield();
	return r;
}

/* Ask for an ARP reply and wait until the ring's head moves (or 2 s). */
static bool provoke(struct net_ring *ring, uint8_t *txpage)
{
	uint32_t head = ring->nr_head, drops = ring->nr_drops;
	for (int tries = 0; tries < 4; tries++) {
		send_retry(txpage, arp_frame(txpage));
		uint64_t until = ukinfo->ki_ticks + ukinfo->ki_tick_hz / 2;
		while (ukinfo->ki_ticks < until) {
			if (ring->nr_head != head || ring->nr_drops != drops)
				return true;
			sys_net_wait(until - ukinfo->ki_ticks);
		}
	}
	return false;
}

/* Errors that need no NIC: every argument check comes before the device's. */
static void argument_errors(uint8_t *ring, uint8_t *txpage)
{
	uint8_t *edge = vm_alloc(2 * PAGE_SIZE); /* its second page stays unbound */
	edge[0] = 1;
	check_eq("attach-unaligned", sys_net_ring_attach(ring + 8, 1), -E_INVAL);
	check_eq("attach-above-utop", sys_net_ring_attach((void *)UTOP, 1), -E_INVAL);
	check_eq("attach-too-many", sys_net_ring_attach(ring, NET_RING_PAGES_MAX + 1), -E_INVAL);
	check_eq("attach-wraps", sys_net_ring_attach((void *)(UTOP - PAGE_SIZE), 2), -E_INVAL);
	check_eq("attach-unbound", sys_net_ring_attach((void *)0x5000000000UL, 1), -E_FAULT);
	void *text = (void *)ROUNDDOWN((uint64_t)main, PAGE_SIZE);
	check_eq("attach-read-only", sys_net_ring_attach(text, 1), -E_FAULT);
	check_eq("wait-no-ring", sys_net_wait(0), -E_NOT_FOUND);

	check_eq("send-short", sys_net_send(txpage, NET_FRAME_MIN - 1), -E_INVAL);
	check_eq("send-long", sys_net_send(txpage, NET_FRAME_MAX + 1), -E_INVAL);
	check_eq("send-unbound", sys_net_send((void *)0x5000000000UL, 60), -E_FAULT);
	check_eq("send-above-utop", sys_net_send((void *)(UTOP - 30), 60), -E_FAULT);
	check_eq("send-into-unbound", sys_net_send(edge + PAGE_SIZE - 20, 60), -E_FAULT);
	/* program text: bound, but the boot image's page, not the caller's */
	check_eq("send-not-owned", sys_net_send((void *)main, 60), -E_PERM);

	/* a page shared by the parent, writable in the child: not the child's */
	uint8_t *shared = vm_alloc_shared(PAGE_SIZE);
	long pid = fork();
	if (pid == 0) {
		long a = sys_net_ring_attach(shared, 1);
		long s = sys_net_send(shared, 60);
		exit(a == -E_PERM && s == -E_PERM ? 0 : 1);
	}
	check_eq("attach-send-not-owned", wait(pid), 0);
	vm_unmap((uint64_t)shared, PAGE_SIZE);

	long n = sys_net_ring_attach(ring, RING_PAGES);
	check_eq("attach", n, RING_PAGES * 2 - 1);
	check_eq("attach-header", ((struct net_ring *)ring)->nr_nslots, RING_PAGES * 2 - 1);
	check_eq("attach-again", sys_net_ring_attach(ring, RING_PAGES), -E_BUSY);
	pid = fork();
	if (pid == 0) {
		/* another env may have a ring too: it gets what its filters claim */
		uint8_t *mine = pages_now(1);
		exit(sys_net_ring_attach(mine, 1) == 1 ? 0 : 1);
	}
	check_eq("attach-other-env", wait(pid), 0);
	check_eq("detach", sys_net_ring_attach(NULL, 0), 0);
	check_eq("detach-twice", sys_net_ring_attach(NULL, 0), 0);
	check_eq("wait-after-detach", sys_net_wait(0), -E_NOT_FOUND);
}

static void without_nic(uint8_t *ring, uint8_t *txpage)
{
	struct net_info ni;
	check_eq("nonic-info", sys_net_info(&ni), -E_NOT_FOUND);
	check_eq("nonic-send", sys_net_send(txpage, 60), -E_NOT_FOUND);
	check_eq("nonic-attach", sys_net_ring_attach(ring, RING_PAGES), RING_PAGES * 2 - 1);
	check_eq("nonic-wait-empty", sys_net_wait(0), 0);
	uint64_t t0 = ukinfo->ki_ticks;
	check_eq("nonic-wait-times-out", sys_net_wait(2), 0);
	check("nonic-wait-slept", ukinfo->ki_ticks >= t0 + 2);
	sys_net_ring_attach(NULL, 0);
}

static void with_nic(uint8_t *ringmem, uint8_t *txpage, const struct net_info *ni)
{
	static const uint8_t qemu_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	check("nic-mac", memcmp(ni->ni_mac, qemu_mac, 6) == 0);
	check_eq("nic-link", ni->ni_link, 1);
	check_eq("nic-info-fault", sys_net_info((struct net_info *)0x5000000000UL), -E_FAULT);

	/* junk of every size and shape goes out; QEMU's slirp drops it */
	uint32_t x = 12345;
	bool ok = true;
	for (int i = 0; i < 200 && ok; i++) {
		uint64_t span = NET_FRAME_MAX - NET_FRAME_MIN + 1;
		uint64_t len = NET_FRAME_MIN + (uint64_t)i * 7 % span;
		for (uint64_t k = 0; k < len; k++) {
			x = x * 1103515245 + 12345;
			txpage[k] = (uint8_t)(x >> 16);
		}
		if (i % 3 == 0)
			put16(txpage + 12, 0x0800); /* IPv4 with nonsense headers */
		ok = send_retry(txpage, len) == 0;
	}
	check("nic-send-junk", ok);
	check_eq("nic-send-max", send_retry(txpage, NET_FRAME_MAX), 0);
	check_eq("nic-send-min", send_retry(txpage, NET_FRAME_MIN), 0);
	/* a frame across a page boundary, both pages ours */
	uint64_t at = PAGE_SIZE - 21;
	arp_frame(txpage + at);
	check_eq("nic-send-across-pages", send_retry(txpage + at, 42), 0);

	/* frames arrive in the ring */
	struct net_ring *ring = (struct net_ring *)ringmem;
	check_eq("nic-attach", sys_net_ring_attach(ringmem, RING_PAGES), RING_PAGES * 2 - 1);
	struct net_info now;
	sys_net_info(&now);
	check_eq("nic-owner", now.ni_owner, thisenv_id);
	check("nic-receive", provoke(ring, txpage));
	bool found = false;
	while (ring->nr_tail != ring->nr_head) {
		struct net_slot *s = net_ring_slot(ring, ring->nr_tail % ring->nr_nslots);
		if (s->ns_len >= 42 && s->ns_data[12] == 0x08 && s->ns_data[13] == 0x06 &&
		    s->ns_data[21] == 2 && memcmp(s->ns_data, mac, 6) == 0)
			found = true; /* an ARP reply, to us */
		ring->nr_tail++;
	}
	check("nic-arp-reply-in-ring", found);
	check_eq("nic-wait-consumed", sys_net_wait(0), 0);

	/* a tail the env made up: frames are dropped and counted, nothing worse */
	ring->nr_tail = ring->nr_head + 1000;
	uint32_t drops = ring->nr_drops;
	check("nic-bad-tail-survives", provoke(ring, txpage));
	check("nic-bad-tail-drops", ring->nr_drops > drops);
	ring->nr_tail = ring->nr_head;
	check("nic-ring-recovers", provoke(ring, txpage) && ring->nr_head != ring->nr_tail);
	ring->nr_tail = ring->nr_head;

	/* the env gives a ring page back: the kernel stops writing there */
	uint64_t last = (uint64_t)ringmem + (RING_PAGES - 1) * PAGE_SIZE;
	uint64_t first = (uint64_t)ringmem;
	vm_unmap(last, PAGE_SIZE);
	vm_unmap(first, PAGE_SIZE);
	for (int i = 0; i < 3; i++)
		send_retry(txpage, arp_frame(txpage));
	sys_env_sleep(ukinfo->ki_tick_hz / 2);
	check_eq("nic-ring-page-freed-detaches", sys_net_wait(0), -E_NOT_FOUND);
	sys_net_info(&now);
	check_eq("nic-no-owner", now.ni_owner, 0);
}

int main(void)
{
	uint8_t *ring = pages_now(RING_PAGES);
	uint8_t *txpage = pages_now(2);
	argument_errors(ring, txpage);

	struct net_info ni;
	if (sys_net_info(&ni) == -E_NOT_FOUND) {
		without_nic(ring, txpage);
	} else {
		memcpy(mac, ni.ni_mac, 6);
		with_nic(ring, txpage, &ni);
	}
	return test_finish();
}
