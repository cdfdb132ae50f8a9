/* mv: rename files (into DIR if the last name is a directory). Within one file system. */
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: mv SOURCE DEST | mv SOURCE... DIR\n";

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "-h") == 0) {
		fdprintf(1, "%s", usage);
		return 0;
	}
	if (argc < 3 || argv[1][0] == '-') {
		fdprintf(2, "%s", usage);
		return 2;
	}
	const char *dest = argv[argc - 1];
	struct stat st;
	bool into = stat(dest, &st) == 0 && S_ISDIR(st.st_mode);
	if (argc > 3 && !into) {
		warn_errno("mv", dest, -ENOTDIR);
		return 1;
	}
	int status = 0;
	for (int i = 1; i < argc - 1; i++) {
		char to[PATH_MAX];
		const char *base = strrchr(argv[i], '/');
		snprintf(to, sizeof(to), into ? "%s/%s" : "%s", dest, base ? base + 1 : argv[i]);
		int r = rename(argv[i], to);
		if (r < 0) {
			warn_errno("mv", argv[i], r);
			status = 1;
		}
	}
	return status;
}
