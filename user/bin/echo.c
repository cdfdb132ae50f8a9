/*
 * echo: write the arguments, separated by spaces, and a newline.
 * -n: no newline; -e: interpret \n \t \\ \0NNN and \c (stop). Only leading
 * options count ("echo -- -n" prints both words).
 */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: echo [-n] [-e] [WORD...]\n"
			    "  -n  no newline at the end\n"
			    "  -e  interpret \\n \\t \\\\ \\0NNN and \\c\n";

/* Write s with -e's escapes; false once \c said stop. */
static bool put_escaped(struct outbuf *o, const char *s)
{
	for (; *s; s++) {
		if (*s != '\\' || !s[1]) {
			out_write(o, s, 1);
			continue;
		}
		char c = *++s;
		switch (c) {
		case 'n': out_write(o, "\n", 1); break;
		case 't': out_write(o, "\t", 1); break;
		case 'r': out_write(o, "\r", 1); break;
		case 'a': out_write(o, "\a", 1); break;
		case '\\': out_write(o, "\\", 1); break;
		case 'c': return false;
		case '0': {
			int v = 0;
			for (int i = 0; i < 3 && s[1] >= '0' && s[1] <= '7'; i++)
				v = v * 8 + (*++s - '0');
			char b = (char)v;
			out_write(o, &b, 1);
			break;
		}
		default:
			out_write(o, s - 1, 2);
		}
	}
	return true;
}

int main(int argc, char **argv)
{
	bool newline = true, escapes = false;
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *f = argv[i] + 1;
		if (strcmp(f, "h") == 0) {
			fdprintf(1, "%s", usage);
			return 0;
		}
		bool ok = true;
		for (const char *p = f; *p; p++)
			ok &= *p == 'n' || *p == 'e';
		if (!ok)
			break; /* not options: words */
		for (const char *p = f; *p; p++) {
			newline &= *p != 'n';
			escapes |= *p == 'e';
		}
	}
	static struct outbuf o;
	out_init(&o, 1);
	bool go = true;
	for (int first = i; i < argc && go; i++) {
		if (i > first)
			out_write(&o, " ", 1);
		if (escapes)
			go = put_escaped(&o, argv[i]);
		else
			out_write(&o, argv[i], strlen(argv[i]));
	}
	if (newline && go)
		out_write(&o, "\n", 1);
	int r = out_flush(&o);
	if (r < 0) {
		warn_errno("echo", "write", r);
		return 1;
	}
	return 0;
}
