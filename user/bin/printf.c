/*
 * printf: FORMAT with the ARGUMENTs, as POSIX's printf utility: \n \t \\
 * \0NNN escapes; %s %b %c %d %i %u %x %X %o %% with flags, width and
 * precision; the format is reused while arguments remain. A number that
 * does not parse is an error (exit 1) but printing goes on with 0.
 */
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: printf FORMAT [ARGUMENT...]\n";
static struct outbuf out;
static int status;

/* One backslash escape at s (after the '\'); returns the bytes used. */
static size_t escape(const char *s, bool octal_needs_zero)
{
	char c = *s;
	const char *map = "n\nt\tr\ra\ab\bf\fv\v\\\\";
	for (const char *m = map; *m; m += 2)
		if (c == m[0]) {
			out_write(&out, m + 1, 1);
			return 1;
		}
	if (c >= '0' && c <= '7') {
		size_t i = (c == '0' && octal_needs_zero) ? 1 : 0;
		int v = 0;
		size_t k = 0;
		for (; k < 3 && s[i + k] >= '0' && s[i + k] <= '7'; k++)
			v = v * 8 + (s[i + k] - '0');
		char b = (char)v;
		out_write(&out, &b, 1);
		return i + k;
	}
	out_write(&out, "\\", 1);
	if (c) {
		out_write(&out, s, 1);
		return 1;
	}
	return 0;
}

static long number(const char *s)
{
	if (!s)
		return 0;
	if (s[0] == '\'' || s[0] == '"')
		return (unsigned char)s[1];
	char *end;
	long v = strtol(s, &end, 0);
	if (*end || end == s) {
		fdprintf(2, "printf: '%s': not a number\n", s);
		status = 1;
	}
	return v;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0) {
		fdprintf(argc < 2 ? 2 : 1, "%s", usage);
		return argc < 2 ? 2 : 0;
	}
	out_init(&out, 1);
	const char *fmt = argv[1];
	int ai = 2;
	do {
		bool used = false;
		for (const char *p = fmt; *p;) {
			if (*p == '\\') {
				p += 1 + escape(p + 1, false);
				continue;
			}
			if (*p != '%') {
				out_write(&out, p++, 1);
				continue;
			}
			if (p[1] == '%') {
				out_write(&out, "%", 1);
				p += 2;
				continue;
			}
			/* copy the directive: flags, width, precision, conversion */
			char spec[32];
			size_t k = 0;
			spec[k++] = *p++;
			while (*p && strchr("-+ #0123456789.", *p) && k < sizeof(spec) - 3)
				spec[k++] = *p++;
			char conv = *p ? *p++ : '\0';
			const char *arg = ai < argc ? argv[ai++] : NULL;
			used = true;
			char piece[512];
			switch (conv) {
			case 'd':
			case 'i':
				spec[k++] = 'l';
				spec[k++] = 'd';
				spec[k] = '\0';
				snprintf(piece, sizeof(piece), spec, number(arg));
				break;
			case 'u':
			case 'x':
			case 'X':
			case 'o':
				spec[k++] = 'l';
				spec[k++] = conv;
				spec[k] = '\0';
				snprintf(piece, sizeof(piece), spec, (unsigned long)number(arg));
				break;
			case 'c':
				spec[k++] = 'c';
				spec[k] = '\0';
				snprintf(piece, sizeof(piece), spec, arg ? arg[0] : '\0');
				break;
			case 's':
				spec[k++] = 's';
				spec[k] = '\0';
				snprintf(piece, sizeof(piece), spec, arg ? arg : "");
				break;
			case 'b':
				for (const char *s = arg ? arg : ""; *s;)
					if (*s == '\\')
						s += 1 + escape(s + 1, true);
					else
						out_write(&out, s++, 1);
				piece[0] = '\0';
				break;
			default:
				fdprintf(2, "printf: %%%c: invalid directive\n", conv ? conv : ' ');
				out_flush(&out);
				return 1;
			}
			out_write(&out, piece, strlen(piece));
		}
		if (!used)
			break;
	} while (ai < argc);
	if (out_flush(&out) < 0)
		return 1;
	return status;
}
