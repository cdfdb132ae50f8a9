/*
 * lib/fs on the real disk: the file system over the kernel's XN
 * (lib/fs/fsdev_xn.c), in the guest. Without a disk (testrun's suite) the
 * hooks must say so (-ENODEV). With one (tools/test boots init=test_fs_disk
 * with DISK= a scratch image, so this is the first env and holds the root
 * key XN's format needs):
 *
 *   fs.*     format, files created, written, read back, renamed across
 *            directories, unlinked; a remount that finds them; POSIX errors
 *   fsx.*    FSX_OPS seeded operations (write, pread, truncate, rename,
 *            unlink, fsync, remount) on a few files, each checked against
 *            an in-memory model right after it
 *   fsck.*   lib/fs's fsck in the guest, through the same hooks, after each
 *   rate.*   a measurement, not a check: small files created per second
 */
#include <inc/disk.h>
#include <lib/base/libos.h>
#include <lib/base/test.h>
#include <lib/fs/errno.h>
#include <lib/fs/fs.h>
#include <lib/fs/fsdev_xn.h>

#define FSX_OPS 3000
#define FSX_FILES 6
#define FSX_MAX (96 * 1024) /* bytes a model file may hold */
#define RATE_FILES 300

static struct fsdev dev;
static struct fs *fs;
static uint8_t buf[FSX_MAX], buf2[FSX_MAX];

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
	return rng_state;
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((seed * 31 + i * 7 + (i >> 9)) ^ (seed >> 5));
}

static void fsck_clean(const char *name)
{
	struct fsck_report rep;
	int r = fs_fsck(&dev, true, &rep);
	check_eq(name, r, 0);
	if (r != 0)
		printf("test_fs_disk: fsck: %s\n", rep.msg);
}

static int remount(void)
{
	int r = fs_unmount(fs);
	if (r == 0)
		r = fs_mount(&fs, &dev);
	return r;
}

static long file_put(const char *path, const void *p, size_t n)
{
	struct fs_file *f;
	int r = fs_open(fs, path, FS_O_RDWR | FS_O_CREAT | FS_O_TRUNC, 0644, &f);
	if (r < 0)
		return r;
	long w = fs_write(fs, f, p, n);
	int c = fs_close(fs, f);
	return w < 0 ? w : c < 0 ? c : w;
}

static long file_get(const char *path, void *p, size_t n)
{
	struct fs_file *f;
	int r = fs_open(fs, path, FS_O_RDONLY, 0, &f);
	if (r < 0)
		return r;
	long got = fs_read(fs, f, p, n);
	fs_close(fs, f);
	return got;
}

static void basics(void)
{
	fill(buf, 10000, 1);
	check_eq("fs.mkdir", fs_mkdir(fs, "/a", 0755), 0);
	check_eq("fs.mkdir-b", fs_mkdir(fs, "/b", 0755), 0);
	check_eq("fs.mkdir-exists", fs_mkdir(fs, "/a", 0755), -EEXIST);
	check_eq("fs.create-write", file_put("/a/f", buf, 10000), 10000);
	check_eq("fs.read-back", file_get("/a/f", buf2, sizeof(buf2)), 10000);
	check("fs.read-same", memcmp(buf, buf2, 10000) == 0);
	check_eq("fs.rename-across", fs_rename(fs, "/a/f", "/b/g"), 0);
	check_eq("fs.old-name-gone", file_get("/a/f", buf2, 1), -ENOENT);
	check_eq("fs.new-name-read", file_get("/b/g", buf2, sizeof(buf2)), 10000);
	check("fs.new-name-same", memcmp(buf, buf2, 10000) == 0);
	check_eq("fs.not-a-dir", file_get("/b/g/x", buf2, 1), -ENOTDIR);
	check_eq("fs.rmdir-not-empty", fs_rmdir(fs, "/b"), -ENOTEMPTY);
	fill(buf, 3 * FS_BLOCK + 17, 2);
	check_eq("fs.second-file", file_put("/a/h", buf, 3 * FS_BLOCK + 17), 3 * FS_BLOCK + 17);
	check_eq("fs.sync", fs_sync(fs), 0);
	check_eq("fs.remount", remount(), 0);
	check_eq("fs.after-remount", file_get("/a/h", buf2, sizeof(buf2)), 3 * FS_BLOCK + 17);
	check("fs.after-remount-same", memcmp(buf, buf2, 3 * FS_BLOCK + 17) == 0);
	struct fs_stat st;
	check_eq("fs.stat", fs_stat(fs, "/b/g", &st), 0);
	check_eq("fs.stat-size", (long)st.st_size, 10000);
	check_eq("fs.unlink", fs_unlink(fs, "/b/g"), 0);
	check_eq("fs.unlinked-gone", fs_stat(fs, "/b/g", &st), -ENOENT);
	check_eq("fs.rmdir", fs_rmdir(fs, "/b"), 0);
	check_eq("fs.sync-2", fs_sync(fs), 0);
	fsck_clean("fsck.after-basics");
}

/* --- fsx: operations against a model --------------------------------------------- */

static uint8_t model[FSX_FILES][FSX_MAX];
static uint64_t model_size[FSX_FILES];
static bool model_exists[FSX_FILES];
static struct fs_file *open_file[FSX_FILES];

static void fsx_name(char *out, int i)
{
	snprintf(out, 32, "/x/f%d", i);
}

static bool fsx_compare(int i)
{
	char name[32];
	fsx_name(name, i);
	long n = file_get(name, buf2, sizeof(buf2));
	if (!model_exists[i])
		return n == -ENOENT;
	return n == (long)model_size[i] && memcmp(buf2, model[i], model_size[i]) == 0;
}

static bool fsx_op(uint64_t step)
{
	int i = (int)(rnd() % FSX_FILES);
	char name[32], name2[32];
	fsx_name(name, i);
	uint64_t kind = rnd() % 100;
	if (!model_exists[i] || kind < 40) { /* write somewhere, maybe past the end */
		if (!open_file[i] &&
		    fs_open(fs, name, FS_O_RDWR | FS_O_CREAT, 0644, &open_file[i]) < 0)
			return false;
		model_exists[i] = true;
		uint64_t off = rnd() % (FSX_MAX - 1), len = 1 + rnd() % 9000;
		if (off + len > FSX_MAX)
			len = FSX_MAX - off;
		fill(buf, len, step);
		if (fs_pwrite(fs, open_file[i], buf, len, off) != (long)len)
			return false;
		if (off > model_size[i])
			memset(model[i] + model_size[i], 0, off - model_size[i]);
		memcpy(model[i] + off, buf, len);
		if (off + len > model_size[i])
			model_size[i] = off + len;
	} else if (kind < 60) { /* read a piece */
		uint64_t off = rnd() % (model_size[i] + 1), len = rnd() % 12000;
		if (!open_file[i] && fs_open(fs, name, FS_O_RDWR, 0, &open_file[i]) < 0)
			return false;
		long want = off >= model_size[i] ? 0 : (long)MIN(len, model_size[i] - off);
		if (fs_pread(fs, open_file[i], buf2, len, off) != want)
			return false;
		return memcmp(buf2, model[i] + off, (size_t)want) == 0;
	} else if (kind < 70) { /* truncate */
		uint64_t size = rnd() % FSX_MAX;
		if (fs_truncate(fs, name, size) < 0)
			return false;
		if (size > model_size[i])
			memset(model[i] + model_size[i], 0, size - model_size[i]);
		model_size[i] = size;
	} else if (kind < 80) { /* rename over another name */
		int j = (int)(rnd() % FSX_FILES);
		if (j == i)
			return true;
		fsx_name(name2, j);
		if (open_file[j])
			fs_close(fs, open_file[j]), open_file[j] = NULL;
		if (open_file[i])
			fs_close(fs, open_file[i]), open_file[i] = NULL;
		if (fs_rename(fs, name, name2) < 0)
			return false;
		memcpy(model[j], model[i], model_size[i]);
		model_size[j] = model_size[i], model_exists[j] = true;
		model_exists[i] = false, model_size[i] = 0;
		return fsx_compare(j) && fsx_compare(i);
	} else if (kind < 88) { /* unlink */
		if (open_file[i])
			fs_close(fs, open_file[i]), open_file[i] = NULL;
		if (fs_unlink(fs, name) < 0)
			return false;
		model_exists[i] = false, model_size[i] = 0;
	} else if (kind < 96) { /* fsync */
		if (open_file[i] && fs_fsync(fs, open_file[i]) < 0)
			return false;
	} else { /* remount: everything closed, then read from the disk again */
		for (int k = 0; k < FSX_FILES; k++)
			if (open_file[k])
				fs_close(fs, open_file[k]), open_file[k] = NULL;
		if (remount() < 0)
			return false;
	}
	return fsx_compare(i);
}

static void fsx(void)
{
	check_eq("fsx.mkdir", fs_mkdir(fs, "/x", 0755), 0);
	uint64_t bad = 0, first_bad = 0;
	uint64_t t0 = rdtsc();
	for (uint64_t s = 1; s <= FSX_OPS; s++)
		if (!fsx_op(s) && !bad++)
			first_bad = s;
	uint64_t t1 = rdtsc();
	for (int k = 0; k < FSX_FILES; k++)
		if (open_file[k])
			fs_close(fs, open_file[k]), open_file[k] = NULL;
	check_eq("fsx.operations-match-model", (long)bad, 0);
	if (bad)
		printf("test_fs_disk: fsx: %lu operations differed, the first at %lu\n", bad,
		       first_bad);
	check_eq("fsx.sync", fs_sync(fs), 0);
	fsck_clean("fsck.after-fsx");
	check_eq("fsx.remount", remount(), 0);
	bool same = true;
	for (int i = 0; i < FSX_FILES; i++)
		same = same && fsx_compare(i);
	check("fsx.model-after-remount", same);
	printf("test_fs_disk: %d fsx operations in %lu ms\n", FSX_OPS,
	       (t1 - t0) / (ukinfo->ki_tsc_hz / 1000 + 1));
}

/* Small files: create, write 4 KiB, close; then a sync. A rate, printed. */
static void rate(void)
{
	check_eq("rate.mkdir", fs_mkdir(fs, "/r", 0755), 0);
	fill(buf, FS_BLOCK, 9);
	uint64_t bad = 0, t0 = rdtsc();
	char name[32];
	for (int i = 0; i < RATE_FILES; i++) {
		snprintf(name, sizeof(name), "/r/file%d", i);
		bad += file_put(name, buf, FS_BLOCK) != FS_BLOCK;
	}
	bad += fs_sync(fs) != 0;
	uint64_t ms = (rdtsc() - t0) / (ukinfo->ki_tsc_hz / 1000 + 1);
	check_eq("rate.small-files-written", (long)bad, 0);
	printf("test_fs_disk: %d files of 4 KiB created, written, closed and synced in %lu ms "
	       "(%lu files/s)\n",
	       RATE_FILES, ms, ms ? RATE_FILES * 1000 / ms : 0);
	const struct fsdev_xn_stats *st = fsdev_xn_stats(&dev);
	printf("test_fs_disk: %lu updates, %lu moves, %lu refused, %lu data writes, %lu flushes\n",
	       st->updates, st->moves, st->refused, st->data_writes, st->flushes);
	fsck_clean("fsck.after-rate");
}

/* The data path (lib/fs/fsdev_xn_data.c): a big file's blocks go out
 * gathered and come back read ahead, many blocks a request; a gathered
 * write the kernel refuses is reported by the next write or barrier. */
static void data_path(void)
{
	const struct fsdev_xn_stats *st = fsdev_xn_stats(&dev);
	static uint8_t big[1 << 20];
	fill(big, sizeof(big), 77);
	uint64_t w0 = st->data_writes, wr0 = st->data_write_reqs;
	struct fs_file *f;
	long r = fs_open(fs, "/big", FS_O_RDWR | FS_O_CREAT | FS_O_TRUNC, 0644, &f);
	check_eq("data.open", r, 0);
	if (r < 0)
		return;
	check_eq("data.write", fs_write(fs, f, big, sizeof(big)), (long)sizeof(big));
	check_eq("data.fsync", fs_fsync(fs, f), 0);
	fs_close(fs, f);
	uint64_t blocks = st->data_writes - w0, reqs = st->data_write_reqs - wr0;
	printf("test_fs_disk: 1 MiB written: %lu data blocks in %lu requests\n", blocks, reqs);
	check("data.writes-gathered", blocks >= 256 && reqs * 8 <= blocks);
	check_eq("data.forget", fsdev_xn_forget(&dev), 0);
	uint64_t rd0 = st->data_reads, rr0 = st->data_read_reqs;
	static uint8_t back[1 << 20];
	check_eq("data.read", file_get("/big", back, sizeof(back)), (long)sizeof(back));
	check("data.read-same", memcmp(back, big, sizeof(big)) == 0);
	blocks = st->data_reads - rd0, reqs = st->data_read_reqs - rr0;
	printf("test_fs_disk: 1 MiB read cold: %lu data blocks in %lu requests\n", blocks, reqs);
	check("data.reads-ahead", blocks >= 256 && reqs * 8 <= blocks);

	/* XN's own blocks: the first env's key reaches them, for reading only */
	uint64_t xnb = dev.d_reserved - 1;
	check_eq("data.refused-gathered", dev.write_data(dev.d_ctx, xnb, big), 0);
	check_eq("data.refused-at-barrier", dev.barrier(dev.d_ctx), -EPERM);
	check_eq("data.refused-once", dev.barrier(dev.d_ctx), 0);
	check_eq("data.refused-gathered-2", dev.write_data(dev.d_ctx, xnb, big), 0);
	check_eq("data.refused-at-next-write", dev.write_data(dev.d_ctx, xnb - 2, big), -EPERM);
	check_eq("data.refused-then-clean", dev.barrier(dev.d_ctx), 0);
	check_eq("data.unlink", fs_unlink(fs, "/big"), 0);
	check_eq("data.sync", fs_sync(fs), 0); /* the frees settle */
	fsck_clean("fsck.after-data");
}

int main(void)
{
	struct disk_info di;
	if (sys_disk_info(&di) == -E_NOT_FOUND) {
		check_eq("nodisk.open", fsdev_xn_open(&dev, CAP_SELF), -ENODEV);
		return test_finish();
	}
	check_eq("fs.xn-format", sys_xn_format(CAP_SELF), 0);
	int r = fsdev_xn_open(&dev, CAP_SELF);
	check_eq("fs.open-hooks", r, 0);
	if (r == 0) {
		struct fsdev again;
		check_eq("fs.open-hooks-again", fsdev_xn_open(&again, CAP_SELF), 0);
		fsdev_xn_close(&again);
		check_eq("fs.format", fs_format(&dev, 256), 0);
		check_eq("fs.format-exists", fs_format(&dev, 256), -EEXIST);
		r = fs_mount(&fs, &dev);
		check_eq("fs.mount", r, 0);
	}
	if (r == 0) {
		basics();
		fsx();
		rate();
		data_path();
		check_eq("fs.unmount", fs_unmount(fs), 0);
		check_eq("fs.close-hooks", fsdev_xn_close(&dev), 0);
	}
	r = test_finish();
	printf("test_fs_disk: done\n");
	return r;
}
