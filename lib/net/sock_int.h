/*
 * Inside the socket layer (lib/net/sock.h is its interface): the socket
 * table, shared by the calls (sock.c) and the event sets (sockev.c).
 */
#ifndef EXO_LIB_NET_SOCK_INT_H
#define EXO_LIB_NET_SOCK_INT_H

#include <lib/net/sock.h>
#include <lib/net/sockerr.h>
#include <lib/net/tcp.h>

struct sock {
	uint8_t s_type;       /* 0: free; SOCK_STREAM or SOCK_DGRAM */
	bool s_listening;     /* s_c is a listener */
	bool s_nonblock;
	bool s_reuse;         /* SO_REUSEADDR */
	bool s_shut_rd, s_shut_wr;
	bool s_port_ref;      /* s_lport counts in the port references */
	uint32_t s_lip;       /* bound address, host order (0: any) */
	uint16_t s_lport;     /* bound port (0: none yet) */
	struct tcp_conn *s_c; /* the connection or listener, or NULL */
	int s_udp;            /* the UDP socket (lib/net/udp.c), or -1 */
	uint32_t s_peer_ip;   /* a connected UDP socket's peer (0: none) */
	uint16_t s_peer_port;
	int s_err;            /* SO_ERROR: a failed connect's code, until read */
	/* options, kept for a connection not yet made (0: the default) */
	int s_nodelay, s_keepalive, s_keepidle, s_keepintvl, s_keepcnt;
	int s_sndbuf, s_rcvbuf;
	struct linger s_linger;
	/* event set membership (sockev.c) */
	int s_ep;             /* the set it belongs to, or -1 */
	uint32_t s_ev_mask;   /* SOCK_EV_* asked for (0: disarmed, after ONESHOT) */
	uint64_t s_ev_data;
	bool s_queued;        /* on its set's ready list */
	int s_prev, s_next;   /* the ready list, by socket number (-1: end) */
};

extern struct sock sock_table[SOCK_MAX];

static inline int sock_number(const struct sock *s)
{
	return (int)(s - sock_table);
}

/* The open socket sd, or NULL (out of range or free). */
static inline struct sock *sock_get(int sd)
{
	if (sd < 0 || sd >= SOCK_MAX || !sock_table[sd].s_type)
		return NULL;
	return &sock_table[sd];
}

/* What s is ready for now (SOCK_EV_*). */
unsigned sock_ready(const struct sock *s);
/* s's readiness may have changed: put it on its event set's ready list. */
void sockev_wake(struct sock *s);
/* s is closing: take it out of its event set. */
void sockev_forget(struct sock *s);

#endif
