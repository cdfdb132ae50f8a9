/*
 * Files on the disk for the POSIX layer: lib/fs (doc/fs.md) registered as
 * the file system behind fd.c's path calls, and its open files as the
 * FILE_KIND_FILE kind of descriptor.
 *
 * Each operation here is one turn at the family's tree (fsturn.c: the
 * mount on first use, turns, holding the tree, following other members'
 * renames; fsshare.c: the family's lock and page).
 *
 * Interface: posix.h's calls (open, read, ..., stat, mkdir, ...) reach the
 * functions here through fs_ops and file_ops; chmod and fdatasync, which
 * fs_ops has no slot for, are here directly. A regular file's descriptor
 * passes to a spawned child (fo_export: which inode, where, the offset;
 * the child opens the same inode in its own instance), so `prog > file`
 * works; from then on the offset lives in the family's page (fsshare.c),
 * shared by every member holding the file, as POSIX wants.
 *
 * Ownership: the struct fs is this env's; each open file owns its
 * struct fs_file (closed by fo_close when the last descriptor goes), which
 * dup'd descriptors share, and with it the offset.
 *
 * Hostile input: paths come resolved and bounded (path_resolve); lib/fs
 * checks everything else and answers with an errno value; an imported
 * file's inode is checked to be where the hand-off says (-ESTALE).
 */
#include <lib/posix/posix.h>

#include <inc/disk.h>
#include <lib/base/libos.h>
#include <lib/fs/fs.h>
#include <lib/fs/fsdev_xn.h>
#include <lib/posix/fsshare.h>
#include <lib/posix/fsturn.h>
#include <common/string.h>

/* A turn at the tree for the rest of the function: fs is the mounted file
 * system; return through fs_turn_end. */
#define TURN(fs)                                 \
	struct fs *fs;                           \
	do {                                     \
		int tb_ = fs_turn_begin(&fs);       \
		if (tb_ < 0)                     \
			return tb_;              \
	} while (0)

static void stat_from_fs(struct stat *st, const struct fs_stat *in)
{
	*st = (struct stat){ .st_dev = 1,
			     .st_ino = in->st_ino,
			     .st_nlink = in->st_nlink,
			     .st_mode = in->st_mode,
			     .st_uid = in->st_uid,
			     .st_gid = in->st_gid,
			     .st_size = (int64_t)in->st_size,
			     .st_blksize = in->st_blksize,
			     .st_blocks = (int64_t)in->st_blocks };
	st->st_atim = (struct timespec){ (int64_t)(in->st_atime_ns / 1000000000),
					 (int64_t)(in->st_atime_ns % 1000000000) };
	st->st_mtim = (struct timespec){ (int64_t)(in->st_mtime_ns / 1000000000),
					 (int64_t)(in->st_mtime_ns % 1000000000) };
	st->st_ctim = (struct timespec){ (int64_t)(in->st_ctime_ns / 1000000000),
					 (int64_t)(in->st_ctime_ns % 1000000000) };
}

/* ---- open files ---- */

/* What a FILE_KIND_FILE file holds: lib/fs's open file and, for a
 * directory, a readdir cursor. */
struct disk_file {
	struct fs_file *df_file;
	bool df_is_dir;
	bool df_dir_open;
	bool df_held; /* counted in the family's holds (fshold.c) as df_ino */
	uint64_t df_ino;
	struct fs_dir df_dir;
	int df_shared; /* 1 + the family's slot of a shared offset; 0: our own */
};

static struct disk_file *df_of(struct file *f)
{
	return f->f_priv;
}

/* A turn for an open file: -EIO once the tree was unmounted under it. */
#define FILE_TURN(fs)                            \
	if (!fs_turn_mounted())                  \
		return -EIO;                     \
	TURN(fs)

/* A file passed to or from another member keeps its offset in the
 * family's page: lib/fs's offset is set from it before an operation that
 * uses it, and it from lib/fs's after (both in the turn). */
static uint64_t *shared_offset(struct disk_file *df)
{
	return df->df_shared ? fs_share_offset(df->df_shared - 1) : NULL;
}

static void offset_in(struct fs *fs, struct disk_file *df)
{
	uint64_t *p = shared_offset(df);
	if (p && (int64_t)*p >= 0)
		fs_lseek(fs, df->df_file, (int64_t)*p, FS_SEEK_SET);
}

static long offset_out(struct fs *fs, struct disk_file *df, long r)
{
	uint64_t *p = shared_offset(df);
	int64_t pos = p ? fs_lseek(fs, df->df_file, 0, FS_SEEK_CUR) : -1;
	if (pos >= 0)
		*p = (uint64_t)pos;
	return r;
}

static ssize_t df_read(struct file *f, void *buf, size_t n)
{
	struct disk_file *df = df_of(f);
	if (df->df_is_dir)
		return -EISDIR;
	FILE_TURN(fs);
	offset_in(fs, df);
	return fs_turn_end(offset_out(fs, df, fs_read(fs, df->df_file, buf, n)));
}

static ssize_t df_write(struct file *f, const void *buf, size_t n)
{
	struct disk_file *df = df_of(f);
	FILE_TURN(fs);
	offset_in(fs, df);
	return fs_turn_end(offset_out(fs, df, fs_write(fs, df->df_file, buf, n)));
}

static ssize_t df_pread(struct file *f, void *buf, size_t n, off_t off)
{
	if (df_of(f)->df_is_dir)
		return -EISDIR;
	if (off < 0)
		return -EINVAL;
	FILE_TURN(fs);
	return fs_turn_end(fs_pread(fs, df_of(f)->df_file, buf, n, (uint64_t)off));
}

static ssize_t df_pwrite(struct file *f, const void *buf, size_t n, off_t off)
{
	if (off < 0)
		return -EINVAL;
	FILE_TURN(fs);
	return fs_turn_end(fs_pwrite(fs, df_of(f)->df_file, buf, n, (uint64_t)off));
}

static off_t df_lseek(struct file *f, off_t off, int whence)
{
	struct disk_file *df = df_of(f);
	FILE_TURN(fs);
	offset_in(fs, df);
	return fs_turn_end(offset_out(fs, df, fs_lseek(fs, df->df_file, off, whence)));
}

static int df_fstat(struct file *f, struct stat *st)
{
	struct fs_stat s;
	FILE_TURN(fs);
	int r = (int)fs_turn_end(fs_fstat(fs, df_of(f)->df_file, &s));
	if (r == 0)
		stat_from_fs(st, &s);
	return r;
}

static int df_readdir(struct file *f, struct dirent *d)
{
	struct disk_file *df = df_of(f);
	if (!df->df_is_dir)
		return -ENOTDIR;
	FILE_TURN(fs);
	if (!df->df_dir_open) {
		int r = fs_opendir_file(fs, df->df_file, &df->df_dir);
		if (r < 0)
			return (int)fs_turn_end(r);
		df->df_dir_open = true;
	}
	struct fs_dirent e;
	int r = (int)fs_turn_end(fs_readdir(fs, &df->df_dir, &e));
	if (r <= 0)
		return r;
	d->d_ino = e.d_ino;
	d->d_type = e.d_type; /* lib/fs's DT_ values are Linux's */
	size_t len = strlen(e.d_name);
	if (len > NAME_MAX)
		len = NAME_MAX;
	memcpy(d->d_name, e.d_name, len);
	d->d_name[len] = '\0';
	return 1;
}

static int df_truncate(struct file *f, off_t len)
{
	FILE_TURN(fs);
	return (int)fs_turn_end(fs_ftruncate(fs, df_of(f)->df_file, (uint64_t)len));
}

static int df_sync(struct file *f)
{
	FILE_TURN(fs);
	return (int)fs_turn_end_as(fs_fsync(fs, df_of(f)->df_file), true);
}

/* Our hold on df's inode goes, in a turn of the family's lock but with
 * the tree unmounted (posix_fs_unmount, execve): nothing closes the inode
 * here, so the family's next turn looks for orphans nobody holds. */
static void drop_unmounted(struct disk_file *df)
{
	bool changed;
	if (!df->df_held || fs_share_lock(&changed) < 0)
		return;
	fs_hold_drop(df->df_ino, thisenv_id, true);
	fs_share_unlock(false);
	df->df_held = false;
}

static void df_close(struct file *f)
{
	struct disk_file *df = df_of(f);
	struct fs *fs;
	if (fs_turn_mounted() && fs_turn_begin(&fs) == 0) {
		if (df->df_shared)
			fs_share_offset_put(df->df_shared - 1);
		/* ours first: lib/fs frees a nameless inode at our last close
		 * only if no other member holds it */
		if (df->df_held)
			fs_hold_drop(df->df_ino, thisenv_id, false);
		fs_turn_end(fs_close(fs, df->df_file));
	} else {
		drop_unmounted(df);
	}
	free(df);
}

/* fork: the child's copy of this file holds the inode too (one more hold,
 * the child's), and uses the same shared offset, if it has one (a file not
 * yet passed keeps a copy of its offset each). */
static void df_fork(struct file *f, envid_t child)
{
	struct disk_file *df = df_of(f);
	struct fs *fs;
	if (fs_turn_mounted() && fs_turn_begin(&fs) == 0) {
		if (df->df_shared)
			fs_share_offset_hold(df->df_shared - 1);
		/* no room: the child's copy is not counted, and answers ESTALE
		 * if another member removes the file (before holds, always) */
		if (df->df_held)
			fs_hold_take(df->df_ino, child);
		fs_turn_end(0);
	}
}

/* What a passed file's blob holds. */
#define DF_BLOB_HELD 1 /* the parent took the child's hold on the inode */
#define DF_BLOB_DIR 2  /* a directory */
struct df_blob {
	struct fs_file_id b_id;
	int32_t b_offset; /* the family's slot of the shared offset, or -1 */
	uint32_t b_flags; /* DF_BLOB_* */
};
_Static_assert(sizeof(struct df_blob) <= 48, "fits the hand-off's blob");

/* A child gets which inode, where, and the offset, which from now on is
 * shared through the family's page (one more reference: the child's), and
 * a hold on the inode taken for it, so the file outlives our close and
 * unlink before the child starts. A directory's readdir cursor does not
 * travel: the child reads it from the start. */
static int df_export(struct file *f, envid_t child, uint64_t *va_next UNUSED, uint8_t blob[48])
{
	struct disk_file *df = df_of(f);
	struct df_blob b = { .b_offset = -1, .b_flags = df->df_is_dir ? DF_BLOB_DIR : 0 };
	FILE_TURN(fs);
	offset_in(fs, df);
	int r = (int)fs_file_id(fs, df->df_file, &b.b_id);
	if (r == 0 && df->df_held) {
		r = fs_hold_take(b.b_id.ino, child);
		b.b_flags |= r == 0 ? DF_BLOB_HELD : 0;
	}
	if (r == 0 && !df->df_shared && !df->df_is_dir) {
		int slot = fs_share_offset_new(b.b_id.pos);
		df->df_shared = slot + 1; /* 0 if none is free: the child's own */
	}
	if (r == 0 && df->df_shared) {
		fs_share_offset_hold(df->df_shared - 1);
		b.b_offset = df->df_shared - 1;
	}
	r = (int)fs_turn_end(r);
	if (r == 0)
		memcpy(blob, &b, sizeof(b));
	return r;
}

static const struct file_ops disk_file_ops;

static struct file *df_import(const uint8_t blob[48], int flags)
{
	struct df_blob b;
	memcpy(&b, blob, sizeof(b));
	struct disk_file *df = malloc(sizeof(*df));
	struct fs *fs;
	if (!df || fs_turn_begin(&fs) < 0) {
		free(df);
		return NULL;
	}
	*df = (struct disk_file){ 0 };
	if (fs_share_offset(b.b_offset))
		df->df_shared = b.b_offset + 1; /* the reference our parent took for us */
	df->df_is_dir = b.b_flags & DF_BLOB_DIR;
	/* the hold our parent took for us is ours now */
	df->df_held = b.b_flags & DF_BLOB_HELD, df->df_ino = b.b_id.ino;
	int oflags = df->df_is_dir ? O_RDONLY | O_DIRECTORY : flags & (O_ACCMODE | O_APPEND);
	int r = fs_open_id(fs, &b.b_id, oflags, &df->df_file);
	struct file *file =
		r == 0 ? file_new(&disk_file_ops, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK), df)
		       : NULL;
	if (!file) {
		if (df->df_held) /* before the close, so lib/fs may free it */
			fs_hold_drop(df->df_ino, thisenv_id, r < 0);
		if (r == 0)
			fs_close(fs, df->df_file);
		if (df->df_shared)
			fs_share_offset_put(df->df_shared - 1);
		free(df);
	}
	fs_turn_end(0);
	return file;
}

static const struct file_ops disk_file_ops = {
	.fo_name = "file",
	.fo_read = df_read,
	.fo_write = df_write,
	.fo_pread = df_pread,
	.fo_pwrite = df_pwrite,
	.fo_lseek = df_lseek,
	.fo_fstat = df_fstat,
	.fo_readdir = df_readdir,
	.fo_truncate = df_truncate,
	.fo_sync = df_sync,
	.fo_close = df_close,
	.fo_export = df_export,
	.fo_fork = df_fork,
	.fo_kind = FILE_KIND_FILE,
};

/* ---- the path calls ---- */

/* open and openat: path from the root, or (dir) from that open directory. */
static int open_in(struct file *dir, const char *path, int flags, mode_t mode, struct file **out)
{
	if (strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (dir && dir->f_ops != &disk_file_ops)
		return -ENOTDIR;
	struct disk_file *df = malloc(sizeof(*df));
	if (!df)
		return -ENOMEM;
	*df = (struct disk_file){ 0 };
	struct fs *fs;
	int r = dir ? (fs_turn_mounted() ? fs_turn_begin(&fs) : -EIO) : fs_turn_begin(&fs);
	if (r < 0) {
		free(df);
		return r;
	}
	/* the family's table of open files full: before anything is created */
	if (!fs_hold_room()) {
		free(df);
		return (int)fs_turn_end(-ENFILE);
	}
	/* lib/fs takes Linux's flags; O_CLOEXEC and O_NOCTTY are the
	 * descriptor's, O_NONBLOCK means nothing for a disk file */
	int fsflags = flags & (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY);
	r = dir ? fs_openat(fs, df_of(dir)->df_file, path, fsflags, mode & 07777, &df->df_file)
		: fs_open(fs, path, fsflags, mode & 07777, &df->df_file);
	if (r < 0) {
		free(df);
		return (int)fs_turn_end(r);
	}
	struct fs_stat st;
	r = fs_fstat(fs, df->df_file, &st);
	if (r == 0) {
		df->df_is_dir = S_ISDIR(st.st_mode);
		df->df_ino = st.st_ino;
		r = fs_hold_take(st.st_ino, thisenv_id);
		df->df_held = r == 0;
	}
	struct file *f =
		r == 0 ? file_new(&disk_file_ops, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK), df)
		       : NULL;
	if (!f) {
		if (df->df_held)
			fs_hold_drop(df->df_ino, thisenv_id, false);
		fs_close(fs, df->df_file);
		free(df);
		return (int)fs_turn_end(r < 0 ? r : -ENOMEM);
	}
	*out = f;
	return (int)fs_turn_end(0);
}

static int p_open(const char *path, int flags, mode_t mode, struct file **out)
{
	return open_in(NULL, path, flags, mode, out);
}

static int p_openat(struct file *dir, const char *path, int flags, mode_t mode, struct file **out)
{
	return open_in(dir, path, flags, mode, out);
}

static int p_stat(const char *path, struct stat *st, bool follow)
{
	struct fs_stat s;
	TURN(fs);
	int r = (int)fs_turn_end(follow ? fs_stat(fs, path, &s) : fs_lstat(fs, path, &s));
	if (r == 0)
		stat_from_fs(st, &s);
	return r;
}

static int p_unlink(const char *path)
{
	TURN(fs);
	return fs_turn_end(fs_unlink(fs, path));
}

static int p_rename(const char *from, const char *to)
{
	TURN(fs);
	return fs_turn_end(fs_rename(fs, from, to));
}

static int p_mkdir(const char *path, mode_t mode)
{
	TURN(fs);
	return fs_turn_end(fs_mkdir(fs, path, mode & 07777));
}

static int p_rmdir(const char *path)
{
	TURN(fs);
	return fs_turn_end(fs_rmdir(fs, path));
}

static int p_link(const char *from, const char *to)
{
	TURN(fs);
	return fs_turn_end(fs_link(fs, from, to));
}

static int p_symlink(const char *target, const char *path)
{
	TURN(fs);
	return fs_turn_end(fs_symlink(fs, target, path));
}

static ssize_t p_readlink(const char *path, char *buf, size_t size)
{
	TURN(fs);
	return fs_turn_end(fs_readlink(fs, path, buf, size));
}

static int p_truncate(const char *path, off_t len)
{
	TURN(fs);
	return fs_turn_end(fs_truncate(fs, path, (uint64_t)len));
}

static int p_statfs(struct statfs_info *out)
{
	struct fs_statfs s;
	TURN(fs);
	int r = (int)fs_turn_end(fs_statfs(fs, &s));
	if (r == 0)
		*out = (struct statfs_info){ .f_bsize = s.f_bsize,
					     .f_blocks = s.f_blocks,
					     .f_bfree = s.f_bfree };
	return r;
}

static int p_sync(void)
{
	if (!fs_turn_mounted())
		return 0;
	TURN(fs);
	/* what a hold of ours changed is committed; nothing else is pending */
	return (int)fs_turn_end_as(0, true);
}

static const struct fs_ops disk_fs_ops = {
	.fs_open = p_open,
	.fs_openat = p_openat,
	.fs_stat = p_stat,
	.fs_unlink = p_unlink,
	.fs_rename = p_rename,
	.fs_mkdir = p_mkdir,
	.fs_rmdir = p_rmdir,
	.fs_link = p_link,
	.fs_symlink = p_symlink,
	.fs_readlink = p_readlink,
	.fs_truncate = p_truncate,
	.fs_statfs = p_statfs,
	.fs_sync = p_sync,
};

int chmod(const char *path, mode_t mode)
{
	char abs[PATH_MAX];
	int r = path_resolve(path, abs, sizeof(abs));
	if (r < 0)
		return r;
	TURN(fs);
	return fs_turn_end(fs_chmod(fs, abs, mode & 07777));
}

int fdatasync(int fd)
{
	return fsync(fd);
}

static void posix_fs_start(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fs_register(&disk_fs_ops);
}

void posix_file_holds_drop(void)
{
	struct fs *fs;
	bool turn = fs_turn_mounted() && fs_turn_begin(&fs) == 0;
	for (int fd = 0; fd < FD_MAX; fd++) {
		struct file *f = fd_file(fd);
		if (!f || f->f_ops != &disk_file_ops || !df_of(f)->df_held)
			continue; /* dup'd descriptors share one file: dropped once */
		if (turn) {
			fs_hold_drop(df_of(f)->df_ino, thisenv_id, false);
			df_of(f)->df_held = false;
		} else {
			drop_unmounted(df_of(f));
		}
	}
	if (turn)
		fs_turn_end(0);
}

/* Before the hand-off is read (proc.c), so passed files can be imported. */
void posix_file_kind_register(void)
{
	file_kind_register(FILE_KIND_FILE, df_import);
}
LIBOS_INIT(posix_fs_start);

/* What the link asks for by name (-u posix_file_init), so this file is in
 * every program. */
void posix_file_init(void)
{
}
