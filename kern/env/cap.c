/*
 * Capabilities: dominance, key rings, the names of new envs, and the table of
 * page guards.
 *
 * An env's key ring lives in its kernel page (struct env_kpage, charged to
 * the env); its guard is in struct env. Every key in a ring is charged to
 * the holder's family (QUOTA_KEYS): derived into an empty slot, granted,
 * or its own at creation; dropped or gone with its env, it is given back. Pages carry guard ids into an
 * interned table, so a page costs four bytes however long its guard's name:
 * most pages share their owner's guard.
 *
 * The key-ring system calls (cap_derive, cap_grant, cap_drop, cap_read) are
 * here too: a key is read and written only through them. Granting needs a
 * relation to the target (a key naming it), so no env can fill a stranger's
 * ring.
 *
 * Locking: all under the big kernel lock.
 */
#include <inc/error.h>
#include <kern/env/cap.h>
#include <kern/arch/console.h>
#include <kern/arch/cpu.h>
#include <kern/env/env.h>
#include <kern/mem/account.h>
#include <kern/mem/pmap.h>
#include <kern/mem/vm.h>
#include <kern/arch/fastpath.h>
#include <common/string.h>

bool cap_dominates(const struct cap *key, const struct cap *guard)
{
	if (!key->c_valid || key->c_len > guard->c_len)
		return false;
	for (unsigned i = 0; i < key->c_len; i++)
		if (key->c_name[i] != guard->c_name[i])
			return false;
	return true;
}

int cap_key(struct env *e, uint64_t slot, const struct cap **key)
{
	if (slot >= CAP_RING || !e->env_kpage->kp_ring[slot].c_valid)
		return -E_BAD_CAP;
	*key = &e->env_kpage->kp_ring[slot];
	return 0;
}

FASTPATH int cap_check(struct env *e, uint64_t slot, const struct cap *guard, unsigned rights)
{
	const struct cap *key;
	int r = cap_key(e, slot, &key);
	if (r < 0)
		return r;
	if (!cap_dominates(key, guard) || (key->c_rights & rights) != rights)
		return -E_PERM;
	return 0;
}

bool cap_same_name(const struct cap *a, const struct cap *b)
{
	return a->c_len == b->c_len &&
	       memcmp(a->c_name, b->c_name, a->c_len * sizeof(a->c_name[0])) == 0;
}

static void set_self(struct env *e)
{
	struct cap *self = &e->env_kpage->kp_ring[CAP_SELF];
	*self = e->env_guard;
	self->c_rights = CAP_ALL;
}

int cap_init_child(struct env *child, const struct cap *key)
{
	/* Two components: the child's env id, unique among every env there has
	 * been (ids wrap only after 2^31 creations), so no name is ever reused
	 * while keys to it may survive. */
	if (key->c_len + 2 > CAP_MAXLEN)
		return -E_RANGE;
	if (!acct_charge(child->env_vm->vs_acct, QUOTA_KEYS, 1))
		return -E_QUOTA; /* no room in the family for its own key */
	struct cap g = *key;
	g.c_valid = 1;
	g.c_rights = CAP_ALL;
	g.c_name[key->c_len] = (uint16_t)((uint32_t)child->env_id >> 16);
	g.c_name[key->c_len + 1] = (uint16_t)child->env_id;
	g.c_len = key->c_len + 2;
	child->env_guard = g;
	set_self(child);
	return 0;
}

void cap_init_root(struct env *e)
{
	memset(&e->env_guard, 0, sizeof(e->env_guard));
	e->env_guard.c_valid = 1;
	e->env_guard.c_rights = CAP_ALL;
	acct_force(e->env_vm->vs_acct, QUOTA_KEYS, 1); /* the root's limit is every ring */
	set_self(e);
}

void cap_ring_release(struct env *e)
{
	uint64_t held = 0;
	for (unsigned i = 0; i < CAP_RING; i++)
		held += e->env_kpage->kp_ring[i].c_valid;
	if (held)
		acct_release(e->env_vm->vs_acct, QUOTA_KEYS, held);
	memset(e->env_kpage->kp_ring, 0, sizeof(e->env_kpage->kp_ring));
}

/*
 * Interned guards: a hash table of chains. GUARD_MAX bounds how many distinct
 * page guards can exist at once; page_alloc fails with E_NO_MEM beyond it
 * (E_QUOTA beyond the family's share).
 * A new entry is charged (QUOTA_GUARDS) to the family of the env whose
 * allocation made it, until its last page goes, so no family can fill the
 * table for the others: the root's limit is the table's size.
 */
#define GUARD_BUCKETS 1024

struct guard {
	struct cap g_cap;
	uint32_t g_refs;
	uint16_t g_next;   /* chain, or free list; 0 ends */
	struct account *g_acct; /* charged for the entry */
};

static struct guard guards[GUARD_MAX]; /* [0] unused: id 0 means none */
static uint16_t buckets[GUARD_BUCKETS];
static uint16_t free_guards;

static unsigned hash_name(const struct cap *c)
{
	uint32_t h = 2166136261u ^ c->c_len;
	for (unsigned i = 0; i < c->c_len; i++)
		h = (h ^ c->c_name[i]) * 16777619u;
	return h % GUARD_BUCKETS;
}

void cap_init(void)
{
	for (uint16_t i = GUARD_MAX - 1; i > 0; i--) {
		guards[i].g_next = free_guards;
		free_guards = i;
	}
	page_guard_release = guard_put;
}

long guard_get(const struct cap *c, struct account *acct)
{
	unsigned b = hash_name(c);
	for (uint16_t i = buckets[b]; i; i = guards[i].g_next)
		if (cap_same_name(&guards[i].g_cap, c)) {
			guards[i].g_refs++;
			return i;
		}
	if (!free_guards)
		return -E_NO_MEM;
	if (!acct_charge(acct, QUOTA_GUARDS, 1))
		return -E_QUOTA;
	uint16_t i = free_guards;
	free_guards = guards[i].g_next;
	guards[i].g_cap = *c;
	guards[i].g_cap.c_rights = CAP_ALL;
	guards[i].g_refs = 1;
	guards[i].g_acct = acct;
	guards[i].g_next = buckets[b];
	buckets[b] = i;
	return i;
}

void guard_put(uint32_t id)
{
	if (id == 0 || id >= GUARD_MAX || guards[id].g_refs == 0)
		panic("guard_put: bad guard %u", id);
	if (--guards[id].g_refs)
		return;
	unsigned b = hash_name(&guards[id].g_cap);
	uint16_t *pp = &buckets[b];
	while (*pp != id)
		pp = &guards[*pp].g_next;
	*pp = guards[id].g_next;
	guards[id].g_next = free_guards;
	free_guards = (uint16_t)id;
	acct_release(guards[id].g_acct, QUOTA_GUARDS, 1);
}

const struct cap *guard_of(uint32_t id)
{
	return &guards[id].g_cap;
}

/* The key-ring system calls: derive, grant, drop, read. */

long sys_cap_derive(uint64_t src, uint64_t dst, uint64_t rights, uint64_t uname, uint64_t ncomp)
{
	struct env *e = curenv;
	const struct cap *key;
	long r = cap_key(e, src, &key);
	if (r < 0)
		return r;
	if (dst >= CAP_RING)
		return -E_BAD_CAP;
	if (rights & ~(uint64_t)key->c_rights)
		return -E_PERM;
	if (ncomp > (uint64_t)(CAP_MAXLEN - key->c_len))
		return -E_RANGE;
	struct cap c = *key;
	if (copy_from_user(e->env_vm, &c.c_name[key->c_len], uname, ncomp * sizeof(c.c_name[0])) <
	    0)
		return -E_FAULT;
	c.c_len = (uint8_t)(key->c_len + ncomp);
	c.c_rights = (uint8_t)rights;
	/* A key into an empty slot is one more for the family; one replacing
	 * a key (weakening in place) is not. */
	if (!e->env_kpage->kp_ring[dst].c_valid && !acct_charge(e->env_vm->vs_acct, QUOTA_KEYS, 1))
		return -E_QUOTA;
	e->env_kpage->kp_ring[dst] = c;
	return 0;
}

/* Does one of self's keys name e (dominate its guard), whatever its rights? */
static bool holds_key_to(struct env *self, const struct env *e)
{
	for (unsigned i = 0; i < CAP_RING; i++)
		if (cap_dominates(&self->env_kpage->kp_ring[i], &e->env_guard))
			return true;
	return false;
}

long sys_cap_grant(uint64_t src, envid_t envid)
{
	const struct cap *key;
	long r = cap_key(curenv, src, &key);
	if (r < 0)
		return r;
	struct env *to = env_lookup(envid);
	if (!to)
		return -E_BAD_ENV;
	/* Only envs it has a relation to may fill its ring: a key naming it
	 * (its ancestors hold one; it can hand one out, even with no rights). */
	if (!holds_key_to(curenv, to))
		return -E_PERM;
	/* The key is the holder's: charged to its family, as a binding into
	 * another env is charged to the env that holds it. */
	for (unsigned i = 0; i < CAP_RING; i++)
		if (!to->env_kpage->kp_ring[i].c_valid) {
			if (!acct_charge(to->env_vm->vs_acct, QUOTA_KEYS, 1))
				return -E_QUOTA;
			to->env_kpage->kp_ring[i] = *key;
			return i;
		}
	return -E_FULL;
}

long sys_cap_drop(uint64_t slot)
{
	if (slot >= CAP_RING)
		return -E_BAD_CAP;
	struct cap *c = &curenv->env_kpage->kp_ring[slot];
	if (c->c_valid)
		acct_release(curenv->env_vm->vs_acct, QUOTA_KEYS, 1);
	memset(c, 0, sizeof(*c));
	return 0;
}

long sys_cap_read(envid_t envid, uint64_t slot, uint64_t out)
{
	struct env *self = curenv;
	if (slot >= CAP_RING)
		return -E_BAD_CAP;
	struct env *e = envid == 0 ? self : env_lookup(envid);
	if (!e)
		return -E_BAD_ENV;
	if (e != self && !holds_key_to(self, e))
		return -E_PERM;
	if (copy_to_user(self->env_vm, out, &e->env_kpage->kp_ring[slot], sizeof(struct cap)) < 0)
		return -E_FAULT;
	return 0;
}
