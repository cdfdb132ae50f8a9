/* du: space used under each PATH (default .), in KiB; -s the totals only. */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: du [-s] [PATH...]\n  -s only each PATH's total\n";
static bool opt_s;

static int64_t walk(const char *path, int depth, bool top)
{
	struct stat st;
	int r = lstat(path, &st);
	if (r < 0) {
		warn_errno("du", path, r);
		return -1;
	}
	int64_t kib = st.st_blocks / 2;
	if (S_ISDIR(st.st_mode) && depth < 64) {
		int err;
		DIR *d = opendir(path, &err);
		if (!d) {
			warn_errno("du", path, err);
			return -1;
		}
		for (struct dirent *e; (e = readdir(d));) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char full[PATH_MAX];
			snprintf(full, sizeof(full), "%s/%s", path, e->d_name);
			int64_t sub = walk(full, depth + 1, false);
			if (sub > 0)
				kib += sub;
		}
		closedir(d);
		if (!opt_s || top)
			fdprintf(1, "%ld\t%s\n", kib, path);
	} else if (top) {
		fdprintf(1, "%ld\t%s\n", kib, path);
	}
	return kib;
}

int main(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "hs")) != -1) {
		if (c == 'h') {
			fdprintf(1, "%s", usage);
			return 0;
		}
		if (c != 's') {
			fdprintf(2, "%s", usage);
			return EXIT_USAGE;
		}
		opt_s = true;
	}
	int st = 0;
	if (optind == argc)
		st = walk(".", 0, true) < 0;
	for (int i = optind; i < argc; i++)
		st |= walk(argv[i], 0, true) < 0;
	return st;
}
