/*
 * bindings: what the exposed tables say about an env's bindings: its
 * software-TLB count and refills (env table), and each physical page it
 * owns with how many address spaces bind it (page table). The STLB's
 * entries themselves (virtual address to page) are kernel-private: listing
 * them needs the kernel to expose them (doc/shell.md).
 */
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

static const char *type_name(uint8_t t)
{
	static const char *const names[] = { "reserved", "free", "user", "page-table", "kernel",
					     "env-meta", "image" };
	return t < ARRAY_SIZE(names) ? names[t] : "?";
}

int main(int argc, char **argv)
{
	char *end = NULL;
	long id = argc == 2 ? (long)strtoul(argv[1], &end, 16) : thisenv_id;
	if (argc == 2 && strcmp(argv[1], "-h") == 0) {
		fdprintf(1, "usage: bindings [ENVID (hex)]\n  an env's bindings and the pages it owns\n");
		return 0;
	}
	if (argc > 2 || (end && (*end || end == argv[1])) || id <= 0 || id > 0x7fffffff) {
		fdprintf(2, "usage: bindings [ENVID (hex)]\n");
		return 2;
	}
	const volatile struct env_info *e = &uenvs[ENVX(id)];
	if (e->env_id != id || e->env_status == ENV_FREE) {
		fdprintf(2, "bindings: %08lx: no such environment\n", id);
		return 1;
	}
	static struct outbuf o;
	out_init(&o, 1);
	out_printf(&o, "env %08x (%s): %u bindings in its software TLB, %u refills, %u pages owned\n",
		   e->env_id, (const char *)e->env_name, e->env_bindings, e->env_refills,
		   e->env_pages);
	out_printf(&o, "%10s %-10s %s\n", "PPN", "TYPE", "BOUND");
	for (uint64_t p = 0; p < ukinfo->ki_npages; p++)
		if (upages[p].pg_owner == id)
			out_printf(&o, "%10lx %-10s %u\n", p, type_name(upages[p].pg_type),
				   upages[p].pg_refs);
	return out_flush(&o) ? 1 : 0;
}
