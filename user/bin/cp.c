/* cp: copy files (-r: directories too); into DIR if the last name is a directory. */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: cp [-r] SOURCE DEST | cp [-r] SOURCE... DIR\n"
			    "  -r copy directories and their contents\n";
static bool opt_r;
static char buf[16384];

static int copy_file(const char *from, const char *to, uint32_t mode)
{
	int in = open(from, O_RDONLY, 0);
	if (in < 0)
		return in;
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode & 0777);
	if (out < 0) {
		close(in);
		return out;
	}
	int r = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n <= 0) {
			r = (int)n;
			break;
		}
		ssize_t w = write_all(out, buf, (size_t)n);
		if (w < 0) {
			r = (int)w;
			break;
		}
	}
	close(in);
	int c = close(out);
	return r ? r : c;
}

static int copy(const char *from, const char *to, int depth)
{
	struct stat st;
	int r = stat(from, &st);
	if (r < 0)
		return r;
	if (!S_ISDIR(st.st_mode))
		return copy_file(from, to, st.st_mode);
	if (!opt_r)
		return -EISDIR;
	if (depth > 64)
		return -ELOOP;
	r = mkdir(to, st.st_mode & 0777);
	if (r < 0 && r != -EEXIST)
		return r;
	int err;
	DIR *d = opendir(from, &err);
	if (!d)
		return -err;
	int first = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char a[PATH_MAX], b[PATH_MAX];
		snprintf(a, sizeof(a), "%s/%s", from, e->d_name);
		snprintf(b, sizeof(b), "%s/%s", to, e->d_name);
		r = copy(a, b, depth + 1);
		if (r < 0) {
			warn_errno("cp", a, r);
			first = first ? first : r;
		}
	}
	closedir(d);
	return first;
}

int main(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "hrR")) != -1) {
		if (c == 'h') {
			fdprintf(1, "%s", usage);
			return 0;
		}
		if (c != 'r' && c != 'R') {
			fdprintf(2, "%s", usage);
			return EXIT_USAGE;
		}
		opt_r = true;
	}
	if (argc - optind < 2) {
		fdprintf(2, "%s", usage);
		return EXIT_USAGE;
	}
	const char *dest = argv[argc - 1];
	struct stat st;
	bool into = stat(dest, &st) == 0 && S_ISDIR(st.st_mode);
	if (argc - optind > 2 && !into) {
		warn_errno("cp", dest, -ENOTDIR);
		return 1;
	}
	int status = 0;
	for (int i = optind; i < argc - 1; i++) {
		char to[PATH_MAX];
		const char *base = strrchr(argv[i], '/');
		snprintf(to, sizeof(to), into ? "%s/%s" : "%s", dest, base ? base + 1 : argv[i]);
		int r = copy(argv[i], to, 0);
		if (r < 0) {
			warn_errno("cp", argv[i], r);
			status = 1;
		}
	}
	return status;
}
