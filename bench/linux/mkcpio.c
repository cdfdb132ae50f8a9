/*
 * mkcpio: write a cpio archive in the "newc" format the Linux kernel unpacks
 * as its initramfs, from a list on standard input, to standard output:
 *
 *   dir   NAME MODE
 *   file  NAME MODE SOURCE
 *   slink NAME MODE TARGET
 *   nod   NAME MODE c|b MAJOR MINOR
 *
 * MODE is octal permission bits; NAME has no leading slash. Every entry is
 * owned by root with time 0, so the same inputs give the same archive, and
 * device nodes (/dev/console) need no root on the host. The bench script
 * pipes the result through gzip. Exits non-zero on any error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_LINE 4096

static unsigned long next_ino = 1;

static void fail(const char *what, const char *arg)
{
	fprintf(stderr, "mkcpio: %s: %s\n", what, arg);
	exit(1);
}

static void pad4(unsigned long written)
{
	while (written++ % 4)
		putchar(0);
}

/* One header, its name, then its data, each padded to four bytes. */
static void entry(const char *name, unsigned long mode, const void *data, unsigned long size,
		  unsigned long rmajor, unsigned long rminor)
{
	unsigned long namesize = strlen(name) + 1;
	printf("070701%08lX%08lX%08lX%08lX%08lX%08lX%08lX%08lX%08lX%08lX%08lX%08lX%08lX",
	       next_ino++, mode, 0UL, 0UL, 1UL, 0UL, size, 0UL, 0UL, rmajor, rminor, namesize,
	       0UL);
	fwrite(name, 1, namesize, stdout);
	pad4(110 + namesize);
	if (size) {
		fwrite(data, 1, size, stdout);
		pad4(size);
	}
}

static void add_file(const char *name, unsigned long perm, const char *src)
{
	FILE *f = fopen(src, "rb");
	struct stat st;
	char *buf;

	if (f == NULL || fstat(fileno(f), &st) != 0)
		fail(strerror(errno), src);
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		fail("cannot read", src);
	fclose(f);
	entry(name, S_IFREG | perm, buf, (unsigned long)st.st_size, 0, 0);
	free(buf);
}

int main(void)
{
	char line[MAX_LINE], kind[16], name[1024], arg[1024], type;
	unsigned long perm, major, minor;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (line[0] == '#' || line[strspn(line, " \t\n")] == 0)
			continue;
		if (sscanf(line, "%15s %1023s %lo", kind, name, &perm) != 3)
			fail("bad line", line);
		if (strcmp(kind, "dir") == 0) {
			entry(name, S_IFDIR | perm, NULL, 0, 0, 0);
		} else if (strcmp(kind, "file") == 0) {
			if (sscanf(line, "%*s %*s %*s %1023s", arg) != 1)
				fail("file needs a source", line);
			add_file(name, perm, arg);
		} else if (strcmp(kind, "slink") == 0) {
			if (sscanf(line, "%*s %*s %*s %1023s", arg) != 1)
				fail("slink needs a target", line);
			entry(name, S_IFLNK | perm, arg, strlen(arg), 0, 0);
		} else if (strcmp(kind, "nod") == 0) {
			if (sscanf(line, "%*s %*s %*s %c %lu %lu", &type, &major, &minor) != 3 ||
			    (type != 'c' && type != 'b'))
				fail("nod needs c|b MAJOR MINOR", line);
			entry(name, (type == 'c' ? S_IFCHR : S_IFBLK) | perm, NULL, 0, major, minor);
		} else {
			fail("unknown kind", kind);
		}
	}
	entry("TRAILER!!!", 0, NULL, 0, 0, 0);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
