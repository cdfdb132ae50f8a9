/*
 * Capabilities: keys and their rings, dominance by name prefix and rights,
 * derive / grant / drop / read and every denial path: the wrong name, too
 * few rights, more rights than held, forged slots, other envs' resources.
 */
#include <lib/base/test.h>

#define VA 0x0000220000000000UL

int main(void)
{
	struct cap self, c;
	check_eq("read-self", sys_cap_read(0, CAP_SELF, &self), 0);
	check("self-valid", self.c_valid && self.c_rights == CAP_ALL && self.c_len >= 1);

	/* derive: a longer name, fewer rights */
	uint16_t seven = 7, eight = 8;
	check_eq("derive", sys_cap_derive(CAP_SELF, 1, CAP_R | CAP_M, &seven, 1), 0);
	check_eq("read-derived", sys_cap_read(0, 1, &c), 0);
	check("derived-name", c.c_len == self.c_len + 1 && c.c_name[self.c_len] == 7 &&
				      memcmp(c.c_name, self.c_name, self.c_len * 2) == 0);
	check("derived-rights", c.c_rights == (CAP_R | CAP_M));
	check_eq("derive-more-rights", sys_cap_derive(1, 2, CAP_ALL, NULL, 0), -E_PERM);
	check_eq("derive-unknown-rights", sys_cap_derive(CAP_SELF, 2, 0x80, NULL, 0), -E_PERM);
	uint16_t many[CAP_MAXLEN] = { 0 };
	check_eq("derive-too-long", sys_cap_derive(CAP_SELF, 2, CAP_R, many, CAP_MAXLEN), -E_RANGE);
	check_eq("derive-bad-name", sys_cap_derive(CAP_SELF, 2, CAP_R, (uint16_t *)16, 1),
		 -E_FAULT);
	check_eq("derive-empty-src", sys_cap_derive(20, 2, CAP_R, NULL, 0), -E_BAD_CAP);
	check_eq("derive-src-out-of-range", sys_cap_derive(CAP_RING, 2, CAP_R, NULL, 0),
		 -E_BAD_CAP);
	check_eq("derive-dst-out-of-range", sys_cap_derive(CAP_SELF, CAP_RING, CAP_R, NULL, 0),
		 -E_BAD_CAP);
	check_eq("derive-in-place", sys_cap_derive(1, 1, CAP_R | CAP_M, NULL, 0), 0);

	/* a page guarded by self.7 */
	long p = sys_page_alloc(PPN_ANY, 1);
	check("alloc-guarded", p > 0);
	check_eq("bind-rw-without-w", sys_page_bind(0, VA, p, BIND_READ | BIND_WRITE, 1), -E_PERM);
	check_eq("bind-ro-with-r", sys_page_bind(0, VA, p, BIND_READ, 1), 0);
	check_eq("bind-rw-with-self", sys_page_bind(0, VA, p, BIND_READ | BIND_WRITE, CAP_SELF), 0);
	check_eq("derive-sibling", sys_cap_derive(CAP_SELF, 3, CAP_ALL, &eight, 1), 0);
	/* while p is bound here, that binding itself lets us rebind it: drop it */
	check_eq("rebind-by-binding", sys_page_bind(0, VA + 8 * PAGE_SIZE, p, BIND_READ, 3), 0);
	check_eq("rebind-no-more-rights",
		 sys_page_bind(0, VA + 8 * PAGE_SIZE, p, BIND_READ | BIND_EXEC, 3), -E_PERM);
	check_eq("unbind-all-of-p",
		 sys_page_unbind(0, VA, CAP_SELF) |
			 sys_page_unbind(0, VA + 8 * PAGE_SIZE, CAP_SELF),
		 0);
	check_eq("bind-wrong-name", sys_page_bind(0, VA, p, BIND_READ, 3), -E_PERM);
	check_eq("free-wrong-name", sys_page_free(p, 3), -E_PERM);
	check_eq("derive-no-m", sys_cap_derive(CAP_SELF, 4, CAP_R | CAP_W, NULL, 0), 0);
	check_eq("free-without-m", sys_page_free(p, 4), -E_PERM);

	/* forged and empty slots */
	check_eq("forged-slot-empty", sys_page_bind(0, VA, p, BIND_READ, 31), -E_BAD_CAP);
	check_eq("forged-slot-large", sys_page_bind(0, VA, p, BIND_READ, 1000), -E_BAD_CAP);
	check_eq("forged-slot-negative", sys_page_bind(0, VA, p, BIND_READ, (uint64_t)-1),
		 -E_BAD_CAP);
	check_eq("alloc-forged-slot", sys_page_alloc(PPN_ANY, 77), -E_BAD_CAP);
	check_eq("create-forged-slot", sys_env_create("nop", "", 40), -E_BAD_CAP);
	check_eq("create-without-m", sys_env_create("nop", "", 4), -E_PERM);
	check_eq("read-out-of-range", sys_cap_read(0, CAP_RING, &c), -E_BAD_CAP);
	check_eq("read-bad-out", sys_cap_read(0, 0, (struct cap *)16), -E_FAULT);
	check_eq("read-empty", sys_cap_read(0, 30, &c), 0);
	check("read-empty-invalid", !c.c_valid);

	/* drop */
	check_eq("drop", sys_cap_drop(3), 0);
	check_eq("use-dropped", sys_page_bind(0, VA, p, BIND_READ, 3), -E_BAD_CAP);
	check_eq("drop-out-of-range", sys_cap_drop(CAP_RING), -E_BAD_CAP);

	/* another env: a child is ours to control; our parent is not */
	check_eq("rebind-p", sys_page_bind(0, VA, p, BIND_READ | BIND_WRITE, CAP_SELF), 0);
	long kid = sys_env_create("spin", "", CAP_SELF);
	check("spin-start", kid > 0);
	check_eq("read-child-ring", sys_cap_read((envid_t)kid, 0, &c), 0);
	check("child-name-extends",
	      c.c_len == self.c_len + 2 && memcmp(c.c_name, self.c_name, self.c_len * 2) == 0);
	check_eq("read-parent-ring", sys_cap_read(thisenv->env_parent_id, 0, &c), -E_PERM);
	check_eq("bind-into-child", sys_page_bind((envid_t)kid, VA, p, BIND_READ, CAP_SELF), 0);
	check("child-bindings", uenvs[ENVX(kid)].env_bindings >= 1);
	check("shared-refs", upages[p].pg_refs == 2);
	check_eq("unbind-in-child", sys_page_unbind((envid_t)kid, VA, CAP_SELF), 0);
	check("unshared-refs", upages[p].pg_refs == 1);
	check_eq("bind-into-child-weak-key", sys_page_bind((envid_t)kid, VA, p, BIND_READ, 1),
		 -E_PERM);
	check_eq("bind-into-parent",
		 sys_page_bind(thisenv->env_parent_id, VA, p, BIND_READ, CAP_SELF), -E_PERM);
	check_eq("destroy-parent", sys_env_destroy(thisenv->env_parent_id, CAP_SELF), -E_PERM);
	check_eq("grant-bad-env", sys_cap_grant(1, 0x7fff0000), -E_BAD_ENV);
	check_eq("grant-empty", sys_cap_grant(29, (envid_t)kid), -E_BAD_CAP);
	long got = 0;
	for (int i = 0; i < CAP_RING && got >= 0; i++)
		got = sys_cap_grant(1, (envid_t)kid);
	check_eq("grant-ring-full", got, -E_FULL);
	check_eq("destroy-child", sys_env_destroy((envid_t)kid, CAP_SELF), 0);
	sys_env_wait((envid_t)kid);

	/* the child's view: nothing of ours but what we granted - a read-only
	 * key to one page guarded by self.9 */
	uint16_t nine = 9;
	check_eq("derive-share-key", sys_cap_derive(CAP_SELF, 5, CAP_ALL, &nine, 1), 0);
	long sp = sys_page_alloc(PPN_ANY, 5);
	check_eq("bind-share-page", sys_page_bind(0, VA + PAGE_SIZE, sp, BIND_READ | BIND_WRITE, 5),
		 0);
	*(volatile uint64_t *)(VA + PAGE_SIZE) = 0xc0ffee;
	check_eq("derive-share-ro", sys_cap_derive(5, 6, CAP_R, NULL, 0), 0);
	char args[64];
	snprintf(args, sizeof(args), "%lu %lu %u", (unsigned long)p, (unsigned long)sp, 1u);
	long cc = sys_env_create("capchild", args, CAP_SELF);
	check("capchild-start", cc > 0);
	/* capchild waits for this key to appear in its slot 1 */
	check_eq("grant-to-child", sys_cap_grant(6, (envid_t)cc), 1);
	check_eq("capchild-passes", sys_env_wait((envid_t)cc), 0);
	return test_finish();
}
