/*
 * Files on the disk for the POSIX layer: lib/fs (doc/fs.md) registered as
 * the file system behind fd.c's path calls, and its open files as the
 * FILE_KIND_FILE kind of descriptor.
 *
 * The file system is mounted on first use, not at start-up: most programs
 * never touch a file, and XN lets one env mount a tree at a time
 * (fsdev_xn.c), so a program that does not need it must not take it. The
 * mount uses this env's own key (CAP_SELF), which is the tree's guard for
 * the first env; posix_fs_mount lets a program choose another key, and
 * posix_fs_unmount gives the tree up (syncing) so another env can have it.
 *
 * Interface: posix.h's calls (open, read, ..., stat, mkdir, ...) reach the
 * functions here through fs_ops and file_ops; chmod and fdatasync, which
 * fs_ops has no slot for, are here directly.
 *
 * Ownership: the struct fs is this env's; each open file owns its
 * struct fs_file (closed by fo_close when the last descriptor goes), which
 * dup'd descriptors share, and with it the offset.
 *
 * Limits (left undone, see doc/fs.md): a file descriptor cannot yet pass to
 * a child (fo_export is absent, so spawn refuses it with -EBADF and the
 * caller closes it or marks it FD_CLOEXEC); a child that opens files mounts
 * the tree itself, which is only sound while its parent has it unmounted.
 *
 * Hostile input: paths come resolved and bounded (path_resolve); lib/fs
 * checks everything else and answers with an errno value.
 */
#include <lib/posix/posix.h>

#include <inc/disk.h>
#include <lib/base/libos.h>
#include <lib/fs/fs.h>
#include <lib/fs/fsdev_xn.h>
#include <common/string.h>

static struct fsdev dev;
static struct fs *mounted;
static bool dev_open;
static bool exit_hooked;
static void (*next_exit_hook)(void);
static void fs_at_exit(void);

int posix_fs_mount(uint64_t cap)
{
	if (mounted)
		return -EBUSY;
	if (!dev_open) {
		int r = fsdev_xn_open(&dev, cap);
		if (r < 0)
			return r;
		dev_open = true;
	}
	int r = fs_mount(&mounted, &dev);
	if (r == 0 && !exit_hooked) {
		/* here, not at start-up: after every start-up hook has set its own */
		next_exit_hook = libos_exit_hook;
		libos_exit_hook = fs_at_exit;
		exit_hooked = true;
	}
	if (r < 0) {
		fsdev_xn_close(&dev);
		dev_open = false;
		mounted = NULL;
	}
	return r;
}

int posix_fs_unmount(void)
{
	if (!mounted)
		return -EINVAL;
	int r = fs_unmount(mounted);
	mounted = NULL;
	int c = fsdev_xn_close(&dev);
	dev_open = false;
	return r < 0 ? r : c;
}

/* The mounted file system, mounting it with our own key if need be. */
static int need_fs(struct fs **out)
{
	if (!mounted) {
		int r = posix_fs_mount(CAP_SELF);
		if (r < 0)
			return r == -ENODEV ? -ENOSYS : r; /* no disk: no file system */
	}
	*out = mounted;
	return 0;
}

#define NEED_FS(fs)                              \
	struct fs *fs;                           \
	do {                                     \
		int nf_ = need_fs(&fs);          \
		if (nf_ < 0)                     \
			return nf_;              \
	} while (0)

static void stat_from_fs(struct stat *st, const struct fs_stat *in)
{
	*st = (struct stat){ .st_dev = 1, .st_ino = in->st_ino, .st_nlink = in->st_nlink,
			     .st_mode = in->st_mode, .st_uid = in->st_uid, .st_gid = in->st_gid,
			     .st_size = (int64_t)in->st_size, .st_blksize = in->st_blksize,
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
	struct fs_dir df_dir;
	char df_path[PATH_MAX]; /* for readdir, which lib/fs starts by path */
};

static struct disk_file *df_of(struct file *f)
{
	return f->f_priv;
}

static ssize_t df_read(struct file *f, void *buf, size_t n)
{
	if (df_of(f)->df_is_dir)
		return -EISDIR;
	return mounted ? fs_read(mounted, df_of(f)->df_file, buf, n) : -EIO;
}

static ssize_t df_write(struct file *f, const void *buf, size_t n)
{
	return mounted ? fs_write(mounted, df_of(f)->df_file, buf, n) : -EIO;
}

static ssize_t df_pread(struct file *f, void *buf, size_t n, off_t off)
{
	if (df_of(f)->df_is_dir)
		return -EISDIR;
	if (off < 0)
		return -EINVAL;
	return mounted ? fs_pread(mounted, df_of(f)->df_file, buf, n, (uint64_t)off) : -EIO;
}

static ssize_t df_pwrite(struct file *f, const void *buf, size_t n, off_t off)
{
	if (off < 0)
		return -EINVAL;
	return mounted ? fs_pwrite(mounted, df_of(f)->df_file, buf, n, (uint64_t)off) : -EIO;
}

static off_t df_lseek(struct file *f, off_t off, int whence)
{
	return mounted ? fs_lseek(mounted, df_of(f)->df_file, off, whence) : -EIO;
}

static int df_fstat(struct file *f, struct stat *st)
{
	struct fs_stat s;
	int r = mounted ? fs_fstat(mounted, df_of(f)->df_file, &s) : -EIO;
	if (r == 0)
		stat_from_fs(st, &s);
	return r;
}

static int df_readdir(struct file *f, struct dirent *d)
{
	struct disk_file *df = df_of(f);
	if (!df->df_is_dir)
		return -ENOTDIR;
	if (!mounted)
		return -EIO;
	if (!df->df_dir_open) {
		int r = fs_opendir(mounted, df->df_path, &df->df_dir);
		if (r < 0)
			return r;
		df->df_dir_open = true;
	}
	struct fs_dirent e;
	int r = fs_readdir(mounted, &df->df_dir, &e);
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
	return mounted ? fs_ftruncate(mounted, df_of(f)->df_file, (uint64_t)len) : -EIO;
}

static int df_sync(struct file *f)
{
	return mounted ? fs_fsync(mounted, df_of(f)->df_file) : -EIO;
}

static void df_close(struct file *f)
{
	struct disk_file *df = df_of(f);
	if (mounted)
		fs_close(mounted, df->df_file);
	free(df);
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
	.fo_kind = FILE_KIND_FILE,
};

/* ---- the path calls ---- */

static int p_open(const char *path, int flags, mode_t mode, struct file **out)
{
	NEED_FS(fs);
	size_t len = strlen(path);
	if (len >= PATH_MAX)
		return -ENAMETOOLONG;
	struct disk_file *df = malloc(sizeof(*df));
	if (!df)
		return -ENOMEM;
	*df = (struct disk_file){ 0 };
	/* lib/fs takes Linux's flags; O_CLOEXEC and O_NOCTTY are the
	 * descriptor's, O_NONBLOCK means nothing for a disk file */
	int fsflags = flags & (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY);
	int r = fs_open(fs, path, fsflags, mode & 07777, &df->df_file);
	if (r < 0) {
		free(df);
		return r;
	}
	struct fs_stat st;
	r = fs_fstat(fs, df->df_file, &st);
	if (r == 0) {
		df->df_is_dir = S_ISDIR(st.st_mode);
		memcpy(df->df_path, path, len + 1);
	}
	struct file *f = r == 0 ? file_new(&disk_file_ops,
					  flags & (O_ACCMODE | O_APPEND | O_NONBLOCK), df)
				: NULL;
	if (!f) {
		fs_close(fs, df->df_file);
		free(df);
		return r < 0 ? r : -ENOMEM;
	}
	*out = f;
	return 0;
}

static int p_stat(const char *path, struct stat *st, bool follow)
{
	NEED_FS(fs);
	struct fs_stat s;
	int r = follow ? fs_stat(fs, path, &s) : fs_lstat(fs, path, &s);
	if (r == 0)
		stat_from_fs(st, &s);
	return r;
}

static int p_unlink(const char *path)
{
	NEED_FS(fs);
	return fs_unlink(fs, path);
}

static int p_rename(const char *from, const char *to)
{
	NEED_FS(fs);
	return fs_rename(fs, from, to);
}

static int p_mkdir(const char *path, mode_t mode)
{
	NEED_FS(fs);
	return fs_mkdir(fs, path, mode & 07777);
}

static int p_rmdir(const char *path)
{
	NEED_FS(fs);
	return fs_rmdir(fs, path);
}

static int p_link(const char *from, const char *to)
{
	NEED_FS(fs);
	return fs_link(fs, from, to);
}

static int p_symlink(const char *target, const char *path)
{
	NEED_FS(fs);
	return fs_symlink(fs, target, path);
}

static ssize_t p_readlink(const char *path, char *buf, size_t size)
{
	NEED_FS(fs);
	return fs_readlink(fs, path, buf, size);
}

static int p_truncate(const char *path, off_t len)
{
	NEED_FS(fs);
	return fs_truncate(fs, path, (uint64_t)len);
}

static int p_statfs(struct statfs_info *out)
{
	NEED_FS(fs);
	struct fs_statfs s;
	int r = fs_statfs(fs, &s);
	if (r == 0)
		*out = (struct statfs_info){ .f_bsize = s.f_bsize, .f_blocks = s.f_blocks,
					     .f_bfree = s.f_bfree };
	return r;
}

static int p_sync(void)
{
	return mounted ? fs_sync(mounted) : 0;
}

static const struct fs_ops disk_fs_ops = {
	.fs_open = p_open,
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
	NEED_FS(fs);
	return fs_chmod(fs, abs, mode & 07777);
}

int fdatasync(int fd)
{
	return fsync(fd);
}

/* Written-back at exit, so what a program wrote is on the disk when its
 * parent sees it end. */
static void fs_at_exit(void)
{
	if (mounted)
		posix_fs_unmount();
	if (next_exit_hook)
		next_exit_hook();
}

static void posix_fs_start(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fs_register(&disk_fs_ops);
}
LIBOS_INIT(posix_fs_start);

/* What the link asks for by name (-u posix_file_init), so this file is in
 * every program. */
void posix_file_init(void)
{
}
