/*
 * Turns at the file tree for lib/posix's files (file.c): mounting lib/fs
 * over fsdev_xn on first use, each operation's turn at the family's tree
 * (fsshare.c), holding the tree across turns that changed it, following
 * other members' renames, and unmounting at exit (doc/fs.md, "Files for
 * programs" and "Holding the tree").
 *
 * The tree is mounted on first use, not at start-up: most programs never
 * touch a file. Every member of a process family runs its own lib/fs
 * instance on the same tree, and each operation is one turn at it: the turn
 * starts by dropping our copies if another member changed the tree since
 * our last turn (and following the inodes its renames moved). A turn that
 * changed the tree keeps the family's lock when it ends (below), and lib/fs's
 * transaction is committed when we let go of it. The mount uses the key our
 * parent granted us for the tree, or this env's own key (CAP_SELF: the first
 * env's dominates the tree's guard); posix_fs_mount lets a program choose
 * another key, and posix_fs_unmount gives the tree up (syncing).
 *
 * Ownership: the struct fs and the device are this env's; the lock and the
 * move log are the family's (fsshare.c).
 */
#include <lib/posix/fsturn.h>

#include <inc/disk.h>
#include <lib/base/libos.h>
#include <lib/fs/fsdev_xn.h>
#include <lib/posix/fsshare.h>
#include <common/string.h>

static struct fsdev dev;
static struct fs *mounted;
static bool dev_open;
static bool exit_hooked;
static void (*next_exit_hook)(void);
static void fs_at_exit(void);

static uint64_t moves_seen; /* the family's renames we have followed */

/* lib/fs's rename moved an inode: tell the family. */
static void moved(void *ctx, uint64_t ino, uint32_t home, uint32_t ioff)
{
	(void)ctx;
	fs_share_moved(ino, home, ioff);
}

/* Another member changed the tree: follow the inodes its renames moved,
 * then mark any open file still not where we think stale (-ESTALE: the
 * file was removed, or more renames came than the family's page keeps). */
static void follow_moves(void)
{
	const struct fs_share_move *m[FS_SHARE_MOVES];
	int n = fs_share_moves_since(&moves_seen, m);
	for (int i = 0; i < n; i++)
		fs_relocate(mounted, m[i]->ino, m[i]->home, m[i]->ioff);
	fs_revalidate(mounted);
}

/* lib/fs's held hook: another member has the inode open (fshold.c). Asked
 * at our own last close too, after file.c dropped our hold. */
static bool family_holds(void *ctx, uint64_t ino)
{
	(void)ctx;
	return fs_hold_held(ino);
}

/* Mounts with key cap, in a turn: the family's first mount replays the
 * journal, later ones join. */
static int mount_in_turn(uint64_t cap)
{
	if (!dev_open) {
		int r = fsdev_xn_open(&dev, cap);
		if (r < 0)
			return r;
		dev.held = family_holds;
		dev_open = true;
	}
	int r = fs_share_joining() ? fs_join(&mounted, &dev) : fs_mount(&mounted, &dev);
	if (r == 0) {
		fs_share_mounted();
		fs_on_move(mounted, moved, NULL);
		moves_seen = fs_share_moves_now();
		if (!exit_hooked) {
			/* here, not at start-up: after every start-up hook has set its own */
			next_exit_hook = libos_exit_hook;
			libos_exit_hook = fs_at_exit;
			libos_block_hook = posix_fs_let_go;
			exit_hooked = true;
		}
	} else {
		fsdev_xn_close(&dev);
		dev_open = false;
		mounted = NULL;
	}
	return r;
}

/* What our device did: a turn that moved it changed the tree. */
static uint64_t activity(void)
{
	if (!dev_open)
		return 0;
	const struct fsdev_xn_stats *st = fsdev_xn_stats(&dev);
	return st->updates + st->moves + st->data_writes;
}

static uint64_t turn_start_activity;

/*
 * Holding the tree. A turn that changed the tree does not commit when it
 * ends: this env keeps the family's lock with lib/fs's transaction running,
 * and its next operations go on without a commit each (lib/fs commits by
 * itself when the transaction nears the journal's size). It commits and
 * lets go when another member waits for the tree (looked at as each of its
 * turns starts and ends), before it may block or make a child
 * (posix_fs_let_go), at fsync, sync and exit, and HOLD_SECONDS after the
 * hold began, so a power cut loses at most that much of what was not
 * fsync'd (ext4 commits every 5 s too). A member that holds the tree and
 * then computes without calling the library OS keeps the others waiting
 * until it does: the family's members trust each other (fsshare.c).
 */
#define HOLD_SECONDS 5
static bool held;          /* we keep the lock between turns */
static bool in_turn;       /* between turn_begin and turn_end */
static uint64_t held_tick; /* ki_ticks when the hold began */

static bool hold_over(void)
{
	return fs_share_wanted() ||
	       ukinfo->ki_ticks - held_tick >= (uint64_t)HOLD_SECONDS * ukinfo->ki_tick_hz;
}

/* A commit that failed where no caller could be told (before a block or a
 * fork, or a hold that ran out as a turn began): the next fsync or sync
 * reports it, as Linux reports a failed write-back once, at fsync. What
 * that commit wrote may be lost (a data write the device failed). */
static int unreported;

/* Commit what the hold changed and give the lock back: 0 or -errno (the
 * lock is given back either way; lib/fs keeps the uncommitted transaction
 * for the next commit). */
static int let_go(void)
{
	held = false;
	int r = fs_txn_pending(mounted) ? fs_sync(mounted) : 0;
	fs_share_unlock(true);
	return r;
}

static void let_go_untold(void)
{
	int r = let_go();
	if (r < 0 && !unreported)
		unreported = r;
}

/* Also libos_block_hook (lib/base/syscall.h): before this env sleeps or
 * makes a child, outside a turn (a turn's own waits are for the disk). */
void posix_fs_let_go(void)
{
	if (held && !in_turn)
		let_go_untold();
}

void posix_fs_before_fork(void)
{
	posix_fs_let_go();
	/* lib/fs's commit leaves its header's clearing in flight, and the
	 * device may be reading ahead: the child's copy of our device must not
	 * hold our requests */
	if (dev_open)
		fsdev_xn_drain(&dev);
}

/* Orphans kept for a member that has since died or let go without a
 * close are freed by the next turn of anyone (fshold.c); in the turn, after
 * its start was counted, so the turn counts as one that changed the tree. */
static void sweep_orphans(void)
{
	if (fs_hold_sweep_due())
		fs_hold_swept(fs_orphans_reclaim(mounted));
}

/* Start a turn at the tree, mounting it if need be (with the key our parent
 * gave us, or our own): 0 and *out, or -errno (-ENOSYS: no disk). */
int fs_turn_begin(struct fs **out)
{
	if (held && hold_over())
		let_go_untold();
	if (held) {
		turn_start_activity = activity();
		in_turn = true;
		sweep_orphans();
		*out = mounted;
		return 0;
	}
	bool changed, replayed = false;
	int r = fs_share_lock(&changed);
	if (r < 0)
		return r;
	if (!mounted) {
		replayed = !fs_share_joining();
		r = mount_in_turn(fs_share_key());
		if (r < 0) {
			fs_share_unlock(false);
			return r == -ENODEV ? -ENOSYS : r; /* no disk: no file system */
		}
	} else if (changed) {
		if ((r = fsdev_xn_forget(&dev)) < 0) {
			fs_share_unlock(false);
			return r;
		}
		follow_moves();
	}
	/* the family's first mount may have replayed and reclaimed: say so */
	turn_start_activity = replayed ? UINT64_MAX : activity();
	in_turn = true;
	sweep_orphans();
	*out = mounted;
	return 0;
}

/* End the turn, keeping the tree if it changed (above); r is the
 * operation's result. commit: the operation asked for it (sync). */
static long turn_end(long r, bool commit)
{
	in_turn = false;
	/* lib/fs holds claim-neutral writes back (meta.c): a turn made of them
	 * moved no device counter but left a transaction running */
	if (!held && (activity() != turn_start_activity || fs_txn_pending(mounted))) {
		held = true;
		held_tick = ukinfo->ki_ticks;
	}
	if (!held) {
		fs_share_unlock(false);
		return r;
	}
	if (commit || hold_over()) {
		int c = let_go();
		if (c < 0 && r >= 0)
			r = c;
	}
	return r;
}

long fs_turn_end_as(long r, bool commit)
{
	r = turn_end(r, commit);
	if (commit && unreported) {
		if (r >= 0)
			r = unreported;
		unreported = 0;
	}
	return r;
}

long fs_turn_end(long r)
{
	return fs_turn_end_as(r, false);
}

bool fs_turn_mounted(void)
{
	return mounted != NULL;
}

int posix_fs_mount(uint64_t cap)
{
	if (mounted)
		return -EBUSY;
	bool changed;
	int r = fs_share_lock(&changed);
	if (r < 0)
		return r;
	r = mount_in_turn(cap);
	fs_share_unlock(r == 0);
	return r;
}

int posix_fs_unmount(void)
{
	if (!mounted)
		return -EINVAL;
	bool changed = false;
	int r = held ? 0 : fs_share_lock(&changed);
	if (r < 0)
		return r;
	if (changed)
		fsdev_xn_forget(&dev);
	uint64_t before = held ? UINT64_MAX : activity(); /* a hold changed it */
	held = false;
	r = fs_unmount(mounted); /* closing what is open may reclaim orphans */
	mounted = NULL;
	changed = activity() != before;
	int c = fsdev_xn_close(&dev);
	dev_open = false;
	fs_share_unlock(changed);
	return r < 0 ? r : c;
}

/* Written-back at exit, so what a program wrote is on the disk when its
 * parent sees it end. */
static void fs_at_exit(void)
{
	/* our files first, each in a turn: a passed file's shared offset
	 * counts us until we close it (the later hooks find them closed) */
	fd_close_at_exit();
	if (mounted)
		posix_fs_unmount();
	if (next_exit_hook)
		next_exit_hook();
}
