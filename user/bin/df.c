/* df: size, use and free space of the file system holding PATH (default /). */
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

int main(int argc, char **argv)
{
	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		bool help = strcmp(argv[1], "-h") == 0;
		fdprintf(help ? 1 : 2, "usage: df [PATH]\n  the file system's blocks and files\n");
		return help ? 0 : 2;
	}
	const char *path = argc == 2 ? argv[1] : "/";
	struct statfs_info f;
	int r = statfs(path, &f);
	if (r < 0) {
		warn_errno("df", path, r);
		return 1;
	}
	uint64_t k = f.f_bsize / 1024 ? f.f_bsize / 1024 : 1;
	fdprintf(1, "%-12s %10s %10s %10s %5s %s\n", "Filesystem", "1K-blocks", "Used", "Available",
		 "Use%", "Files-free");
	uint64_t used = f.f_blocks - f.f_bfree;
	fdprintf(1, "%-12s %10lu %10lu %10lu %4lu%% %lu\n", path, f.f_blocks * k, used * k,
		 f.f_bfree * k, f.f_blocks ? used * 100 / f.f_blocks : 0, f.f_ffree);
	return 0;
}
