/*
 * caps: an environment's keys (its capability ring) and its memory
 * accounting. The ring is read with cap_read (keys live in the kernel and
 * are not exposed); reading another env's needs a key dominating it, so a
 * program run from the shell can read its own (no argument) and its
 * descendants'.
 */
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

static void print_cap(const struct cap *c)
{
	char name[CAP_MAXLEN * 6 + 8];
	size_t n = 0;
	if (c->c_len == 0)
		n = (size_t)snprintf(name, sizeof(name), "(root)");
	for (unsigned i = 0; i < c->c_len && i < CAP_MAXLEN; i++)
		n += (size_t)snprintf(name + n, sizeof(name) - n, "%s%x", i ? "." : "", c->c_name[i]);
	fdprintf(1, "%c%c%c %s\n", (c->c_rights & CAP_R) ? 'r' : '-',
		 (c->c_rights & CAP_W) ? 'w' : '-', (c->c_rights & CAP_M) ? 'm' : '-', name);
}

int main(int argc, char **argv)
{
	char *end = NULL;
	long id = argc == 2 ? (long)strtoul(argv[1], &end, 16) : 0;
	if (argc == 2 && strcmp(argv[1], "-h") == 0) {
		fdprintf(1, "usage: caps [ENVID (hex)]\n  an env's keys, bindings and pages\n");
		return 0;
	}
	if (argc > 2 || (end && (*end != '\0' || end == argv[1]))) {
		fdprintf(2, "usage: caps [ENVID (hex)]\n");
		return 2;
	}
	struct cap c;
	long r = sys_cap_read((envid_t)id, 0, &c);
	if (r < 0) {
		fdprintf(2, "caps: %le\n", r);
		return 1;
	}
	const volatile struct env_info *e = &uenvs[ENVX(id ? id : thisenv_id)];
	fdprintf(1, "env %08x: %u bindings, %u user pages (limit %u), %u refills, %u upcalls\n",
		 e->env_id, e->env_bindings, e->env_user_pages, e->env_page_limit, e->env_refills,
		 e->env_upcalls);
	for (unsigned slot = 0; slot < CAP_RING; slot++) {
		r = sys_cap_read((envid_t)id, slot, &c);
		if (r < 0) {
			fdprintf(2, "caps: %le\n", r);
			return 1;
		}
		if (c.c_valid) {
			fdprintf(1, "  [%2u] ", slot);
			print_cap(&c);
		}
	}
	return 0;
}
