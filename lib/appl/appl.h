/*
 * The appliance library OS (lib/appl): what a dedicated server (httpd,
 * kvd) runs on instead of the POSIX library OS. No fork, exec, file
 * descriptors or sockets: a program gets memory, TCP connections and a
 * clock, and is driven by one event loop.
 *
 * Memory (pages.c, slab.c). The server's memory comes from a page pool
 * that asks the kernel for physical pages by name (it reads the exposed
 * page table, upages[], for free ones), binds them in a region of its own
 * and keeps freed runs for reuse instead of returning them. A slab
 * allocator over that pool serves small objects from one-page slabs of
 * fixed-size slots (size classes fitted to a server's objects: TCP
 * connections, dictionary entries, short strings); anything larger than
 * APPL_SLAB_MAX is a run of pages. appl_free finds an object's size from
 * its page, so callers need not remember it. The TCP stack's memory comes
 * from here too (appl_init hands it to lib/net/tcpnet.c).
 *
 * Event loop (loop.c). appl_listen claims a port; the loop sleeps in the
 * kernel (tcpnet_run: until a frame arrives or a TCP or appliance timer
 * is due), then calls the program back for every connection whose state
 * changed: on_accept once, on_event with tcp_events' bits whenever the
 * stack woke it (edge-triggered: read until E_AGAIN, or appl_kick to be
 * called again), on_timer when the connection's deadline passed. Ticks
 * (appl_every) run periodic work. Callbacks may close any connection.
 *
 * Ownership: a struct appl_conn is the loop's; it is valid from on_accept
 * until the program calls appl_close or appl_abort on it. The program's
 * own state hangs off appl_conn_user.
 *
 * Single-threaded: every call here is made from the loop's thread.
 */
#ifndef EXO_LIB_APPL_APPL_H
#define EXO_LIB_APPL_APPL_H

#include <inc/types.h>
#include <lib/net/tcp.h>

/* --- memory --- */
#define APPL_SLAB_MAX 1008 /* larger objects are page runs */

/* Start the appliance: memory, then the network (net_open). 0 or -E_*. */
int appl_init(void);
/* n bytes (not zeroed), or NULL when no page can be had. */
void *appl_alloc(size_t n);
void *appl_calloc(size_t n);
/* p from appl_alloc, or NULL. */
void appl_free(void *p);
/* The usable size of p's block (at least what was asked for). */
size_t appl_size(const void *p);
/* npages bound, page-aligned pages (not zeroed), or NULL. */
void *appl_pages(size_t npages);
void appl_pages_free(void *p, size_t npages);

struct appl_mem_stats {
	uint64_t pages_owned;   /* physical pages the pool holds, bound */
	uint64_t pages_free;    /* of which free for reuse */
	uint64_t pages_taken;   /* sys_page_alloc calls that succeeded */
	uint64_t pages_raced;   /* pages another env took first (E_BUSY) */
	uint64_t slab_bytes;    /* bytes in small objects now */
	uint64_t large_bytes;   /* bytes in page-run objects now */
	uint64_t allocs, frees, bad_frees;
};
void appl_mem_stats(struct appl_mem_stats *s);

/* --- the file system (disk.c) --- */
struct fs;
/* lib/fs on the machine's disk, mounted once (later calls return the same
 * one). format: a disk without XN or a file system gets them (erasing it;
 * XN's format needs the first env's key). 0 and *out, or a negative errno
 * of lib/fs (-ENODEV: no disk, or no XN on it) or -E_*. */
int appl_fs_mount(bool format, struct fs **out);
/* Write everything out and let the disk go. */
int appl_fs_unmount(void);
/* The mounted file system's device hooks (lib/fs/fsdev_xn.h), for a server
 * that reads its files' blocks ahead itself; NULL before a mount. */
struct fsdev;
const struct fsdev *appl_fs_dev(void);

/* --- the event loop --- */
struct appl_conn;
struct appl_listener;

struct appl_ops {
	/* A new connection on l: set it up (appl_conn_set_user). Return false
	 * to refuse it (the loop resets it). */
	bool (*on_accept)(struct appl_conn *c, void *arg);
	/* c's events (TCP_EV_*) may have changed. */
	void (*on_event)(struct appl_conn *c, unsigned events);
	/* c's deadline (appl_conn_set_deadline) passed. */
	void (*on_timer)(struct appl_conn *c);
};

/* Listen on port with at most backlog half-open or unaccepted
 * connections; ops->on_accept gets arg. NULL and *err on failure. */
struct appl_listener *appl_listen(uint16_t port, int backlog, const struct appl_ops *ops, void *arg,
				  int *err);

struct tcp_conn *appl_conn_tcp(const struct appl_conn *c);
void *appl_conn_user(const struct appl_conn *c);
void appl_conn_set_user(struct appl_conn *c, void *user);
/* The peer's address as "a.b.c.d:port" (at most 22 bytes). */
const char *appl_conn_peer(const struct appl_conn *c);
/* Call on_event for c again on this loop turn (more work pending). */
void appl_kick(struct appl_conn *c);
/* Call on_timer at appl_now_ms() >= at_ms; 0 cancels. */
void appl_conn_set_deadline(struct appl_conn *c, uint64_t at_ms);
/* Finish c in the background (tcp_close) and forget it. */
void appl_close(struct appl_conn *c);
/* Reset c and forget it. */
void appl_abort(struct appl_conn *c);

/* fn(arg) every period_ms (at most APPL_TICKS of them). 0 or -E_NO_MEM. */
#define APPL_TICKS 8
int appl_every(uint64_t period_ms, void (*fn)(void *arg), void *arg);
/* Run until appl_stop; returns 0, or -E_* if the network failed. */
int appl_run(void);
void appl_stop(void);
/* Milliseconds since boot, from the TSC. */
uint64_t appl_now_ms(void);

struct appl_loop_stats {
	uint64_t turns, sleeps, frames, events, accepts, refused, timers, open, most_open;
	/* TSC cycles: in tcpnet_run (waiting for frames, taking them, the
	 * stack's timers), in the program's callbacks, in ticks and deadlines,
	 * and sending what a turn left in the batch at its end */
	uint64_t cyc_net, cyc_serve, cyc_due, cyc_flush;
};
void appl_loop_stats(struct appl_loop_stats *s);

#endif
