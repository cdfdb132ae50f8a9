/*
 * TCP for programs on Exo (lib/net/tcpnet.c): the program's one TCP stack
 * (lib/net/tcp.h's calls work on the connections these return) and calls
 * that wait, by sleeping in the kernel until a frame or a timer is due.
 * net_open (lib/net/net.h) must have succeeded first.
 */
#ifndef EXO_LIB_NET_TCPNET_H
#define EXO_LIB_NET_TCPNET_H

#include <lib/net/net.h>
#include <lib/net/tcp.h>

/* The stack, made on first use (NULL without memory). */
struct tcp_stack *tcpnet_stack(void);
/* Process frames and timers, waiting up to wait_ms for a frame when
 * nothing is due sooner. The frames processed, or -E_*. */
int tcpnet_run(uint64_t wait_ms);
/* Listen on our address's port, claiming it from the kernel. */
struct tcp_conn *tcpnet_listen(uint16_t port, int backlog, int *err);
/* Connect to ip:port, waiting up to timeout_ms for the handshake. */
struct tcp_conn *tcpnet_connect(uint32_t ip, uint16_t port, uint64_t timeout_ms, int *err);
/* The stack's memory from alloc/release instead of malloc: before the
 * stack is first used (-E_BUSY after). */
int tcpnet_set_memory(void *(*alloc)(size_t n), void (*release)(void *p, size_t n));
/* fn(c) whenever c's events may have changed (tcp_hooks' th_wake: it must
 * not call into the stack). NULL: no calls. The socket layer
 * (lib/net/sock.c) and lib/appl's event loop each set it; a program uses
 * one of them. */
void tcpnet_set_wake(void (*fn)(struct tcp_conn *c));
/* Give the kernel's filter for port back (after closing its listener). */
void tcpnet_unclaim(uint16_t port);
/* Send all of buf, waiting for room: len, or what was sent and then an
 * error, or the error. */
long tcpnet_send_all(struct tcp_conn *c, const void *buf, size_t len, uint64_t timeout_ms);
/* tcp_recv, waiting up to timeout_ms for data or the end of stream. */
long tcpnet_recv(struct tcp_conn *c, void *buf, size_t len, uint64_t timeout_ms);

/* Claim port's segments from the kernel for this env (as tcpnet_listen
 * does): 0 or -EADDRINUSE (another env's), -E_NO_MEM. */
int tcpnet_claim(uint16_t port);
/* Claim this env's block of ephemeral ports (one filter for all its
 * client connections; tcpnet_connect does it on first use). */
void tcpnet_claim_clients(void);
/* Whether the next hop to ip is known, asking ARP and waiting up to
 * timeout_ms (0: only look, asking nothing): 0, -E_AGAIN, -E_NOT_FOUND. */
int tcpnet_route(uint32_t ip, uint64_t timeout_ms);

#endif
