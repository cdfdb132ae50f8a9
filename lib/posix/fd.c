/*
 * File descriptors (lib/posix/posix.h): the per-process table, open files
 * shared by dup'd descriptors, the console and /dev/null kinds, dispatch of
 * every descriptor call through the kind's ops, and the path calls, which go
 * to the file system registered with fs_register (lib/fs) or answer -ENOSYS.
 *
 * The table is the process's own memory: fork copies it (and fo_fork tells
 * each kind, so pipes count the child as a holder); a spawned child gets it
 * through the hand-off (fd_export_all / fd_import_all, lib/posix/handoff.h).
 * The layer is single-threaded, as lib/base's malloc is.
 *
 * Hostile stance: descriptors are checked against the table's bounds before
 * use; a kind without an operation answers the POSIX error for it.
 */
#include <lib/base/libos.h>
#include <lib/posix/fsshare.h>
#include <lib/posix/handoff.h>
#include <lib/posix/posix.h>

static struct fdent {
	struct file *fe_file;
	int fe_flags; /* FD_CLOEXEC */
} fdtab[FD_MAX];

static const struct fs_ops *fs;
static file_import_fn *importers[FILE_KIND_MAX];

/* Files of kinds with nothing to close (the console, /dev/null) come from
 * here, not the heap: a program whose heap the kernel repossessed (and
 * refilled with zeros) can still print and exit. */
static struct file static_files[FD_MAX];

static bool is_static(const struct file *f)
{
	return f >= static_files && f < static_files + FD_MAX;
}

struct file *file_new(const struct file_ops *ops, int flags, void *priv)
{
	struct file *f = NULL;
	for (int i = 0; i < FD_MAX && !ops->fo_close && !f; i++)
		if (static_files[i].f_refs == 0)
			f = &static_files[i];
	if (!f)
		f = malloc(sizeof(*f));
	if (f)
		*f = (struct file){ .f_ops = ops, .f_refs = 1, .f_flags = flags, .f_priv = priv };
	return f;
}

void (*file_unwatch)(struct file *f);

void file_put(struct file *f)
{
	if (--f->f_refs > 0)
		return;
	if (f->f_watched && file_unwatch)
		file_unwatch(f); /* its event-set entries go with it, as Linux's */
	if (f->f_ops->fo_close)
		f->f_ops->fo_close(f);
	if (!is_static(f))
		free(f);
}

struct file *fd_file(int fd)
{
	return fd >= 0 && fd < FD_MAX ? fdtab[fd].fe_file : NULL;
}

int fd_install(struct file *f, int min)
{
	for (int fd = MAX(min, 0); fd < FD_MAX; fd++)
		if (!fdtab[fd].fe_file) {
			f->f_refs++;
			fdtab[fd] = (struct fdent){ f, 0 };
			return fd;
		}
	return -EMFILE;
}

int file_kind_register(uint16_t kind, file_import_fn *import)
{
	if (kind == 0 || kind >= FILE_KIND_MAX)
		return -EINVAL;
	importers[kind] = import;
	return 0;
}

void fs_register(const struct fs_ops *ops)
{
	fs = ops;
}

/* ---- the console and /dev/null ---- */

static ssize_t console_read(struct file *f, void *buf, size_t n)
{
	/* Raw bytes: a line discipline is the shell's business. At least one
	 * (waiting unless O_NONBLOCK), then whatever else is typed ahead. */
	uint8_t *b = buf;
	size_t k = 0;
	while (k < n) {
		bool wait = k == 0 && !(f->f_flags & O_NONBLOCK);
		long c = sys_cgetc(wait ? 0 : CGETC_NONBLOCK);
		if (c < 0) {
			if (k)
				break;
			return c == -E_AGAIN ? -EAGAIN : -EIO; /* E_PERM: not ours now */
		}
		b[k++] = (uint8_t)c;
	}
	return (ssize_t)k;
}

static ssize_t console_write(struct file *f UNUSED, const void *buf, size_t n)
{
	long r = sys_cputs(buf, n);
	return r < 0 ? -errno_from_exo(r) : (ssize_t)n;
}

static int chr_fstat(struct file *f, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR | 0666;
	st->st_rdev = f->f_ops->fo_tty ? 0x0501 : 0x0103; /* console 5,1; null 1,3 */
	return 0;
}

static int chr_export(struct file *f UNUSED, envid_t child UNUSED, uint64_t *va_next UNUSED,
		      uint8_t blob[48] UNUSED)
{
	return 0; /* nothing to share: the kind says it all */
}

static const struct file_ops console_ops = {
	.fo_name = "console",
	.fo_read = console_read,
	.fo_write = console_write,
	.fo_fstat = chr_fstat,
	.fo_export = chr_export,
	.fo_poll = console_poll,
	.fo_tty = true,
	.fo_kind = FILE_KIND_CONSOLE,
};

static ssize_t null_read(struct file *f UNUSED, void *buf UNUSED, size_t n UNUSED)
{
	return 0;
}

static ssize_t null_write(struct file *f UNUSED, const void *buf UNUSED, size_t n)
{
	return (ssize_t)n;
}

static const struct file_ops null_ops = {
	.fo_name = "null",
	.fo_read = null_read,
	.fo_write = null_write,
	.fo_fstat = chr_fstat,
	.fo_export = chr_export,
	.fo_kind = FILE_KIND_NULL,
};

static ssize_t zero_read(struct file *f UNUSED, void *buf, size_t n)
{
	memset(buf, 0, n);
	return (ssize_t)n;
}

static const struct file_ops zero_ops = {
	.fo_name = "zero",
	.fo_read = zero_read,
	.fo_write = null_write,
	.fo_fstat = chr_fstat,
	.fo_export = chr_export,
	.fo_kind = FILE_KIND_ZERO,
};

static struct file *zero_import(const uint8_t blob[48] UNUSED, int flags)
{
	return file_new(&zero_ops, flags, NULL);
}

static struct file *console_import(const uint8_t blob[48] UNUSED, int flags)
{
	return file_new(&console_ops, flags, NULL);
}

static struct file *null_import(const uint8_t blob[48] UNUSED, int flags)
{
	return file_new(&null_ops, flags, NULL);
}

/* Open a kind that needs no file system on fd (or the lowest free). */
static int open_chr(const struct file_ops *ops, int flags, int fd)
{
	struct file *f = file_new(ops, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK), NULL);
	if (!f)
		return -ENOMEM;
	int r = fd_install(f, fd);
	file_put(f);
	if (r >= 0 && (flags & O_CLOEXEC))
		fdtab[r].fe_flags = FD_CLOEXEC;
	return r;
}

void fd_default_console(void)
{
	file_kind_register(FILE_KIND_CONSOLE, console_import);
	file_kind_register(FILE_KIND_NULL, null_import);
	file_kind_register(FILE_KIND_ZERO, zero_import);
	for (int fd = 0; fd < 3; fd++)
		if (!fdtab[fd].fe_file)
			open_chr(&console_ops, O_RDWR, fd);
}

/* ---- descriptor calls ---- */

ssize_t read(int fd, void *buf, size_t n)
{
	struct file *f = fd_file(fd);
	if (!f || (f->f_flags & O_ACCMODE) == O_WRONLY || !f->f_ops->fo_read)
		return -EBADF;
	return f->f_ops->fo_read(f, buf, n);
}

static bool sigpipe_ignored;

void posix_ignore_sigpipe(void)
{
	sigpipe_ignored = true;
}

ssize_t write(int fd, const void *buf, size_t n)
{
	struct file *f = fd_file(fd);
	if (!f || (f->f_flags & O_ACCMODE) == O_RDONLY || !f->f_ops->fo_write)
		return -EBADF;
	ssize_t r = f->f_ops->fo_write(f, buf, n);
	/* SIGPIPE's default action: a writer whose reader is gone ends
	 * (`yes | head` stops); a process that ignores it gets EPIPE */
	if (r == -EPIPE && !sigpipe_ignored)
		exit(128 + SIGPIPE);
	return r;
}

ssize_t write_all(int fd, const void *buf, size_t n)
{
	const char *b = buf;
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(fd, b + done, n - done);
		if (w < 0)
			return w;
		if (w == 0)
			return -EIO;
		done += (size_t)w;
	}
	return (ssize_t)n;
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	struct file *f = fd_file(fd);
	if (!f || (f->f_flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	if (off < 0)
		return -EINVAL;
	return f->f_ops->fo_pread ? f->f_ops->fo_pread(f, buf, n, off) : -ESPIPE;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	struct file *f = fd_file(fd);
	if (!f || (f->f_flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	if (off < 0)
		return -EINVAL;
	return f->f_ops->fo_pwrite ? f->f_ops->fo_pwrite(f, buf, n, off) : -ESPIPE;
}

int close(int fd)
{
	struct file *f = fd_file(fd);
	if (!f)
		return -EBADF;
	fdtab[fd] = (struct fdent){ NULL, 0 };
	file_put(f);
	return 0;
}

int dup(int fd)
{
	struct file *f = fd_file(fd);
	return f ? fd_install(f, 0) : -EBADF;
}

int dup2(int oldfd, int newfd)
{
	struct file *f = fd_file(oldfd);
	if (!f || newfd < 0 || newfd >= FD_MAX)
		return -EBADF;
	if (oldfd == newfd)
		return newfd;
	f->f_refs++;
	struct file *old = fdtab[newfd].fe_file;
	fdtab[newfd] = (struct fdent){ f, 0 };
	if (old)
		file_put(old);
	return newfd;
}

off_t lseek(int fd, off_t off, int whence)
{
	struct file *f = fd_file(fd);
	if (!f)
		return -EBADF;
	if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
		return -EINVAL;
	return f->f_ops->fo_lseek ? f->f_ops->fo_lseek(f, off, whence) : -ESPIPE;
}

int fstat(int fd, struct stat *st)
{
	struct file *f = fd_file(fd);
	if (!f)
		return -EBADF;
	return f->f_ops->fo_fstat ? f->f_ops->fo_fstat(f, st) : -ENOSYS;
}

int fcntl(int fd, int cmd, long arg)
{
	struct file *f = fd_file(fd);
	if (!f)
		return -EBADF;
	switch (cmd) {
	case F_DUPFD:
		if (arg < 0 || arg >= FD_MAX)
			return -EINVAL;
		return fd_install(f, (int)arg);
	case F_GETFD: return fdtab[fd].fe_flags;
	case F_SETFD: fdtab[fd].fe_flags = (int)(arg & FD_CLOEXEC); return 0;
	case F_GETFL: return f->f_flags;
	case F_SETFL: /* only these may change after open, as on Linux */
		f->f_flags = (f->f_flags & ~(O_APPEND | O_NONBLOCK)) |
			     (int)(arg & (O_APPEND | O_NONBLOCK));
		return 0;
	default: return -EINVAL;
	}
}

int isatty(int fd)
{
	struct file *f = fd_file(fd);
	if (!f)
		return -EBADF;
	return f->f_ops->fo_tty ? 1 : 0;
}

int ftruncate(int fd, off_t len)
{
	struct file *f = fd_file(fd);
	if (!f || (f->f_flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	if (len < 0)
		return -EINVAL;
	return f->f_ops->fo_truncate ? f->f_ops->fo_truncate(f, len) : -EINVAL;
}

int fsync(int fd)
{
	struct file *f = fd_file(fd);
	if (!f)
		return -EBADF;
	return f->f_ops->fo_sync ? f->f_ops->fo_sync(f) : -EINVAL;
}

/* ---- paths ---- */

/* A file just opened, in the lowest free descriptor (close-on-exec if
 * flags say so); our reference goes to the descriptor. */
static int install_opened(struct file *f, int flags)
{
	int r = fd_install(f, 0);
	file_put(f);
	if (r >= 0 && (flags & O_CLOEXEC))
		fdtab[r].fe_flags = FD_CLOEXEC;
	return r;
}

int open(const char *path, int flags, mode_t mode)
{
	char abs[PATH_MAX];
	int r = path_resolve(path, abs, sizeof(abs));
	if (r < 0)
		return r;
	if (strcmp(abs, "/dev/null") == 0)
		return open_chr(&null_ops, flags, 0);
	if (strcmp(abs, "/dev/zero") == 0)
		return open_chr(&zero_ops, flags, 0);
	if (strcmp(abs, "/dev/tty") == 0) {
		/* our terminal: the job's, if the shell gave us one */
		struct file *t = fd_file(0);
		if (t && t->f_ops->fo_tty)
			return fd_install(t, 0);
		return open_chr(&console_ops, flags, 0);
	}
	if (strcmp(abs, "/dev/console") == 0)
		return open_chr(&console_ops, flags, 0);
	if (!fs || !fs->fs_open)
		return -ENOSYS;
	struct file *f;
	r = fs->fs_open(abs, flags, mode, &f);
	return r < 0 ? r : install_opened(f, flags);
}

/* A relative path from directory descriptor dirfd's directory, wherever it
 * is now: the file system resolves it (its fs_openat). */
int openat(int dirfd, const char *path, int flags, mode_t mode)
{
	if (!path)
		return -EFAULT;
	if (path[0] == '/' || dirfd == AT_FDCWD)
		return open(path, flags, mode);
	struct file *dir = fd_file(dirfd);
	if (!dir)
		return -EBADF;
	if (!path[0])
		return -ENOENT;
	if (!fs || !fs->fs_openat)
		return -ENOTDIR; /* no file system: dirfd is no directory of it */
	struct file *f;
	int r = fs->fs_openat(dir, path, flags, mode, &f);
	return r < 0 ? r : install_opened(f, flags);
}

/* Resolve path into abs[PATH_MAX] (declared by the caller) or return. */
#define RESOLVE(path, abs)                                              \
	do {                                                            \
		int rr_ = path_resolve((path), (abs), sizeof(abs));     \
		if (rr_ < 0)                                            \
			return rr_;                                     \
	} while (0)

int stat(const char *path, struct stat *st)
{
	char abs[PATH_MAX];
	RESOLVE(path, abs);
	return fs && fs->fs_stat ? fs->fs_stat(abs, st, true) : -ENOSYS;
}

int lstat(const char *path, struct stat *st)
{
	char abs[PATH_MAX];
	RESOLVE(path, abs);
	return fs && fs->fs_stat ? fs->fs_stat(abs, st, false) : -ENOSYS;
}

int unlink(const char *path)
{
	char abs[PATH_MAX];
	RESOLVE(path, abs);
	return fs && fs->fs_unlink ? fs->fs_unlink(abs) : -ENOSYS;
}

int rename(const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];
	RESOLVE(from, a);
	RESOLVE(to, b);
	return fs && fs->fs_rename ? fs->fs_rename(a, b) : -ENOSYS;
}

int mkdir(const char *path, mode_t mode)
{
	char abs[PATH_MAX];
	RESOLVE(path, abs);
	return fs && fs->fs_mkdir ? fs->fs_mkdir(abs, mode) : -ENOSYS;
}

int rmdir(const char *path)
{
	char abs[PATH_MAX];
	RESOLVE(path, abs);
	return fs && fs->fs_rmdir ? fs->fs_rmdir(abs) : -ENOSYS;
}

int link(const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];
	RESOLVE(from, a);
	RESOLVE(to, b);
	return fs && fs->fs_link ? fs->fs_link(a, b) : -ENOSYS;
}

int symlink(const char *target, const char *path)
{
	char abs[PATH_MAX];
	RESOLVE(path, abs);
	return fs && fs->fs_symlink ? fs->fs_symlink(target, abs) : -ENOSYS;
}

ssize_t readlink(const char *path, char *buf, size_t size)
{
	char abs[PATH_MAX];
	RESOLVE(path, abs);
	return fs && fs->fs_readlink ? fs->fs_readlink(abs, buf, size) : -ENOSYS;
}

int truncate(const char *path, off_t len)
{
	char abs[PATH_MAX];
	RESOLVE(path, abs);
	if (len < 0)
		return -EINVAL;
	return fs && fs->fs_truncate ? fs->fs_truncate(abs, len) : -ENOSYS;
}

int statfs(const char *path, struct statfs_info *out)
{
	char abs[PATH_MAX];
	RESOLVE(path, abs);
	return fs && fs->fs_statfs ? fs->fs_statfs(out) : -ENOSYS;
}

int sync(void)
{
	return fs && fs->fs_sync ? fs->fs_sync() : 0;
}

struct posix_dir {
	int d_fd;
	struct dirent d_ent;
};

DIR *opendir(const char *path, int *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	struct posix_dir *d = fd >= 0 ? malloc(sizeof(*d)) : NULL;
	if (fd >= 0 && !fd_file(fd)->f_ops->fo_readdir) {
		close(fd);
		free(d);
		*err = ENOTDIR;
		return NULL;
	}
	if (!d) {
		if (fd >= 0)
			close(fd);
		*err = fd < 0 ? -fd : ENOMEM;
		return NULL;
	}
	d->d_fd = fd;
	return d;
}

DIR *fdopendir(int fd, int *err)
{
	struct file *f = fd_file(fd);
	struct stat st;
	if (!f) {
		*err = EBADF;
		return NULL;
	}
	if (!f->f_ops->fo_readdir || fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		*err = ENOTDIR;
		return NULL;
	}
	struct posix_dir *d = malloc(sizeof(*d));
	if (!d) {
		*err = ENOMEM;
		return NULL;
	}
	d->d_fd = fd;
	return d;
}

struct dirent *readdir(DIR *d)
{
	struct file *f = fd_file(d->d_fd);
	if (!f || f->f_ops->fo_readdir(f, &d->d_ent) <= 0)
		return NULL;
	return &d->d_ent;
}

int closedir(DIR *d)
{
	int r = close(d->d_fd);
	free(d);
	return r;
}

/* ---- processes: fork, spawn, exit ---- */

void fd_fork_child(envid_t child)
{
	fs_share_fork(child); /* the file tree's key, for its copy of our files */
	/* each open file once, however many descriptors share it */
	for (int fd = 0; fd < FD_MAX; fd++) {
		struct file *f = fdtab[fd].fe_file;
		bool first = f != NULL;
		for (int j = 0; j < fd && first; j++)
			first = fdtab[j].fe_file != f;
		if (first && f->f_ops->fo_fork)
			f->f_ops->fo_fork(f, child);
	}
}

int fd_export_all(envid_t child, const int *fdmap, int nfd, uint64_t *va_next,
		  struct handoff_fd *out, int *nout)
{
	int n = 0;
	for (int cfd = 0; cfd < (fdmap ? MIN(nfd, FD_MAX) : FD_MAX); cfd++) {
		int pfd = fdmap ? fdmap[cfd] : cfd;
		if (pfd < 0)
			continue;
		struct file *f = fd_file(pfd);
		if (!f) {
			if (fdmap)
				return -EBADF;
			continue;
		}
		if (!fdmap && (fdtab[pfd].fe_flags & FD_CLOEXEC))
			continue;
		if (!f->f_ops->fo_export)
			return -EBADF; /* a kind a child cannot have */
		struct handoff_fd *h = &out[n];
		*h = (struct handoff_fd){ .hf_fd = (int16_t)cfd,
					  .hf_kind = f->f_ops->fo_kind,
					  .hf_flags = f->f_flags,
					  .hf_file = n,
					  .hf_offset = f->f_offset };
		for (int j = 0; j < n; j++) {
			int pj = fdmap ? fdmap[out[j].hf_fd] : out[j].hf_fd;
			if (fd_file(pj) == f) {
				h->hf_file = out[j].hf_file;
				break;
			}
		}
		if (h->hf_file == n) {
			if (*va_next >= POSIX_SHARE_MAX)
				return -EMFILE;
			int r = f->f_ops->fo_export(f, child, va_next, h->hf_blob);
			if (r < 0)
				return r;
		}
		n++;
	}
	*nout = n;
	return 0;
}

void fd_import_all(const struct handoff_fd *in, int n)
{
	struct file *files[FD_MAX] = { 0 };
	for (int i = 0; i < n && i < FD_MAX; i++) {
		const struct handoff_fd *h = &in[i];
		if (h->hf_fd < 0 || h->hf_fd >= FD_MAX || h->hf_file < 0 || h->hf_file > i)
			continue;
		struct file *f = files[h->hf_file];
		if (!f && h->hf_file == i && h->hf_kind < FILE_KIND_MAX && importers[h->hf_kind]) {
			f = files[i] = importers[h->hf_kind](h->hf_blob, h->hf_flags);
			if (f)
				f->f_offset = h->hf_offset;
		}
		if (!f)
			continue; /* what we cannot import stays closed */
		if (fdtab[h->hf_fd].fe_file)
			close(h->hf_fd);
		f->f_refs++;
		fdtab[h->hf_fd] = (struct fdent){ f, 0 };
	}
	for (int i = 0; i < n && i < FD_MAX; i++)
		if (files[i])
			file_put(files[i]); /* the descriptors hold it now */
}

void fd_close_all(void)
{
	for (int fd = 0; fd < FD_MAX; fd++)
		if (fdtab[fd].fe_file)
			close(fd);
}

void fd_close_at_exit(void)
{
	/* Only what others can see closing (pipes, files): the console needs
	 * nothing, and the heap may be gone (repossessed) by now. */
	for (int fd = 0; fd < FD_MAX; fd++)
		if (fdtab[fd].fe_file && !is_static(fdtab[fd].fe_file))
			close(fd);
}

/* ---- errors ---- */

const char *strerror(long e)
{
	if (e < 0)
		e = -e;
	switch (e) {
#define POSIX_ERRNO_CASE(name, num, msg) \
	case num:                        \
		return msg;
		POSIX_ERRNOS(POSIX_ERRNO_CASE)
#undef POSIX_ERRNO_CASE
	case 0: return "Success";
	default: return "Unknown error";
	}
}

int errno_from_exo(long e)
{
	switch (e < 0 ? -e : e) {
	case E_INVAL: return EINVAL;
	case E_FAULT: return EFAULT;
	case E_NO_MEM: return ENOMEM;
	case E_NO_FREE_ENV: return EAGAIN;
	case E_BAD_ENV: return ESRCH;
	case E_PERM: return EPERM;
	case E_BUSY: return EBUSY;
	case E_NOT_FOUND: return ENOENT;
	case E_AGAIN: return EAGAIN;
	case E_NO_SYS: return ENOSYS;
	case E_RANGE: return ERANGE;
	case E_NOT_CHILD: return ECHILD;
	case E_BAD_ELF: return ENOEXEC;
	case E_TOO_BIG: return E2BIG;
	case E_BAD_CAP: return EPERM;
	case E_FULL: return ENOSPC;
	case E_NO_ENTRY: return ENOSYS;
	case E_QUOTA: return ENOMEM; /* as Linux's fork and mmap over a limit */
	default: return EIO;
	}
}
