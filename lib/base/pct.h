/*
 * Protected control transfer in the library OS: serving calls and messages,
 * and making them (inc/syscall.def: pct_call, pct_send).
 *
 * Every program of this library OS names its PCT guard with a key of its own
 * (slot LIBOS_KEY_PCT) and, when it forks, grants that key to the child
 * (which finds it in slot LIBOS_KEY_PARENT_PCT): parents and children can
 * call each other; strangers cannot.
 */
#ifndef EXO_LIB_PCT_H
#define EXO_LIB_PCT_H

#include <inc/types.h>

#define LIBOS_KEY_PARENT_PCT 1 /* the key to our parent's PCT guard */
#define LIBOS_KEY_PCT 2        /* our own PCT guard's name */
#define LIBOS_PCT_COMPONENT 0x7c7
#define LIBOS_PCTSTACK_TOP 0x00007e8000000000UL
#define LIBOS_PCTSTACK_PAGES 2

/* A call: the return value is the reply. A message: no reply. */
typedef uint64_t (*pct_call_fn)(envid_t caller, uint64_t a0, uint64_t a1, uint64_t a2);
typedef void (*pct_msg_fn)(envid_t from, uint64_t a0, uint64_t a1, uint64_t a2);

/* Name our PCT guard (at start and in a forked child). */
void pct_init(void);
/* Take calls and messages: bind the PCT stack (once) and register the entry.
 * A NULL on_call answers calls with -E_NO_ENTRY; NULL on_msg drops messages. */
int pct_serve(pct_call_fn on_call, pct_msg_fn on_msg);
/* Call or message env to with the key that reaches it (ours if it is our
 * descendant, else our parent's). */
long pct_call(envid_t to, uint64_t a0, uint64_t a1, uint64_t a2);
long pct_send(envid_t to, uint64_t a0, uint64_t a1, uint64_t a2);
/* In a forked child: name our own guard, serve as the parent did. */
void pct_after_fork(void);
/* After fork, in the parent: let the child call us. */
void pct_grant_to_child(envid_t child);

#endif
