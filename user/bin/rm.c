/* rm: remove files (-r: directories and what is in them; -f: no error for missing ones). */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: rm [-rf] PATH...\n"
			    "  -r remove directories and their contents  -f ignore missing files\n";
static bool opt_r, opt_f;

static int remove(const char *path, int depth)
{
	struct stat st;
	int r = lstat(path, &st);
	if (r < 0)
		return r;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	if (!opt_r)
		return -EISDIR;
	if (depth > 64)
		return -ELOOP;
	int err;
	DIR *d = opendir(path, &err);
	if (!d)
		return -err;
	int first = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char full[PATH_MAX];
		if ((size_t)snprintf(full, sizeof(full), "%s/%s", path, e->d_name) >= sizeof(full)) {
			first = first ? first : -ENAMETOOLONG;
			continue;
		}
		r = remove(full, depth + 1);
		if (r < 0) {
			warn_errno("rm", full, r);
			first = first ? first : r;
		}
	}
	closedir(d);
	return first ? first : rmdir(path);
}

int main(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "hrRf")) != -1) {
		switch (c) {
		case 'h':
			fdprintf(1, "%s", usage);
			return 0;
		case 'r':
		case 'R': opt_r = true; break;
		case 'f': opt_f = true; break;
		default:
			fdprintf(2, "%s", usage);
			return EXIT_USAGE;
		}
	}
	if (optind == argc && !opt_f) {
		fdprintf(2, "%s", usage);
		return EXIT_USAGE;
	}
	int st = 0;
	for (int i = optind; i < argc; i++) {
		int r = remove(argv[i], 0);
		if (r < 0 && !(opt_f && r == -ENOENT)) {
			warn_errno("rm", argv[i], r);
			st = 1;
		}
	}
	return st;
}
