/*
 * The POSIX layer's files on the real disk (lib/posix/file.c over lib/fs
 * and fsdev_xn). tools/test boots init=test_posix_files with DISK= a fresh
 * scratch image, so this is the first env and its own key guards the tree;
 * the test formats XN and lib/fs, then works only through posix.h:
 *
 *   pf.open-*    O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY and their errors
 *   pf.io-*      read/write/pread/pwrite/lseek, offsets shared by dup/dup2
 *   pf.stat-*    fstat/stat/lstat, ftruncate, fsync/fdatasync, chmod
 *   pf.name-*    unlink, rename, mkdir, rmdir, link, symlink, readlink
 *   pf.dir-*     opendir/readdir, chdir/getcwd and relative paths
 *   pf.openat-*  openat from a directory descriptor, the cwd, and its errors
 *   pf.remount   everything still there after unmount and mount
 * Without a disk, the path calls answer -ENOSYS.
 */
#include <lib/posix/posix.h> /* before lib/fs: its errno enum, then fs's same-valued macros */
#include <inc/disk.h>
#include <lib/base/libos.h>
#include <lib/base/syscall.h>
#include <lib/base/test.h>
#include <lib/fs/fs.h>
#include <lib/fs/fsdev_xn.h>
#include <common/string.h>
#include "fsput.h"

static char buf[20000], buf2[20000];

static int format_disk(void)
{
	struct fsdev dev;
	int r = sys_xn_format(CAP_SELF);
	if (r == 0)
		r = fsdev_xn_open(&dev, CAP_SELF);
	if (r == 0) {
		r = fs_format(&dev, 256);
		int c = fsdev_xn_close(&dev);
		r = r < 0 ? r : c;
	}
	return r;
}

/* The file's contents into buf (NUL-terminated): length or -errno. */
static long get(const char *path)
{
	int fd = open(path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	long n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return n;
}

static void opens(void)
{
	check_eq("pf.open-missing", open("/nope", O_RDONLY, 0), -ENOENT);
	check_eq("pf.open-create", put_flags("/a", "hello", 0), 5);
	check_eq("pf.open-read", get("/a"), 5);
	check("pf.open-read-same", strcmp(buf, "hello") == 0);
	check_eq("pf.open-excl", open("/a", O_WRONLY | O_CREAT | O_EXCL, 0644), -EEXIST);
	check_eq("pf.open-append", put_flags("/a", " world", O_APPEND), 6);
	check_eq("pf.open-append-read", get("/a"), 11);
	check("pf.open-append-same", strcmp(buf, "hello world") == 0);
	check_eq("pf.open-no-trunc", put_flags("/a", "J", 0), 1);
	get("/a");
	check("pf.open-no-trunc-same", strcmp(buf, "Jello world") == 0);
	check_eq("pf.open-trunc", put_flags("/a", "x", O_TRUNC), 1);
	check_eq("pf.open-trunc-read", get("/a"), 1);
	int fd = open("/a", O_RDONLY | O_NONBLOCK, 0);
	check("pf.open-nonblock", fd >= 0);
	check_eq("pf.open-rdonly-write", write(fd, "y", 1), -EBADF);
	close(fd);
	check_eq("pf.open-dir-write", open("/", O_WRONLY, 0), -EISDIR);
	check_eq("pf.open-notdir", open("/a", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
	check_eq("pf.open-under-file", open("/a/b", O_RDONLY, 0), -ENOTDIR);
	check_eq("pf.dir-read", (fd = open("/", O_RDONLY, 0)) >= 0 ? read(fd, buf, 1) : fd,
		 -EISDIR);
	close(fd);
}

static void io(void)
{
	for (size_t i = 0; i < sizeof(buf2); i++)
		buf2[i] = (char)('a' + i % 23);
	int fd = open("/big", O_RDWR | O_CREAT | O_TRUNC, 0600);
	check("pf.io-open", fd >= 0);
	check_eq("pf.io-write", write(fd, buf2, sizeof(buf2)), sizeof(buf2));
	check_eq("pf.io-lseek-cur", lseek(fd, 0, SEEK_CUR), sizeof(buf2));
	check_eq("pf.io-lseek-set", lseek(fd, 100, SEEK_SET), 100);
	check_eq("pf.io-read", read(fd, buf, 10), 10);
	check("pf.io-read-same", memcmp(buf, buf2 + 100, 10) == 0);
	check_eq("pf.io-pread", pread(fd, buf, 50, 9000), 50);
	check("pf.io-pread-same", memcmp(buf, buf2 + 9000, 50) == 0);
	check_eq("pf.io-pread-keeps-offset", lseek(fd, 0, SEEK_CUR), 110);
	check_eq("pf.io-pwrite", pwrite(fd, "ZZ", 2, 5), 2);
	check_eq("pf.io-pread-pwritten", pread(fd, buf, 2, 5), 2);
	check("pf.io-pwrite-same", memcmp(buf, "ZZ", 2) == 0);
	int d = dup(fd);
	check("pf.io-dup", d >= 0);
	check_eq("pf.io-dup-shares", lseek(d, 0, SEEK_CUR), 110);
	lseek(d, 7, SEEK_SET);
	check_eq("pf.io-dup-shares-back", lseek(fd, 0, SEEK_CUR), 7);
	check_eq("pf.io-dup2", dup2(fd, 20), 20);
	check_eq("pf.io-dup2-shares", lseek(20, 0, SEEK_END), sizeof(buf2));
	check_eq("pf.io-read-eof", read(fd, buf, 10), 0);
	/* a regular file is always ready, at its end too (poll.c) */
	struct pollfd pf = { fd, POLLIN | POLLOUT, 0 };
	check_eq("pf.io-poll", poll(&pf, 1, -1), 1);
	check_eq("pf.io-poll-ready", pf.revents, POLLIN | POLLOUT);
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(fd, &rs);
	check_eq("pf.io-select", select(fd + 1, &rs, NULL, NULL, NULL), 1);
	check_eq("pf.io-lseek-neg", lseek(fd, -1, SEEK_SET), -EINVAL);
	close(20);
	close(d);
	/* a hole past the end reads as zeros */
	check_eq("pf.io-hole-write", pwrite(fd, "E", 1, 40000), 1);
	check_eq("pf.io-hole-read", pread(fd, buf, 4, 30000), 4);
	check("pf.io-hole-zero", buf[0] == 0 && buf[3] == 0);
	close(fd);
	check_eq("pf.io-closed", read(fd, buf, 1), -EBADF);
}

static void stats(void)
{
	struct stat st;
	int fd = open("/big", O_RDWR, 0);
	check_eq("pf.stat-fstat", fstat(fd, &st), 0);
	check_eq("pf.stat-size", st.st_size, 40001);
	check("pf.stat-reg", S_ISREG(st.st_mode));
	check_eq("pf.stat-mode", st.st_mode & 0777, 0600);
	check_eq("pf.stat-ftruncate", ftruncate(fd, 1000), 0);
	check_eq("pf.stat-fsync", fsync(fd), 0);
	check_eq("pf.stat-fdatasync", fdatasync(fd), 0);
	close(fd);
	check_eq("pf.stat-path", stat("/big", &st), 0);
	check_eq("pf.stat-truncated", st.st_size, 1000);
	check_eq("pf.stat-missing", stat("/none", &st), -ENOENT);
	check_eq("pf.stat-chmod", chmod("/big", 0640), 0);
	stat("/big", &st);
	check_eq("pf.stat-chmod-seen", st.st_mode & 0777, 0640);
	check_eq("pf.stat-root", stat("/", &st), 0);
	check("pf.stat-root-dir", S_ISDIR(st.st_mode));
	check_eq("pf.stat-truncate-path", truncate("/big", 10), 0);
	stat("/big", &st);
	check_eq("pf.stat-truncate-path-size", st.st_size, 10);
	struct statfs_info sf;
	check_eq("pf.stat-statfs", statfs("/", &sf), 0);
	check("pf.stat-statfs-blocks",
	      sf.f_blocks > 0 && sf.f_bfree > 0 && sf.f_bfree < sf.f_blocks);
}

static void names(void)
{
	struct stat st;
	check_eq("pf.name-mkdir", mkdir("/d", 0755), 0);
	check_eq("pf.name-mkdir-exists", mkdir("/d", 0755), -EEXIST);
	check_eq("pf.name-mkdir-nested", mkdir("/d/e", 0755), 0);
	check_eq("pf.name-mkdir-noparent", mkdir("/q/r", 0755), -ENOENT);
	check_eq("pf.name-rename", rename("/a", "/d/a2"), 0);
	check_eq("pf.name-rename-old", stat("/a", &st), -ENOENT);
	check_eq("pf.name-rename-new", get("/d/a2"), 1);
	check_eq("pf.name-rename-missing", rename("/a", "/b"), -ENOENT);
	check_eq("pf.name-link", link("/d/a2", "/d/e/l"), 0);
	check_eq("pf.name-link-nlink", stat("/d/a2", &st) == 0 ? (long)st.st_nlink : -1, 2);
	check_eq("pf.name-link-exists", link("/d/a2", "/d/e/l"), -EEXIST);
	check_eq("pf.name-symlink", symlink("/d/a2", "/s"), 0);
	char t[64];
	long n = readlink("/s", t, sizeof(t));
	check_eq("pf.name-readlink", n, 5);
	check("pf.name-readlink-same", n == 5 && memcmp(t, "/d/a2", 5) == 0);
	check_eq("pf.name-readlink-notlink", readlink("/d/a2", t, sizeof(t)), -EINVAL);
	check_eq("pf.name-lstat", lstat("/s", &st), 0);
	check("pf.name-lstat-link", S_ISLNK(st.st_mode));
	check_eq("pf.name-follow", get("/s"), 1);
	check_eq("pf.name-rmdir-notempty", rmdir("/d"), -ENOTEMPTY);
	check_eq("pf.name-rmdir-notdir", rmdir("/s"), -ENOTDIR);
	check_eq("pf.name-unlink-dir", unlink("/d"), -EISDIR);
	check_eq("pf.name-unlink", unlink("/d/e/l"), 0);
	check_eq("pf.name-unlink-again", unlink("/d/e/l"), -ENOENT);
	check_eq("pf.name-rmdir", rmdir("/d/e"), 0);
	/* unlinked while open: still readable through the descriptor */
	put_flags("/gone", "ghost", O_TRUNC);
	int fd = open("/gone", O_RDONLY, 0);
	check_eq("pf.name-unlink-open", unlink("/gone"), 0);
	check_eq("pf.name-unlinked-read", read(fd, buf, 5), 5);
	close(fd);
}

static void dirs(void)
{
	mkdir("/w", 0755);
	put_flags("/w/one", "1", 0);
	put_flags("/w/two", "22", 0);
	mkdir("/w/sub", 0755);
	int err = 0;
	DIR *d = opendir("/w", &err);
	check("pf.dir-opendir", d != NULL);
	int seen = 0, count = 0;
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		count++;
		if (strcmp(e->d_name, "one") == 0 && e->d_type == DT_REG)
			seen |= 1;
		if (strcmp(e->d_name, "two") == 0)
			seen |= 2;
		if (strcmp(e->d_name, "sub") == 0 && e->d_type == DT_DIR)
			seen |= 4;
	}
	if (d)
		closedir(d);
	check_eq("pf.dir-entries", seen, 7);
	check_eq("pf.dir-count", count, 5); /* with . and .. */
	check("pf.dir-opendir-missing", opendir("/nowhere", &err) == NULL && err == ENOENT);
	check_eq("pf.dir-chdir", chdir("/w/sub"), 0);
	char cwd[64];
	check("pf.dir-getcwd", getcwd(cwd, sizeof(cwd)) && strcmp(cwd, "/w/sub") == 0);
	check_eq("pf.dir-relative", put_flags("../three", "333", 0), 3);
	check_eq("pf.dir-relative-read", get("/w/three"), 3);
	check_eq("pf.dir-chdir-file", chdir("/w/one"), -ENOTDIR);
	check_eq("pf.dir-chdir-missing", chdir("/zz"), -ENOENT);
	chdir("/");
	/* openat: relative to a directory descriptor, or to the cwd */
	int dfd = open("/w", O_RDONLY | O_DIRECTORY, 0);
	check("pf.openat-dirfd", dfd >= 0);
	int fd = openat(dfd, "two", O_RDONLY, 0);
	char b[4] = { 0 };
	check_eq("pf.openat-read", fd >= 0 ? read(fd, b, sizeof(b)) : fd, 2);
	check("pf.openat-contents", memcmp(b, "22", 2) == 0);
	close(fd);
	fd = openat(dfd, "sub/new", O_WRONLY | O_CREAT | O_EXCL, 0644);
	check("pf.openat-create", fd >= 0);
	close(fd);
	struct stat st;
	check_eq("pf.openat-created-there", stat("/w/sub/new", &st), 0);
	check_eq("pf.openat-missing", openat(dfd, "nope", O_RDONLY, 0), -ENOENT);
	int file = open("/w/one", O_RDONLY, 0);
	check_eq("pf.openat-not-a-dir", openat(file, "x", O_RDONLY, 0), -ENOTDIR);
	check_eq("pf.openat-console", openat(1, "x", O_RDONLY, 0), -ENOTDIR);
	check_eq("pf.openat-bad-fd", openat(99, "x", O_RDONLY, 0), -EBADF);
	fd = openat(file, "/w/two", O_RDONLY, 0); /* absolute: dirfd unused */
	check("pf.openat-absolute", fd >= 0);
	close(fd);
	chdir("/w");
	fd = openat(AT_FDCWD, "one", O_RDONLY, 0);
	check("pf.openat-cwd", fd >= 0);
	close(fd);
	chdir("/");
	close(file);
	close(dfd);
}

int main(void)
{
	struct disk_info di;
	if (sys_disk_info(&di) == -E_NOT_FOUND) {
		struct stat st;
		check_eq("pf.nodisk", stat("/", &st), -ENOSYS);
		return test_finish();
	}
	check_eq("pf.format", format_disk(), 0);
	check_eq("pf.mount", posix_fs_mount(CAP_SELF), 0);
	opens();
	io();
	stats();
	names();
	dirs();
	check_eq("pf.sync", sync(), 0);
	check_eq("pf.unmount", posix_fs_unmount(), 0);
	check_eq("pf.remount", posix_fs_mount(CAP_SELF), 0);
	check_eq("pf.remount-read", get("/w/three"), 3);
	check("pf.remount-same", strcmp(buf, "333") == 0);
	int r = test_finish();
	printf("test_posix_files: done\n");
	return r;
}
