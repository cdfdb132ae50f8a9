/*
 * What lib/fs's files share (private): the mounted file system, the
 * transaction (meta.c), directory tries (dir.c), files' extents (file.c).
 *
 * Metadata is never written in place by this code: a caller copies a block
 * (meta_edit), changes the copy, and hands it back with the one XN claim
 * change it makes (meta_put*), which diffs it into byte ranges, submits the
 * update to XN through the hooks and appends it to the transaction's log.
 */
#ifndef EXO_LIB_FS_FSINT_H
#define EXO_LIB_FS_FSINT_H

#include <lib/fs/fs.h>

/* Transaction limits: the journal header lists the blocks touched; an
 * operation starts a new transaction when the running one is near full. */
/* Metadata blocks a transaction may touch: they stay dirty in the kernel's
 * cache until the commit, so they must fit beside the data entries
 * (BC_ENTRIES 256 less BC_DATA_MAX 128: inc/disk.h) with room for reads;
 * the journal header lists at most 254. */
#define FS_TXN_MAX_BLOCKS 112
_Static_assert(FS_TXN_MAX_BLOCKS + BC_DATA_MAX + 16 <= BC_ENTRIES,
	       "a transaction's dirty blocks fit the kernel's cache beside its data entries");
#define FS_OP_MAX_BLOCKS 40
#define FS_OP_MAX_LOG (48 * 1024)
#define FS_JOURNAL_MAGIC 0x4c4e524a53464643ull /* "CFFSJRNL" */

/* An inode in use: open files point at one; rename updates where it is. */
struct fs_node {
	uint64_t ino;
	uint32_t home; /* block holding the inode */
	uint32_t ioff; /* byte offset of the struct fs_inode in it */
	uint32_t refs;
	bool orphan; /* unlinked while open: reclaimed at last close */
	bool stale;  /* another instance moved or removed the inode (fs_revalidate) */
};

struct fs_file {
	struct fs_node *node;
	uint64_t pos;
	int flags;
};

/* A block touched by the running transaction. */
#define TB_META 0x1
#define TB_DATA 0x2
#define TB_FREED 0x4 /* a metadata block freed since: nothing to write */
#define TB_RECEIVED 0x8 /* received a moved extent: may not give one (a cycle) */
struct txn_blk {
	uint32_t blk;
	uint32_t flags;
};

struct fs {
	struct fsdev dev;
	uint64_t super;
	uint32_t jstart, jlen;
	uint32_t root_dir;
	uint64_t seq;
	/* running transaction */
	uint8_t *log;
	size_t loglen, logcap;
	struct txn_blk *tb; /* open-addressed set, tb_cap a power of two */
	size_t ntb, tb_cap, nmeta;
	size_t nnew; /* metadata blocks initialised by the running transaction */
	struct pending *pend; /* claim-neutral changes not yet submitted (meta.c) */
	size_t npend;
	uint64_t pend_clock, pend_op; /* pend_op: when the running operation began */
	int replaying;
	/* told where rename moved an inode (fs_on_move) */
	void (*on_move)(void *ctx, uint64_t ino, uint32_t home, uint32_t ioff);
	void *on_move_ctx;
	/* inodes in use */
	struct fs_node **nodes;
	size_t nnodes, nodes_cap;
	uint32_t alloc_hint;
	uint8_t edit[4][FS_BLOCK] __attribute__((aligned(8))); /* meta_edit's copies */
	uint8_t zero[FS_BLOCK] __attribute__((aligned(8)));
	uint8_t tmp[FS_BLOCK] __attribute__((aligned(8)));
	char path[FS_PATH_MAX + 1];
};

/* --- meta.c: metadata changes, the journal ------------------------------- */
const uint8_t *meta_map(struct fs *fs, uint32_t blk);
/* A writable copy of blk in fs->edit[slot]; NULL if blk cannot be mapped. */
uint8_t *meta_edit(struct fs *fs, uint32_t blk, int slot);
/* Submits the copy: op FSDEV_WRITE (claims unchanged), ALLOC or FREE of
 * [start, start+len) of XN type `type`. A WRITE is held back and merged
 * with the block's next change (meta.c, "Held-back writes"), so its
 * refusal, which only a bug can cause, may surface in a later call. */
int meta_put(struct fs *fs, uint32_t blk, const uint8_t *copy, uint32_t op, uint32_t type,
	     uint32_t start, uint32_t len);
/* A new metadata block of XN type `type`, already allocated, filled. */
int meta_init(struct fs *fs, uint32_t blk, uint32_t type, const uint8_t *image);
/* Both copies at once: `from` gives up [start, start+len), `to` claims it. */
int meta_move(struct fs *fs, uint32_t from, const uint8_t *fcopy, uint32_t to, const uint8_t *tcopy,
	      uint32_t type, uint32_t start, uint32_t len);
int data_write(struct fs *fs, uint32_t blk, const void *data);
/* Drop a freed data block from the transaction's writebacks. */
void data_forget(struct fs *fs, uint32_t blk);
/* Called at the start of each operation (or step of a long one): commits
 * the running transaction first if the step might not fit. */
int txn_room(struct fs *fs);
int txn_commit(struct fs *fs);
/* Whether blk received a moved extent in the running transaction. */
bool txn_received(struct fs *fs, uint32_t blk);
int journal_replay(struct fs *fs);
uint64_t fs_block_hash(const uint8_t *b);
void txn_free(struct fs *fs);

/* --- allocation (file.c) ------------------------------------------------- */
/* A free run near goal of at most want blocks; 0 and *n = 0 when full. */
uint32_t alloc_run(struct fs *fs, uint32_t goal, uint32_t want, uint32_t *n);

/* --- dir.c: directories ----------------------------------------------------- */
struct dloc {
	uint32_t blk, off; /* the record */
	uint32_t depth;
	uint8_t kind;
};
int dir_lookup(struct fs *fs, uint32_t root, const char *name, uint32_t len, struct dloc *out);
/* Room for a record of `need` bytes on the path of hash h: *blk and *off of
 * a free record at least that long (allocating a trie block if needed;
 * for_move: the record will receive a moved inode). */
int dir_room(struct fs *fs, uint32_t root, uint32_t h, uint32_t need, uint32_t *blk, uint32_t *off,
	     bool for_move);
/* In a block copy: turn the free record at off into one of `len` bytes. */
void rec_take(uint8_t *b, uint32_t off, uint32_t len);
/* In a block copy: free the record at off, merging free neighbours. */
void rec_drop(uint8_t *b, uint32_t off);
/* Writes a record's header and name (the body is the caller's). */
void rec_fill(uint8_t *b, uint32_t off, uint8_t kind, const char *name, uint32_t len);
/* An empty dir block of the directory whose root is `root`, at depth. */
void dir_image(uint8_t *img, uint32_t depth, uint32_t root);
void dir_cursor(struct fs_dir *d, uint32_t root);
int dir_next(struct fs *fs, struct fs_dir *d, struct fs_dirent *out);
bool dir_is_empty(struct fs *fs, uint32_t root);
/* Frees every block of an empty directory's trie except its root. */
int dir_free_trie(struct fs *fs, uint32_t root);
/* Changes the count of names in a directory (in its root block's header). */
int dir_count(struct fs *fs, uint32_t root, int delta);
/* Finds the record of inode ino in block home; its inode's offset or 0. */
uint32_t inode_in(struct fs *fs, uint32_t home, uint64_t ino);

/* --- file.c: file contents ----------------------------------------------- */
struct fs_inode *inode_at(const uint8_t *b, uint32_t ioff);
long file_read(struct fs *fs, struct fs_node *n, void *buf, size_t len, uint64_t off);
long file_write(struct fs *fs, struct fs_node *n, const void *buf, size_t len, uint64_t off);
int file_truncate(struct fs *fs, struct fs_node *n, uint64_t size);
uint64_t file_blocks(struct fs *fs, uint32_t home, uint32_t ioff);
uint64_t fs_now(struct fs *fs);

/* --- path.c: names to inodes, inodes in use ------------------------------ */
/* The result of resolving a path: the directory the last component is in,
 * and, if it exists, where its entry and its inode are. A path naming a
 * directory itself ("/", "a/.") has self set and no entry. */
struct walk {
	uint32_t dir; /* root block of the directory holding the last name */
	bool found, self, slash; /* slash: the path ended in '/' */
	char name[FS_NAME_MAX + 1];
	uint32_t len;
	struct dloc loc;    /* the entry, when found && !self */
	uint32_t home, ioff; /* the inode, when found */
	uint64_t ino;
	uint32_t mode;
};
int resolve(struct fs *fs, const char *path, bool follow, struct walk *w);
struct fs_node *node_get(struct fs *fs, uint64_t ino, uint32_t home, uint32_t ioff);
struct fs_node *node_find(struct fs *fs, uint64_t ino);
void node_put(struct fs *fs, struct fs_node *n);
/* Creates the inode named by w (not found) with mode; its node. */
int create_inode(struct fs *fs, struct walk *w, uint32_t mode, uint32_t *home, uint32_t *ioff,
		 uint64_t *ino);
/* Removes w's name; *orphan says the inode lost its last name. */
int unname(struct fs *fs, struct walk *w, bool *orphan);
/* Frees an inode with no names that is not open, and its blocks. */
int reclaim(struct fs *fs, uint32_t home, uint64_t ino);
int orphan_add(struct fs *fs, uint32_t home, uint64_t ino);
bool orphan_room(struct fs *fs); /* a free orphan slot: check before unname */
int orphans_reclaim(struct fs *fs);

#endif
