/*
 * Fixed-width types shared by the kernel, the library OSes and host tests.
 *
 * Everything Exo builds is freestanding, so it does not rely on the C library's
 * headers; host unit tests include this file alongside <stdint.h>, which the
 * compiler provides in either mode.
 */
#ifndef EXO_INC_TYPES_H
#define EXO_INC_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t physaddr_t;
typedef uint64_t ppn_t;     /* physical page number: physaddr >> PAGE_SHIFT */
typedef int32_t envid_t;

#define ROUNDDOWN(a, n) ((__typeof__(a))((uint64_t)(a) / (n) * (n)))
#define ROUNDUP(a, n) ROUNDDOWN((uint64_t)(a) + (n) - 1, (n))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
/* A parameter a function must take (its type is fixed: a hook, a table of
 * commands) but does not need. */
#define UNUSED __attribute__((unused))

#endif
