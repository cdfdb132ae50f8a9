/*
 * The network interface between the kernel and a library OS: the layout of
 * an env's receive ring and what sys_net_info reports.
 *
 * Receive ring: npages contiguous pages (1..NET_RING_PAGES_MAX) that the env
 * owns and binds writable at a page-aligned va, registered with
 * sys_net_ring_attach. The kernel writes the whole first slot-sized area as a
 * header and fills the slots after it:
 *
 *   va ┌──────────────────────────────┐
 *      │ struct net_ring (header)     │ NET_SLOT_SIZE bytes
 *      ├──────────────────────────────┤
 *      │ slot 0: struct net_slot      │ NET_SLOT_SIZE bytes each
 *      │ slot 1                       │
 *      │ ...                          │ nr_nslots = npages * 2 - 1
 *      └──────────────────────────────┘
 *
 * nr_head and nr_tail count slots used since attach (free-running,
 * wrapping at 2^32): use number n is slot n % nr_nslots. A frame takes one
 * slot, or - only with receive offload (NET_OFFLOAD_RX_TSO4), for a
 * segment longer than a slot - NET_SLOTS_FOR(len) slots in a row
 * (wrapping), its bytes continuing from one slot's ns_data to the next's.
 * The kernel alone advances nr_head (past a whole frame, after writing
 * it); the env alone advances nr_tail (after it is done with the slots).
 * The ring is empty when they are equal and full when nr_head - nr_tail ==
 * nr_nslots; a frame that finds too few slots free is dropped and counted
 * in nr_drops. The kernel trusts nothing it reads back: a nr_tail that is
 * out of range makes the ring count as full.
 */
#ifndef EXO_INC_NET_H
#define EXO_INC_NET_H

#include <inc/types.h>

#define NET_FRAME_MAX 1514     /* Ethernet header + 1500-byte payload, no FCS */
#define NET_FRAME_MIN 14       /* an Ethernet header */
#define NET_SLOT_SIZE 2048     /* two slots a page; a frame and its length fit */
#define NET_RING_PAGES_MAX 256 /* 511 slots (1 MiB): bounds what the kernel records per env */

struct net_ring {
	volatile uint32_t nr_head;   /* frames written by the kernel */
	volatile uint32_t nr_tail;   /* frames consumed by the env */
	uint32_t nr_nslots;          /* set by the kernel at attach */
	volatile uint32_t nr_drops;  /* frames lost because the ring was full */
};

struct net_slot {
	uint32_t ns_len;             /* the frame's bytes (in this slot's ns_data and,
				      * past its end, the next slots'); 0 in a slot a
				      * longer frame continues into */
	uint32_t ns_flags;           /* NET_SLOT_* */
	uint8_t ns_data[NET_SLOT_SIZE - 8];
};
#define NET_SLOT_DATA (NET_SLOT_SIZE - 8)
#define NET_SLOT_SUM_OK 0x1 /* the device checked the TCP/UDP checksum: the field
			     * need not hold it (a coalesced segment's does not) */
/* Slots a frame of len bytes takes. */
#define NET_SLOTS_FOR(len) (((len) + NET_SLOT_DATA - 1) / NET_SLOT_DATA)

_Static_assert(sizeof(struct net_slot) == NET_SLOT_SIZE, "net_slot is ABI");
_Static_assert(NET_FRAME_MAX <= sizeof(((struct net_slot *)0)->ns_data), "");

/* Slot i of the ring at r. */
static inline struct net_slot *net_ring_slot(struct net_ring *r, uint32_t i)
{
	return (struct net_slot *)((char *)r + NET_SLOT_SIZE * (1 + (uint64_t)i));
}

/* What sys_net_info reports. */
struct net_info {
	uint8_t ni_mac[6];          /* the NIC's address */
	uint8_t ni_link;            /* 1: link up (or the device cannot tell) */
	uint8_t ni_offloads; /* NET_OFFLOAD_*: what sys_net_send_batch may ask of the device */
	envid_t ni_owner; /* who receives unfiltered traffic, 0: nobody */
	uint32_t ni_pad2;
	uint64_t ni_rx_frames; /* frames the device gave the kernel */
	uint64_t ni_rx_delivered; /* ... placed in a ring */
	uint64_t ni_rx_unclaimed; /* ... dropped: no ring wanted them */
	uint64_t ni_rx_full; /* ... dropped: the ring was full */
	uint64_t ni_tx_frames; /* frames handed to the device */
	uint64_t ni_rx_ash; /* frames a packet handler consumed in the kernel */
	/* Turnaround: TSC cycles from a frame's arrival (the receive interrupt
	 * handing it to the kernel) to the next frame sent, by an env or a
	 * packet handler - for a request/response server, the guest's share of
	 * a round trip. A frame sent with no arrival since the last is not
	 * counted. */
	uint64_t ni_turn_count; /* turnarounds counted */
	uint64_t ni_turn_cycles; /* their sum */
	uint64_t ni_turn_min; /* the shortest; 0 if none */
	/* Transmit (sys_net_send, sys_net_send_batch, packet handlers). */
	uint64_t ni_tx_kicks; /* doorbells rung: one per call at most, none while
				     * the device says it is still busy with the queue */
	uint64_t ni_tx_refs; /* parts the device read in place (zero copy) */
	uint64_t ni_tx_share_full; /* calls stopped short by the caller's share of the ring */
	uint32_t ni_tx_in_flight; /* descriptors with the device now, all envs */
	uint32_t ni_tx_size; /* descriptors in the transmit ring */
	/* Receive offload. */
	uint64_t ni_rx_coalesced; /* frames longer than NET_FRAME_MAX (segments the
				   * host coalesced) among ni_rx_frames */
	uint64_t ni_rx_bad; /* frames the device described impossibly: dropped */
	/* Where the kernel's network time goes (a server's per-request costs). */
	uint64_t ni_irqs;       /* network interrupts taken */
	uint64_t ni_irq_cycles; /* TSC cycles in their handler (receive, demux, reap) */
	uint64_t ni_wakes;      /* ring owners a frame woke from a sleep */
};

/*
 * sys_net_send_batch: the frames to send, as one array of pieces in the
 * caller's memory. A frame is a run of pieces ending with one that has
 * NET_TX_END; its bytes are the pieces' in order. A piece is copied by the
 * kernel during the call, or with NET_TX_REF read by the device in place
 * (zero copy): its pages stay pinned - the env cannot free, pass on or
 * lose them to the abort protocol; freed or left behind by a dying env they
 * are the kernel's until the device is done - and the bytes must stay as
 * they are until then, or the frame carries what they became. Every piece
 * lies in user pages the caller owns; one may cross a page boundary.
 */
struct net_tx_seg {
	uint64_t ts_va; /* the piece's first byte */
	uint32_t ts_len; /* its length, 1..NET_FRAME_MAX */
	uint32_t ts_flags; /* NET_TX_* */
};
#define NET_TX_END 0x1         /* the last piece of its frame */
#define NET_TX_REF 0x2         /* by reference: the device reads it in place */
/*
 * Offloads, asked on a frame's first piece, only of a device that offers
 * them (ni_offloads). The frame must be Ethernet + IPv4 (no fragment) +
 * TCP or UDP, the headers whole inside it; the kernel reads them to tell
 * the device where the checksum goes, and refuses (E_INVAL) a frame whose
 * headers do not say that.
 *   NET_TX_CSUM  the device writes the TCP or UDP checksum; the frame's
 *                checksum field holds the sum of the pseudo-header only
 *                (not complemented), as for RFC 1071 incremental updates.
 *   NET_TX_TSO   the frame is one TCP segment of up to NET_TSO_FRAME_MAX
 *                bytes that the device cuts into segments of
 *                NET_TX_MSS(flags) payload bytes each, copying the headers
 *                (IP length, id and checksum, TCP sequence numbers, and
 *                FIN/PSH on the last only, are the device's). Implies
 *                NET_TX_CSUM, with the pseudo-header's sum over the whole
 *                segment's TCP length. Its pieces may be that long too,
 *                but those copied (not NET_TX_REF) hold NET_FRAME_MAX
 *                bytes in all at most, as in any frame.
 */
#define NET_TX_CSUM 0x4
#define NET_TX_TSO 0x8
#define NET_TX_MSS_SHIFT 16    /* the segment size, in the flags' top half */
#define NET_TX_MSS(flags) ((uint32_t)(flags) >> NET_TX_MSS_SHIFT)
#define NET_TSO_FRAME_MAX (14 + 65535) /* an Ethernet header and the largest IPv4 datagram */
#define NET_TX_FRAME_PARTS 32  /* a frame's pieces, cut where they cross a page: at most this many */
#define NET_TX_SEGS_MAX 64     /* pieces per call: bounds the kernel's copy of the array */
#define NET_TX_FRAME_SEGS 8    /* pieces per frame: bounds a frame's descriptor chain */

/* ni_offloads: what the device does for a frame that asks (NET_TX_CSUM,
 * NET_TX_TSO). QEMU offers both on a TAP device (whose host kernel does
 * the work), neither on its user network or a datagram socket. */
#define NET_OFFLOAD_CSUM 0x1   /* TCP and UDP checksums over IPv4 */
#define NET_OFFLOAD_TSO4 0x2   /* TCP segmentation over IPv4 */
/* ... and what it does for frames received: */
#define NET_OFFLOAD_RX_CSUM 0x4 /* vouches for checksums (NET_SLOT_SUM_OK) */
#define NET_OFFLOAD_RX_TSO4 0x8 /* hands over TCP segments the host coalesced,
				 * up to NET_TSO_FRAME_MAX bytes: a frame may
				 * take several slots of a ring */

/* sys_net_filters: one installed filter. */
struct net_filter_info {
	int32_t nf_id;
	envid_t nf_owner;
	uint32_t nf_natoms;
	uint32_t nf_ash; /* 1: a packet handler runs on its frames */
	uint64_t nf_hits; /* frames it won */
};

#define NET_FILTERS_PER_ENV 16 /* DPF filters one env may install */

#endif
