/*
 * lbench fs NFILES BIG_MIB CHUNK_KIB: the Linux side of the file-system rows
 * (`make bench-fs`, doc/bench/README.md). The work is Exo's own
 * user/bench/fsbench/fswork.c, compiled in here unchanged; this file is its
 * hooks over Linux's system calls on ext4, and the mount.
 *
 * The disk: /dev/vda, an image of the same size as Exo's, made on the host
 * by mkfs.ext4 (tools/bench-fs says with which options), mounted here at
 * /mnt with noatime (lib/fs never updates atime on a read either) and
 * otherwise the defaults: data=ordered, a journal, barriers.
 *
 * Dropping the caches (before each read pass): sync(), then
 * `echo 3 > /proc/sys/vm/drop_caches` (page cache, dentries and inodes).
 *
 * The device counters are the block layer's (/sys/block/vda/stat: read,
 * write and flush requests completed; a request may be larger than 4 KiB),
 * and jbd2's count of committed transactions (/proc/fs/jbd2/vda-8/info).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../../user/bench/fsbench/fswork.h"

#define MNT "/mnt"
#define CHUNK_MAX (1024 * 1024)

int bench_fs(int argc, char **argv, uint64_t tsc_hz);

static uint8_t big[CHUNK_MAX] __attribute__((aligned(4096)));

_Noreturn void fsw_fail(const char *what, const char *path, long err)
{
	printf("LBENCH error: fs: %s %s: %s\n", what, path, strerror((int)-err));
	fflush(stdout);
	exit(1);
}

static long sys_result(long r)
{
	return r < 0 ? -errno : r;
}

int fsw_create(const char *path)
{
	return (int)sys_result(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
}

int fsw_open_read(const char *path)
{
	return (int)sys_result(open(path, O_RDONLY));
}

long fsw_write(int fd, const void *buf, uint64_t n)
{
	return sys_result(write(fd, buf, n));
}

long fsw_read(int fd, void *buf, uint64_t n)
{
	return sys_result(read(fd, buf, n));
}

int fsw_close(int fd)
{
	return (int)sys_result(close(fd));
}

int fsw_fsync(int fd)
{
	return (int)sys_result(fsync(fd));
}

int fsw_sync(void)
{
	sync(); /* returns nothing; syncfs would say more, but sync is what Exo's is */
	return 0;
}

long fsw_stat_size(const char *path)
{
	struct stat st;
	long r = sys_result(stat(path, &st));
	return r < 0 ? r : (long)st.st_size;
}

int fsw_unlink(const char *path)
{
	return (int)sys_result(unlink(path));
}

int fsw_mkdir(const char *path)
{
	return (int)sys_result(mkdir(path, 0755));
}

int fsw_rmdir(const char *path)
{
	return (int)sys_result(rmdir(path));
}

int fsw_drop_caches(void)
{
	sync();
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0)
		return -errno;
	long r = sys_result(write(fd, "3\n", 2));
	close(fd);
	return r < 0 ? (int)r : 0;
}

/* Numbers of a one-line file, into v[0..max): how many were read. */
static int read_numbers(const char *path, uint64_t *v, int max)
{
	char line[512];
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	int n = 0;
	if (fgets(line, sizeof(line), f)) {
		char *p = line, *end;
		for (; n < max; n++, p = end) {
			v[n] = strtoull(p, &end, 10);
			if (end == p)
				break;
		}
	}
	fclose(f);
	return n;
}

void fsw_counts(struct fsw_counts *out)
{
	uint64_t v[17] = { 0 };
	int n = read_numbers("/sys/block/vda/stat", v, 17);
	if (n < 11)
		fsw_fail("reading", "/sys/block/vda/stat", -EIO);
	/* fields 1, 5 and 16: read, write and flush requests completed */
	uint64_t j[1] = { 0 };
	/* "N transactions (M requested), each up to B blocks" */
	read_numbers("/proc/fs/jbd2/vda-8/info", j, 1);
	*out = (struct fsw_counts){ v[0], v[4], n >= 16 ? v[15] : 0, j[0], 0, 0 };
}

uint64_t fsw_clock(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

void fsw_report(const char *row, uint64_t cycles, uint64_t ops, const struct fsw_counts *io)
{
	printf("BENCH %s %lu %lu %lu\n", row, (unsigned long)(cycles / ops), (unsigned long)cycles,
	       (unsigned long)ops);
	printf("FSIO %s reads %lu writes %lu flushes %lu commits %lu\n", row,
	       (unsigned long)io->reads, (unsigned long)io->writes, (unsigned long)io->flushes,
	       (unsigned long)io->journal);
	fflush(stdout);
}

int bench_fs(int argc, char **argv, uint64_t tsc_hz)
{
	long nfiles = argc > 1 ? atol(argv[1]) : 10000;
	long mib = argc > 2 ? atol(argv[2]) : 64;
	long chunk_kib = argc > 3 ? atol(argv[3]) : 1024;
	if (nfiles < 1 || nfiles > FSW_FILES_MAX || mib < 1 || mib > 1024 || chunk_kib < 4 ||
	    chunk_kib * 1024 > CHUNK_MAX) {
		printf("LBENCH error: usage: lbench fs [NFILES [BIG_MIB [CHUNK_KIB]]]\n");
		return 2;
	}
	mkdir(MNT, 0755);
	if (mount("/dev/vda", MNT, "ext4", MS_NOATIME, NULL) != 0)
		fsw_fail("mount ext4 on", "/dev/vda", -errno);
	fsw_run(MNT "/fsb", (unsigned)nfiles, (unsigned)mib, big, (uint64_t)chunk_kib * 1024);
	if (umount(MNT) != 0)
		fsw_fail("umount", MNT, -errno);
	printf("BENCH done tsc_hz %lu\n", (unsigned long)tsc_hz);
	fflush(stdout);
	return 0;
}
