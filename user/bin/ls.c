/*
 * ls: list directories (sorted; -a with dot files; -l long: type and mode,
 * links, size, name) and name files. Written against the POSIX layer's
 * stat/opendir/readdir, so it works on whatever file system registers.
 */
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: ls [-al] [PATH...]\n"
			    "  -a include names starting with '.'  -l long listing\n";
static bool opt_a, opt_l;
static struct outbuf out;

static void mode_string(uint32_t m, char s[11])
{
	s[0] = S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISCHR(m) ? 'c' : S_ISFIFO(m) ? 'p' : '-';
	const char *rwx = "rwxrwxrwx";
	for (int i = 0; i < 9; i++)
		s[1 + i] = (m & (0400u >> i)) ? rwx[i] : '-';
	s[10] = '\0';
}

static void entry(const char *path, const char *name)
{
	if (!opt_l) {
		out_printf(&out, "%s\n", name);
		return;
	}
	struct stat st;
	int r = lstat(path, &st);
	if (r < 0) {
		out_printf(&out, "?????????? %s (%s)\n", name, strerror(r));
		return;
	}
	char m[11];
	mode_string(st.st_mode, m);
	out_printf(&out, "%s %3lu %8ld %s\n", m, st.st_nlink, st.st_size, name);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_names(char **v, int n)
{
	for (int i = 1; i < n; i++) /* insertion: directories are listed whole */
		for (int j = i; j > 0 && by_name(&v[j - 1], &v[j]) > 0; j--) {
			char *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

static int list_dir(const char *path)
{
	int err;
	DIR *d = opendir(path, &err);
	if (!d) {
		warn_errno("ls", path, err);
		return 1;
	}
	char **names = NULL;
	int n = 0, cap = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.' && !opt_a)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **v = malloc(sizeof(char *) * (size_t)cap);
			if (!v)
				break;
			for (int i = 0; i < n; i++)
				v[i] = names[i];
			free(names);
			names = v;
		}
		size_t len = strlen(e->d_name) + 1;
		if (!(names[n] = malloc(len)))
			break;
		memcpy(names[n++], e->d_name, len);
	}
	closedir(d);
	sort_names(names, n);
	for (int i = 0; i < n; i++) {
		char full[PATH_MAX];
		snprintf(full, sizeof(full), "%s/%s", path, names[i]);
		entry(full, names[i]);
		free(names[i]);
	}
	free(names);
	return 0;
}

int main(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "hal")) != -1) {
		switch (c) {
		case 'h':
			fdprintf(1, "%s", usage);
			return 0;
		case 'a': opt_a = true; break;
		case 'l': opt_l = true; break;
		default:
			fdprintf(2, "%s", usage);
			return EXIT_USAGE;
		}
	}
	out_init(&out, 1);
	int st = 0;
	char *dot[] = { ".", NULL };
	char **paths = optind < argc ? argv + optind : dot;
	int npaths = optind < argc ? argc - optind : 1;
	for (int i = 0; i < npaths; i++) {
		struct stat s;
		int r = stat(paths[i], &s);
		if (r < 0) {
			warn_errno("ls", paths[i], r);
			st = 1;
			continue;
		}
		if (S_ISDIR(s.st_mode)) {
			if (npaths > 1)
				out_printf(&out, "%s%s:\n", i ? "\n" : "", paths[i]);
			out_flush(&out);
			st |= list_dir(paths[i]);
		} else {
			entry(paths[i], paths[i]);
		}
	}
	return out_flush(&out) ? 1 : st;
}
