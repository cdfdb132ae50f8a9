/*
 * The POSIX layer's calls, in one place: descriptors (fd.c), pipes (pipe.c),
 * processes, the environment and the working directory (proc.c), and the
 * hooks by which a file system (lib/fs) and sockets (lib/net) plug in.
 *
 * Convention: every call returns >= 0 on success or a negated Linux error
 * number (lib/posix/errno.h), as Linux's system calls do; there is no errno
 * variable. A call the layer does not have returns -ENOSYS; nothing here
 * crashes on a bad descriptor, pointer-sized length or unknown flag.
 *
 * Flags and structures use Linux's values and layouts (x86-64) where the
 * caller sees them, so a Linux-ABI library OS can forward its calls here.
 */
#ifndef EXO_LIB_POSIX_H
#define EXO_LIB_POSIX_H

#include <inc/types.h>
#include <lib/net/sock.h>
#include <lib/posix/errno.h>
#include <lib/posix/proc.h>

typedef long ssize_t;
typedef long off_t;
typedef int32_t pid_t;
typedef uint32_t mode_t;

/* open flags (Linux x86-64) */
#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR 2
#define O_ACCMODE 3
#define O_CREAT 0100
#define O_EXCL 0200
#define O_NOCTTY 0400
#define O_TRUNC 01000
#define O_APPEND 02000
#define O_NONBLOCK 04000
#define O_DIRECTORY 0200000
#define O_CLOEXEC 02000000

/* fcntl */
#define F_DUPFD 0
#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define FD_CLOEXEC 1

#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

/* st_mode */
#define S_IFMT 0170000
#define S_IFSOCK 0140000
#define S_IFLNK 0120000
#define S_IFREG 0100000
#define S_IFDIR 0040000
#define S_IFCHR 0020000
#define S_IFIFO 0010000
#define S_ISDIR(m) (((m) & S_IFMT) == S_IFDIR)
#define S_ISREG(m) (((m) & S_IFMT) == S_IFREG)
#define S_ISLNK(m) (((m) & S_IFMT) == S_IFLNK)
#define S_ISCHR(m) (((m) & S_IFMT) == S_IFCHR)
#define S_ISFIFO(m) (((m) & S_IFMT) == S_IFIFO)

struct timespec {
	int64_t tv_sec;
	int64_t tv_nsec;
};

/* Linux x86-64's struct stat, field for field. */
struct stat {
	uint64_t st_dev;
	uint64_t st_ino;
	uint64_t st_nlink;
	uint32_t st_mode;
	uint32_t st_uid;
	uint32_t st_gid;
	uint32_t st_pad0;
	uint64_t st_rdev;
	int64_t st_size;
	int64_t st_blksize;
	int64_t st_blocks;
	struct timespec st_atim, st_mtim, st_ctim;
	int64_t st_reserved[3];
};
_Static_assert(sizeof(struct stat) == 144, "struct stat is Linux's");

#define NAME_MAX 255
#define PATH_MAX 1024

#define DT_UNKNOWN 0
#define DT_FIFO 1
#define DT_CHR 2
#define DT_DIR 4
#define DT_REG 8
#define DT_LNK 10

struct dirent {
	uint64_t d_ino;
	uint8_t d_type; /* DT_* */
	char d_name[NAME_MAX + 1];
};

struct statfs_info {
	uint64_t f_bsize, f_blocks, f_bfree, f_files, f_ffree;
};

/* ---- descriptors (fd.c) ---- */

#define FD_MAX 64 /* descriptors per process: bounds the table and the hand-off */

ssize_t read(int fd, void *buf, size_t n);
ssize_t write(int fd, const void *buf, size_t n);
/* write all n bytes (looping over short writes): n or -errno */
ssize_t write_all(int fd, const void *buf, size_t n);
ssize_t pread(int fd, void *buf, size_t n, off_t off);
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off);
int open(const char *path, int flags, mode_t mode);
/* open, with a relative path taken from directory descriptor dirfd
 * (AT_FDCWD: the working directory). The directory is the one dirfd has
 * open, wherever it is now (renamed since: its new place; removed since:
 * -ENOENT); dirfd may have come from a parent. */
#define AT_FDCWD (-100)
int openat(int dirfd, const char *path, int flags, mode_t mode);
int close(int fd);
int dup(int fd);
int dup2(int oldfd, int newfd);
off_t lseek(int fd, off_t off, int whence);
int fstat(int fd, struct stat *st);
int fcntl(int fd, int cmd, long arg);
int isatty(int fd); /* 1, 0, or -EBADF */
int pipe(int fds[2]);
int ftruncate(int fd, off_t len);
int fsync(int fd);

/* Path calls: the registered file system's, or -ENOSYS without one. */
int stat(const char *path, struct stat *st);
int lstat(const char *path, struct stat *st);
int unlink(const char *path);
int rename(const char *from, const char *to);
int mkdir(const char *path, mode_t mode);
int rmdir(const char *path);
int link(const char *from, const char *to);
int symlink(const char *target, const char *path);
ssize_t readlink(const char *path, char *buf, size_t size);
int truncate(const char *path, off_t len);
int statfs(const char *path, struct statfs_info *out);
int sync(void);
int chmod(const char *path, mode_t mode);
int fdatasync(int fd);
/* lib/fs on the disk (file.c): mounted at the first path call with our own
 * key; posix_fs_mount mounts it now with key cap (-EBUSY if mounted),
 * posix_fs_unmount syncs and gives the tree up so another env may mount it. */
int posix_fs_mount(uint64_t cap);
int posix_fs_unmount(void);

/* Directories: an fd opened on a directory, read an entry at a time. */
typedef struct posix_dir DIR;
DIR *opendir(const char *path, int *err); /* NULL and *err = errno on failure */
/* A stream over the directory fd has open, which it takes over (closedir
 * closes fd): NULL and *err = EBADF or ENOTDIR (ENOMEM) on failure. */
DIR *fdopendir(int fd, int *err);
struct dirent *readdir(DIR *d);
int closedir(DIR *d);

/* ---- sockets (socket.c): descriptors over lib/net/sock.h ---- */

/* AF_INET, SOCK_*, SOL_SOCKET, SO_*, TCP_NODELAY, MSG_*, SHUT_* and struct
 * sockaddr_in come from lib/net/sock.h, with Linux's values and layout.
 * A socket stays with the process that made it: it is close-on-exec, and
 * a forked child's copy answers EBADF (socket.c says why). */
typedef uint32_t socklen_t;
#define SOCK_CLOEXEC O_CLOEXEC
int socket(int domain, int type, int protocol);
int bind(int fd, const struct sockaddr_in *addr, socklen_t len);
int listen(int fd, int backlog);
int accept(int fd, struct sockaddr_in *addr, socklen_t *len);
int accept4(int fd, struct sockaddr_in *addr, socklen_t *len, int flags);
int connect(int fd, const struct sockaddr_in *addr, socklen_t len);
ssize_t send(int fd, const void *buf, size_t n, int flags);
ssize_t recv(int fd, void *buf, size_t n, int flags);
ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr_in *to,
	       socklen_t len);
ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr_in *from, socklen_t *len);
int shutdown(int fd, int how);
int getsockname(int fd, struct sockaddr_in *addr, socklen_t *len);
int getpeername(int fd, struct sockaddr_in *addr, socklen_t *len);
int setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int getsockopt(int fd, int level, int name, void *val, socklen_t *len);

/* ---- waiting on several descriptors (poll.c) ---- */

/* Linux's values and layouts (x86-64). */
struct pollfd {
	int fd;        /* < 0: ignored (revents 0) */
	short events;  /* POLL* asked for */
	short revents; /* POLL* that hold: what was asked, and ERR, HUP, NVAL always */
};
typedef unsigned long nfds_t;
#define POLLIN 0x001
#define POLLPRI 0x002
#define POLLOUT 0x004
#define POLLERR 0x008
#define POLLHUP 0x010
#define POLLNVAL 0x020
#define POLLRDNORM 0x040
#define POLLRDBAND 0x080
#define POLLWRNORM 0x100
#define POLLWRBAND 0x200
#define POLLRDHUP 0x2000
#define POLL_NFDS_MAX 1024 /* entries of one poll: Linux's default RLIMIT_NOFILE */

/* Wait until one of fds is ready or timeout ms pass (< 0: no limit; 0:
 * look only). Returns how many entries have revents, 0 when the time ran
 * out, -EFAULT (fds not ours to write), -EINVAL (nfds above
 * POLL_NFDS_MAX), or -ENOMEM. A descriptor not open is POLLNVAL. */
int poll(struct pollfd *fds, nfds_t nfds, int timeout);

struct timeval {
	int64_t tv_sec;
	int64_t tv_usec;
};
#define FD_SETSIZE 1024
typedef struct {
	uint64_t fds_bits[FD_SETSIZE / 64];
} fd_set;
#define FD_ZERO(s) __builtin_memset((s), 0, sizeof(fd_set))
#define FD_SET(fd, s) ((s)->fds_bits[(unsigned)(fd) / 64] |= 1ull << ((unsigned)(fd) % 64))
#define FD_CLR(fd, s) ((s)->fds_bits[(unsigned)(fd) / 64] &= ~(1ull << ((unsigned)(fd) % 64)))
#define FD_ISSET(fd, s) (((s)->fds_bits[(unsigned)(fd) / 64] >> ((unsigned)(fd) % 64)) & 1)
/* poll for descriptors 0..nfds-1 in the sets (each may be NULL): the sets
 * keep only the ready ones; returns how many bits are left set, 0 when the
 * time ran out (timeout NULL: no limit; on return it holds the time left,
 * as Linux's does). Errors: -EBADF a set names a descriptor not open;
 * -EINVAL nfds < 0 or above FD_SETSIZE, or a timeout negative or with
 * tv_usec past 999999; -EFAULT a set or the timeout not ours to write. */
int select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, struct timeval *timeout);

/* ---- event sets (epoll.c): Linux's epoll, over every descriptor ---- */

#define EPOLLIN 0x001
#define EPOLLPRI 0x002
#define EPOLLOUT 0x004
#define EPOLLERR 0x008
#define EPOLLHUP 0x010
#define EPOLLRDNORM 0x040
#define EPOLLRDBAND 0x080
#define EPOLLWRNORM 0x100
#define EPOLLWRBAND 0x200
#define EPOLLMSG 0x400
#define EPOLLRDHUP 0x2000
#define EPOLLEXCLUSIVE (1u << 28)
#define EPOLLWAKEUP (1u << 29)
#define EPOLLONESHOT (1u << 30)
#define EPOLLET (1u << 31)
#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_DEL 2
#define EPOLL_CTL_MOD 3
#define EPOLL_CLOEXEC O_CLOEXEC
#define EPOLL_NEST_MAX 5 /* epoll sets in one chain of sets inside sets (Linux's limit) */

typedef union epoll_data {
	void *ptr;
	int fd;
	uint32_t u32;
	uint64_t u64;
} epoll_data_t;

struct epoll_event {
	uint32_t events;
	epoll_data_t data;
} __attribute__((packed)); /* Linux's layout on x86-64: 12 bytes */

/* A new event set as a descriptor (flags 0 or EPOLL_CLOEXEC; it is always
 * close-on-exec, as sockets are: its set lives in this process's memory).
 * A forked child gets a copy of the set, not the set: later changes in
 * one are not seen by the other. -EINVAL (flags), -EMFILE, -ENOMEM. */
int epoll_create1(int flags);
/* size > 0, else -EINVAL; otherwise epoll_create1(0). */
int epoll_create(int size);
/* Add, change or remove descriptor fd's interest in set epfd (event may
 * be NULL for DEL). Errors: -EBADF epfd or fd not open; -EINVAL epfd not
 * a set, fd is the set itself, an unknown op, or EPOLLEXCLUSIVE where
 * Linux refuses it; -EEXIST (ADD) fd already in the set; -ENOENT (MOD,
 * DEL) it is not; -EPERM fd's kind cannot be waited for (a regular file,
 * a directory, /dev/null, /dev/zero); -ELOOP a set would contain itself
 * or make a chain longer than EPOLL_NEST_MAX; -EFAULT event not ours to
 * read; -ENOMEM. An entry goes when its file's last descriptor closes. */
int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
/* Up to maxevents ready entries into events, waiting up to timeout ms (<
 * 0: no limit; 0: look only) while none is. Returns how many, 0 when the
 * time ran out, -EBADF, -EINVAL (epfd not a set, maxevents <= 0 or too
 * large), -EFAULT (events not ours to write). */
int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);
/* Exo's, for tests: how many times epoll has asked a descriptor's kind
 * what it is ready for (fo_poll), in this process, ever. */
uint64_t epoll_looks(void);

/* ---- processes, environment, working directory (proc.c) ---- */

/* fork, and the library OS's own spawn/exec/wait by program name: proc.h */
pid_t getpid(void);
pid_t getppid(void);
/* Start program prog (a name looked up in $PATH, default /bin, or a path;
 * from the boot image when there is no file system or the name is in no
 * directory of $PATH: lib/posix/exec.c) with argv and envp (NULL: ours). fdmap[i] is the descriptor of ours
 * the child gets as its i (-1: none), for i < nfd; fdmap NULL: the child
 * gets every descriptor of ours without FD_CLOEXEC, as exec would keep
 * them. Returns the child's pid. */
pid_t posix_spawn(const char *prog, char *const argv[], char *const envp[], const int *fdmap,
		  int nfd);
/* Replace this process's program, keeping its pid, parent, descriptors
 * (but FD_CLOEXEC ones) and console. A program from the boot image runs as a
 * child that this process waits for and whose status it exits with (the
 * kernel's env_exec keeps no hand-off, see doc/shell.md). Returns only on
 * error. */
int execve(const char *prog, char *const argv[], char *const envp[]);

/* waitpid options and status (Linux's encoding) */
#define WNOHANG 1
#define WEXITSTATUS(s) (((s) >> 8) & 0xff)
#define WTERMSIG(s) ((s) & 0x7f)
#define WIFEXITED(s) (WTERMSIG(s) == 0)
#define WIFSIGNALED(s) (WTERMSIG(s) != 0)
/* pid > 0: that child; -1: any child. Returns the pid reaped, 0 with
 * WNOHANG if none has ended, or -ECHILD. */
pid_t waitpid(pid_t pid, int *status, int options);

#define SIGHUP 1
#define SIGINT 2
#define SIGQUIT 3
#define SIGKILL 9
#define SIGSEGV 11
#define SIGPIPE 13
#define SIGTERM 15
#define NSIG 32
/* Exo has no signal delivery yet: any signal but 0 ends the process (its
 * parent sees it killed by that signal); 0 only checks it exists. */
int kill(pid_t pid, int sig);
/* Writing to a pipe nobody reads ends the process with status 141, as
 * SIGPIPE's default action does; after this, write returns -EPIPE instead. */
void posix_ignore_sigpipe(void);
/* End pid and every process descended from it (a job, for Ctrl-C). */
int kill_tree(pid_t pid, int sig);

char *getenv(const char *name);
int setenv(const char *name, const char *value, int overwrite);
int unsetenv(const char *name);
/* The environment: NULL-terminated "NAME=value" strings. */
extern char **environ;

int chdir(const char *path);
/* The working directory, always absolute and normalised. */
const char *posix_cwd(void);
char *getcwd(char *buf, size_t size);
/* An absolute, normalised form of path against the working directory into
 * out[size]: its length, or -ENAMETOOLONG. */
int path_resolve(const char *path, char *out, size_t size);

/* ---- what lib/fs and lib/net plug in (fd.c) ---- */

struct file;
/* What one poll's sleep watches (poll.c): the kinds' fo_poll add to it. */
struct poll_wait;
/* Wake on a change of *word (shared memory another process bumps and then
 * wakes with sys_page_wake), which held seen when the kind looked. */
void poll_wait_word(struct poll_wait *w, volatile uint32_t *word, uint32_t seen);
/* Wake on console input (we hold the console). */
void poll_wait_console(struct poll_wait *w);
/* Sleep no longer than ms (a timer falls due). */
void poll_wait_within(struct poll_wait *w, uint64_t ms);
/* Set by socket.c when a process opens the network (so a program without
 * sockets does not link the stack): run this env's TCP stack on what has
 * arrived and the timers due; with w, have the sleep watch the receive
 * ring and end by the next timer. */
extern void (*poll_net_prepare)(struct poll_wait *w);
/* The console kind's fo_poll (fd.c's ops, poll.c's code). */
int console_poll(struct file *f, struct poll_wait *w);
/* The operations of one kind of open file. NULL entries answer -EINVAL
 * (read/write: -EBADF) or -ENOSYS as POSIX says. */
struct file_ops {
	const char *fo_name;
	ssize_t (*fo_read)(struct file *f, void *buf, size_t n);
	ssize_t (*fo_write)(struct file *f, const void *buf, size_t n);
	ssize_t (*fo_pread)(struct file *f, void *buf, size_t n, off_t off);
	ssize_t (*fo_pwrite)(struct file *f, const void *buf, size_t n, off_t off);
	off_t (*fo_lseek)(struct file *f, off_t off, int whence);
	int (*fo_fstat)(struct file *f, struct stat *st);
	int (*fo_readdir)(struct file *f, struct dirent *d); /* 1: an entry, 0: end */
	int (*fo_truncate)(struct file *f, off_t len);
	int (*fo_sync)(struct file *f);
	/* The last descriptor to it is gone. */
	void (*fo_close)(struct file *f);
	/* Pass it to unstarted-or-new child env `child`: bind what it needs
	 * there (at va_next, advancing it) and describe it in blob[48]. */
	int (*fo_export)(struct file *f, envid_t child, uint64_t *va_next, uint8_t blob[48]);
	/* We forked child, which shares our memory and so this file. */
	void (*fo_fork)(struct file *f, envid_t child);
	/* What it is ready for now (POLL*); with w, also what a sleep must
	 * watch to hear of a change (poll_wait_*), armed before looking so
	 * no change is missed. NULL: always POLLIN | POLLOUT, as a regular
	 * file. */
	int (*fo_poll)(struct file *f, struct poll_wait *w);
	/* A socket of this env's stack: its lib/net number, whose changes of
	 * readiness lib/net reports (poll_sock_changed); -1 otherwise. NULL:
	 * not a socket. */
	int (*fo_socket)(struct file *f);
	bool fo_tty;
	uint16_t fo_kind; /* FILE_KIND_*: how a child imports it */
};

/* An open file description: what dup'd descriptors share. */
struct file {
	const struct file_ops *f_ops;
	int f_refs;       /* descriptors pointing here */
	int f_flags;      /* O_ACCMODE | O_APPEND | O_NONBLOCK */
	off_t f_offset;
	void *f_priv;     /* the kind's own */
	void *f_watched;  /* event-set entries on it (epoll.c), NULL: none */
};
/* Set by epoll.c: f's last reference is going, with f_watched set. */
extern void (*file_unwatch)(struct file *f);

enum {
	FILE_KIND_CONSOLE = 1,
	FILE_KIND_NULL,
	FILE_KIND_PIPE,   /* either end: the blob says which */
	FILE_KIND_TTY,    /* a job's terminal: the console, its lines edited (tty.c) */
	FILE_KIND_FILE,   /* lib/fs */
	FILE_KIND_SOCKET, /* lib/net */
	FILE_KIND_ZERO,   /* /dev/zero */
	FILE_KIND_MAX
};

/* Make a child's open file from what fo_export wrote: the file (f_refs 1)
 * or NULL. */
typedef struct file *file_import_fn(const uint8_t blob[48], int flags);
int file_kind_register(uint16_t kind, file_import_fn *import);

/* A new open file of ops with flags, with one reference (the caller's);
 * NULL if out of memory. */
struct file *file_new(const struct file_ops *ops, int flags, void *priv);
/* Drop a reference; the last one closes the file (fo_close). */
void file_put(struct file *f);
/* The lowest free descriptor >= min, now pointing at f (which it takes a
 * reference of): the descriptor, or -EMFILE. */
int fd_install(struct file *f, int min);
/* The open file behind fd, or NULL. */
struct file *fd_file(int fd);

/* A file system: lib/fs registers one at start-up. Paths are absolute and
 * normalised (path_resolve) when they reach it. */
struct fs_ops {
	int (*fs_open)(const char *path, int flags, mode_t mode, struct file **out);
	/* path relative to dir, an open directory of this file system's
	 * (-ENOTDIR if dir is not one) */
	int (*fs_openat)(struct file *dir, const char *path, int flags, mode_t mode,
			 struct file **out);
	int (*fs_stat)(const char *path, struct stat *st, bool follow);
	int (*fs_unlink)(const char *path);
	int (*fs_rename)(const char *from, const char *to);
	int (*fs_mkdir)(const char *path, mode_t mode);
	int (*fs_rmdir)(const char *path);
	int (*fs_link)(const char *from, const char *to);
	int (*fs_symlink)(const char *target, const char *path);
	ssize_t (*fs_readlink)(const char *path, char *buf, size_t size);
	int (*fs_truncate)(const char *path, off_t len);
	int (*fs_statfs)(struct statfs_info *out);
	int (*fs_sync)(void);
};
void fs_register(const struct fs_ops *ops);

/* ---- the layer's own plumbing ---- */

/* The terminal a shell gives its foreground job (tty.c): the console with
 * a line discipline (echo, erase, lines). Returns a descriptor, or -errno. */
int tty_open(void);
/* Is fd such a terminal? */
bool tty_file(int fd);
/* If we hold the console, hand it to pid (which is to read its terminal):
 * 1 if handed, 0 if it was not ours, or -errno. */
int tty_hand_to(pid_t pid);
void tty_kind_register(void);
/* fork's part: register child as a holder of everything we hold. */
void fd_fork_child(envid_t child);
/* Close every descriptor and flush (at exit). */
void fd_close_all(void);
void fd_close_at_exit(void);
/* Pass our descriptors to a new child (proc.c uses it). */
struct handoff_fd;
int fd_export_all(envid_t child, const int *fdmap, int nfd, uint64_t *va_next,
		  struct handoff_fd *out, int *nout);
void fd_import_all(const struct handoff_fd *in, int n);
void fd_default_console(void);

#endif
