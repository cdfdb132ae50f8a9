/*
 * The read-only pages of programs loaded from the file system, kept by the
 * spawner and bound into each child that runs the same file, as the
 * kernel's loader keeps boot-image pages (kern/env/loader.c): nothing to
 * read or copy the next time, and code that stays at the same physical
 * address, so an emulator (QEMU's TCG) keeps its translation of it instead
 * of translating the program afresh for every child.
 *
 * Interface (exec.h): exec_cache_page gives the page of a file at a virtual
 * address, filling a new one through a callback on a miss; exec_cache_drop
 * lets them all go.
 *
 * Ownership: the pages are this env's, bound nowhere in it, read-only in
 * children. When this env ends they pass to a child that still binds them,
 * or are freed. A file is known by its inode, size and modification time:
 * a program written again (a new mtime) gets new pages; the old ones go
 * when the last child binding them does. A forked child inherits the table
 * but not the pages' guard, so the table is forgotten (not freed) when the
 * env reading it is not the one that filled it.
 *
 * Bounds: EXEC_CACHE_PAGES entries, filled to three quarters; past that a
 * loader makes private copies, as for writable segments.
 */
#include <lib/base/libos.h>
#include <lib/posix/exec.h>
#include <lib/posix/handoff.h>
#include <lib/posix/posix.h>

#define EXEC_CACHE_PAGES 1024 /* a power of two: 3 MiB of program text in use at most */
#define EXEC_CACHE_FILL_VA (POSIX_EXEC_VA + (1UL << 30)) /* a page to fill one in */

static struct cache_ent {
	uint64_t ino, size, va, ppn;
	int64_t mtime_s, mtime_ns;
} ent[EXEC_CACHE_PAGES];
static unsigned nent;
static envid_t filled_by;

static bool same_file(const struct cache_ent *e, const struct stat *st)
{
	return e->ino == st->st_ino && e->size == (uint64_t)st->st_size &&
	       e->mtime_s == st->st_mtim.tv_sec && e->mtime_ns == st->st_mtim.tv_nsec;
}

void exec_cache_drop(void)
{
	for (unsigned i = 0; i < EXEC_CACHE_PAGES; i++)
		if (ent[i].ppn && filled_by == thisenv_id)
			sys_page_free(ent[i].ppn, CAP_SELF);
	memset(ent, 0, sizeof(ent));
	nent = 0;
}

long exec_cache_page(const struct stat *st, uint64_t va, exec_fill_fn *fill, void *arg)
{
	if (filled_by != thisenv_id) {
		memset(ent, 0, sizeof(ent)); /* a forked copy: the pages are not ours */
		nent = 0;
		filled_by = thisenv_id;
	}
	unsigned h =
		(unsigned)((st->st_ino * 0x9e3779b97f4a7c15UL) ^ (va >> PAGE_SHIFT)) * 2654435761u;
	struct cache_ent *slot = NULL;
	for (unsigned i = 0; i < EXEC_CACHE_PAGES; i++) {
		struct cache_ent *e = &ent[(h + i) & (EXEC_CACHE_PAGES - 1)];
		if (!e->ppn) {
			slot = e;
			break;
		}
		if (e->ino == st->st_ino && e->va == va) {
			if (same_file(e, st))
				return (long)e->ppn;
			/* the file was written again: this page is old */
			sys_page_free(e->ppn, CAP_SELF);
			nent--;
			slot = e;
			break;
		}
	}
	if (!slot || nent >= EXEC_CACHE_PAGES * 3 / 4)
		return -ENOMEM;
	long ppn = sys_page_alloc(PPN_ANY, CAP_SELF);
	if (ppn < 0)
		return -ENOMEM;
	long r = sys_page_bind(0, EXEC_CACHE_FILL_VA, (uint64_t)ppn, BIND_READ | BIND_WRITE,
			       CAP_SELF);
	if (r == 0)
		r = fill((uint8_t *)EXEC_CACHE_FILL_VA, arg);
	sys_page_unbind(0, EXEC_CACHE_FILL_VA, CAP_SELF);
	if (r < 0) {
		sys_page_free((uint64_t)ppn, CAP_SELF);
		return r;
	}
	*slot = (struct cache_ent){ st->st_ino,    (uint64_t)st->st_size, va,
				    (uint64_t)ppn, st->st_mtim.tv_sec,    st->st_mtim.tv_nsec };
	nent++;
	return ppn;
}
