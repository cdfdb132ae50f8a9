/*
 * Exo's library file system: the POSIX-shaped calls lib/posix builds its
 * file descriptors on (doc/fs.md). Paths are absolute (lib/posix resolves
 * the working directory); every call returns >= 0 or a negative errno
 * (errno.h). One struct fs per mounted file system; not thread-safe: the
 * caller serialises calls on one struct fs.
 *
 * Durability: changes go into a running transaction that reaches the disk
 * when it fills, on fs_fsync / fs_sync, and at fs_unmount; after a power cut
 * the file system is as of the last transaction on disk (each call is
 * all-or-nothing; rename is atomic).
 */
#ifndef EXO_LIB_FS_FS_H
#define EXO_LIB_FS_FS_H

#include <lib/fs/errno.h>
#include <lib/fs/fsdev.h>

/* open flags and lseek whences: Linux's values */
#define FS_O_ACCMODE 03
#define FS_O_RDONLY 00
#define FS_O_WRONLY 01
#define FS_O_RDWR 02
#define FS_O_CREAT 0100
#define FS_O_EXCL 0200
#define FS_O_TRUNC 01000
#define FS_O_APPEND 02000
#define FS_O_NONBLOCK 04000
#define FS_O_DIRECTORY 0200000
#define FS_O_NOFOLLOW 0400000
#define FS_SEEK_SET 0
#define FS_SEEK_CUR 1
#define FS_SEEK_END 2

#define FS_PATH_MAX 4096
#define FS_SYMLOOP_MAX 40

struct fs;
struct fs_file;

struct fs_stat {
	uint64_t st_ino;
	uint32_t st_mode, st_nlink, st_uid, st_gid;
	uint64_t st_size, st_blocks; /* st_blocks: 512-byte units allocated */
	uint64_t st_atime_ns, st_mtime_ns, st_ctime_ns;
	uint32_t st_blksize;
};

struct fs_statfs {
	uint64_t f_bsize, f_blocks, f_bfree, f_namemax;
};

#define FS_DT_DIR 4
#define FS_DT_REG 8
#define FS_DT_LNK 10
struct fs_dirent {
	uint64_t d_ino;
	uint8_t d_type;
	char d_name[FS_NAME_MAX + 1];
};

/* A readdir cursor: a walk of the directory's hash trie. Stays valid while
 * names are added and removed; each name present throughout is seen once. */
struct fs_dir {
	uint32_t root;
	uint32_t sp;
	uint32_t dots; /* "." and ".." returned */
	struct {
		uint32_t blk, off, child;
	} stack[FS_DIR_MAX_DEPTH + 1];
};

/* Writes an empty file system on dev (its XN root "cffs"). */
int fs_format(struct fsdev *dev, uint32_t journal_blocks);
/* Mounts: finds the root, replays the journal, frees orphans. */
int fs_mount(struct fs **out, const struct fsdev *dev);
/* Mounts a tree that other instances have mounted too and whose journal is
 * clean (lib/posix's process family, doc/fs.md): no replay, no orphans
 * reclaimed. */
int fs_join(struct fs **out, const struct fsdev *dev);
/* Syncs and frees; files still open are closed. */
int fs_unmount(struct fs *fs);
int fs_sync(struct fs *fs);
/* Whether the running transaction holds anything a commit would write. */
bool fs_txn_pending(const struct fs *fs);

int fs_open(struct fs *fs, const char *path, int flags, uint32_t mode, struct fs_file **out);
int fs_close(struct fs *fs, struct fs_file *f);
long fs_read(struct fs *fs, struct fs_file *f, void *buf, size_t n);
long fs_write(struct fs *fs, struct fs_file *f, const void *buf, size_t n);
long fs_pread(struct fs *fs, struct fs_file *f, void *buf, size_t n, uint64_t off);
long fs_pwrite(struct fs *fs, struct fs_file *f, const void *buf, size_t n, uint64_t off);
int64_t fs_lseek(struct fs *fs, struct fs_file *f, int64_t off, int whence);
int fs_ftruncate(struct fs *fs, struct fs_file *f, uint64_t size);
int fs_fsync(struct fs *fs, struct fs_file *f);
int fs_fstat(struct fs *fs, struct fs_file *f, struct fs_stat *st);

/* An open regular file as another instance of the same tree can open it
 * (a descriptor passed to a child): where its inode is, and the offset. */
struct fs_file_id {
	uint64_t ino;
	uint32_t home, ioff;
	uint64_t pos;
};
int fs_file_id(struct fs *fs, struct fs_file *f, struct fs_file_id *id);
/* Opens the file id names (flags: access mode and FS_O_APPEND only, or
 * FS_O_RDONLY | FS_O_DIRECTORY for a directory), at its offset. -ESTALE if
 * no such inode is where id says (it was renamed or removed since),
 * -EISDIR / -EINVAL if it is not a regular file (-ENOTDIR: not a directory
 * with FS_O_DIRECTORY). */
int fs_open_id(struct fs *fs, const struct fs_file_id *id, int flags, struct fs_file **out);
/* Several instances on one tree (a process family, lib/posix/fsshare.c):
 * fs_on_move names a function told where each rename of ours moved an
 * inode; fs_relocate applies another instance's move to our open file of
 * that inode (if the inode is there: a later move or removal may have
 * overtaken it); fs_revalidate, after another instance changed the tree,
 * marks every open file whose inode is no longer where we think stale
 * (its calls answer -ESTALE, its close reclaims nothing; opening the name
 * again finds it) and returns how many are. */
void fs_on_move(struct fs *fs, void (*fn)(void *ctx, uint64_t ino, uint32_t home, uint32_t ioff),
		void *ctx);
void fs_relocate(struct fs *fs, uint64_t ino, uint32_t home, uint32_t ioff);
unsigned fs_revalidate(struct fs *fs);

/* Directories by descriptor: an open directory's path now (-ENOENT once it
 * is removed, -ENOTDIR if f is not a directory); fs_open with a relative
 * path taken from that directory (an absolute one as fs_open); a readdir
 * cursor over it. */
int fs_dir_path(struct fs *fs, struct fs_file *f, char *buf, size_t size);
int fs_openat(struct fs *fs, struct fs_file *dir, const char *path, int flags, uint32_t mode,
	      struct fs_file **out);
int fs_opendir_file(struct fs *fs, struct fs_file *f, struct fs_dir *d);
/* Frees every orphan no instance has open (open here, or held elsewhere
 * through fsdev's held hook, it stays): how many orphans are left, or a
 * negative errno. Mount does it too. */
int fs_orphans_reclaim(struct fs *fs);

int fs_truncate(struct fs *fs, const char *path, uint64_t size);
int fs_stat(struct fs *fs, const char *path, struct fs_stat *st);
int fs_lstat(struct fs *fs, const char *path, struct fs_stat *st);
int fs_unlink(struct fs *fs, const char *path);
int fs_rename(struct fs *fs, const char *from, const char *to);
int fs_mkdir(struct fs *fs, const char *path, uint32_t mode);
int fs_rmdir(struct fs *fs, const char *path);
int fs_link(struct fs *fs, const char *from, const char *to);
int fs_symlink(struct fs *fs, const char *target, const char *path);
long fs_readlink(struct fs *fs, const char *path, char *buf, size_t n);
int fs_chmod(struct fs *fs, const char *path, uint32_t mode);
int fs_chown(struct fs *fs, const char *path, uint32_t uid, uint32_t gid);
int fs_utimens(struct fs *fs, const char *path, uint64_t atime_ns, uint64_t mtime_ns);
int fs_statfs(struct fs *fs, struct fs_statfs *st);

int fs_opendir(struct fs *fs, const char *path, struct fs_dir *d);
/* 1 and *out filled, 0 at the end, or a negative errno. */
int fs_readdir(struct fs *fs, struct fs_dir *d, struct fs_dirent *out);

/* fsck (fsck.c): checks a file system that is not mounted, through the same
 * hooks. Returns the number of problems found (0: clean), describing the
 * first in msg; < 0 if it could not run. `sole_root`: no other file system
 * shares the disk, so every block in use must be ours (no leak). */
struct fsck_report {
	uint64_t problems;
	uint64_t files, dirs, symlinks, blocks_claimed;
	bool journal_dirty;
	char msg[200];
};
int fs_fsck(const struct fsdev *dev, bool sole_root, struct fsck_report *rep);

#endif
