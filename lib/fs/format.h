/*
 * The on-disk format of Exo's library file system (C-FFS class; doc/fs.md).
 *
 * Every block is 4 KiB. The file system is one tree of blocks hanging from a
 * named root in XN's root catalogue ("cffs", a super block). Every metadata
 * block is self-describing: it starts with a type tag, and every block it
 * claims (its block pointers) sits at a place that can be found from that
 * block alone, so a UDF (udf.h, user/bpf/fs_udf_*.c) given just the block can
 * list the extents it claims and the XN type of each:
 *
 *   super   the root directory's inode, the journal extent, orphans
 *   dir     one node of a directory's hash trie: 16 child dir blocks plus
 *           records: an entry with its inode embedded (C-FFS), or a name
 *           referring to an inode embedded elsewhere (hard links)
 *   extmap  extents of a large file beyond the 4 in its inode, chained
 *   data    file contents, symlink targets, journal blocks (not metadata)
 *
 * Block numbers on disk are 32 bits (16 TiB); file offsets and sizes are 64.
 * Little-endian, as the machine. These structs are read from untrusted
 * blocks: every reader checks tags, lengths and ranges (fsck.c, udf.h).
 */
#ifndef EXO_LIB_FS_FORMAT_H
#define EXO_LIB_FS_FORMAT_H

#include <inc/disk.h>
#include <inc/types.h>

#define FS_BLOCK 4096u
#define FS_BLOCK_SHIFT 12

/* XN types of the blocks this file system uses (registered with a UDF each
 * under these ids, which its UDFs name; FS_T_DATA is plain data, which XN
 * never parses). The top three of XN's ids, so that formats registering
 * "any free id" (which takes the lowest) share a disk with this one. */
#define FS_T_DATA XN_TYPE_DATA
#define FS_T_SUPER (XN_TYPES_MAX - 2)
#define FS_T_DIR (XN_TYPES_MAX - 1)
#define FS_T_EXTMAP XN_TYPES_MAX

#define FS_TAG_SUPER 0x53464643u  /* "CFFS" */
#define FS_TAG_DIR 0x42524944u    /* "DIRB" */
#define FS_TAG_EXTMAP 0x50414d58u /* "XMAP" */
#define FS_VERSION 1

/* File types and permission bits, as POSIX numbers them. */
#ifndef S_IFMT
#define S_IFMT 0170000
#define S_IFDIR 0040000
#define S_IFREG 0100000
#define S_IFLNK 0120000
#endif
#define FS_PERM_MASK 07777

/* A run of blocks of a file: file blocks [lblk, lblk+len) are disk blocks
 * [start, start+len). len 0 is an unused slot. */
struct fs_extent {
	uint64_t lblk;
	uint32_t start;
	uint32_t len;
};
_Static_assert(sizeof(struct fs_extent) == 16, "extent is 16 bytes");

#define FS_INLINE_EXTENTS 4
/* An inode: embedded in a directory record (or, for "/", in the super). A
 * directory's only extent is its root dir block (lblk 0, len 1). */
struct fs_inode {
	uint64_t ino; /* unique for the file system's life; never reused */
	uint64_t size;
	uint64_t atime, mtime, ctime; /* ns since the epoch */
	uint32_t mode, uid, gid, nlink;
	uint32_t next;   /* extent slots used: 0..FS_INLINE_EXTENTS */
	uint32_t extmap; /* first extent-map block, 0: none */
	struct fs_extent ext[FS_INLINE_EXTENTS];
};
_Static_assert(sizeof(struct fs_inode) == 128, "inode is 128 bytes");

/* A directory record. Records tile a dir block's record area; each is
 * 8-aligned. The name (no NUL) follows the body. */
struct fs_rec {
	uint16_t reclen;
	uint8_t kind;    /* FS_REC_* */
	uint8_t namelen; /* 0 only for an inode that lost its primary name */
	uint32_t hash;   /* fs_name_hash(name) */
};
#define FS_REC_FREE 0
#define FS_REC_INODE 1 /* body: struct fs_inode */
#define FS_REC_REF 2   /* body: struct fs_ref */

/* A name for an inode embedded in another record (a hard link). */
struct fs_ref {
	uint32_t home; /* dir block holding the inode's record */
	uint32_t pad;
	uint64_t ino;
};

#define FS_NAME_MAX 255
#define FS_REC_MIN 8
#define FS_INODE_REC(namelen) ((uint32_t)ROUNDUP(8 + 128 + (namelen), 8))
#define FS_REF_REC(namelen) ((uint32_t)ROUNDUP(8 + 16 + (namelen), 8))

/* A directory is a trie of dir blocks keyed by the names' hash: the block at
 * depth d holds names whose path of hash nibbles leads to it; a name lives
 * in the first block on its path with room (records never move). */
#define FS_DIR_FANOUT 16
#define FS_DIR_BITS 4
#define FS_DIR_MAX_DEPTH 8 /* 32 hash bits, 4 per level */
struct fs_dirblk {
	uint32_t tag;
	uint16_t depth;
	uint16_t pad;
	uint32_t dir_root;    /* root block of the directory this belongs to */
	uint32_t parent_root; /* root block: the parent directory's root ("..") */
	uint32_t self_home;   /* root block: where this directory's inode lives */
	uint32_t names;       /* root block: names in the whole directory */
	uint64_t self_ino;    /* root block: this directory's inode number */
	uint32_t child[FS_DIR_FANOUT];
};
_Static_assert(sizeof(struct fs_dirblk) == 96, "dir block header is 96 bytes");
#define FS_DIR_RECS 96u /* where the record area starts */

#define FS_EXTMAP_N 255
struct fs_extmap {
	uint32_t tag;
	uint32_t count; /* slots used, packed from 0 */
	uint32_t next;  /* next extent-map block, 0: none */
	uint32_t pad;
	struct fs_extent ext[FS_EXTMAP_N];
};
_Static_assert(sizeof(struct fs_extmap) == FS_BLOCK, "extmap is one block");

/* Inodes unlinked while open: freed at last close, or at the next mount. */
#define FS_ORPHANS 32
struct fs_orphan {
	uint32_t home; /* 0: slot free */
	uint32_t pad;
	uint64_t ino;
};

struct fs_super {
	uint32_t tag;
	uint32_t version;
	uint64_t next_ino;
	uint32_t journal_start, journal_len; /* data blocks, claimed here */
	uint32_t root_dir;                   /* == root.ext[0].start */
	uint32_t pad;
	struct fs_inode root;
	struct fs_orphan orphans[FS_ORPHANS];
};
_Static_assert(sizeof(struct fs_super) <= FS_BLOCK, "super fits one block");

/* What a UDF reports: blocks [start, start+len) claimed, of XN type `type`:
 * XN's struct xn_extent, 16 bytes, so the most any block claims (an extent
 * map: 256) fits XN's one-page output. */
struct fs_claim {
	uint64_t start;
	uint32_t len, type;
};
#define FS_MAX_CLAIMS XN_UDF_MAX_EXTENTS
_Static_assert(sizeof(struct fs_claim) == sizeof(struct xn_extent) &&
		       offsetof(struct fs_claim, start) == offsetof(struct xn_extent, x_start) &&
		       offsetof(struct fs_claim, len) == offsetof(struct xn_extent, x_count) &&
		       offsetof(struct fs_claim, type) == offsetof(struct xn_extent, x_type),
	       "a claim is XN's extent");
_Static_assert(FS_MAX_CLAIMS == 256, "an extent map's claims fit");

/* FNV-1a: the hash that places names in a directory's trie. */
static inline uint32_t fs_name_hash(const char *name, uint32_t len)
{
	uint32_t h = 2166136261u;
	for (uint32_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	return h;
}

#endif
