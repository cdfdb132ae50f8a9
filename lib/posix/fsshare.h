/*
 * One file tree shared by a process family (fsshare.c): the key a parent
 * grants its children and the turns members take at the tree.
 */
#ifndef EXO_LIB_POSIX_FSSHARE_H
#define EXO_LIB_POSIX_FSSHARE_H

#include <lib/posix/posix.h>

#define FS_SHARE_ROOT "cffs" /* XN's name of lib/fs's tree (lib/fs/fs.c) */

/* Start a turn: waits for the family's lock. *changed: another member
 * changed the tree since our last turn (drop private copies). 0 or -ENOMEM. */
int fs_share_lock(bool *changed);
/* End the turn; changed: this turn changed the tree (and committed). */
void fs_share_unlock(bool changed);
/* Does another member wait for the lock? */
bool fs_share_wanted(void);
/* The key slot to mount with: a granted tree key, or CAP_SELF. */
uint64_t fs_share_key(void);
/* Has a member mounted already (so the journal is replayed and clean)? */
bool fs_share_joining(void);
/* We mounted: later members join. Call in a turn. */
void fs_share_mounted(void);
/* spawn: bind the page in child and grant it a tree key (*key its slot,
 * -1 if we have none to give). 0 or -errno. */
int fs_share_export(envid_t child, int32_t *key, uint32_t *shared);
/* execve in place: what our own hand-off says for the new program (its
 * key stays in our ring; the caller keeps the page at POSIX_FSSHARE_VA
 * bound when *shared). */
void fs_share_keep(int32_t *key, uint32_t *shared);
/* start-up of a spawned child: what the hand-off says. */
void fs_share_import(int32_t key, uint32_t shared);

/* fork: grant child our tree key (parent, before it starts), and move it
 * to the slot our copied state expects (child, first thing). */
void fs_share_fork(envid_t child);
void fs_share_after_fork(void);
/* Offsets shared by the members holding one open file, called in a turn:
 * a new slot holding pos with one reference (or -1: none free), the
 * offset's address (NULL: no such slot), another reference, one less. */
#define FS_SHARE_OFFSETS 200 /* fills the page */
int fs_share_offset_new(uint64_t pos);
uint64_t *fs_share_offset(int slot);
void fs_share_offset_hold(int slot);
void fs_share_offset_put(int slot);

/* Inodes moved by renames, so members with the file open follow it
 * (lib/fs's fs_on_move / fs_relocate), read and written in turns: record
 * one; the ones since *seen (advanced) into out[FS_SHARE_MOVES], their
 * count, or -1 if more than FS_SHARE_MOVES came since (the caller then
 * revalidates its open files instead); the count so far. */
#define FS_SHARE_MOVES 48
struct fs_share_move {
	uint64_t ino;
	uint32_t home, ioff;
};
void fs_share_moved(uint64_t ino, uint32_t home, uint32_t ioff);
int fs_share_moves_since(uint64_t *seen, const struct fs_share_move **out);
uint64_t fs_share_moves_now(void);
/* Is env a live member (not gone, not a zombie)? */
bool fs_share_alive(envid_t env);
/* Are the family's pages ours yet (made, or handed to us)? */
bool fs_share_ready(void);

/* Open-file holds (fshold.c), read and written in turns: which members
 * have which inodes open, so an inode unlinked or renamed over while a
 * member has it open stays (an orphan) until the family's last close
 * (doc/fs.md, "Open files across a family"). One entry per inode and
 * member, counting that member's open files of it; a dead member's
 * entries count for nothing and are reused. */
#define FS_SHARE_HOLDS 255 /* fills the page: the family's open files (ENFILE) */
/* env has one more file of ino open: 0, or -ENFILE with the table full. */
int fs_hold_take(uint64_t ino, envid_t env);
/* One less; sweep: this drop did not go with a close that could free the
 * inode (the tree unmounted, a passed file not imported), so the next
 * turn looks for orphans nobody holds. */
void fs_hold_drop(uint64_t ino, envid_t env, bool sweep);
/* Is there room for a new entry? */
bool fs_hold_room(void);
/* Does a live member hold ino? (lib/fs's held hook; a yes is remembered:
 * an orphan was kept, so a holder's death calls for a sweep.) */
bool fs_hold_held(uint64_t ino);
/* At a turn's start: should this turn free orphans nobody holds (a holder
 * died, or a hold went without a close)? Then fs_hold_swept(how many
 * orphans are left) after fs_orphans_reclaim. */
bool fs_hold_sweep_due(void);
void fs_hold_swept(int left);

/* file.c: commit what a held turn changed and give the tree back to the
 * family (doc/fs.md, "Holding the tree"); nothing if we do not hold it.
 * Called before this env may block or make a child. */
void posix_fs_let_go(void);
/* fsturn.c: before fork copies us, let go and leave no device request in
 * flight (fork.c). */
void posix_fs_before_fork(void);
/* file.c: execve, before the old program's files vanish: their holds go
 * (the new program's were taken when they were exported). */
void posix_file_holds_drop(void);
/* file.c: lets spawn's hand-off import FILE_KIND_FILE descriptors. */
void posix_file_kind_register(void);

#endif
