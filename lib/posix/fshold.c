/*
 * Open-file holds for a process family (doc/fs.md, "Open files across a
 * family"): which members have which inodes open, in the second of the
 * family's file-tree pages (fsshare.c binds it with the first).
 *
 * Each member runs its own lib/fs instance; an instance that unlinks a
 * name (or renames over it) frees the inode unless it is open - and "open"
 * must mean open anywhere in the family, as POSIX's "until the last close"
 * does. So every member records here each inode it has open (file.c, when
 * it opens, imports, forks or passes a file), lib/fs asks (its held hook,
 * fsturn.c) before it frees a nameless inode, and an inode someone holds
 * stays an orphan (nlink 0, in the super's orphan list) until the last
 * holder's close frees it.
 *
 * The table: one entry per (inode, member), counting the member's open
 * files of it. Everything here runs in a turn (the family's lock), so no
 * atomics. A member killed without closing leaves entries naming a dead
 * env: they count for nothing and are reused; when one is found while an
 * orphan is kept (hd_kept), the next turn sweeps (fs_orphans_reclaim) so the
 * orphan it kept is freed without waiting for the next mount. With every
 * entry taken by live members, an open answers ENFILE.
 *
 * Hostile stance: as the turns' page, writable by every member; a member
 * can lie here (free an inode another has open: that one then answers
 * ESTALE, as before holds; or keep orphans until the next mount), never
 * reach another family's tree.
 */
#include <lib/posix/fsshare.h>

#include <lib/base/libos.h>
#include <lib/posix/handoff.h>

struct fs_hold {
	uint64_t ino;
	uint32_t env;   /* the member holding it */
	uint32_t count; /* its open files of ino; 0: entry free */
};

struct fs_holds {
	uint32_t hd_kept; /* an orphan was kept for a holder: sweep when one goes */
	uint32_t hd_reap; /* a holder died, or a hold went without a close: sweep */
	uint64_t hd_pad;
	struct fs_hold hd[FS_SHARE_HOLDS];
};
_Static_assert(sizeof(struct fs_holds) <= PAGE_SIZE, "one page");

static struct fs_holds *holds(void)
{
	return fs_share_ready() ? (struct fs_holds *)POSIX_FSHOLD_VA : NULL;
}

/* Is entry e of h in use by a live member? A dead member's is freed here,
 * and if an orphan was kept for someone, the next turn sweeps (whoever
 * finds the dead entry first: a sweep must not depend on who looks). */
static bool live(struct fs_holds *h, struct fs_hold *e)
{
	if (e->count == 0)
		return false;
	if (fs_share_alive((envid_t)e->env))
		return true;
	e->count = 0;
	if (h->hd_kept)
		h->hd_reap = 1;
	return false;
}

int fs_hold_take(uint64_t ino, envid_t env)
{
	struct fs_holds *h = holds();
	if (!h)
		return 0; /* no family page: no other member to tell */
	struct fs_hold *free = NULL;
	for (int i = 0; i < FS_SHARE_HOLDS; i++) {
		struct fs_hold *e = &h->hd[i];
		if (!live(h, e)) {
			if (!free)
				free = e;
		} else if (e->ino == ino && e->env == (uint32_t)env) {
			e->count++;
			return 0;
		}
	}
	if (!free)
		return -ENFILE;
	*free = (struct fs_hold){ ino, (uint32_t)env, 1 };
	return 0;
}

void fs_hold_drop(uint64_t ino, envid_t env, bool sweep)
{
	struct fs_holds *h = holds();
	if (!h)
		return;
	for (int i = 0; i < FS_SHARE_HOLDS; i++) {
		struct fs_hold *e = &h->hd[i];
		if (e->count && e->ino == ino && e->env == (uint32_t)env) {
			e->count--;
			break;
		}
	}
	if (sweep && h->hd_kept)
		h->hd_reap = 1;
}

bool fs_hold_room(void)
{
	struct fs_holds *h = holds();
	for (int i = 0; h && i < FS_SHARE_HOLDS; i++)
		if (!live(h, &h->hd[i]))
			return true;
	return !h;
}

bool fs_hold_held(uint64_t ino)
{
	struct fs_holds *h = holds();
	for (int i = 0; h && i < FS_SHARE_HOLDS; i++)
		if (h->hd[i].ino == ino && live(h, &h->hd[i])) {
			h->hd_kept = 1;
			return true;
		}
	return false;
}

bool fs_hold_sweep_due(void)
{
	struct fs_holds *h = holds();
	if (!h || !h->hd_kept)
		return false; /* no orphan kept for anyone: nothing to look for */
	for (int i = 0; i < FS_SHARE_HOLDS; i++)
		live(h, &h->hd[i]); /* a dead holder's entry sets hd_reap */
	bool due = h->hd_reap;
	h->hd_reap = 0;
	return due;
}

void fs_hold_swept(int left)
{
	struct fs_holds *h = holds();
	if (h && left == 0)
		h->hd_kept = 0; /* an error (< 0) keeps it: the next death sweeps again */
}
