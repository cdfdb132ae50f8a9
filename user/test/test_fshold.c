/*
 * Holding the file tree (lib/posix/file.c, doc/fs.md "Holding the tree"):
 * a process whose operations change the tree keeps the family's lock and
 * commits lib/fs's transaction only when another member waits, before it
 * blocks or makes a child, at fsync, sync and exit. tools/test-disk boots
 * init=test_fshold with DISK= an image made by mkfs (a tree the family can
 * share), and checks here:
 *
 *   fshold.batched         200 creates of a file with 4 KiB in it, then a
 *                          sync, flush the device far fewer times than
 *                          twice a file (what committing every call did)
 *   fshold.fork-sees       a forked child reads what its parent wrote just
 *                          before the fork (fork lets go first)
 *   fshold.exit-commits    the parent reads what a child wrote just before
 *                          it exited
 *   fshold.busy-holder     a child waiting for the tree gets it while the
 *                          holder goes on with file calls and never blocks
 *                          (each turn looks for waiters)
 *   fshold.sleeping-holder a holder that then sleeps in a pipe read lets go
 *                          first, so the child it waits for can use the
 *                          tree (without that: both wait for ever)
 *   fshold.follows-rename  a file the parent has open, renamed into another
 *                          directory by a child (its inode moves), takes
 *                          the parent's next write where it now is; a file
 *                          made in the old place is untouched
 *   fshold.removed-*       the same file removed by a child while the
 *                          parent has it open: still the parent's to read
 *                          and write (POSIX's "until the last close"),
 *                          freed at its close
 *
 * Open files across the family (doc/fs.md, "Open files across a family"):
 *   fshold.unlinked-*      unlinked by a child while the parent has it open
 *   fshold.child-holds-*   unlinked by the parent while a child (which
 *                          opened it itself, or inherited it by fork) has
 *                          it open: the child reads it all, and the blocks
 *                          come back (statfs) only when the child closes
 *   fshold.spawned-*       passed to a spawned child (cat, its stdin), then
 *                          closed and unlinked by the parent before the
 *                          child may have started: the child reads it all
 *                          (its hold was taken at the spawn); freed when
 *                          it exits
 *   fshold.renamed-over-*  renamed over by a child: the parent keeps the
 *                          old file, the name has the new one
 *   fshold.enfile-*        every entry of the family's hold table taken by
 *                          live members: open answers ENFILE; a killed
 *                          member's entries are reused
 *   fshold.killed-*        a holder killed (no close runs): the orphan it
 *                          kept is freed at the family's next turn
 *   fshold.dirfd-*         a directory descriptor passed to a fork child
 *                          and to a spawned one: openat and fdopendir
 *
 * Without a disk (the guest suite runs it so) the path calls answer -ENOSYS.
 * The checks count events, never time: a wait is bounded by 60 s of ticks
 * and fails if the event never comes.
 */
#include <lib/posix/posix.h>
#include <inc/disk.h>
#include <lib/base/libos.h>
#include <lib/base/syscall.h>
#include <lib/base/test.h>
#include <lib/posix/fsshare.h>
#include <lib/posix/proc.h>
#include <common/string.h>
#include "fsput.h"

#define BATCH_FILES 200
static char block[4096];

static uint64_t flushes(void)
{
	struct disk_info di;
	return sys_disk_info(&di) < 0 ? 0 : di.di_flushes;
}

static void batched(void)
{
	check_eq("fshold.mkdir", mkdir("/many", 0755), 0);
	uint64_t before = flushes();
	int bad = 0;
	for (int i = 0; i < BATCH_FILES; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/many/f%03d", i);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		block[0] = (char)i;
		if (fd < 0 || write(fd, block, sizeof(block)) != (long)sizeof(block) ||
		    close(fd) < 0)
			bad++;
	}
	check_eq("fshold.batched-writes", bad, 0);
	check_eq("fshold.batched-sync", sync(), 0);
	uint64_t n = flushes() - before;
	printf("fshold: %d files created, %lu device flushes\n", BATCH_FILES, n);
	/* committing each call cost two commits a file, each with barriers */
	check("fshold.batched", n > 0 && n < BATCH_FILES / 2);
	struct stat st;
	check("fshold.batched-there", stat("/many/f199", &st) == 0 && st.st_size == 4096);
}

static void fork_and_exit(void)
{
	check_eq("fshold.put", put("/before-fork", "parent"), 6);
	long pid = fork();
	if (pid == 0)
		exit(holds("/before-fork", "parent") ? 0 : 1);
	check_eq("fshold.fork-sees", pid > 0 ? wait(pid) : -1, 0);

	pid = fork();
	if (pid == 0) {
		/* the child holds the tree after this; exit lets it go */
		exit(put("/from-child", "child") == 5 ? 0 : 1);
	}
	check_eq("fshold.child-wrote", pid > 0 ? wait(pid) : -1, 0);
	check("fshold.exit-commits", holds("/from-child", "child"));
}

/* Read one byte from fd, non-blocking: 1, 0 (none yet) or -errno. */
static long poll_byte(int fd, char *c)
{
	long r = read(fd, c, 1);
	return r == -EAGAIN ? 0 : r;
}

/* A child that waits for "go" on its pipe, then looks for path and says
 * 'y' (there, with content s) or 'n' on the answer pipe. */
static long looker(int go[2], int answer[2], const char *path, const char *s)
{
	long pid = fork();
	if (pid == 0) {
		char c;
		close(go[1]);
		close(answer[0]);
		if (read(go[0], &c, 1) != 1)
			exit(2);
		c = holds(path, s) ? 'y' : 'n';
		exit(write(answer[1], &c, 1) == 1 ? 0 : 3);
	}
	close(go[0]);
	close(answer[1]);
	return pid;
}

static void busy_holder(void)
{
	int go[2], answer[2];
	check_eq("fshold.busy-pipes", pipe(go) | pipe(answer), 0);
	long pid = looker(go, answer, "/busy", "busy");
	check("fshold.busy-fork", pid > 0);
	fcntl(answer[0], F_SETFL, O_NONBLOCK);
	/* from here on this process holds the tree and never blocks */
	check_eq("fshold.busy-put", put("/busy", "busy"), 4);
	check_eq("fshold.busy-go", write(go[1], "g", 1), 1);
	char c = 0;
	long got = 0, turns = 0;
	uint64_t end = ukinfo->ki_ticks + 60 * (uint64_t)ukinfo->ki_tick_hz;
	struct stat st;
	while ((got = poll_byte(answer[0], &c)) == 0 && ukinfo->ki_ticks < end) {
		stat("/busy", &st); /* a turn: where the holder sees the waiter */
		turns++;
	}
	printf("fshold: the child had the tree after %ld of the holder's turns\n", turns);
	check("fshold.busy-holder", got == 1 && c == 'y');
	close(go[1]);
	close(answer[0]);
	check_eq("fshold.busy-child", wait(pid), 0);
}

static void sleeping_holder(void)
{
	int go[2], answer[2];
	check_eq("fshold.sleep-pipes", pipe(go) | pipe(answer), 0);
	long pid = looker(go, answer, "/sleepy", "sleepy");
	check("fshold.sleep-fork", pid > 0);
	check_eq("fshold.sleep-put", put("/sleepy", "sleepy"), 6);
	check_eq("fshold.sleep-go", write(go[1], "g", 1), 1);
	char c = 0;
	/* blocks in the pipe: the child can answer only if we let go first */
	long got = read(answer[0], &c, 1);
	if (got != 1 || c != 'y')
		printf("fshold: the sleeping holder's child answered %ld '%c'\n", got, c ? c : '-');
	check("fshold.sleeping-holder", got == 1 && c == 'y');
	close(go[1]);
	close(answer[0]);
	check_eq("fshold.sleep-child", wait(pid), 0);
}

static void renamed_under_us(void)
{
	check_eq("fshold.mv-dirs", mkdir("/mv", 0755) | mkdir("/mv2", 0755), 0);
	int fd = open("/mv/a", O_RDWR | O_CREAT, 0644);
	check("fshold.mv-open", fd >= 0);
	check_eq("fshold.mv-write", write(fd, "12345", 5), 5);
	long pid = fork();
	if (pid == 0)
		exit(rename("/mv/a", "/mv2/a") == 0 && put("/mv/b", "other") == 5 ? 0 : 1);
	check_eq("fshold.mv-child", pid > 0 ? wait(pid) : -1, 0);
	check_eq("fshold.follows-rename", write(fd, "678", 3), 3);
	check("fshold.follows-rename-content", holds("/mv2/a", "12345678"));
	check("fshold.old-place-untouched", holds("/mv/b", "other"));
	pid = fork();
	if (pid == 0)
		exit(unlink("/mv2/a") == 0 && put("/mv2/c", "third") == 5 ? 0 : 1);
	check_eq("fshold.rm-child", pid > 0 ? wait(pid) : -1, 0);
	/* the parent still has it open: its file until it closes it */
	check_eq("fshold.removed-write", write(fd, "9", 1), 1);
	char buf[16] = { 0 };
	check_eq("fshold.removed-read", pread(fd, buf, sizeof(buf) - 1, 0), 9);
	check("fshold.removed-content", strcmp(buf, "123456789") == 0);
	check_eq("fshold.removed-close", close(fd), 0);
	check("fshold.removed-harms-nothing", holds("/mv2/c", "third"));
}

/* --- open files across the family ---------------------------------------- */

#define BIG_BLOCKS 16

/* Free blocks, as of a commit: a freed block is free for XN (and statfs)
 * only once its release is on disk. */
static uint64_t free_blocks(void)
{
	struct statfs_info s;
	return sync() == 0 && statfs("/", &s) == 0 ? s.f_bfree : 0;
}

/* A file of BIG_BLOCKS blocks, each filled with its own letter. */
static long put_big(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fd;
	long w = 0;
	for (int i = 0; i < BIG_BLOCKS && w >= 0; i++) {
		memset(block, 'a' + i, sizeof(block));
		w = write(fd, block, sizeof(block));
	}
	close(fd);
	return w < 0 ? w : 0;
}

/* Is fd's file exactly what put_big wrote? */
static bool is_big(int fd)
{
	for (int i = 0; i < BIG_BLOCKS; i++) {
		if (pread(fd, block, sizeof(block), (off_t)i * (off_t)sizeof(block)) !=
		    (long)sizeof(block))
			return false;
		for (size_t k = 0; k < sizeof(block); k++)
			if (block[k] != 'a' + i)
				return false;
	}
	return true;
}

static void unlinked_by_child(void)
{
	uint64_t empty = free_blocks();
	check_eq("fshold.unlinked-put", put_big("/u"), 0);
	int fd = open("/u", O_RDWR, 0);
	check("fshold.unlinked-open", fd >= 0);
	long pid = fork();
	if (pid == 0)
		exit(unlink("/u") == 0 ? 0 : 1);
	check_eq("fshold.unlinked-child", pid > 0 ? wait(pid) : -1, 0);
	struct stat st;
	check_eq("fshold.unlinked-name-gone", stat("/u", &st), -ENOENT);
	check("fshold.unlinked-read", is_big(fd));
	check_eq("fshold.unlinked-write", pwrite(fd, "xyz", 3, 5), 3);
	char buf[4] = { 0 };
	check_eq("fshold.unlinked-reread", pread(fd, buf, 3, 5), 3);
	check("fshold.unlinked-wrote", strcmp(buf, "xyz") == 0);
	check("fshold.unlinked-nlink",
	      fstat(fd, &st) == 0 && st.st_nlink == 0 && st.st_size == BIG_BLOCKS * 4096);
	check("fshold.unlinked-not-freed", free_blocks() + BIG_BLOCKS <= empty);
	check_eq("fshold.unlinked-close", close(fd), 0);
	check("fshold.unlinked-freed", free_blocks() >= empty);
}

/* A child that opens path itself (own), or uses the parent's fd (inherited),
 * says 'r' on ready, waits for go, then says 'y' if the file is all there. */
static long big_reader(int fd, const char *path, int ready[2], int go[2])
{
	long pid = fork();
	if (pid == 0) {
		char c;
		if (path)
			fd = open(path, O_RDONLY, 0);
		if (fd < 0 || write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			exit(2);
		c = is_big(fd) ? 'y' : 'n';
		close(fd);
		exit(write(ready[1], &c, 1) == 1 ? 0 : 3);
	}
	return pid;
}

static void child_holds(bool inherited)
{
	const char *name = inherited ? "fshold.child-holds-inherited" : "fshold.child-holds-own";
	char what[64];
	int ready[2], go[2];
	uint64_t empty = free_blocks();
	check_eq("fshold.child-holds-put", put_big("/h"), 0);
	check_eq("fshold.child-holds-pipes", pipe(ready) | pipe(go), 0);
	int fd = inherited ? open("/h", O_RDONLY, 0) : -1;
	long pid = big_reader(fd, inherited ? NULL : "/h", ready, go);
	char c = 0;
	check("fshold.child-holds-ready", read(ready[0], &c, 1) == 1 && c == 'r');
	if (inherited)
		close(fd); /* the child's copy is the last */
	check_eq("fshold.child-holds-unlink", unlink("/h"), 0);
	snprintf(what, sizeof(what), "%s-not-freed", name);
	check(what, free_blocks() + BIG_BLOCKS <= empty);
	check_eq("fshold.child-holds-go", write(go[1], "g", 1), 1);
	snprintf(what, sizeof(what), "%s-read", name);
	check(what, read(ready[0], &c, 1) == 1 && c == 'y');
	check_eq("fshold.child-holds-exit", wait(pid), 0);
	snprintf(what, sizeof(what), "%s-freed", name);
	check(what, free_blocks() >= empty);
	close(ready[0]), close(ready[1]), close(go[0]), close(go[1]);
}

static void spawned_holds(void)
{
	uint64_t empty = free_blocks();
	check_eq("fshold.spawned-put", put_big("/s"), 0);
	int fd = open("/s", O_RDONLY, 0), out[2];
	check("fshold.spawned-open", fd >= 0);
	check_eq("fshold.spawned-pipe", pipe(out), 0);
	char *argv[] = { "cat", NULL };
	int fdmap[] = { fd, out[1], 2 };
	long pid = posix_spawn("cat", argv, NULL, fdmap, 3);
	check("fshold.spawned-spawn", pid > 0);
	close(out[1]);
	check_eq("fshold.spawned-close", close(fd), 0);
	check_eq("fshold.spawned-unlink", unlink("/s"), 0);
	long got = 0, bad = 0, n;
	static char buf[4096];
	while ((n = read(out[0], buf, sizeof(buf))) > 0) {
		for (long k = 0; k < n; k++)
			bad += buf[k] != 'a' + (got + k) / 4096;
		got += n;
	}
	close(out[0]);
	check_eq("fshold.spawned-read", got, BIG_BLOCKS * 4096);
	check_eq("fshold.spawned-content", bad, 0);
	int status = -1;
	check("fshold.spawned-exit", pid > 0 && waitpid(pid, &status, 0) == pid &&
					     WIFEXITED(status) && WEXITSTATUS(status) == 0);
	check("fshold.spawned-freed", free_blocks() >= empty);
}

static void renamed_over(void)
{
	check_eq("fshold.renamed-over-put", put("/r1", "first"), 5);
	int fd = open("/r1", O_RDONLY, 0);
	check("fshold.renamed-over-open", fd >= 0);
	long pid = fork();
	if (pid == 0)
		exit(put("/r2", "second") == 6 && rename("/r2", "/r1") == 0 ? 0 : 1);
	check_eq("fshold.renamed-over-child", pid > 0 ? wait(pid) : -1, 0);
	char buf[16] = { 0 };
	check_eq("fshold.renamed-over-read", read(fd, buf, sizeof(buf) - 1), 5);
	check("fshold.renamed-over-old", strcmp(buf, "first") == 0);
	check("fshold.renamed-over-new", holds("/r1", "second"));
	check_eq("fshold.renamed-over-close", close(fd), 0);
	check("fshold.renamed-over-after", holds("/r1", "second"));
}

#define ENFILE_OWN 40 /* files the parent holds; each fork child holds them too */
#define ENFILE_KIDS 5

static void enfile(void)
{
	int fds[ENFILE_OWN + 20], n = 0, go[2];
	char path[32];
	check_eq("fshold.enfile-mkdir", mkdir("/e", 0755), 0);
	for (int i = 0; i < ENFILE_OWN + 20; i++) {
		snprintf(path, sizeof(path), "/e/f%02d", i);
		if (put(path, "e") != 1)
			break;
		n++;
	}
	check_eq("fshold.enfile-files", n, ENFILE_OWN + 20);
	int opened = 0;
	for (int i = 0; i < ENFILE_OWN; i++) {
		snprintf(path, sizeof(path), "/e/f%02d", i);
		fds[i] = open(path, O_RDONLY, 0);
		opened += fds[i] >= 0;
	}
	check_eq("fshold.enfile-opened", opened, ENFILE_OWN);
	check_eq("fshold.enfile-pipe", pipe(go), 0);
	long kids[ENFILE_KIDS];
	for (int k = 0; k < ENFILE_KIDS; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			char c;
			close(go[1]);
			read(go[0], &c, 1); /* until the parent closes its end */
			exit(0);
		}
	}
	close(go[0]);
	/* each fork child holds the parent's 40 too: what is left is ours */
	int room = FS_SHARE_HOLDS - ENFILE_OWN * (1 + ENFILE_KIDS), more = 0;
	int r = 0;
	for (int i = ENFILE_OWN; i < ENFILE_OWN + 20; i++) {
		snprintf(path, sizeof(path), "/e/f%02d", i);
		if ((r = open(path, O_RDONLY, 0)) < 0)
			break;
		fds[i] = r;
		more++;
	}
	printf("fshold: %d more files opened beside %d holders of %d\n", more, ENFILE_KIDS + 1,
	       ENFILE_OWN);
	check_eq("fshold.enfile-room", more, room);
	check_eq("fshold.enfile", r, -ENFILE);
	check_eq("fshold.enfile-create", open("/e/new", O_RDWR | O_CREAT, 0644), -ENFILE);
	struct stat st;
	check_eq("fshold.enfile-nothing-made", stat("/e/new", &st), -ENOENT);
	/* a killed member's entries are free again */
	check_eq("fshold.enfile-kill", kill(kids[0], SIGKILL), 0);
	wait(kids[0]);
	r = open("/e/new", O_RDWR | O_CREAT, 0644);
	check("fshold.enfile-after-kill", r >= 0);
	if (r >= 0)
		close(r);
	close(go[1]);
	for (int k = 1; k < ENFILE_KIDS; k++)
		check_eq("fshold.enfile-kid", wait(kids[k]), 0);
	for (int i = 0; i < ENFILE_OWN + more; i++)
		close(fds[i]);
}

static void killed_holder(void)
{
	int ready[2], go[2];
	uint64_t empty = free_blocks();
	check_eq("fshold.killed-put", put_big("/k"), 0);
	check_eq("fshold.killed-pipes", pipe(ready) | pipe(go), 0);
	long pid = big_reader(-1, "/k", ready, go);
	char c = 0;
	check("fshold.killed-ready", read(ready[0], &c, 1) == 1 && c == 'r');
	check_eq("fshold.killed-unlink", unlink("/k"), 0);
	check("fshold.killed-kept", free_blocks() + BIG_BLOCKS <= empty);
	check_eq("fshold.killed-kill", kill(pid, SIGKILL), 0);
	wait(pid);
	/* no close ran in the child: the family's next turn frees it */
	check("fshold.killed-freed", free_blocks() >= empty);
	close(ready[0]), close(ready[1]), close(go[0]), close(go[1]);
}

/* The spawned child of dirfd_children: fd 3 is the directory. */
static int dirfd_spawned(void)
{
	int fd = openat(3, "three", O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || write(fd, "3", 1) != 1)
		return 1;
	close(fd);
	int err = 0;
	DIR *d = fdopendir(3, &err);
	if (!d)
		return 2;
	int names = 0;
	while (readdir(d))
		names++;
	closedir(d);
	return names == 5 ? 0 : 3; /* ".", "..", one, two, three */
}

/* A directory descriptor in a fork child and in a spawned child (this
 * program again), each making a file in it with openat and reading it with
 * fdopendir. */
static void dirfd_children(void)
{
	check_eq("fshold.dirfd-mkdir", mkdir("/dd", 0755) | mkdir("/dd/sub", 0755), 0);
	check_eq("fshold.dirfd-put", put("/dd/sub/one", "1"), 1);
	int dfd = open("/dd/sub", O_RDONLY | O_DIRECTORY, 0);
	check("fshold.dirfd-open", dfd >= 0);
	/* renamed after it was opened: the descriptor follows */
	check_eq("fshold.dirfd-rename", rename("/dd", "/dd2"), 0);
	long pid = fork();
	if (pid == 0) {
		int fd = openat(dfd, "two", O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || write(fd, "2", 1) != 1)
			exit(1);
		close(fd);
		int err = 0;
		DIR *d = fdopendir(dfd, &err);
		if (!d)
			exit(2);
		int names = 0;
		struct dirent *e;
		while ((e = readdir(d)))
			names++;
		closedir(d);
		exit(names == 4 ? 0 : 3); /* ".", "..", one, two */
	}
	check_eq("fshold.dirfd-fork-child", pid > 0 ? wait(pid) : -1, 0);
	check("fshold.dirfd-fork-made", holds("/dd2/sub/two", "2"));
	char *argv[] = { "test_fshold", "dirfd-child", NULL };
	int fdmap[] = { 0, 1, 2, dfd };
	pid = posix_spawn("test_fshold", argv, NULL, fdmap, 4);
	check("fshold.dirfd-spawn", pid > 0);
	int status = -1;
	check("fshold.dirfd-spawned-child", pid > 0 && waitpid(pid, &status, 0) == pid &&
						    WIFEXITED(status) && WEXITSTATUS(status) == 0);
	check("fshold.dirfd-spawn-made", holds("/dd2/sub/three", "3"));
	int fd = openat(dfd, "../top", O_WRONLY | O_CREAT, 0644);
	check("fshold.dirfd-dotdot", fd >= 0);
	if (fd >= 0)
		close(fd);
	struct stat st;
	check_eq("fshold.dirfd-dotdot-there", stat("/dd2/top", &st), 0);
	int err = 0;
	check("fshold.fdopendir-file", fdopendir(0, &err) == NULL && err == ENOTDIR);
	check("fshold.fdopendir-bad", fdopendir(99, &err) == NULL && err == EBADF);
	check_eq("fshold.openat-file-dirfd", openat(0, "x", O_RDONLY, 0), -ENOTDIR);
	check_eq("fshold.dirfd-close", close(dfd), 0);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "dirfd-child") == 0)
		return dirfd_spawned();
	struct disk_info di;
	if (sys_disk_info(&di) == -E_NOT_FOUND) {
		/* the guest suite runs every test without a disk */
		struct stat st;
		check_eq("fshold.nodisk", stat("/", &st), -ENOSYS);
		return test_finish();
	}
	check("fshold.disk-mounted", di.di_xn == XN_STATE_MOUNTED);
	batched();
	fork_and_exit();
	busy_holder();
	sleeping_holder();
	renamed_under_us();
	unlinked_by_child();
	child_holds(false);
	child_holds(true);
	spawned_holds();
	renamed_over();
	enfile();
	killed_holder();
	dirfd_children();
	int r = test_finish();
	printf("test_fshold: done\n");
	return r;
}
