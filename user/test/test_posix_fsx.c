/*
 * fsx through the POSIX layer (issue #16's differential test, in the guest):
 * a seeded sequence of open (with O_CREAT, O_TRUNC), close, read, write,
 * pread, pwrite, lseek, ftruncate, fsync, rename and unlink on a handful of
 * names, checked against an in-memory model after every step. The model
 * keeps files apart from names, as POSIX does: a descriptor follows its
 * file through a rename, and a file unlinked while open stays readable and
 * writable until its last descriptor closes.
 *
 * After every step: the call's result (a read's bytes, a write's count, an
 * offset, an errno) and the touched file's size (fstat or stat) against the
 * model; every CHECK_ALL steps and at the end, every name's and every open
 * file's whole contents; then everything closed, the tree unmounted and
 * mounted again, and every name compared once more.
 *
 * tools/test-disk boots init=test_posix_fsx with DISK= an empty image made
 * by mkfs and "-- OPS SEED" (100,000 operations in make test; make
 * fsx-long runs more). Without a disk the path calls answer -ENOSYS.
 *
 *   pfsx.ops        every operation matched the model (the first mismatch
 *                   is printed with its step, operation and file)
 *   pfsx.final      every name after the last step
 *   pfsx.remount    every name after unmount and mount
 */
#include <lib/posix/posix.h>
#include <inc/disk.h>
#include <lib/base/libos.h>
#include <lib/base/syscall.h>
#include <lib/base/test.h>
#include <common/string.h>

#define NAMES 8
#define FILES 24           /* model files: named ones and unlinked open ones */
#define FILE_MAX (64 << 10) /* bytes a model file may hold */
#define FDS 6
#define CHECK_ALL 5000

struct mfile {
	bool used;
	int links, opens;
	uint64_t size;
	uint8_t data[FILE_MAX];
};

static struct mfile files[FILES];
static int name_file[NAMES]; /* model file of each name, -1: none */
static struct {
	int fd; /* -1: closed */
	int file;
	uint64_t pos;
} fds[FDS];
static uint8_t buf[FILE_MAX], buf2[FILE_MAX];
static uint64_t rng;
static uint64_t step;
static const char *op_name;
static long mismatches;

static uint64_t rnd(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return rng;
}

static void path_of(char *out, int name)
{
	snprintf(out, 32, "/fsx/n%d", name);
}

static void mismatch(const char *what, long got, long want, int which)
{
	if (mismatches++ < 10)
		printf("test_posix_fsx: step %lu %s (%d): %s: got %ld, want %ld\n", step, op_name,
		       which, what, got, want);
}

static bool expect(const char *what, long got, long want, int which)
{
	if (got == want)
		return true;
	mismatch(what, got, want, which);
	return false;
}

static int mfile_new(void)
{
	for (int f = 0; f < FILES; f++)
		if (!files[f].used) {
			files[f] = (struct mfile){ .used = true };
			return f;
		}
	return -1;
}

static void mfile_put(int f)
{
	if (files[f].links == 0 && files[f].opens == 0)
		files[f].used = false;
}

/* Compare the whole of model file f with what descriptor fd reads. */
static void compare_fd(int fd, int f, int which)
{
	long n = pread(fd, buf2, FILE_MAX, 0);
	if (expect("whole-file length", n, (long)files[f].size, which) &&
	    memcmp(buf2, files[f].data, files[f].size) != 0)
		mismatch("whole-file contents differ", 1, 0, which);
}

static void compare_name(int name)
{
	char path[32];
	path_of(path, name);
	int f = name_file[name];
	int fd = open(path, O_RDONLY, 0);
	if (f < 0) {
		expect("open of a removed name", fd, -ENOENT, name);
		if (fd >= 0)
			close(fd);
		return;
	}
	if (!expect("open of a name", fd >= 0 ? 0 : fd, 0, name))
		return;
	compare_fd(fd, f, name);
	close(fd);
}

static void compare_all(void)
{
	op_name = "compare-all";
	for (int n = 0; n < NAMES; n++)
		compare_name(n);
	for (int d = 0; d < FDS; d++)
		if (fds[d].fd >= 0)
			compare_fd(fds[d].fd, fds[d].file, d);
}

/* The size the file system reports for model file f, through d or name. */
static void check_size(int d, int name)
{
	struct stat st;
	if (d >= 0 && fds[d].fd >= 0) {
		if (expect("fstat", fstat(fds[d].fd, &st), 0, d))
			expect("size (fstat)", st.st_size, (long)files[fds[d].file].size, d);
	} else if (name >= 0 && name_file[name] >= 0) {
		char path[32];
		path_of(path, name);
		if (expect("stat", stat(path, &st), 0, name))
			expect("size (stat)", st.st_size, (long)files[name_file[name]].size, name);
	}
}

static void model_write(int f, uint64_t off, const uint8_t *p, uint64_t n)
{
	struct mfile *m = &files[f];
	if (off > m->size)
		memset(m->data + m->size, 0, off - m->size);
	memcpy(m->data + off, p, n);
	if (off + n > m->size)
		m->size = off + n;
}

static void fill(uint8_t *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		p[i] = (uint8_t)(step * 31 + i * 7 + (i >> 9));
}

static void do_open(int d)
{
	op_name = "open";
	int name = (int)(rnd() % NAMES);
	char path[32];
	path_of(path, name);
	bool trunc = rnd() % 8 == 0;
	if (fds[d].fd >= 0)
		return;
	int fd = open(path, O_RDWR | O_CREAT | (trunc ? O_TRUNC : 0), 0644);
	int f = name_file[name];
	if (f < 0 && (f = mfile_new()) < 0) {
		if (fd >= 0)
			close(fd); /* the model is full: an unlikely seed */
		return;
	}
	if (!expect("open", fd >= 0 ? 0 : fd, 0, name)) {
		mfile_put(f);
		return;
	}
	if (name_file[name] < 0) {
		name_file[name] = f;
		files[f].links = 1;
	}
	if (trunc)
		files[f].size = 0;
	files[f].opens++;
	fds[d].fd = fd, fds[d].file = f, fds[d].pos = 0;
	check_size(d, -1);
}

static void do_close(int d)
{
	op_name = "close";
	expect("close", close(fds[d].fd), 0, d);
	files[fds[d].file].opens--;
	mfile_put(fds[d].file);
	fds[d].fd = -1;
}

static void do_write(int d, bool positional)
{
	op_name = positional ? "pwrite" : "write";
	uint64_t off = positional ? rnd() % FILE_MAX : fds[d].pos;
	uint64_t n = 1 + rnd() % 9000;
	if (off >= FILE_MAX)
		return;
	if (off + n > FILE_MAX)
		n = FILE_MAX - off;
	fill(buf, n);
	long w = positional ? pwrite(fds[d].fd, buf, n, (off_t)off) : write(fds[d].fd, buf, n);
	if (expect("bytes written", w, (long)n, d)) {
		model_write(fds[d].file, off, buf, n);
		if (!positional)
			fds[d].pos += n;
	}
	check_size(d, -1);
}

static void do_read(int d, bool positional)
{
	op_name = positional ? "pread" : "read";
	struct mfile *m = &files[fds[d].file];
	uint64_t off = positional ? rnd() % (m->size + 1) : fds[d].pos;
	uint64_t n = rnd() % 12000;
	long want = off >= m->size ? 0 : (long)MIN(n, m->size - off);
	long got = positional ? pread(fds[d].fd, buf2, n, (off_t)off) : read(fds[d].fd, buf2, n);
	if (expect("bytes read", got, want, d) && memcmp(buf2, m->data + off, (size_t)want) != 0)
		mismatch("bytes read differ", 1, 0, d);
	if (!positional && got > 0)
		fds[d].pos += (uint64_t)got;
}

static void do_lseek(int d)
{
	op_name = "lseek";
	int whence = (int)(rnd() % 3);
	uint64_t size = files[fds[d].file].size;
	int64_t off = (int64_t)(rnd() % (FILE_MAX / 2));
	int64_t want = whence == SEEK_SET   ? off
		       : whence == SEEK_CUR ? (int64_t)fds[d].pos + off
					    : (int64_t)size + off;
	if (want >= FILE_MAX)
		return;
	off_t got = lseek(fds[d].fd, off, whence);
	if (expect("offset", (long)got, (long)want, d))
		fds[d].pos = (uint64_t)want;
}

static void do_truncate(int d)
{
	op_name = "ftruncate";
	uint64_t size = rnd() % FILE_MAX;
	struct mfile *m = &files[fds[d].file];
	if (expect("ftruncate", ftruncate(fds[d].fd, (off_t)size), 0, d)) {
		if (size > m->size)
			memset(m->data + m->size, 0, size - m->size);
		m->size = size;
	}
	check_size(d, -1);
}

static void do_rename(void)
{
	op_name = "rename";
	int a = (int)(rnd() % NAMES), b = (int)(rnd() % NAMES);
	char pa[32], pb[32];
	path_of(pa, a), path_of(pb, b);
	long r = rename(pa, pb);
	if (name_file[a] < 0) {
		expect("rename of a missing name", r, -ENOENT, a);
		return;
	}
	if (!expect("rename", r, 0, a) || a == b)
		return;
	int old = name_file[b];
	name_file[b] = name_file[a];
	name_file[a] = -1;
	if (old >= 0) {
		files[old].links--;
		mfile_put(old);
	}
	check_size(-1, b);
}

static void do_unlink(void)
{
	op_name = "unlink";
	int a = (int)(rnd() % NAMES);
	char pa[32];
	path_of(pa, a);
	long r = unlink(pa);
	if (name_file[a] < 0) {
		expect("unlink of a missing name", r, -ENOENT, a);
		return;
	}
	if (expect("unlink", r, 0, a)) {
		int f = name_file[a];
		name_file[a] = -1;
		files[f].links--;
		mfile_put(f);
	}
}

static void one_step(void)
{
	int d = (int)(rnd() % FDS);
	uint64_t k = rnd() % 100;
	if (fds[d].fd < 0) {
		if (k < 70)
			do_open(d);
		else if (k < 85)
			do_rename();
		else
			do_unlink();
		return;
	}
	if (k < 18)
		do_write(d, false);
	else if (k < 34)
		do_write(d, true);
	else if (k < 48)
		do_read(d, false);
	else if (k < 62)
		do_read(d, true);
	else if (k < 70)
		do_lseek(d);
	else if (k < 76)
		do_truncate(d);
	else if (k < 80) {
		op_name = "fsync";
		expect("fsync", fsync(fds[d].fd), 0, d);
	} else if (k < 87)
		do_close(d);
	else if (k < 94)
		do_rename();
	else
		do_unlink();
}

int main(int argc, char **argv)
{
	struct disk_info di;
	if (sys_disk_info(&di) == -E_NOT_FOUND) {
		struct stat st;
		check_eq("pfsx.nodisk", stat("/", &st), -ENOSYS);
		return test_finish();
	}
	uint64_t ops = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	rng = argc > 2 ? strtoul(argv[2], NULL, 10) : 1;
	rng = rng * 0x9e3779b97f4a7c15ULL + 1;
	for (int n = 0; n < NAMES; n++)
		name_file[n] = -1;
	for (int d = 0; d < FDS; d++)
		fds[d].fd = -1;
	check_eq("pfsx.mkdir", mkdir("/fsx", 0755), 0);
	uint64_t t0 = rdtsc();
	for (step = 1; step <= ops; step++) {
		one_step();
		if (step % CHECK_ALL == 0)
			compare_all();
	}
	uint64_t t1 = rdtsc();
	check_eq("pfsx.ops", mismatches, 0);
	long before = mismatches;
	compare_all();
	check_eq("pfsx.final", mismatches - before, 0);
	for (int d = 0; d < FDS; d++)
		if (fds[d].fd >= 0)
			do_close(d);
	check_eq("pfsx.sync", sync(), 0);
	check_eq("pfsx.unmount", posix_fs_unmount(), 0);
	check_eq("pfsx.mount", posix_fs_mount(CAP_SELF), 0);
	before = mismatches;
	for (int n = 0; n < NAMES; n++)
		compare_name(n);
	check_eq("pfsx.remount", mismatches - before, 0);
	printf("test_posix_fsx: %lu operations (seed %s) in %lu ms\n", ops,
	       argc > 2 ? argv[2] : "1", (t1 - t0) / (ukinfo->ki_tsc_hz / 1000 + 1));
	int r = test_finish();
	printf("test_posix_fsx: done\n");
	return r;
}
