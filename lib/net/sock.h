/*
 * Sockets for the library OS (lib/net/sock.c, options in lib/net/sockopt.c)
 * and an epoll-like event API (lib/net/sockev.c), over the TCP stack (lib/net/tcp.h, one per program,
 * lib/net/tcpnet.h) and UDP (lib/net/udp.c).
 *
 * A socket is a small integer (0..SOCK_MAX-1) naming an entry of this
 * program's socket table; it is not a file descriptor. lib/posix wraps each
 * as a descriptor: its ops call sock_recv/sock_send/sock_close, its poll
 * asks sock_poll and sleeps in sock_wait, and it turns the negative codes
 * returned here into Linux errno values with sock_errno. The constants and
 * struct layouts are Linux's (x86-64), so they pass through unchanged.
 *
 * Errors are negated codes: inc/error.h's (-E_AGAIN: would block, -E_INVAL,
 * -E_NO_MEM, -E_FULL: no free socket, -E_TOO_BIG: datagram too long) and
 * lib/net/sockerr.h's (-ECONNREFUSED, -EADDRINUSE, -EBADF, ...). This
 * header does not include sockerr.h: its names have Exo's numbers, not
 * the Linux values of lib/posix/errno.h's same names, so a descriptor layer
 * includes this header beside its errno.h and converts with sock_errno;
 * programs that test for the codes include lib/net/sockerr.h.
 *
 * Blocking: every call that may wait (accept, connect, send, recv, close
 * with SO_LINGER) waits by running the stack (tcpnet_run), which sleeps in
 * the kernel until a frame arrives or a TCP timer falls due; a socket in
 * non-blocking mode (SOCK_NONBLOCK, sock_set_nonblock, MSG_DONTWAIT)
 * answers -E_AGAIN instead, and connect -EINPROGRESS.
 *
 * SO_ERROR reads a negated code like the rest (sock_errno makes it
 * Linux's).
 *
 * Addresses: IPv4 only (AF_INET); struct sockaddr_in in network byte
 * order, as everywhere. INADDR_ANY binds to this machine's address.
 *
 * Single-threaded, like the stack: the program serialises every call.
 */
#ifndef EXO_LIB_NET_SOCK_H
#define EXO_LIB_NET_SOCK_H

#include <inc/types.h>

struct tcp_conn;

#define SOCK_MAX 2048 /* sockets open at once: the table is static */
#define SOCK_EPOLL_MAX 16 /* event sets open at once */

/* Linux's values. */
#define AF_INET 2
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_NONBLOCK 0x800
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define INADDR_ANY 0u

#define SOL_SOCKET 1
#define SO_REUSEADDR 2
#define SO_TYPE 3
#define SO_ERROR 4
#define SO_SNDBUF 7
#define SO_RCVBUF 8
#define SO_KEEPALIVE 9
#define SO_LINGER 13
#define TCP_NODELAY 1
#define TCP_KEEPIDLE 4
#define TCP_KEEPINTVL 5
#define TCP_KEEPCNT 6

#define MSG_PEEK 0x2
#define MSG_DONTWAIT 0x40
#define MSG_NOSIGNAL 0x4000

#define SHUT_RD 0
#define SHUT_WR 1
#define SHUT_RDWR 2

struct sockaddr_in {
	uint16_t sin_family; /* AF_INET */
	uint16_t sin_port;   /* network order */
	uint32_t sin_addr;   /* network order */
	uint8_t sin_zero[8];
};
_Static_assert(sizeof(struct sockaddr_in) == 16, "Linux's layout");

struct linger {
	int l_onoff;
	int l_linger; /* seconds */
};

/* --- sockets (sock.c; options and sock_errno: sockopt.c) --- */
/* domain AF_INET; type SOCK_STREAM or SOCK_DGRAM, optionally | SOCK_NONBLOCK;
 * protocol 0 or the type's. The socket, or -E_INVAL, -EOPNOTSUPP, -E_FULL. */
int sock_socket(int domain, int type, int protocol);
int sock_bind(int sd, const struct sockaddr_in *addr);
int sock_listen(int sd, int backlog);
/* The next connection (a new socket, blocking or not as flags'
 * SOCK_NONBLOCK says), its peer in *peer (may be NULL). */
int sock_accept(int sd, struct sockaddr_in *peer, int flags);
int sock_connect(int sd, const struct sockaddr_in *addr);
/* Bytes taken or received; recv returns 0 at end of stream. flags:
 * MSG_DONTWAIT; MSG_NOSIGNAL is accepted (there are no signals). */
long sock_send(int sd, const void *buf, size_t len, int flags);
long sock_recv(int sd, void *buf, size_t len, int flags);
/* For UDP (TCP ignores to, fills from with the peer). */
long sock_sendto(int sd, const void *buf, size_t len, int flags, const struct sockaddr_in *to);
long sock_recvfrom(int sd, void *buf, size_t len, int flags, struct sockaddr_in *from);
int sock_shutdown(int sd, int how);
int sock_close(int sd);
int sock_getsockname(int sd, struct sockaddr_in *addr);
int sock_getpeername(int sd, struct sockaddr_in *addr);
/* val is an int, or a struct linger for SO_LINGER; *len in and out. */
int sock_setsockopt(int sd, int level, int name, const void *val, size_t len);
int sock_getsockopt(int sd, int level, int name, void *val, size_t *len);
int sock_set_nonblock(int sd, bool on);

/* What sd is ready for now (SOCK_EV_* bits), running no input: for a
 * descriptor layer's poll. -EBADF if sd is not open. */
int sock_poll(int sd);
/* Process what has arrived and the timers due, sleeping up to timeout_ms
 * in the kernel for a frame first if nothing has. */
int sock_wait(uint64_t timeout_ms);
/* For a descriptor layer's poll, which sleeps by itself: process what has
 * arrived and the timers due without sleeping, then say what a sleep must
 * watch: *word (NULL: no ring) holding *seen until the next frame, and
 * *wait_ms, the most it may last (the next TCP timer, 1 while frames
 * wait; UINT64_MAX: nothing due). 0 or -E_*. */
int sock_poll_prepare(volatile uint32_t **word, uint32_t *seen, uint64_t *wait_ms);
/* Called whenever the stack or UDP says socket sd's readiness may have
 * changed (where sockev.c's sets hear of it), for a descriptor layer's
 * own event sets; NULL: nobody listens. */
extern void (*sock_change_hook)(int sd);
/* The Linux errno value (positive) for one of these negated codes. */
int sock_errno(int err);
/* The TCP connection behind a stream socket (NULL otherwise), for calls of
 * lib/net/tcp.h the socket API lacks (tcp_send_zc, tcp_events...). */
struct tcp_conn *sock_tcp(int sd);

/* --- events (sockev.c): epoll's interface and values --- */
#define SOCK_EV_IN 0x001     /* data, EOF, or a connection to accept */
#define SOCK_EV_OUT 0x004    /* room to send; a connect finished */
#define SOCK_EV_ERR 0x008    /* failed: SO_ERROR says why (always reported) */
#define SOCK_EV_HUP 0x010    /* both directions finished (always reported) */
#define SOCK_EV_RDHUP 0x2000 /* the peer finished sending */
#define SOCK_EV_ONESHOT (1u << 30)
#define SOCK_EV_ET (1u << 31)

#define SOCK_CTL_ADD 1
#define SOCK_CTL_DEL 2
#define SOCK_CTL_MOD 3

struct sock_event {
	uint32_t events;
	uint64_t data;
} __attribute__((packed)); /* as Linux's struct epoll_event on x86-64 */

/* A new event set, or -E_FULL. */
int sock_epoll_create(void);
/* Add, change or remove sd's interest (events, data). A socket belongs to
 * at most one set: adding it to a second answers -E_BUSY. */
int sock_epoll_ctl(int ep, int op, int sd, const struct sock_event *ev);
/* Up to max ready sockets into evs, waiting up to timeout_ms (-1: no
 * limit) while none is; 0 when the time ran out. */
int sock_epoll_wait(int ep, struct sock_event *evs, int max, int64_t timeout_ms);
int sock_epoll_close(int ep);

#endif
