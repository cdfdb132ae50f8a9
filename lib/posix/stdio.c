/*
 * Buffered text on descriptors (lib/posix/stdio.h).
 */
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

struct fdfmt {
	int fd;
	int err;
	size_t len;
	char buf[512];
};

static void fdfmt_flush(struct fdfmt *o)
{
	if (o->len && !o->err) {
		ssize_t r = write_all(o->fd, o->buf, o->len);
		if (r < 0)
			o->err = (int)r;
	}
	o->len = 0;
}

static void fdfmt_put(void *arg, const char *s, size_t n)
{
	struct fdfmt *o = arg;
	while (n) {
		if (o->len == sizeof(o->buf))
			fdfmt_flush(o);
		size_t k = MIN(n, sizeof(o->buf) - o->len);
		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
	}
}

int vfdprintf(int fd, const char *fmt, va_list ap)
{
	struct fdfmt o = { .fd = fd };
	int n = fmt_vformat(fdfmt_put, &o, fmt, ap);
	fdfmt_flush(&o);
	return o.err ? o.err : n;
}

int fdprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vfdprintf(fd, fmt, ap);
	va_end(ap);
	return n;
}

void out_init(struct outbuf *o, int fd)
{
	o->ob_fd = fd;
	o->ob_err = 0;
	o->ob_len = 0;
}

int out_flush(struct outbuf *o)
{
	if (o->ob_len && !o->ob_err) {
		ssize_t r = write_all(o->ob_fd, o->ob_buf, o->ob_len);
		if (r < 0)
			o->ob_err = (int)r;
	}
	o->ob_len = 0;
	return o->ob_err;
}

void out_write(struct outbuf *o, const void *s, size_t n)
{
	const char *p = s;
	while (n) {
		if (o->ob_len == sizeof(o->ob_buf))
			out_flush(o);
		size_t k = MIN(n, sizeof(o->ob_buf) - o->ob_len);
		memcpy(o->ob_buf + o->ob_len, p, k);
		o->ob_len += k;
		p += k;
		n -= k;
	}
}

static void out_put(void *arg, const char *s, size_t n)
{
	out_write(arg, s, n);
}

void out_printf(struct outbuf *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vformat(out_put, o, fmt, ap);
	va_end(ap);
}

static char *find_newline(char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] == '\n')
			return b + i;
	return NULL;
}

void in_init(struct inbuf *in, int fd)
{
	in->ib_fd = fd;
	in->ib_err = 0;
	in->ib_eof = false;
	in->ib_start = in->ib_end = 0;
}

ssize_t in_line(struct inbuf *in, char **line)
{
	for (;;) {
		char *b = in->ib_buf + in->ib_start;
		size_t have = in->ib_end - in->ib_start;
		char *nl = find_newline(b, have);
		if (nl || (have && (in->ib_eof || have == sizeof(in->ib_buf)))) {
			size_t n = nl ? (size_t)(nl - b) + 1 : have;
			*line = b;
			in->ib_start += n;
			return (ssize_t)n;
		}
		if (in->ib_eof)
			return 0;
		if (in->ib_err)
			return in->ib_err;
		/* make room at the end, then read more */
		memmove(in->ib_buf, b, have);
		in->ib_start = 0;
		in->ib_end = have;
		ssize_t r = read(in->ib_fd, in->ib_buf + have, sizeof(in->ib_buf) - have);
		if (r < 0)
			in->ib_err = (int)r;
		else if (r == 0)
			in->ib_eof = true;
		else
			in->ib_end += (size_t)r;
	}
}

void warn_errno(const char *prog, const char *what, long err)
{
	fdprintf(2, "%s: %s: %s\n", prog, what, strerror(err));
}
