/*
 * The file-system rows of `make bench-fs` (doc/bench/README.md): ONE
 * sequence of file operations, compiled twice - into Exo's fsbench
 * (user/bench/fsbench/main.c: lib/posix on lib/fs over XN) and into the
 * Linux guest's lbench (bench/linux/lfs.c: ext4) - so the two guests do
 * exactly the same work, call for call. fswork.c is that sequence; each side
 * supplies the hooks below, thin wrappers of its own system calls.
 *
 * fsw_run(dir, nfiles, big_mib, chunk) in a fresh, empty directory dir:
 *
 *   fs_create  create+write 4 KiB+close each of nfiles files in one
 *              directory, then sync(): per file
 *   fs_read    drop every cache (fsw_drop_caches), then open+read 4 KiB+
 *              close each file, checking its contents: per file
 *   fs_stat    stat each file, checking its size (the caches as the read
 *              pass left them): per file
 *   fs_unlink  unlink each file, then sync(): per file
 *   fs_write   write one file of big_mib MiB sequentially, chunk bytes per
 *              write, then fsync and close: per MiB
 *   fs_readbig drop every cache, then read it back, chunk bytes per read,
 *              checking it: per MiB
 *
 * Each row prints (through fsw_report) its TSC cycles for the whole pass,
 * the operations it counted, and the device requests the pass made (disk
 * reads, writes, flushes: fsw_counts before and after). Every check that
 * fails ends the run through fsw_fail: a row is never printed for work that
 * did not happen or came back wrong.
 *
 * Hooks return >= 0 or a negative errno value (Exo's lib/posix does; the
 * Linux side turns -1/errno into that).
 */
#ifndef EXO_USER_BENCH_FSBENCH_FSWORK_H
#define EXO_USER_BENCH_FSBENCH_FSWORK_H

#include <stdint.h>

#define FSW_SMALL 4096           /* bytes of each small file */
#define FSW_FILES_MAX 100000     /* files a run may ask for (names have 6 digits) */
#define FSW_PATH_MAX 128         /* a path fsw_run builds: dir + "/big" or "/f" + 6 digits */

/* Device requests since boot, as the guest's block layer counts them, and
 * what each side can count of its file system's own work (0 where it
 * cannot): journal commits (Linux: jbd2's transactions; lib/fs keeps no
 * count, its flushes show them) and metadata updates checked (Exo: XN's
 * UDF checks, disk_info's di_xn_checked). */
struct fsw_counts {
	uint64_t reads, writes, flushes, journal, checked;
	uint64_t udf_runs; /* Exo: XN's UDF runs; Linux: 0 */
};

int fsw_create(const char *path); /* open(O_WRONLY | O_CREAT | O_TRUNC, 0644) */
int fsw_open_read(const char *path);
long fsw_write(int fd, const void *buf, uint64_t n);
long fsw_read(int fd, void *buf, uint64_t n);
int fsw_close(int fd);
int fsw_fsync(int fd);
int fsw_sync(void);
long fsw_stat_size(const char *path); /* st_size */
int fsw_unlink(const char *path);
int fsw_mkdir(const char *path);
int fsw_rmdir(const char *path);
/* Make everything durable, then drop every cache the side has (each side
 * says which and how), so the next pass starts cold. */
int fsw_drop_caches(void);
void fsw_counts(struct fsw_counts *out);
uint64_t fsw_clock(void); /* rdtsc */
void fsw_report(const char *row, uint64_t cycles, uint64_t ops, const struct fsw_counts *io);
_Noreturn void fsw_fail(const char *what, const char *path, long err);

/* The whole sequence; big is a buffer of chunk bytes (chunk a multiple of
 * 4 KiB, dividing 1 MiB). */
void fsw_run(const char *dir, unsigned nfiles, unsigned big_mib, uint8_t *big, uint64_t chunk);

#endif
