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
