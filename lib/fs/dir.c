/*
 * Directories: a trie of dir blocks keyed by the hash of the names
 * (format.h). The root block is at depth 0; the block at depth d on a name's
 * path is followed by child[nibble d of the hash]. A name is stored in the
 * first block on its path with room, and records never move within or
 * between blocks, so lookups read at most one block per level (a 100,000-
 * name directory is about 4 levels deep) and a readdir cursor (a stack of
 * positions) survives names being added and removed.
 *
 * Records tile a block's record area (8-aligned): free records are merged
 * with free neighbours when a record is dropped. An entry embeds its inode
 * (C-FFS); a hard-linked inode keeps its record where it was born and its
 * other names are references (FS_REC_REF) to it.
 *
 * Blocks come from the disk (hostile): every record is checked before use
 * and a damaged block is reported as -EUCLEAN, never trusted.
 */
#include <lib/fs/fsint.h>

#include <common/string.h>

static const struct fs_dirblk *dir_hdr(const uint8_t *b)
{
	return (const struct fs_dirblk *)b;
}

/* The record at off, or NULL if it is not well-formed. */
static const struct fs_rec *rec_ok(const uint8_t *b, uint32_t off)
{
	if (off > FS_BLOCK - FS_REC_MIN)
		return NULL;
	const struct fs_rec *r = (const void *)(b + off);
	if (r->reclen < FS_REC_MIN || (r->reclen & 7) || r->reclen > FS_BLOCK - off)
		return NULL;
	if (r->kind == FS_REC_INODE && r->reclen < FS_INODE_REC(r->namelen))
		return NULL;
	if (r->kind == FS_REC_REF && r->reclen < FS_REF_REC(r->namelen))
		return NULL;
	if (r->kind > FS_REC_REF)
		return NULL;
	return r;
}

static const char *rec_name(const uint8_t *b, uint32_t off)
{
	const struct fs_rec *r = (const void *)(b + off);
	return (const char *)b + off + 8 + (r->kind == FS_REC_INODE ? 128 : 16);
}

static const uint8_t *dir_block(struct fs *fs, uint32_t blk, uint32_t root, uint32_t depth)
{
	const uint8_t *b = meta_map(fs, blk);
	if (!b || dir_hdr(b)->tag != FS_TAG_DIR || dir_hdr(b)->depth != depth ||
	    dir_hdr(b)->dir_root != root)
		return NULL;
	return b;
}

int dir_lookup(struct fs *fs, uint32_t root, const char *name, uint32_t len, struct dloc *out)
{
	uint32_t h = fs_name_hash(name, len), blk = root;
	for (uint32_t d = 0; d < FS_DIR_MAX_DEPTH; d++) {
		const uint8_t *b = dir_block(fs, blk, root, d);
		if (!b)
			return -EUCLEAN;
		for (uint32_t off = FS_DIR_RECS; off < FS_BLOCK;) {
			const struct fs_rec *r = rec_ok(b, off);
			if (!r)
				return -EUCLEAN;
			if (r->kind != FS_REC_FREE && r->hash == h && r->namelen == len && len &&
			    memcmp(rec_name(b, off), name, len) == 0) {
				*out = (struct dloc){ blk, off, d, r->kind };
				return 0;
			}
			off += r->reclen;
		}
		blk = dir_hdr(b)->child[(h >> (FS_DIR_BITS * d)) & (FS_DIR_FANOUT - 1)];
		if (!blk)
			return -ENOENT;
	}
	return -EUCLEAN;
}

/* A free record of at least need bytes in block b, or 0. */
static uint32_t find_free(const uint8_t *b, uint32_t need)
{
	for (uint32_t off = FS_DIR_RECS; off < FS_BLOCK;) {
		const struct fs_rec *r = rec_ok(b, off);
		if (!r)
			return 0;
		if (r->kind == FS_REC_FREE && r->reclen >= need)
			return off;
		off += r->reclen;
	}
	return 0;
}

void dir_image(uint8_t *img, uint32_t depth, uint32_t root)
{
	memset(img, 0, FS_BLOCK);
	struct fs_dirblk *h = (void *)img;
	h->tag = FS_TAG_DIR, h->depth = (uint16_t)depth, h->dir_root = root;
	struct fs_rec *r = (void *)(img + FS_DIR_RECS);
	r->reclen = FS_BLOCK - FS_DIR_RECS;
}

int dir_room(struct fs *fs, uint32_t root, uint32_t h, uint32_t need, uint32_t *blk, uint32_t *off,
	     bool for_move)
{
	uint32_t cur = root;
	for (uint32_t d = 0; d < FS_DIR_MAX_DEPTH; d++) {
		const uint8_t *b = dir_block(fs, cur, root, d);
		if (!b)
			return -EUCLEAN;
		uint32_t o = find_free(b, need);
		if (o) {
			*blk = cur, *off = o;
			return 0;
		}
		uint32_t slot = (h >> (FS_DIR_BITS * d)) & (FS_DIR_FANOUT - 1);
		uint32_t next = dir_hdr(b)->child[slot];
		if (!next) {
			if (d + 1 == FS_DIR_MAX_DEPTH)
				return -ENOSPC; /* names hashing alike, every block full */
			uint32_t n;
			next = alloc_run(fs, cur, 1, &n);
			if (!n)
				return -ENOSPC;
			uint8_t *c = meta_edit(fs, cur, 3);
			((struct fs_dirblk *)c)->child[slot] = next;
			int r = meta_put(fs, cur, c, FSDEV_ALLOC, FS_T_DIR, next, 1);
			if (r < 0)
				return r;
			dir_image(fs->tmp, d + 1, root);
			if ((r = meta_init(fs, next, FS_T_DIR, fs->tmp)) < 0)
				return r;
			/* A block that will receive a moved inode must be on disk
			 * first: it could not be written before its parent gave the
			 * inode up, nor its parent before it (XN's order), a cycle.
			 * An empty trie block is a consistent state to commit. */
			if (for_move && (r = txn_commit(fs)) < 0)
				return r;
		}
		cur = next;
	}
	return -ENOSPC;
}

void rec_take(uint8_t *b, uint32_t off, uint32_t len)
{
	struct fs_rec *r = (void *)(b + off);
	uint32_t have = r->reclen;
	memset(b + off, 0, have);
	if (have - len >= FS_REC_MIN) {
		struct fs_rec *rest = (void *)(b + off + len);
		rest->reclen = (uint16_t)(have - len);
		have = len;
	}
	r->reclen = (uint16_t)have;
}

void rec_drop(uint8_t *b, uint32_t off)
{
	struct fs_rec *r = (void *)(b + off);
	uint32_t len = r->reclen;
	uint32_t next = off + len;
	if (next < FS_BLOCK && rec_ok(b, next) &&
	    ((struct fs_rec *)(b + next))->kind == FS_REC_FREE)
		len += ((struct fs_rec *)(b + next))->reclen;
	uint32_t start = off;
	for (uint32_t o = FS_DIR_RECS; o < off;) {
		const struct fs_rec *p = rec_ok(b, o);
		if (!p)
			break;
		if (o + p->reclen == off && p->kind == FS_REC_FREE) {
			start = o;
			len += p->reclen;
		}
		o += p->reclen;
	}
	memset(b + start, 0, len);
	((struct fs_rec *)(b + start))->reclen = (uint16_t)len;
}

void rec_fill(uint8_t *b, uint32_t off, uint8_t kind, const char *name, uint32_t len)
{
	struct fs_rec *r = (void *)(b + off);
	r->kind = kind, r->namelen = (uint8_t)len, r->hash = fs_name_hash(name, len);
	memcpy((char *)rec_name(b, off), name, len);
}

bool dir_is_empty(struct fs *fs, uint32_t root)
{
	const uint8_t *b = meta_map(fs, root);
	return b && dir_hdr(b)->names == 0;
}

int dir_count(struct fs *fs, uint32_t root, int delta)
{
	uint8_t *b = meta_edit(fs, root, 3);
	if (!b)
		return -EIO;
	((struct fs_dirblk *)b)->names += (uint32_t)delta;
	return meta_put(fs, root, b, FSDEV_WRITE, 0, 0, 0);
}

/* Post-order over the trie: a block is freed (from its parent's child
 * slot) once its children are; each freed block must hold no names. */
int dir_free_trie(struct fs *fs, uint32_t root)
{
	struct {
		uint32_t blk, parent, slot, next;
	} st[FS_DIR_MAX_DEPTH + 1];
	int sp = 0;
	st[0].blk = root, st[0].next = 0;
	while (sp >= 0) {
		int r = txn_room(fs);
		if (r < 0)
			return r;
		const uint8_t *b = meta_map(fs, st[sp].blk);
		if (!b)
			return -EUCLEAN;
		if (st[sp].next < FS_DIR_FANOUT) {
			uint32_t s = st[sp].next++;
			uint32_t c = dir_hdr(b)->child[s];
			if (c && sp < FS_DIR_MAX_DEPTH) {
				sp++;
				st[sp].blk = c, st[sp].parent = st[sp - 1].blk, st[sp].slot = s;
				st[sp].next = 0;
			}
			continue;
		}
		if (sp > 0) {
			uint8_t *p = meta_edit(fs, st[sp].parent, 3);
			if (!p)
				return -EUCLEAN;
			((struct fs_dirblk *)p)->child[st[sp].slot] = 0;
			r = meta_put(fs, st[sp].parent, p, FSDEV_FREE, FS_T_DIR, st[sp].blk, 1);
			if (r < 0)
				return r;
		}
		sp--;
	}
	return 0;
}

uint32_t inode_in(struct fs *fs, uint32_t home, uint64_t ino)
{
	const uint8_t *b = meta_map(fs, home);
	if (!b)
		return 0;
	if (home == fs->super) {
		const struct fs_super *s = (const void *)b;
		return s->root.ino == ino ? offsetof(struct fs_super, root) : 0;
	}
	if (dir_hdr(b)->tag != FS_TAG_DIR)
		return 0;
	for (uint32_t off = FS_DIR_RECS; off < FS_BLOCK;) {
		const struct fs_rec *r = rec_ok(b, off);
		if (!r)
			return 0;
		if (r->kind == FS_REC_INODE && ((const struct fs_inode *)(b + off + 8))->ino == ino)
			return off + 8;
		off += r->reclen;
	}
	return 0;
}

/* --- readdir --------------------------------------------------------------- */

void dir_cursor(struct fs_dir *d, uint32_t root)
{
	memset(d, 0, sizeof(*d));
	d->root = root;
	d->stack[0].blk = root, d->stack[0].off = FS_DIR_RECS;
}

static uint8_t dtype_of(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return FS_DT_DIR;
	case S_IFLNK: return FS_DT_LNK;
	default: return FS_DT_REG;
	}
}

int dir_next(struct fs *fs, struct fs_dir *d, struct fs_dirent *out)
{
	while (d->sp < FS_DIR_MAX_DEPTH + 1) {
		typeof(d->stack[0]) *t = &d->stack[d->sp];
		const uint8_t *b = dir_block(fs, t->blk, d->root, d->sp);
		if (!b)
			return -EUCLEAN;
		if (t->off < FS_BLOCK) {
			const struct fs_rec *r = rec_ok(b, t->off);
			if (!r)
				return -EUCLEAN;
			uint32_t off = t->off;
			t->off += r->reclen;
			if (r->kind == FS_REC_FREE || r->namelen == 0)
				continue;
			memcpy(out->d_name, rec_name(b, off), r->namelen);
			out->d_name[r->namelen] = '\0';
			if (r->kind == FS_REC_INODE) {
				const struct fs_inode *in = (const void *)(b + off + 8);
				out->d_ino = in->ino, out->d_type = dtype_of(in->mode);
			} else {
				const struct fs_ref *ref = (const void *)(b + off + 8);
				uint32_t io = inode_in(fs, ref->home, ref->ino);
				const uint8_t *hb = meta_map(fs, ref->home);
				out->d_ino = ref->ino;
				out->d_type =
					io && hb ? dtype_of(inode_at(hb, io)->mode) : FS_DT_REG;
			}
			return 1;
		}
		if (t->child < FS_DIR_FANOUT) {
			uint32_t c = dir_hdr(b)->child[t->child++];
			if (c && d->sp + 1 < FS_DIR_MAX_DEPTH) {
				d->sp++;
				d->stack[d->sp].blk = c, d->stack[d->sp].off = FS_DIR_RECS;
				d->stack[d->sp].child = 0;
			}
			continue;
		}
		if (d->sp == 0)
			break;
		d->sp--;
	}
	d->sp = FS_DIR_MAX_DEPTH + 1;
	return 0;
}
