/*
 * Buffered text on descriptors for programs of the POSIX layer: formatted
 * output to any descriptor, and reading lines or blocks from one. Small on
 * purpose: what the shell and the tools need, not C's stdio.
 */
#ifndef EXO_LIB_POSIX_STDIO_H
#define EXO_LIB_POSIX_STDIO_H

#include <lib/posix/posix.h>
#include <stdarg.h>

/* printf to fd (one write per call, so lines from processes sharing a pipe
 * do not interleave mid-line); bytes written or -errno. */
int fdprintf(int fd, const char *fmt, ...);
int vfdprintf(int fd, const char *fmt, va_list ap);

/* Output buffered up to a flush: for tools that write many small pieces. */
struct outbuf {
	int ob_fd;
	int ob_err;   /* first write error (-errno), or 0 */
	size_t ob_len;
	char ob_buf[4096];
};
void out_init(struct outbuf *o, int fd);
void out_write(struct outbuf *o, const void *s, size_t n);
void out_printf(struct outbuf *o, const char *fmt, ...);
int out_flush(struct outbuf *o); /* 0 or the first error */

/* Reading lines of any length (a line longer than the buffer comes in
 * pieces, each without a newline). */
struct inbuf {
	int ib_fd;
	int ib_err;
	bool ib_eof;
	size_t ib_start, ib_end;
	char ib_buf[8192];
};
void in_init(struct inbuf *in, int fd);
/* The next line (with its '\n' if it had one) at *line, its length; 0 at
 * end of input, -errno on error. The line stays valid until the next call. */
ssize_t in_line(struct inbuf *in, char **line);

/* "prog: msg: strerror(err)" on descriptor 2. */
void warn_errno(const char *prog, const char *what, long err);

#endif
