/*
 * The socket errors of the library OS's network stack, in one place: the
 * TCP core (lib/net/tcp*.c), the socket layer and programs all use these.
 *
 * They extend inc/error.h's list (E_INVAL, E_AGAIN, E_NO_MEM... keep their
 * meaning here: E_AGAIN is "would block") with the conditions a connection
 * can end in or a socket call can meet, numbered from 64 so they never meet
 * the kernel's codes. Like those, they are returned negated. sock_strerror
 * names either kind.
 */
#ifndef EXO_LIB_NET_SOCKERR_H
#define EXO_LIB_NET_SOCKERR_H

#define SOCK_ERRORS(X)                                              \
	X(ECONNREFUSED, 64, "connection refused")                  \
	X(ECONNRESET, 65, "connection reset by peer")              \
	X(ETIMEDOUT, 66, "connection timed out")                   \
	X(EADDRINUSE, 67, "address already in use")                \
	X(EPIPE, 68, "broken pipe (sending after shutdown)")       \
	X(ENOTCONN, 69, "socket is not connected")                 \
	X(EISCONN, 70, "socket is already connected")              \
	X(EINPROGRESS, 71, "connection in progress")               \
	X(EALREADY, 72, "operation already in progress")           \
	X(ECONNABORTED, 73, "connection aborted")                  \
	X(EHOSTUNREACH, 74, "no route to host")                    \
	X(EADDRNOTAVAIL, 75, "no local port available")            \
	X(EBADF, 76, "not an open socket")                         \
	X(ENOTSOCK, 77, "not a socket of that kind")               \
	X(EOPNOTSUPP, 78, "operation not supported on this socket")

enum {
#define SOCK_ERROR_ENUM(name, num, msg) name = num,
	SOCK_ERRORS(SOCK_ERROR_ENUM)
#undef SOCK_ERROR_ENUM
};

/* "connection refused" for -ECONNREFUSED, and so on; NULL for a code
 * that is not a socket error (see err_message in common/fmt.h). */
static inline const char *sock_strerror(long code)
{
	switch (code < 0 ? -code : code) {
#define SOCK_ERROR_CASE(name, num, msg) \
	case num:                       \
		return msg;
		SOCK_ERRORS(SOCK_ERROR_CASE)
#undef SOCK_ERROR_CASE
	}
	return (const char *)0;
}

#endif
