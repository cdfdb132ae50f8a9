/*
 * The line editor (parse.h): bytes from a serial console in, a line out,
 * with its echo written back through ed->echo.
 *
 * Keys: printable bytes (and bytes >= 0x80, so UTF-8 passes) append;
 * backspace or DEL erases one byte, Ctrl-U the line, Ctrl-W the word before
 * the cursor; up and down arrows (ESC [ A / ESC [ B, or ESC O A/B) walk the
 * history; Ctrl-C drops the line; Ctrl-D on an empty line is end of input;
 * CR or LF ends the line. The cursor stays at the end of the line: other
 * escape sequences and control bytes are swallowed, so noise on the line
 * cannot move the terminal's cursor behind the editor's back.
 *
 * Hostile stance: a line past SH_LINE_MAX bytes rings the bell and drops
 * the excess; an escape sequence is at most a few bytes of state.
 */
#include <common/string.h>
#include "parse.h"

void sh_edit_init(struct sh_edit *ed)
{
	ed->len = 0;
	ed->esc = 0;
	ed->line[0] = '\0';
	ed->hpos = ed->nhist;
}

static void echo(struct sh_edit *ed, const char *s, size_t n)
{
	if (ed->echo && n)
		ed->echo(ed->ctx, s, n);
}

static void erase(struct sh_edit *ed, int n)
{
	/* "\b \b" per byte, a chunk at a time */
	static const char bsb[] = "\b \b\b \b\b \b\b \b\b \b\b \b\b \b\b \b";
	for (; n > 0 && ed->len > 0;) {
		int k = MIN(n, MIN(ed->len, 8));
		echo(ed, bsb, (size_t)k * 3);
		ed->len -= k;
		n -= k;
	}
	ed->line[ed->len] = '\0';
}

/* Replace the line with s (history). */
static void show(struct sh_edit *ed, const char *s)
{
	erase(ed, ed->len);
	size_t n = strnlen(s, SH_LINE_MAX);
	memcpy(ed->line, s, n);
	ed->len = (int)n;
	ed->line[n] = '\0';
	echo(ed, s, n);
}

void sh_edit_remember(struct sh_edit *ed, const char *line)
{
	if (!line[0] || (ed->nhist && strcmp(ed->hist[ed->nhist - 1], line) == 0)) {
		ed->hpos = ed->nhist;
		return;
	}
	size_t n = strnlen(line, SH_LINE_MAX);
	char *copy = ed->alloc(n + 1);
	if (copy) {
		memcpy(copy, line, n);
		copy[n] = '\0';
		if (ed->nhist == SH_HISTORY) {
			ed->release(ed->hist[0]);
			memmove(ed->hist, ed->hist + 1, sizeof(ed->hist[0]) * (SH_HISTORY - 1));
			ed->nhist--;
		}
		ed->hist[ed->nhist++] = copy;
	}
	ed->hpos = ed->nhist;
}

static void history(struct sh_edit *ed, int dir)
{
	int to = ed->hpos + dir;
	if (to < 0 || to > ed->nhist)
		return;
	if (ed->hpos == ed->nhist) /* leaving the line being typed: keep it */
		memcpy(ed->saved, ed->line, (size_t)ed->len + 1);
	ed->hpos = to;
	show(ed, to == ed->nhist ? ed->saved : ed->hist[to]);
}

int sh_edit_feed(struct sh_edit *ed, unsigned char c)
{
	/* escape sequences: ESC [ or ESC O, then parameters, then a final byte */
	if (ed->esc == 1) {
		ed->esc = (c == '[' || c == 'O') ? 2 : 0;
		return ED_MORE;
	}
	if (ed->esc == 2) {
		if (c >= 0x40 && c <= 0x7e) {
			ed->esc = 0;
			if (c == 'A')
				history(ed, -1);
			else if (c == 'B')
				history(ed, 1);
		} else if (c < 0x20 || c > 0x3f) {
			ed->esc = 0; /* not a sequence after all */
		}
		return ED_MORE;
	}
	switch (c) {
	case 0x1b:
		ed->esc = 1;
		return ED_MORE;
	case '\r':
	case '\n':
		echo(ed, "\n", 1);
		ed->line[ed->len] = '\0';
		return ED_LINE;
	case 0x03: /* Ctrl-C */
		echo(ed, "^C\n", 3);
		ed->len = 0;
		ed->line[0] = '\0';
		ed->hpos = ed->nhist;
		return ED_INTR;
	case 0x04: /* Ctrl-D */
		if (ed->len == 0) {
			echo(ed, "\n", 1);
			return ED_EOF;
		}
		return ED_MORE;
	case 0x08:
	case 0x7f:
		erase(ed, 1);
		return ED_MORE;
	case 0x15: /* Ctrl-U */
		erase(ed, ed->len);
		return ED_MORE;
	case 0x17: { /* Ctrl-W: spaces, then the word before them */
		int n = ed->len;
		while (n > 0 && ed->line[n - 1] == ' ')
			n--;
		while (n > 0 && ed->line[n - 1] != ' ')
			n--;
		erase(ed, ed->len - n);
		return ED_MORE;
	}
	default:
		if (c < 0x20)
			return ED_MORE; /* other control bytes: ignored */
		if (ed->len >= SH_LINE_MAX) {
			echo(ed, "\a", 1);
			return ED_MORE;
		}
		ed->line[ed->len++] = (char)c;
		ed->line[ed->len] = '\0';
		echo(ed, (const char *)&c, 1);
		return ED_MORE;
	}
}
