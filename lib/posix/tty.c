/*
 * The terminal a shell gives its foreground job (FILE_KIND_TTY): the
 * console, with the line discipline a Unix terminal driver would apply
 * done here, in the library OS of the process that reads.
 *
 * The shell hands the console itself to the job (sys_cons_grant) and
 * makes Ctrl-C the console's interrupt character (sys_cons_set_intr), so
 * the kernel tells the shell of a Ctrl-C however busy the job is; the job
 * reads the bytes with sys_cgetc. This file turns them into lines: it
 * echoes what is typed, erases a byte on backspace or DEL, the line on
 * Ctrl-U, a word on Ctrl-W, ends the line on CR or LF (delivered with a
 * '\n'), and on Ctrl-D delivers the line so far without one - at the start
 * of a line, end of file. Escape sequences (arrow keys) and other control
 * bytes are swallowed, so they cannot move the cursor behind the editing's
 * back. A Ctrl-C that reaches here (no interrupt character set) drops the
 * line. Writes go straight to the console.
 *
 * A process reads only while it holds the console; one that does not gets
 * -EIO, as a Unix background job reading its terminal would be stopped.
 * A process that holds it and starts a child to read it hands it on
 * (tty_hand_to). The line being edited is the process's own (one console).
 *
 * Hostile stance: input is whatever the line carries; a line past
 * TTY_LINE_MAX bytes rings the bell and drops the excess.
 */
#include <lib/base/libos.h>
#include <lib/posix/posix.h>

#define TTY_LINE_MAX 1024 /* bytes of one line, its '\n' included */
#define CTRL(c) ((c) & 0x1f)
#define DEL 0x7f
#define ESC 0x1b

static struct {
	char buf[TTY_LINE_MAX];
	size_t len;       /* bytes in buf */
	size_t done;      /* the first done bytes are a finished line */
	size_t off;       /* of those, read already */
	bool eof;         /* Ctrl-D on an empty line: the next read returns 0 */
	int esc;          /* in an escape sequence: 1 after ESC, 2 after ESC [ */
} line;

static void echo(const char *s, size_t n)
{
	sys_cputs(s, n);
}

static void erase(size_t n)
{
	for (; n > 0 && line.len > 0; n--, line.len--)
		echo("\b \b", 3);
}

/* Feed one typed byte to the line. */
static void feed(uint8_t c)
{
	if (line.esc) {
		/* ESC [ or ESC O, then parameters, then a final byte 0x40-0x7e */
		if (line.esc == 1 && (c == '[' || c == 'O'))
			line.esc = 2;
		else if (line.esc == 1 || (c >= 0x40 && c <= 0x7e))
			line.esc = 0;
		return;
	}
	switch (c) {
	case '\r':
	case '\n':
		line.buf[line.len++] = '\n'; /* room is kept for it */
		line.done = line.len;
		echo("\n", 1);
		return;
	case CTRL('D'):
		if (line.len == 0)
			line.eof = true;
		line.done = line.len;
		return;
	case CTRL('C'):
		line.len = 0;
		echo("^C\n", 3);
		return;
	case CTRL('U'): erase(line.len); return;
	case CTRL('W'): {
		size_t n = 0;
		while (n < line.len && line.buf[line.len - 1 - n] == ' ')
			n++;
		while (n < line.len && line.buf[line.len - 1 - n] != ' ')
			n++;
		erase(n);
		return;
	}
	case CTRL('H'):
	case DEL: erase(1); return;
	case ESC: line.esc = 1; return;
	}
	if (c < 0x20 && c != '\t')
		return;
	if (line.len + 1 >= TTY_LINE_MAX) { /* keep a byte for the '\n' */
		echo("\a", 1);
		return;
	}
	line.buf[line.len++] = (char)c;
	echo((const char *)&c, 1);
}

static ssize_t tty_read(struct file *f, void *buf, size_t n)
{
	if (n == 0)
		return 0;
	while (!line.done && !line.eof) {
		long c = sys_cgetc((f->f_flags & O_NONBLOCK) ? CGETC_NONBLOCK : 0);
		if (c < 0)
			return c == -E_AGAIN ? -EAGAIN : -EIO; /* E_PERM: not ours now */
		feed((uint8_t)c);
	}
	if (line.done == 0) { /* end of file, once */
		line.eof = false;
		return 0;
	}
	size_t k = MIN(n, line.done - line.off);
	memcpy(buf, line.buf + line.off, k);
	line.off += k;
	if (line.off == line.done) {
		/* what was typed after the line ended is the next line's */
		memmove(line.buf, line.buf + line.done, line.len - line.done);
		line.len -= line.done;
		line.done = line.off = 0;
	}
	return (ssize_t)k;
}

static ssize_t tty_write(struct file *f UNUSED, const void *buf, size_t n)
{
	long r = sys_cputs(buf, n);
	return r < 0 ? -errno_from_exo(r) : (ssize_t)n;
}

static int tty_fstat(struct file *f UNUSED, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR | 0620;
	st->st_rdev = 0x0400; /* tty0's numbers, for tools that look */
	return 0;
}

static int tty_export(struct file *f UNUSED, envid_t child UNUSED, uint64_t *va_next UNUSED,
		      uint8_t blob[48] UNUSED)
{
	return 0; /* nothing to share: the console is the kernel's */
}

/* poll: a line (or end of file) ready to read. The bytes typed so far are
 * fed to the line now, as a terminal's driver would as they arrive. */
static int tty_poll(struct file *f UNUSED, struct poll_wait *w)
{
	while (!line.done && !line.eof) {
		long c = sys_cgetc(CGETC_NONBLOCK);
		if (c == -E_AGAIN)
			break;
		if (c < 0)
			return POLLOUT | POLLERR; /* not ours now: a read fails (EIO) */
		feed((uint8_t)c);
	}
	if (line.done || line.eof)
		return POLLIN | POLLOUT;
	if (w)
		poll_wait_console(w);
	return POLLOUT;
}

static const struct file_ops tty_ops = {
	.fo_name = "tty",
	.fo_read = tty_read,
	.fo_write = tty_write,
	.fo_fstat = tty_fstat,
	.fo_export = tty_export,
	.fo_poll = tty_poll,
	.fo_tty = true,
	.fo_kind = FILE_KIND_TTY,
};

int tty_open(void)
{
	struct file *t = file_new(&tty_ops, O_RDWR, NULL);
	if (!t)
		return -ENOMEM;
	int fd = fd_install(t, 0);
	file_put(t);
	return fd;
}

static struct file *tty_import(const uint8_t blob[48] UNUSED, int flags)
{
	return file_new(&tty_ops, flags, NULL);
}

void tty_kind_register(void)
{
	file_kind_register(FILE_KIND_TTY, tty_import);
}

bool tty_file(int fd)
{
	struct file *f = fd_file(fd);
	return f && f->f_ops == &tty_ops;
}

int tty_hand_to(pid_t pid)
{
	if (ukinfo->ki_console != thisenv_id)
		return 0;
	long r = sys_cons_grant(pid);
	return r < 0 ? -errno_from_exo(r) : 1;
}
