/*
 * Batched and zero-copy transmit (sys_net_send_batch, kern/net/nettx.c):
 * every error it returns, in a boot without a NIC (the default, where only
 * the argument checks and E_NOT_FOUND can be seen) and, when there is one
 * (tools/test-net), the hostile cases:
 *   - many frames in one call, one doorbell; pieces by reference counted;
 *     a referenced piece across a page boundary (both pages ours)
 *   - a page referenced by frames in flight freed at once: the kernel
 *     keeps it (orphaned, pinned) and frees it when the device is done
 *   - an env killed with frames in flight from its pages: the same, and
 *     the ring forgets its share
 *   - more frames than the caller's share of the ring: a partial count,
 *     then E_AGAIN while it is full, and never a hang
 *   - one env flooding the device cannot starve another's sends
 * QEMU's user network swallows the frames (broadcast junk to nobody).
 */
#include <inc/net.h>
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>

/* How long a wait for the device may take before the test calls it broken:
 * a bound, not an expectation (a loaded host runs the guest slowly). */
#define WAIT_S 30

#define BUF_PAGES 4
#define PAYLOAD 700 /* a referenced piece; placed to cross a page, it takes two descriptors */

int main(void);

static struct net_tx_seg segs[NET_TX_SEGS_MAX + 1];
static uint64_t again_seen; /* E_AGAIN answers seen: the share was full */

/* Memory bound and ours now, shared (not copied) with forked children. */
static uint8_t *pages_now(uint64_t n)
{
	uint8_t *p = vm_alloc_shared(n * PAGE_SIZE);
	assert(p);
	return p;
}

static uint64_t ppn_of(const void *va)
{
	long r = sys_page_lookup((uint64_t)va);
	assert(r >= 0);
	return (uint64_t)r >> PAGE_SHIFT;
}

#define PAIR_VA 0x0000240000000000UL /* page pairs placed by hand (pair()) */

/* Two pages of ours bound writable at va, va + PAGE_SIZE: physically
 * neighbours (one descriptor for a piece across them) or not (two).
 * The ppns in ppn[2]. */
static uint8_t *pair(uint64_t va, bool neighbours, uint64_t ppn[2])
{
	for (int tries = 0; tries < 64; tries++) {
		long a = sys_page_alloc(PPN_ANY, CAP_SELF);
		assert(a >= 0);
		long b = sys_page_alloc(neighbours ? (uint64_t)a + 1 : PPN_ANY, CAP_SELF);
		if (b >= 0 && !neighbours && b == a + 1) {
			long c = sys_page_alloc(PPN_ANY, CAP_SELF);
			sys_page_free((uint64_t)b, CAP_SELF);
			b = c;
		}
		if (b < 0 || (!neighbours && b == a + 1)) {
			sys_page_free((uint64_t)a, CAP_SELF);
			if (b >= 0)
				sys_page_free((uint64_t)b, CAP_SELF);
			continue;
		}
		ppn[0] = (uint64_t)a;
		ppn[1] = (uint64_t)b;
		assert(sys_page_bind(0, va, ppn[0], BIND_READ | BIND_WRITE, CAP_SELF) == 0);
		assert(sys_page_bind(0, va + PAGE_SIZE, ppn[1], BIND_READ | BIND_WRITE, CAP_SELF) ==
		       0);
		return (uint8_t *)va;
	}
	assert(!"no pair of pages");
	return NULL;
}

static void unpair(uint64_t va, const uint64_t ppn[2])
{
	sys_page_unbind(0, va, CAP_SELF);
	sys_page_unbind(0, va + PAGE_SIZE, CAP_SELF);
	sys_page_free(ppn[0], CAP_SELF);
	sys_page_free(ppn[1], CAP_SELF);
}

static void seg(unsigned i, const void *va, uint64_t len, uint32_t flags)
{
	segs[i] = (struct net_tx_seg){ (uint64_t)va, (uint32_t)len, flags };
}

/* A broadcast Ethernet header of a type nobody speaks, at p. */
static void header(uint8_t *p)
{
	memset(p, 0xff, 6);
	memset(p + 6, 0x02, 6);
	p[12] = 0x88;
	p[13] = 0xb5; /* IEEE local experimental */
}

/* n frames into segs: each a copied header, PAYLOAD bytes of data by
 * reference (from data + i * 8, which crosses a page boundary when data
 * is near one) and a copied 10-byte trailer: four descriptors each. The
 * count of pieces. */
static unsigned ref_frames(unsigned n, uint8_t *hdr, const uint8_t *data)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		seg(k++, hdr, 14, 0);
		seg(k++, data + i * 8, PAYLOAD, NET_TX_REF);
		seg(k++, hdr + 14, 10, NET_TX_END);
	}
	return k;
}

/* n frames into segs, each a copied header and 7 referenced pieces of 100
 * bytes that all cross the page boundary at edge: 15 descriptors a frame,
 * 8 pieces. The count of pieces. */
static unsigned wide_frames(unsigned n, uint8_t *hdr, const uint8_t *edge)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		seg(k++, hdr, 14, 0);
		for (unsigned j = 0; j < 7; j++)
			seg(k++, edge - 50, 100, NET_TX_REF | (j == 6 ? NET_TX_END : 0));
	}
	return k;
}

static long info(struct net_info *ni)
{
	return sys_net_info(ni);
}

/* Wait (up to 2 s) until page ppn is free again. */
static bool comes_back_free(uint64_t ppn)
{
	uint64_t until = ukinfo->ki_ticks + WAIT_S * ukinfo->ki_tick_hz;
	struct net_info ni;
	while (ukinfo->ki_ticks < until) {
		info(&ni); /* which takes finished frames back */
		if (upages[ppn].pg_type == PAGE_FREE && upages[ppn].pg_flags == 0)
			return true;
		sys_yield();
	}
	return false;
}

/* Send n pieces, retrying while the kernel has no room, up to WAIT_S. */
static long send_all(unsigned n)
{
	unsigned first = 0;
	uint64_t until = ukinfo->ki_ticks + WAIT_S * ukinfo->ki_tick_hz;
	while (first < n) {
		long r = sys_net_send_batch(segs + first, n - first);
		if (r == -E_AGAIN && ukinfo->ki_ticks < until) {
			sys_yield();
			continue;
		}
		if (r < 0)
			return r;
		for (; r > 0; first++)
			r -= (segs[first].ts_flags & NET_TX_END) != 0;
	}
	return 0;
}

/* Every argument check comes before the device's. */
static void argument_errors(uint8_t *buf)
{
	uint8_t *edge = vm_alloc(2 * PAGE_SIZE); /* its second page stays unbound */
	edge[0] = 1;
	header(buf);
	seg(0, buf, 60, NET_TX_END);
	check_eq("none", sys_net_send_batch(segs, 0), -E_INVAL);
	check_eq("too-many-pieces", sys_net_send_batch(segs, NET_TX_SEGS_MAX + 1), -E_INVAL);
	check_eq("array-unbound", sys_net_send_batch((void *)0x5000000000UL, 1), -E_FAULT);
	check_eq("array-above-utop", sys_net_send_batch((void *)(UTOP - 8), 1), -E_FAULT);
	seg(0, buf, 60, NET_TX_END | 0x80);
	check_eq("bad-flags", sys_net_send_batch(segs, 1), -E_INVAL);
	seg(0, buf, 0, NET_TX_END);
	check_eq("empty-piece", sys_net_send_batch(segs, 1), -E_INVAL);
	seg(0, buf, NET_FRAME_MAX + 1, NET_TX_END);
	check_eq("piece-too-long", sys_net_send_batch(segs, 1), -E_INVAL);
	seg(0, buf, NET_FRAME_MIN - 1, NET_TX_END);
	check_eq("frame-too-short", sys_net_send_batch(segs, 1), -E_INVAL);
	seg(0, buf, 1000, 0);
	seg(1, buf, 1000, NET_TX_END);
	check_eq("frame-too-long", sys_net_send_batch(segs, 2), -E_INVAL);
	for (unsigned i = 0; i <= NET_TX_FRAME_SEGS; i++)
		seg(i, buf, 10, i == NET_TX_FRAME_SEGS ? NET_TX_END : 0);
	check_eq("frame-too-many-pieces", sys_net_send_batch(segs, NET_TX_FRAME_SEGS + 1),
		 -E_INVAL);
	seg(0, buf, 60, NET_TX_END);
	seg(1, buf, 60, 0);
	check_eq("no-end", sys_net_send_batch(segs, 2), -E_INVAL);
	seg(1, (void *)0x5000000000UL, 60, NET_TX_END | NET_TX_REF);
	check_eq("piece-unbound", sys_net_send_batch(segs, 2), -E_FAULT);
	seg(1, (void *)(UTOP - 30), 60, NET_TX_END);
	check_eq("piece-above-utop", sys_net_send_batch(segs, 2), -E_FAULT);
	seg(1, edge + PAGE_SIZE - 20, 60, NET_TX_END | NET_TX_REF);
	check_eq("piece-into-unbound-page", sys_net_send_batch(segs, 2), -E_FAULT);
	/* program text: bound, but the boot image's page, not the caller's */
	seg(1, (void *)main, 60, NET_TX_END | NET_TX_REF);
	check_eq("ref-not-owned", sys_net_send_batch(segs, 2), -E_PERM);
	seg(1, (void *)main, 60, NET_TX_END);
	check_eq("copy-not-owned", sys_net_send_batch(segs, 2), -E_PERM);

	/* a page the parent shares with a child: bound there, not the child's */
	uint8_t *shared = pages_now(1);
	header(shared);
	long pid = fork();
	if (pid == 0) {
		seg(0, shared, 14, 0);
		seg(1, shared + 14, 100, NET_TX_REF | NET_TX_END);
		exit(sys_net_send_batch(segs, 2) == -E_PERM ? 0 : 1);
	}
	check_eq("ref-parents-page", wait(pid), 0);
	vm_unmap((uint64_t)shared, PAGE_SIZE);
	vm_unmap((uint64_t)edge, 2 * PAGE_SIZE);
}

static void without_nic(uint8_t *buf)
{
	seg(0, buf, 14, 0);
	seg(1, buf + 100, 100, NET_TX_REF | NET_TX_END);
	check_eq("nonic", sys_net_send_batch(segs, 2), -E_NOT_FOUND);
	/* nothing was pinned: the page goes back at once */
	uint8_t *p = pages_now(1);
	uint64_t ppn = ppn_of(p);
	seg(1, p, 100, NET_TX_REF | NET_TX_END);
	check_eq("nonic-ref", sys_net_send_batch(segs, 2), -E_NOT_FOUND);
	vm_unmap((uint64_t)p, PAGE_SIZE);
	check("nonic-page-free", upages[ppn].pg_type == PAGE_FREE);
}

static void batches(uint8_t *buf)
{
	struct net_info a, b;
	header(buf);
	/* an error anywhere sends nothing */
	info(&a);
	seg(0, buf, 60, NET_TX_END);
	seg(1, (void *)main, 60, NET_TX_END);
	check_eq("error-sends-nothing", sys_net_send_batch(segs, 2), -E_PERM);
	info(&b);
	check_eq("error-sent-nothing", (long)(b.ni_tx_frames - a.ni_tx_frames), 0);

	/* ten copied frames, one call, one doorbell */
	for (unsigned i = 0; i < 10; i++)
		seg(i, buf, 60 + i, NET_TX_END);
	info(&a);
	check_eq("ten-frames", sys_net_send_batch(segs, 10), 10);
	info(&b);
	check_eq("ten-frames-counted", (long)(b.ni_tx_frames - a.ni_tx_frames), 10);
	/* one doorbell at most: none if the device was still busy */
	check("ten-frames-one-kick", b.ni_tx_kicks - a.ni_tx_kicks <= 1);

	/* by reference, a piece within a page, and one across a page boundary
	 * between pages apart in physical memory: three parts in place */
	uint64_t ppn[2];
	uint8_t *data = pair(PAIR_VA, false, ppn);
	seg(0, buf, 14, 0);
	seg(1, data + 100, 200, NET_TX_REF | NET_TX_END);
	seg(2, buf, 14, 0);
	seg(3, data + PAGE_SIZE - 50, 100, NET_TX_REF);
	seg(4, buf + 14, 10, NET_TX_END);
	info(&a);
	check_eq("ref-frames", send_all(5), 0);
	info(&b);
	check_eq("ref-parts-counted", (long)(b.ni_tx_refs - a.ni_tx_refs), 3);
	check("ref-in-flight-bounded", b.ni_tx_in_flight <= b.ni_tx_size);
	unpair(PAIR_VA, ppn);
	/* across neighbours in physical memory: one part */
	data = pair(PAIR_VA, true, ppn);
	seg(0, buf, 14, 0);
	seg(1, data + PAGE_SIZE - 50, 100, NET_TX_REF | NET_TX_END);
	info(&a);
	check_eq("ref-neighbours", send_all(2), 0);
	info(&b);
	check_eq("ref-neighbours-one-part", (long)(b.ni_tx_refs - a.ni_tx_refs), 1);
	unpair(PAIR_VA, ppn);
}

/* A page referenced by frames in flight is freed at once. */
static void freed_in_flight(uint8_t *buf)
{
	unsigned orphaned = 0, bad = 0;
	for (unsigned round = 0; round < 16; round++) {
		uint8_t *p = pages_now(1);
		uint64_t ppn = ppn_of(p);
		/* behind 40 short frames, so the device is likely still busy */
		unsigned n = 40 + ref_frames(4, buf, p);
		memmove(segs + 40, segs, 12 * sizeof(segs[0]));
		for (unsigned i = 0; i < 40; i++)
			seg(i, buf, 60, NET_TX_END);
		long r = send_all(n);
		long f = sys_page_free(ppn, CAP_SELF);
		/* The owner first, then the flags: the device may finish between
		 * the two reads, and an orphan only ever goes on to free (flags
		 * 0), so in this order a finished page never looks like an
		 * orphan with the wrong owner. */
		envid_t owner = __atomic_load_n(&upages[ppn].pg_owner, __ATOMIC_SEQ_CST);
		uint8_t flags = __atomic_load_n(&upages[ppn].pg_flags, __ATOMIC_SEQ_CST);
		if (flags & PG_ORPHAN) {
			orphaned++;
			if (!(flags & PG_PINNED) || owner != PAGE_OWNER_KERNEL)
				printf("test_nettx: round %u: an orphan with flags 0x%x, owner %d\n",
				       round, flags, (int)owner);
			bad += !(flags & PG_PINNED) || owner != PAGE_OWNER_KERNEL;
		}
		if (r < 0 || f < 0)
			printf("test_nettx: round %u: send %ld, free %ld\n", round, r, f);
		bool back = comes_back_free(ppn);
		if (!back)
			printf("test_nettx: round %u: page %lu not free after %d s (type %u flags 0x%x)\n",
			       round, (unsigned long)ppn, WAIT_S, upages[ppn].pg_type,
			       upages[ppn].pg_flags);
		bad += r < 0 || f < 0 || !back;
		vm_unmap((uint64_t)p, PAGE_SIZE);
	}
	check("page-freed-in-flight", bad == 0);
	printf("test_nettx: %u of 16 pages were freed while frames referenced them\n", orphaned);
}

/* A child sends from its own page and is killed at once. */
static void killed_in_flight(uint8_t *buf)
{
	/* (a child owns none of buf: those pages are ours, shared) */
	volatile uint64_t *mail = (volatile uint64_t *)pages_now(1);
	unsigned bad = 0;
	for (unsigned round = 0; round < 4; round++) {
		mail[0] = mail[1] = 0;
		long pid = fork();
		if (pid == 0) {
			uint8_t *mine = vm_alloc(PAGE_SIZE); /* the child's own */
			header(mine);
			unsigned n = ref_frames(8, mine, mine + 100);
			mail[1] = ppn_of(mine);
			long r = sys_net_send_batch(segs, n);
			mail[0] = r > 0 ? 1 : 2;
			for (;;)
				sys_yield(); /* until the parent kills it */
		}
		while (mail[0] == 0)
			sys_yield();
		sys_env_destroy((envid_t)pid, CAP_SELF);
		wait(pid);
		bad += mail[0] != 1;
		bad += !comes_back_free(mail[1]);
	}
	check("killed-in-flight", bad == 0);
	/* its share went with it: ours is whole */
	header(buf);
	unsigned n = ref_frames(8, buf, buf + PAGE_SIZE);
	check_eq("after-kill-sends", send_all(n), 0);
	vm_unmap((uint64_t)mail, PAGE_SIZE);
}

/* Wait (up to WAIT_S) until nothing is in flight. */
static void drain(void)
{
	struct net_info ni;
	uint64_t until = ukinfo->ki_ticks + WAIT_S * ukinfo->ki_tick_hz;
	while (info(&ni) == 0 && ni.ni_tx_in_flight && ukinfo->ki_ticks < until)
		sys_yield();
}

/* More frames than the caller's share (112 of 128 descriptors): a partial
 * count, then E_AGAIN while the share is full, and every frame out in the
 * end. */
static void beyond_share(uint8_t *buf)
{
	struct net_info a, b;
	header(buf);
	/* 8 frames of 15 descriptors: 120, beyond any share */
	uint64_t ppn[2];
	uint8_t *apart = pair(PAIR_VA, false, ppn);
	unsigned n = wide_frames(NET_TX_SEGS_MAX / 8, buf, apart + PAGE_SIZE);
	info(&a);
	unsigned partial = 0, whole = 0, again = 0, hung = 0;
	for (unsigned round = 0; round < 50; round++) {
		long r = sys_net_send_batch(segs, n);
		partial += r > 0 && r < (long)(NET_TX_SEGS_MAX / 8);
		whole += r == (long)(NET_TX_SEGS_MAX / 8);
		again += r == -E_AGAIN; /* the last round's still in flight */
		/* at once: the share is full until the device finishes some */
		long r2 = sys_net_send_batch(segs, 8);
		again += r2 == -E_AGAIN;
		hung += send_all(n) != 0;
	}
	info(&b);
	check("share-partial-count", partial > 0);
	check_eq("share-never-whole", whole, 0);
	again_seen += again;
	check("share-counted", b.ni_tx_share_full > a.ni_tx_share_full);
	check_eq("share-never-hangs", hung, 0);
	printf("test_nettx: of 50 rounds, %u partial, %u refused while full\n", partial, again);
	drain();
	unpair(PAIR_VA, ppn);
}

/* A child floods the device while we send one frame at a time: with our
 * 16 (well within our share) and its 112 of the ring's 128 at most,
 * the ring always has room for ours. */
static void flood_cannot_starve(uint8_t *buf)
{
	volatile uint64_t *stop = (volatile uint64_t *)pages_now(1);
	header(buf);
	drain(); /* ours from before: the 16 below are all we hold */
	long pid = fork();
	if (pid == 0) {
		uint64_t ppn[2]; /* the child's own pages */
		uint8_t *mine = pair(PAIR_VA + 16 * PAGE_SIZE, false, ppn);
		header(mine);
		unsigned n = wide_frames(NET_TX_SEGS_MAX / 8, mine, mine + PAGE_SIZE);
		while (!stop[0])
			stop[1] += sys_net_send_batch(segs, n) == -E_AGAIN;
		exit(0);
	}
	for (int i = 0; i < 20; i++)
		sys_yield(); /* let it fill its share */
	unsigned refused = 0;
	struct net_info ni;
	info(&ni);
	uint64_t frames = ni.ni_tx_frames;
	for (int i = 0; i < 16; i++) {
		seg(0, buf, 60, NET_TX_END);
		refused += sys_net_send_batch(segs, 1) != 1;
		sys_yield();
	}
	stop[0] = 1;
	wait(pid);
	info(&ni);
	check_eq("flood-cannot-starve", refused, 0);
	check("flood-was-flooding", ni.ni_tx_frames - frames > 40);
	/* the flooder, always at its share, was told to wait (or we were, in
	 * beyond_share): E_AGAIN seen */
	again_seen += stop[1];
	check("share-full-again", again_seen > 0);
	printf("test_nettx: the flooder was refused %lu times\n", (unsigned long)stop[1]);
	vm_unmap((uint64_t)stop, PAGE_SIZE);
}

/* At p: Ethernet, IPv4 (proto, total length for len bytes after it) and,
 * for TCP, a 20-byte header with data offset doff words: 10.0.2.15 to
 * the gateway, whose host answers a stray segment with a RST at most. */
static void l4_frame(uint8_t *p, uint8_t proto, uint8_t doff, uint32_t len)
{
	memset(p, 0, 54);
	memset(p, 0xff, 6);
	p[12] = 0x08, p[13] = 0x00;
	p[14] = 0x45;
	p[16] = (uint8_t)((20 + len) >> 8), p[17] = (uint8_t)(20 + len);
	p[22] = 64, p[23] = proto;
	p[26] = 10, p[27] = 0, p[28] = 2, p[29] = 15;
	p[30] = 10, p[31] = 0, p[32] = 2, p[33] = 2;
	p[34] = 0xc0, p[35] = 0x01, p[36] = 0x00, p[37] = 0x09; /* ports 49153 -> 9 */
	if (proto == 6)
		p[46] = (uint8_t)(doff << 4), p[47] = 0x10; /* ACK */
}

#define MSS_FLAG(mss) ((uint32_t)(mss) << NET_TX_MSS_SHIFT)

/* The offloads (NET_TX_CSUM, NET_TX_TSO): asked wrongly, or of a device
 * without them (QEMU's user network), refused before anything is sent;
 * on one with them (a TAP device: tools/test-tap), sent. */
static void offloads(uint8_t *buf)
{
	struct net_info ni;
	info(&ni);
	uint8_t *data = buf + PAGE_SIZE; /* BUF_PAGES - 1 pages of payload */
	l4_frame(buf, 6, 5, 20 + 1000);
	seg(0, buf, 54, NET_TX_CSUM | MSS_FLAG(1000));
	seg(1, data, 1000, NET_TX_END);
	check_eq("mss-without-tso", sys_net_send_batch(segs, 2), -E_INVAL);
	seg(0, buf, 54, 0);
	seg(1, data, 1000, NET_TX_END | NET_TX_CSUM);
	check_eq("offload-on-a-later-piece", sys_net_send_batch(segs, 2), -E_INVAL);
	if (!(ni.ni_offloads & NET_OFFLOAD_TSO4)) {
		seg(0, buf, 54, NET_TX_CSUM);
		seg(1, data, 1000, NET_TX_END);
		long csum = sys_net_send_batch(segs, 2);
		check(ni.ni_offloads & NET_OFFLOAD_CSUM ? "csum-offered" : "csum-not-offered",
		      ni.ni_offloads & NET_OFFLOAD_CSUM ? csum == 1 : csum == -E_INVAL);
		seg(0, buf, 54, NET_TX_TSO | MSS_FLAG(1000));
		seg(1, data, 1000, NET_TX_END);
		check_eq("tso-not-offered", sys_net_send_batch(segs, 2), -E_INVAL);
		printf("test_nettx: the device offers no segmentation (%#x)\n", ni.ni_offloads);
		return;
	}
	header(buf);
	seg(0, buf, 60, NET_TX_END | NET_TX_CSUM);
	check_eq("csum-not-ip", sys_net_send_batch(segs, 1), -E_INVAL);
	l4_frame(buf, 17, 0, 8 + 100);
	seg(0, buf, 42 + 100, NET_TX_END | NET_TX_CSUM);
	check_eq("csum-udp", sys_net_send_batch(segs, 1), 1);
	seg(0, buf, 42 + 100, NET_TX_END | NET_TX_TSO | MSS_FLAG(50));
	check_eq("tso-udp", sys_net_send_batch(segs, 1), -E_INVAL);
	uint32_t big = 3 * PAGE_SIZE - 100; /* three pieces of it: 35 segments */
	l4_frame(buf, 6, 5, 20 + big);
	uint32_t tso = NET_TX_TSO | MSS_FLAG(1000);
	seg(0, buf, 54, 0); /* then the pieces, below */
	for (unsigned i = 1; i <= 3; i++)
		seg(i, data + (i - 1) * (big / 3), big / 3, (i == 3 ? NET_TX_END : 0) | NET_TX_REF);
	segs[0].ts_flags = NET_TX_TSO;
	check_eq("tso-mss-zero", sys_net_send_batch(segs, 4), -E_INVAL);
	segs[0].ts_flags = NET_TX_TSO | MSS_FLAG(1461);
	check_eq("tso-mss-beyond-mtu", sys_net_send_batch(segs, 4), -E_INVAL);
	segs[0].ts_flags = tso;
	buf[20] = 0x20; /* more fragments */
	check_eq("tso-fragment", sys_net_send_batch(segs, 4), -E_INVAL);
	buf[20] = 0;
	buf[46] = 4 << 4;
	check_eq("tso-tcp-offset-short", sys_net_send_batch(segs, 4), -E_INVAL);
	buf[46] = 15 << 4; /* 60 bytes of TCP header: past the first piece, still in the frame */
	check_eq("tso-options-in-a-later-piece", sys_net_send_batch(segs, 4), 1);
	buf[46] = 5 << 4;
	seg(0, buf, 40, tso | NET_TX_END);
	check_eq("tso-headers-cut", sys_net_send_batch(segs, 1), -E_INVAL);
	seg(0, buf, 54, tso);
	seg(3, data + 2 * (big / 3), NET_TSO_FRAME_MAX + 1, NET_TX_END | NET_TX_REF);
	check_eq("tso-piece-too-long", sys_net_send_batch(segs, 4), -E_INVAL);
	/* copied, the payload would overflow the driver's buffer for the
	 * headers: only what an ordinary frame holds may be copied */
	seg(3, data + 2 * (big / 3), big / 3, NET_TX_END);
	check_eq("tso-copied-too-long", sys_net_send_batch(segs, 4), -E_INVAL);
	seg(3, data + 2 * (big / 3), big / 3, NET_TX_END | NET_TX_REF);
	uint64_t frames = ni.ni_tx_frames;
	check_eq("tso-sent", send_all(4), 0);
	info(&ni);
	check("tso-counted-once", ni.ni_tx_frames > frames);
	drain();
}

int main(void)
{
	uint8_t *buf = pages_now(BUF_PAGES);
	argument_errors(buf);
	struct net_info ni;
	if (info(&ni) == -E_NOT_FOUND) {
		without_nic(buf);
		return test_finish();
	}
	offloads(buf);
	batches(buf);
	freed_in_flight(buf);
	killed_in_flight(buf);
	beyond_share(buf);
	flood_cannot_starve(buf);
	/* everything in flight comes back */
	drain();
	info(&ni);
	check_eq("all-back", ni.ni_tx_in_flight, 0);
	return test_finish();
}
