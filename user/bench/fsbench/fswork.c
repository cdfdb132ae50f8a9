/*
 * The file-system benchmark's operation sequence, shared word for word by
 * Exo's fsbench and the Linux guest's lbench (fswork.h says what each row
 * is). Only the hooks differ between the two; nothing here may call
 * anything else, so this file compiles unchanged against lib/posix and
 * against Linux's libc.
 *
 * Every file's contents carry stamps - its number at its first bytes, the
 * complement at its last, and each 4 KiB block of the big file its block
 * number - checked on the way back, so a pass that read stale, misplaced or
 * zero blocks fails instead of reporting a time.
 */
#include "fswork.h"

#define MIB (1024u * 1024u)
#define SMALL_STAMP 0x6673000000000000ull /* "fs": small file number */
#define BIG_STAMP 0x6269000000000000ull   /* "bi": big file's block number */

static uint64_t small_buf[FSW_SMALL / 8];

static void counts_since(const struct fsw_counts *before, struct fsw_counts *delta)
{
	struct fsw_counts now;
	fsw_counts(&now);
	delta->reads = now.reads - before->reads;
	delta->writes = now.writes - before->writes;
	delta->flushes = now.flushes - before->flushes;
	delta->journal = now.journal - before->journal;
	delta->checked = now.checked - before->checked;
	delta->udf_runs = now.udf_runs - before->udf_runs;
}

/* A pass's time and device counts: pass_start, then pass_end reports
 * them as row (the clock is read before the counts, and after them at
 * the start, so counting is outside the timed span). */
struct pass_timer {
	struct fsw_counts c0;
	uint64_t t0;
};

static void pass_start(struct pass_timer *pt)
{
	fsw_counts(&pt->c0);
	pt->t0 = fsw_clock();
}

static void pass_end(struct pass_timer *pt, const char *row, uint64_t n)
{
	uint64_t t1 = fsw_clock();
	struct fsw_counts io;
	counts_since(&pt->c0, &io);
	fsw_report(row, t1 - pt->t0, n, &io);
}

/* dir + "/" + name + (number, 6 digits, if num >= 0) */
static const char *path_of(char *out, const char *dir, const char *name, long num)
{
	unsigned n = 0;
	for (const char *s = dir; *s && n < FSW_PATH_MAX - 16; s++)
		out[n++] = *s;
	out[n++] = '/';
	for (const char *s = name; *s && n < FSW_PATH_MAX - 8; s++)
		out[n++] = *s;
	if (num >= 0)
		for (long d = 100000; d > 0; d /= 10)
			out[n++] = (char)('0' + num / d % 10);
	out[n] = 0;
	return out;
}

static void stamp_small(unsigned i)
{
	small_buf[0] = SMALL_STAMP | i;
	small_buf[FSW_SMALL / 8 - 1] = ~(SMALL_STAMP | i);
}

static int small_ok(unsigned i)
{
	return small_buf[0] == (SMALL_STAMP | i) &&
	       small_buf[FSW_SMALL / 8 - 1] == ~(SMALL_STAMP | i);
}

static void pass_create(const char *dir, unsigned nfiles)
{
	char path[FSW_PATH_MAX];
	struct pass_timer pt;
	pass_start(&pt);
	for (unsigned i = 0; i < nfiles; i++) {
		path_of(path, dir, "f", i);
		int fd = fsw_create(path);
		if (fd < 0)
			fsw_fail("create", path, fd);
		stamp_small(i);
		long w = fsw_write(fd, small_buf, FSW_SMALL);
		if (w != FSW_SMALL)
			fsw_fail("write", path, w < 0 ? w : -5 /* EIO: short */);
		int r = fsw_close(fd);
		if (r < 0)
			fsw_fail("close", path, r);
	}
	int r = fsw_sync();
	if (r < 0)
		fsw_fail("sync", dir, r);
	pass_end(&pt, "fs_create", nfiles);
}

static void pass_read(const char *dir, unsigned nfiles)
{
	char path[FSW_PATH_MAX];
	struct pass_timer pt;
	int r = fsw_drop_caches();
	if (r < 0)
		fsw_fail("dropping the caches", dir, r);
	pass_start(&pt);
	for (unsigned i = 0; i < nfiles; i++) {
		path_of(path, dir, "f", i);
		int fd = fsw_open_read(path);
		if (fd < 0)
			fsw_fail("open", path, fd);
		small_buf[0] = small_buf[FSW_SMALL / 8 - 1] = 0;
		long n = fsw_read(fd, small_buf, FSW_SMALL);
		if (n != FSW_SMALL || !small_ok(i))
			fsw_fail("read (wrong length or contents)", path, n < 0 ? n : -5);
		if ((r = fsw_close(fd)) < 0)
			fsw_fail("close", path, r);
	}
	pass_end(&pt, "fs_read", nfiles);
}

static void pass_stat(const char *dir, unsigned nfiles)
{
	char path[FSW_PATH_MAX];
	struct pass_timer pt;
	pass_start(&pt);
	for (unsigned i = 0; i < nfiles; i++) {
		long size = fsw_stat_size(path_of(path, dir, "f", i));
		if (size != FSW_SMALL)
			fsw_fail("stat (wrong size)", path, size < 0 ? size : -5);
	}
	pass_end(&pt, "fs_stat", nfiles);
}

static void pass_unlink(const char *dir, unsigned nfiles)
{
	char path[FSW_PATH_MAX];
	struct pass_timer pt;
	pass_start(&pt);
	for (unsigned i = 0; i < nfiles; i++) {
		int r = fsw_unlink(path_of(path, dir, "f", i));
		if (r < 0)
			fsw_fail("unlink", path, r);
	}
	int r = fsw_sync();
	if (r < 0)
		fsw_fail("sync", dir, r);
	pass_end(&pt, "fs_unlink", nfiles);
	/* the names are gone: a stat must say so */
	if ((r = (int)fsw_stat_size(path_of(path, dir, "f", 0))) != -2 /* ENOENT */)
		fsw_fail("stat after unlink (not ENOENT)", path, r < 0 ? r : -5);
}

static void pass_write_big(const char *path, unsigned mib, uint8_t *big, uint64_t chunk)
{
	struct pass_timer pt;
	uint64_t *words = (uint64_t *)big, block = 0;
	pass_start(&pt);
	int fd = fsw_create(path);
	if (fd < 0)
		fsw_fail("create", path, fd);
	for (uint64_t off = 0; off < (uint64_t)mib * MIB; off += chunk) {
		for (uint64_t b = 0; b < chunk / 4096; b++)
			words[b * 512] = BIG_STAMP | block++;
		long w = fsw_write(fd, big, chunk);
		if (w != (long)chunk)
			fsw_fail("write", path, w < 0 ? w : -5);
	}
	int r = fsw_fsync(fd);
	if (r < 0)
		fsw_fail("fsync", path, r);
	if ((r = fsw_close(fd)) < 0)
		fsw_fail("close", path, r);
	pass_end(&pt, "fs_write", mib);
}

static void pass_read_big(const char *path, unsigned mib, uint8_t *big, uint64_t chunk)
{
	struct pass_timer pt;
	uint64_t *words = (uint64_t *)big, block = 0;
	int r = fsw_drop_caches();
	if (r < 0)
		fsw_fail("dropping the caches", path, r);
	pass_start(&pt);
	int fd = fsw_open_read(path);
	if (fd < 0)
		fsw_fail("open", path, fd);
	for (uint64_t off = 0; off < (uint64_t)mib * MIB; off += chunk) {
		for (uint64_t b = 0; b < chunk / 4096; b++)
			words[b * 512] = 0;
		long n = fsw_read(fd, big, chunk);
		if (n != (long)chunk)
			fsw_fail("read (short)", path, n < 0 ? n : -5);
		for (uint64_t b = 0; b < chunk / 4096; b++)
			if (words[b * 512] != (BIG_STAMP | block++))
				fsw_fail("read (wrong contents)", path, -5);
	}
	long n = fsw_read(fd, big, chunk);
	if (n != 0)
		fsw_fail("read past the end (not 0)", path, n < 0 ? n : -5);
	if ((r = fsw_close(fd)) < 0)
		fsw_fail("close", path, r);
	pass_end(&pt, "fs_readbig", mib);
}

void fsw_run(const char *dir, unsigned nfiles, unsigned big_mib, uint8_t *big, uint64_t chunk)
{
	char path[FSW_PATH_MAX];
	if (nfiles < 1 || nfiles > FSW_FILES_MAX || big_mib < 1 || chunk < 4096 || chunk % 4096 ||
	    MIB % chunk)
		fsw_fail("arguments out of range", dir, -22 /* EINVAL */);
	for (unsigned i = 0; i < FSW_SMALL / 8; i++)
		small_buf[i] = 0x0101010101010101ull * (i & 0xff);
	for (uint64_t i = 0; i < chunk; i++)
		big[i] = (uint8_t)(i * 7);
	int r = fsw_mkdir(dir);
	if (r < 0)
		fsw_fail("mkdir", dir, r);
	pass_create(dir, nfiles);
	pass_read(dir, nfiles);
	pass_stat(dir, nfiles);
	pass_unlink(dir, nfiles);
	path_of(path, dir, "big", -1);
	pass_write_big(path, big_mib, big, chunk);
	pass_read_big(path, big_mib, big, chunk);
	if ((r = fsw_unlink(path)) < 0 || (r = fsw_rmdir(dir)) < 0 || (r = fsw_sync()) < 0)
		fsw_fail("cleaning up", dir, r);
}
