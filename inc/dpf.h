/*
 * Packet filters (DPF): the user<->kernel format of a filter an env downloads
 * to claim packets. doc/dpf.md is the reference; kern/net/dpf.h is the engine.
 *
 * A filter is a conjunction of at most DPF_MAX_ATOMS atoms, applied in turn
 * with a "base" that starts at 0 (the first byte of the Ethernet frame):
 *
 *   DPF_OP_EQ     (load(base + offset, width) & mask) == value
 *   DPF_OP_SHIFT  base += shifted(load(base + offset, width) & mask) + value,
 *                 where shifted(x) is x << shift for shift >= 0 and
 *                 x >> -shift for shift < 0
 *
 * Loads are big-endian (network order), 1, 2 or 4 bytes, and need the whole
 * field inside the packet: a packet too short for an atom does not match the
 * filter. A SHIFT atom lets later atoms follow a variable-length header, e.g.
 * the IPv4 header length: load byte 14, mask 0x0f, shift 2, value 14 puts the
 * base at the transport header. A packet matched by several filters goes to
 * the one with the most atoms; among equals, to the lowest filter id.
 *
 * Stable: add at the end, never renumber.
 */
#ifndef EXO_INC_DPF_H
#define EXO_INC_DPF_H

#include <inc/types.h>

/* --- limits ------------------------------------------------------------- */
#define DPF_MAX_ATOMS 16      /* per filter: bounds trie depth, so match time and stack */
#define DPF_MAX_FILTERS 4096  /* installed at once; filter ids are 0..DPF_MAX_FILTERS-1 */
#define DPF_MAX_NODES 8192    /* distinct tests in the trie (one per shared atom, minus value) */
/* Trie states, one per distinct atom prefix: a trie within the two limits
 * above never has more than nodes + filters (each leaf ends a filter). */
#define DPF_MAX_STATES (DPF_MAX_NODES + DPF_MAX_FILTERS)
#define DPF_SHIFT_MIN (-31)   /* right shifts up to 31: any bit of a 4-byte field */
#define DPF_SHIFT_MAX 15      /* left shifts up to 15: keeps every base below 2^52 */

enum dpf_op {
	DPF_OP_EQ = 0,
	DPF_OP_SHIFT = 1,
};

struct dpf_atom {
	uint8_t da_op;      /* enum dpf_op */
	uint8_t da_width;   /* 1, 2 or 4 bytes, big-endian */
	int8_t da_shift;    /* SHIFT: DPF_SHIFT_MIN..DPF_SHIFT_MAX; EQ: 0 */
	uint8_t da_pad0;    /* 0 */
	uint16_t da_offset; /* bytes past the current base */
	uint16_t da_pad1;   /* 0 */
	uint32_t da_mask;   /* nonzero, no bits beyond width */
	uint32_t da_value;  /* EQ: no bits outside mask; SHIFT: added to the base */
};
_Static_assert(sizeof(struct dpf_atom) == 16, "dpf_atom is 16 bytes");

struct dpf_filter {
	uint32_t df_natoms; /* 1..DPF_MAX_ATOMS */
	uint32_t df_pad;    /* 0 */
	struct dpf_atom df_atoms[DPF_MAX_ATOMS];
};

/* --- builders ------------------------------------------------------------ */
#define DPF_EQ(off, width, mask, value)                                                  \
	((struct dpf_atom){ .da_op = DPF_OP_EQ, .da_width = (width), .da_offset = (off), \
			    .da_mask = (mask), .da_value = (value) })
#define DPF_SHIFT(off, width, mask, shift, add)                                            \
	((struct dpf_atom){ .da_op = DPF_OP_SHIFT, .da_width = (width), .da_shift = (shift), \
			    .da_offset = (off), .da_mask = (mask), .da_value = (add) })

#define DPF_ETHERTYPE_IPV4 0x0800
#define DPF_IPPROTO_TCP 6
#define DPF_IPPROTO_UDP 17

/* Fills f with "Ethernet, IPv4, not a later fragment, protocol proto,
 * destination port port" (proto DPF_IPPROTO_UDP or DPF_IPPROTO_TCP): what
 * libpcap's "ip and udp dst port N" tests. Five atoms; the fifth follows the
 * IPv4 header length. */
static inline void dpf_filter_ipv4_port(struct dpf_filter *f, uint8_t proto, uint16_t port)
{
	*f = (struct dpf_filter){ .df_natoms = 5 };
	f->df_atoms[0] = DPF_EQ(12, 2, 0xffff, DPF_ETHERTYPE_IPV4);
	f->df_atoms[1] = DPF_EQ(20, 2, 0x1fff, 0); /* fragment offset */
	f->df_atoms[2] = DPF_EQ(23, 1, 0xff, proto);
	f->df_atoms[3] = DPF_SHIFT(14, 1, 0x0f, 2, 14); /* base = transport header */
	f->df_atoms[4] = DPF_EQ(2, 2, 0xffff, port);
}

#endif
