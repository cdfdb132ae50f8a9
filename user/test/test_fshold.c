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
 *   fshold.removed-stale   the same file removed by a child: the parent's
 *                          calls on it answer ESTALE and harm nothing
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
#include <lib/posix/proc.h>
#include <common/string.h>

#define BATCH_FILES 200
static char block[4096];

static long put(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fd;
	long w = write(fd, s, strlen(s));
	int c = close(fd);
	return w < 0 ? w : c < 0 ? c : w;
}

/* Is path's content exactly s? */
static bool holds(const char *path, const char *s)
{
	char buf[64];
	int fd = open(path, O_RDONLY, 0);
	if (fd < 0)
		return false;
	long n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return n >= 0 && strcmp(buf, s) == 0;
}

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
	check_eq("fshold.removed-stale", write(fd, "9", 1), -ESTALE);
	check_eq("fshold.removed-close", close(fd), 0);
	check("fshold.removed-harms-nothing", holds("/mv2/c", "third"));
}

int main(void)
{
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
	int r = test_finish();
	printf("test_fshold: done\n");
	return r;
}
