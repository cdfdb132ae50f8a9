/*
 * The mechanics of kvd's log on XN (exo_log_xn.h): records and their
 * CRC-32C, changes to the root block through xn_update, growing a log by
 * an extent, and moving blocks between a writer's window and the disk.
 *
 * Growth: a log grows by EXT_BLOCKS (2 MiB) at a time, placed after its last
 * extent when that run is free, else at the first free run that long, else
 * the longest there is. One xn_update claims it (the root's extent and count)
 * and a disk_flush makes the claim durable, with XN's zeros in the blocks,
 * before any record in them can be acknowledged.
 *
 * The window: records are copied into pages that mirror the log's blocks
 * from the one holding the tail; writing the window out writes each block
 * touched (the last, partly filled, again at the next write, with the same
 * bytes in front: a torn write of it can only hurt records not yet
 * acknowledged) and keeps zeros past the tail, so recovery finds the end.
 */
#include <inc/error.h>
#include <lib/base/libos.h>
#include <user/srv/kvd/exo_log_xn.h>

#define EXT_BLOCKS 512 /* a log grows by 2 MiB, less when no free run is that long */

struct xnlog_root xl_root, xl_next;
uint64_t xl_root_blk, xl_nblocks;
uint8_t *xl_free_bits;
bool xl_unsynced;
static uint32_t crc_tab[256];

/* --- CRC-32C (Castagnoli), reflected, one table --------------------------- */
void xl_crc_init(void)
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

uint32_t xl_rec_crc(const struct xnlog_rec *h, const void *payload)
{
	struct xnlog_rec z = *h;
	z.rec_crc = 0;
	return ~crc_add(crc_add(~0u, &z, sizeof(z)), payload, h->rec_len);
}

/* --- the root: changes through xn_update ------------------------------------- */

int xl_root_update(uint32_t op, struct xn_extent ext, const uint32_t *off, const uint32_t *len,
		   uint32_t nw)
{
	struct xn_write w[4];
	for (uint32_t i = 0; i < nw; i++)
		w[i] = (struct xn_write){ off[i], len[i],
					  (uint64_t)((uint8_t *)&xl_next + off[i]) };
	struct xn_update u = { xl_root_blk, op, nw, ext, w };
	long r = sys_xn_update(&u, CAP_SELF);
	if (r < 0)
		return (int)r;
	xl_root = xl_next;
	return 0;
}

/* Change the root's fields from r_active to r_next_log (no claim changes). */
int xl_root_set_head(void)
{
	uint32_t off = 4, len = 12;
	return xl_root_update(XN_OP_NONE, (struct xn_extent){ 0, 0, 0 }, &off, &len, 1);
}

/* Give back slot s's extents, newest first, and empty it. */
int xl_slot_free(int s)
{
	while (xl_root.r_slot[s].s_count) {
		uint32_t i = xl_root.r_slot[s].s_count - 1;
		struct xnlog_ext e = xl_root.r_slot[s].s_ext[i];
		xl_next = xl_root;
		xl_next.r_slot[s].s_count = i;
		xl_next.r_slot[s].s_ext[i] = (struct xnlog_ext){ 0, 0 };
		uint32_t off[2] = { COUNT_OFF(s), EXT_OFF(s, i) }, len[2] = { 4, 8 };
		int r = xl_root_update(XN_OP_FREE, (struct xn_extent){ e.e_start, e.e_len, 0 }, off,
				       len, 2);
		if (r < 0)
			return r;
	}
	if (xl_root.r_slot[s].s_log) {
		xl_next = xl_root;
		xl_next.r_slot[s].s_log = 0;
		uint32_t off = SLOT_OFF(s), len = 4;
		return xl_root_update(XN_OP_NONE, (struct xn_extent){ 0, 0, 0 }, &off, &len, 1);
	}
	return 0;
}

/* The disk block holding block b of slot s's log. */
uint64_t xl_log_block(int s, uint64_t b)
{
	const struct xnlog_slot *sl = &xl_root.r_slot[s];
	for (uint32_t i = 0; i < sl->s_count; i++) {
		if (b < sl->s_ext[i].e_len)
			return sl->s_ext[i].e_start + b;
		b -= sl->s_ext[i].e_len;
	}
	return 0; /* past the end: callers check blocks first */
}

static bool bit_free(uint64_t b)
{
	return xl_free_bits[b / 8] >> (b % 8) & 1;
}

/* One more extent for w's slot: after its last one if that run is free,
 * else the first free run of EXT_BLOCKS, else the longest there is. It is
 * made durable (claim and zeros) before the call returns. */
int xl_grow(struct writer *w)
{
	struct xnlog_slot *sl = &xl_root.r_slot[w->slot];
	if (sl->s_count == XNLOG_EXTENTS)
		return -E_FULL;
	for (int tries = 0; tries < 2; tries++) {
		if (sys_xn_free_map(0, xl_nblocks, xl_free_bits) < 0)
			return -E_IO;
		uint64_t best = 0, best_len = 0;
		if (sl->s_count) {
			uint64_t b = sl->s_ext[sl->s_count - 1].e_start +
				     sl->s_ext[sl->s_count - 1].e_len;
			uint64_t n = 0;
			while (b + n < xl_nblocks && n < EXT_BLOCKS && bit_free(b + n))
				n++;
			if (n == EXT_BLOCKS)
				best = b, best_len = n;
		}
		for (uint64_t b = 1; b < xl_nblocks && best_len < EXT_BLOCKS;) {
			uint64_t n = 0;
			while (b + n < xl_nblocks && n < EXT_BLOCKS && bit_free(b + n))
				n++;
			if (n > best_len)
				best = b, best_len = n;
			b += n ? n : 1;
		}
		if (!best_len)
			return -E_FULL;
		uint32_t i = sl->s_count;
		xl_next = xl_root;
		xl_next.r_slot[w->slot].s_ext[i] =
			(struct xnlog_ext){ (uint32_t)best, (uint32_t)best_len };
		xl_next.r_slot[w->slot].s_count = i + 1;
		uint32_t off[2] = { EXT_OFF(w->slot, i), COUNT_OFF(w->slot) }, len[2] = { 8, 4 };
		int r = xl_root_update(XN_OP_ALLOC,
				       (struct xn_extent){ best, (uint32_t)best_len, 0 }, off, len,
				       2);
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
int xl_blocks_io(int op, int slot, uint64_t first, uint8_t *p, uint64_t n)
{
	long id[WIN_PAGES];
	int r = 0;
	uint64_t started = 0;
	for (; started < n; started++) {
		uint64_t b = xl_log_block(slot, first + started);
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

/* Wait for w's last batch of writes; their pages, in the window not in
 * use, are zeroed for its next turn. */
int xl_wait(struct writer *w)
{
	int r = 0;
	for (uint32_t i = 0; i < w->nids; i++) {
		long k;
		do
			k = sys_disk_wait((uint64_t)w->ids[i], UINT64_MAX);
		while (k == DISK_WAIT_TRANSFER || k == DISK_WAIT_TIMEOUT);
		if (k != DISK_WAIT_DONE && r == 0)
			r = k < 0 ? (int)k : -E_IO;
	}
	memset(w->buf[1 - w->cur], 0, (size_t)w->npages * BLK);
	w->nids = w->npages = 0;
	return r;
}

/* Start writing the window's blocks up to the tail, after the last batch
 * is done (two writes of one block are never in flight at once, so the
 * newer always lands last), and go on in the other window, its first page
 * the block holding the tail. The windows hold zeros past the tail, so a
 * partly filled block goes to the disk with zeros after its last record,
 * and recovery finds the end by them. */
int xl_win_out(struct writer *w)
{
	int r = xl_wait(w);
	uint64_t used = w->tail - w->win_first * BLK;
	uint64_t n = (used + BLK - 1) / BLK;
	if (r < 0 || n == 0)
		return r;
	uint8_t *win = w->buf[w->cur], *other = w->buf[1 - w->cur];
	for (uint64_t i = 0; i < n; i++) {
		uint64_t b = xl_log_block(w->slot, w->win_first + i);
		long id = b ? sys_disk_io(DISK_OP_WRITE, b, (uint64_t)(win + i * BLK), CAP_SELF)
			    : -E_RANGE;
		if (id < 0) {
			r = (int)id;
			break;
		}
		w->ids[w->nids++] = id;
	}
	xl_unsynced = true;
	uint64_t full = used / BLK;
	if (used % BLK)
		memcpy(other, win + full * BLK, BLK);
	w->win_first += full;
	w->cur = 1 - w->cur;
	w->npages = (uint32_t)n;
	return r < 0 ? (xl_wait(w), r) : 0;
}

/* Put bytes at w's tail, writing the window out each time it fills. */
static int put(struct writer *w, const void *p, uint64_t n)
{
	const uint8_t *s = p;
	while (n) {
		uint64_t at = w->tail - w->win_first * BLK;
		if (at == (uint64_t)WIN_PAGES * BLK) {
			int r = xl_win_out(w);
			if (r < 0)
				return r;
			continue;
		}
		uint64_t k = MIN(n, (uint64_t)WIN_PAGES * BLK - at);
		memcpy(w->buf[w->cur] + at, s, k);
		w->tail += k, s += k, n -= k;
	}
	return 0;
}

/* Append buf as records (XNLOG_REC_MAX payload each) to w's log, growing
 * it first so that nothing fails half-way for want of space. */
int xl_put_records(struct writer *w, const uint8_t *buf, size_t n)
{
	uint64_t need = w->tail + n + HDR * ((n + XNLOG_REC_MAX - 1) / XNLOG_REC_MAX);
	while (w->blocks * BLK < need) {
		int r = xl_grow(w);
		if (r < 0)
			return r;
	}
	while (n) {
		uint32_t k = (uint32_t)MIN(n, (size_t)XNLOG_REC_MAX);
		struct xnlog_rec h = { k, 0, xl_root.r_slot[w->slot].s_log, xl_root.r_gen,
				       w->seq + 1 };
		h.rec_crc = xl_rec_crc(&h, buf);
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

/* Put w's window over its tail: the tail's block read in if partly used,
 * zeros after the tail (whatever a crash or damage left there goes). */
int xl_win_load(struct writer *w)
{
	w->win_first = w->tail / BLK;
	w->cur = 0;
	w->nids = w->npages = 0;
	memset(w->buf[1], 0, WIN_PAGES * BLK);
	if (w->tail % BLK && xl_blocks_io(DISK_OP_READ, w->slot, w->win_first, w->buf[0], 1) < 0)
		return -1;
	memset(w->buf[0] + w->tail % BLK, 0, WIN_PAGES * BLK - w->tail % BLK);
	return 0;
}
