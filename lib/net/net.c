/*
 * The network stack's ties to Exo: the receive ring the kernel fills, the
 * transmit slots, the clock, and waiting for frames. The protocol files
 * reach the machine only through these (lib/net/netwire.h).
 *
 * The ring and the transmit slots are pages this env allocates and binds
 * itself (shared memory, bound at once), as the kernel requires: it writes
 * received frames only into pages the receiver owns and sends only from
 * pages the sender owns. Both are set up once and kept for the life of the
 * program; net_close only detaches the ring.
 *
 * Transmit batches: frames are built one after another in a ring of
 * TX_FRAMES slots of TX_SLOT bytes (net_txbuf is the next free one) and
 * described in an array of struct net_tx_seg that one sys_net_send_batch
 * hands the kernel: one system call and one doorbell for the lot. Outside
 * a batch (net_tx_batch_begin/_end, which nest) every frame is flushed at
 * once, as before; inside, at the end of the outermost batch, before any
 * wait for frames (net_poll), and when the slots run out. The kernel copies
 * what is in the slots during the call, so a slot is free again once its
 * frame is queued. When the kernel has no room (its ring, or this env's
 * share of it, is full), net_tx_batch_end waits - yielding SEND_YIELDS
 * times, then sleeping a tick at a time, SEND_SLEEPS at most: a device
 * slower than the stack costs time, not segments, which TCP would only
 * resend after a timeout - and a frame that still fails is lost, as on the
 * wire. An event loop ends its turn with net_tx_batch_end_later instead:
 * what the kernel cannot take yet stays in the slots, the loop goes back
 * to reading its input (an env that waits here leaves the ACKs that would
 * free the device's ring to overflow its receive ring), and net_poll sends
 * it before it sleeps, sleeping at most a tick while any is left.
 *
 * Offloads: net_open learns what the device does (ni_offloads, inc/net.h)
 * into net_offloads; a frame built after net_tx_offload asks it of the
 * device on its first piece. A segmented frame is larger than a slot, so
 * it cannot be copied should the kernel refuse its references (below): it
 * is lost, and segmentation is off from then on (TCP resends its bytes in
 * frames of one MSS). net_offload_off, set before net_open, turns every
 * offload off (to measure them).
 *
 * Zero copy: net_tx_ref adds bytes of immutable memory (a TCP zero-copy
 * object) to the frame being built by reference; the kernel pins their
 * pages and the device reads them in place. The kernel sends only from
 * pages this env owns: if it refuses a batch (-E_PERM or -E_FAULT: the
 * memory is in the boot image, say), the referenced bytes are copied into
 * the slots and the batch tried again.
 */
#include <inc/net.h>
#include <lib/base/libos.h>
#include <lib/net/netwire.h>
#include <lib/base/vm.h>

#define RING_PAGES NET_RING_PAGES_MAX /* 511 slots: a burst of SYNs from many clients,
				      * or a grown TCP window of coalesced segments */
#define SEND_YIELDS 1000 /* yields while the kernel has no room for a frame, */
#define SEND_SLEEPS 100 /* ... then sleeps of a tick (1 ms) */
#define POLL_YIELDS 32  /* before net_poll sleeps with frames the kernel has no room for */
#define TX_SLOT 2048    /* a slot: the largest frame, two a page */
#define TX_FRAMES (NET_TX_SEGS_MAX / 2) /* slots: a frame is two pieces, mostly */
#define TX_REFS (NET_TX_FRAME_SEGS - 1) /* referenced parts a frame may have (after its
					* headers); net_tx_ref keeps the copied runs
					* between them within NET_TX_FRAME_SEGS pieces */
_Static_assert(ETH_FRAME_MAX <= TX_SLOT, "a frame fits its slot");

static struct net_ring *ring;
static uint8_t *txslots; /* TX_FRAMES slots of TX_SLOT bytes */
static envid_t attached; /* who attached the ring: a forked child has not */

/* The batch being gathered. */
static struct net_tx_seg batch[NET_TX_SEGS_MAX];
static unsigned nsegs, nframes, holding;
static unsigned slot_head; /* the slot of the first frame gathered: slots are a ring */
/* What net_tx_ref attached to the frame being built in slot nframes. */
static struct {
	size_t r_at; /* bytes of the slot's copied run before it */
	const void *r_data;
	size_t r_len;
} refs[TX_REFS];
static unsigned nrefs;
static size_t ref_bytes;
static unsigned ref_pieces; /* the pieces those make, with the copied runs before them */
static uint32_t off_flags;  /* what the frame asks of the device (net_tx_offload) */
uint8_t net_offloads;       /* NET_OFFLOAD_*: the device's (net_open), less what failed */
bool net_offload_off;

uint8_t *net_txbuf(void)
{
	return txslots ? txslots + (size_t)((slot_head + nframes) % TX_FRAMES) * TX_SLOT : NULL;
}

bool net_tx_ref(size_t at, const void *data, size_t len)
{
	/* this piece, a copied run before it, and one after the last */
	unsigned more = 1 + (at > (nrefs ? refs[nrefs - 1].r_at : 0) || !nrefs);
	if (nrefs == TX_REFS || len == 0 || !txslots || ref_pieces + more + 1 > NET_TX_FRAME_SEGS)
		return false;
	ref_pieces += more;
	refs[nrefs].r_at = at;
	refs[nrefs].r_data = data;
	refs[nrefs].r_len = len;
	nrefs++;
	ref_bytes += len;
	return true;
}

bool net_tx_offload(uint32_t flags)
{
	uint8_t need = flags & NET_TX_TSO ? NET_OFFLOAD_TSO4 | NET_OFFLOAD_CSUM : NET_OFFLOAD_CSUM;
	if ((net_offloads & need) != need || !txslots)
		return false;
	off_flags = flags;
	return true;
}

void net_tx_cancel(void)
{
	off_flags = 0;
	nrefs = ref_pieces = 0;
	ref_bytes = 0;
}

size_t net_tx_frame_max(void)
{
	return off_flags & NET_TX_TSO ? NET_TSO_FRAME_MAX : ETH_FRAME_MAX;
}

static void add_seg(const void *va, size_t len, uint32_t flags)
{
	batch[nsegs++] = (struct net_tx_seg){ (uint64_t)va, (uint32_t)len, flags };
}

/* Is [va, va + len) bound in our address space now? */
static bool readable(uint64_t va, size_t len)
{
	for (uint64_t p = ROUNDDOWN(va, PAGE_SIZE); p < va + len; p += PAGE_SIZE)
		if (sys_page_lookup(p) < 0)
			return false;
	return true;
}

/* Turn the frames of the batch from segs[first] on into one copied piece
 * each, in its slot: the kernel would not send their referenced pieces in
 * place. A frame's first piece is always the start of its slot (the
 * headers come first). A frame whose referenced bytes are not even bound
 * any more (an object let go while a retransmission of it waited) is
 * lost; the count in *lost. */
static void refs_to_copies(unsigned first, unsigned *lost)
{
	static uint8_t frame[ETH_FRAME_MAX];
	unsigned out = first;
	for (unsigned i = first; i < nsegs;) {
		uint8_t *slot = (uint8_t *)batch[i].ts_va;
		uint32_t asks = batch[i].ts_flags & ~(uint32_t)(NET_TX_END | NET_TX_REF);
		size_t len = 0;
		bool ok = true;
		for (bool end = false; !end; i++) {
			const struct net_tx_seg *g = &batch[i];
			if (((g->ts_flags & NET_TX_REF) && !readable(g->ts_va, g->ts_len)) ||
			    len + g->ts_len > sizeof(frame))
				ok = false; /* gone, or segmented: larger than a slot */
			if (ok)
				memcpy(frame + len, (const void *)g->ts_va, g->ts_len);
			len += g->ts_len;
			end = g->ts_flags & NET_TX_END;
		}
		if (asks & NET_TX_TSO)
			net_offloads &= (uint8_t)~NET_OFFLOAD_TSO4; /* these would fail again */
		if (!ok) {
			/* its slot keeps its place in the ring: send the bare Ethernet
			 * header, which the peer drops */
			batch[out++] = (struct net_tx_seg){ (uint64_t)slot, ETH_HLEN, NET_TX_END };
			++*lost;
			continue;
		}
		memcpy(slot, frame, len);
		batch[out++] =
			(struct net_tx_seg){ (uint64_t)slot, (uint32_t)len, NET_TX_END | asks };
	}
	nsegs = out;
}

/* Hand the kernel the frames gathered, in order. wait: until it has taken
 * them all (yielding, then sleeping: see SEND_YIELDS) or they are lost;
 * otherwise the ones it has no room for now stay gathered for the next
 * flush. 0, or the error that lost frames. */
static int flush(bool wait)
{
	unsigned first = 0, done = 0;
	int err = 0, tries = 0;
	bool copied = false;
	while (first < nsegs) {
		uint64_t t0 = rdtsc();
		long r = sys_net_send_batch(batch + first, nsegs - first);
		net_stats.cyc_send += rdtsc() - t0;
		net_stats.sys_sends++;
		if (r == -E_AGAIN && !wait)
			break;
		if (r == -E_AGAIN && tries++ < SEND_YIELDS + SEND_SLEEPS) {
			/* the device has the ring, or our share: let it drain */
			if (tries <= SEND_YIELDS) {
				net_stats.sys_yields++;
				sys_yield();
			} else {
				sys_env_sleep(1);
			}
			continue;
		}
		if ((r == -E_PERM || r == -E_FAULT) && !copied) {
			unsigned lost = 0;
			refs_to_copies(first, &lost);
			net_stats.tx_errors += lost;
			copied = true;
			continue;
		}
		if (r < 0) {
			err = (int)r;
			for (; first < nsegs; first++) {
				bool end = batch[first].ts_flags & NET_TX_END;
				net_stats.tx_errors += end;
				done += end;
			}
			break;
		}
		done += (unsigned)r;
		for (; r > 0; first++)
			r -= (batch[first].ts_flags & NET_TX_END) != 0;
		net_stats.tx_batches++;
		tries = 0; /* progress: the rest waits afresh */
	}
	memmove(batch, batch + first, (nsegs - first) * sizeof(batch[0]));
	nsegs -= first;
	nframes -= done;
	slot_head = (slot_head + done) % TX_FRAMES;
	return err;
}

int net_tx(size_t len)
{
	uint32_t asks = off_flags;
	off_flags = 0;
	if (ref_bytes > len || len - ref_bytes < ETH_HLEN || len - ref_bytes > TX_SLOT) {
		nrefs = ref_pieces = 0;
		ref_bytes = 0;
		return -E_INVAL;
	}
	uint8_t *slot = net_txbuf();
	size_t at = 0, copy = len - ref_bytes;
	unsigned frame_seg = nsegs;
	for (unsigned i = 0; i < nrefs; i++) {
		if (refs[i].r_at > at)
			add_seg(slot + at, refs[i].r_at - at, 0);
		at = refs[i].r_at;
		add_seg(refs[i].r_data, refs[i].r_len, NET_TX_REF);
		net_stats.tx_refs++;
	}
	if (copy > at)
		add_seg(slot + at, copy - at, 0);
	batch[nsegs - 1].ts_flags |= NET_TX_END;
	batch[frame_seg].ts_flags |= asks;
	net_stats.tx_tso += (asks & NET_TX_TSO) != 0;
	nrefs = ref_pieces = 0;
	ref_bytes = 0;
	nframes++;
	bool room = nframes < TX_FRAMES && nsegs + NET_TX_FRAME_SEGS <= NET_TX_SEGS_MAX;
	if (holding && room)
		return 0;
	if (holding) {
		flush(false); /* what the kernel takes now makes room */
		if (nframes < TX_FRAMES && nsegs + NET_TX_FRAME_SEGS <= NET_TX_SEGS_MAX)
			return 0;
	}
	return flush(true);
}

void net_tx_batch_begin(void)
{
	holding++;
}

int net_tx_batch_end(void)
{
	if (holding && --holding)
		return 0;
	return nframes ? flush(true) : 0;
}

void net_tx_batch_end_later(void)
{
	if (holding && --holding)
		return;
	if (nframes)
		flush(false);
}

/* Microseconds since boot: the TSC times 10^6 / ki_tsc_hz as a 32.32
 * fixed-point factor (made once), one multiplication where two divisions
 * were; the TCP stack reads its clock about seven times a request. */
uint64_t net_now_us(void)
{
	static uint64_t per_tick; /* 2^32 * 10^6 / ki_tsc_hz */
	if (!per_tick)
		per_tick = ((uint64_t)1000000 << 32) / ukinfo->ki_tsc_hz;
	return (uint64_t)(((unsigned __int128)rdtsc() * per_tick) >> 32);
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
		txslots = bound_pages(TX_FRAMES * TX_SLOT / PAGE_SIZE);
		nsegs = nframes = slot_head = nrefs = ref_pieces = off_flags = 0; /* a parent's
									  * frames are its own */
		ref_bytes = 0;
		if (!ring || !txslots)
			return -E_NO_MEM;
		r = sys_net_ring_attach(ring, RING_PAGES);
		if (r < 0)
			return (int)r;
		attached = thisenv_id;
	}
	memcpy(net_config.nc_mac, ni.ni_mac, 6);
	net_offloads = net_offload_off ? 0 : ni.ni_offloads;
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

/* The frame of len bytes starting at slot use t, which goes on into the
 * slots after it (receive offload), copied into one piece: the bytes, and
 * in *used the slots it took. A length the ring cannot hold (the kernel
 * writes none; only this env could have) gives an empty frame. */
static const uint8_t *gather(uint32_t t, uint32_t head, uint32_t *len, uint32_t *used)
{
	static uint8_t frame[NET_TSO_FRAME_MAX];
	uint32_t n = NET_SLOTS_FOR(*len);
	if (*len > sizeof(frame) || n > head - t) {
		*len = 0;
		return frame;
	}
	for (uint32_t i = 0, done = 0; i < n; i++, done += NET_SLOT_DATA) {
		struct net_slot *s = net_ring_slot(ring, (t + i) % ring->nr_nslots);
		memcpy(frame + done, s->ns_data, MIN(*len - done, (uint32_t)NET_SLOT_DATA));
	}
	*used = n;
	net_stats.rx_coalesced++;
	return frame;
}

volatile uint32_t *net_ring_head(bool *busy)
{
	if (attached != thisenv_id) {
		*busy = false;
		return NULL;
	}
	*busy = nframes != 0 || ring->nr_tail != ring->nr_head;
	return &ring->nr_head;
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
		uint64_t t0 = rdtsc();
		net_tx_batch_begin(); /* the answers to these frames leave together */
		while (ring->nr_tail != head && n < NET_POLL_BATCH) {
			uint32_t t = ring->nr_tail, used = 1;
			struct net_slot *s = net_ring_slot(ring, t % ring->nr_nslots);
			const uint8_t *frame = s->ns_data;
			uint32_t len = s->ns_len;
			if (len > NET_SLOT_DATA)
				frame = gather(t, head, &len, &used);
			net_rx_sum_ok = s->ns_flags & NET_SLOT_SUM_OK;
			eth_input(frame, len);
			net_rx_sum_ok = false;
			__asm__ volatile("" ::: "memory"); /* done with the slots first */
			ring->nr_tail = t + used;
			n++;
		}
		net_tx_batch_end();
		if (n)
			net_stats.cyc_rx += rdtsc() - t0;
		if (n || wait_ms == 0 || waited)
			return n;
		/* never sleep on frames not sent: the device drains the ring in
		 * microseconds, so look again a few times before sleeping a tick */
		for (int i = 0; nframes && i < POLL_YIELDS; i++) {
			flush(false);
			if (nframes && ring->nr_tail == ring->nr_head) {
				net_stats.sys_yields++;
				sys_yield();
			}
		}
		if (nframes)
			wait_ms = 1; /* come back soon for what the kernel had no room for */
		uint64_t hz = ukinfo->ki_tick_hz;
		uint64_t ticks =
			wait_ms > UINT64_MAX / hz ? UINT64_MAX : (wait_ms * hz + 999) / 1000;
		net_stats.sys_waits++;
		uint64_t w0 = rdtsc();
		long r = sys_net_wait(ticks);
		net_stats.cyc_wait += rdtsc() - w0;
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
