/*
 * kvd's append-only log directly on disk blocks it owns through XN
 * (doc/disk.md), without a file system: the exokernel way (exo_log.h).
 * The format is xnlog.h's: one root block of kvd's own type, whose UDF
 * (user/bpf/kvd_aof_udf.c) claims the data extents of two slots, and
 * records with a length, a CRC and a sequence number packed into them.
 *
 *   append    buffers (pend) and, past PEND_FLUSH, writes out
 *   flush     frames what is buffered as records into a window of pages
 *             holding the log's last block onwards, and writes the blocks
 *             it touched with disk_io (the last block, partly filled, is
 *             written again next time with the same bytes in front, so a
 *             torn write of it can only hurt records not yet acknowledged)
 *   sync      flush, then disk_flush_data: the data and XN's written map,
 *             no metadata. So appendfsync always costs a block write (two
 *             when a record crosses a block) and a device flush.
 *   growth    the extents are allocated ahead (EXT_BLOCKS at a time) by one
 *             xn_update on the root and made durable at once (disk_flush),
 *             before any record in them is acknowledged.
 *   rewrite   the new log goes into the other slot (its own id, extents
 *             allocated as it grows), its data is flushed, and one
 *             XN_OP_NONE update flips r_active and is flushed: the switch.
 *             Only then are the old log's extents given back, one xn_update
 *             each, newest first. A crash before the switch leaves the old
 *             log live and the new slot's extents to free at the next start.
 *   recovery  at start the root's generation is bumped and flushed; then
 *             the live log is read record by record until the first that is
 *             not valid (xnlog.h), each record's payload fed to the engine.
 *             A command the end cut in two (a record boundary inside it) is
 *             dropped by the engine, and the record holding the cut is
 *             rewritten in place to end where the engine stopped.
 *
 * Hostile input: the root block and the records are whatever is on disk.
 * A root the UDF refuses cannot have been written through XN; a root with
 * counts out of range makes open fail with a message. A record is trusted
 * only after every check, and its length is bounded before anything is
 * read for it; the first bad one ends the log, never the server.
 *
 * Errors: an I/O error while writing leaves the log in a state this file
 * no longer knows (broken): every later write and sync fails, which stops
 * the server with appendfsync always and shows in INFO otherwise.
 */
#include <inc/error.h>
#include <lib/appl/appl.h>
#include <lib/base/bpf_elf.h>
#include <lib/base/libos.h>
#include <lib/base/vm.h>
#include <user/srv/kvd/exo_log.h>
#include <user/srv/kvd/xnlog.h>

#define BLK DISK_BLOCK_SIZE
#define WIN_PAGES 32           /* blocks written or read in one batch: DISK_REQS_PER_ENV */
#define EXT_BLOCKS 512         /* a log grows by 2 MiB, less when no free run is that long */
#define PEND_FLUSH (256 * 1024) /* buffered appends written out early past this */
#define HDR ((uint64_t)sizeof(struct xnlog_rec))

/* A log being written: one slot of the root, its end and its last block. */
struct writer {
	int slot;
	uint64_t tail;      /* bytes of records in the log */
	uint64_t seq;       /* the last record's sequence number */
	uint64_t blocks;    /* blocks its extents hold */
	uint8_t *win;       /* WIN_PAGES pages: log blocks win_first... */
	uint64_t win_first; /* the block holding tail */
};

static struct xnlog_root root, next; /* our copy of the root block; next: a change to it */
static uint64_t root_blk, nblocks;
static struct writer log_w, new_w;   /* the live log; a compaction's new one */
static uint8_t *pend, *recbuf, *free_bits, *bind_va;
static size_t pend_len, pend_cap;
static bool broken, unsynced;
static uint32_t crc_tab[256];

/* --- CRC-32C (Castagnoli), reflected, one table ------------------------------ */
static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_tab[i] = c;
	}
}

static uint32_t crc_add(uint32_t c, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n--)
		c = crc_tab[(c ^ *b++) & 0xff] ^ (c >> 8);
	return c;
}

static uint32_t rec_crc(const struct xnlog_rec *h, const void *payload)
{
	struct xnlog_rec z = *h;
	z.rec_crc = 0;
	return ~crc_add(crc_add(~0u, &z, sizeof(z)), payload, h->rec_len);
}

/* --- the root: changes through xn_update ------------------------------------- */

/* Make `next` the root: one update writing the byte ranges given (offsets
 * into struct xnlog_root), with op and ext as XN wants them. */
static int root_update(uint32_t op, struct xn_extent ext, const uint32_t *off, const uint32_t *len,
		       uint32_t nw)
{
	struct xn_write w[4];
	for (uint32_t i = 0; i < nw; i++)
		w[i] = (struct xn_write){ off[i], len[i], (uint64_t)((uint8_t *)&next + off[i]) };
	struct xn_update u = { root_blk, op, nw, ext, w };
	long r = sys_xn_update(&u, CAP_SELF);
	if (r < 0)
		return (int)r;
	root = next;
	return 0;
}

#define SLOT_OFF(s) ((uint32_t)(offsetof(struct xnlog_root, r_slot) + (s) * sizeof(struct xnlog_slot)))
#define EXT_OFF(s, i) (SLOT_OFF(s) + (uint32_t)(offsetof(struct xnlog_slot, s_ext) + (i) * 8))
#define COUNT_OFF(s) (SLOT_OFF(s) + (uint32_t)offsetof(struct xnlog_slot, s_count))

/* Change the root's fields from r_active to r_next_log (no claim changes). */
static int root_set_head(void)
{
	uint32_t off = 4, len = 12;
	return root_update(XN_OP_NONE, (struct xn_extent){ 0, 0, 0 }, &off, &len, 1);
}

/* Give back slot s's extents, newest first, and empty it. */
static int slot_free(int s)
{
	while (root.r_slot[s].s_count) {
		uint32_t i = root.r_slot[s].s_count - 1;
		struct xnlog_ext e = root.r_slot[s].s_ext[i];
		next = root;
		next.r_slot[s].s_count = i;
		next.r_slot[s].s_ext[i] = (struct xnlog_ext){ 0, 0 };
		uint32_t off[2] = { COUNT_OFF(s), EXT_OFF(s, i) }, len[2] = { 4, 8 };
		int r = root_update(XN_OP_FREE, (struct xn_extent){ e.e_start, e.e_len, 0 }, off,
				    len, 2);
		if (r < 0)
			return r;
	}
	if (root.r_slot[s].s_log) {
		next = root;
		next.r_slot[s].s_log = 0;
		uint32_t off = SLOT_OFF(s), len = 4;
		return root_update(XN_OP_NONE, (struct xn_extent){ 0, 0, 0 }, &off, &len, 1);
	}
	return 0;
}

/* The disk block holding block b of slot s's log. */
static uint64_t log_block(int s, uint64_t b)
{
	const struct xnlog_slot *sl = &root.r_slot[s];
	for (uint32_t i = 0; i < sl->s_count; i++) {
		if (b < sl->s_ext[i].e_len)
			return sl->s_ext[i].e_start + b;
		b -= sl->s_ext[i].e_len;
	}
	return 0; /* past the end: callers check blocks first */
}

static bool bit_free(uint64_t b)
{
	return free_bits[b / 8] >> (b % 8) & 1;
}

/* One more extent for w's slot: after its last one if that run is free,
 * else the first free run of EXT_BLOCKS, else the longest there is. It is
 * made durable (claim and zeros) before the call returns. */
static int grow(struct writer *w)
{
	struct xnlog_slot *sl = &root.r_slot[w->slot];
	if (sl->s_count == XNLOG_EXTENTS)
		return -E_FULL;
	for (int tries = 0; tries < 2; tries++) {
		if (sys_xn_free_map(0, nblocks, free_bits) < 0)
			return -E_IO;
		uint64_t best = 0, best_len = 0;
		if (sl->s_count) {
			uint64_t b = sl->s_ext[sl->s_count - 1].e_start +
				     sl->s_ext[sl->s_count - 1].e_len;
			uint64_t n = 0;
			while (b + n < nblocks && n < EXT_BLOCKS && bit_free(b + n))
				n++;
			if (n == EXT_BLOCKS)
				best = b, best_len = n;
		}
		for (uint64_t b = 1; b < nblocks && best_len < EXT_BLOCKS;) {
			uint64_t n = 0;
			while (b + n < nblocks && n < EXT_BLOCKS && bit_free(b + n))
				n++;
			if (n > best_len)
				best = b, best_len = n;
			b += n ? n : 1;
		}
		if (!best_len)
			return -E_FULL;
		uint32_t i = sl->s_count;
		next = root;
		next.r_slot[w->slot].s_ext[i] =
			(struct xnlog_ext){ (uint32_t)best, (uint32_t)best_len };
		next.r_slot[w->slot].s_count = i + 1;
		uint32_t off[2] = { EXT_OFF(w->slot, i), COUNT_OFF(w->slot) }, len[2] = { 8, 4 };
		int r = root_update(XN_OP_ALLOC, (struct xn_extent){ best, (uint32_t)best_len, 0 },
				    off, len, 2);
		if (r == -E_BUSY)
			continue; /* another tree took it meanwhile: look again */
		if (r < 0)
			return r;
		w->blocks += best_len;
		return sys_disk_flush() < 0 ? -E_IO : 0;
	}
	return -E_BUSY;
}

/* --- block I/O through the window -------------------------------------------- */

/* Read or write n blocks of w's slot from block first, pages from p. */
static int blocks_io(int op, int slot, uint64_t first, uint8_t *p, uint64_t n)
{
	long id[WIN_PAGES];
	int r = 0;
	uint64_t started = 0;
	for (; started < n; started++) {
		uint64_t b = log_block(slot, first + started);
		id[started] =
			b ? sys_disk_io((uint64_t)op, b, (uint64_t)(p + started * BLK), CAP_SELF)
			  : -E_RANGE;
		if (id[started] < 0) {
			r = (int)id[started];
			break;
		}
	}
	for (uint64_t i = 0; i < started; i++) {
		long k;
		do
			k = sys_disk_wait((uint64_t)id[i], UINT64_MAX);
		while (k == DISK_WAIT_TRANSFER || k == DISK_WAIT_TIMEOUT);
		if (k != DISK_WAIT_DONE && r == 0)
			r = k < 0 ? (int)k : -E_IO;
	}
	return r;
}

/* Write the window's blocks up to tail; the block holding tail (if partly
 * filled) becomes the window's first page. The window holds zeros past the
 * tail, so a partly filled block goes to the disk with zeros after its
 * last record, and recovery finds the end by them. */
static int win_out(struct writer *w)
{
	uint64_t used = w->tail - w->win_first * BLK;
	uint64_t n = (used + BLK - 1) / BLK;
	if (n == 0)
		return 0;
	int r = blocks_io(DISK_OP_WRITE, w->slot, w->win_first, w->win, n);
	if (r < 0)
		return r;
	unsynced = true;
	uint64_t full = used / BLK;
	if (full && used % BLK)
		memcpy(w->win, w->win + full * BLK, BLK);
	w->win_first += full;
	memset(w->win + used % BLK, 0, n * BLK - used % BLK);
	return 0;
}

/* Put bytes at w's tail, writing the window out each time it fills. */
static int put(struct writer *w, const void *p, uint64_t n)
{
	const uint8_t *s = p;
	while (n) {
		uint64_t at = w->tail - w->win_first * BLK;
		if (at == (uint64_t)WIN_PAGES * BLK) {
			int r = win_out(w);
			if (r < 0)
				return r;
			continue;
		}
		uint64_t k = MIN(n, (uint64_t)WIN_PAGES * BLK - at);
		memcpy(w->win + at, s, k);
		w->tail += k, s += k, n -= k;
	}
	return 0;
}

/* Append buf as records (XNLOG_REC_MAX payload each) to w's log, growing
 * it first so that nothing fails half-way for want of space. */
static int put_records(struct writer *w, const uint8_t *buf, size_t n)
{
	uint64_t need = w->tail + n + HDR * ((n + XNLOG_REC_MAX - 1) / XNLOG_REC_MAX);
	while (w->blocks * BLK < need) {
		int r = grow(w);
		if (r < 0)
			return r;
	}
	while (n) {
		uint32_t k = (uint32_t)MIN(n, (size_t)XNLOG_REC_MAX);
		struct xnlog_rec h = { k, 0, root.r_slot[w->slot].s_log, root.r_gen, w->seq + 1 };
		h.rec_crc = rec_crc(&h, buf);
		int r = put(w, &h, HDR);
		if (r == 0)
			r = put(w, buf, k);
		if (r < 0)
			return r;
		w->seq++;
		buf += k, n -= k;
	}
	return 0;
}

/* --- the engine's hooks -------------------------------------------------------- */

static int xn_flush(void)
{
	if (broken)
		return -1;
	if (!pend_len)
		return 0;
	uint64_t tail = log_w.tail, seq = log_w.seq;
	int r = put_records(&log_w, pend, pend_len);
	if (r < 0 && log_w.tail == tail) {
		log_w.seq = seq;
		return -1; /* no room (grow failed): nothing written, the bytes stay */
	}
	if (r == 0)
		r = win_out(&log_w);
	if (r < 0) {
		printf("kvd: writing the log on XN failed (error %d): the log is closed\n", r);
		broken = true;
		return -1;
	}
	pend_len = 0;
	if (pend_cap > 4 * PEND_FLUSH) {
		appl_free(pend);
		pend = NULL;
		pend_cap = 0;
	}
	return 0;
}

static int xn_append(void *ctx UNUSED, const void *buf, size_t n)
{
	if (broken)
		return -1;
	if (pend_len + n > pend_cap) {
		size_t cap = MAX(pend_cap * 2, (size_t)65536);
		while (cap < pend_len + n)
			cap *= 2;
		uint8_t *p = appl_alloc(cap);
		if (!p)
			return -1;
		memcpy(p, pend, pend_len);
		appl_free(pend);
		pend = p;
		pend_cap = cap;
	}
	memcpy(pend + pend_len, buf, n);
	pend_len += n;
	return pend_len >= PEND_FLUSH ? xn_flush() : 0;
}

static int xn_sync(void *ctx UNUSED)
{
	if (xn_flush() < 0)
		return -1;
	if (unsynced && sys_disk_flush_data() < 0)
		return -1;
	unsynced = false;
	return 0;
}

static int xn_rewrite_begin(void *ctx UNUSED)
{
	if (xn_sync(NULL) < 0) /* what came before belongs to the old log */
		return -1;
	int s = 1 - (int)root.r_active;
	if (slot_free(s) < 0) /* a compaction that failed before */
		return -1;
	next = root;
	next.r_slot[s].s_log = root.r_next_log;
	next.r_next_log++;
	uint32_t off[2] = { SLOT_OFF(s), 12 }, len[2] = { 4, 4 };
	if (root_update(XN_OP_NONE, (struct xn_extent){ 0, 0, 0 }, off, len, 2) < 0)
		return -1;
	new_w.slot = s;
	new_w.tail = new_w.seq = new_w.blocks = new_w.win_first = 0;
	memset(new_w.win, 0, WIN_PAGES * BLK);
	return 0;
}

static int xn_rewrite_append(void *ctx UNUSED, const void *buf, size_t n)
{
	return put_records(&new_w, buf, n) < 0 ? -1 : 0;
}

static void xn_rewrite_abort(void *ctx UNUSED)
{
	slot_free(new_w.slot);
}

static int xn_rewrite_commit(void *ctx UNUSED)
{
	if (win_out(&new_w) < 0 || sys_disk_flush_data() < 0) {
		xn_rewrite_abort(NULL);
		return -1;
	}
	int old = (int)root.r_active;
	next = root;
	next.r_active = (uint32_t)new_w.slot;
	if (root_set_head() < 0 || sys_disk_flush() < 0) {
		if (root.r_active == (uint32_t)old)
			xn_rewrite_abort(NULL);
		else
			broken = true; /* switched in the cache, not known on disk */
		return -1;
	}
	uint8_t *win = log_w.win;
	log_w = new_w;
	new_w.win = win;
	unsynced = false;
	if (slot_free(old) < 0)
		printf("kvd: the old log's blocks were not all given back; the next start will\n");
	return 0;
}

/* --- recovery ------------------------------------------------------------------ */

/* A reader over slot s's log, through the window's pages. */
struct reader {
	int slot;
	uint64_t pos, blocks; /* byte position; blocks the slot holds */
	uint8_t *win;
	uint64_t win_first, win_n; /* blocks in the window */
};

static int rd(struct reader *r, void *dst, uint64_t n)
{
	uint8_t *d = dst;
	while (n) {
		uint64_t b = r->pos / BLK;
		if (b >= r->blocks)
			return -E_RANGE;
		if (b < r->win_first || b >= r->win_first + r->win_n) {
			uint64_t k = MIN((uint64_t)WIN_PAGES, r->blocks - b);
			r->win_n = 0;
			int e = blocks_io(DISK_OP_READ, r->slot, b, r->win, k);
			if (e < 0)
				return e;
			r->win_first = b, r->win_n = k;
		}
		uint64_t at = r->pos - r->win_first * BLK;
		uint64_t k = MIN(n, r->win_n * BLK - at);
		memcpy(d, r->win + at, k);
		d += k, n -= k, r->pos += k;
	}
	return 0;
}

/* What a scan found: where the log ends and why; with `cut` set, the
 * record holding payload byte `cut` (at, its header, its payload in
 * recbuf). */
struct scan {
	uint64_t end, seq, payload, records;
	uint32_t gen;
	const char *stop;
	bool found;
	uint64_t found_at, found_off;
	struct xnlog_rec found_hdr;
};

/* Read the live log record by record until the first invalid one; feed
 * each payload to kv (if given). -1 on a read error. */
static int scan(struct kvd *kv, int64_t cut, struct scan *sc)
{
	const struct xnlog_slot *sl = &root.r_slot[root.r_active];
	struct reader r = { (int)root.r_active, 0, 0, log_w.win, 0, 0 };
	for (uint32_t i = 0; i < sl->s_count; i++)
		r.blocks += sl->s_ext[i].e_len;
	*sc = (struct scan){ 0 };
	sc->stop = "the end of its blocks";
	for (;;) {
		struct xnlog_rec h;
		uint64_t at = r.pos;
		if (at + HDR > r.blocks * BLK)
			break;
		int e = rd(&r, &h, HDR);
		if (e < 0)
			return e;
		if (h.rec_len == 0 && h.rec_log == 0 && h.rec_seq == 0) {
			sc->stop = "zeros";
			break;
		}
		if (h.rec_len == 0 || h.rec_len > XNLOG_REC_MAX ||
		    at + HDR + h.rec_len > r.blocks * BLK) {
			sc->stop = "a bad length";
			break;
		}
		if (h.rec_log != sl->s_log || h.rec_seq != sc->seq + 1 || h.rec_gen < sc->gen ||
		    h.rec_gen > root.r_gen) {
			sc->stop = "a record of another log or generation";
			break;
		}
		if ((e = rd(&r, recbuf, h.rec_len)) < 0)
			return e;
		if (rec_crc(&h, recbuf) != h.rec_crc) {
			sc->stop = "a bad CRC";
			break;
		}
		if (cut >= 0 && (uint64_t)cut < sc->payload + h.rec_len) {
			sc->found = true;
			sc->found_at = at, sc->found_off = (uint64_t)cut - sc->payload;
			sc->found_hdr = h;
			return 0;
		}
		if (kv && kvd_load(kv, recbuf, h.rec_len) < 0)
			kv = NULL; /* damage: kvd_load_end says what; read on to count */
		sc->end = r.pos, sc->seq = h.rec_seq, sc->gen = h.rec_gen;
		sc->payload += h.rec_len, sc->records++;
	}
	return 0;
}

/* Put w's window over its tail: the tail's block read in if partly used,
 * zeros after the tail (whatever a crash or damage left there goes). */
static int win_load(struct writer *w)
{
	w->win_first = w->tail / BLK;
	if (w->tail % BLK && blocks_io(DISK_OP_READ, w->slot, w->win_first, w->win, 1) < 0)
		return -1;
	memset(w->win + w->tail % BLK, 0, WIN_PAGES * BLK - w->tail % BLK);
	return 0;
}

static int xn_recover(struct kvd *kv)
{
	struct scan sc;
	int e = scan(kv, -1, &sc);
	const char *why = NULL;
	long long valid = kvd_load_end(kv, &why);
	if (e < 0 || valid < 0) {
		printf("kvd: the log on XN is damaged: %s\n", e < 0 ? "read error" : why);
		return -1;
	}
	log_w.tail = sc.end, log_w.seq = sc.seq;
	if ((uint64_t)valid < sc.payload) {
		/* a command cut in two at the end: end the log where it began */
		struct scan c;
		if (scan(NULL, valid, &c) < 0 || !c.found)
			return -1;
		log_w.tail = c.found_at, log_w.seq = c.found_hdr.rec_seq - 1;
		if (win_load(&log_w) < 0)
			return -1;
		if (c.found_off && (put_records(&log_w, recbuf, c.found_off) < 0 ||
				    win_out(&log_w) < 0 || sys_disk_flush_data() < 0))
			return -1;
		printf("kvd: cut a torn command of %lld bytes off the log\n",
		       (long long)(sc.payload - (uint64_t)valid));
	} else if (win_load(&log_w) < 0) {
		return -1;
	}
	printf("kvd: loaded %lld bytes of log from XN (%llu records, ended by %s)\n", valid,
	       (unsigned long long)sc.records, sc.stop);
	return 0;
}

/* --- set-up -------------------------------------------------------------------- */

extern const char bpfobj_kvd_aof_udf[], bpfobj_kvd_aof_udf_end[];

static int udf_region(void *arg UNUSED, const char *name)
{
	return strcmp(name, "region0") == 0 ? 0 : strcmp(name, "region1") == 0 ? 1 : -1;
}

/* Our type's id (the same program registered again gets the same one). */
static long register_type(void)
{
	static struct bpf_insn insns[XN_UDF_MAX_INSNS];
	uint32_t len;
	if (bpf_elf_load(bpfobj_kvd_aof_udf, (size_t)(bpfobj_kvd_aof_udf_end - bpfobj_kvd_aof_udf),
			 NULL, insns, XN_UDF_MAX_INSNS, &len, udf_region, NULL) < 0)
		return -E_INVAL;
	struct xn_type_def d = { "kvd-aof", insns, len, 0, NULL };
	return sys_xn_type_register(&d);
}

/* The root block as XN has it (its cache: changes not yet on disk too). */
static int root_read(void)
{
	long r = sys_disk_bind(root_blk, (uint64_t)bind_va, CAP_SELF);
	if (r < 0)
		return (int)r;
	memcpy(&root, bind_va, sizeof(root));
	sys_page_unbind(0, (uint64_t)bind_va, 0);
	return 0;
}

static int fail(const char *what, long e)
{
	printf("kvd: log on XN: %s (error %ld)\n", what, e);
	return -1;
}

static int xn_open(bool format)
{
	struct disk_info di;
	long r = sys_disk_info(&di);
	if (r < 0 || di.di_xn == XN_STATE_NONE)
		return fail("no disk", r);
	if (di.di_xn == XN_STATE_RAW) {
		if (!format)
			return fail("no XN on the disk; --format lays it on a new disk",
				    -E_NOT_FOUND);
		if ((r = sys_xn_format(CAP_SELF)) < 0 || (r = sys_disk_info(&di)) < 0)
			return fail("cannot format the disk", r);
	}
	nblocks = di.di_xn_blocks;
	crc_init();
	free_bits = appl_calloc((size_t)(nblocks + 7) / 8);
	recbuf = appl_alloc(XNLOG_REC_MAX);
	log_w.win = appl_pages(WIN_PAGES);
	new_w.win = appl_pages(WIN_PAGES);
	bind_va = vm_alloc(BLK); /* an address for disk_bind, never touched */
	if (!free_bits || !recbuf || !log_w.win || !new_w.win || !bind_va)
		return fail("out of memory", -E_NO_MEM);
	long type = register_type();
	if (type < 0)
		return fail("XN refused the log's type", type);
	struct xn_root_info ri;
	r = sys_xn_root_lookup(XNLOG_ROOT_NAME, &ri);
	if (r == -E_NOT_FOUND) {
		if ((r = sys_xn_root_create(XNLOG_ROOT_NAME, (uint64_t)type, CAP_SELF)) < 0 ||
		    (r = sys_xn_root_lookup(XNLOG_ROOT_NAME, &ri)) < 0)
			return fail("cannot make the log's root", r);
		root_blk = ri.ri_block;
		memset(&root, 0, sizeof(root));
		next = root;
		next.r_tag = XNLOG_TAG;
		next.r_next_log = 2;
		next.r_slot[0].s_log = 1;
		uint32_t off[2] = { 0, SLOT_OFF(0) }, len[2] = { 16, 4 };
		if ((r = root_update(XN_OP_NONE, (struct xn_extent){ 0, 0, 0 }, off, len, 2)) < 0)
			return fail("cannot write the log's root", r);
	} else if (r < 0) {
		return fail("cannot look the log up", r);
	} else if (ri.ri_type != (uint64_t)type) {
		return fail("the root " XNLOG_ROOT_NAME " has another type", -E_INVAL);
	}
	root_blk = ri.ri_block;
	if ((r = root_read()) < 0)
		return fail("cannot read the log's root", r);
	int live = (int)root.r_active;
	if (root.r_tag != XNLOG_TAG || root.r_active > 1 || !root.r_slot[live].s_log ||
	    root.r_slot[0].s_count > XNLOG_EXTENTS || root.r_slot[1].s_count > XNLOG_EXTENTS)
		return fail("the log's root is not one", -E_INVAL);
	/* a new generation, durable before any record of it is written */
	next = root;
	next.r_gen++;
	if ((r = root_set_head()) < 0 || (r = sys_disk_flush()) < 0)
		return fail("cannot start a generation", r);
	if ((r = slot_free(1 - live)) < 0) /* a compaction a crash cut short */
		return fail("cannot give back an unfinished compaction's blocks", r);
	log_w.slot = live;
	for (uint32_t i = 0; i < root.r_slot[live].s_count; i++)
		log_w.blocks += root.r_slot[live].s_ext[i].e_len;
	return 0;
}

static void xn_close(void)
{
	int r = xn_sync(NULL);
	long f = sys_disk_flush();
	printf("kvd: log on XN %s: %llu bytes, %llu records\n",
	       r < 0 || f < 0 ? "not closed cleanly" : "closed", (unsigned long long)log_w.tail,
	       (unsigned long long)log_w.seq);
}

const struct exo_log exo_log_xn = {
	.name = "xn",
	.open = xn_open,
	.recover = xn_recover,
	.append = xn_append,
	.flush = xn_flush,
	.sync = xn_sync,
	.rewrite_begin = xn_rewrite_begin,
	.rewrite_append = xn_rewrite_append,
	.rewrite_commit = xn_rewrite_commit,
	.rewrite_abort = xn_rewrite_abort,
	.close = xn_close,
};
