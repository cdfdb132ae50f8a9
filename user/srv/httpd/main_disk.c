/*
 * httpd on Exo, with --disk: --seed (the carried site written to the
 * disk, a page's objects after it), the grouped fetch of a page's embedded objects
 * (the core's `group` hook, --group; group.c finds the objects) and the
 * disk counters /status shows (exo_disk_status).
 *
 * The file system already keeps a directory's small files together: a
 * file's first block goes right after its directory block (lib/fs/file.c),
 * so files written one after another in one directory sit one after
 * another on the disk. What it cannot know is which files a page needs
 * together. The core tells this hook, before reading any of them; the hook
 * finds each file's blocks from its inode, which lib/fs embeds in the
 * directory block (fs_file_id says where; lib/fs/format.h is the layout),
 * sorts them into contiguous runs and asks the device to read each run at
 * once (the fsdev prefetch hook: every block of a run in flight, one wait).
 * The reads that follow find the blocks in the device's cache. So a page's
 * objects cost one disk wait per run instead of one or more per file, and
 * one wait in all when they were written after the page in its directory
 * (--seed writes them so: exo_seed_site).
 *
 * Only data blocks named by an inode's inline extents are fetched (a file
 * with an extent map keeps the rest to lib/fs), at most GROUP_BLOCKS_MAX in
 * all, so none is evicted from the device's cache of 64 blocks
 * (fsdev_xn.c) before it is read. The inode is read as untrusted bytes:
 * its number must match, its extents lie inside the disk (prefetch checks
 * again), and anything odd just leaves the file to the ordinary read.
 */
#include <lib/appl/appl.h>
#include <lib/appl/romfs.h>
#include <lib/base/libos.h>
#include <lib/fs/format.h>
#include <lib/fs/fs.h>
#include <lib/fs/fsdev_xn.h>
#include <user/srv/httpd/main.h>

#define GROUP_BLOCKS_MAX 48 /* blocks one page's objects may ask ahead */
#define RUN_MAX 24          /* blocks the device reads at once (fsdev_xn.c AHEAD_MAX) */

static struct fs *gfs;
static const char *groot;
static struct {
	uint64_t read_waits, read_cycles;    /* stat and read hooks that read the disk */
	uint64_t groups, group_runs, group_blocks; /* group hooks, their fetches
						    * (one wait each) and blocks */
	uint64_t group_cycles;
} gst;

void exo_disk_init(struct fs *fs, const char *root)
{
	gfs = fs;
	groot = root;
}

/* The data blocks of path's inline extents that hold its bytes, added to
 * blks (at most max in all): the new count. */
static int file_blocks(const struct fsdev *dev, const char *path, uint32_t *blks, int nb, int max)
{
	char p[HTTP_PATH_MAX + 256];
	int n = snprintf(p, sizeof(p), "%s%s", groot, path);
	if (n <= 0 || (size_t)n >= sizeof(p))
		return nb;
	struct fs_file *f;
	struct fs_file_id id;
	if (fs_open(gfs, p, FS_O_RDONLY | FS_O_NOFOLLOW, 0, &f) < 0)
		return nb;
	int r = fs_file_id(gfs, f, &id);
	fs_close(gfs, f);
	if (r < 0 || id.ioff > FS_BLOCK - sizeof(struct fs_inode))
		return nb;
	const uint8_t *home = dev->map(dev->d_ctx, id.home);
	if (!home)
		return nb;
	struct fs_inode in;
	memcpy(&in, home + id.ioff, sizeof(in));
	if (in.ino != id.ino || (in.mode & S_IFMT) != S_IFREG)
		return nb;
	uint64_t need = (in.size + FS_BLOCK - 1) / FS_BLOCK;
	for (unsigned e = 0; e < MIN(in.next, FS_INLINE_EXTENTS); e++) {
		const struct fs_extent *x = &in.ext[e];
		for (uint64_t k = 0; k < x->len && x->lblk + k < need; k++) {
			uint64_t b = (uint64_t)x->start + k;
			if (b >= dev->d_nblocks || nb == max)
				return nb;
			blks[nb++] = (uint32_t)b;
		}
	}
	return nb;
}

static void sort_blocks(uint32_t *b, int n)
{
	for (int i = 1; i < n; i++) { /* a few dozen at most */
		uint32_t v = b[i];
		int j = i;
		for (; j > 0 && b[j - 1] > v; j--)
			b[j] = b[j - 1];
		b[j] = v;
	}
}

static void exo_group(void *ctx UNUSED, const char *const *paths, int n)
{
	const struct fsdev *dev = appl_fs_dev();
	if (!gfs || !dev || !dev->prefetch)
		return;
	uint32_t blks[GROUP_BLOCKS_MAX];
	int nb = 0;
	for (int i = 0; i < n && nb < GROUP_BLOCKS_MAX; i++)
		nb = file_blocks(dev, paths[i], blks, nb, GROUP_BLOCKS_MAX);
	sort_blocks(blks, nb);
	gst.groups++;
	uint64_t t0 = rdtsc();
	for (int i = 0; i < nb;) {
		int j = i + 1;
		while (j < nb && blks[j] <= blks[j - 1] + 1)
			j++; /* contiguous (a repeat stays in the run) */
		uint64_t start = blks[i], len = (uint64_t)blks[j - 1] - blks[i] + 1;
		while (len > 0) {
			long got = dev->prefetch(dev->d_ctx, start, MIN(len, (uint64_t)RUN_MAX));
			gst.group_runs++;
			if (got <= 0)
				break; /* a hint: the ordinary reads will do it */
			gst.group_blocks += MIN(len, (uint64_t)got);
			start += (uint64_t)got;
			len -= MIN(len, (uint64_t)got);
		}
		i = j;
	}
	gst.group_cycles += rdtsc() - t0;
}

static bool is_page(const char *path)
{
	const char *dot = strrchr(path, '.');
	return dot && strcmp(dot, ".html") == 0;
}

/* One file of the carried site written under cfg.root on the disk, with
 * each directory on the way and the file's time. 0 or a negative errno. */
static int seed_file(const struct romfs_entry *e)
{
	char p[HTTP_PATH_MAX + 256];
	int pn = snprintf(p, sizeof(p), "%s%s", groot, e->re_path);
	if (pn <= 0 || (size_t)pn >= sizeof(p))
		return -ENAMETOOLONG;
	for (char *s = p + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		int r = fs_mkdir(gfs, p, 0755);
		*s = '/';
		if (r < 0 && r != -EEXIST)
			return r;
	}
	struct fs_file *f;
	int r = fs_open(gfs, p, FS_O_WRONLY | FS_O_CREAT | FS_O_TRUNC, 0644, &f);
	if (r < 0)
		return r;
	long w = fs_write(gfs, f, e->re_data, e->re_size);
	fs_close(gfs, f);
	if (w != (long)e->re_size)
		return w < 0 ? (int)w : -EIO;
	uint64_t ns = (uint64_t)e->re_mtime * 1000000000ULL;
	fs_utimens(gfs, p, ns, ns);
	return 0;
}

/* --seed: the site this program carries, written under cfg.root. Each HTML
 * page goes first with the objects it embeds right after it (those not
 * written yet, pages aside: they come with their own), so that lib/fs, which puts a file's first block after its
 * directory's last, lays a page's objects next to it where they share its
 * directory (exo_group reads them in one run). 0 or a negative errno. */
int exo_seed_site(void)
{
	size_t n = romfs_count();
	bool *done = appl_calloc(n ? n : 1);
	char(*refs)[HTTP_PATH_MAX + 1] = appl_alloc(HTTP_GROUP_REFS * sizeof(*refs));
	int r = done && refs ? 0 : -ENOMEM;
	for (int html = 1; html >= 0 && r == 0; html--) {
		for (size_t i = 0; i < n && r == 0; i++) {
			const struct romfs_entry *e = romfs_entry(i);
			if (done[i] || (html && !is_page(e->re_path)))
				continue;
			r = seed_file(e);
			done[i] = true;
			unsigned refused;
			int k = html ? http_page_refs(e->re_path, (const char *)e->re_data,
						      e->re_size, refs, HTTP_GROUP_REFS, &refused)
				     : 0;
			for (int j = 0; j < k && r == 0; j++)
				for (size_t m = 0; m < n; m++)
					if (!done[m] && !is_page(romfs_entry(m)->re_path) &&
					    !strcmp(romfs_entry(m)->re_path, refs[j])) {
						r = seed_file(romfs_entry(m));
						done[m] = true;
					}
		}
	}
	appl_free(done);
	appl_free(refs);
	return r < 0 ? r : fs_sync(gfs);
}

static uint64_t disk_reads(void)
{
	const struct fsdev *dev = appl_fs_dev();
	const struct fsdev_xn_stats *x = dev ? fsdev_xn_stats(dev) : NULL;
	return x ? x->data_reads + x->meta_reads : 0;
}

struct disk_mark exo_disk_mark(void)
{
	return (struct disk_mark){ disk_reads(), rdtsc() };
}

void exo_disk_waited(struct disk_mark before)
{
	if (disk_reads() != before.reads) {
		gst.read_waits++;
		gst.read_cycles += rdtsc() - before.tsc;
	}
}

size_t exo_disk_status(char *buf, size_t size)
{
	const struct fsdev *dev = appl_fs_dev();
	const struct fsdev_xn_stats *x = dev ? fsdev_xn_stats(dev) : NULL;
	if (!x)
		return 0;
	/* a group's blocks count in data_reads too */
	uint64_t mhz = MAX(ukinfo->ki_tsc_hz / 1000000, (uint64_t)1);
	int n = snprintf(buf, size,
			 "disk: %lu data blocks read, %lu metadata blocks; %lu file reads waited "
			 "on it, %lu us; grouped: %lu fetches, %lu runs, %lu blocks, %lu us\n",
			 (unsigned long)x->data_reads, (unsigned long)x->meta_reads,
			 (unsigned long)gst.read_waits, (unsigned long)(gst.read_cycles / mhz),
			 (unsigned long)gst.groups, (unsigned long)gst.group_runs,
			 (unsigned long)gst.group_blocks, (unsigned long)(gst.group_cycles / mhz));
	return n < 0 ? 0 : MIN((size_t)n, size);
}

void exo_disk_hooks(struct http_hooks *h)
{
	h->group = exo_group;
}
