/*
 * pages: physical pages by use, and (-o) by owner, from the exposed page
 * table (no system call).
 */
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: pages [-o]\n"
			    "  physical pages by use; -o also by owning environment\n";

int main(int argc, char **argv)
{
	bool by_owner = argc == 2 && strcmp(argv[1], "-o") == 0;
	if (argc > 1 && !by_owner) {
		bool help = strcmp(argv[1], "-h") == 0;
		fdprintf(help ? 1 : 2, "%s", usage);
		return help ? 0 : 2;
	}
	uint64_t count[PAGE_IMAGE + 1] = { 0 }, other = 0;
	static uint32_t owned[NENV];
	for (uint64_t p = 0; p < ukinfo->ki_npages; p++) {
		uint8_t t = upages[p].pg_type;
		if (t <= PAGE_IMAGE)
			count[t]++;
		else
			other++;
		int32_t owner = upages[p].pg_owner;
		if (owner > 0 && uenvs[ENVX(owner)].env_id == owner)
			owned[ENVX(owner)]++;
	}
	fdprintf(1,
		 "%lu pages (%lu MiB): %lu free, %lu user, %lu page-table, %lu kernel, "
		 "%lu env-meta, %lu image, %lu reserved\n",
		 ukinfo->ki_npages, ukinfo->ki_npages * PAGE_SIZE >> 20, count[PAGE_FREE],
		 count[PAGE_USER], count[PAGE_PGTABLE], count[PAGE_KERNEL], count[PAGE_ENVMETA],
		 count[PAGE_IMAGE], count[PAGE_RESERVED] + other);
	if (by_owner) {
		fdprintf(1, "%-8s %8s  %s\n", "ENV", "PAGES", "NAME");
		for (uint32_t i = 0; i < NENV; i++)
			if (owned[i])
				fdprintf(1, "%08x %8u  %s\n", uenvs[i].env_id, owned[i],
					 (const char *)uenvs[i].env_name);
	}
	return 0;
}
