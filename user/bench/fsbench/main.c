/*
 * fsbench [NFILES [BIG_MIB [CHUNK_KIB]]]: Exo's side of the file-system rows
 * of `make bench-fs` (tools/bench-fs boots it as the first env, with DISK=
 * a fresh image made by tools/fs/mkfs.c, so it holds the key that dominates the
 * tree). The work is fswork.c's, shared with the Linux guest's lbench; this
 * file supplies its hooks over lib/posix (lib/fs on XN), then prints
 *   BENCH <row> <cycles per operation> <cycles for the pass> <operations>
 *   FSIO <row> reads <n> writes <n> flushes <n> checked <n> udf <n>
 * (the disk's own counters; checked: metadata updates XN's UDFs checked)
 * for each row and "BENCH done tsc_hz N". Defaults: 10,000 files, 64 MiB,
 * 1,024 KiB per write and read. Then it checks what the run left: lib/fs's
 * fsck in the guest (the host's tools/fsck knows only lib/fs's trees, and
 * this disk holds the evictor's too), no file left, and XN's free count
 * back where it was before the run but for the evictor's blocks; it prints
 * "FSCK clean" or what is wrong.
 *
 * Dropping the caches (before each read pass) is:
 *  - lib/fs's: sync, then posix_fs_unmount, which frees every copy of a
 *    metadata block, the data cache and the free map, and posix_fs_mount
 *    again (it reads the super block back, as Linux keeps its own across
 *    drop_caches);
 *  - the kernel's registry (UBCACHE: metadata blocks, and data blocks that
 *    envs registered): it has no "drop" call, and evicts clean entries
 *    when it is full, so after disk_flush (everything clean) we bind more
 *    metadata blocks of our own than it has entries - leaves of a tree of
 *    XN "table" blocks (user/bpf/xn_table_udf.c) made at start-up, apart
 *    from the file system's tree - and then check that every entry the
 *    registry holds is one of those. If one of the file system's blocks is
 *    still there, the run fails rather than report a warm pass as cold.
 * The next pass then reads every block it needs from the disk, as Linux's
 * does after `sync; echo 3 > /proc/sys/vm/drop_caches`.
 */
#include <inc/disk.h>
#include <inc/memlayout.h>
#include <lib/base/libos.h>
#include <lib/base/vm.h>
#include <lib/posix/fsshare.h>
#include <lib/posix/posix.h>
#include "../../test/xnudf.h"
#include "fsbench.h"
#include "fswork.h"

extern const uint8_t bpfobj_xn_table_udf[], bpfobj_xn_table_udf_end[];

#define EVICT_MIDS 8
#define EVICT_PER_MID 150 /* leaves per middle table: 1200 > BC_ENTRIES */
#define EVICT_LEAVES (EVICT_MIDS * EVICT_PER_MID)
#define CHUNK_MAX (1024 * 1024)

_Static_assert(EVICT_LEAVES > BC_ENTRIES + 16, "the evictor must outnumber the registry");

static uint8_t big[CHUNK_MAX] __attribute__((aligned(PAGE_SIZE)));
static uint64_t evict_block[EVICT_MIDS + 1 + EVICT_LEAVES]; /* root, mids, leaves */
static uint8_t *bind_va;
static uint8_t free_map[XN_MAX_BLOCKS / 8];

_Noreturn void fsw_fail(const char *what, const char *path, long err)
{
	printf("fsbench: %s %s: errno %ld\n", what, path, -err);
	sys_env_exit(1);
	for (;;)
		;
}

/* --- the evictor: our own XN tree of table blocks ------------------------------- */

/* Parent table block `parent` claims new table block b as its entry i. */
static void table_add(uint64_t parent, unsigned i, uint64_t b, uint64_t type)
{
	struct xn_extent x = { b, 1, (uint32_t)type };
	uint32_t count = i + 1;
	struct xn_write w[2] = { { (uint32_t)(16 + i * sizeof(x)), sizeof(x), (uint64_t)&x },
				 { 0, 4, (uint64_t)&count } };
	struct xn_update u = { parent, XN_OP_ALLOC, 2, x, w };
	long r = sys_xn_update(&u, CAP_SELF);
	if (r < 0)
		fsw_fail("the evictor's table block", "(xn_update)", -errno_from_exo(r));
}

static void evictor_make(void)
{
	struct bpf_load_error err;
	struct xn_root_info root;
	struct disk_info di;
	long type = xnudf_register("fsbench-table", bpfobj_xn_table_udf, bpfobj_xn_table_udf_end,
				   NULL, &err);
	long r = type;
	if (type < 0 || (r = sys_xn_root_create("fsbench-evict", (uint64_t)type, CAP_SELF)) < 0 ||
	    (r = sys_xn_root_lookup("fsbench-evict", &root)) < 0 || (r = sys_disk_info(&di)) < 0 ||
	    (r = sys_xn_free_map(0, di.di_xn_blocks, free_map)) < 0)
		fsw_fail("the evictor's tree", "(xn)", -errno_from_exo(r));
	/* the highest free blocks, away from where lib/fs allocates */
	unsigned n = 0;
	evict_block[n++] = root.ri_block;
	for (uint64_t b = di.di_xn_blocks; b-- > 0 && n < EVICT_MIDS + 1 + EVICT_LEAVES;)
		if (free_map[b / 8] & (1u << (b % 8)))
			evict_block[n++] = b;
	if (n < EVICT_MIDS + 1 + EVICT_LEAVES)
		fsw_fail("the evictor's tree", "(too few free blocks)", -ENOSPC);
	for (unsigned m = 0; m < EVICT_MIDS; m++)
		table_add(root.ri_block, m, evict_block[1 + m], (uint64_t)type);
	for (unsigned l = 0; l < EVICT_LEAVES; l++)
		table_add(evict_block[1 + l / EVICT_PER_MID], l % EVICT_PER_MID,
			  evict_block[1 + EVICT_MIDS + l], (uint64_t)type);
	if ((r = sys_disk_flush()) < 0)
		fsw_fail("the evictor's tree", "(disk_flush)", -errno_from_exo(r));
	if (!(bind_va = vm_alloc(PAGE_SIZE)))
		fsw_fail("the evictor's page", "", -ENOMEM);
}

static bool is_evictor(uint64_t b)
{
	for (unsigned i = 0; i < EVICT_MIDS + 1 + EVICT_LEAVES; i++)
		if (evict_block[i] == b)
			return true;
	return false;
}

/* Fill the kernel's registry with the evictor's leaves; -errno, or the
 * number of entries that still hold anything else. */
static long evict_registry(void)
{
	long r = sys_disk_flush(); /* dirty entries are never evicted */
	if (r < 0)
		return -errno_from_exo(r);
	for (unsigned l = 0; l < EVICT_LEAVES; l++) {
		r = sys_disk_bind(evict_block[1 + EVICT_MIDS + l], (uint64_t)bind_va, CAP_SELF);
		if (r < 0)
			return -errno_from_exo(r);
		sys_page_unbind(0, (uint64_t)bind_va, 0);
	}
	const volatile struct bc_entry *reg = (const volatile struct bc_entry *)UBCACHE;
	long others = 0;
	for (unsigned i = 0; i < BC_ENTRIES; i++)
		if (reg[i].be_state && !is_evictor(reg[i].be_block))
			others++;
	return others;
}

/* --- the hooks --------------------------------------------------------------------- */

int fsw_create(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
}

int fsw_open_read(const char *path)
{
	return open(path, O_RDONLY, 0);
}

long fsw_write(int fd, const void *buf, uint64_t n)
{
	return write(fd, buf, n);
}

long fsw_read(int fd, void *buf, uint64_t n)
{
	return read(fd, buf, n);
}

int fsw_close(int fd)
{
	return close(fd);
}

int fsw_fsync(int fd)
{
	return fsync(fd);
}

int fsw_sync(void)
{
	return sync();
}

long fsw_stat_size(const char *path)
{
	struct stat st;
	int r = stat(path, &st);
	return r < 0 ? r : (long)st.st_size;
}

int fsw_unlink(const char *path)
{
	return unlink(path);
}

int fsw_mkdir(const char *path)
{
	return mkdir(path, 0755);
}

int fsw_rmdir(const char *path)
{
	return rmdir(path);
}

int fsw_drop_caches(void)
{
	int r = sync();
	if (r < 0 || (r = posix_fs_unmount()) < 0 || (r = posix_fs_mount(fs_share_key())) < 0)
		return r;
	long left = evict_registry();
	if (left < 0)
		return (int)left;
	if (left > 0) {
		printf("fsbench: %ld blocks not ours are still in the kernel's registry\n", left);
		return -EBUSY;
	}
	return 0;
}

void fsw_counts(struct fsw_counts *out)
{
	struct disk_info di;
	if (sys_disk_info(&di) < 0)
		fsw_fail("disk_info", "", -EIO);
	*out = (struct fsw_counts){ di.di_reads, di.di_writes,     di.di_flushes,
				    0,           di.di_xn_checked, di.di_xn_udf_runs };
}

uint64_t fsw_clock(void)
{
	return rdtsc();
}

void fsw_report(const char *row, uint64_t cycles, uint64_t ops, const struct fsw_counts *io)
{
	printf("BENCH %s %lu %lu %lu\n", row, cycles / ops, cycles, ops);
	printf("FSIO %s reads %lu writes %lu flushes %lu checked %lu udf %lu\n", row, io->reads,
	       io->writes, io->flushes, io->checked, io->udf_runs);
}

static uint64_t xn_free(void)
{
	struct disk_info di;
	long r = sys_disk_flush(); /* frees count once their release is on disk */
	if (r < 0 || (r = sys_disk_info(&di)) < 0)
		fsw_fail("disk_flush / disk_info", "", -errno_from_exo(r));
	return di.di_xn_free;
}

/* After the run: the tree is whole and holds nothing, and every block the
 * run took is free again. */
static void check_after(uint64_t free_before)
{
	char msg[200];
	uint64_t files, dirs, key = fs_share_key();
	int r = posix_fs_unmount();
	if (r < 0)
		fsw_fail("unmounting for fsck", "", r);
	r = fsbench_fsck(key, &files, &dirs, msg, sizeof(msg));
	uint64_t free_after = xn_free();
	if (r != 0)
		printf("FSCK damaged: %s (%d)\n", msg, r);
	else if (files != 0 || dirs != 1)
		printf("FSCK damaged: %lu files and %lu directories left, not 0 and 1\n", files,
		       dirs);
	else if (free_after != free_before - (EVICT_MIDS + 1 + EVICT_LEAVES))
		printf("FSCK damaged: %lu blocks free, %lu before the run less %u of the evictor\n",
		       free_after, free_before, EVICT_MIDS + 1 + EVICT_LEAVES);
	else
		printf("FSCK clean\n");
}

int main(int argc, char **argv)
{
	long nfiles = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
	long mib = argc > 2 ? strtol(argv[2], NULL, 10) : 64;
	long chunk_kib = argc > 3 ? strtol(argv[3], NULL, 10) : 1024;
	if (nfiles < 1 || nfiles > FSW_FILES_MAX || mib < 1 || mib > 1024 || chunk_kib < 4 ||
	    chunk_kib * 1024 > CHUNK_MAX) {
		printf("usage: fsbench [NFILES (1-%d) [BIG_MIB (1-1024) [CHUNK_KIB (4-%d)]]]\n",
		       FSW_FILES_MAX, CHUNK_MAX / 1024);
		return 2;
	}
	struct disk_info di;
	struct xn_root_info ri;
	if (sys_disk_info(&di) < 0 || di.di_xn != XN_STATE_MOUNTED ||
	    sys_xn_root_lookup(FS_SHARE_ROOT, &ri) < 0)
		fsw_fail("no file system", "(boot with DISK= an image made by build/tools/mkfs)",
			 -ENODEV);
	uint64_t free_before = xn_free();
	evictor_make();
	fsw_run("/fsb", (unsigned)nfiles, (unsigned)mib, big, (uint64_t)chunk_kib * 1024);
	printf("BENCH done tsc_hz %lu\n", ukinfo->ki_tsc_hz);
	check_after(free_before);
	return 0;
}
