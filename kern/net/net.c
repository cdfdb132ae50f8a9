/*
 * The network multiplexer. The NIC driver (virtio_net.c) moves frames; this
 * file decides who gets each received frame and checks who may send.
 *
 * Receive: an env registers a ring (inc/net.h) in pages it owns with
 * sys_net_ring_attach. A frame from the device is demultiplexed to an env
 * (demux, below), copied into the next slot of that env's ring, and the env
 * is woken if it sleeps (sys_net_wait, or sys_env_sleep, which a frame ends
 * as a protected control transfer would). The kernel writes only into pages
 * the env owns: each delivery checks that the header page and the slot's
 * page are still user pages of that env (it may have freed them, or the
 * abort protocol taken them), and a ring that fails the check is detached.
 * The pages are the ones bound at attach time; rebinding the range does not
 * move the ring. Nothing read back from the ring is trusted: the kernel keeps
 * its own head, and a tail that makes no sense counts as a full ring.
 *
 * Demultiplexing: each env installs DPF filters for the traffic it wants
 * (netfilter.c: one trie for all of them, compiled to native code, no env
 * allowed to take another's traffic); a frame no filter claims goes to the
 * default receiver - the env whose ring was attached first, or the next
 * with room when its ring is full - or is dropped and counted
 * (ni_rx_unclaimed). A packet handler's time is paid from its env's family
 * budget (kern/bpf/dlcode.c): when that is spent the handler is skipped
 * and the frame goes to the env's ring, so a handler that runs to its
 * budget on every frame slows only its own family's traffic.
 *
 * Transmit (sys_net_send, sys_net_send_batch, a packet handler's replies)
 * is nettx.c's: batches, zero copy from pinned pages, each env's share of
 * the ring. Any env may send; source addresses are not checked (outgoing
 * filters belong with the DPF work).
 *
 * Locking: the big kernel lock (system calls and IRQ_NET alike).
 */
#include <inc/error.h>
#include <inc/net.h>
#include <inc/page.h>
#include <kern/arch/console.h>
#include <kern/arch/cpu.h>
#include <kern/env/env.h>
#include <kern/bpf/dlcode.h>
#include <kern/net/net.h>
#include <kern/net/netfilter.h>
#include <kern/mem/pmap.h>
#include <kern/mem/account.h>
#include <kern/mem/stlb.h>
#include <kern/dev/virtio_net.h>
#include <kern/mem/vm.h>
#include <kern/arch/x86.h>
#include <common/string.h>

/* The kernel's record of a ring; the shared header is only the env's view. */
struct ring {
	envid_t r_env;        /* 0: this entry is free */
	uint32_t r_nslots;
	uint32_t r_head;      /* frames written: the truth behind nr_head */
	uint32_t r_ppn[NET_RING_PAGES_MAX]; /* its pages, as bound at attach */
};

static struct ring rings[NET_RINGS];
static struct net_info stats; /* counters; the rest is filled on request */

static void net_input(const uint8_t *frame, uint32_t len, bool sum_ok);

void net_init(void)
{
	virtio_net_init(net_input);
	nettx_init();
}

void net_irq(void)
{
	uint64_t t0 = rdtsc();
	virtio_net_irq();
	stats.ni_irqs++;
	stats.ni_irq_cycles += rdtsc() - t0;
}

/* The ring of env id, or NULL. */
static struct ring *ring_of(envid_t id)
{
	for (struct ring *r = rings; r < rings + NET_RINGS; r++)
		if (r->r_env && r->r_env == id)
			return r;
	return NULL;
}

/* Free ring r of e (its pages go with e's memory, or stay e's). */
static void ring_detach(struct ring *r, struct env *e)
{
	r->r_env = 0;
	acct_release(e->env_vm->vs_acct, QUOTA_RINGS, 1);
}

void net_env_gone(struct env *e, enum env_end how UNUSED)
{
	struct ring *r = ring_of(e->env_id);
	if (r)
		ring_detach(r, e);
	nettx_env_gone(e);
}

/* Is ppn a user page e owns? Only then may the kernel write into it. */
static bool owns(const struct env *e, ppn_t ppn)
{
	return ppn < pages_total && pages[ppn].pg_owner == e->env_id &&
	       pages[ppn].pg_type == PAGE_USER;
}

/* The kernel address of byte off of the ring, if e still owns that page;
 * otherwise the ring is detached and NULL returned. */
static void *ring_at(struct ring *r, struct env *e, uint64_t off)
{
	ppn_t ppn = r->r_ppn[off / PAGE_SIZE];
	if (!owns(e, ppn)) {
		cprintf("net: env %08x no longer owns its ring page %lu; ring detached\n",
			e->env_id, ppn);
		ring_detach(r, e);
		return NULL;
	}
	return (char *)page_kva(ppn) + off % PAGE_SIZE;
}

/* The default receiver: unfiltered frames go to the env whose ring was
 * attached first (the lowest table slot), or nowhere. */
static envid_t net_owner(void)
{
	for (struct ring *r = rings; r < rings + NET_RINGS; r++)
		if (r->r_env)
			return r->r_env;
	return 0;
}

/* Where a frame no filter claims goes: the default receiver's ring - or,
 * when that ring is full, the next (in table order) with room. An env that
 * never reads its ring (its packet handler busy, or hostile) must not take
 * everyone's ARP down with it: the host could no longer find the guest's
 * address and nothing more would arrive for anyone. */
static envid_t unclaimed_to(void)
{
	envid_t first = 0;
	for (struct ring *r = rings; r < rings + NET_RINGS; r++) {
		if (!r->r_env)
			continue;
		struct env *e = env_lookup(r->r_env);
		if (!e)
			continue;
		if (!first)
			first = r->r_env;
		struct net_ring *hdr = ring_at(r, e, 0);
		if (hdr && r->r_head - hdr->nr_tail < r->r_nslots)
			return e->env_id;
	}
	return first; /* all full: the first counts the drop */
}

static uint64_t last_arrival; /* TSC of the latest frame since a send; 0: none */

/* A frame is about to go to the device: count it, and the turnaround since
 * the frame that (presumably) asked for it arrived - up to the doorbell,
 * whose cost is the emulator's and the same for every sender. */
void net_count_tx(void)
{
	stats.ni_tx_frames++;
	if (!last_arrival)
		return;
	uint64_t t = rdtsc() - last_arrival;
	last_arrival = 0;
	stats.ni_turn_count++;
	stats.ni_turn_cycles += t;
	if (!stats.ni_turn_min || t < stats.ni_turn_min)
		stats.ni_turn_min = t;
}

/* Who gets a frame: the env whose packet filter accepts it (netfilter.c),
 * if it has a ring - after its packet handler, if the filter has one, which
 * may consume the frame (0 returned) - else the default receiver. */
static envid_t demux(const uint8_t *frame, uint32_t len, bool *consumed)
{
	int64_t ash;
	*consumed = false;
	uint64_t arg = 0;
	envid_t id = netfilter_demux(frame, len, &ash, &arg);
	struct env *e = ash >= 0 ? env_lookup(id) : NULL; /* only a handler needs it */
	if (e && dlcode_run_packet(e, (uint64_t)ash, frame, len, arg, net_tx_kernel_frame) == 0) {
		stats.ni_rx_ash++;
		*consumed = true; /* handled in the kernel: the env is not woken */
		return 0;
	}
	if (id && ring_of(id))
		return id;
	return unclaimed_to();
}

/* A frame arrived (the driver's buffer, valid only during the call). */
static void net_input(const uint8_t *frame, uint32_t len, bool sum_ok)
{
	last_arrival = rdtsc();
	stats.ni_rx_frames++;
	stats.ni_rx_coalesced += len > NET_FRAME_MAX;
	bool consumed;
	envid_t id = demux(frame, len, &consumed);
	if (consumed)
		return;
	struct ring *r = id ? ring_of(id) : NULL;
	struct env *e = r ? env_lookup(id) : NULL;
	if (!e || len > NET_TSO_FRAME_MAX) {
		stats.ni_rx_unclaimed++;
		return;
	}
	struct net_ring *hdr = ring_at(r, e, 0);
	if (!hdr) {
		stats.ni_rx_unclaimed++;
		return;
	}
	uint32_t tail = hdr->nr_tail, nslots = NET_SLOTS_FOR(len);
	if (r->r_head - tail > r->r_nslots || r->r_head - tail + nslots > r->r_nslots) {
		/* full, or a tail the env made up: the frame is lost either way */
		hdr->nr_drops++;
		stats.ni_rx_full++;
		return;
	}
	for (uint32_t i = 0, done = 0; i < nslots; i++, done += NET_SLOT_DATA) {
		uint64_t slot = (r->r_head + i) % r->r_nslots;
		struct net_slot *s = ring_at(r, e, NET_SLOT_SIZE * (1 + slot));
		if (!s) {
			stats.ni_rx_unclaimed++;
			return;
		}
		memcpy(s->ns_data, frame + done, MIN(len - done, (uint32_t)NET_SLOT_DATA));
		s->ns_len = i ? 0 : len;
		s->ns_flags = !i && sum_ok ? NET_SLOT_SUM_OK : 0;
	}
	__asm__ volatile("" ::: "memory"); /* the slots before the head that shows them */
	r->r_head += nslots;
	hdr->nr_head = r->r_head;
	stats.ni_rx_delivered++;
	stats.ni_wakes += e->env_info->env_status == ENV_BLOCKED && e->env_block == BLOCK_SLEEP;
	sched_wake(e, 1);
}

long sys_net_ring_attach(uint64_t va, uint64_t npages)
{
	struct env *self = curenv;
	struct ring *mine = ring_of(self->env_id);
	if (npages == 0) {
		if (mine)
			ring_detach(mine, self);
		return 0;
	}
	if (va % PAGE_SIZE || va >= UTOP || npages > NET_RING_PAGES_MAX ||
	    npages > (UTOP - va) / PAGE_SIZE)
		return -E_INVAL;
	uint32_t ppn[NET_RING_PAGES_MAX];
	for (uint64_t i = 0; i < npages; i++) {
		const struct binding *b = stlb_lookup(self->env_vm, va + i * PAGE_SIZE);
		if (!b || !(b->b_rights & BIND_WRITE))
			return -E_FAULT;
		if (!owns(self, b->b_ppn))
			return -E_PERM;
		ppn[i] = b->b_ppn;
	}
	if (mine)
		return -E_BUSY;
	struct ring *r = rings;
	while (r < rings + NET_RINGS && r->r_env)
		r++;
	if (r == rings + NET_RINGS)
		return -E_FULL;
	if (!acct_charge(self->env_vm->vs_acct, QUOTA_RINGS, 1))
		return -E_QUOTA; /* its family holds its share of the table */

	r->r_env = self->env_id;
	r->r_nslots = (uint32_t)(npages * (PAGE_SIZE / NET_SLOT_SIZE) - 1);
	r->r_head = 0;
	memcpy(r->r_ppn, ppn, npages * sizeof(ppn[0]));
	struct net_ring *hdr = page_kva(ppn[0]);
	memset(hdr, 0, NET_SLOT_SIZE);
	hdr->nr_nslots = r->r_nslots;
	return r->r_nslots;
}

long sys_net_info(uint64_t out)
{
	if (!virtio_net_present())
		return -E_NOT_FOUND;
	struct net_info ni = stats;
	virtio_net_mac(ni.ni_mac);
	ni.ni_link = virtio_net_link_up();
	ni.ni_offloads = virtio_net_offloads();
	ni.ni_rx_bad = virtio_net_rx_bad();
	ni.ni_owner = net_owner();
	nettx_info(&ni);
	if (copy_to_user(curenv->env_vm, out, &ni, sizeof(ni)) < 0)
		return -E_FAULT;
	return 0;
}

long sys_net_wait(uint64_t ticks)
{
	struct env *self = curenv;
	struct ring *r = ring_of(self->env_id);
	struct net_ring *hdr = r ? ring_at(r, self, 0) : NULL;
	if (!hdr)
		return -E_NOT_FOUND; /* none, or it just lost its header page */
	if (hdr->nr_tail != r->r_head || self->env_pct_qlen)
		return 1;
	if (ticks == 0)
		return 0;
	sched_sleep(self, ticks);
	sched_yield();
}
