/*
 * kvd's append-only log directly on disk blocks it owns through XN
 * (doc/disk.md), without a file system: the exokernel way (exo_log.h).
 * The format is xnlog.h's: one root block of kvd's own type, whose UDF
 * (user/bpf/kvd_aof_udf.c) claims the data extents of two slots, and
 * records with a length, a CRC and a sequence number packed into them.
 * This file has the engine's hooks, recovery and set-up; exo_log_xn_io.c
 * the records, the root's changes, growth and block I/O.
 *
 *   append    buffers (pend) and, past PEND_FLUSH, writes out
 *   flush     (the runner's tick, 100 ms) frames what is buffered as
 *             records into a window of pages holding the log's last block
 *             onwards, and starts writing the blocks it touched with
 *             disk_io, without waiting (the last block, partly filled, is
 *             written again next time with the same bytes in front, so a
 *             torn write of it can only hurt records not yet acknowledged)
 *   sync      flush, wait for the writes, then disk_flush_data: the data
 *             and XN's written map, no metadata. So appendfsync always
 *             costs a block write (two when a record crosses a block) and
 *             a device flush.
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
#include <user/srv/kvd/exo_log_xn.h>

#define PEND_FLUSH (256 * 1024) /* buffered appends written out early past this */

static struct writer log_w, new_w; /* the live log; a compaction's new one */
static uint8_t *pend, *recbuf, *bind_va;
static size_t pend_len, pend_cap;
static bool broken;

/* --- the engine's hooks -------------------------------------------------------- */

static int xn_flush(void)
{
	if (broken)
		return -1;
	if (!pend_len)
		return 0;
	uint64_t tail = log_w.tail, seq = log_w.seq;
	int r = xl_put_records(&log_w, pend, pend_len);
	if (r < 0 && log_w.tail == tail) {
		log_w.seq = seq;
		return -1; /* no room (grow failed): nothing written, the bytes stay */
	}
	if (r == 0)
		r = xl_win_out(&log_w);
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
	if (xl_wait(&log_w) < 0) {
		printf("kvd: a write of the log on XN failed: the log is closed\n");
		broken = true;
		return -1;
	}
	if (xl_unsynced && sys_disk_flush_data() < 0)
		return -1;
	xl_unsynced = false;
	return 0;
}

static int xn_rewrite_begin(void *ctx UNUSED)
{
	if (xn_sync(NULL) < 0) /* what came before belongs to the old log */
		return -1;
	int s = 1 - (int)xl_root.r_active;
	if (xl_slot_free(s) < 0) /* a compaction that failed before */
		return -1;
	xl_next = xl_root;
	xl_next.r_slot[s].s_log = xl_root.r_next_log;
	xl_next.r_next_log++;
	uint32_t off[2] = { SLOT_OFF(s), 12 }, len[2] = { 4, 4 };
	if (xl_root_update(XN_OP_NONE, (struct xn_extent){ 0, 0, 0 }, off, len, 2) < 0)
		return -1;
	new_w.slot = s;
	new_w.tail = new_w.seq = new_w.blocks = 0;
	return xl_win_load(&new_w);
}

static int xn_rewrite_append(void *ctx UNUSED, const void *buf, size_t n)
{
	return xl_put_records(&new_w, buf, n) < 0 ? -1 : 0;
}

static void xn_rewrite_abort(void *ctx UNUSED)
{
	xl_slot_free(new_w.slot);
}

static int xn_rewrite_commit(void *ctx UNUSED)
{
	if (xl_win_out(&new_w) < 0 || xl_wait(&new_w) < 0 || sys_disk_flush_data() < 0) {
		xn_rewrite_abort(NULL);
		return -1;
	}
	int old = (int)xl_root.r_active;
	xl_next = xl_root;
	xl_next.r_active = (uint32_t)new_w.slot;
	if (xl_root_set_head() < 0 || sys_disk_flush() < 0) {
		if (xl_root.r_active == (uint32_t)old)
			xn_rewrite_abort(NULL);
		else
			broken = true; /* switched in the cache, not known on disk */
		return -1;
	}
	uint8_t *b0 = log_w.buf[0], *b1 = log_w.buf[1]; /* no writes in flight: synced */
	log_w = new_w;
	new_w.buf[0] = b0, new_w.buf[1] = b1;
	xl_unsynced = false;
	if (xl_slot_free(old) < 0)
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
			int e = xl_blocks_io(DISK_OP_READ, r->slot, b, r->win, k);
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
	const struct xnlog_slot *sl = &xl_root.r_slot[xl_root.r_active];
	struct reader r = { (int)xl_root.r_active, 0, 0, log_w.buf[0], 0, 0 };
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
		    h.rec_gen > xl_root.r_gen) {
			sc->stop = "a record of another log or generation";
			break;
		}
		if ((e = rd(&r, recbuf, h.rec_len)) < 0)
			return e;
		if (xl_rec_crc(&h, recbuf) != h.rec_crc) {
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
		if (xl_win_load(&log_w) < 0)
			return -1;
		if (c.found_off &&
		    (xl_put_records(&log_w, recbuf, c.found_off) < 0 || xl_win_out(&log_w) < 0 ||
		     xl_wait(&log_w) < 0 || sys_disk_flush_data() < 0))
			return -1;
		printf("kvd: cut a torn command of %lld bytes off the log\n",
		       (long long)(sc.payload - (uint64_t)valid));
	} else if (xl_win_load(&log_w) < 0) {
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
	long r = sys_disk_bind(xl_root_blk, (uint64_t)bind_va, CAP_SELF);
	if (r < 0)
		return (int)r;
	memcpy(&xl_root, bind_va, sizeof(xl_root));
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
	xl_nblocks = di.di_xn_blocks;
	xl_crc_init();
	xl_free_bits = appl_calloc((size_t)(xl_nblocks + 7) / 8);
	recbuf = appl_alloc(XNLOG_REC_MAX);
	for (int i = 0; i < 2; i++) {
		log_w.buf[i] = appl_pages(WIN_PAGES);
		new_w.buf[i] = appl_pages(WIN_PAGES);
	}
	bind_va = vm_alloc(BLK); /* an address for disk_bind, never touched */
	if (!xl_free_bits || !recbuf || !log_w.buf[0] || !log_w.buf[1] || !new_w.buf[0] ||
	    !new_w.buf[1] || !bind_va)
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
		xl_root_blk = ri.ri_block;
		memset(&xl_root, 0, sizeof(xl_root));
		xl_next = xl_root;
		xl_next.r_tag = XNLOG_TAG;
		xl_next.r_next_log = 2;
		xl_next.r_slot[0].s_log = 1;
		uint32_t off[2] = { 0, SLOT_OFF(0) }, len[2] = { 16, 4 };
		if ((r = xl_root_update(XN_OP_NONE, (struct xn_extent){ 0, 0, 0 }, off, len, 2)) <
		    0)
			return fail("cannot write the log's root", r);
	} else if (r < 0) {
		return fail("cannot look the log up", r);
	} else if (ri.ri_type != (uint64_t)type) {
		return fail("the root " XNLOG_ROOT_NAME " has another type", -E_INVAL);
	}
	xl_root_blk = ri.ri_block;
	if ((r = root_read()) < 0)
		return fail("cannot read the log's root", r);
	int live = (int)xl_root.r_active;
	if (xl_root.r_tag != XNLOG_TAG || xl_root.r_active > 1 || !xl_root.r_slot[live].s_log ||
	    xl_root.r_slot[0].s_count > XNLOG_EXTENTS || xl_root.r_slot[1].s_count > XNLOG_EXTENTS)
		return fail("the log's root is not one", -E_INVAL);
	/* a new generation, durable before any record of it is written */
	xl_next = xl_root;
	xl_next.r_gen++;
	if ((r = xl_root_set_head()) < 0 || (r = sys_disk_flush()) < 0)
		return fail("cannot start a generation", r);
	if ((r = xl_slot_free(1 - live)) < 0) /* a compaction a crash cut short */
		return fail("cannot give back an unfinished compaction's blocks", r);
	log_w.slot = live;
	for (uint32_t i = 0; i < xl_root.r_slot[live].s_count; i++)
		log_w.blocks += xl_root.r_slot[live].s_ext[i].e_len;
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
