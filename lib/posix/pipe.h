/*
 * Pipes between processes of this library OS: a ring buffer in a page
 * shared across fork or spawn, and sleeps on words of that page
 * (sys_page_sleep, sys_page_wake) for a reader waiting for data or a writer
 * waiting for room. No kernel object: the kernel sees a shared page.
 */
#ifndef EXO_LIB_PIPE_H
#define EXO_LIB_PIPE_H

#include <inc/types.h>

struct pipe;

/* A new pipe, to be shared with a child by fork. NULL if out of memory. */
struct pipe *pipe_new(void);
/* Say which end this process holds (after fork, in each process). */
void pipe_reader(struct pipe *p);
void pipe_writer(struct pipe *p);
/* Write all n bytes, waiting for room. Returns n, or -E_* if the reader is
 * gone. */
long pipe_write(struct pipe *p, const void *buf, size_t n);
/* Read up to n bytes, waiting for at least one; 0 at end of file (the
 * writer closed or died). */
long pipe_read(struct pipe *p, void *buf, size_t n);
/* No more writes: the reader sees end of file once it has read the rest. */
void pipe_close_write(struct pipe *p);
/* Let children import pipe and TTY descriptors (the POSIX layer's start). */
void pipe_kinds_register(void);

#endif
