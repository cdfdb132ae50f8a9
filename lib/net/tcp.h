/*
 * TCP (RFC 9293 and its modern companions) for the library OS: the
 * protocol core's interface.
 *
 * The core is pure: it reaches the machine only through struct tcp_hooks
 * (send a segment, the clock, memory, a wake-up call), so the same code
 * runs on Exo (lib/net/tcp_glue.c binds it to lib/net/ipv4.c) and in host
 * tests, where two stacks talk over a simulated, impaired link. A stack is
 * a value: nothing is global, so a test can run several in one process.
 *
 * Single-threaded: the caller serialises every call on one stack. Time only
 * moves when the caller says so: tcp_input and the API calls read the clock
 * hook, and tcp_timers runs whatever has fallen due and says when to call
 * it next.
 *
 * Ownership: a connection (struct tcp_conn) is handed out by tcp_connect,
 * tcp_listen or tcp_accept and belongs to the caller until tcp_close; after
 * that the stack finishes the connection (FIN, TIME_WAIT) on its own and
 * frees it. Memory for connections and buffers comes from the alloc hook;
 * tcp_stack_fini gives back all of it.
 *
 * Hostile input: every received segment is checked (length, data offset,
 * checksum, each option's length) before any byte it covers is read; a bad
 * one is counted in struct tcp_stats and dropped. No input can make the
 * stack allocate without bound: reassembly keeps at most TCP_OOO_MAX
 * ranges inside the receive buffer, a listener at most its backlog of
 * half-open connections (SYN cookies beyond), and TIME_WAIT entries are
 * small and expire.
 *
 * Errors are negated codes: E_* from inc/error.h (E_AGAIN "would block",
 * E_INVAL, E_NO_MEM) and the socket codes of lib/net/sockerr.h
 * (ECONNREFUSED, ECONNRESET, ETIMEDOUT, EADDRINUSE, EPIPE, ENOTCONN...).
 * Addresses and ports are in host byte order.
 */
#ifndef EXO_LIB_NET_TCP_H
#define EXO_LIB_NET_TCP_H

#include <inc/error.h>
#include <inc/types.h>
#include <lib/net/sockerr.h>

struct tcp_stack;
struct tcp_conn;

/* A piece of an outgoing segment. */
struct tcp_piece {
	const void *tp_data;
	size_t tp_len;
	bool tp_ref; /* a zero-copy object's bytes (tcp_send_zc): they stay as they are
		      * while referenced, so the output hook may send them in place */
	/* The header piece (pieces[0]) only, with offloads on
	 * (tcp_stack_set_offload): */
	bool tp_csum_partial; /* the header's checksum field holds the pseudo-header's
			       * sum only (not complemented): the device finishes it */
	uint16_t tp_tso_mss;  /* 0, or the segment carries more than one MSS and the
			       * device cuts it into segments of this many payload bytes */
};

#define TCP_TSO_PIECES 6 /* payload pieces a segment longer than one MSS has at most */
/* The longest segment payload tcp_stack_set_offload allows: an IPv4
 * datagram's 65,535 bytes less the largest IP and TCP headers. */
#define TCP_TSO_MAX (65535 - 60 - 60)

struct tcp_hooks {
	void *th_ctx; /* passed back to every hook */
	/* Send one TCP segment from src to dst: the pieces, in order, are
	 * the header (with options and a correct checksum) and the payload.
	 * 0 or -E_*; a failure is treated as a loss. */
	int (*th_output)(void *ctx, uint32_t src, uint32_t dst, const struct tcp_piece *pieces,
			 int npieces);
	uint64_t (*th_now_us)(void *ctx); /* microseconds, never going back */
	void *(*th_alloc)(void *ctx, size_t size);
	void (*th_free)(void *ctx, void *p, size_t size);
	/* c's events (tcp_events) may have changed: it became readable,
	 * writable, connected, accepted into a listener's queue, or failed.
	 * May be NULL. Must not call back into the stack. */
	void (*th_wake)(void *ctx, struct tcp_conn *c);
};

/* Counters: every segment dropped is counted under one reason. */
struct tcp_stats {
	uint64_t in_segs, in_bad_len, in_bad_sum, in_bad_off, in_bad_opts, in_bad_flags, in_no_conn,
		in_paws, in_out_of_window, in_challenge_acks, in_rst_accepted, in_ooo_dropped,
		in_syn_dropped, in_cookies_ok, in_cookies_bad, in_tw;
	uint64_t out_segs, out_data_segs, out_rexmit_segs, out_rst, out_cookies, out_errors;
	uint64_t rto_fired, fast_rexmits, conns_timed_out, conns_created, conns_freed;
	uint64_t tw_count;     /* in TIME_WAIT now */
	uint64_t lookup_steps; /* table entries compared by 4-tuple lookups: their cost */
	uint64_t rbuf_grown;   /* receive buffers doubled (the window held a sender back) */
	uint64_t out_acks;     /* segments that carried nothing but an ACK (and a window) */
	uint64_t delacks;      /* delayed-ACK timers that expired (an ACK owed went alone) */
	uint64_t timer_adds, timer_removes; /* connections put on / taken off the timer heap */
	uint64_t rbuf_allocs; /* receive rings the allocator gave (not a spare, tcp_rcvbuf.c) */
};

/* Connection states (RFC 9293, 3.3.2). */
enum tcp_state {
	TCP_CLOSED,
	TCP_LISTEN,
	TCP_SYN_SENT,
	TCP_SYN_RECEIVED,
	TCP_ESTABLISHED,
	TCP_FIN_WAIT_1,
	TCP_FIN_WAIT_2,
	TCP_CLOSE_WAIT,
	TCP_CLOSING,
	TCP_LAST_ACK,
	TCP_TIME_WAIT,
};

/* tcp_events bits. */
#define TCP_EV_IN 0x1    /* data or EOF to read; a listener: one to accept */
#define TCP_EV_OUT 0x2   /* room to send (connected, send side open) */
#define TCP_EV_HUP 0x4   /* the peer finished sending (EOF reached), or closed */
#define TCP_EV_ERR 0x8   /* the connection failed: tcp_error says why */
#define TCP_EV_CONN 0x10 /* established (a connect completed) */

/* Options for tcp_setopt/tcp_getopt. */
enum tcp_opt {
	TCP_OPT_NODELAY,   /* 1: send small segments at once (no Nagle) */
	TCP_OPT_KEEPALIVE, /* 1: probe an idle connection */
	TCP_OPT_KEEPIDLE,  /* seconds idle before the first probe */
	TCP_OPT_KEEPINTVL, /* seconds between probes */
	TCP_OPT_KEEPCNT,   /* unanswered probes before ETIMEDOUT */
	TCP_OPT_SNDBUF,    /* bytes queued for sending, at most */
	TCP_OPT_RCVBUF,    /* receive buffer bytes (before the connection opens) */
	TCP_OPT_LINGER,    /* -1: close in the background; 0: close resets */
	TCP_OPT_CORK,      /* 1: hold segments shorter than the MSS (but a FIN) until
			    * uncorked, so what is queued together leaves merged */
};

/* Zero-copy sends. An object of immutable application memory, with the
 * Internet checksum of each TCP_ZC_CHUNK-byte chunk computed once
 * (tcp_zc_init), is sent by reference: segments point into it and are
 * retransmitted from it, never copied into the stack. The stack counts
 * its references in zc_refs; the memory must not change or go away while
 * zc_refs > 0 (release, if set, is called when it drops to 0). */
#define TCP_ZC_CHUNK 256 /* even, so chunk sums combine without swapping */
struct tcp_zc {
	const uint8_t *zc_data;
	size_t zc_len;
	uint16_t *zc_sums; /* one per chunk, in the order csum_add adds */
	uint32_t zc_refs;
	void (*zc_release)(struct tcp_zc *zc);
};
/* Sums for zc_len bytes at data into sums[(len + TCP_ZC_CHUNK - 1) /
 * TCP_ZC_CHUNK]. */
void tcp_zc_init(struct tcp_zc *zc, const void *data, size_t len, uint16_t *sums);

/* --- the stack --- */
/* The largest struct tcp_stack, for callers that embed one. */
struct tcp_stack *tcp_stack_new(const struct tcp_hooks *hooks, const uint8_t secret[16]);
/* Free every connection and entry without sending anything. */
void tcp_stack_free(struct tcp_stack *st);
const struct tcp_stats *tcp_stack_stats(const struct tcp_stack *st);
/* Maximum segment lifetime (TIME_WAIT lasts twice this); default 30 s. */
void tcp_stack_set_msl(struct tcp_stack *st, uint32_t msl_ms);
/* Take ephemeral ports (tcp_connect with lport 0) from first..first +
 * count - 1 only (default 49152..65535): a program on Exo claims one
 * block of ports from the kernel's packet filters for all its clients.
 * 0 or -E_INVAL. */
int tcp_stack_set_ephemeral(struct tcp_stack *st, uint16_t first, uint32_t count);
/* What the output hook's device does (segmentation offload): csum, finish
 * the checksum of every segment with data (tp_csum_partial); tso_max
 * (needs csum), take segments of up to tso_max payload bytes and cut them
 * into MSS-sized ones (tp_tso_mss), so one call sends what would be many.
 * Applies to segments built from now on. 0 or -E_INVAL. */
int tcp_stack_set_offload(struct tcp_stack *st, bool csum, uint32_t tso_max);
/* Bytes allocated for connections, buffers and tables now. */
size_t tcp_stack_memory(const struct tcp_stack *st);

/* A received segment (the IP payload) from src to dst. */
void tcp_input(struct tcp_stack *st, uint32_t src, uint32_t dst, const uint8_t *seg, size_t len);
/* The same, for a segment whose checksum the device checked (or, for one
 * the host coalesced or sent itself, vouches for without one): sum_ok
 * skips the check. */
void tcp_input_checked(struct tcp_stack *st, uint32_t src, uint32_t dst, const uint8_t *seg,
		       size_t len, bool sum_ok);
/* An ICMP destination-unreachable for a segment we sent from src:sport to
 * dst:dport: a soft error, kept to report if the connection times out. */
void tcp_icmp_unreachable(struct tcp_stack *st, uint32_t src, uint16_t sport, uint32_t dst,
			  uint16_t dport);
/* Run the timers that are due; returns when (tcp_hooks' clock) to call
 * again, UINT64_MAX if nothing is pending. */
uint64_t tcp_timers(struct tcp_stack *st);

/* --- connections --- */
/* Listen on ip:port (ip 0: any). At most backlog connections wait to be
 * accepted or half-open; SYN cookies answer beyond that. */
struct tcp_conn *tcp_listen(struct tcp_stack *st, uint32_t ip, uint16_t port, int backlog,
			    bool reuse, int *err);
/* The next established connection of listener l, or NULL (*err
 * -E_AGAIN: none yet). */
struct tcp_conn *tcp_accept(struct tcp_conn *l, int *err);
/* Open a connection from lip:lport (lport 0: an ephemeral port) to
 * rip:rport. Returns at once, in SYN_SENT: TCP_EV_CONN or TCP_EV_ERR
 * follow. */
struct tcp_conn *tcp_connect(struct tcp_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
			     uint16_t rport, int *err);
/* tcp_connect with a receive buffer of rcvbuf bytes (0: the default),
 * which the window scale in the SYN must know. */
struct tcp_conn *tcp_connect_rcvbuf(struct tcp_stack *st, uint32_t lip, uint16_t lport,
				    uint32_t rip, uint16_t rport, int rcvbuf, int *err);
/* Queue up to len bytes (copied): how many were taken, or -E_AGAIN (no
 * room), -EPIPE (shut down), -ENOTCONN, or the connection's error. */
long tcp_send(struct tcp_conn *c, const void *buf, size_t len);
/* Queue len bytes of zc from off by reference (see struct tcp_zc): all
 * or nothing, -E_AGAIN if the send buffer cannot take them. */
long tcp_send_zc(struct tcp_conn *c, struct tcp_zc *zc, size_t off, size_t len);
/* Bytes that fit in the send buffer now. */
size_t tcp_send_room(const struct tcp_conn *c);
/* Up to len received bytes: how many, 0 at end of stream, -E_AGAIN if
 * none yet, or the connection's error. */
long tcp_recv(struct tcp_conn *c, void *buf, size_t len);
/* Send FIN after the queued data (shutdown for writing). */
int tcp_shutdown(struct tcp_conn *c);
/* Give the connection back: it finishes in the background (or is reset,
 * with LINGER 0 or unread data). c must not be used again. */
void tcp_close(struct tcp_conn *c);
/* Reset the connection now and free it. */
void tcp_abort(struct tcp_conn *c);

unsigned tcp_events(const struct tcp_conn *c);
/* The connection's error (0 if none); taking it does not clear it. */
int tcp_error(const struct tcp_conn *c);
enum tcp_state tcp_state(const struct tcp_conn *c);
const char *tcp_state_name(enum tcp_state s);
void tcp_addrs(const struct tcp_conn *c, uint32_t *lip, uint16_t *lport, uint32_t *rip,
	       uint16_t *rport);
int tcp_setopt(struct tcp_conn *c, enum tcp_opt opt, int value);
int tcp_getopt(const struct tcp_conn *c, enum tcp_opt opt, int *value);
/* What tcp_getopt reads on a new connection. */
int tcp_getopt_default(enum tcp_opt opt, int *value);
/* For the event layer: a pointer the caller may keep in the connection. */
void tcp_set_user(struct tcp_conn *c, void *user);
void *tcp_user(const struct tcp_conn *c);
/* Bytes of the connection's own state (not its buffers). */
size_t tcp_conn_size(void);

#endif
