/*
 * The file system's name operations: mkdir, rmdir, unlink, link, symlink,
 * readlink, rename, the attribute changes (chmod, chown, utimens), statfs
 * and readdir. See fs.h for the interface, doc/fs.md for the design.
 *
 * Each checks every name and type first (the errors POSIX gives), then acts
 * inside one transaction, so a power cut leaves it whole or undone; freeing
 * a removed inode's blocks comes after, in steps (path.c, reclaim).
 *
 * rename: when the new name's place (the first block with room on its hash
 * path) is another block, an inode with one name moves there whole: its
 * record is copied with no extents, then each extent is moved with one XN
 * move, then the old record is dropped. A hard-linked inode stays where it
 * is and the new name is a reference to it.
 */
#include <lib/fs/fsint.h>

#include <common/string.h>

static bool is_dir_mode(uint32_t mode)
{
	return (mode & S_IFMT) == S_IFDIR;
}

static uint32_t dir_root_of(struct fs *fs, const struct walk *w)
{
	return inode_at(meta_map(fs, w->home), w->ioff)->ext[0].start;
}

/* Frees an orphan's blocks now unless it is open, here or in another
 * instance on the tree (then its last close there frees them). */
static int settle(struct fs *fs, const struct walk *w, bool orphan)
{
	if (!orphan || node_find(fs, w->ino) ||
	    (fs->dev.held && fs->dev.held(fs->dev.d_ctx, w->ino)))
		return 0;
	return reclaim(fs, w->home, w->ino);
}

int fs_mkdir(struct fs *fs, const char *path, uint32_t mode)
{
	struct walk w;
	int r = resolve(fs, path, false, &w);
	if (r < 0)
		return r;
	if (w.found)
		return -EEXIST;
	uint32_t home, ioff;
	uint64_t ino;
	if ((r = txn_room(fs)) < 0)
		return r;
	return create_inode(fs, &w, S_IFDIR | (mode & FS_PERM_MASK), &home, &ioff, &ino);
}

int fs_rmdir(struct fs *fs, const char *path)
{
	struct walk w;
	int r = resolve(fs, path, false, &w);
	if (r < 0)
		return r;
	if (!w.found)
		return -ENOENT;
	if (w.self)
		return w.ino == 1 ? -EBUSY : -EINVAL; /* "/" or a path ending in "." */
	if (!is_dir_mode(w.mode))
		return -ENOTDIR;
	if (!dir_is_empty(fs, dir_root_of(fs, &w)))
		return -ENOTEMPTY;
	if (!orphan_room(fs))
		return -EBUSY;
	bool orphan;
	if ((r = txn_room(fs)) < 0 || (r = unname(fs, &w, &orphan)) < 0)
		return r;
	return settle(fs, &w, orphan);
}

int fs_unlink(struct fs *fs, const char *path)
{
	struct walk w;
	int r = resolve(fs, path, false, &w);
	if (r < 0)
		return r;
	if (!w.found)
		return -ENOENT;
	if (is_dir_mode(w.mode))
		return -EISDIR;
	if (!orphan_room(fs))
		return -EBUSY;
	bool orphan;
	if ((r = txn_room(fs)) < 0 || (r = unname(fs, &w, &orphan)) < 0)
		return r;
	return settle(fs, &w, orphan);
}

/* A reference record for the inode of `to` in directory w->dir. */
static int add_ref(struct fs *fs, const struct walk *w, uint32_t home, uint64_t ino)
{
	uint32_t blk, off, h = fs_name_hash(w->name, w->len);
	int r = dir_room(fs, w->dir, h, FS_REF_REC(w->len), &blk, &off, false);
	if (r < 0)
		return r;
	uint8_t *c = meta_edit(fs, blk, 0);
	rec_take(c, off, FS_REF_REC(w->len));
	rec_fill(c, off, FS_REC_REF, w->name, w->len);
	*(struct fs_ref *)(c + off + 8) = (struct fs_ref){ home, 0, ino };
	if ((r = meta_put(fs, blk, c, FSDEV_WRITE, 0, 0, 0)) < 0)
		return r;
	return dir_count(fs, w->dir, 1);
}

#define FS_LINK_MAX 65000

int fs_link(struct fs *fs, const char *from, const char *to)
{
	struct walk a, b;
	int r = resolve(fs, from, false, &a);
	if (r < 0)
		return r;
	if (!a.found)
		return -ENOENT;
	if (is_dir_mode(a.mode))
		return -EPERM;
	if ((r = resolve(fs, to, false, &b)) < 0)
		return r;
	if (b.found)
		return -EEXIST;
	if (b.slash)
		return -ENOENT;
	if (inode_at(meta_map(fs, a.home), a.ioff)->nlink >= FS_LINK_MAX)
		return -EMLINK;
	if ((r = txn_room(fs)) < 0 || (r = add_ref(fs, &b, a.home, a.ino)) < 0)
		return r;
	uint8_t *c = meta_edit(fs, a.home, 0);
	struct fs_inode *in = inode_at(c, a.ioff);
	in->nlink++;
	in->ctime = fs_now(fs);
	return meta_put(fs, a.home, c, FSDEV_WRITE, 0, 0, 0);
}

int fs_symlink(struct fs *fs, const char *target, const char *path)
{
	size_t tlen = strnlen(target, FS_BLOCK);
	if (tlen >= FS_BLOCK)
		return -ENAMETOOLONG;
	if (tlen == 0)
		return -ENOENT;
	struct walk w;
	int r = resolve(fs, path, false, &w);
	if (r < 0)
		return r;
	if (w.found)
		return -EEXIST;
	uint32_t home, ioff;
	uint64_t ino;
	if ((r = txn_room(fs)) < 0 ||
	    (r = create_inode(fs, &w, S_IFLNK | 0777, &home, &ioff, &ino)) < 0)
		return r;
	struct fs_node n = { .ino = ino, .home = home, .ioff = ioff };
	long k = file_write(fs, &n, target, tlen, 0);
	return k < 0 ? (int)k : 0;
}

long fs_readlink(struct fs *fs, const char *path, char *buf, size_t n)
{
	struct walk w;
	int r = resolve(fs, path, false, &w);
	if (r < 0)
		return r;
	if (!w.found)
		return -ENOENT;
	if ((w.mode & S_IFMT) != S_IFLNK)
		return -EINVAL;
	struct fs_node nd = { .ino = w.ino, .home = w.home, .ioff = w.ioff };
	return file_read(fs, &nd, buf, n, 0);
}

/* Moves the one-name inode of `a` to a record named b's name at (blk, off). */
static int move_inode(struct fs *fs, const struct walk *a, const struct walk *b, uint32_t blk,
		      uint32_t off)
{
	struct fs_inode in = *inode_at(meta_map(fs, a->home), a->ioff);
	uint32_t type = is_dir_mode(in.mode) ? FS_T_DIR : FS_T_DATA;
	uint8_t *c = meta_edit(fs, blk, 0);
	rec_take(c, off, FS_INODE_REC(b->len));
	rec_fill(c, off, FS_REC_INODE, b->name, b->len);
	struct fs_inode *ni = inode_at(c, off + 8);
	*ni = in;
	ni->ctime = fs_now(fs);
	int r;
	if (blk == a->home) { /* one block: the claims do not change */
		rec_drop(c, a->loc.off);
		return meta_put(fs, blk, c, FSDEV_WRITE, 0, 0, 0);
	}
	memset(ni->ext, 0, sizeof(ni->ext));
	ni->extmap = 0;
	if ((r = meta_put(fs, blk, c, FSDEV_WRITE, 0, 0, 0)) < 0)
		return r;
	for (uint32_t i = 0; i <= FS_INLINE_EXTENTS; i++) {
		bool map = i == FS_INLINE_EXTENTS;
		uint32_t start = map ? in.extmap : in.ext[i].start;
		uint32_t len = map ? (in.extmap ? 1 : 0) : in.ext[i].len;
		if (!len)
			continue;
		uint8_t *fc = meta_edit(fs, a->home, 1), *tc = meta_edit(fs, blk, 2);
		struct fs_inode *fi = inode_at(fc, a->ioff), *ti = inode_at(tc, off + 8);
		if (map)
			fi->extmap = 0, ti->extmap = in.extmap;
		else
			fi->ext[i] = (struct fs_extent){ 0, 0, 0 }, ti->ext[i] = in.ext[i];
		r = meta_move(fs, a->home, fc, blk, tc, map ? FS_T_EXTMAP : type, start, len);
		if (r < 0)
			return r;
	}
	c = meta_edit(fs, a->home, 0);
	rec_drop(c, a->loc.off);
	return meta_put(fs, a->home, c, FSDEV_WRITE, 0, 0, 0);
}

/* Whether directory `root` is `anc` or below it. */
static bool below(struct fs *fs, uint32_t root, uint32_t anc)
{
	for (uint32_t hops = 0; hops < 4096; hops++) {
		if (root == anc)
			return true;
		const struct fs_dirblk *h = (const void *)meta_map(fs, root);
		if (!h || h->parent_root == root)
			return false;
		root = h->parent_root;
	}
	return true;
}

int fs_rename(struct fs *fs, const char *from, const char *to)
{
	struct walk a, b;
	int r = resolve(fs, from, false, &a);
	if (r < 0)
		return r;
	if (!a.found)
		return -ENOENT;
	if (a.self)
		return -EBUSY;
	if ((r = resolve(fs, to, false, &b)) < 0)
		return r;
	if (b.self)
		return -EBUSY;
	if (b.slash && !is_dir_mode(a.mode))
		return -ENOTDIR;
	if (b.found) {
		if (b.ino == a.ino)
			return 0;
		if (is_dir_mode(a.mode) && !is_dir_mode(b.mode))
			return -ENOTDIR;
		if (!is_dir_mode(a.mode) && is_dir_mode(b.mode))
			return -EISDIR;
		if (is_dir_mode(b.mode) && !dir_is_empty(fs, dir_root_of(fs, &b)))
			return -ENOTEMPTY;
		if (!orphan_room(fs))
			return -EBUSY;
	}
	if (is_dir_mode(a.mode) && below(fs, b.dir, dir_root_of(fs, &a)))
		return -EINVAL;
	/* XN writes a block that received a moved inode only after the giver's
	 * release is on disk; two blocks waiting on each other would be a cycle.
	 * So an inode moves only into a block already on disk (see dir_room),
	 * never out of one that received in this transaction: start a fresh
	 * transaction when either could happen. */
	if ((r = fs->nnew || txn_received(fs, a.home) ? txn_commit(fs) : txn_room(fs)) < 0)
		return r;
	/* Room for the new name first (a trie block may be needed): the only
	 * step that can fail for want of space. */
	uint32_t blk, off, h = fs_name_hash(b.name, b.len);
	if ((r = dir_room(fs, b.dir, h, FS_INODE_REC(b.len), &blk, &off, true)) < 0)
		return r;
	bool orphan = false;
	if (b.found && (r = unname(fs, &b, &orphan)) < 0)
		return r;
	/* Where things are may have changed: find the source again. */
	struct walk a2 = a;
	if ((r = dir_lookup(fs, a.dir, a.name, a.len, &a2.loc)) < 0)
		return r;
	const struct fs_inode *in = inode_at(meta_map(fs, a.home), a.ioff);
	if (a.loc.kind == FS_REC_REF || in->nlink > 1) {
		bool gone;
		if ((r = add_ref(fs, &b, a.home, a.ino)) < 0)
			return r;
		uint8_t *c = meta_edit(fs, a.home, 0);
		inode_at(c, a.ioff)->nlink++; /* unname takes it back */
		if ((r = meta_put(fs, a.home, c, FSDEV_WRITE, 0, 0, 0)) < 0 ||
		    (r = unname(fs, &a2, &gone)) < 0)
			return r;
	} else {
		if ((r = dir_room(fs, b.dir, h, FS_INODE_REC(b.len), &blk, &off, true)) < 0 ||
		    (r = move_inode(fs, &a2, &b, blk, off)) < 0)
			return r;
		struct fs_node *n = node_find(fs, a.ino);
		if (n)
			n->home = blk, n->ioff = off + 8;
		if (fs->on_move)
			fs->on_move(fs->on_move_ctx, a.ino, blk, off + 8);
		if (is_dir_mode(a.mode)) {
			uint32_t root = inode_at(meta_map(fs, blk), off + 8)->ext[0].start;
			uint8_t *c = meta_edit(fs, root, 0);
			struct fs_dirblk *dh = (void *)c;
			dh->self_home = blk, dh->parent_root = b.dir;
			if ((r = meta_put(fs, root, c, FSDEV_WRITE, 0, 0, 0)) < 0)
				return r;
		}
		if (a.dir != b.dir &&
		    ((r = dir_count(fs, b.dir, 1)) < 0 || (r = dir_count(fs, a.dir, -1)) < 0))
			return r;
	}
	return settle(fs, &b, orphan);
}

static int change(struct fs *fs, const char *path, uint32_t what, uint32_t v1, uint32_t v2,
		  uint64_t t1, uint64_t t2)
{
	struct walk w;
	int r = resolve(fs, path, true, &w);
	if (r < 0)
		return r;
	if (!w.found)
		return -ENOENT;
	if ((r = txn_room(fs)) < 0)
		return r;
	uint8_t *c = meta_edit(fs, w.home, 0);
	struct fs_inode *in = inode_at(c, w.ioff);
	if (what == 0)
		in->mode = (in->mode & S_IFMT) | (v1 & FS_PERM_MASK);
	else if (what == 1)
		in->uid = v1, in->gid = v2;
	else
		in->atime = t1, in->mtime = t2;
	in->ctime = fs_now(fs);
	return meta_put(fs, w.home, c, FSDEV_WRITE, 0, 0, 0);
}

int fs_chmod(struct fs *fs, const char *path, uint32_t mode)
{
	return change(fs, path, 0, mode, 0, 0, 0);
}

int fs_chown(struct fs *fs, const char *path, uint32_t uid, uint32_t gid)
{
	return change(fs, path, 1, uid, gid, 0, 0);
}

int fs_utimens(struct fs *fs, const char *path, uint64_t atime_ns, uint64_t mtime_ns)
{
	return change(fs, path, 2, 0, 0, atime_ns, mtime_ns);
}

int fs_statfs(struct fs *fs, struct fs_statfs *st)
{
	uint64_t nfree = 0;
	for (uint64_t b = 1; b < fs->dev.d_nblocks; b++)
		nfree += fs->dev.is_free(fs->dev.d_ctx, b, 1);
	*st = (struct fs_statfs){ FS_BLOCK, fs->dev.d_nblocks, nfree, FS_NAME_MAX };
	return 0;
}

int fs_opendir(struct fs *fs, const char *path, struct fs_dir *d)
{
	struct walk w;
	int r = resolve(fs, path, true, &w);
	if (r < 0)
		return r;
	if (!w.found)
		return -ENOENT;
	if (!is_dir_mode(w.mode))
		return -ENOTDIR;
	dir_cursor(d, dir_root_of(fs, &w));
	return 0;
}

int fs_readdir(struct fs *fs, struct fs_dir *d, struct fs_dirent *out)
{
	if (d->dots < 2) {
		const struct fs_dirblk *h = (const void *)meta_map(fs, d->root);
		if (!h)
			return -EUCLEAN;
		const struct fs_dirblk *ph =
			(const void *)meta_map(fs, d->dots ? h->parent_root : d->root);
		out->d_ino = ph ? ph->self_ino : 0;
		out->d_type = FS_DT_DIR;
		strlcpy(out->d_name, d->dots ? ".." : ".", sizeof(out->d_name));
		d->dots++;
		return 1;
	}
	return dir_next(fs, d, out);
}
