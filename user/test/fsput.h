/*
 * Small files for the in-guest file tests (test_fshold, test_fsfull):
 * write one, and check one's whole content.
 */
#ifndef EXO_USER_TEST_FSPUT_H
#define EXO_USER_TEST_FSPUT_H

#include <lib/posix/posix.h>

/* s written to path, opened O_WRONLY | O_CREAT | flags: strlen(s), or
 * -errno (of the open, the write or the close). */
static inline long put_flags(const char *path, const char *s, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
	if (fd < 0)
		return fd;
	long w = write(fd, s, strlen(s));
	int c = close(fd);
	return w < 0 ? w : c < 0 ? c : w;
}

/* path made (or truncated) holding s: strlen(s), or -errno. */
static inline long put(const char *path, const char *s)
{
	return put_flags(path, s, O_TRUNC);
}

/* Is path's content exactly s (under 64 bytes)? */
static inline bool holds(const char *path, const char *s)
{
	char buf[64];
	int fd = open(path, O_RDONLY, 0);
	if (fd < 0) {
		printf("%s: open: %d\n", path, fd);
		return false;
	}
	long n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	if (n < 0 || strcmp(buf, s) != 0)
		printf("%s: read %ld bytes \"%s\", expected \"%s\"\n", path, n, n < 0 ? "" : buf,
		       s);
	return n >= 0 && strcmp(buf, s) == 0;
}

#endif
