/*
 * Names to inodes: path resolution (with ".", ".." and symbolic links),
 * creating an inode under a name, removing a name, the table of inodes in
 * use (open files), and reclaiming inodes that lost their last name.
 *
 * Paths are resolved from the root ("a/b" and "/a/b" are the same); each
 * component is at most FS_NAME_MAX bytes, the path FS_PATH_MAX, and at most
 * FS_SYMLOOP_MAX symbolic links are followed (ELOOP). ".." is the parent
 * recorded in each directory's root block; the root's parent is itself.
 *
 * An inode whose last name goes while it is open becomes an orphan: its
 * record stays (nameless, nlink 0), listed in the super block, and is
 * reclaimed at last close or, after a power cut, at the next mount. Other
 * instances on the tree (fsdev's held hook) count: an inode one of them
 * still has open stays an orphan until the last of them closes it. Its
 * blocks are freed a step at a time, each step a transaction of its own.
 */
#include <lib/fs/fsint.h>

#include <common/string.h>

static const struct fs_dirblk *dirhdr(struct fs *fs, uint32_t root)
{
	const struct fs_dirblk *h = (const void *)meta_map(fs, root);
	return h && h->tag == FS_TAG_DIR && h->depth == 0 && h->dir_root == root ? h : NULL;
}

/* The inode of the entry at loc: where it is. */
static int entry_inode(struct fs *fs, const struct dloc *loc, struct walk *w)
{
	const uint8_t *b = meta_map(fs, loc->blk);
	if (!b)
		return -EIO;
	if (loc->kind == FS_REC_INODE) {
		w->home = loc->blk, w->ioff = loc->off + 8;
	} else {
		const struct fs_ref *ref = (const void *)(b + loc->off + 8);
		w->home = ref->home;
		if (!(w->ioff = inode_in(fs, ref->home, ref->ino)))
			return -EUCLEAN;
	}
	const struct fs_inode *in = inode_at(meta_map(fs, w->home), w->ioff);
	w->ino = in->ino, w->mode = in->mode;
	return 0;
}

static int dir_self(struct fs *fs, uint32_t root, struct walk *w)
{
	const struct fs_dirblk *h = dirhdr(fs, root);
	if (!h)
		return -EUCLEAN;
	w->home = h->self_home;
	if (!(w->ioff = inode_in(fs, h->self_home, h->self_ino)))
		return -EUCLEAN;
	const struct fs_inode *in = inode_at(meta_map(fs, w->home), w->ioff);
	w->ino = in->ino, w->mode = in->mode, w->dir = root, w->found = w->self = true;
	return 0;
}

/* Reads a symbolic link's target into buf (NUL-terminated). */
static int link_target(struct fs *fs, const struct walk *w, char *buf, size_t cap)
{
	struct fs_node n = { .home = w->home, .ioff = w->ioff };
	long r = file_read(fs, &n, buf, cap - 1, 0);
	if (r < 0)
		return (int)r;
	buf[r] = '\0';
	return (int)r;
}

int resolve(struct fs *fs, const char *path, bool follow, struct walk *w)
{
	static char link[FS_PATH_MAX + 1];
	size_t plen = strnlen(path, FS_PATH_MAX + 1);
	if (plen > FS_PATH_MAX)
		return -ENAMETOOLONG;
	if (plen == 0)
		return -ENOENT;
	memcpy(fs->path, path, plen + 1);
	memset(w, 0, sizeof(*w));
	uint32_t cur = fs->root_dir;
	const char *p = fs->path;
	int hops = 0;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			return dir_self(fs, cur, w);
		const char *q = p;
		while (*q && *q != '/')
			q++;
		uint32_t len = (uint32_t)(q - p);
		if (len > FS_NAME_MAX)
			return -ENAMETOOLONG;
		const char *rest = q;
		while (*rest == '/')
			rest++;
		bool last = !*rest;
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) {
			if (len == 2) {
				const struct fs_dirblk *h = dirhdr(fs, cur);
				if (!h)
					return -EUCLEAN;
				cur = h->parent_root;
			}
			p = q;
			continue;
		}
		memcpy(w->name, p, len);
		w->name[len] = '\0';
		w->len = len, w->dir = cur, w->slash = *q == '/';
		int r = dir_lookup(fs, cur, p, len, &w->loc);
		if (r == -ENOENT && last) {
			w->found = false;
			return 0;
		}
		if (r < 0)
			return r;
		if ((r = entry_inode(fs, &w->loc, w)) < 0)
			return r;
		if ((w->mode & S_IFMT) == S_IFLNK && (!last || follow || w->slash)) {
			if (++hops > FS_SYMLOOP_MAX)
				return -ELOOP;
			int n = link_target(fs, w, link, sizeof(link));
			if (n < 0)
				return n;
			if (n == 0)
				return -ENOENT;
			size_t restlen = strlen(q);
			if ((size_t)n + restlen > FS_PATH_MAX)
				return -ENAMETOOLONG;
			memcpy(link + n, q, restlen + 1);
			memcpy(fs->path, link, (size_t)n + restlen + 1);
			if (link[0] == '/')
				cur = fs->root_dir;
			p = fs->path;
			continue;
		}
		if (last) {
			w->found = true;
			if (w->slash && (w->mode & S_IFMT) != S_IFDIR)
				return -ENOTDIR;
			return 0;
		}
		if ((w->mode & S_IFMT) != S_IFDIR)
			return -ENOTDIR;
		cur = inode_at(meta_map(fs, w->home), w->ioff)->ext[0].start;
		p = q;
	}
}

/* --- inodes in use ----------------------------------------------------------- */

struct fs_node *node_find(struct fs *fs, uint64_t ino)
{
	for (size_t i = 0; i < fs->nnodes; i++)
		if (fs->nodes[i]->ino == ino)
			return fs->nodes[i];
	return NULL;
}

struct fs_node *node_get(struct fs *fs, uint64_t ino, uint32_t home, uint32_t ioff)
{
	struct fs_node *n = node_find(fs, ino);
	if (n) {
		/* the walk that found it is the truth: another instance's
		 * rename may have moved it since we opened it */
		n->home = home, n->ioff = ioff, n->stale = false;
		n->refs++;
		return n;
	}
	if (fs->nnodes == fs->nodes_cap) {
		size_t cap = fs->nodes_cap ? 2 * fs->nodes_cap : 16;
		struct fs_node **t = fs_alloc(cap * sizeof(*t));
		if (!t)
			return NULL;
		if (fs->nnodes)
			memcpy(t, fs->nodes, fs->nnodes * sizeof(*t));
		fs_free(fs->nodes);
		fs->nodes = t, fs->nodes_cap = cap;
	}
	if (!(n = fs_alloc(sizeof(*n))))
		return NULL;
	*n = (struct fs_node){ ino, home, ioff, 1, false, false };
	fs->nodes[fs->nnodes++] = n;
	return n;
}

/* Another instance on the tree has ino open (fsdev's held hook). */
static bool held_elsewhere(struct fs *fs, uint64_t ino)
{
	return fs->dev.held && fs->dev.held(fs->dev.d_ctx, ino);
}

/* Has n's inode lost its last name? Here (orphan), or in another instance
 * that unlinked it while we had it open: its record stays, with nlink 0. */
static bool nameless(struct fs *fs, const struct fs_node *n)
{
	const uint8_t *b = n->orphan ? NULL : meta_map(fs, n->home);
	return n->orphan || (b && inode_at(b, n->ioff)->nlink == 0);
}

void node_put(struct fs *fs, struct fs_node *n)
{
	if (--n->refs)
		return;
	if (!n->stale && nameless(fs, n) && !held_elsewhere(fs, n->ino))
		reclaim(fs, n->home, n->ino); /* on failure, the next mount reclaims it */
	for (size_t i = 0; i < fs->nnodes; i++)
		if (fs->nodes[i] == n) {
			fs->nodes[i] = fs->nodes[--fs->nnodes];
			break;
		}
	fs_free(n);
}

/* --- names ------------------------------------------------------------------- */

int create_inode(struct fs *fs, struct walk *w, uint32_t mode, uint32_t *home, uint32_t *ioff,
		 uint64_t *ino)
{
	uint32_t blk, off, h = fs_name_hash(w->name, w->len), got;
	/* A directory needs a block of its own: make sure of it first. */
	if ((mode & S_IFMT) == S_IFDIR) {
		uint32_t b1 = alloc_run(fs, w->dir, 1, &got);
		if (!got || (alloc_run(fs, b1 + 1, 1, &got), !got))
			return -ENOSPC;
	}
	int r = dir_room(fs, w->dir, h, FS_INODE_REC(w->len), &blk, &off, false);
	if (r < 0)
		return r;
	struct fs_super *s = (void *)meta_edit(fs, (uint32_t)fs->super, 0);
	*ino = s->next_ino++;
	if ((r = meta_put(fs, (uint32_t)fs->super, (void *)s, FSDEV_WRITE, 0, 0, 0)) < 0)
		return r;
	uint8_t *c = meta_edit(fs, blk, 0);
	rec_take(c, off, FS_INODE_REC(w->len));
	rec_fill(c, off, FS_REC_INODE, w->name, w->len);
	struct fs_inode *in = inode_at(c, off + 8);
	uint64_t now = fs_now(fs);
	*in = (struct fs_inode){ .ino = *ino, .mode = mode, .nlink = 1 };
	in->atime = in->mtime = in->ctime = now;
	if ((r = meta_put(fs, blk, c, FSDEV_WRITE, 0, 0, 0)) < 0)
		return r;
	*home = blk, *ioff = off + 8;
	if ((mode & S_IFMT) == S_IFDIR) { /* and its trie's root block */
		uint32_t rb = alloc_run(fs, blk, 1, &got);
		if (!got)
			return -ENOSPC;
		c = meta_edit(fs, blk, 0);
		in = inode_at(c, off + 8);
		in->next = 1, in->size = FS_BLOCK;
		in->ext[0] = (struct fs_extent){ 0, rb, 1 };
		if ((r = meta_put(fs, blk, c, FSDEV_ALLOC, FS_T_DIR, rb, 1)) < 0)
			return r;
		dir_image(fs->tmp, 0, rb);
		struct fs_dirblk *dh = (void *)fs->tmp;
		dh->parent_root = w->dir, dh->self_home = blk, dh->self_ino = *ino;
		if ((r = meta_init(fs, rb, FS_T_DIR, fs->tmp)) < 0)
			return r;
	}
	return dir_count(fs, w->dir, 1);
}

int unname(struct fs *fs, struct walk *w, bool *orphan)
{
	int r;
	uint8_t *c;
	*orphan = false;
	if (w->loc.kind == FS_REC_REF) {
		c = meta_edit(fs, w->loc.blk, 0);
		rec_drop(c, w->loc.off);
		if ((r = meta_put(fs, w->loc.blk, c, FSDEV_WRITE, 0, 0, 0)) < 0)
			return r;
	}
	c = meta_edit(fs, w->home, 0);
	struct fs_inode *in = inode_at(c, w->ioff);
	in->nlink = in->nlink ? in->nlink - 1 : 0;
	in->ctime = fs_now(fs);
	if (w->loc.kind == FS_REC_INODE) { /* the record stays for the inode: drop the name */
		struct fs_rec *rec = (void *)(c + w->loc.off);
		memset(c + w->loc.off + 8 + 128, 0, rec->namelen);
		rec->namelen = 0, rec->hash = 0;
	}
	*orphan = in->nlink == 0;
	if ((r = meta_put(fs, w->home, c, FSDEV_WRITE, 0, 0, 0)) < 0)
		return r;
	if ((r = dir_count(fs, w->dir, -1)) < 0)
		return r;
	if (*orphan) {
		struct fs_node *n = node_find(fs, w->ino);
		if (n)
			n->orphan = true;
		return orphan_add(fs, w->home, w->ino);
	}
	return 0;
}

int orphan_add(struct fs *fs, uint32_t home, uint64_t ino)
{
	struct fs_super *s = (void *)meta_edit(fs, (uint32_t)fs->super, 0);
	for (int i = 0; i < FS_ORPHANS; i++)
		if (!s->orphans[i].home) {
			s->orphans[i] = (struct fs_orphan){ home, 0, ino };
			return meta_put(fs, (uint32_t)fs->super, (void *)s, FSDEV_WRITE, 0, 0, 0);
		}
	return -EBUSY; /* callers check for room first (orphan_room) */
}

bool orphan_room(struct fs *fs)
{
	const struct fs_super *s = (const void *)meta_map(fs, (uint32_t)fs->super);
	for (int i = 0; s && i < FS_ORPHANS; i++)
		if (!s->orphans[i].home)
			return true;
	return false;
}

static int orphan_remove(struct fs *fs, uint64_t ino)
{
	struct fs_super *s = (void *)meta_edit(fs, (uint32_t)fs->super, 0);
	for (int i = 0; i < FS_ORPHANS; i++)
		if (s->orphans[i].home && s->orphans[i].ino == ino)
			s->orphans[i] = (struct fs_orphan){ 0, 0, 0 };
	return meta_put(fs, (uint32_t)fs->super, (void *)s, FSDEV_WRITE, 0, 0, 0);
}

/* How many of the inode's inline extent slots hold blocks. */
static uint32_t extents_in(const struct fs_inode *in)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < in->next && i < FS_INLINE_EXTENTS; i++)
		n += in->ext[i].len != 0;
	return n;
}

int reclaim(struct fs *fs, uint32_t home, uint64_t ino)
{
	uint32_t ioff = inode_in(fs, home, ino);
	if (!ioff || home == fs->super)
		return -EUCLEAN;
	const struct fs_inode *in = inode_at(meta_map(fs, home), ioff);
	int r;
	if ((in->mode & S_IFMT) == S_IFDIR) {
		uint32_t root = in->ext[0].start;
		if (in->next && root) {
			if ((r = dir_free_trie(fs, root)) < 0)
				return r;
			uint8_t *c = meta_edit(fs, home, 0);
			struct fs_inode *ci = inode_at(c, ioff);
			ci->ext[0] = (struct fs_extent){ 0, 0, 0 };
			ci->next = 0;
			if ((r = meta_put(fs, home, c, FSDEV_FREE, FS_T_DIR, root, 1)) < 0)
				return r;
		}
	} else if (!in->extmap && extents_in(in) <= 1) {
		/* a small file: its record goes with its one extent, in one
		 * update (dropping the record drops the extent's claim) */
		struct fs_extent one = { 0, 0, 0 };
		for (uint32_t i = 0; i < in->next && i < FS_INLINE_EXTENTS; i++)
			if (in->ext[i].len)
				one = in->ext[i];
		uint8_t *c = meta_edit(fs, home, 0);
		rec_drop(c, ioff - 8);
		r = one.len ? meta_put(fs, home, c, FSDEV_FREE, FS_T_DATA, one.start, one.len)
			    : meta_put(fs, home, c, FSDEV_WRITE, 0, 0, 0);
		return r < 0 ? r : orphan_remove(fs, ino);
	} else {
		struct fs_node n = { .ino = ino, .home = home, .ioff = ioff };
		if ((r = file_truncate(fs, &n, 0)) < 0)
			return r;
	}
	if ((r = txn_room(fs)) < 0)
		return r;
	uint8_t *c = meta_edit(fs, home, 0);
	rec_drop(c, ioff - 8);
	if ((r = meta_put(fs, home, c, FSDEV_WRITE, 0, 0, 0)) < 0)
		return r;
	return orphan_remove(fs, ino);
}

int orphans_reclaim(struct fs *fs)
{
	for (int i = 0; i < FS_ORPHANS; i++) {
		const struct fs_super *s = (const void *)meta_map(fs, (uint32_t)fs->super);
		struct fs_orphan o = s->orphans[i];
		if (!o.home || node_find(fs, o.ino) || held_elsewhere(fs, o.ino))
			continue;
		int r = reclaim(fs, o.home, o.ino);
		if (r < 0)
			return r;
	}
	return 0;
}
