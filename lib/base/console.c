/*
 * Console I/O for programs: printf through sys_cputs, input through sys_cgetc.
 */
#include <lib/base/libos.h>

struct outbuf {
	char buf[512];
	size_t len;
	int total;
};

const struct console_io *console_io;

static void flush(struct outbuf *o)
{
	if (o->len && console_io)
		console_io->write(o->buf, o->len);
	else if (o->len)
		sys_cputs(o->buf, o->len);
	o->len = 0;
}

static void put_chunk(void *arg, const char *s, size_t n)
{
	struct outbuf *o = arg;
	while (n > 0) {
		if (o->len == sizeof(o->buf))
			flush(o);
		size_t k = MIN(n, sizeof(o->buf) - o->len);
		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
	}
}

int vprintf(const char *fmt, va_list ap)
{
	struct outbuf o;
	o.len = 0;
	int n = fmt_vformat(put_chunk, &o, fmt, ap);
	flush(&o);
	return n;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int puts(const char *s)
{
	return printf("%s\n", s);
}

int getchar(void)
{
	if (console_io)
		return console_io->getc();
	return (int)sys_cgetc(0);
}

int readline(const char *prompt, char *buf, int size)
{
	if (prompt)
		printf("%s", prompt);
	int n = 0;
	for (;;) {
		int c = getchar();
		if (c < 0)
			return c;
		if (c == '\r' || c == '\n') {
			printf("\n");
			buf[n] = '\0';
			return n;
		}
		if ((c == '\b' || c == 0x7f) && n > 0) {
			n--;
			printf("\b \b");
		} else if (c >= ' ' && c < 0x7f && n < size - 1) {
			buf[n++] = (char)c;
			printf("%c", c);
		}
	}
}
