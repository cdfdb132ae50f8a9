/*
 * fsx for the library file system: a seeded random sequence of open,
 * write, pwrite, read, pread, truncate, lseek, fsync, rename, unlink and
 * close on a handful of files, checked against an in-memory model after
 * every step (the bytes an operation touched and the size; every file in
 * full every 2,000 steps), with a remount and fsck every 10,000 steps.
 * 100,000 steps here; FS_SCALE=N (make fs-stress) runs N times as many.
 */
#include "check.h"

#include "fs_host.h"

#define NAMES 12
#define MAXSIZE (192 * 1024)

static const char *names[NAMES] = { "/a",     "/b",     "/c",     "/d",     "/e",     "/f",
				    "/dir/g", "/dir/h", "/dir/i", "/dir/j", "/dir/k", "/dir/l" };

struct mfile {
	bool exists;
	uint8_t *data; /* MAXSIZE + 64K bytes */
	uint64_t size;
	struct fs_file *f; /* open handle, or NULL */
	uint64_t pos;
};

static struct mfile m[NAMES];
static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return n ? rng % n : 0;
}

static struct fs *fs;
static struct xnsim *x;
static uint8_t buf[MAXSIZE + 65536];

static bool same(int i, uint64_t off, uint64_t len, int step)
{
	if (!len)
		return true;
	long r = fs_pread(fs, m[i].f, buf, len, off);
	if (!CHECK_MSG(r == (long)len, "step %d: pread %s %lu+%lu = %ld", step, names[i],
		       (unsigned long)off, (unsigned long)len, r))
		return false;
	for (uint64_t k = 0; k < len; k++)
		if (buf[k] != m[i].data[off + k])
			return CHECK_MSG(0, "step %d: %s byte %lu is %d, model %d", step, names[i],
					 (unsigned long)(off + k), buf[k], m[i].data[off + k]);
	return true;
}

static bool open_file(int i, int step)
{
	if (m[i].f)
		return true;
	int r = fs_open(fs, names[i], FS_O_RDWR | FS_O_CREAT, 0644, &m[i].f);
	if (!CHECK_MSG(r == 0, "step %d: open %s: %d", step, names[i], r))
		return false;
	if (!m[i].exists) {
		m[i].exists = true, m[i].size = 0;
		memset(m[i].data, 0, MAXSIZE + 65536);
	}
	m[i].pos = 0;
	return true;
}

static void close_file(int i)
{
	if (m[i].f)
		fs_close(fs, m[i].f);
	m[i].f = NULL;
}

static bool check_size(int i, int step)
{
	struct fs_stat st;
	int r = fs_fstat(fs, m[i].f, &st);
	return CHECK_MSG(r == 0 && st.st_size == m[i].size, "step %d: %s size %lu, model %lu", step,
			 names[i], (unsigned long)st.st_size, (unsigned long)m[i].size);
}

static bool step(int s)
{
	int i = (int)rnd(NAMES), op = (int)rnd(100);
	if (op < 30) { /* write or pwrite */
		if (!open_file(i, s))
			return false;
		uint64_t off = op < 15 ? m[i].pos : rnd(MAXSIZE),
			 len = 1 + rnd(op & 1 ? 200 : 16384);
		if (off + len > MAXSIZE)
			len = MAXSIZE - off;
		if (!len)
			return true;
		for (uint64_t k = 0; k < len; k++)
			buf[k] = (uint8_t)rnd(256);
		memcpy(m[i].data + off, buf, len);
		long r = op < 15 ? (fs_lseek(fs, m[i].f, (int64_t)off, FS_SEEK_SET),
				    fs_write(fs, m[i].f, buf, len))
				 : fs_pwrite(fs, m[i].f, buf, len, off);
		if (!CHECK_MSG(r == (long)len, "step %d: write %s: %ld", s, names[i], r))
			return false;
		if (op < 15)
			m[i].pos = off + len;
		m[i].size = MAX(m[i].size, off + len);
		return same(i, off, len, s) && check_size(i, s);
	}
	if (op < 50) { /* read or pread, through the end too */
		if (!m[i].exists || !open_file(i, s))
			return true;
		uint64_t off = rnd(m[i].size + 100), len = rnd(20000);
		long want = off >= m[i].size ? 0 : (long)MIN(len, m[i].size - off);
		long r = fs_pread(fs, m[i].f, buf, len, off);
		if (!CHECK_MSG(r == want, "step %d: pread %s at %lu: %ld, model %ld", s, names[i],
			       (unsigned long)off, r, want))
			return false;
		return memcmp(buf, m[i].data + off, (size_t)want) == 0 ||
		       CHECK_MSG(0, "step %d: pread %s differs", s, names[i]);
	}
	if (op < 62) { /* truncate */
		if (!m[i].exists || !open_file(i, s))
			return true;
		uint64_t size = rnd(MAXSIZE);
		if (size < m[i].size)
			memset(m[i].data + size, 0, m[i].size - size);
		m[i].size = size;
		int r = fs_ftruncate(fs, m[i].f, size);
		return CHECK_MSG(r == 0, "step %d: truncate: %d", s, r) && check_size(i, s) &&
		       same(i, size > 5000 ? size - 5000 : 0, MIN(size, 5000), s);
	}
	if (op < 70) { /* fsync */
		if (!m[i].exists || !open_file(i, s))
			return true;
		return CHECK_EQ(fs_fsync(fs, m[i].f), 0);
	}
	if (op < 80) { /* rename */
		int j = (int)rnd(NAMES);
		if (!m[i].exists || i == j)
			return true;
		close_file(i), close_file(j);
		int r = fs_rename(fs, names[i], names[j]);
		if (!CHECK_MSG(r == 0, "step %d: rename %s %s: %d", s, names[i], names[j], r))
			return false;
		uint8_t *t = m[j].data;
		m[j] = m[i], m[i].data = t, m[i].exists = false;
		return true;
	}
	if (op < 88) { /* unlink */
		close_file(i);
		int r = fs_unlink(fs, names[i]);
		bool ok = CHECK_MSG(r == (m[i].exists ? 0 : -ENOENT), "step %d: unlink %s: %d", s,
				    names[i], r);
		m[i].exists = false;
		return ok;
	}
	if (op < 94) { /* close */
		close_file(i);
		return true;
	}
	/* open with O_TRUNC */
	close_file(i);
	int r = fs_open(fs, names[i], FS_O_RDWR | FS_O_CREAT | FS_O_TRUNC, 0600, &m[i].f);
	if (!CHECK_MSG(r == 0, "step %d: open O_TRUNC: %d", s, r))
		return false;
	m[i].exists = true, m[i].size = 0, m[i].pos = 0;
	memset(m[i].data, 0, MAXSIZE + 65536);
	return check_size(i, s);
}

static bool check_all(int s)
{
	for (int i = 0; i < NAMES; i++) {
		struct fs_stat st;
		int r = fs_stat(fs, names[i], &st);
		if (!m[i].exists) {
			if (!CHECK_MSG(r == -ENOENT, "step %d: %s should not exist: %d", s,
				       names[i], r))
				return false;
			continue;
		}
		if (!open_file(i, s) || !check_size(i, s) || !same(i, 0, m[i].size, s))
			return false;
	}
	return true;
}

static void remount(int s)
{
	for (int i = 0; i < NAMES; i++)
		close_file(i);
	CHECK_EQ(fs_unmount(fs), 0);
	struct fsck_report rep;
	CHECK_MSG(fsh_fsck(x, &rep) == 0, "step %d: fsck: %s", s, rep.msg);
	fs = fsh_mount(x);
	CHECK(fs != NULL);
}

TEST(fsx, random_operations_against_a_model)
{
	const char *scale = getenv("FS_SCALE");
	int steps = 100000 * (scale ? atoi(scale) : 1);
	fs = fsh_new(&x, 8192, 64);
	if (!CHECK(fs != NULL))
		return;
	CHECK_EQ(fs_mkdir(fs, "/dir", 0755), 0);
	for (int i = 0; i < NAMES; i++)
		m[i].data = calloc(1, MAXSIZE + 65536);
	for (int s = 1; s <= steps; s++) {
		if (!step(s))
			return;
		if (s % 2000 == 0 && !check_all(s))
			return;
		if (s % 10000 == 0)
			remount(s);
	}
	CHECK(check_all(steps));
	remount(steps);
	CHECK_EQ(fs_unmount(fs), 0);
	xnsim_close(x);
	for (int i = 0; i < NAMES; i++)
		free(m[i].data);
}
