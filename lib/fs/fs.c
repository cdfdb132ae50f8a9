/*
 * The file system's entry points for files: formatting, mounting, open and
 * close, reading and writing at offsets, truncation, fsync and stat (the
 * name operations are in names.c). See fs.h for the interface and doc/fs.md
 * for the design.
 *
 * Each call checks its arguments and the names it is given before it
 * changes anything (check, then act), and runs inside the running
 * transaction, which it first makes room in (txn_room), so that it reaches
 * the disk whole or not at all. A write or truncate too long for one
 * transaction is split at block boundaries: a power cut may then keep a
 * prefix of it, as POSIX allows for a call that has not returned.
 */
#include <lib/fs/fsint.h>

#include <common/string.h>

int fs_format(struct fsdev *dev, uint32_t journal_blocks)
{
	uint64_t blk;
	uint32_t type;
	if (journal_blocks < 8 || journal_blocks > 4096 || !dev->root_create)
		return -EINVAL;
	if (dev->root(dev->d_ctx, "cffs", &blk, &type) == 0)
		return -EEXIST;
	/* The super block, then the root directory and the journal right after. */
	uint64_t sb = 0;
	for (uint64_t b = 1; b < dev->d_nblocks && !sb; b++)
		if (dev->is_free(dev->d_ctx, b, 2 + journal_blocks))
			sb = b;
	if (!sb)
		return -ENOSPC;
	static uint8_t img[FS_BLOCK] __attribute__((aligned(8)));
	memset(img, 0, FS_BLOCK);
	struct fs_super *s = (void *)img;
	s->tag = FS_TAG_SUPER, s->version = FS_VERSION, s->next_ino = 2;
	s->root =
		(struct fs_inode){ .ino = 1, .mode = S_IFDIR | 0755, .nlink = 1, .size = FS_BLOCK };
	int r = dev->root_create(dev->d_ctx, "cffs", sb, FS_T_SUPER, img);
	if (r < 0)
		return r;
	struct fs *fs = fs_alloc(sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->dev = *dev, fs->super = sb, fs->jlen = journal_blocks, fs->jstart = (uint32_t)sb + 2;
	uint32_t root = (uint32_t)sb + 1;
	/* Claim the root directory's block and the journal, one extent each. */
	uint8_t *c = meta_edit(fs, (uint32_t)sb, 0);
	struct fs_super *cs = (void *)c;
	cs->root.next = 1, cs->root.ext[0] = (struct fs_extent){ 0, root, 1 }, cs->root_dir = root;
	if ((r = meta_put(fs, (uint32_t)sb, c, FSDEV_ALLOC, FS_T_DIR, root, 1)) < 0)
		goto out;
	dir_image(fs->tmp, 0, root);
	struct fs_dirblk *dh = (void *)fs->tmp;
	dh->parent_root = root, dh->self_home = (uint32_t)sb, dh->self_ino = 1;
	if ((r = meta_init(fs, root, FS_T_DIR, fs->tmp)) < 0)
		goto out;
	c = meta_edit(fs, (uint32_t)sb, 0);
	cs = (void *)c;
	cs->journal_start = fs->jstart, cs->journal_len = journal_blocks;
	if ((r = meta_put(fs, (uint32_t)sb, c, FSDEV_ALLOC, FS_T_DATA, fs->jstart,
			  journal_blocks)) < 0)
		goto out;
	for (uint32_t i = 0; i < journal_blocks && r == 0; i++)
		r = data_write(fs, fs->jstart + i, fs->zero);
	fs->replaying = 1; /* nothing to journal: the disk was empty */
	if (r == 0)
		r = txn_commit(fs);
out:
	txn_free(fs);
	fs_free(fs);
	return r;
}

static int mount(struct fs **out, const struct fsdev *dev, bool joining)
{
	uint64_t sb;
	uint32_t type;
	int r = dev->root(dev->d_ctx, "cffs", &sb, &type);
	if (r < 0)
		return r;
	if (type != FS_T_SUPER || sb >= dev->d_nblocks)
		return -EUCLEAN;
	const struct fs_super *s = dev->map(dev->d_ctx, sb);
	if (!s || s->tag != FS_TAG_SUPER || s->version != FS_VERSION || s->journal_len < 8 ||
	    s->root_dir != s->root.ext[0].start)
		return -EUCLEAN;
	struct fs *fs = fs_alloc(sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->dev = *dev, fs->super = sb;
	fs->jstart = s->journal_start, fs->jlen = s->journal_len, fs->root_dir = s->root_dir;
	if (joining) {
		*out = fs;
		return 0;
	}
	if ((r = journal_replay(fs)) < 0 || (r = orphans_reclaim(fs)) < 0 ||
	    (r = txn_commit(fs)) < 0) {
		txn_free(fs);
		fs_free(fs);
		return r;
	}
	*out = fs;
	return 0;
}

int fs_mount(struct fs **out, const struct fsdev *dev)
{
	return mount(out, dev, false);
}

/* A tree other instances have mounted (lib/posix's process family): its
 * journal is clean whenever none of them holds the family's lock, and its
 * orphans may be open in them, so neither replay nor reclaim runs here. */
int fs_join(struct fs **out, const struct fsdev *dev)
{
	return mount(out, dev, true);
}

int fs_sync(struct fs *fs)
{
	return txn_commit(fs);
}

bool fs_txn_pending(const struct fs *fs)
{
	return fs->ntb > 0 || fs->loglen > 0;
}

int fs_unmount(struct fs *fs)
{
	while (fs->nnodes) {
		fs->nodes[0]->refs = 1;
		node_put(fs, fs->nodes[0]);
	}
	int r = txn_commit(fs);
	if (r == 0) /* the last commit's cleared header (txn_commit) */
		r = fs->dev.barrier(fs->dev.d_ctx);
	fs_free(fs->nodes);
	txn_free(fs);
	fs_free(fs);
	return r;
}

/* --- files ------------------------------------------------------------------ */

int fs_open(struct fs *fs, const char *path, int flags, uint32_t mode, struct fs_file **out)
{
	struct walk w;
	int acc = flags & FS_O_ACCMODE;
	if (acc == 3)
		return -EINVAL;
	int r = resolve(fs, path, !(flags & FS_O_NOFOLLOW), &w);
	if (r < 0)
		return r;
	if (w.found && (flags & FS_O_CREAT) && (flags & FS_O_EXCL))
		return -EEXIST;
	if (!w.found && !(flags & FS_O_CREAT))
		return -ENOENT;
	if (!w.found && w.slash)
		return -EISDIR;
	if (w.found) {
		uint32_t type = w.mode & S_IFMT;
		if (type == S_IFLNK)
			return -ELOOP; /* O_NOFOLLOW on a link */
		if (type == S_IFDIR && (acc != FS_O_RDONLY || (flags & FS_O_TRUNC)))
			return -EISDIR;
		if (type != S_IFDIR && (flags & FS_O_DIRECTORY))
			return -ENOTDIR;
	}
	struct fs_file *f = fs_alloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	if ((r = txn_room(fs)) < 0)
		goto fail;
	if (!w.found && (r = create_inode(fs, &w, S_IFREG | (mode & FS_PERM_MASK), &w.home, &w.ioff,
					  &w.ino)) < 0)
		goto fail;
	f->node = node_get(fs, w.ino, w.home, w.ioff);
	f->flags = flags;
	r = -ENOMEM;
	if (!f->node)
		goto fail;
	if (w.found && (flags & FS_O_TRUNC) && acc != FS_O_RDONLY &&
	    (r = file_truncate(fs, f->node, 0)) < 0) {
		node_put(fs, f->node);
		goto fail;
	}
	*out = f;
	return 0;
fail:
	fs_free(f);
	return r;
}

void fs_on_move(struct fs *fs, void (*fn)(void *ctx, uint64_t ino, uint32_t home, uint32_t ioff),
		void *ctx)
{
	fs->on_move = fn, fs->on_move_ctx = ctx;
}

void fs_relocate(struct fs *fs, uint64_t ino, uint32_t home, uint32_t ioff)
{
	struct fs_node *n = node_find(fs, ino);
	if (n && home >= fs->dev.d_reserved && home < fs->dev.d_nblocks &&
	    inode_in(fs, home, ino) == ioff && ioff)
		n->home = home, n->ioff = ioff, n->stale = false;
}

unsigned fs_revalidate(struct fs *fs)
{
	unsigned stale = 0;
	for (size_t i = 0; i < fs->nnodes; i++) {
		struct fs_node *n = fs->nodes[i];
		if (!n->stale && inode_in(fs, n->home, n->ino) != n->ioff)
			n->stale = true;
		stale += n->stale;
	}
	return stale;
}

int fs_close(struct fs *fs, struct fs_file *f)
{
	node_put(fs, f->node);
	fs_free(f);
	return 0;
}

static bool is_dir(struct fs *fs, struct fs_node *n)
{
	const uint8_t *b = meta_map(fs, n->home);
	return !b || (inode_at(b, n->ioff)->mode & S_IFMT) == S_IFDIR;
}

long fs_pread(struct fs *fs, struct fs_file *f, void *buf, size_t n, uint64_t off)
{
	if (f->node->stale)
		return -ESTALE;
	if ((f->flags & FS_O_ACCMODE) == FS_O_WRONLY)
		return -EBADF;
	if (is_dir(fs, f->node))
		return -EISDIR;
	if ((int64_t)off < 0)
		return -EINVAL;
	return file_read(fs, f->node, buf, n, off);
}

long fs_pwrite(struct fs *fs, struct fs_file *f, const void *buf, size_t n, uint64_t off)
{
	if (f->node->stale)
		return -ESTALE;
	if ((f->flags & FS_O_ACCMODE) == FS_O_RDONLY)
		return -EBADF;
	if ((int64_t)off < 0)
		return -EINVAL;
	if (n == 0)
		return 0;
	return file_write(fs, f->node, buf, n, off);
}

long fs_read(struct fs *fs, struct fs_file *f, void *buf, size_t n)
{
	long r = fs_pread(fs, f, buf, n, f->pos);
	if (r > 0)
		f->pos += (uint64_t)r;
	return r;
}

long fs_write(struct fs *fs, struct fs_file *f, const void *buf, size_t n)
{
	if (f->node->stale)
		return -ESTALE;
	if (f->flags & FS_O_APPEND) {
		const uint8_t *b = meta_map(fs, f->node->home);
		if (!b)
			return -EIO;
		f->pos = inode_at(b, f->node->ioff)->size;
	}
	long r = fs_pwrite(fs, f, buf, n, f->pos);
	if (r > 0)
		f->pos += (uint64_t)r;
	return r;
}

int64_t fs_lseek(struct fs *fs, struct fs_file *f, int64_t off, int whence)
{
	int64_t base;
	if (f->node->stale)
		return -ESTALE;
	const uint8_t *b = meta_map(fs, f->node->home);
	if (!b)
		return -EIO;
	switch (whence) {
	case FS_SEEK_SET: base = 0; break;
	case FS_SEEK_CUR: base = (int64_t)f->pos; break;
	case FS_SEEK_END: base = (int64_t)inode_at(b, f->node->ioff)->size; break;
	default: return -EINVAL;
	}
	if ((off < 0 && base + off < 0) || (off > 0 && base > INT64_MAX - off))
		return -EINVAL;
	f->pos = (uint64_t)(base + off);
	return (int64_t)f->pos;
}

int fs_ftruncate(struct fs *fs, struct fs_file *f, uint64_t size)
{
	if (f->node->stale)
		return -ESTALE;
	if ((f->flags & FS_O_ACCMODE) == FS_O_RDONLY)
		return -EBADF;
	if (is_dir(fs, f->node))
		return -EISDIR;
	if ((int64_t)size < 0)
		return -EINVAL;
	int r = txn_room(fs);
	return r < 0 ? r : file_truncate(fs, f->node, size);
}

int fs_fsync(struct fs *fs, struct fs_file *f)
{
	(void)f; /* one journal: committing it makes this file durable too */
	return txn_commit(fs);
}

static void fill_stat(struct fs *fs, uint32_t home, uint32_t ioff, struct fs_stat *st)
{
	const struct fs_inode *in = inode_at(meta_map(fs, home), ioff);
	*st = (struct fs_stat){ .st_ino = in->ino,
				.st_mode = in->mode,
				.st_nlink = in->nlink,
				.st_uid = in->uid,
				.st_gid = in->gid,
				.st_size = in->size,
				.st_atime_ns = in->atime,
				.st_mtime_ns = in->mtime,
				.st_ctime_ns = in->ctime,
				.st_blksize = FS_BLOCK };
	st->st_blocks = file_blocks(fs, home, ioff) * (FS_BLOCK / 512);
}

int fs_fstat(struct fs *fs, struct fs_file *f, struct fs_stat *st)
{
	if (f->node->stale)
		return -ESTALE;
	if (!meta_map(fs, f->node->home))
		return -EIO;
	fill_stat(fs, f->node->home, f->node->ioff, st);
	return 0;
}

static int stat_path(struct fs *fs, const char *path, bool follow, struct fs_stat *st)
{
	struct walk w;
	int r = resolve(fs, path, follow, &w);
	if (r < 0)
		return r;
	if (!w.found)
		return -ENOENT;
	fill_stat(fs, w.home, w.ioff, st);
	return 0;
}

int fs_stat(struct fs *fs, const char *path, struct fs_stat *st)
{
	return stat_path(fs, path, true, st);
}

int fs_lstat(struct fs *fs, const char *path, struct fs_stat *st)
{
	return stat_path(fs, path, false, st);
}

int fs_truncate(struct fs *fs, const char *path, uint64_t size)
{
	struct walk w;
	int r = resolve(fs, path, true, &w);
	if (r < 0)
		return r;
	if (!w.found)
		return -ENOENT;
	if ((w.mode & S_IFMT) == S_IFDIR)
		return -EISDIR;
	if ((int64_t)size < 0)
		return -EINVAL;
	struct fs_node *n = node_get(fs, w.ino, w.home, w.ioff);
	if (!n)
		return -ENOMEM;
	r = txn_room(fs);
	if (r == 0)
		r = file_truncate(fs, n, size);
	node_put(fs, n);
	return r;
}

/* --- open files passed to another instance ----------------------------------- */

int fs_file_id(struct fs *fs, struct fs_file *f, struct fs_file_id *id)
{
	(void)fs;
	if (f->node->stale)
		return -ESTALE;
	*id = (struct fs_file_id){ f->node->ino, f->node->home, f->node->ioff, f->pos };
	return 0;
}

int fs_open_id(struct fs *fs, const struct fs_file_id *id, int flags, struct fs_file **out)
{
	int acc = flags & FS_O_ACCMODE;
	if (acc == 3 || (flags & ~(FS_O_ACCMODE | FS_O_APPEND | FS_O_DIRECTORY)) ||
	    ((flags & FS_O_DIRECTORY) && (acc != FS_O_RDONLY || (flags & FS_O_APPEND))))
		return -EINVAL;
	/* the id comes from another instance: it must name an inode where it
	 * says, and a file we may open so */
	if (id->home < fs->dev.d_reserved || id->home >= fs->dev.d_nblocks || id->ino == 0 ||
	    inode_in(fs, id->home, id->ino) != id->ioff || id->ioff == 0)
		return -ESTALE;
	const uint8_t *b = meta_map(fs, id->home);
	if (!b)
		return -EIO;
	uint32_t type = inode_at(b, id->ioff)->mode & S_IFMT;
	if (flags & FS_O_DIRECTORY) {
		if (type != S_IFDIR)
			return -ENOTDIR;
	} else if (type != S_IFREG) {
		return type == S_IFDIR ? -EISDIR : -EINVAL;
	}
	struct fs_file *f = fs_alloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->node = node_get(fs, id->ino, id->home, id->ioff);
	if (!f->node) {
		fs_free(f);
		return -ENOMEM;
	}
	f->flags = flags, f->pos = id->pos;
	*out = f;
	return 0;
}

/* --- directories by descriptor ------------------------------------------------- */

/* The root block of the directory f has open; 0 if f is not one. */
static uint32_t open_dir_root(struct fs *fs, struct fs_file *f)
{
	const uint8_t *b = meta_map(fs, f->node->home);
	if (!b)
		return 0;
	const struct fs_inode *in = inode_at(b, f->node->ioff);
	return (in->mode & S_IFMT) == S_IFDIR ? in->ext[0].start : 0;
}

int fs_dir_path(struct fs *fs, struct fs_file *f, char *buf, size_t size)
{
	if (f->node->stale)
		return -ESTALE;
	uint32_t root = open_dir_root(fs, f);
	if (!root)
		return -ENOTDIR;
	/* built from the end: each directory's name is in its parent's
	 * record of its inode (a directory has one name, where it lives) */
	size_t at = size;
	if (size < 2)
		return -ENAMETOOLONG;
	buf[--at] = '\0';
	for (uint32_t hops = 0; root != fs->root_dir; hops++) {
		const struct fs_dirblk *h = (const void *)meta_map(fs, root);
		if (!h || h->tag != FS_TAG_DIR || h->dir_root != root || hops > FS_PATH_MAX / 2)
			return -EUCLEAN;
		uint32_t ioff = inode_in(fs, h->self_home, h->self_ino);
		const uint8_t *b = meta_map(fs, h->self_home);
		if (!ioff || !b)
			return -EUCLEAN;
		const struct fs_rec *rec = (const void *)(b + ioff - 8);
		if (rec->namelen == 0)
			return -ENOENT; /* removed while open */
		if (at < (size_t)rec->namelen + 2)
			return -ENAMETOOLONG;
		at -= rec->namelen;
		memcpy(buf + at, b + ioff + 128, rec->namelen);
		buf[--at] = '/';
		root = h->parent_root;
	}
	if (at == size - 1)
		buf[--at] = '/'; /* the root itself */
	memmove(buf, buf + at, size - at);
	return 0;
}

int fs_openat(struct fs *fs, struct fs_file *dir, const char *path, int flags, uint32_t mode,
	      struct fs_file **out)
{
	if (path[0] == '/')
		return fs_open(fs, path, flags, mode, out);
	static char joined[FS_PATH_MAX + 2];
	int r = fs_dir_path(fs, dir, joined, sizeof(joined));
	if (r < 0)
		return r;
	size_t dl = strlen(joined), pl = strnlen(path, FS_PATH_MAX + 1);
	if (dl + 1 + pl > FS_PATH_MAX)
		return -ENAMETOOLONG;
	joined[dl] = '/';
	memcpy(joined + dl + 1, path, pl + 1);
	return fs_open(fs, joined, flags, mode, out);
}

int fs_opendir_file(struct fs *fs, struct fs_file *f, struct fs_dir *d)
{
	if (f->node->stale)
		return -ESTALE;
	uint32_t root = open_dir_root(fs, f);
	if (!root)
		return -ENOTDIR;
	dir_cursor(d, root);
	return 0;
}

int fs_orphans_reclaim(struct fs *fs)
{
	int r = orphans_reclaim(fs);
	if (r < 0)
		return r;
	const struct fs_super *s = (const void *)meta_map(fs, (uint32_t)fs->super);
	if (!s)
		return -EIO;
	int left = 0;
	for (int i = 0; i < FS_ORPHANS; i++)
		left += s->orphans[i].home != 0;
	return left;
}
