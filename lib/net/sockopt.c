/*
 * Socket options and error codes (lib/net/sock.h): setsockopt and
 * getsockopt over the socket table (lib/net/sock_int.h), keeping what is
 * set before a connection exists for sock.c to apply when it is made, and
 * sock_errno, the Linux value of each of the layer's codes.
 *
 * Hostile input: a socket number out of range or free is -EBADF, a short
 * or missing value -E_INVAL, an out-of-range buffer size -E_INVAL, an
 * unknown level or name -EOPNOTSUPP; nothing changes before the checks.
 */
#include <common/string.h>
#include <lib/net/sock_int.h>

#define BUF_MIN 2048             /* SO_SNDBUF, SO_RCVBUF: the stack's bounds */
#define BUF_MAX (4 * 1024 * 1024)

/* --- options --- */
static int tcp_level(struct sock *s, int name, int v)
{
	enum tcp_opt o;
	int *keep;
	switch (name) {
	case TCP_NODELAY: o = TCP_OPT_NODELAY, keep = &s->s_nodelay, v = !!v; break;
	case TCP_KEEPIDLE: o = TCP_OPT_KEEPIDLE, keep = &s->s_keepidle; break;
	case TCP_KEEPINTVL: o = TCP_OPT_KEEPINTVL, keep = &s->s_keepintvl; break;
	case TCP_KEEPCNT: o = TCP_OPT_KEEPCNT, keep = &s->s_keepcnt; break;
	default: return -EOPNOTSUPP;
	}
	if (o != TCP_OPT_NODELAY && (v < 1 || v > (o == TCP_OPT_KEEPCNT ? 255 : 32767)))
		return -E_INVAL;
	if (s->s_c) {
		int r = tcp_setopt(s->s_c, o, v);
		if (r < 0)
			return r;
	}
	*keep = v;
	return 0;
}

int sock_setsockopt(int sd, int level, int name, const void *val, size_t len)
{
	struct sock *s = sock_get(sd);
	if (!s)
		return -EBADF;
	if (!val)
		return -E_INVAL;
	if (level == SOL_SOCKET && name == SO_LINGER) {
		struct linger l;
		if (len < sizeof(l))
			return -E_INVAL;
		memcpy(&l, val, sizeof(l));
		if (l.l_linger < 0)
			return -E_INVAL;
		if (s->s_c && !s->s_listening) {
			int r = tcp_setopt(s->s_c, TCP_OPT_LINGER,
					   l.l_onoff && l.l_linger == 0 ? 0 : -1);
			if (r < 0)
				return r;
		}
		s->s_linger = l;
		return 0;
	}
	int v;
	if (len < sizeof(v))
		return -E_INVAL;
	memcpy(&v, val, sizeof(v));
	if (level == IPPROTO_TCP) {
		if (s->s_type != SOCK_STREAM)
			return -EOPNOTSUPP;
		return tcp_level(s, name, v);
	}
	if (level != SOL_SOCKET)
		return -EOPNOTSUPP;
	switch (name) {
	case SO_REUSEADDR: s->s_reuse = v != 0; return 0;
	case SO_KEEPALIVE:
		if (s->s_c && s->s_type == SOCK_STREAM) {
			int r = tcp_setopt(s->s_c, TCP_OPT_KEEPALIVE, !!v);
			if (r < 0)
				return r;
		}
		s->s_keepalive = !!v;
		return 0;
	case SO_SNDBUF:
	case SO_RCVBUF:
		if (v < BUF_MIN || v > BUF_MAX)
			return -E_INVAL;
		if (s->s_c && s->s_type == SOCK_STREAM) {
			enum tcp_opt o = name == SO_SNDBUF ? TCP_OPT_SNDBUF : TCP_OPT_RCVBUF;
			int r = tcp_setopt(s->s_c, o, v);
			/* a connection's receive buffer is fixed at the handshake */
			if (r < 0 && r != -EISCONN)
				return r;
		}
		*(name == SO_SNDBUF ? &s->s_sndbuf : &s->s_rcvbuf) = v;
		return 0;
	}
	return -EOPNOTSUPP;
}

static int int_opt(struct sock *s, int level, int name, int *v)
{
	if (level == IPPROTO_TCP) {
		if (s->s_type != SOCK_STREAM)
			return -EOPNOTSUPP;
		switch (name) {
		case TCP_NODELAY: *v = s->s_nodelay; return 0;
		case TCP_KEEPIDLE:
			*v = s->s_keepidle;
			return s->s_keepidle ? 0 : tcp_getopt_default(TCP_OPT_KEEPIDLE, v);
		case TCP_KEEPINTVL:
			*v = s->s_keepintvl;
			return s->s_keepintvl ? 0 : tcp_getopt_default(TCP_OPT_KEEPINTVL, v);
		case TCP_KEEPCNT:
			*v = s->s_keepcnt;
			return s->s_keepcnt ? 0 : tcp_getopt_default(TCP_OPT_KEEPCNT, v);
		}
		return -EOPNOTSUPP;
	}
	if (level != SOL_SOCKET)
		return -EOPNOTSUPP;
	switch (name) {
	case SO_TYPE: *v = s->s_type; return 0;
	case SO_ERROR:
		*v = s->s_err;
		s->s_err = 0;
		if (!*v && s->s_c && !s->s_listening && tcp_error(s->s_c))
			*v = tcp_error(s->s_c);
		return 0; /* a negated code, as every call returns */
	case SO_REUSEADDR: *v = s->s_reuse; return 0;
	case SO_KEEPALIVE: *v = s->s_keepalive; return 0;
	case SO_SNDBUF:
		if (s->s_c && s->s_type == SOCK_STREAM)
			return tcp_getopt(s->s_c, TCP_OPT_SNDBUF, v);
		*v = s->s_sndbuf;
		return s->s_sndbuf ? 0 : tcp_getopt_default(TCP_OPT_SNDBUF, v);
	case SO_RCVBUF:
		if (s->s_c && s->s_type == SOCK_STREAM)
			return tcp_getopt(s->s_c, TCP_OPT_RCVBUF, v);
		*v = s->s_rcvbuf;
		return s->s_rcvbuf ? 0 : tcp_getopt_default(TCP_OPT_RCVBUF, v);
	}
	return -EOPNOTSUPP;
}

int sock_getsockopt(int sd, int level, int name, void *val, size_t *len)
{
	struct sock *s = sock_get(sd);
	if (!s)
		return -EBADF;
	if (!val || !len)
		return -E_INVAL;
	if (level == SOL_SOCKET && name == SO_LINGER) {
		if (*len < sizeof(struct linger))
			return -E_INVAL;
		memcpy(val, &s->s_linger, sizeof(struct linger));
		*len = sizeof(struct linger);
		return 0;
	}
	if (*len < sizeof(int))
		return -E_INVAL;
	int v, r = int_opt(s, level, name, &v);
	if (r < 0)
		return r;
	memcpy(val, &v, sizeof(v));
	*len = sizeof(v);
	return 0;
}

int sock_errno(int err)
{
	switch (err < 0 ? -err : err) {
	case 0: return 0;
	case E_AGAIN: return 11; /* EAGAIN */
	case E_NO_MEM: return 12; /* ENOMEM */
	case E_FAULT: return 14; /* EFAULT */
	case E_FULL: return 24; /* EMFILE */
	case E_TOO_BIG: return 90; /* EMSGSIZE */
	case E_NOT_FOUND: return 100; /* ENETDOWN: no NIC */
	case E_BUSY:
	case EADDRINUSE: return 98;
	case EPIPE: return 32;
	case EBADF: return 9;
	case ENOTSOCK: return 88;
	case EOPNOTSUPP: return 95;
	case EADDRNOTAVAIL: return 99;
	case ECONNABORTED: return 103;
	case ECONNRESET: return 104;
	case EISCONN: return 106;
	case ENOTCONN: return 107;
	case ETIMEDOUT: return 110;
	case ECONNREFUSED: return 111;
	case EHOSTUNREACH: return 113;
	case EALREADY: return 114;
	case EINPROGRESS: return 115;
	}
	return 22; /* EINVAL, and whatever else */
}
