/*
 * Sockets as descriptors: the socket calls of posix.h over lib/net's socket
 * layer (lib/net/sock.h), and a FILE_KIND_SOCKET kind of open file, so
 * read, write, close, dup, fcntl(O_NONBLOCK) and fstat work on a socket as
 * on any descriptor.
 *
 * A socket is this process's own. Its connection lives in this env's TCP
 * stack (lib/net, in our memory) and arrives through this env's ring and
 * packet filter; nothing else can carry it on. So a socket descriptor is
 * always close-on-exec (spawn and exec do not pass it), and after fork the
 * child's copy of the descriptor answers EBADF to every call, and its
 * close only forgets it: the connection stays the parent's, untouched by a
 * child that holds a copy-on-write image of the parent's stack. Sharing a
 * listening socket between processes (pre-fork servers) would need the
 * stack's state in shared memory; it is not done.
 *
 * The network is opened (net_open: our ring, our address) on the first
 * socket call of each env. Without a NIC sockets are still made, and the
 * calls that need the wire fail (ENETDOWN, EHOSTUNREACH).
 *
 * Errors: the socket layer's negated codes become Linux's errno values
 * (sock_errno); a descriptor that is not a socket is ENOTSOCK; an address
 * shorter than struct sockaddr_in is EINVAL, another family EAFNOSUPPORT.
 */
#include <lib/posix/pollwait.h>
#include <lib/posix/posix.h>

#include <lib/base/libos.h>
#include <lib/net/net.h>
#include <lib/net/sock.h>
#include <common/string.h>

struct psock {
	int ps_sd;         /* lib/net's socket */
	envid_t ps_owner;  /* the env whose stack holds it */
};

static const struct file_ops sock_ops;
static envid_t net_opened_by; /* net_open ran in this env (a forked child must redo it) */

/* A socket-layer result (a count, or a negated lib/net code) as ours. */
static long from_sock(long r)
{
	return r < 0 ? -(long)sock_errno((int)r) : r;
}

/* The socket behind fd, ours to use: 0 and *sd, or the negated errno. */
static int sock_of(int fd, int *sd)
{
	struct file *f = fd_file(fd);
	if (!f)
		return -EBADF;
	if (f->f_ops != &sock_ops)
		return -ENOTSOCK;
	struct psock *ps = f->f_priv;
	if (ps->ps_owner != thisenv_id)
		return -EBADF; /* our parent's, copied by fork */
	sock_set_nonblock(ps->ps_sd, (f->f_flags & O_NONBLOCK) != 0);
	*sd = ps->ps_sd;
	return 0;
}

#define SOCK_OF(fd, sd)                         \
	int sd;                                 \
	do {                                    \
		int so_ = sock_of((fd), &sd);   \
		if (so_ < 0)                    \
			return so_;             \
	} while (0)

static int check_addr(const struct sockaddr_in *a, socklen_t len)
{
	if (!a || len < sizeof(*a))
		return -EINVAL;
	return a->sin_family == AF_INET ? 0 : -EAFNOSUPPORT;
}

/* --- the open file --- */

static ssize_t sk_read(struct file *f, void *buf, size_t n)
{
	struct psock *ps = f->f_priv;
	if (ps->ps_owner != thisenv_id)
		return -EBADF;
	int flags = (f->f_flags & O_NONBLOCK) ? MSG_DONTWAIT : 0;
	return from_sock(sock_recv(ps->ps_sd, buf, n, flags));
}

static ssize_t sk_write(struct file *f, const void *buf, size_t n)
{
	struct psock *ps = f->f_priv;
	if (ps->ps_owner != thisenv_id)
		return -EBADF;
	int flags = (f->f_flags & O_NONBLOCK) ? MSG_DONTWAIT : 0;
	return from_sock(sock_send(ps->ps_sd, buf, n, flags)); /* EPIPE: write's SIGPIPE */
}

static int sk_fstat(struct file *f, struct stat *st)
{
	struct psock *ps = f->f_priv;
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFSOCK | 0777;
	st->st_ino = (uint64_t)ps->ps_sd;
	return 0;
}

static void sk_close(struct file *f)
{
	struct psock *ps = f->f_priv;
	if (ps->ps_owner == thisenv_id)
		sock_close(ps->ps_sd);
	free(ps);
}

/* poll: sock_poll's SOCK_EV_* bits are Linux's POLL* values. */
static int sk_poll(struct file *f, struct poll_wait *w UNUSED)
{
	struct psock *ps = f->f_priv;
	if (ps->ps_owner != thisenv_id)
		return POLLNVAL; /* our parent's, copied by fork */
	int ev = sock_poll(ps->ps_sd);
	if (ev < 0)
		return POLLNVAL;
	return ev & (POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDHUP);
}

static void net_prepare(struct poll_wait *w)
{
	if (net_opened_by != thisenv_id)
		return; /* no stack of ours runs here: nothing to take or time */
	volatile uint32_t *word;
	uint32_t seen;
	uint64_t ms;
	if (sock_poll_prepare(&word, &seen, &ms) < 0 || !w)
		return;
	if (word)
		poll_wait_word(w, word, seen);
	poll_wait_within(w, ms);
}

static int sk_socket(struct file *f)
{
	struct psock *ps = f->f_priv;
	return ps->ps_owner == thisenv_id ? ps->ps_sd : -1;
}

/* lib/net: sd's readiness may have changed; epoll.c keeps its ready lists. */
static void sk_changed(int sd)
{
	if (poll_sock_changed)
		poll_sock_changed(sd);
}

static const struct file_ops sock_ops = {
	.fo_name = "socket",
	.fo_read = sk_read,
	.fo_write = sk_write,
	.fo_fstat = sk_fstat,
	.fo_close = sk_close,
	.fo_poll = sk_poll,
	.fo_socket = sk_socket,
	/* no fo_export: see the top; descriptors are close-on-exec */
	.fo_kind = FILE_KIND_SOCKET,
};

/* A descriptor for lib/net's socket sd (closed if none can be made). */
static int install(int sd, bool nonblock)
{
	struct psock *ps = malloc(sizeof(*ps));
	struct file *f = ps ? file_new(&sock_ops, O_RDWR | (nonblock ? O_NONBLOCK : 0), ps) : NULL;
	if (!f) {
		free(ps);
		sock_close(sd);
		return -ENOMEM;
	}
	*ps = (struct psock){ sd, thisenv_id };
	int fd = fd_install(f, 0);
	file_put(f); /* fd_install took its own reference; none: this closes it */
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

/* --- the calls --- */

int socket(int domain, int type, int protocol)
{
	if (domain != AF_INET)
		return -EAFNOSUPPORT;
	if (net_opened_by != thisenv_id) {
		int r = net_open(); /* no NIC: sockets without a wire, see the top */
		if (r < 0 && r != -E_NOT_FOUND)
			return -errno_from_exo(r);
		net_opened_by = thisenv_id;
		poll_net_prepare = net_prepare;
		sock_change_hook = sk_changed;
	}
	bool nonblock = (type & SOCK_NONBLOCK) != 0;
	int sd = sock_socket(domain, type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), protocol);
	if (sd < 0)
		return (int)from_sock(sd);
	return install(sd, nonblock);
}

int bind(int fd, const struct sockaddr_in *addr, socklen_t len)
{
	SOCK_OF(fd, sd);
	int r = check_addr(addr, len);
	return r < 0 ? r : (int)from_sock(sock_bind(sd, addr));
}

int listen(int fd, int backlog)
{
	SOCK_OF(fd, sd);
	return (int)from_sock(sock_listen(sd, backlog));
}

int accept4(int fd, struct sockaddr_in *addr, socklen_t *len, int flags)
{
	SOCK_OF(fd, sd);
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (addr && (!len || *len < sizeof(*addr)))
		return -EINVAL;
	struct sockaddr_in peer;
	int c = sock_accept(sd, &peer, flags & SOCK_NONBLOCK);
	if (c < 0)
		return (int)from_sock(c);
	if (addr) {
		*addr = peer;
		*len = sizeof(peer);
	}
	return install(c, (flags & SOCK_NONBLOCK) != 0);
}

int accept(int fd, struct sockaddr_in *addr, socklen_t *len)
{
	return accept4(fd, addr, len, 0);
}

int connect(int fd, const struct sockaddr_in *addr, socklen_t len)
{
	SOCK_OF(fd, sd);
	int r = check_addr(addr, len);
	return r < 0 ? r : (int)from_sock(sock_connect(sd, addr));
}

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	SOCK_OF(fd, sd);
	return from_sock(sock_send(sd, buf, n, flags));
}

ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	SOCK_OF(fd, sd);
	return from_sock(sock_recv(sd, buf, n, flags));
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr_in *to,
	       socklen_t len)
{
	SOCK_OF(fd, sd);
	if (to) {
		int r = check_addr(to, len);
		if (r < 0)
			return r;
	}
	return from_sock(sock_sendto(sd, buf, n, flags, to));
}

ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr_in *from, socklen_t *len)
{
	SOCK_OF(fd, sd);
	if (from && (!len || *len < sizeof(*from)))
		return -EINVAL;
	ssize_t r = from_sock(sock_recvfrom(sd, buf, n, flags, from));
	if (r >= 0 && from)
		*len = sizeof(*from);
	return r;
}

int shutdown(int fd, int how)
{
	SOCK_OF(fd, sd);
	return (int)from_sock(sock_shutdown(sd, how));
}

int getsockname(int fd, struct sockaddr_in *addr, socklen_t *len)
{
	SOCK_OF(fd, sd);
	if (!addr || !len || *len < sizeof(*addr))
		return -EINVAL;
	*len = sizeof(*addr);
	return (int)from_sock(sock_getsockname(sd, addr));
}

int getpeername(int fd, struct sockaddr_in *addr, socklen_t *len)
{
	SOCK_OF(fd, sd);
	if (!addr || !len || *len < sizeof(*addr))
		return -EINVAL;
	*len = sizeof(*addr);
	return (int)from_sock(sock_getpeername(sd, addr));
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	SOCK_OF(fd, sd);
	return (int)from_sock(sock_setsockopt(sd, level, name, val, len));
}

int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	SOCK_OF(fd, sd);
	if (!len)
		return -EFAULT;
	size_t n = *len;
	int r = sock_getsockopt(sd, level, name, val, &n);
	if (r < 0)
		return (int)from_sock(r);
	*len = (socklen_t)n;
	return r;
}
