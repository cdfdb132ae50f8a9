/* env: print the environment, or run COMMAND with NAME=VALUE added (-i: only those). */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: env [-i] [NAME=VALUE...] [COMMAND [ARG...]]\n"
			    "  -i start from an empty environment\n";

int main(int argc, char **argv)
{
	int c;
	bool empty = false;
	while ((c = getopt(argc, argv, "hi")) != -1) {
		if (c == 'h') {
			fdprintf(1, "%s", usage);
			return 0;
		}
		if (c != 'i') {
			fdprintf(2, "%s", usage);
			return EXIT_USAGE;
		}
		empty = true;
	}
	while (empty && environ && environ[0]) {
		char name[256];
		const char *eq = strchr(environ[0], '=');
		if (!eq)
			break;
		size_t n = (size_t)(eq - environ[0]);
		strlcpy(name, environ[0], MIN(n + 1, sizeof(name)));
		if (unsetenv(name) < 0)
			break;
	}
	int i = optind;
	for (; i < argc && strchr(argv[i], '='); i++) {
		char *eq = strchr(argv[i], '=');
		*eq = '\0';
		int r = setenv(argv[i], eq + 1, 1);
		*eq = '=';
		if (r < 0) {
			fdprintf(2, "env: %s: %s\n", argv[i], strerror(r));
			return 125;
		}
	}
	if (i == argc) {
		static struct outbuf o;
		out_init(&o, 1);
		for (int k = 0; environ && environ[k]; k++)
			out_printf(&o, "%s\n", environ[k]);
		return out_flush(&o) ? 1 : 0;
	}
	int r = execve(argv[i], argv + i, environ);
	fdprintf(2, "env: %s: %s\n", argv[i], strerror(r));
	return r == -ENOENT ? 127 : 126;
}
