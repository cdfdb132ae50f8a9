/*
 * Power cuts of lib/fs on the real disk (tools/fscrashtest boots this again
 * and again, killing QEMU at a random moment):
 *
 *   fscrash SEED BOOT DURABLE [check]
 *
 * Boot 1 formats XN and the file system. Every later boot first checks
 * what the killed one left: the file system mounts (replaying its
 * journal), fsck finds nothing, and the files of the last boot's directory
 * /wBOOT-1 are exactly the model's state after some step at or past
 * DURABLE, the last step the killed boot reported durable (an fsync had
 * returned): so every fsync'd file has its content and every rename is all
 * or nothing. Then it prints "fscrash: checked", removes that directory and
 * runs its own workload in /wBOOT until it is killed: a file "t" created,
 * written (1 to 20,000 bytes), fsync'd and renamed over one of eight names,
 * or one of those unlinked, with "fscrash: durable S" after every fsync.
 *
 * Steps are generated from (SEED, BOOT), so the checker replays the
 * model without anything stored on disk.
 */
#include <inc/disk.h>
#include <lib/base/libos.h>
#include <lib/base/test.h>
#include <lib/fs/errno.h>
#include <lib/fs/fs.h>
#include <lib/fs/fsdev_xn.h>

#define NAMES 9       /* f0..f7 and t */
#define T_NAME 8
#define MAX_LEN 20000
#define MAX_STEPS 100000

struct file_state {
	bool exists;
	uint32_t len;
	uint64_t id; /* content generator: the step that wrote it */
};

static struct fsdev dev;
static struct fs *fs;
static uint8_t buf[MAX_LEN], buf2[MAX_LEN];

static void content(uint8_t *p, uint32_t len, uint64_t id)
{
	uint64_t s = id * 0x9e3779b97f4a7c15ULL + 7;
	for (uint32_t i = 0; i < len; i++) {
		if (!(i & 7))
			s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		p[i] = (uint8_t)(s >> ((i & 7) * 8));
	}
}

static uint64_t hash_bytes(const uint8_t *p, uint32_t len)
{
	uint64_t h = 14695981039346656037ULL;
	for (uint32_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

/* The step generator: what step s of boot b does. */
struct step {
	enum { S_CREATE, S_WRITE, S_FSYNC, S_RENAME, S_UNLINK } kind;
	int name;     /* S_RENAME: the target; S_UNLINK: the victim */
	uint32_t len; /* S_WRITE */
};

struct gen {
	uint64_t rng;
	int phase; /* of the create-write-fsync-rename cycle */
	int target;
};

static uint64_t gen_rnd(struct gen *g)
{
	g->rng ^= g->rng << 13, g->rng ^= g->rng >> 7, g->rng ^= g->rng << 17;
	return g->rng;
}

static struct step gen_next(struct gen *g)
{
	if (g->phase == 0 && gen_rnd(g) % 6 == 0)
		return (struct step){ S_UNLINK, (int)(gen_rnd(g) % 8), 0 };
	switch (g->phase) {
	case 0:
		g->phase = 1;
		return (struct step){ S_CREATE, T_NAME, 0 };
	case 1:
		g->phase = 2;
		return (struct step){ S_WRITE, T_NAME, 1 + (uint32_t)(gen_rnd(g) % MAX_LEN) };
	case 2:
		g->phase = 3;
		return (struct step){ S_FSYNC, T_NAME, 0 };
	default:
		g->phase = 0;
		return (struct step){ S_RENAME, (int)(gen_rnd(g) % 8), 0 };
	}
}

static void gen_init(struct gen *g, uint64_t seed, uint64_t boot)
{
	*g = (struct gen){ seed * 2654435761ULL + boot * 40503ULL + 1, 0, 0 };
}

/* The model after a step. */
static void model_apply(struct file_state *m, const struct step *st, uint64_t s)
{
	switch (st->kind) {
	case S_CREATE:
		m[T_NAME] = (struct file_state){ true, 0, 0 };
		break;
	case S_WRITE:
		m[T_NAME] = (struct file_state){ true, st->len, s };
		break;
	case S_RENAME:
		m[st->name] = m[T_NAME];
		m[T_NAME] = (struct file_state){ 0 };
		break;
	case S_UNLINK:
		m[st->name] = (struct file_state){ 0 };
		break;
	case S_FSYNC:
		break;
	}
}

static void path_of(char *out, uint64_t boot, int name)
{
	if (name == T_NAME)
		snprintf(out, 40, "/w%lu/t", boot);
	else
		snprintf(out, 40, "/w%lu/f%d", boot, name);
}

/* --- the check --------------------------------------------------------------------- */

static bool disk_exists[NAMES];
static uint32_t disk_len[NAMES];
static uint64_t disk_hash[NAMES];

static bool read_disk_state(uint64_t boot)
{
	char p[40];
	for (int n = 0; n < NAMES; n++) {
		path_of(p, boot, n);
		struct fs_file *f;
		int r = fs_open(fs, p, FS_O_RDONLY, 0, &f);
		disk_exists[n] = r == 0;
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return false;
		long got = fs_read(fs, f, buf, MAX_LEN);
		long more = fs_read(fs, f, buf2, 1);
		fs_close(fs, f);
		if (got < 0 || more != 0)
			return false;
		disk_len[n] = (uint32_t)got;
		disk_hash[n] = hash_bytes(buf, (uint32_t)got);
	}
	return true;
}

static bool model_matches(const struct file_state *m, const uint64_t *mhash)
{
	for (int n = 0; n < NAMES; n++) {
		if (m[n].exists != disk_exists[n])
			return false;
		if (m[n].exists && (m[n].len != disk_len[n] || mhash[n] != disk_hash[n]))
			return false;
	}
	return true;
}

/* Some step s >= durable whose model state is what is on disk: 0 if one
 * is, else the first step at or past durable whose state differs. */
static long check_previous(uint64_t seed, uint64_t boot, uint64_t durable)
{
	if (!read_disk_state(boot))
		return -1;
	struct file_state m[NAMES] = { { 0 } };
	uint64_t mhash[NAMES] = { 0 };
	struct gen g;
	gen_init(&g, seed, boot);
	for (uint64_t s = 0; s <= MAX_STEPS; s++) {
		if (s > 0) {
			struct step st = gen_next(&g);
			struct file_state old[NAMES];
			memcpy(old, m, sizeof(old));
			model_apply(m, &st, s);
			for (int n = 0; n < NAMES; n++) {
				if (old[n].exists == m[n].exists && old[n].len == m[n].len &&
				    old[n].id == m[n].id)
					continue; /* unchanged: its hash stands */
				content(buf, m[n].len, m[n].id);
				mhash[n] = hash_bytes(buf, m[n].len);
			}
		}
		if (s == durable)
			for (int n = 0; n < NAMES; n++)
				printf("fscrash: at durable %lu name %d: model %d/%u/%lx, disk %d/%u/%lx\n",
				       s, n, m[n].exists, m[n].len, mhash[n], disk_exists[n], disk_len[n],
				       disk_hash[n]);
		if (s >= durable && model_matches(m, mhash)) {
			printf("fscrash: boot %lu's files are its state after step %lu (durable %lu)\n",
			       boot, s, durable);
			return 0;
		}
	}
	return -1;
}

static bool remove_dir(uint64_t boot)
{
	char p[40];
	for (int n = 0; n < NAMES; n++) {
		path_of(p, boot, n);
		int r = fs_unlink(fs, p);
		if (r < 0 && r != -ENOENT)
			return false;
	}
	snprintf(p, sizeof(p), "/w%lu", boot);
	return fs_rmdir(fs, p) == 0 && fs_sync(fs) == 0;
}

/* --- the workload ------------------------------------------------------------------ */

static void workload(uint64_t seed, uint64_t boot)
{
	struct gen g;
	gen_init(&g, seed, boot);
	struct fs_file *t = NULL;
	char p[40], q[40];
	path_of(p, boot, T_NAME);
	for (uint64_t s = 1; s <= MAX_STEPS; s++) {
		struct step st = gen_next(&g);
		int r = 0;
		switch (st.kind) {
		case S_CREATE:
			r = fs_open(fs, p, FS_O_RDWR | FS_O_CREAT | FS_O_TRUNC, 0644, &t);
			break;
		case S_WRITE:
			content(buf, st.len, s);
			r = fs_pwrite(fs, t, buf, st.len, 0) == (long)st.len ? 0 : -EIO;
			break;
		case S_FSYNC:
			r = fs_fsync(fs, t);
			if (r == 0)
				printf("fscrash: durable %lu\n", s);
			break;
		case S_RENAME:
			fs_close(fs, t);
			t = NULL;
			path_of(q, boot, st.name);
			r = fs_rename(fs, p, q);
			break;
		case S_UNLINK:
			path_of(q, boot, st.name);
			r = fs_unlink(fs, q);
			r = r == -ENOENT ? 0 : r;
			break;
		}
		if (r < 0) {
			printf("fscrash: step %lu failed: %d\n", s, r);
			check("fscrash.workload-step", false);
			return;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		printf("usage: fscrash SEED BOOT DURABLE [check]\n");
		return 1;
	}
	uint64_t seed = (uint64_t)strtol(argv[1], NULL, 10);
	uint64_t boot = (uint64_t)strtol(argv[2], NULL, 10);
	uint64_t durable = (uint64_t)strtol(argv[3], NULL, 10);
	bool check_only = argc > 4 && strcmp(argv[4], "check") == 0;
	if (boot == 1 && sys_xn_format(CAP_SELF) < 0)
		panic("fscrash: xn_format");
	int r = fsdev_xn_open(&dev, CAP_SELF);
	if (r < 0)
		panic("fscrash: fsdev_xn_open: %d", r);
	if (boot == 1 && (r = fs_format(&dev, 256)) < 0)
		panic("fscrash: fs_format: %d", r);
	r = fs_mount(&fs, &dev);
	check_eq("fscrash.mounts", r, 0);
	if (r < 0)
		return test_finish();
	if (boot > 1) {
		struct fsck_report rep;
		r = fs_fsck(&dev, true, &rep);
		check_eq("fscrash.fsck-clean", r, 0);
		if (r != 0)
			printf("fscrash: fsck: %s\n", rep.msg);
		long c = check_previous(seed, boot - 1, durable);
		check_eq("fscrash.state-is-a-step-past-durable", c, 0);
		check("fscrash.previous-removed", remove_dir(boot - 1));
	}
	char d[40];
	snprintf(d, sizeof(d), "/w%lu", boot);
	if (!check_only)
		check("fscrash.mkdir", fs_mkdir(fs, d, 0755) == 0 && fs_sync(fs) == 0);
	printf("fscrash: checked\n");
	if (check_only)
		return test_finish();
	workload(seed, boot);
	return test_finish();
}
