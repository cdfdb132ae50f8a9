/*
 * Power cuts. A seeded workload of creates (each file written whole when
 * created), hard links, renames (over existing names too), unlinks, mkdir
 * and fsyncs runs on the simulated XN disk; the model's namespace is
 * recorded after every operation. The workload is run again with a cut at
 * a seeded event (a writeback or barrier): the disk as the power cut leaves
 * it (every write behind a barrier, any choice of those not) is reopened as
 * XN would (the free map rebuilt from the roots, which must find no damage),
 * mounted (the journal replayed), checked by fsck (which must find nothing,
 * including no block claimed but never written), and its namespace and
 * contents must equal the model after one operation between the last fsync
 * that returned before the cut and the cut: every fsync'd file has its
 * content, every rename is all or nothing.
 * 60 cuts here; FS_SCALE=N (make fs-stress) runs 50*N more seeds.
 */
#include "check.h"

#include "fs_host.h"

#define NAMES 16
#define OPS 120
static const char *names[NAMES] = {
	"/a",   "/b",   "/c",   "/d",   "/e",   "/f",   "/g",   "/h",
	"/s/a", "/s/b", "/s/c", "/s/d", "/s/e", "/s/f", "/s/g", "/s/h"
};

/* After each operation: which content (0: none) each name has. */
struct snap {
	int id[NAMES];
	uint64_t events_after;
	bool fsync;
};
static struct snap snaps[OPS + 1];

static size_t content(int id, uint8_t *out)
{
	size_t len = (size_t)(id * 7919) % 30000 + 1;
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(id * 131 + i * 31 + (i >> 8));
	return len;
}

static uint64_t rng;
static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return rng % n;
}

static uint8_t buf[65536], buf2[65536];

/* Runs the workload of `seed` on a fresh disk; with cut != 0 the sim
 * captures the image at that event. Returns the sim (for the cut image). */
static struct xnsim *workload(uint64_t seed, uint64_t cut, int *nops, uint64_t *start)
{
	struct xnsim *x;
	struct fs *fs = fsh_new(&x, 2048, 16);
	if (!CHECK(fs != NULL))
		return NULL;
	CHECK_EQ(fs_mkdir(fs, "/s", 0755), 0);
	CHECK_EQ(fs_sync(fs), 0);
	*start = xnsim_events(x);
	if (cut)
		xnsim_cut_at(x, *start + cut, seed);
	rng = seed * 0x9e3779b97f4a7c15ull + 1;
	int cur[NAMES] = { 0 }, next_id = 1, n = 0;
	snaps[0] = (struct snap){ .events_after = 0 };
	for (int op = 1; op <= OPS; op++) {
		int i = (int)rnd(NAMES), j = (int)rnd(NAMES), k = (int)rnd(100);
		bool fsync = false;
		if (k < 40) { /* create a new file (replacing by rename if i exists) */
			if (!cur[i]) {
				struct fs_file *f;
				int id = next_id++;
				size_t len = content(id, buf);
				if (CHECK_EQ(fs_open(fs, names[i],
						     FS_O_WRONLY | FS_O_CREAT | FS_O_EXCL, 0644,
						     &f),
					     0)) {
					CHECK_EQ(fs_write(fs, f, buf, len), (long)len);
					if (rnd(3) == 0) {
						CHECK_EQ(fs_fsync(fs, f), 0);
						fsync = true;
					}
					fs_close(fs, f);
				}
				cur[i] = id;
			}
		} else if (k < 60) { /* rename */
			if (cur[i] && i != j) {
				CHECK_EQ(fs_rename(fs, names[i], names[j]), 0);
				if (cur[j] !=
				    cur[i]) /* two names of one file: POSIX does nothing */
					cur[j] = cur[i], cur[i] = 0;
			}
		} else if (k < 72) { /* hard link */
			if (cur[i] && !cur[j]) {
				CHECK_EQ(fs_link(fs, names[i], names[j]), 0);
				cur[j] = cur[i];
			}
		} else if (k < 88) { /* unlink */
			if (cur[i]) {
				CHECK_EQ(fs_unlink(fs, names[i]), 0);
				cur[i] = 0;
			}
		} else { /* sync everything */
			CHECK_EQ(fs_sync(fs), 0);
			fsync = true;
		}
		n = op;
		memcpy(snaps[op].id, cur, sizeof(cur));
		snaps[op].events_after = xnsim_events(x);
		snaps[op].fsync = fsync;
	}
	fs_unmount(fs);
	*nops = n;
	return x;
}

static bool matches(struct fs *fs, const struct snap *s)
{
	for (int i = 0; i < NAMES; i++) {
		struct fs_file *f;
		int r = fs_open(fs, names[i], FS_O_RDONLY, 0, &f);
		if (!s->id[i]) {
			if (r == 0)
				fs_close(fs, f);
			if (r != -ENOENT)
				return false;
			continue;
		}
		if (r < 0)
			return false;
		size_t len = content(s->id[i], buf);
		long got = fs_read(fs, f, buf2, sizeof(buf2));
		fs_close(fs, f);
		if (got != (long)len || memcmp(buf, buf2, len) != 0)
			return false;
	}
	return true;
}

static void one_cut(uint64_t seed)
{
	int nops;
	uint64_t start;
	struct xnsim *x = workload(seed, 0, &nops, &start);
	if (!x)
		return;
	uint64_t total = xnsim_events(x) - start;
	xnsim_close(x);
	rng = seed + 77;
	uint64_t cut_rel = 1 + rnd(total);
	x = workload(seed, cut_rel, &nops, &start);
	uint8_t *img, *shadow;
	if (!CHECK_MSG(x && xnsim_cut_take(x, &img, &shadow), "seed %lu: no cut",
		       (unsigned long)seed))
		return;
	uint64_t n = xnsim_nblocks(x), cut = start + cut_rel;
	xnsim_close(x);
	struct xnsim *y;
	if (!CHECK_EQ(xnsim_open(&y, img, n, shadow), 0))
		return;
	CHECK_MSG(xnsim_walk_errors(y) == 0, "seed %lu: XN walk: %s", (unsigned long)seed,
		  xnsim_walk_error(y));
	struct fs *fs = fsh_mount(y);
	if (!CHECK_MSG(fs != NULL, "seed %lu: mount failed", (unsigned long)seed)) {
		xnsim_close(y);
		return;
	}
	CHECK_EQ(fs_unmount(fs), 0);
	struct fsck_report rep;
	struct fsdev d = xnsim_dev(y);
	CHECK_MSG(fs_fsck(&d, true, &rep) == 0, "seed %lu: fsck: %s", (unsigned long)seed, rep.msg);
	fs = fsh_mount(y);
	/* Operations whose I/O all came before the cut are on disk if they
	 * fsync'd; the one in progress (or any after the last fsync) may be. */
	int last_fsync = 0, cut_op = nops;
	for (int op = 1; op <= nops; op++) {
		if (snaps[op].events_after > cut) {
			cut_op = op;
			break;
		}
		if (snaps[op].fsync)
			last_fsync = op;
	}
	bool ok = false;
	for (int op = last_fsync; op <= cut_op && !ok && fs; op++)
		ok = matches(fs, &snaps[op]);
	CHECK_MSG(ok, "seed %lu: state after the cut at %lu matches no operation in %d..%d",
		  (unsigned long)seed, (unsigned long)cut_rel, last_fsync, cut_op);
	if (fs)
		fs_unmount(fs);
	xnsim_close(y);
}

TEST(fscrash, sixty_power_cuts)
{
	for (uint64_t seed = 1; seed <= 60; seed++)
		one_cut(seed);
}

/* One commit, cut at each of its events with several device choices:
 * /a is fsync'd, then /b created, written (three blocks) and renamed
 * over /a, and fsync'd. The state must be /a's old file, that plus /b,
 * or /a's new one. Before the data barrier ahead of the journal's header
 * (meta.c), the header could land without the data it points at; replay
 * then claimed blocks XN had no record of being written, and the mount
 * failed here (the kernel's XN handed them back as zeros: fscrashtest's
 * lost files). */
static struct xnsim *one_commit(uint64_t cut, uint64_t choice, uint64_t *start, uint64_t *end)
{
	struct xnsim *x;
	struct fs *fs = fsh_new(&x, 512, 16);
	struct fs_file *f;
	if (!CHECK(fs != NULL))
		return NULL;
	size_t len = content(1, buf);
	CHECK_EQ(fs_open(fs, "/a", FS_O_WRONLY | FS_O_CREAT, 0644, &f), 0);
	CHECK_EQ(fs_write(fs, f, buf, len), (long)len);
	CHECK_EQ(fs_fsync(fs, f), 0);
	fs_close(fs, f);
	*start = xnsim_events(x);
	if (cut)
		xnsim_cut_at(x, *start + cut, choice);
	len = content(2, buf);
	CHECK_EQ(fs_open(fs, "/b", FS_O_WRONLY | FS_O_CREAT, 0644, &f), 0);
	CHECK_EQ(fs_write(fs, f, buf, len), (long)len);
	CHECK_EQ(fs_rename(fs, "/b", "/a"), 0);
	CHECK_EQ(fs_fsync(fs, f), 0);
	fs_close(fs, f);
	*end = xnsim_events(x);
	fs_unmount(fs);
	return x;
}

TEST(fscrash, every_event_of_a_commit)
{
	uint64_t start, end;
	struct xnsim *x = one_commit(0, 0, &start, &end);
	if (!x)
		return;
	xnsim_close(x);
	CHECK(content(2, buf) > 2 * FS_BLOCK);
	struct snap ok[3] = { { .id = { 1 } }, { .id = { 1, 2 } }, { .id = { 2 } } };
	for (uint64_t cut = 1; cut <= end - start; cut++)
		for (uint64_t choice = 1; choice <= 32; choice++) {
			uint8_t *img, *shadow;
			x = one_commit(cut, 2 * choice + 1, &start, &end);
			if (!CHECK_MSG(x && xnsim_cut_take(x, &img, &shadow), "cut %lu: none",
				       (unsigned long)cut))
				return;
			uint64_t n = xnsim_nblocks(x);
			xnsim_close(x);
			struct xnsim *y;
			if (!CHECK_EQ(xnsim_open(&y, img, n, shadow), 0))
				return;
			const char *bad = xnsim_walk_errors(y) ? "XN's walk found damage" : NULL;
			struct fs *fs = bad ? NULL : fsh_mount(y);
			struct fsck_report rep;
			if (!bad && !fs)
				bad = "the mount failed";
			if (!bad && (fs_unmount(fs) != 0 || fsh_fsck(y, &rep) != 0))
				bad = "fsck found damage";
			if (!bad && !(fs = fsh_mount(y)))
				bad = "the second mount failed";
			if (!bad) {
				bad = "no state matches";
				for (int i = 0; i < 3 && bad; i++)
					if (matches(fs, &ok[i]))
						bad = NULL;
				fs_unmount(fs);
			}
			xnsim_close(y);
			if (!CHECK_MSG(!bad, "cut at event %lu of %lu (choice %lu): %s",
				       (unsigned long)cut, (unsigned long)(end - start),
				       (unsigned long)choice, bad))
				return;
		}
}

TEST(fscrash, more_power_cuts)
{
	const char *scale = getenv("FS_SCALE");
	int n = 50 * (scale ? atoi(scale) : 0);
	for (int i = 0; i < n; i++)
		one_cut(1000 + (uint64_t)i);
}
