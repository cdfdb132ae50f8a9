/*
 * chmod MODE FILE...: set each FILE's permission bits. MODE is octal (755)
 * or symbolic: comma-separated clauses of who (u, g, o, a; none: all), an
 * operator (+, -, =) and permissions (r, w, x, s, t), as in `chmod +x f`
 * or `chmod u=rw,go-w f`. Exit status 1 if a file could not be changed,
 * 2 for a bad MODE.
 */
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

static int usage(bool help)
{
	fdprintf(help ? 1 : 2,
		 "usage: chmod MODE FILE...\n"
		 "  MODE: octal (755) or symbolic ([ugoa][+-=][rwxst], comma-separated)\n");
	return help ? 0 : 2;
}

/* The mode MODE makes of old: 0 and *out, or -1 if MODE is malformed. */
static int apply(const char *mode, mode_t old, mode_t *out)
{
	if (*mode >= '0' && *mode <= '7') {
		mode_t m = 0;
		for (const char *p = mode; *p; p++) {
			if (*p < '0' || *p > '7' || p - mode >= 4)
				return -1;
			m = m * 8 + (mode_t)(*p - '0');
		}
		*out = m;
		return 0;
	}
	mode_t m = old & 07777;
	for (const char *p = mode; *p;) {
		mode_t who = 0;
		for (; *p == 'u' || *p == 'g' || *p == 'o' || *p == 'a'; p++)
			who |= *p == 'u' ? 04700 : *p == 'g' ? 02070 : *p == 'o' ? 01007 : 07777;
		if (who == 0)
			who = 07777;
		if (*p != '+' && *p != '-' && *p != '=')
			return -1;
		while (*p == '+' || *p == '-' || *p == '=') {
			char op = *p++;
			mode_t perm = 0;
			for (; *p && *p != ',' && *p != '+' && *p != '-' && *p != '='; p++) {
				switch (*p) {
				case 'r': perm |= 0444; break;
				case 'w': perm |= 0222; break;
				case 'x': perm |= 0111; break;
				case 's': perm |= 06000; break;
				case 't': perm |= 01000; break;
				default: return -1;
				}
			}
			perm &= who;
			if (op == '+')
				m |= perm;
			else if (op == '-')
				m &= ~perm;
			else
				m = (m & ~(who & 0777)) | perm;
		}
		if (*p == ',')
			p++;
		else if (*p)
			return -1;
	}
	*out = m;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "-h") == 0)
		return usage(true);
	if (argc < 3)
		return usage(false);
	mode_t probe;
	if (apply(argv[1], 0, &probe) < 0) {
		fdprintf(2, "chmod: invalid mode '%s'\n", argv[1]);
		return 2;
	}
	int st = 0;
	for (int i = 2; i < argc; i++) {
		struct stat s;
		int r = stat(argv[i], &s);
		mode_t m = 0;
		if (r == 0)
			apply(argv[1], s.st_mode, &m);
		if (r == 0)
			r = chmod(argv[i], m);
		if (r < 0) {
			warn_errno("chmod", argv[i], r);
			st = 1;
		}
	}
	return st;
}
