/*
 * fsck: checks a file system that is not mounted, through the fsdev hooks
 * only, so the same code runs on the host (tools/fs/fsck, the tests) and in
 * the guest. It trusts nothing on the disk. Two passes:
 *
 *  1. blocks: from the super block, every metadata block through its UDF
 *     (udf.h), as XN would: no block claimed twice, none off the disk, none
 *     that XN's free map calls free, none claimed but never initialised
 *     (when the device can tell), every metadata block well-formed; with
 *     sole_root, no block in use that nothing claims (a leak);
 *  2. names: every directory's trie from "/": headers that agree with their
 *     place (depth, directory, parent, where the directory's inode is),
 *     each name's hash correct and on its hash path, each name found by a
 *     lookup at its own record (no duplicates), each directory's count of
 *     names, extents inside the file's size, references that lead to an
 *     inode, and every inode's link count equal to its names (or 0 and
 *     listed as an orphan).
 *
 * Memory: a bitmap of the disk, a table of inodes seen, a stack of
 * directories; no recursion.
 */
#include <lib/fs/fsint.h>
#include <lib/fs/udf.h>

#include <common/fmt.h>
#include <common/string.h>

struct ientry {
	uint64_t ino; /* 0: empty */
	uint32_t nlink, names;
	bool seen; /* its record was met */
};

struct ck {
	struct fs *fs;
	struct fsck_report *rep;
	uint8_t *claimed;
	struct ientry *it;
	size_t nit, itcap;
	uint32_t *dstack;
	size_t dsp, dcap;
	const struct fs_super *super;
};

__attribute__((format(printf, 2, 3))) static void problem(struct ck *k, const char *fmt, ...)
{
	if (!k->rep->problems++) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(k->rep->msg, sizeof(k->rep->msg), fmt, ap);
		va_end(ap);
	}
}

static bool bit(const uint8_t *m, uint64_t b)
{
	return m[b / 8] >> (b % 8) & 1;
}

static bool is_meta(uint32_t t)
{
	return t == FS_T_SUPER || t == FS_T_DIR || t == FS_T_EXTMAP;
}

/* Pass 1. */
static int blocks(struct ck *k, uint32_t super)
{
	static struct fs_claim c[FS_MAX_CLAIMS];
	const struct fsdev *d = &k->fs->dev;
	uint64_t nb = d->d_nblocks;
	uint32_t *stack = fs_alloc((size_t)nb * 4);
	uint8_t *types = fs_alloc((size_t)nb);
	if (!stack || !types) {
		fs_free(stack), fs_free(types);
		return -ENOMEM;
	}
	size_t sp = 0;
	stack[sp++] = super;
	types[super] = FS_T_SUPER;
	k->claimed[super / 8] |= (uint8_t)(1u << (super % 8));
	while (sp) {
		uint32_t p = stack[--sp];
		const uint8_t *b = d->map(d->d_ctx, p);
		int64_t n = b ? fs_udf(types[p], b, c) : -1;
		if (n < 0) {
			problem(k, "block %u: malformed metadata (type %u)", p, types[p]);
			continue;
		}
		for (int64_t i = 0; i < n; i++) {
			uint64_t end = (uint64_t)c[i].start + c[i].len;
			if (c[i].start < d->d_reserved || end > nb) {
				problem(k, "block %u claims blocks %lu+%u off the disk", p,
					(unsigned long)c[i].start, c[i].len);
				continue;
			}
			for (uint64_t x = c[i].start; x < end; x++) {
				if (bit(k->claimed, x)) {
					problem(k, "block %lu claimed twice (again by %u)",
						(unsigned long)x, p);
					continue;
				}
				k->claimed[x / 8] |= (uint8_t)(1u << (x % 8));
				k->rep->blocks_claimed++;
				if (d->is_free(d->d_ctx, x, 1))
					problem(k, "block %lu claimed by %u but free in XN's map",
						(unsigned long)x, p);
				if (d->initialised && !d->initialised(d->d_ctx, x))
					problem(k, "block %lu claimed by %u but never written",
						(unsigned long)x, p);
				types[x] = (uint8_t)c[i].type;
				if (is_meta(c[i].type))
					stack[sp++] = (uint32_t)x;
			}
		}
	}
	fs_free(stack), fs_free(types);
	return 0;
}

static struct ientry *ient(struct ck *k, uint64_t ino)
{
	if (2 * (k->nit + 1) > k->itcap) {
		size_t cap = k->itcap ? 2 * k->itcap : 1024;
		struct ientry *old = k->it, *t = fs_alloc(cap * sizeof(*t));
		if (!t)
			return NULL;
		size_t oldcap = k->itcap;
		k->it = t, k->itcap = cap, k->nit = 0;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].ino)
				*ient(k, old[i].ino) = old[i];
		fs_free(old);
	}
	size_t mask = k->itcap - 1;
	for (size_t i = (size_t)(ino * 0x9e3779b97f4a7c15ull) & mask;; i = (i + 1) & mask) {
		if (k->it[i].ino == ino)
			return &k->it[i];
		if (!k->it[i].ino) {
			k->it[i].ino = ino;
			k->nit++;
			return &k->it[i];
		}
	}
}

static int push_dir(struct ck *k, uint32_t root)
{
	if (k->dsp == k->dcap) {
		size_t cap = k->dcap ? 2 * k->dcap : 64;
		uint32_t *t = fs_alloc(cap * 4);
		if (!t)
			return -ENOMEM;
		if (k->dsp)
			memcpy(t, k->dstack, k->dsp * 4);
		fs_free(k->dstack);
		k->dstack = t, k->dcap = cap;
	}
	k->dstack[k->dsp++] = root;
	return 0;
}

/* An inode met in a record (or the super): its own checks. */
static int check_inode(struct ck *k, uint32_t home, const struct fs_inode *in, uint32_t dir,
		       bool named)
{
	struct ientry *e = ient(k, in->ino);
	if (!e)
		return -ENOMEM;
	if (e->seen)
		problem(k, "inode %lu stored twice", (unsigned long)in->ino);
	e->seen = true, e->nlink = in->nlink, e->names += named;
	uint32_t type = in->mode & S_IFMT;
	uint64_t nblk = (in->size + FS_BLOCK - 1) / FS_BLOCK;
	if (type == S_IFDIR) {
		k->rep->dirs++;
		const struct fs_dirblk *h = (const void *)meta_map(k->fs, in->ext[0].start);
		if (in->next != 1 || in->extmap || !h || h->tag != FS_TAG_DIR || h->depth ||
		    h->dir_root != in->ext[0].start || h->self_home != home ||
		    h->self_ino != in->ino || h->parent_root != dir) {
			problem(k, "directory inode %lu: root block does not match",
				(unsigned long)in->ino);
			return 0;
		}
		return in->nlink ? push_dir(k, in->ext[0].start) : 0;
	}
	if (type == S_IFREG)
		k->rep->files++;
	else if (type == S_IFLNK && in->size < FS_BLOCK)
		k->rep->symlinks++;
	else
		problem(k, "inode %lu: bad mode %o", (unsigned long)in->ino, in->mode);
	for (uint32_t i = 0; i < MIN(in->next, FS_INLINE_EXTENTS); i++)
		if (in->ext[i].len && in->ext[i].lblk + in->ext[i].len > nblk)
			problem(k, "inode %lu: extent past its size", (unsigned long)in->ino);
	for (uint32_t m = in->extmap, hops = 0; m && hops < 1000000; hops++) {
		const struct fs_extmap *x = (const void *)meta_map(k->fs, m);
		if (!x || x->tag != FS_TAG_EXTMAP || x->count > FS_EXTMAP_N)
			break; /* pass 1 reported it */
		for (uint32_t i = 0; i < x->count; i++)
			if (x->ext[i].len && x->ext[i].lblk + x->ext[i].len > nblk)
				problem(k, "inode %lu: extent past its size", (unsigned long)in->ino);
		m = x->next;
	}
	return 0;
}

static bool bad_name(const char *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == '\0')
			return true;
	return false;
}

/* Pass 2, one directory: a walk of its trie. */
static int check_dir(struct ck *k, uint32_t root)
{
	struct {
		uint32_t blk, child;
	} st[FS_DIR_MAX_DEPTH];
	uint32_t path[FS_DIR_MAX_DEPTH], names = 0;
	int sp = 0;
	st[0].blk = root, st[0].child = 0;
	const struct fs_dirblk *rh = (const void *)meta_map(k->fs, root);
	int r = 0;
	/* Records of each block are checked when the block is first met. */
	bool fresh = true;
	while (sp >= 0 && r == 0) {
		const uint8_t *b = meta_map(k->fs, st[sp].blk);
		const struct fs_dirblk *h = (const void *)b;
		if (!b || h->tag != FS_TAG_DIR || h->depth != sp || h->dir_root != root) {
			problem(k, "dir block %u: header does not match its place", st[sp].blk);
			sp--, fresh = false;
			continue;
		}
		if (fresh) {
			for (uint32_t off = FS_DIR_RECS; off < FS_BLOCK;) {
				const struct fs_rec *rec = (const void *)(b + off);
				if (rec->reclen < 8 || (rec->reclen & 7) || rec->reclen > FS_BLOCK - off) {
					problem(k, "dir block %u: bad record at %u", st[sp].blk, off);
					break;
				}
				if (rec->kind != FS_REC_FREE) {
					const char *name = (const char *)b + off + 8 +
							   (rec->kind == FS_REC_INODE ? 128 : 16);
					if (rec->namelen) {
						struct dloc loc;
						names++;
						uint32_t hh = fs_name_hash(name, rec->namelen);
						bool on_path = hh == rec->hash;
						for (int i = 0; i < sp; i++)
							on_path &= ((hh >> (FS_DIR_BITS * i)) & 15) == path[i];
						if (!on_path || dir_lookup(k->fs, root, name, rec->namelen, &loc) ||
						    loc.blk != st[sp].blk || loc.off != off)
							problem(k, "dir block %u: name at %u misplaced or duplicated",
								st[sp].blk, off);
						if (bad_name(name, rec->namelen))
							problem(k, "dir block %u: name at %u has '/' or NUL",
								st[sp].blk, off);
					}
					if (rec->kind == FS_REC_INODE) {
						r = check_inode(k, st[sp].blk, (const void *)(b + off + 8), root,
								rec->namelen > 0);
					} else if (rec->kind == FS_REC_REF) {
						const struct fs_ref *ref = (const void *)(b + off + 8);
						struct ientry *e = ient(k, ref->ino);
						if (!e)
							return -ENOMEM;
						e->names++;
						if (!inode_in(k->fs, ref->home, ref->ino))
							problem(k, "dir block %u: reference at %u leads nowhere",
								st[sp].blk, off);
					} else {
						problem(k, "dir block %u: bad record kind at %u", st[sp].blk, off);
					}
				}
				off += rec->reclen;
			}
		}
		fresh = false;
		if (st[sp].child < FS_DIR_FANOUT) {
			uint32_t s = st[sp].child++;
			if (h->child[s] && sp + 1 < FS_DIR_MAX_DEPTH) {
				path[sp] = s;
				sp++;
				st[sp].blk = h->child[s], st[sp].child = 0;
				fresh = true;
			}
			continue;
		}
		sp--;
	}
	if (r == 0 && rh && rh->names != names)
		problem(k, "directory %u: header counts %u names, has %u", root, rh->names, names);
	return r;
}

int fs_fsck(const struct fsdev *dev, bool sole_root, struct fsck_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	uint64_t sb;
	uint32_t type;
	int r = dev->root(dev->d_ctx, "cffs", &sb, &type);
	if (r < 0)
		return r;
	const struct fs_super *s = dev->map(dev->d_ctx, sb);
	if (type != FS_T_SUPER || !s || s->tag != FS_TAG_SUPER || s->version != FS_VERSION) {
		snprintf(rep->msg, sizeof(rep->msg), "no super block");
		return (int)(rep->problems = 1);
	}
	struct ck k = { .rep = rep, .super = s };
	k.fs = fs_alloc(sizeof(*k.fs));
	k.claimed = fs_alloc((size_t)(dev->d_nblocks / 8 + 1));
	r = -ENOMEM;
	if (!k.fs || !k.claimed)
		goto out;
	k.fs->dev = *dev, k.fs->super = sb, k.fs->root_dir = s->root_dir;
	if ((r = blocks(&k, (uint32_t)sb)) < 0)
		goto out;
	if (sole_root)
		for (uint64_t b = dev->d_reserved; b < dev->d_nblocks; b++)
			if (!bit(k.claimed, b) && !dev->is_free(dev->d_ctx, b, 1))
				problem(&k, "block %lu in use but claimed by nothing (leak)",
					(unsigned long)b);
	const uint64_t *jh = dev->map(dev->d_ctx, s->journal_start);
	rep->journal_dirty = jh && *jh == FS_JOURNAL_MAGIC;
	if ((r = check_inode(&k, (uint32_t)sb, &s->root, s->root_dir, true)) < 0)
		goto out;
	while (k.dsp && r == 0)
		r = check_dir(&k, k.dstack[--k.dsp]);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < k.itcap; i++) {
		struct ientry *e = &k.it[i];
		if (!e->ino)
			continue;
		bool orphan = false;
		for (int j = 0; j < FS_ORPHANS; j++)
			orphan |= s->orphans[j].home && s->orphans[j].ino == e->ino;
		if (!e->seen)
			problem(&k, "inode %lu referred to but not found", (unsigned long)e->ino);
		else if (e->names != e->nlink && !(e->nlink == 0 && orphan))
			problem(&k, "inode %lu: %u links, %u names", (unsigned long)e->ino, e->nlink,
				e->names);
	}
	r = 0;
out:
	fs_free(k.it), fs_free(k.dstack), fs_free(k.claimed), fs_free(k.fs);
	return r < 0 ? r : (int)(rep->problems > 0x7fffffff ? 0x7fffffff : rep->problems);
}
