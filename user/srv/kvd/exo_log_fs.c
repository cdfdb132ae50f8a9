/*
 * kvd's append-only log as a file of the disk's file system (lib/fs on XN,
 * mounted by lib/appl/disk.c): /kvd/appendonly.aof (exo_log.h).
 *
 * Appends collect in log_buf and reach the file system when the engine
 * syncs (appendfsync always: before the replies leave) and at every tick
 * (100 ms), so a burst of single-command events costs one lib/fs write,
 * not one each: the engine's own promise (log_append is not durable,
 * log_sync is) is kept, and with everysec a power cut still loses at most
 * the last second. A sync is lib/fs's fsync: a journal commit through XN.
 * Compaction writes .tmp, fsyncs it, renames it over the log and syncs the
 * file system. Recovery replays the file and cuts a torn tail off.
 */
#include <lib/appl/appl.h>
#include <lib/base/libos.h>
#include <lib/fs/fs.h>
#include <user/srv/kvd/exo_log.h>

#define LOG_DIR "/kvd"
#define LOG_PATH "/kvd/appendonly.aof"
#define TMP_PATH "/kvd/appendonly.aof.tmp"
#define LOG_BUF_FLUSH (256 * 1024) /* write out early past this */

static struct fs *fs;
static struct fs_file *log_file, *tmp_file;
static uint8_t *log_buf;
static size_t log_len, log_cap;
static bool log_failed;
static int write_all(struct fs_file *f, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n) {
		long r = fs_write(fs, f, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* The buffered appends to the file system: 0 or -1. */
static int log_flush(void)
{
	if (!log_len)
		return log_failed ? -1 : 0;
	if (write_all(log_file, log_buf, log_len) < 0) {
		log_failed = true;
		return -1;
	}
	log_len = 0;
	log_failed = false;
	return 0;
}

static int fs_log_append(void *ctx UNUSED, const void *buf, size_t n)
{
	if (log_len + n > log_cap) {
		size_t cap = MAX(log_cap * 2, (size_t)65536);
		while (cap < log_len + n)
			cap *= 2;
		uint8_t *p = appl_alloc(cap);
		if (!p)
			return log_flush() < 0 ? -1 : write_all(log_file, buf, n);
		memcpy(p, log_buf, log_len);
		appl_free(log_buf);
		log_buf = p;
		log_cap = cap;
	}
	memcpy(log_buf + log_len, buf, n);
	log_len += n;
	return log_len >= LOG_BUF_FLUSH ? log_flush() : 0;
}

static int fs_log_sync(void *ctx UNUSED)
{
	if (log_flush() < 0)
		return -1;
	return fs_fsync(fs, log_file) < 0 ? -1 : 0;
}

static int fs_rewrite_begin(void *ctx UNUSED)
{
	if (log_flush() < 0) /* what came before belongs to the old log */
		return -1;
	return fs_open(fs, TMP_PATH, FS_O_WRONLY | FS_O_CREAT | FS_O_TRUNC, 0644, &tmp_file) < 0
		       ? -1
		       : 0;
}

static int fs_rewrite_append(void *ctx UNUSED, const void *buf, size_t n)
{
	return write_all(tmp_file, buf, n);
}

static int fs_rewrite_commit(void *ctx UNUSED)
{
	int r = fs_fsync(fs, tmp_file);
	fs_close(fs, tmp_file);
	tmp_file = NULL;
	if (r < 0 || fs_rename(fs, TMP_PATH, LOG_PATH) < 0 || fs_sync(fs) < 0) {
		fs_unlink(fs, TMP_PATH);
		return -1;
	}
	struct fs_file *f;
	if (fs_open(fs, LOG_PATH, FS_O_WRONLY | FS_O_APPEND, 0, &f) < 0)
		return -1;
	fs_close(fs, log_file);
	log_file = f;
	return 0;
}

static void fs_rewrite_abort(void *ctx UNUSED)
{
	if (tmp_file)
		fs_close(fs, tmp_file);
	tmp_file = NULL;
	fs_unlink(fs, TMP_PATH);
}

/* Replay the log (a torn tail is cut off); 0, or -1 when it is damaged. */
static int fs_recover(struct kvd *kv)
{
	struct fs_file *f;
	if (fs_open(fs, LOG_PATH, FS_O_RDONLY, 0, &f) < 0)
		return 0; /* no log yet */
	static uint8_t buf[64 * 1024];
	long long total = 0;
	long r;
	while ((r = fs_read(fs, f, buf, sizeof(buf))) > 0) {
		total += r;
		if (kvd_load(kv, buf, (size_t)r) < 0)
			break;
	}
	fs_close(fs, f);
	const char *why = NULL;
	long long valid = kvd_load_end(kv, &why);
	if (r < 0 || valid < 0) {
		printf("kvd: %s is damaged: %s\n", LOG_PATH, r < 0 ? "read error" : why);
		return -1;
	}
	if (valid < total) {
		printf("kvd: cutting a torn tail of %lld bytes off %s\n", total - valid, LOG_PATH);
		if (fs_truncate(fs, LOG_PATH, (uint64_t)valid) < 0 || fs_sync(fs) < 0)
			return -1;
	}
	printf("kvd: loaded %lld bytes of log\n", valid);
	return 0;
}

/* Mount the disk's file system and open the log for appending. */
static int fs_open_log(bool format)
{
	int r = appl_fs_mount(format, &fs);
	if (r < 0) {
		printf("kvd: no file system on the disk (error %d)%s\n", r,
		       r == -ENODEV && !format ? "; --format lays one on a new disk" : "");
		return -1;
	}
	r = fs_mkdir(fs, LOG_DIR, 0755);
	if (r < 0 && r != -EEXIST)
		return -1;
	r = fs_open(fs, LOG_PATH, FS_O_WRONLY | FS_O_CREAT | FS_O_APPEND, 0644, &log_file);
	if (r < 0) {
		printf("kvd: cannot open %s: error %d\n", LOG_PATH, r);
		return -1;
	}
	return 0;
}

static int fs_flush(void)
{
	return log_flush();
}

static void fs_close_log(void)
{
	if (log_flush() < 0 || fs_fsync(fs, log_file) < 0)
		printf("kvd: the last appends did not reach the disk\n");
	fs_close(fs, log_file);
	int u = appl_fs_unmount();
	printf("kvd: file system %s\n", u < 0 ? "not unmounted cleanly" : "unmounted");
}

const struct exo_log exo_log_fs = {
	.name = "fs",
	.open = fs_open_log,
	.recover = fs_recover,
	.append = fs_log_append,
	.flush = fs_flush,
	.sync = fs_log_sync,
	.rewrite_begin = fs_rewrite_begin,
	.rewrite_append = fs_rewrite_append,
	.rewrite_commit = fs_rewrite_commit,
	.rewrite_abort = fs_rewrite_abort,
	.close = fs_close_log,
};
