/*
 * Capabilities, after Xok: a name of ordered components plus rights.
 *
 * A key dominates a guard when the key's name is a prefix of the guard's
 * name; it authorises an operation when it also carries the rights the
 * operation needs. Every resource - each physical page, each env - carries a
 * guard; every system call that touches a resource names, by slot, the key in
 * the caller's key ring that authorises it. User space holds slot numbers
 * only: the keys live in the kernel, so they cannot be forged.
 *
 * Each env's ring starts with its own key in slot CAP_SELF: the env's guard
 * name with all rights. A child's name extends its creator's key by two
 * components (its env id), so an env's key dominates everything its
 * descendants own, and envs nest at most CAP_MAXLEN / 2 deep.
 */
#ifndef EXO_INC_CAP_H
#define EXO_INC_CAP_H

#include <inc/types.h>

#define CAP_MAXLEN 30   /* name components: bounds how deep envs can nest */
#define CAP_RING 32     /* key ring slots per env */
#define CAP_SELF 0      /* the slot holding an env's own key at creation */

/* Rights */
#define CAP_R 0x1       /* read: bind a page readable */
#define CAP_W 0x2       /* write: bind a page writable */
#define CAP_M 0x4       /* manage: free a page, control or destroy an env */
#define CAP_ALL (CAP_R | CAP_W | CAP_M)

struct cap {
	uint8_t c_valid;    /* 0: an empty slot */
	uint8_t c_len;      /* components of c_name in use */
	uint8_t c_rights;   /* CAP_* */
	uint8_t c_pad;
	uint16_t c_name[CAP_MAXLEN];
};

_Static_assert(sizeof(struct cap) == 64, "struct cap is ABI (sys_cap_read)");

#endif
