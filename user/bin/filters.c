/* filters: the installed packet filters, their owners and the frames each won. */
#include <inc/net.h>
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

int main(int argc, char **argv)
{
	if (argc > 1) {
		bool help = strcmp(argv[1], "-h") == 0;
		fdprintf(help ? 1 : 2, "usage: filters\n  installed packet filters and frame counts\n");
		return help ? 0 : 2;
	}
	static struct net_filter_info fi[64];
	long n = sys_net_filters(fi, ARRAY_SIZE(fi));
	if (n < 0) {
		fdprintf(2, "filters: %le\n", n);
		return 1;
	}
	fdprintf(1, "%-6s %-8s %5s %10s %s\n", "ID", "OWNER", "ATOMS", "FRAMES", "ASH");
	for (long i = 0; i < n; i++)
		fdprintf(1, "%-6d %08x %5u %10lu %s\n", fi[i].nf_id, fi[i].nf_owner, fi[i].nf_natoms,
			 fi[i].nf_hits, fi[i].nf_ash ? "yes" : "-");
	return 0;
}
