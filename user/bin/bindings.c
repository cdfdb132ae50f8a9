/*
 * bindings [-p] [ENVID]: an env's bindings, read from the exposed tables
 * without a system call. The env table gives its software-TLB count and
 * refills; the binding pool, exposed at USTLB (inc/stlb.h), gives each
 * binding: virtual address, physical page, rights (r w x) and d if the
 * kernel has seen the page written through it (it folds the hardware's
 * dirty bit in when it drops or rewrites a page-table entry, so a page
 * written since shows d only later). Listed in address order. -p lists
 * instead the physical pages it owns, from the page table at UPAGES, with
 * how many bindings each has in all address spaces.
 *
 * The kernel changes the pool while we read it: each entry is copied once
 * and kept only if it is live and the env's; if the count found differs
 * from the env table's, a note says the listing is a moving snapshot.
 */
#include <inc/stlb.h>
#include <lib/base/libos.h>
#include <lib/posix/getopt.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: bindings [-p] [ENVID (hex)]\n"
			    "  an env's bindings (va, page, rights); -p: the pages it owns\n";

static const char *type_name(uint8_t t)
{
	static const char *const names[] = { "reserved", "free", "user", "page-table", "kernel",
					     "env-meta", "image" };
	return t < ARRAY_SIZE(names) ? names[t] : "?";
}

struct found {
	uint64_t va;
	uint32_t ppn;
	uint8_t rights, flags;
};

/* Shell sort by address: no recursion, no extra memory. */
static void sort_by_va(struct found *f, size_t n)
{
	for (size_t gap = n / 2; gap > 0; gap /= 2)
		for (size_t i = gap; i < n; i++)
			for (size_t j = i; j >= gap && f[j - gap].va > f[j].va; j -= gap) {
				struct found t = f[j];
				f[j] = f[j - gap];
				f[j - gap] = t;
			}
}

static int list_bindings(struct outbuf *o, envid_t id, uint32_t expected)
{
	uint64_t entries = (uint64_t)ukinfo->ki_stlb_pages * STLB_PER_PAGE;
	size_t cap = (size_t)expected + 256, n = 0, more = 0; /* room for a few new ones */
	struct found *f = malloc(cap * sizeof(*f));
	if (!f) {
		fdprintf(2, "bindings: out of memory\n");
		return 1;
	}
	for (uint64_t i = 0; i < entries; i++) {
		const volatile struct stlb_entry *b = ustlb_entry(i);
		struct found e = { b->b_va, b->b_ppn, b->b_rights, b->b_flags };
		if (b->b_env != ENVX(id) || e.rights == 0)
			continue;
		if (n == cap)
			more++;
		else
			f[n++] = e;
	}
	sort_by_va(f, n);
	out_printf(o, "%16s %10s %s\n", "VA", "PPN", "RIGHTS");
	for (size_t i = 0; i < n; i++)
		out_printf(o, "%16lx %10x %c%c%c%c\n", f[i].va, f[i].ppn,
			   f[i].rights & BIND_READ ? 'r' : '-', f[i].rights & BIND_WRITE ? 'w' : '-',
			   f[i].rights & BIND_EXEC ? 'x' : '-', f[i].flags & BINDING_DIRTY ? 'd' : '-');
	if (n + more != expected)
		out_printf(o, "(%zu found, %u counted: the bindings changed while read)\n",
			   n + more, expected);
	free(f);
	return 0;
}

int main(int argc, char **argv)
{
	bool pages = false;
	int c;
	while ((c = getopt(argc, argv, "hp")) != -1) {
		if (c == 'h') {
			fdprintf(1, "%s", usage);
			return 0;
		}
		if (c != 'p') {
			fdprintf(2, "%s", usage);
			return 2;
		}
		pages = true;
	}
	char *end = NULL;
	long id = optind < argc ? (long)strtoul(argv[optind], &end, 16) : thisenv_id;
	if (argc - optind > 1 || (end && (*end || end == argv[optind])) || id <= 0 ||
	    id > 0x7fffffff) {
		fdprintf(2, "%s", usage);
		return 2;
	}
	const volatile struct env_info *e = &uenvs[ENVX(id)];
	if (e->env_id != id || e->env_status == ENV_FREE) {
		fdprintf(2, "bindings: %08lx: no such environment\n", id);
		return 1;
	}
	static struct outbuf o;
	out_init(&o, 1);
	uint32_t count = e->env_bindings;
	out_printf(&o, "env %08x (%s): %u bindings in its software TLB, %u refills, %u pages owned\n",
		   e->env_id, (const char *)e->env_name, count, e->env_refills, e->env_pages);
	int r = 0;
	if (pages) {
		out_printf(&o, "%10s %-10s %s\n", "PPN", "TYPE", "BOUND");
		for (uint64_t p = 0; p < ukinfo->ki_npages; p++)
			if (upages[p].pg_owner == id)
				out_printf(&o, "%10lx %-10s %u\n", p, type_name(upages[p].pg_type),
					   upages[p].pg_refs);
	} else {
		r = list_bindings(&o, (envid_t)id, count);
	}
	return out_flush(&o) || r ? 1 : 0;
}
