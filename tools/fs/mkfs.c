/*
 * mkfs [-s MiB] [-j BLOCKS] [-u UDFDIR] IMAGE [DIR]: writes a disk image
 * (XN's layout, then Exo's library file system as the root "cffs") holding
 * a copy of DIR's tree: regular files, directories and symbolic links, with
 * their modes. Uses lib/fs itself, so the image is made only of changes XN
 * accepts. With -u, the type blocks get lib/fs's three UDFs from UDFDIR's
 * BPF objects (fs_udf_super.o, fs_udf_dir.o, fs_udf_extmap.o, as the build
 * makes them), as xn_type_register would write them: the kernel needs them
 * at boot to walk the tree, so an image the guest mounts needs -u.
 */
#include "image.h"

#include <lib/base/bpf_elf.h>
#include <lib/fs/format.h>

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct fs *fs;

static int copy_tree(const char *host, const char *exo)
{
	DIR *d = opendir(host);
	if (!d)
		return perror(host), -1;
	struct dirent *e;
	int bad = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char hp[4096], ep[4096];
		snprintf(hp, sizeof(hp), "%s/%s", host, e->d_name);
		snprintf(ep, sizeof(ep), "%s/%s", exo, e->d_name);
		struct stat st;
		if (lstat(hp, &st) < 0) {
			perror(hp);
			bad = 1;
			continue;
		}
		int r = 0;
		if (S_ISDIR(st.st_mode)) {
			r = fs_mkdir(fs, ep, st.st_mode & 07777);
			if (r == 0)
				bad |= copy_tree(hp, ep) < 0;
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlink(hp, target, sizeof(target) - 1);
			if (n < 0)
				continue;
			target[n] = 0;
			r = fs_symlink(fs, target, ep);
		} else if (S_ISREG(st.st_mode)) {
			struct fs_file *f;
			FILE *in = fopen(hp, "rb");
			if (!in)
				continue;
			r = fs_open(fs, ep, FS_O_WRONLY | FS_O_CREAT | FS_O_EXCL,
				    st.st_mode & 07777, &f);
			static char buf[1 << 16];
			size_t n;
			while (r == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0) {
				long w = fs_write(fs, f, buf, n);
				if (w != (long)n)
					r = w < 0 ? (int)w : -ENOSPC;
			}
			fclose(in);
			if (r == 0 || f)
				fs_close(fs, f);
		}
		if (r < 0) {
			fprintf(stderr, "mkfs: %s: error %d\n", ep, r);
			bad = 1;
		}
	}
	closedir(d);
	return bad ? -1 : 0;
}

static int udf_region(void *arg, const char *name)
{
	(void)arg;
	return strcmp(name, "region0") == 0 ? 0 : strcmp(name, "region1") == 0 ? 1 : -1;
}

/* The type block of id from UDFDIR/file: 0, or -1 (said why). */
static int load_type(struct xnsim *x, const char *dir, const char *file, const char *name,
		     uint32_t id)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *f = fopen(path, "rb");
	if (!f)
		return perror(path), -1;
	static char img[1 << 20];
	size_t n = fread(img, 1, sizeof(img), f);
	fclose(f);
	static struct bpf_insn insns[XN_UDF_MAX_INSNS];
	uint32_t len;
	int r = bpf_elf_load(img, n, NULL, insns, XN_UDF_MAX_INSNS, &len, udf_region, NULL);
	_Static_assert(sizeof(struct bpf_insn) == sizeof(uint64_t), "a slot is 8 bytes");
	if (r == 0)
		r = xnsim_type_set(x, id, name, (const uint64_t *)insns, len);
	if (r < 0)
		return fprintf(stderr, "mkfs: %s: cannot load the UDF (%d)\n", path, r), -1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *udfdir = NULL;
	uint64_t mib = 64;
	uint32_t journal = 256;
	int opt;
	while ((opt = getopt(argc, argv, "s:j:u:")) != -1) {
		if (opt == 's')
			mib = strtoull(optarg, NULL, 0);
		else if (opt == 'j')
			journal = (uint32_t)strtoul(optarg, NULL, 0);
		else if (opt == 'u')
			udfdir = optarg;
		else
			return fprintf(stderr,
				       "usage: mkfs [-s MiB] [-j BLOCKS] [-u UDFDIR] IMAGE [DIR]\n"),
			       2;
	}
	if (optind >= argc || argc - optind > 2 || mib < 1 || mib > 1024 * 1024)
		return fprintf(stderr,
			       "usage: mkfs [-s MiB] [-j BLOCKS] [-u UDFDIR] IMAGE [DIR]\n"),
		       2;
	struct xnsim *x;
	int r = xnsim_format(&x, mib * 256);
	struct fsdev d;
	if (r == 0 && udfdir &&
	    (load_type(x, udfdir, "fs_udf_super.o", "cffs-super", FS_T_SUPER) < 0 ||
	     load_type(x, udfdir, "fs_udf_dir.o", "cffs-dir", FS_T_DIR) < 0 ||
	     load_type(x, udfdir, "fs_udf_extmap.o", "cffs-extmap", FS_T_EXTMAP) < 0))
		return 1;
	if (r == 0) {
		/* The tree's guard: a name of its own under the root (0xffff is
		 * no env id's first component), which the first env's key
		 * dominates and a key derived for exactly it reaches nothing
		 * else: what a parent grants its children (lib/posix/fsshare.c). */
		struct cap guard = {
			.c_valid = 1, .c_len = 2, .c_rights = CAP_ALL, .c_name = { 0xffff, 1 }
		};
		xnsim_set_guard(x, &guard);
		d = xnsim_dev(x);
		d.now = image_now;
		r = fs_format(&d, journal);
	}
	if (r == 0)
		r = fs_mount(&fs, &d);
	if (r < 0)
		return fprintf(stderr, "mkfs: cannot make the file system: error %d\n", r), 1;
	int bad = argc - optind == 2 ? copy_tree(argv[optind + 1], "") < 0 : 0;
	if ((r = fs_unmount(fs)) < 0 || xnsim_sync(x) < 0 || image_write(argv[optind], x) < 0)
		return fprintf(stderr, "mkfs: cannot write %s (%d)\n", argv[optind], r), 1;
	xnsim_close(x);
	return bad;
}
