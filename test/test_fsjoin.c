/*
 * Host tests of what lib/fs gives a process family sharing one tree
 * (doc/fs.md, "Files for programs"): a second instance that joins a
 * mounted tree (fs_join: no replay, no orphan reclaim), and an open file
 * passed from one instance to another by where its inode is (fs_file_id /
 * fs_open_id), with every error fs_open_id returns. The two instances take
 * turns as lib/posix's do: a turn that changed the tree ends with a sync.
 */
#include "check.h"

#include <string.h>

#include "fs_host.h"

static struct xnsim *x;

static struct fs *join(void)
{
	struct fsdev d = xnsim_dev(x);
	d.now = fsh_now;
	struct fs *fs = NULL;
	CHECK_EQ(fs_join(&fs, &d), 0);
	return fs;
}

static long put(struct fs *fs, const char *path, const char *s)
{
	struct fs_file *f;
	int r = fs_open(fs, path, FS_O_WRONLY | FS_O_CREAT | FS_O_TRUNC, 0644, &f);
	if (r < 0)
		return r;
	long w = fs_write(fs, f, s, strlen(s));
	fs_close(fs, f);
	return w;
}

TEST(fsjoin, second_instance_sees_first_ones_files)
{
	struct fs *a = fsh_new(&x, 4096, 64);
	CHECK(a != NULL);
	CHECK_EQ(put(a, "/hello", "from a"), 6);
	CHECK_EQ(fs_sync(a), 0); /* the end of a's turn */
	struct fs *b = join();
	struct fs_file *f;
	char buf[32] = { 0 };
	CHECK_EQ(fs_open(b, "/hello", FS_O_RDONLY, 0, &f), 0);
	CHECK_EQ(fs_read(b, f, buf, sizeof(buf)), 6);
	CHECK_STREQ(buf, "from a");
	fs_close(b, f);
	CHECK_EQ(fs_mkdir(b, "/made-by-b", 0755), 0);
	CHECK_EQ(fs_sync(b), 0);
	struct fs_stat st;
	CHECK_EQ(fs_stat(a, "/made-by-b", &st), 0);
	CHECK_EQ(fs_unmount(b), 0);
	CHECK_EQ(fs_unmount(a), 0);
	struct fsck_report rep;
	CHECK_EQ(fsh_fsck(x, &rep), 0);
	xnsim_close(x);
}

TEST(fsjoin, join_keeps_another_instances_orphan)
{
	struct fs *a = fsh_new(&x, 4096, 64);
	CHECK(a != NULL);
	CHECK_EQ(put(a, "/doomed", "still here"), 10);
	struct fs_file *f;
	CHECK_EQ(fs_open(a, "/doomed", FS_O_RDONLY, 0, &f), 0);
	CHECK_EQ(fs_unlink(a, "/doomed"), 0); /* open: an orphan */
	CHECK_EQ(fs_sync(a), 0);
	struct fs *b = join(); /* a full mount would reclaim it */
	char buf[16] = { 0 };
	CHECK_EQ(fs_read(a, f, buf, sizeof(buf)), 10);
	CHECK_STREQ(buf, "still here");
	CHECK_EQ(fs_unmount(b), 0);
	fs_close(a, f); /* the last close reclaims it */
	CHECK_EQ(fs_unmount(a), 0);
	struct fsck_report rep;
	CHECK_EQ(fsh_fsck(x, &rep), 0);
	CHECK_EQ(rep.files, 0);
	xnsim_close(x);
}

TEST(fsjoin, open_file_passes_by_id)
{
	struct fs *a = fsh_new(&x, 4096, 64);
	CHECK(a != NULL);
	struct fs_file *fa, *fb;
	CHECK_EQ(fs_open(a, "/log", FS_O_RDWR | FS_O_CREAT, 0644, &fa), 0);
	CHECK_EQ(fs_write(a, fa, "parent ", 7), 7);
	struct fs_file_id id;
	CHECK_EQ(fs_file_id(a, fa, &id), 0);
	CHECK_EQ(id.pos, 7);
	CHECK_EQ(fs_sync(a), 0);
	struct fs *b = join();
	CHECK_EQ(fs_open_id(b, &id, FS_O_WRONLY, &fb), 0);
	CHECK_EQ(fs_write(b, fb, "child", 5), 5); /* at the passed offset */
	CHECK_EQ(fs_sync(b), 0);
	char buf[32] = { 0 };
	CHECK_EQ(fs_pread(a, fa, buf, sizeof(buf), 0), 12);
	CHECK_STREQ(buf, "parent child");
	/* a write-only passed file cannot be read */
	CHECK_EQ(fs_read(b, fb, buf, 1), -EBADF);
	fs_close(b, fb);
	/* with O_APPEND, at the end whatever the offset */
	id.pos = 0;
	CHECK_EQ(fs_open_id(b, &id, FS_O_WRONLY | FS_O_APPEND, &fb), 0);
	CHECK_EQ(fs_write(b, fb, "!", 1), 1);
	fs_close(b, fb);
	/* the new size is a held-back write until b commits (lib/fs/meta.c) */
	CHECK_EQ(fs_sync(b), 0);
	CHECK_EQ(fs_pread(a, fa, buf, sizeof(buf), 0), 13);
	CHECK_EQ(buf[12], '!');
	fs_close(a, fa);
	CHECK_EQ(fs_unmount(b), 0);
	CHECK_EQ(fs_unmount(a), 0);
	xnsim_close(x);
}

TEST(fsjoin, open_id_refuses_what_is_not_there)
{
	struct fs *a = fsh_new(&x, 4096, 64);
	CHECK(a != NULL);
	CHECK_EQ(fs_mkdir(a, "/d", 0755), 0);
	CHECK_EQ(fs_mkdir(a, "/e", 0755), 0);
	CHECK_EQ(put(a, "/d/f", "x"), 1);
	CHECK_EQ(fs_symlink(a, "/d/f", "/link"), 0);
	struct fs_file *f, *g;
	struct fs_file_id file, dir, bad;
	CHECK_EQ(fs_open(a, "/d/f", FS_O_RDONLY, 0, &f), 0);
	CHECK_EQ(fs_file_id(a, f, &file), 0);
	fs_close(a, f);
	CHECK_EQ(fs_open(a, "/d", FS_O_RDONLY | FS_O_DIRECTORY, 0, &f), 0);
	CHECK_EQ(fs_file_id(a, f, &dir), 0);
	fs_close(a, f);
	CHECK_EQ(fs_open_id(a, &dir, FS_O_RDONLY, &g), -EISDIR);
	CHECK_EQ(fs_open_id(a, &file, 3, &g), -EINVAL);
	CHECK_EQ(fs_open_id(a, &file, FS_O_RDONLY | FS_O_CREAT, &g), -EINVAL);
	bad = file, bad.ino++;
	CHECK_EQ(fs_open_id(a, &bad, FS_O_RDONLY, &g), -ESTALE);
	bad = file, bad.home = 0;
	CHECK_EQ(fs_open_id(a, &bad, FS_O_RDONLY, &g), -ESTALE);
	bad = file, bad.home = 1u << 30;
	CHECK_EQ(fs_open_id(a, &bad, FS_O_RDONLY, &g), -ESTALE);
	bad = file, bad.ioff += 8;
	CHECK_EQ(fs_open_id(a, &bad, FS_O_RDONLY, &g), -ESTALE);
	/* renamed into another directory, its inode moved with it */
	CHECK_EQ(fs_rename(a, "/d/f", "/e/f"), 0);
	CHECK_EQ(fs_open_id(a, &file, FS_O_RDONLY, &g), -ESTALE);
	CHECK_EQ(fs_unmount(a), 0);
	struct fsck_report rep;
	CHECK_EQ(fsh_fsck(x, &rep), 0);
	xnsim_close(x);
}

/* What b's renames moved, as lib/posix keeps it in the family's page. */
static struct {
	uint64_t ino;
	uint32_t home, ioff;
	int n;
} last_move;

static void note_move(void *ctx, uint64_t ino, uint32_t home, uint32_t ioff)
{
	(void)ctx;
	last_move.ino = ino, last_move.home = home, last_move.ioff = ioff;
	last_move.n++;
}

TEST(fsjoin, open_file_follows_another_instances_rename)
{
	struct fs *a = fsh_new(&x, 4096, 64);
	CHECK(a != NULL);
	CHECK_EQ(fs_mkdir(a, "/d", 0755), 0);
	CHECK_EQ(fs_mkdir(a, "/e", 0755), 0);
	struct fs_file *f, *g;
	CHECK_EQ(fs_open(a, "/d/f", FS_O_RDWR | FS_O_CREAT, 0644, &f), 0);
	CHECK_EQ(fs_write(a, f, "12345", 5), 5);
	CHECK_EQ(fs_sync(a), 0);
	struct fs *b = join();
	fs_on_move(b, note_move, NULL);
	last_move.n = 0;
	CHECK_EQ(fs_rename(b, "/d/f", "/e/f"), 0); /* into another directory: the inode moves */
	CHECK_EQ(last_move.n, 1);
	/* another file takes the old place */
	CHECK_EQ(put(b, "/d/other", "untouched"), 9);
	CHECK_EQ(fs_sync(b), 0);
	/* a's turn: its file is not where it thinks, and says so */
	CHECK_EQ(fs_revalidate(a), 1);
	CHECK_EQ(fs_write(a, f, "678", 3), -ESTALE);
	struct fs_stat st;
	CHECK_EQ(fs_fstat(a, f, &st), -ESTALE);
	/* told of the move, it follows */
	fs_relocate(a, last_move.ino, last_move.home, last_move.ioff + 8); /* not there */
	CHECK_EQ(fs_write(a, f, "678", 3), -ESTALE);
	fs_relocate(a, last_move.ino, last_move.home, last_move.ioff);
	CHECK_EQ(fs_revalidate(a), 0);
	CHECK_EQ(fs_write(a, f, "678", 3), 3);
	CHECK_EQ(fs_sync(a), 0);
	char buf[32] = { 0 };
	CHECK_EQ(fs_open(b, "/e/f", FS_O_RDONLY, 0, &g), 0);
	CHECK_EQ(fs_read(b, g, buf, sizeof(buf)), 8);
	CHECK_STREQ(buf, "12345678");
	fs_close(b, g);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(fs_open(b, "/d/other", FS_O_RDONLY, 0, &g), 0);
	CHECK_EQ(fs_read(b, g, buf, sizeof(buf)), 9);
	CHECK_STREQ(buf, "untouched");
	fs_close(b, g);
	/* removed by b while a has it open: stale, and a's close frees nothing */
	CHECK_EQ(fs_unlink(b, "/e/f"), 0);
	CHECK_EQ(put(b, "/e/g", "new file"), 8);
	CHECK_EQ(fs_sync(b), 0);
	CHECK_EQ(fs_revalidate(a), 1);
	CHECK_EQ(fs_pread(a, f, buf, sizeof(buf), 0), -ESTALE);
	CHECK_EQ(fs_close(a, f), 0);
	CHECK_EQ(fs_sync(a), 0);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(fs_open(b, "/e/g", FS_O_RDONLY, 0, &g), 0);
	CHECK_EQ(fs_read(b, g, buf, sizeof(buf)), 8);
	CHECK_STREQ(buf, "new file");
	fs_close(b, g);
	/* a stale file's name opened again: the walk finds where it is now */
	CHECK_EQ(fs_open(a, "/d/other", FS_O_RDWR, 0, &f), 0);
	CHECK_EQ(fs_rename(b, "/d/other", "/e/other"), 0);
	CHECK_EQ(fs_sync(b), 0);
	CHECK_EQ(fs_revalidate(a), 1);
	CHECK_EQ(fs_open(a, "/e/other", FS_O_RDONLY, 0, &g), 0);
	CHECK_EQ(fs_pread(a, f, buf, 9, 0), 9); /* the same inode: no longer stale */
	fs_close(a, g);
	fs_close(a, f);
	CHECK_EQ(fs_unmount(b), 0);
	CHECK_EQ(fs_unmount(a), 0);
	struct fsck_report rep;
	CHECK_EQ(fsh_fsck(x, &rep), 0);
	xnsim_close(x);
}

/* Which inode "another instance" has open, as lib/posix's family hold
 * table would answer for b's held hook. */
static uint64_t held_ino;

static bool held_by_a(void *ctx, uint64_t ino)
{
	(void)ctx;
	return ino == held_ino;
}

static struct fs *join_held(void)
{
	struct fsdev d = xnsim_dev(x);
	d.now = fsh_now;
	d.held = held_by_a;
	struct fs *fs = NULL;
	CHECK_EQ(fs_join(&fs, &d), 0);
	return fs;
}

static uint64_t free_blocks(struct fs *fs)
{
	struct fs_statfs s;
	CHECK_EQ(fs_statfs(fs, &s), 0);
	return s.f_bfree;
}

TEST(fsjoin, held_file_outlives_another_instances_unlink_and_rename)
{
	static char big[3 * 4096];
	memset(big, 'q', sizeof(big));
	struct fs *a = fsh_new(&x, 4096, 64);
	CHECK(a != NULL);
	CHECK_EQ(fs_sync(a), 0);
	uint64_t empty = free_blocks(a);
	struct fs_file *f, *g;
	struct fs_stat st;
	CHECK_EQ(fs_open(a, "/f", FS_O_RDWR | FS_O_CREAT, 0644, &f), 0);
	CHECK_EQ(fs_write(a, f, big, sizeof(big)), (long)sizeof(big));
	CHECK_EQ(fs_fstat(a, f, &st), 0);
	CHECK_EQ(fs_sync(a), 0);
	struct fs *b = join_held();
	held_ino = st.st_ino;
	/* b unlinks what a has open: an orphan, not freed */
	CHECK_EQ(fs_unlink(b, "/f"), 0);
	CHECK_EQ(fs_stat(b, "/f", &st), -ENOENT);
	CHECK_EQ(fs_sync(b), 0);
	CHECK(free_blocks(b) < empty);
	CHECK_EQ(fs_revalidate(a), 0); /* still where a thinks */
	char buf[8] = { 0 };
	CHECK_EQ(fs_pread(a, f, buf, 4, 4096), 4);
	CHECK_STREQ(buf, "qqqq");
	CHECK_EQ(fs_pwrite(a, f, "zz", 2, 0), 2);
	CHECK_EQ(fs_fstat(a, f, &st), 0);
	CHECK_EQ(st.st_nlink, 0);
	CHECK_EQ(fs_sync(a), 0);
	/* a's last close: nobody else holds it (a's own hook is none): freed */
	held_ino = 0;
	CHECK_EQ(fs_close(a, f), 0);
	CHECK_EQ(fs_sync(a), 0);
	CHECK_EQ(free_blocks(a), empty);

	/* renamed over: the old file stays a's until it closes it */
	CHECK_EQ(put(a, "/old", "old contents"), 12);
	CHECK_EQ(put(a, "/new", "new"), 3);
	CHECK_EQ(fs_open(a, "/old", FS_O_RDONLY, 0, &f), 0);
	CHECK_EQ(fs_fstat(a, f, &st), 0);
	CHECK_EQ(fs_sync(a), 0);
	held_ino = st.st_ino;
	CHECK_EQ(fs_rename(b, "/new", "/old"), 0);
	CHECK_EQ(fs_sync(b), 0);
	CHECK_EQ(fs_revalidate(a), 0);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(fs_pread(a, f, buf, 3, 0), 3);
	CHECK_STREQ(buf, "old");
	CHECK_EQ(fs_open(a, "/old", FS_O_RDONLY, 0, &g), 0);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(fs_read(a, g, buf, sizeof(buf)), 3);
	CHECK_STREQ(buf, "new");
	fs_close(a, g);

	/* the holder goes without closing (a killed member): b's sweep frees
	 * the orphan once the hook no longer names it */
	CHECK_EQ(fs_orphans_reclaim(b), 1); /* still held */
	held_ino = 0;
	CHECK_EQ(fs_orphans_reclaim(b), 0);
	CHECK_EQ(fs_sync(b), 0);
	CHECK_EQ(fs_revalidate(a), 1); /* a's copy of it is gone */
	CHECK_EQ(fs_close(a, f), 0);
	CHECK_EQ(fs_unlink(a, "/old"), 0);
	CHECK_EQ(fs_sync(a), 0);
	CHECK_EQ(free_blocks(a), empty);
	CHECK_EQ(fs_unmount(b), 0);
	CHECK_EQ(fs_unmount(a), 0);
	struct fsck_report rep;
	CHECK_EQ(fsh_fsck(x, &rep), 0);
	CHECK_EQ(rep.files, 0);
	xnsim_close(x);
}

TEST(fsjoin, directory_by_descriptor)
{
	struct fs *a = fsh_new(&x, 4096, 64);
	CHECK(a != NULL);
	CHECK_EQ(fs_mkdir(a, "/d", 0755), 0);
	CHECK_EQ(fs_mkdir(a, "/d/e", 0755), 0);
	struct fs_file *dir, *root, *f, *g;
	char path[64];
	CHECK_EQ(fs_open(a, "/", FS_O_RDONLY | FS_O_DIRECTORY, 0, &root), 0);
	CHECK_EQ(fs_dir_path(a, root, path, sizeof(path)), 0);
	CHECK_STREQ(path, "/");
	CHECK_EQ(fs_open(a, "/d/e", FS_O_RDONLY | FS_O_DIRECTORY, 0, &dir), 0);
	CHECK_EQ(fs_dir_path(a, dir, path, sizeof(path)), 0);
	CHECK_STREQ(path, "/d/e");
	CHECK_EQ(fs_dir_path(a, dir, path, 4), -ENAMETOOLONG);
	/* renamed: the descriptor follows it */
	CHECK_EQ(fs_rename(a, "/d", "/x"), 0);
	CHECK_EQ(fs_dir_path(a, dir, path, sizeof(path)), 0);
	CHECK_STREQ(path, "/x/e");
	CHECK_EQ(fs_openat(a, dir, "f", FS_O_WRONLY | FS_O_CREAT, 0644, &f), 0);
	CHECK_EQ(fs_write(a, f, "in e", 4), 4);
	fs_close(a, f);
	struct fs_stat st;
	CHECK_EQ(fs_stat(a, "/x/e/f", &st), 0);
	CHECK_EQ(fs_openat(a, dir, "../g", FS_O_WRONLY | FS_O_CREAT, 0644, &f), 0);
	fs_close(a, f);
	CHECK_EQ(fs_stat(a, "/x/g", &st), 0);
	CHECK_EQ(fs_openat(a, root, "x/e/f", FS_O_RDONLY, 0, &f), 0);
	CHECK_EQ(fs_openat(a, f, "y", FS_O_RDONLY, 0, &g), -ENOTDIR);
	CHECK_EQ(fs_dir_path(a, f, path, sizeof(path)), -ENOTDIR);
	struct fs_dir cur;
	CHECK_EQ(fs_opendir_file(a, f, &cur), -ENOTDIR);
	fs_close(a, f);
	CHECK_EQ(fs_openat(a, dir, "/x/g", FS_O_RDONLY, 0, &f), 0); /* absolute */
	fs_close(a, f);
	CHECK_EQ(fs_openat(a, dir, "nope", FS_O_RDONLY, 0, &f), -ENOENT);
	/* a cursor from the descriptor */
	CHECK_EQ(fs_opendir_file(a, dir, &cur), 0);
	struct fs_dirent e;
	int names = 0, seen_f = 0;
	while (fs_readdir(a, &cur, &e) == 1) {
		names++;
		seen_f += strcmp(e.d_name, "f") == 0;
	}
	CHECK_EQ(names, 3); /* ".", "..", "f" */
	CHECK_EQ(seen_f, 1);
	/* passed by id, as a directory */
	struct fs_file_id id, fid;
	CHECK_EQ(fs_file_id(a, dir, &id), 0);
	CHECK_EQ(fs_open_id(a, &id, FS_O_RDONLY | FS_O_DIRECTORY, &g), 0);
	CHECK_EQ(fs_dir_path(a, g, path, sizeof(path)), 0);
	CHECK_STREQ(path, "/x/e");
	fs_close(a, g);
	CHECK_EQ(fs_open_id(a, &id, FS_O_RDWR | FS_O_DIRECTORY, &g), -EINVAL);
	CHECK_EQ(fs_open(a, "/x/g", FS_O_RDONLY, 0, &f), 0);
	CHECK_EQ(fs_file_id(a, f, &fid), 0);
	fs_close(a, f);
	CHECK_EQ(fs_open_id(a, &fid, FS_O_RDONLY | FS_O_DIRECTORY, &g), -ENOTDIR);
	/* removed while open: no path, nothing opens from it */
	CHECK_EQ(fs_unlink(a, "/x/e/f"), 0);
	CHECK_EQ(fs_rmdir(a, "/x/e"), 0);
	CHECK_EQ(fs_dir_path(a, dir, path, sizeof(path)), -ENOENT);
	CHECK_EQ(fs_openat(a, dir, "h", FS_O_WRONLY | FS_O_CREAT, 0644, &f), -ENOENT);
	fs_close(a, dir);
	fs_close(a, root);
	CHECK_EQ(fs_unmount(a), 0);
	struct fsck_report rep;
	CHECK_EQ(fsh_fsck(x, &rep), 0);
	xnsim_close(x);
}
