/*
 * Inside the TCP core (lib/net/tcp.h is its interface): the connection
 * block, the stack, sequence arithmetic, and how the files reach each
 * other. One mechanism per file:
 *
 *	tcp_table.c   the stack, hashed lookups, the timer heap, TIME_WAIT
 *	tcp_conn.c    the API: listen, accept, connect, send, recv, close
 *	tcp_input.c   a received segment, through the state machine
 *	tcp_output.c  what to send now: data, FIN, ACKs, RSTs, probes
 *	tcp_timer.c   retransmission (RFC 6298), delayed ACK, persist,
 *	              keep-alive, FIN_WAIT_2 and TIME_WAIT timers
 *	tcp_cc.c      congestion control (RFC 5681, CUBIC RFC 9438) and loss
 *	              recovery (SACK RFC 6675, NewReno RFC 6582)
 *	tcp_sack.c    the sender's SACK scoreboard
 *	tcp_rcvbuf.c  the receive ring and bounded out-of-order reassembly
 *	tcp_sndbuf.c  the send queue: copied extents and zero-copy references
 *	tcp_opt.c     option parsing and building, checksums
 *	tcp_isn.c     keyed hashing: ISNs (RFC 6528), SYN cookies, table hash
 */
#ifndef EXO_LIB_NET_TCP_INT_H
#define EXO_LIB_NET_TCP_INT_H

#include <lib/net/tcp.h>

/* Sequence-number comparison, modulo 2^32 (RFC 9293, 3.4). */
#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) SEQ_LT(b, a)
#define SEQ_GEQ(a, b) SEQ_LEQ(b, a)
#define SEQ_MAX(a, b) (SEQ_GT(a, b) ? (a) : (b))
#define SEQ_MIN(a, b) (SEQ_LT(a, b) ? (a) : (b))

#define TCP_HLEN 20
#define TCP_OPT_MAX 40
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20

struct tcp_hdr {
	uint16_t th_sport, th_dport;
	uint32_t th_seq, th_ack;
	uint8_t th_off; /* data offset in the high 4 bits */
	uint8_t th_flags;
	uint16_t th_win, th_sum, th_urp;
} __attribute__((packed));
_Static_assert(sizeof(struct tcp_hdr) == TCP_HLEN, "");

/* Limits, each bounding what a peer can make us hold. */
#define TCP_MSS_DEFAULT 536     /* RFC 9293: without an MSS option */
#define TCP_MSS_LOCAL 1460      /* Ethernet's 1500 less IPv4 and TCP headers */
#define TCP_MSS_MIN 64          /* a peer's MSS below this is raised to it */
#define TCP_OOO_MAX 4           /* out-of-order ranges kept (SACK sends 3-4) */
#define TCP_SACK_MAX 8          /* ranges in the sender's scoreboard */
#define TCP_RCVBUF_DEFAULT (64 * 1024)
/* Emptied receive rings of the default size kept for the next data to
 * arrive (tcp_rcvbuf.c): at most 4 MiB held beyond what waits in them. */
#define TCP_RBUF_SPARES 64
/* A buffer whose window filled grows, doubling each time it empties, up to
 * this (unless the application set its size): tcp_rcvbuf.c. */
#define TCP_RCVBUF_AUTO_MAX (1024 * 1024)
#define TCP_SNDBUF_DEFAULT (64 * 1024)
#define TCP_BUF_MAX (4 * 1024 * 1024)
#define TCP_BUF_MIN 2048
#define TCP_WSCALE_MAX 14       /* RFC 7323 */
#define TCP_RTO_INIT_US 1000000 /* RFC 6298: 1 s */
#define TCP_RTO_MIN_US 200000   /* as Linux: RFC 6298's 1 s is too slow on a LAN */
#define TCP_RTO_MAX_US 60000000
#define TCP_REXMT_MAX 12        /* retransmissions before ETIMEDOUT */
#define TCP_SYN_REXMT_MAX 5
#define TCP_DELACK_US 40000     /* RFC 1122 allows up to 500 ms */
#define TCP_PERSIST_MIN_US 200000
#define TCP_FIN_WAIT_2_US 60000000 /* an orphan waits this long for FIN */
#define TCP_MSL_DEFAULT_MS 30000
#define TCP_KEEPIDLE_S 7200
#define TCP_KEEPINTVL_S 75
#define TCP_KEEPCNT 9
#define TCP_PAWS_IDLE_MS (24ULL * 24 * 3600 * 1000) /* RFC 7323: 24 days */
#define TCP_CHALLENGE_PER_S 100 /* RFC 5961 challenge ACKs, per stack */
#define TCP_EPHEMERAL_FIRST 49152
#define TCP_BACKLOG_MAX 4096

/* Connection flags. */
#define TF_NODELAY 0x0001
#define TF_KEEPALIVE 0x0002
#define TF_ACK_NOW 0x0004    /* send an ACK at the next output */
#define TF_DELACK 0x0008     /* an ACK is owed; the delayed-ACK timer runs */
#define TF_SHUT_WR 0x0010    /* the application will send no more: FIN follows data */
#define TF_FIN_SENT 0x0020   /* our FIN has a sequence number (snd_end) */
#define TF_FIN_RCVD 0x0040   /* the peer's FIN is consumed (rcv_nxt counts it) */
#define TF_ORPHAN 0x0080     /* tcp_close'd: the stack frees it */
#define TF_TS 0x0100         /* timestamps agreed */
#define TF_SACK 0x0200       /* SACK agreed */
#define TF_WS 0x0400         /* window scaling agreed */
#define TF_RECOVERY 0x0800   /* fast recovery until snd_una passes recover */
#define TF_PERSIST 0x1000    /* the retransmission timer is probing a zero window */
#define TF_RTT_TIMING 0x2000 /* rtt_seq's segment is being timed (no timestamps) */
#define TF_ACCEPTED 0x4000   /* out of the listener's hands */
#define TF_OOO_FIN 0x8000    /* a FIN arrived ahead of data still missing */
#define TF_CONNECTED 0x10000 /* reached ESTABLISHED once (TCP_EV_CONN) */
#define TF_ACTIVE 0x20000    /* opened by tcp_connect */
#define TF_LOST_RXT 0x40000  /* recovery: snd_una's segment needs resending */
#define TF_FORCE 0x100000    /* the persist timer: send despite SWS avoidance */
#define TF_CORK 0x200000     /* TCP_OPT_CORK: short segments wait for uncorking */
#define TF_RBUF_SET 0x400000 /* TCP_OPT_RCVBUF given: the buffer keeps its size */
#define TF_RBUF_FULL 0x800000 /* the window closed to under a quarter of the buffer
			       * since the ring was allocated */

struct tcp_ext; /* tcp_sndbuf.c */

struct tcp_seqrange {
	uint32_t l, r; /* [l, r) */
};

struct tcp_conn {
	struct tcp_conn *c_hnext; /* hash chain */
	struct tcp_stack *c_st;
	void *c_user;
	uint32_t c_lip, c_rip;
	uint16_t c_lport, c_rport;
	uint8_t c_state;
	uint8_t c_rexmt_count, c_keep_probes, c_dupacks;
	uint32_t c_flags;
	int c_err, c_soft_err;

	/* send sequence space (RFC 9293, 3.3.1) */
	uint32_t c_iss, c_snd_una, c_snd_nxt, c_snd_max, c_snd_wnd, c_snd_wl1, c_snd_wl2;
	uint32_t c_snd_end;     /* after the last byte queued (before our FIN) */
	uint32_t c_max_sndwnd;  /* the largest window the peer offered */
	uint32_t c_sndbuf;
	struct tcp_ext *c_sq_head, *c_sq_tail;
	uint32_t c_sq_off;      /* bytes of the head extent already acked */
	uint32_t c_sq_bytes;    /* bytes queued from snd_una */
	struct tcp_ext *c_sq_cur; /* a cache for tcp_sndbuf_pieces: an extent */
	uint32_t c_sq_cur_seq;  /* and the sequence number of its first byte */

	/* receive sequence space */
	uint32_t c_irs, c_rcv_nxt, c_rcv_adv; /* rcv_adv: right edge advertised */
	uint32_t c_fin_seq;     /* with TF_OOO_FIN: where the peer's FIN is */
	uint8_t *c_rbuf;
	uint32_t c_rbuf_size, c_rb_head; /* ring index of rb_seq's byte */
	uint32_t c_rb_seq;      /* sequence number of the first unread byte */
	struct tcp_seqrange c_ooo[TCP_OOO_MAX]; /* received beyond rcv_nxt; [0] newest */
	uint8_t c_nooo;

	/* options */
	uint8_t c_snd_wscale, c_rcv_wscale, c_nsacked, c_backoff;
	uint16_t c_mss;         /* payload bytes per segment we send (after options) */
	uint16_t c_peer_mss;
	uint32_t c_ts_recent, c_ts_offset, c_last_ack_sent;
	uint64_t c_ts_recent_at_ms;

	/* the sender's SACK scoreboard (tcp_sack.c) and recovery */
	struct tcp_seqrange c_sacked[TCP_SACK_MAX];
	uint32_t c_high_rxt, c_recover;
	uint32_t c_rtt_seq;

	/* RTT (RFC 6298) and congestion control */
	uint32_t c_srtt_us, c_rttvar_us, c_rto_us;
	uint32_t c_cwnd, c_ssthresh;
	uint32_t c_cubic_wmax, c_cubic_k_ms, c_cubic_origin; /* RFC 9438 */
	uint64_t c_cubic_epoch_us, c_rtt_start_us;

	/* timers: each 0 when off; c_deadline the earliest but the delayed
	 * ACK's, keyed in the heap; the delayed ACK is on a FIFO (tcp_timer.c) */
	uint64_t c_rexmt_at, c_delack_at, c_keep_at, c_close_at, c_deadline, c_last_rcv_us;
	uint32_t c_heap_idx;    /* index in the timer heap + 1; 0: not in it */
	struct tcp_conn *c_da_next, *c_da_prev; /* on the delayed-ACK FIFO */
	bool c_da_on;      /* ... is on it */
	uint16_t c_keepidle_s, c_keepintvl_s;
	uint8_t c_keepcnt;
	int8_t c_linger;        /* -1: off; 0: close resets */

	/* listeners and their children */
	struct tcp_conn *c_parent;  /* a child's listener, until accepted */
	struct tcp_conn *c_lnext;   /* next on the listener's children list */
	struct tcp_conn *c_children; /* a listener's, oldest first: half-open and done */
	uint16_t c_backlog, c_nchildren;
};

/* A connection in TIME_WAIT after its application let go: only what
 * answering retransmitted FINs and refusing old duplicates needs. */
struct tcp_tw {
	struct tcp_tw *tw_hnext, *tw_qnext, *tw_qprev;
	uint32_t tw_lip, tw_rip;
	uint16_t tw_lport, tw_rport;
	uint32_t tw_snd_nxt, tw_rcv_nxt, tw_ts_recent, tw_ts_offset;
	uint64_t tw_expires_us;
	uint8_t tw_rcv_wscale;
	bool tw_ts;
};

struct tcp_hash {
	void **h_buckets;
	uint32_t h_size, h_count; /* size a power of two */
};

struct tcp_stack {
	struct tcp_hooks st_hooks;
	uint8_t st_secret[16];
	struct tcp_stats st_stats;
	struct tcp_hash st_conns;     /* 4-tuple -> tcp_conn (not listeners) */
	struct tcp_hash st_tws;       /* 4-tuple -> tcp_tw */
	struct tcp_hash st_listeners; /* port -> tcp_conn in LISTEN */
	struct tcp_tw *st_tw_first, *st_tw_last; /* expiry order (all last 2 MSL) */
	struct tcp_conn **st_heap;    /* timer heap, by c_deadline */
	struct tcp_conn *st_da_first, *st_da_last; /* delayed ACKs, by c_delack_at */
	void *st_rbuf_spare[TCP_RBUF_SPARES];      /* emptied default-size rings */
	uint32_t st_nspare;
	uint32_t st_heap_len, st_heap_cap;
	uint32_t st_msl_ms;
	uint16_t st_next_port;
	uint16_t st_eph_first;  /* ephemeral ports: st_eph_first.. */
	uint32_t st_eph_count;  /* ..+ st_eph_count - 1 */
	uint64_t st_challenge_sec, st_challenge_count;
	uint64_t st_cookie_sent_us;   /* when a SYN cookie last went out */
	size_t st_mem;
	bool st_dying; /* tcp_stack_free: send nothing more */
	bool st_csum_offload;  /* tcp_stack_set_offload */
	uint32_t st_tso_max;   /* ... 0: one MSS a segment */
};

/* A parsed segment. */
struct tcp_seg {
	uint32_t seq, ack, len; /* len: payload bytes, + SYN, + FIN */
	uint32_t wnd;           /* unscaled */
	uint8_t flags;
	const uint8_t *data;
	uint32_t dlen;
	/* options */
	bool has_mss, has_ws, has_sackok, has_ts;
	uint16_t mss;
	uint8_t ws;
	uint32_t tsval, tsecr;
	uint8_t nsack;
	struct tcp_seqrange sack[4];
};

/* --- tcp_table.c --- */
void *tcp_alloc(struct tcp_stack *st, size_t size);
void tcp_free(struct tcp_stack *st, void *p, size_t size);
uint64_t tcp_now(struct tcp_stack *st);
void tcp_wake(struct tcp_conn *c);
struct tcp_conn *tcp_conn_new(struct tcp_stack *st);
/* Take c out of every table, drop its buffers, tell its parent, free it. */
void tcp_conn_free(struct tcp_conn *c);
int tcp_hash_conn(struct tcp_conn *c);
struct tcp_conn *tcp_lookup(struct tcp_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
			    uint16_t rport);
struct tcp_conn *tcp_lookup_listener(struct tcp_stack *st, uint32_t lip, uint16_t lport);
int tcp_hash_listener(struct tcp_conn *l);
struct tcp_tw *tcp_lookup_tw(struct tcp_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
			     uint16_t rport);
/* Replace c (in TIME_WAIT, orphaned) by a small entry; frees c. */
void tcp_tw_enter(struct tcp_conn *c);
void tcp_tw_free(struct tcp_stack *st, struct tcp_tw *tw);
/* A retransmitted FIN: 2 MSL again, from now. */
void tcp_tw_restart(struct tcp_stack *st, struct tcp_tw *tw);
/* Out of the 4-tuple table (the handle lives on, CLOSED). */
void tcp_unhash(struct tcp_conn *c);
bool tcp_port_in_use(struct tcp_stack *st, uint32_t lip, uint16_t lport);
/* Recompute c's deadline from its timers and place it in the heap. */
void tcp_timer_update(struct tcp_conn *c);
struct tcp_conn *tcp_heap_first(struct tcp_stack *st);
void tcp_tw_expire(struct tcp_stack *st, uint64_t now);

/* --- tcp_input.c --- */
/* A segment for a TIME_WAIT entry: false if it is a SYN that may open
 * a new connection (the entry is gone). */
bool tcp_input_tw(struct tcp_stack *st, struct tcp_tw *tw, const struct tcp_seg *s);
/* Set state, waking the application. */
void tcp_set_state(struct tcp_conn *c, enum tcp_state s);
/* The connection failed with err: reported, then freed if orphaned. */
void tcp_drop(struct tcp_conn *c, int err);

/* --- tcp_output.c --- */
/* Send whatever the windows, Nagle and pending ACKs call for. */
void tcp_output(struct tcp_conn *c);
/* A segment at seq with flags and the queued payload [seq, seq + dlen). */
int tcp_send_segment(struct tcp_conn *c, uint32_t seq, uint8_t flags, uint32_t dlen);
void tcp_send_ack(struct tcp_conn *c);
/* Our SYN (SYN_SENT) or SYN-ACK (SYN_RECEIVED), at iss. */
void tcp_send_syn(struct tcp_conn *c);
/* A RST (and ACK if ack_it) answering a segment that has no connection. */
void tcp_send_rst(struct tcp_stack *st, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport,
		  uint32_t seq, uint32_t ack, bool ack_it);
void tcp_send_challenge_ack(struct tcp_conn *c);
/* The window to advertise (scaled), and moving rcv_adv to match. */
uint16_t tcp_rcv_window(struct tcp_conn *c, bool syn);
/* Send a zero-length segment at snd_una - 1 (keep-alive, window probe). */
void tcp_send_probe(struct tcp_conn *c);
uint32_t tcp_ts_now(struct tcp_conn *c);

/* --- tcp_timer.c --- */
void tcp_timer_fire(struct tcp_conn *c, uint64_t now);
/* Owe the peer an ACK within TCP_DELACK_US (if not owed already), and
 * stop owing it (an ACK went, or the connection ended). */
void tcp_delack_arm(struct tcp_conn *c);
void tcp_delack_cancel(struct tcp_conn *c);
/* Send the delayed ACKs due by now: the earliest left, or UINT64_MAX. */
uint64_t tcp_delack_run(struct tcp_stack *st, uint64_t now);
/* Arm (or stop, when nothing is outstanding) the retransmission timer. */
void tcp_rexmt_arm(struct tcp_conn *c, bool restart);
void tcp_rtt_sample(struct tcp_conn *c, uint32_t rtt_us);
void tcp_keep_reset(struct tcp_conn *c);

/* --- tcp_cc.c --- */
void tcp_cc_init(struct tcp_conn *c);
/* acked bytes newly acknowledged (ack the new snd_una, before the update). */
void tcp_cc_ack(struct tcp_conn *c, uint32_t ack, uint32_t acked);
/* A duplicate ACK: may start fast retransmit. */
void tcp_cc_dupack(struct tcp_conn *c);
void tcp_cc_rto(struct tcp_conn *c);
/* In recovery: the next sequence to (re)send and its length; false if none. */
bool tcp_cc_next_rexmit(struct tcp_conn *c, uint32_t *seq, uint32_t *len);
uint32_t tcp_flight(const struct tcp_conn *c);

/* --- tcp_sack.c --- */
void tcp_sack_update(struct tcp_conn *c, const struct tcp_seg *s);
void tcp_sack_clear(struct tcp_conn *c);
uint32_t tcp_sack_bytes(const struct tcp_conn *c);
uint32_t tcp_sack_highest(const struct tcp_conn *c);
/* The first unSACKed byte at or after seq and the length of that hole
 * (up to max); false if seq is beyond the highest SACKed byte. */
bool tcp_sack_hole(const struct tcp_conn *c, uint32_t seq, uint32_t *start, uint32_t *len);
bool tcp_sack_has(const struct tcp_conn *c, uint32_t seq);

/* --- tcp_rcvbuf.c --- */
int tcp_rcvbuf_alloc(struct tcp_conn *c);
void tcp_rcvbuf_free(struct tcp_conn *c);
/* Store [seq, seq+len) of received data (within the window): in order it
 * advances rcv_nxt (returns true), otherwise it joins the out-of-order
 * ranges or, with no range left, is dropped. */
bool tcp_rcvbuf_store(struct tcp_conn *c, uint32_t seq, const uint8_t *data, uint32_t len);
size_t tcp_rcvbuf_read(struct tcp_conn *c, uint8_t *buf, size_t len);
uint32_t tcp_rcvbuf_unread(const struct tcp_conn *c);
/* Free space from rcv_nxt (the window we can offer). */
uint32_t tcp_rcvbuf_space(const struct tcp_conn *c);

/* --- tcp_sndbuf.c --- */
long tcp_sndbuf_append(struct tcp_conn *c, const uint8_t *buf, size_t len);
int tcp_sndbuf_append_zc(struct tcp_conn *c, struct tcp_zc *zc, size_t off, size_t len);
/* Drop the bytes before ack (acked). */
void tcp_sndbuf_ack(struct tcp_conn *c, uint32_t ack);
void tcp_sndbuf_free(struct tcp_conn *c);
/* Pieces for the queued bytes [seq, seq + *len) into pieces[] (at most
 * max; *len shrinks if more would be needed): their count, and their
 * Internet checksum (as at offset 0) in *sum. */
/* sum may be NULL: the device sums the payload (offload). */
int tcp_sndbuf_pieces(struct tcp_conn *c, uint32_t seq, uint32_t *len, struct tcp_piece *pieces,
		      int max, uint32_t *sum);

/* --- tcp_conn.c --- */
/* The window scale c offers: room for its buffer, or for the largest its
 * buffer may grow to (TCP_RCVBUF_AUTO_MAX) unless the application fixed it. */
uint8_t tcp_wscale_for(const struct tcp_conn *c);

/* --- tcp_opt.c --- */
/* Parse a segment; false (and counted) if malformed. sum_ok: the device
 * checked the checksum (tcp_input_checked). */
bool tcp_parse(struct tcp_stack *st, uint32_t src, uint32_t dst, const uint8_t *seg, size_t len,
	       bool sum_ok, struct tcp_seg *s, const struct tcp_hdr **hp);
/* Options for a segment of c into opt (at most TCP_OPT_MAX): their length. */
size_t tcp_build_opts(struct tcp_conn *c, uint8_t flags, uint8_t *opt);
uint32_t tcp_sum_add(uint32_t sum, const void *data, size_t len);
uint32_t tcp_sum_fold32(uint32_t sum);
uint32_t tcp_pseudo_sum(uint32_t src, uint32_t dst, size_t len);
/* The sum of bytes that sit at an odd offset in what is summed. */
uint32_t tcp_sum_shift(uint32_t sum, size_t offset);

/* --- tcp_isn.c --- */
uint64_t tcp_keyed_hash(const uint8_t key[16], const void *data, size_t len);
uint32_t tcp_isn(struct tcp_stack *st, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport);
uint32_t tcp_tuple_hash(struct tcp_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
			uint16_t rport);
/* A SYN cookie for a SYN (its seq and our MSS choice) and its check:
 * the MSS it encoded, or 0 if the ACK does not carry a valid cookie. */
uint32_t tcp_cookie_make(struct tcp_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
			 uint16_t rport, uint32_t peer_seq, uint16_t mss);
uint16_t tcp_cookie_check(struct tcp_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
			  uint16_t rport, uint32_t peer_seq, uint32_t cookie);

static inline uint16_t tcp_htons(uint16_t v)
{
	return __builtin_bswap16(v);
}
static inline uint32_t tcp_htonl(uint32_t v)
{
	return __builtin_bswap32(v);
}

#endif
