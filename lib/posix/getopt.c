/*
 * getopt (POSIX): single-letter options for the tools. optstring lists the
 * letters, a ':' after one that takes an argument. Stops at the first
 * non-option or "--". An unknown option or a missing argument is said on
 * descriptor 2 and returned as '?'.
 */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

int optind = 1;
char *optarg;
int optopt;
static int nextchar; /* position inside a cluster like -inv */

int getopt(int argc, char *const argv[], const char *optstring)
{
	optarg = NULL;
	if (nextchar == 0) {
		if (optind >= argc || argv[optind][0] != '-' || argv[optind][1] == '\0')
			return -1;
		if (strcmp(argv[optind], "--") == 0) {
			optind++;
			return -1;
		}
		nextchar = 1;
	}
	const char *arg = argv[optind];
	char c = arg[nextchar++];
	const char *spec = c != ':' ? strchr(optstring, c) : NULL;
	bool last = arg[nextchar] == '\0';
	if (!spec) {
		optopt = c;
		fdprintf(2, "%s: invalid option -- '%c'\n", argv[0], c);
		if (last) {
			optind++;
			nextchar = 0;
		}
		return '?';
	}
	if (spec[1] == ':') {
		if (!last) {
			optarg = (char *)arg + nextchar;
		} else if (optind + 1 < argc) {
			optarg = argv[++optind];
		} else {
			optopt = c;
			fdprintf(2, "%s: option requires an argument -- '%c'\n", argv[0], c);
			optind++;
			nextchar = 0;
			return '?';
		}
		optind++;
		nextchar = 0;
		return c;
	}
	if (last) {
		optind++;
		nextchar = 0;
	}
	return c;
}

void getopt_count_form(int argc, char **argv)
{
	static char opt[24];
	if (argc > 1 && argv[1][0] == '-' && argv[1][1] >= '0' && argv[1][1] <= '9' &&
	    strlen(argv[1]) + 2 <= sizeof(opt)) {
		snprintf(opt, sizeof(opt), "-n%s", argv[1] + 1);
		argv[1] = opt;
	}
}
