/*
 * capchild PPN SHAREDPPN KEYSLOT: run by test_caps as a child. Checks from
 * the child's side that its parent's resources are out of its reach except
 * through the key the parent granted it (in KEYSLOT, read-only on the page
 * SHAREDPPN). Prints its checks; exits with the number that failed.
 */
#include <lib/base/test.h>

#define VA 0x0000210000000000UL

int main(int argc, char **argv)
{
	if (argc != 4)
		return 99;
	uint64_t ppn = strtoul(argv[1], NULL, 0);
	uint64_t shared = strtoul(argv[2], NULL, 0);
	uint64_t slot = strtoul(argv[3], NULL, 0);
	envid_t parent = thisenv->env_parent_id;
	struct cap c = { 0 };
	uint64_t until = ukinfo->ki_ticks + 5 * ukinfo->ki_tick_hz;
	while (!(sys_cap_read(0, slot, &c) == 0 && c.c_valid) && ukinfo->ki_ticks < until)
		sys_yield(); /* the parent grants the key just after creating us */

	check_eq("child.destroy-parent", sys_env_destroy(parent, CAP_SELF), -E_PERM);
	check_eq("child.bind-parent-page", sys_page_bind(0, VA, ppn, BIND_READ, CAP_SELF), -E_PERM);
	check_eq("child.free-parent-page", sys_page_free(ppn, CAP_SELF), -E_PERM);
	check_eq("child.bind-into-parent",
		 sys_page_bind(parent, VA, ppn, BIND_READ, CAP_SELF), -E_PERM);
	check_eq("child.flush-parent", sys_vm_flush(parent, CAP_SELF), -E_PERM);
	check_eq("child.read-parent-ring", sys_cap_read(parent, 0, &c), -E_PERM);
	check_eq("child.limit-parent", sys_env_set_limit(parent, 100, CAP_SELF), -E_PERM);
	/* no key naming the parent: it may not fill the parent's ring */
	check_eq("child.grant-to-parent", sys_cap_grant(CAP_SELF, parent), -E_PERM);

	/* the granted key: read-only access to one page */
	check_eq("child.granted-read", sys_page_bind(0, VA, shared, BIND_READ, slot), 0);
	check("child.sees-parent-data", *(volatile uint64_t *)VA == 0xc0ffee);
	check_eq("child.granted-no-write",
		 sys_page_bind(0, VA, shared, BIND_READ | BIND_WRITE, slot), -E_PERM);
	check_eq("child.granted-no-free", sys_page_free(shared, slot), -E_PERM);
	check_eq("child.granted-other-page", sys_page_bind(0, VA, ppn, BIND_READ, slot), -E_PERM);
	sys_page_unbind(0, VA, CAP_SELF);
	return test_finish();
}
