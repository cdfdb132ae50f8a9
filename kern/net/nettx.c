/*
 * Transmit: frames from envs' memory to the NIC, many per system call, and
 * their payload read by the device in place (zero copy) when the env asks.
 *
 * sys_net_send_batch(segs, n) takes an array of pieces (struct net_tx_seg,
 * inc/net.h): a frame is a run of pieces ending in NET_TX_END. Every piece
 * of every frame is checked first - lengths, flags, that each page it
 * touches is bound in the caller's software TLB and is a user page the
 * caller owns - and an error there sends nothing. Then as many frames as
 * the ring and the caller's share of it hold are queued, in order, and the
 * device is told once: the count queued is returned, -E_AGAIN if none fit.
 * sys_net_send(va, len) is the one-frame, one-copy special case.
 *
 * A piece without NET_TX_REF is copied into the driver's buffer during the
 * call. A NET_TX_REF piece becomes a descriptor of its own (one per page it
 * touches, or one for two pages that are neighbours in physical memory)
 * that the device reads by physical address: each such page is
 * pinned (kern/mem/pmap.c) before the frame is published and unpinned when
 * the device hands the frame back. While pinned the page cannot be freed,
 * granted or repossessed; if its owner frees it or dies meanwhile the
 * page is orphaned to the kernel and freed by the last unpin, so the
 * device never reads a page that has changed hands. The env may still
 * write its own pinned page: that only changes its own frame.
 *
 * Fairness: the ring has virtio_net_tx_size() descriptors (128 under QEMU).
 * One env may hold all but TX_RESERVE of them in flight (share_used, per
 * env slot) - a 64 KiB window of zero-copy segments fits - so an env that
 * floods the device, in a loop, as fast as it can, always leaves room for
 * the next frames of everyone else, and since the device never
 * waits for an env (every descriptor points at pinned or kernel memory),
 * what it holds comes back within the device's own time. Frames beyond an
 * env's share are not queued: the call returns the count it did queue.
 * Packet handlers' replies (net_tx_kernel_frame) are the kernel's and
 * charged to no env.
 *
 * An env that dies with frames in flight: its share is forgotten at once
 * (nettx_env_gone), the frames finish on the device, and their pages,
 * orphaned by the env's teardown, are freed at completion.
 *
 * Locking: the big kernel lock (system calls and IRQ_NET alike); the static
 * scratch arrays below rely on it.
 */
#include <inc/error.h>
#include <inc/net.h>
#include <inc/page.h>
#include <kern/arch/console.h>
#include <kern/arch/cpu.h>
#include <kern/env/env.h>
#include <kern/mem/pmap.h>
#include <kern/mem/stlb.h>
#include <kern/mem/vm.h>
#include <kern/dev/virtio.h>
#include <kern/dev/virtio_net.h>
#include <kern/net/net.h>
#include <common/string.h>

#define PARTS_MAX 256 /* parts checked per call */
#define FRAME_PARTS_MAX NET_TX_FRAME_PARTS
#define TX_RESERVE 16 /* descriptors one env may not take: the others' next frames */
#define HDR_PEEK (14 + 60 + 60) /* the most an Ethernet, IPv4 and TCP header take */

_Static_assert(FRAME_PARTS_MAX <= PARTS_MAX, "one frame's parts fit a call's");
_Static_assert(FRAME_PARTS_MAX + 1 <= VIRTIO_NET_TX_CHAIN_MAX, "a frame's chain fits the driver's");

/* A frame with the device, by the id (head descriptor) the driver gave. */
struct txrec {
	envid_t t_env;    /* whose share it uses; 0: the kernel's, or its env died */
	uint16_t t_ndesc; /* descriptors it holds */
	uint16_t t_npins;
	ppn_t t_pins[FRAME_PARTS_MAX];
};

/* A checked piece of one page. */
struct part {
	ppn_t p_ppn;
	uint16_t p_off, p_len;
	bool p_ref;
	bool p_join; /* a referenced part that goes on from the last one in
		      * physical memory: the same descriptor */
};

static struct txrec recs[VIRTQ_MAX];
static uint16_t share_used[NENV]; /* descriptors each env slot holds */
static uint32_t in_flight;        /* ... and everyone together */
static struct net_info txstats;   /* only the ni_tx_* fields */

/* Scratch for one call (big kernel lock). */
static struct net_tx_seg segs[NET_TX_SEGS_MAX];
static struct part parts[PARTS_MAX];
static uint16_t frame_first[NET_TX_SEGS_MAX + 1]; /* each frame's first part; then the end */
static struct virtio_net_offload frame_off[NET_TX_SEGS_MAX]; /* what each frame asks */

/* The driver is done with frame id: unpin its pages, give its share back. */
static void tx_done(uint16_t id)
{
	struct txrec *t = &recs[id];
	for (uint16_t i = 0; i < t->t_npins; i++)
		page_unpin(t->t_pins[i]);
	if (t->t_env)
		share_used[ENVX(t->t_env)] -= t->t_ndesc;
	in_flight -= t->t_ndesc;
	t->t_env = 0;
	t->t_npins = 0;
	t->t_ndesc = 0;
}

void nettx_init(void)
{
	virtio_net_set_tx_done(tx_done);
}

void nettx_env_gone(struct env *e)
{
	for (struct txrec *t = recs; t < recs + VIRTQ_MAX; t++) {
		if (t->t_env == e->env_id) {
			share_used[ENVX(e->env_id)] -= t->t_ndesc;
			t->t_env = 0; /* finishes unowned; its pages stay pinned till then */
		}
	}
}

void nettx_info(struct net_info *ni)
{
	virtio_net_tx_reap(); /* the counts as of now */
	ni->ni_tx_kicks = txstats.ni_tx_kicks;
	ni->ni_tx_refs = txstats.ni_tx_refs;
	ni->ni_tx_share_full = txstats.ni_tx_share_full;
	ni->ni_tx_in_flight = in_flight;
	ni->ni_tx_size = virtio_net_tx_size();
}

/* Copy up to n bytes from the start of the frame made of parts[first..end). */
static size_t peek(unsigned first, unsigned end, uint8_t *out, size_t n)
{
	size_t got = 0;
	for (unsigned i = first; i < end && got < n; i++) {
		size_t k = MIN((size_t)parts[i].p_len, n - got);
		memcpy(out + got, (uint8_t *)page_kva(parts[i].p_ppn) + parts[i].p_off, k);
		got += k;
	}
	return got;
}

/* What the device must be told for a frame asking flags (NET_TX_CSUM,
 * NET_TX_TSO) of frame_len bytes, read from its headers: 0, or -E_INVAL if
 * the device does not offer it or the headers are not what it needs. The
 * bytes are the env's and may change after this look; that only spoils
 * its own frame, since the device checks nothing the kernel relies on. */
static int offload_of(uint32_t flags, unsigned first, unsigned end, uint64_t frame_len,
		      struct virtio_net_offload *o)
{
	bool tso = flags & NET_TX_TSO;
	uint8_t need = tso ? NET_OFFLOAD_TSO4 | NET_OFFLOAD_CSUM : NET_OFFLOAD_CSUM;
	if ((virtio_net_offloads() & need) != need)
		return -E_INVAL;
	uint8_t h[HDR_PEEK];
	size_t got = peek(first, end, h, sizeof(h));
	if (got < 14 + 20 || h[12] != 0x08 || h[13] != 0x00 || (h[14] >> 4) != 4)
		return -E_INVAL; /* not IPv4 over Ethernet */
	unsigned ihl = (h[14] & 0xf) * 4u, l4 = 14 + ihl;
	bool frag = (h[20] & 0x3f) || h[21]; /* MF, or an offset */
	uint8_t proto = h[23];
	if (ihl < 20 || frag || (proto != 6 && (tso || proto != 17)))
		return -E_INVAL;
	unsigned l4len = proto == 6 ? (got > l4 + 12 ? (h[l4 + 12] >> 4) * 4u : 0) : 8;
	if ((proto == 6 && l4len < 20) || got < l4 + l4len || frame_len < l4 + l4len)
		return -E_INVAL;
	*o = (struct virtio_net_offload){ .o_csum_start = (uint16_t)l4,
					  .o_csum_offset = proto == 6 ? 16 : 6 };
	if (tso) {
		uint32_t mss = NET_TX_MSS(flags);
		if (mss == 0 || l4 + l4len + mss > NET_FRAME_MAX)
			return -E_INVAL;
		o->o_hdr_len = (uint16_t)(l4 + l4len);
		o->o_gso_size = (uint16_t)mss;
	}
	return 0;
}

/* Check n pieces (in the kernel's segs[]) for self and split them into
 * parts of one page each: the number of frames, or -E_*. */
static long check(struct env *self, uint64_t n)
{
	uint64_t nparts = 0, nframes = 0, frame_len = 0, frame_segs = 0, frame_max = 0;
	uint64_t frame_copied = 0; /* bytes of the frame copied into the driver's buffer */
	uint32_t frame_flags = 0;
	for (uint64_t i = 0; i < n; i++) {
		const struct net_tx_seg *s = &segs[i];
		uint32_t f = s->ts_flags;
		if (frame_segs == 0) {
			frame_flags =
				f & (NET_TX_CSUM | NET_TX_TSO | ~(uint32_t)0 << NET_TX_MSS_SHIFT);
			frame_max = f & NET_TX_TSO ? NET_TSO_FRAME_MAX : NET_FRAME_MAX;
			if (NET_TX_MSS(f) && !(f & NET_TX_TSO))
				return -E_INVAL;
			f &= ~frame_flags;
		}
		if ((f & ~(uint32_t)(NET_TX_END | NET_TX_REF)) || s->ts_len == 0 ||
		    s->ts_len > frame_max || ++frame_segs > NET_TX_FRAME_SEGS)
			return -E_INVAL;
		frame_len += s->ts_len;
		/* what is copied goes to the head's buffer, which holds one
		 * ordinary frame: a segmented frame's payload goes by reference */
		if (!(s->ts_flags & NET_TX_REF) && (frame_copied += s->ts_len) > NET_FRAME_MAX)
			return -E_INVAL;
		if (frame_segs == 1)
			frame_first[nframes] = (uint16_t)nparts;
		uint64_t va = s->ts_va, end = s->ts_va + s->ts_len;
		if (va >= UTOP || s->ts_len > UTOP - va)
			return -E_FAULT;
		while (va < end) {
			const struct binding *b = stlb_lookup(self->env_vm, va);
			if (!b)
				return -E_FAULT;
			if (b->b_ppn >= pages_total || pages[b->b_ppn].pg_owner != self->env_id ||
			    pages[b->b_ppn].pg_type != PAGE_USER)
				return -E_PERM;
			/* Neither bound can be reached (a frame's 8 pieces within
			 * NET_TSO_FRAME_MAX bytes touch 31 pages at most, and a
			 * call's 64 pieces make 8 such frames at most), but the
			 * arrays rely on them. */
			if (nparts - frame_first[nframes] == FRAME_PARTS_MAX || nparts == PARTS_MAX)
				return -E_INVAL;
			uint64_t off = va % PAGE_SIZE, len = MIN(PAGE_SIZE - off, end - va);
			bool ref = (s->ts_flags & NET_TX_REF) != 0;
			bool join =
				ref && va != s->ts_va && parts[nparts - 1].p_ppn + 1 == b->b_ppn;
			parts[nparts++] =
				(struct part){ b->b_ppn, (uint16_t)off, (uint16_t)len, ref, join };
			va += len;
		}
		if (s->ts_flags & NET_TX_END) {
			if (frame_len < NET_FRAME_MIN || frame_len > frame_max)
				return -E_INVAL;
			frame_off[nframes] = (struct virtio_net_offload){ 0 };
			if (frame_flags &&
			    offload_of(frame_flags, frame_first[nframes], (unsigned)nparts,
				       frame_len, &frame_off[nframes]) < 0)
				return -E_INVAL;
			frame_first[nframes + 1] = (uint16_t)nparts;
			nframes++;
			frame_len = frame_segs = frame_copied = 0;
		}
	}
	if (frame_segs)
		return -E_INVAL; /* the last frame has no end */
	return (long)nframes;
}

/* Descriptors parts[first..end) need: the head (header and the copied
 * bytes before any part read in place), one per part read in place, one
 * per copied run after one. */
static unsigned descriptors(unsigned first, unsigned end)
{
	unsigned n = 1;
	for (unsigned i = first; i < end; i++)
		if (parts[i].p_ref ? !parts[i].p_join : i > first && parts[i - 1].p_ref)
			n++;
	return n;
}

/* Queue the checked frames of self: the count queued, or -E_AGAIN. */
static long queue(struct env *self, long nframes)
{
	unsigned share = virtio_net_tx_size() - TX_RESERVE;
	uint16_t *used = &share_used[ENVX(self->env_id)];
	long queued = 0;
	virtio_net_tx_reap(); /* what finished gives its share back first */
	for (long f = 0; f < nframes; f++) {
		unsigned first = frame_first[f], end = frame_first[f + 1];
		unsigned nd = descriptors(first, end);
		if (*used + nd > share) {
			txstats.ni_tx_share_full++;
			break;
		}
		if (virtio_net_tx_start(nd) < 0)
			break;
		if (frame_off[f].o_csum_start)
			virtio_net_tx_offload(&frame_off[f]);
		struct txrec t = { self->env_id, (uint16_t)nd, 0, { 0 } };
		physaddr_t ref_pa = 0;
		uint32_t ref_len = 0; /* a referenced run not yet given its descriptor */
		for (unsigned i = first; i < end; i++) {
			const struct part *p = &parts[i];
			if (ref_len && !p->p_join) {
				virtio_net_tx_ref(ref_pa, ref_len);
				ref_len = 0;
			}
			if (p->p_ref) {
				page_pin(p->p_ppn);
				t.t_pins[t.t_npins++] = p->p_ppn;
				if (!p->p_join)
					ref_pa = ((physaddr_t)p->p_ppn << PAGE_SHIFT) + p->p_off;
				ref_len += p->p_len;
				txstats.ni_tx_refs += !p->p_join;
			} else {
				virtio_net_tx_copy((uint8_t *)page_kva(p->p_ppn) + p->p_off,
						   p->p_len);
			}
		}
		if (ref_len)
			virtio_net_tx_ref(ref_pa, ref_len);
		recs[virtio_net_tx_end()] = t;
		*used += (uint16_t)nd;
		in_flight += nd;
		net_count_tx();
		queued++;
	}
	if (!queued)
		return -E_AGAIN;
	txstats.ni_tx_kicks += virtio_net_tx_kick();
	return queued;
}

long sys_net_send_batch(uint64_t useg, uint64_t n)
{
	struct env *self = curenv;
	if (n == 0 || n > NET_TX_SEGS_MAX)
		return -E_INVAL;
	if (copy_from_user(self->env_vm, segs, useg, n * sizeof(segs[0])) < 0)
		return -E_FAULT;
	long nframes = check(self, n);
	if (nframes < 0)
		return nframes;
	if (!virtio_net_present())
		return -E_NOT_FOUND;
	return queue(self, nframes);
}

long sys_net_send(uint64_t va, uint64_t len)
{
	struct env *self = curenv;
	if (len < NET_FRAME_MIN || len > NET_FRAME_MAX)
		return -E_INVAL;
	segs[0] = (struct net_tx_seg){ va, (uint32_t)len, NET_TX_END };
	long nframes = check(self, 1);
	if (nframes < 0)
		return nframes;
	if (!virtio_net_present())
		return -E_NOT_FOUND;
	long r = queue(self, nframes);
	return r < 0 ? r : 0;
}

int net_tx_kernel_frame(const void *frame, uint64_t len)
{
	if (len < NET_FRAME_MIN || len > NET_FRAME_MAX)
		return -E_RANGE;
	if (virtio_net_tx_start(1) < 0)
		return -E_AGAIN;
	virtio_net_tx_copy(frame, (uint32_t)len);
	recs[virtio_net_tx_end()] = (struct txrec){ 0, 1, 0, { 0 } };
	in_flight++;
	net_count_tx();
	txstats.ni_tx_kicks += virtio_net_tx_kick();
	return 0;
}
