/*
 * Metadata changes and the journal: how the file system stays consistent
 * across a power cut while only ever making changes XN can check.
 *
 * Every metadata change is an XN update (fsdev.h), applied at once to the
 * cached block, and appended to the running transaction's log: the block,
 * the byte ranges written, the one extent allocated, freed or moved. Cached
 * metadata blocks are not written home until the transaction commits (no
 * steal), so the disk always holds a committed state plus file data. Commit:
 *
 *   1. write back the data blocks the transaction wrote, and the log into
 *      the journal; if there was data, a data barrier (fsdev.h: the data
 *      on disk and known to XN as written, no metadata written);
 *   2. write a header (sequence, the log's hash, and the hash of each
 *      touched block's final contents) into the journal; barrier. The
 *      transaction is now durable. The header never lands before the
 *      data: replay re-claims the data blocks, and XN hands a block it
 *      has no record of our writing back as zeros (it would otherwise
 *      leak another tree's old contents);
 *   3. write each touched metadata block home, in rounds: XN refuses a block
 *      that claims one whose initialisation (or whose release by its old
 *      owner, for a move) is not yet on disk, so each round writes what XN
 *      allows, then a barrier;
 *   4. clear the header; barrier.
 *
 * Replay (at mount, after XN rebuilt its free map from the roots): a valid
 * header means step 3 may have stopped half-way. A block whose contents hash
 * to its final hash is done; the log's records for the others are submitted
 * again, in order, as XN updates, so replay is checked like everything else.
 * That works because each block not done still holds its state from before
 * the transaction (no steal), and because of step 3's order: a block that
 * received a moved extent is home only if the block that gave it up is. A
 * record on a block no longer claimed (freed later in the transaction by a
 * parent that is home) is skipped. Then steps 3 and 4 run.
 *
 * The log is untrusted at replay (it is on disk): its hash must match and
 * every record is bounds-checked before it is submitted.
 */
#include <lib/fs/fsint.h>

#include <common/string.h>

enum { LOG_MOVE_FROM = 4, LOG_MOVE_TO = 5 };

struct logrec {
	uint32_t blk;
	uint8_t op, type;
	uint16_t nranges;
	uint32_t start, len;
};

struct jentry {
	uint32_t blk, pad;
	uint64_t hash;
};
struct jheader {
	uint64_t magic, seq;
	uint32_t loglen, nblocks;
	uint64_t loghash;
	struct jentry e[(FS_BLOCK - 32) / sizeof(struct jentry)];
};
_Static_assert(sizeof(struct jheader) <= FS_BLOCK, "journal header fits a block");
_Static_assert(FS_TXN_MAX_BLOCKS <= ARRAY_SIZE(((struct jheader *)0)->e), "txn fits header");

#define MAX_RANGES 32

/* An 8-byte load from any address (blocks are read as words). */
typedef uint64_t __attribute__((may_alias, aligned(1))) word;

uint64_t fs_block_hash(const uint8_t *b)
{
	uint64_t h = 14695981039346656037ull;
	for (uint32_t i = 0; i < FS_BLOCK; i += 8)
		h = (h ^ *(const word *)(b + i)) * 1099511628211ull;
	return h;
}

static uint64_t bytes_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static const uint8_t *held_copy(struct fs *fs, uint32_t blk);
static void pend_done(struct fs *fs, uint32_t blk, const uint8_t *copy);

const uint8_t *meta_map(struct fs *fs, uint32_t blk)
{
	const uint8_t *held = held_copy(fs, blk);
	return held ? held : fs->dev.map(fs->dev.d_ctx, blk);
}

uint8_t *meta_edit(struct fs *fs, uint32_t blk, int slot)
{
	const uint8_t *b = meta_map(fs, blk);
	if (!b)
		return NULL;
	memcpy(fs->edit[slot], b, FS_BLOCK);
	return fs->edit[slot];
}

/* --- the set of blocks the transaction touched ---------------------------- */

static struct txn_blk *tb_find(struct fs *fs, uint32_t blk)
{
	size_t mask = fs->tb_cap - 1;
	for (size_t i = (blk * 2654435761u) & mask;; i = (i + 1) & mask)
		if (fs->tb[i].blk == blk || fs->tb[i].blk == 0)
			return &fs->tb[i];
}

static int tb_mark(struct fs *fs, uint32_t blk, uint32_t flags)
{
	if (2 * (fs->ntb + 1) > fs->tb_cap) {
		size_t cap = fs->tb_cap ? 2 * fs->tb_cap : 256;
		struct txn_blk *old = fs->tb, *nt = fs_alloc(cap * sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		size_t oldcap = fs->tb_cap;
		fs->tb = nt, fs->tb_cap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].blk)
				*tb_find(fs, old[i].blk) = old[i];
		fs_free(old);
	}
	struct txn_blk *t = tb_find(fs, blk);
	if (!t->blk) {
		t->blk = blk;
		fs->ntb++;
	}
	if ((flags & TB_META) && !(t->flags & TB_META))
		fs->nmeta++;
	t->flags = (t->flags & ~TB_FREED) | flags;
	return 0;
}

/* --- the log ------------------------------------------------------------- */

static int log_reserve(struct fs *fs, size_t n)
{
	if (fs->loglen + n <= fs->logcap)
		return 0;
	size_t cap = fs->logcap ? fs->logcap : 64 * 1024;
	while (cap < fs->loglen + n)
		cap *= 2;
	uint8_t *l = fs_alloc(cap);
	if (!l)
		return -ENOMEM;
	if (fs->loglen)
		memcpy(l, fs->log, fs->loglen);
	fs_free(fs->log);
	fs->log = l, fs->logcap = cap;
	return 0;
}

static int log_update(struct fs *fs, const struct fsdev_update *u, uint8_t op)
{
	if (fs->replaying)
		return 0;
	size_t n = sizeof(struct logrec);
	for (uint32_t i = 0; i < u->u_nranges; i++)
		n += 4 + ROUNDUP(u->u_ranges[i].len, 4);
	int r = log_reserve(fs, n);
	if (r < 0)
		return r;
	uint8_t *p = fs->log + fs->loglen;
	struct logrec lr = { (uint32_t)u->u_blk,   op,
			     (uint8_t)u->u_type,   (uint16_t)u->u_nranges,
			     (uint32_t)u->u_start, (uint32_t)u->u_len };
	memcpy(p, &lr, sizeof(lr));
	p += sizeof(lr);
	for (uint32_t i = 0; i < u->u_nranges; i++) {
		const struct fsdev_range *g = &u->u_ranges[i];
		uint16_t hdr[2] = { g->off, g->len };
		memcpy(p, hdr, 4);
		memset(p + 4, 0, ROUNDUP(g->len, 4));
		memcpy(p + 4, g->data, g->len);
		p += 4 + ROUNDUP(g->len, 4);
	}
	fs->loglen += n;
	return 0;
}

/* The byte ranges in which copy differs from old (gaps under 16 bytes
 * bridged); one range over everything changed if there are too many. */
static uint32_t diff(const uint8_t *old, const uint8_t *copy, struct fsdev_range *rg)
{
	uint32_t n = 0, i = 0, first = FS_BLOCK, last = 0;
	while (i < FS_BLOCK) {
		if (old[i] == copy[i]) {
			/* Equal words are the common case: skip them 8 bytes at a time. */
			if (!(i & 7)) {
				if (*(const word *)(old + i) == *(const word *)(copy + i)) {
					i += 8;
					continue;
				}
			}
			i++;
			continue;
		}
		uint32_t s = i, end = i;
		for (; i < FS_BLOCK && i - end < 16; i++)
			if (old[i] != copy[i])
				end = i;
		first = MIN(first, s), last = end;
		if (n < MAX_RANGES)
			rg[n] = (struct fsdev_range){ (uint16_t)s, (uint16_t)(end + 1 - s),
						      copy + s };
		n++;
	}
	if (n > MAX_RANGES) {
		rg[0] = (struct fsdev_range){ (uint16_t)first, (uint16_t)(last + 1 - first),
					      copy + first };
		n = 1;
	}
	return n;
}

static void mark_freed(struct fs *fs, uint32_t type, uint32_t start, uint32_t len)
{
	for (uint32_t b = start; b < start + len; b++) {
		if (type == FS_T_DATA) {
			data_forget(fs, b);
		} else if (tb_mark(fs, b, 0) == 0) {
			pend_done(fs, b, NULL); /* not ours now: nothing to write */
			struct txn_blk *t = tb_find(fs, b);
			if (t->flags & TB_META)
				fs->nmeta--;
			t->flags = TB_FREED;
		}
	}
}

/* The change to blk (copy: its whole new image) submitted to the device
 * and logged. Diffed against the device's copy, so it carries the held-back
 * writes the copy was made on. */
static int submit(struct fs *fs, uint32_t blk, const uint8_t *copy, uint32_t op, uint32_t type,
		  uint32_t start, uint32_t len)
{
	struct fsdev_range rg[MAX_RANGES];
	const uint8_t *old = fs->dev.map(fs->dev.d_ctx, blk);
	if (!old)
		return -EIO;
	struct fsdev_update u = { blk, op, type, start, len, diff(old, copy, rg), rg };
	if (u.u_nranges == 0 && op == FSDEV_WRITE)
		return 0;
	int r = fs->dev.update(fs->dev.d_ctx, &u);
	if (r == 0)
		r = log_update(fs, &u, (uint8_t)op);
	if (r == 0)
		r = tb_mark(fs, blk, TB_META);
	if (r == 0 && op == FSDEV_FREE)
		mark_freed(fs, type, start, len);
	return r;
}

/* --- held-back writes -------------------------------------------------------
 *
 * A create changes the same few blocks again and again: its name's dir
 * block, the directory's root block (the count of names), the super block
 * (the next inode number). Submitted one by one, each change is an XN
 * update: a system call and the block's UDF run before and after. A change
 * that leaves the block's claims alone (FSDEV_WRITE) is held here instead,
 * in a copy meta_map hands out, and reaches the device merged into the
 * block's next submitted change: its next ALLOC, FREE or move, its eviction
 * from this table, or the commit, which submits every held block before the
 * journal's header hashes them. The log records what is submitted, so a
 * replay submits the same merged updates. Nobody reads the device's copy of
 * our blocks while our transaction runs: a family's other members wait for
 * its commit (lib/posix/fsturn.c). Held, a change XN would refuse (only a
 * bug makes one) is refused when it is submitted, in a later call; it stays
 * held, so the commit fails rather than drop it.
 */
#define PENDING_MAX 16
struct pending {
	uint32_t blk; /* held: the block; 0 once submitted (a free slot) */
	uint32_t was; /* a free slot: the block it last held, its copy current */
	uint64_t used; /* when last changed, submitted or mapped */
	uint8_t copy[FS_BLOCK];
};

/*
 * meta_map hands out pointers into these slots, and callers read through
 * one across their own changes, as they could through the device's cached
 * block. So a slot keeps showing its block: a held block's changes land in
 * its slot; once submitted, the slot remembers the block (`was`), gets its
 * later submitted changes too, and is the one taken if the block is held
 * again. A slot goes to another block only if nothing touched it since the
 * running operation began (txn_room starts one: the callers map blocks
 * afresh after it); with no such slot, a change is submitted at once.
 */
static struct pending *pend_find(struct fs *fs, uint32_t blk)
{
	if (blk == 0)
		return NULL; /* XN's own block, and the mark of a free slot */
	for (size_t i = 0; i < fs->npend; i++)
		if (fs->pend[i].blk == blk)
			return &fs->pend[i];
	return NULL;
}

static struct pending *pend_remembered(struct fs *fs, uint32_t blk)
{
	for (size_t i = 0; i < fs->npend; i++)
		if (!fs->pend[i].blk && fs->pend[i].was == blk)
			return &fs->pend[i];
	return NULL;
}

static const uint8_t *held_copy(struct fs *fs, uint32_t blk)
{
	struct pending *p = pend_find(fs, blk);
	if (!p)
		return NULL;
	p->used = ++fs->pend_clock;
	return p->copy;
}

/* blk's change was submitted whole (copy: the block's image now; NULL: the
 * block was freed, nothing of it to keep): its slot is free. */
static void pend_done(struct fs *fs, uint32_t blk, const uint8_t *copy)
{
	struct pending *p = pend_find(fs, blk);
	if (!p && !(p = pend_remembered(fs, blk)))
		return;
	if (copy && copy != p->copy)
		memcpy(p->copy, copy, FS_BLOCK);
	p->was = blk;
	p->blk = 0;
	p->used = ++fs->pend_clock;
}

static int pend_submit(struct fs *fs, struct pending *p)
{
	int r = submit(fs, p->blk, p->copy, FSDEV_WRITE, 0, 0, 0);
	if (r == 0)
		pend_done(fs, p->blk, NULL);
	return r;
}

/* Every held block submitted: 0, or the first refusal (the rest still go). */
static int pend_submit_all(struct fs *fs)
{
	int err = 0;
	for (size_t i = 0; i < fs->npend; i++)
		if (fs->pend[i].blk) {
			int r = pend_submit(fs, &fs->pend[i]);
			err = err ? err : r;
		}
	return err;
}

/* A slot blk may take (its own remembered one, a new one, or the oldest not
 * touched in this operation, submitted first); NULL: none (*err 0), or the
 * oldest's refusal. */
static struct pending *pend_slot(struct fs *fs, uint32_t blk, int *err)
{
	*err = 0;
	struct pending *p = pend_remembered(fs, blk);
	if (p)
		return p;
	if (!fs->pend && !(fs->pend = fs_alloc(PENDING_MAX * sizeof(*fs->pend))))
		return NULL;
	if (fs->npend < PENDING_MAX)
		return &fs->pend[fs->npend++];
	for (size_t i = 0; i < fs->npend; i++)
		if (fs->pend[i].used < fs->pend_op && (!p || fs->pend[i].used < p->used))
			p = &fs->pend[i];
	if (p && p->blk && (*err = pend_submit(fs, p)) < 0)
		return NULL;
	return p;
}

static int hold_back(struct fs *fs, uint32_t blk, const uint8_t *copy)
{
	struct pending *p = pend_find(fs, blk);
	if (!p) {
		const uint8_t *cur = fs->dev.map(fs->dev.d_ctx, blk);
		if (!cur)
			return -EIO;
		if (memcmp(cur, copy, FS_BLOCK) == 0)
			return 0;
		int err;
		if (!(p = pend_slot(fs, blk, &err))) {
			if (err < 0 || (err = submit(fs, blk, copy, FSDEV_WRITE, 0, 0, 0)) < 0)
				return err;
			return 0;
		}
		p->blk = blk;
	}
	if (copy != p->copy)
		memcpy(p->copy, copy, FS_BLOCK);
	p->used = ++fs->pend_clock;
	return tb_mark(fs, blk, TB_META);
}

int meta_put(struct fs *fs, uint32_t blk, const uint8_t *copy, uint32_t op, uint32_t type,
	     uint32_t start, uint32_t len)
{
	if (op == FSDEV_WRITE)
		return hold_back(fs, blk, copy);
	int r = submit(fs, blk, copy, op, type, start, len);
	if (r == 0)
		pend_done(fs, blk, copy);
	return r;
}

int meta_init(struct fs *fs, uint32_t blk, uint32_t type, const uint8_t *image)
{
	struct fsdev_range rg[MAX_RANGES];
	struct fsdev_update u = { blk, FSDEV_INIT, type, 0, 0, diff(fs->zero, image, rg), rg };
	int r = fs->dev.update(fs->dev.d_ctx, &u);
	if (r == 0)
		fs->nnew++;
	if (r == 0)
		r = log_update(fs, &u, FSDEV_INIT);
	if (r == 0)
		r = tb_mark(fs, blk, TB_META);
	if (r == 0)
		pend_done(fs, blk, image);
	return r;
}

int meta_move(struct fs *fs, uint32_t from, const uint8_t *fcopy, uint32_t to, const uint8_t *tcopy,
	      uint32_t type, uint32_t start, uint32_t len)
{
	struct fsdev_range r1[MAX_RANGES], r2[MAX_RANGES];
	const uint8_t *fold = fs->dev.map(fs->dev.d_ctx, from),
		      *told = fs->dev.map(fs->dev.d_ctx, to);
	if (!fold || !told)
		return -EIO;
	struct fsdev_update uf = { from, FSDEV_FREE, type, start, len, diff(fold, fcopy, r1), r1 };
	struct fsdev_update ut = { to, FSDEV_ALLOC, type, start, len, diff(told, tcopy, r2), r2 };
	int r = fs->dev.move(fs->dev.d_ctx, &uf, &ut);
	if (r == 0)
		r = log_update(fs, &uf, LOG_MOVE_FROM);
	if (r == 0)
		r = log_update(fs, &ut, LOG_MOVE_TO);
	if (r == 0)
		r = tb_mark(fs, from, TB_META);
	if (r == 0)
		r = tb_mark(fs, to, TB_META | TB_RECEIVED);
	if (r == 0) {
		pend_done(fs, from, fcopy);
		pend_done(fs, to, tcopy);
	}
	return r;
}

bool txn_received(struct fs *fs, uint32_t blk)
{
	return fs->tb_cap && (tb_find(fs, blk)->flags & TB_RECEIVED);
}

int data_write(struct fs *fs, uint32_t blk, const void *data)
{
	int r = fs->dev.write_data(fs->dev.d_ctx, blk, data);
	return r < 0 ? r : tb_mark(fs, blk, TB_DATA);
}

void data_forget(struct fs *fs, uint32_t blk)
{
	if (fs->tb_cap) {
		struct txn_blk *t = tb_find(fs, blk);
		if (t->blk)
			t->flags &= ~TB_DATA;
	}
}

/* --- commit ----------------------------------------------------------------- */

int txn_room(struct fs *fs)
{
	size_t logmax = (size_t)(fs->jlen - 1) * FS_BLOCK;
	int r = 0;
	if (fs->nmeta + FS_OP_MAX_BLOCKS > FS_TXN_MAX_BLOCKS || fs->loglen + FS_OP_MAX_LOG > logmax)
		r = txn_commit(fs);
	fs->pend_op = ++fs->pend_clock; /* an operation begins (pend_slot) */
	return r;
}

static int barrier(struct fs *fs)
{
	return fs->dev.barrier(fs->dev.d_ctx);
}

static int write_log(struct fs *fs)
{
	size_t nlog = ROUNDUP(fs->loglen, FS_BLOCK) / FS_BLOCK;
	if (fs->nmeta > FS_TXN_MAX_BLOCKS || nlog + 1 > fs->jlen)
		return -EIO; /* txn_room keeps every transaction inside these */
	for (size_t i = 0; i < nlog; i++) {
		size_t n = MIN((size_t)FS_BLOCK, fs->loglen - i * FS_BLOCK);
		memset(fs->tmp, 0, FS_BLOCK);
		memcpy(fs->tmp, fs->log + i * FS_BLOCK, n);
		uint32_t b = fs->jstart + 1 + (uint32_t)i;
		int r = fs->dev.write_data(fs->dev.d_ctx, b, fs->tmp);
		if (r == 0)
			r = fs->dev.writeback(fs->dev.d_ctx, b);
		if (r < 0)
			return r;
	}
	return 0;
}

static int write_header(struct fs *fs)
{
	struct jheader *h = (struct jheader *)fs->tmp;
	memset(h, 0, FS_BLOCK);
	h->magic = FS_JOURNAL_MAGIC, h->seq = fs->seq;
	h->loglen = (uint32_t)fs->loglen, h->loghash = bytes_hash(fs->log, fs->loglen);
	for (size_t i = 0; i < fs->tb_cap; i++) {
		struct txn_blk *t = &fs->tb[i];
		if (t->blk && (t->flags & TB_META)) {
			const uint8_t *b = meta_map(fs, t->blk);
			if (!b)
				return -EIO;
			h->e[h->nblocks++] = (struct jentry){ t->blk, 0, fs_block_hash(b) };
		}
	}
	int r = fs->dev.write_data(fs->dev.d_ctx, fs->jstart, h);
	return r < 0 ? r : fs->dev.writeback(fs->dev.d_ctx, fs->jstart);
}

/* Step 3: every touched metadata block home, in as many rounds as XN's
 * ordering needs. */
static int write_homes(struct fs *fs)
{
	size_t left = fs->nmeta;
	while (left > 0) {
		size_t done = 0;
		for (size_t i = 0; i < fs->tb_cap; i++) {
			struct txn_blk *t = &fs->tb[i];
			if (!t->blk || !(t->flags & TB_META))
				continue;
			int r = fs->dev.writeback(fs->dev.d_ctx, t->blk);
			if (r == -EAGAIN)
				continue;
			if (r < 0)
				return r;
			t->flags &= ~TB_META;
			done++;
		}
		int r = barrier(fs);
		if (r < 0)
			return r;
		if (done == 0)
			return -EIO; /* a dependency cycle: a bug, never a state on disk */
		left -= done;
	}
	return 0;
}

static void txn_reset(struct fs *fs)
{
	if (fs->tb_cap)
		memset(fs->tb, 0, fs->tb_cap * sizeof(*fs->tb));
	fs->ntb = fs->nmeta = fs->loglen = fs->nnew = 0;
	fs->seq++;
}

int txn_commit(struct fs *fs)
{
	int r = pend_submit_all(fs);
	bool data = false;
	for (size_t i = 0; i < fs->tb_cap && r == 0; i++)
		if (fs->tb[i].blk && (fs->tb[i].flags & TB_DATA)) {
			r = fs->dev.writeback(fs->dev.d_ctx, fs->tb[i].blk);
			data = true;
		}
	if (r == 0 && fs->nmeta > 0 && !fs->replaying) {
		/* Without file data there is nothing for the header to
		 * overtake: a torn log fails its hash, and the journal's own
		 * blocks stay claimed (replay never claims them again). */
		r = write_log(fs);
		if (r == 0 && data)
			r = fs->dev.data_barrier(fs->dev.d_ctx);
		if (r == 0)
			r = write_header(fs);
	}
	if (r == 0)
		r = barrier(fs);
	if (r == 0 && fs->nmeta > 0) {
		/* The header is cleared without a barrier of its own: the next
		 * commit's first barrier, or unmount's, puts it on disk. Until
		 * then a cut leaves a header whose blocks are all home, which a
		 * replay finds so and skips (or, once the next log overwrote
		 * this one, whose log no longer matches its hash). */
		r = write_homes(fs);
		if (r == 0)
			r = fs->dev.write_data(fs->dev.d_ctx, fs->jstart, fs->zero);
		if (r == 0)
			r = fs->dev.writeback(fs->dev.d_ctx, fs->jstart);
	}
	if (r == 0)
		txn_reset(fs);
	return r;
}

void txn_free(struct fs *fs)
{
	fs_free(fs->log), fs_free(fs->tb), fs_free(fs->pend);
	fs->log = NULL, fs->tb = NULL, fs->pend = NULL;
	fs->npend = 0;
	fs->logcap = fs->tb_cap = 0;
}

/* --- replay ----------------------------------------------------------------- */

/* Parses one record at p (within end) into u and its ranges; the next
 * record's address, or NULL if it does not fit. */
static const uint8_t *parse_rec(const uint8_t *p, const uint8_t *end, struct logrec *lr,
				struct fsdev_update *u, struct fsdev_range *rg)
{
	if ((size_t)(end - p) < sizeof(*lr))
		return NULL;
	memcpy(lr, p, sizeof(*lr));
	p += sizeof(*lr);
	if (lr->nranges > MAX_RANGES)
		return NULL;
	for (uint32_t i = 0; i < lr->nranges; i++) {
		uint16_t hdr[2];
		if (end - p < 4)
			return NULL;
		memcpy(hdr, p, 4);
		size_t n = ROUNDUP(hdr[1], 4);
		if ((size_t)(end - p - 4) < n || (uint32_t)hdr[0] + hdr[1] > FS_BLOCK)
			return NULL;
		rg[i] = (struct fsdev_range){ hdr[0], hdr[1], p + 4 };
		p += 4 + n;
	}
	uint32_t op = lr->op == LOG_MOVE_FROM ? FSDEV_FREE
		      : lr->op == LOG_MOVE_TO ? FSDEV_ALLOC
					      : lr->op;
	*u = (struct fsdev_update){ lr->blk, op, lr->type, lr->start, lr->len, lr->nranges, rg };
	return p;
}

struct replay {
	const struct jheader *h;
	uint8_t *done; /* per header entry */
};

/* Whether a record on blk is to be skipped: its block is home, or no
 * longer in use. */
static bool skip(struct fs *fs, const struct replay *rp, uint32_t blk)
{
	if (!meta_map(fs, blk))
		return true;
	for (uint32_t i = 0; i < rp->h->nblocks; i++)
		if (rp->h->e[i].blk == blk)
			return rp->done[i];
	return false;
}

static int replay_records(struct fs *fs, struct replay *rp, const uint8_t *log, size_t len)
{
	struct fsdev_range rg[MAX_RANGES], rg2[MAX_RANGES];
	const uint8_t *p = log, *end = log + len;
	while (p < end) {
		struct logrec lr, lr2;
		struct fsdev_update u, u2;
		p = parse_rec(p, end, &lr, &u, rg);
		if (!p || lr.op > LOG_MOVE_TO || lr.op == LOG_MOVE_TO)
			return -EUCLEAN;
		bool s1 = skip(fs, rp, lr.blk);
		int r = 0;
		if (lr.op == LOG_MOVE_FROM) {
			p = parse_rec(p, end, &lr2, &u2, rg2);
			if (!p || lr2.op != LOG_MOVE_TO)
				return -EUCLEAN;
			bool s2 = skip(fs, rp, lr2.blk);
			if (!s1 && !s2)
				r = fs->dev.move(fs->dev.d_ctx, &u, &u2);
			else if (!s2)
				r = fs->dev.update(fs->dev.d_ctx, &u2);
			else if (!s1)
				r = fs->dev.update(fs->dev.d_ctx, &u);
			if (r == 0 && !s2)
				r = tb_mark(fs, lr2.blk, TB_META);
		} else if (!s1) {
			r = fs->dev.update(fs->dev.d_ctx, &u);
			if (r == 0 && u.u_op == FSDEV_FREE)
				mark_freed(fs, u.u_type, (uint32_t)u.u_start, (uint32_t)u.u_len);
		}
		if (r == 0 && !s1)
			r = tb_mark(fs, lr.blk, TB_META);
		if (r < 0)
			return -EUCLEAN;
	}
	return 0;
}

int journal_replay(struct fs *fs)
{
	const struct jheader *hd = (const void *)meta_map(fs, fs->jstart);
	if (!hd)
		return -EIO;
	if (hd->magic != FS_JOURNAL_MAGIC)
		return 0;
	struct jheader *h = fs_alloc(sizeof(*h));
	size_t cap = (size_t)(fs->jlen - 1) * FS_BLOCK;
	uint8_t *log = fs_alloc(cap + 1), *done = fs_alloc(ARRAY_SIZE(h->e));
	int r = -ENOMEM;
	if (!h || !log || !done)
		goto out;
	memcpy(h, hd, sizeof(*h));
	fs->seq = h->seq + 1;
	r = 0;
	if (h->loglen > cap || h->nblocks > ARRAY_SIZE(h->e))
		goto clear; /* a torn or foreign header: nothing committed */
	for (uint32_t i = 0; i * FS_BLOCK < h->loglen; i++) {
		const uint8_t *b = meta_map(fs, fs->jstart + 1 + i);
		if (!b) {
			r = -EIO;
			goto out;
		}
		memcpy(log + (size_t)i * FS_BLOCK, b, FS_BLOCK);
	}
	if (bytes_hash(log, h->loglen) != h->loghash)
		goto clear;
	for (uint32_t i = 0; i < h->nblocks; i++) {
		const uint8_t *b = meta_map(fs, h->e[i].blk);
		done[i] = b && fs_block_hash(b) == h->e[i].hash;
	}
	struct replay rp = { h, done };
	fs->replaying = 1;
	r = replay_records(fs, &rp, log, h->loglen);
	fs->replaying = 0;
	if (r < 0)
		goto out;
clear:
	/* Write the replayed blocks home and clear the header. */
	fs->replaying = 1;
	if (fs->nmeta > 0) {
		r = txn_commit(fs);
	} else {
		r = fs->dev.write_data(fs->dev.d_ctx, fs->jstart, fs->zero);
		if (r == 0)
			r = fs->dev.writeback(fs->dev.d_ctx, fs->jstart);
		if (r == 0)
			r = barrier(fs);
	}
	fs->replaying = 0;
out:
	fs_free(h), fs_free(log), fs_free(done);
	return r;
}
