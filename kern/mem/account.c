/*
 * Family accounts: what each env and its descendants hold, against limits
 * their ancestors set (inc/quota.h is the user's view, doc/design.md
 * "Accounting by family" the model).
 *
 * Every env has an account; a child's points at its creator's. A charge
 * for a resource checks the env's account and every ancestor's for room,
 * then adds to all of them, so an account's a_used counts its whole family
 * and an env cannot escape a limit by spreading over children. A release
 * takes from the same chain. A resource that changes hands (a page still
 * bound by another env when its owner frees it) is charged to its new
 * family with acct_force: it exists already, and refusing it would leave
 * it with no owner.
 *
 * Lifetime: an account lives while its env lives, while any child account
 * lives, and while anything is still charged to it (a guard that pages of
 * other envs use). So a family's limit binds its descendants even after
 * the env that was given it has died, and a dead account still counts one
 * QUOTA_ENVS unit against its family: the table (NACCOUNTS, the root's
 * QUOTA_ENVS limit) cannot be filled by one family.
 *
 * The layer: here in kern/mem because the page allocator charges pages;
 * every layer above charges its own resources through this interface.
 *
 * Locking: under the big kernel lock.
 */
#include <inc/error.h>
#include <kern/arch/console.h>
#include <kern/mem/account.h>
#include <common/string.h>

struct account accounts[NACCOUNTS];

static uint64_t share(uint64_t limit)
{
	return limit / QUOTA_SHARE_DEN * QUOTA_SHARE_NUM +
	       limit % QUOTA_SHARE_DEN * QUOTA_SHARE_NUM / QUOTA_SHARE_DEN;
}

static struct account *take_entry(void)
{
	for (struct account *a = accounts; a < accounts + NACCOUNTS; a++)
		if (!a->a_inuse) {
			memset(a, 0, sizeof(*a));
			a->a_inuse = true;
			a->a_refs = 1;
			return a;
		}
	return NULL;
}

struct account *acct_new_root(const uint64_t limit[QUOTA_KINDS])
{
	struct account *a = take_entry();
	if (!a)
		panic("acct_new_root: no free account");
	memcpy(a->a_limit, limit, sizeof(a->a_limit));
	a->a_used[QUOTA_ENVS] = 1;
	a->a_code_rate = ACCT_CODE_UNITS_PER_TICK;
	a->a_code_balance = ACCT_CODE_BURST;
	return a;
}

struct account *acct_new(struct account *parent)
{
	if (!acct_may(parent, QUOTA_ENVS, 1))
		return NULL;
	struct account *a = take_entry();
	if (!a)
		return NULL;
	for (unsigned k = 0; k < QUOTA_KINDS; k++)
		a->a_limit[k] = k == QUOTA_PAGES ? parent->a_limit[k] : share(parent->a_limit[k]);
	a->a_parent = parent;
	parent->a_refs++;
	a->a_code_rate = share(parent->a_code_rate);
	a->a_code_balance = (int64_t)MIN(a->a_code_rate, (uint64_t)ACCT_CODE_BURST);
	/* Its own unit, whatever its own limit (the ancestors' were checked):
	 * a family given no room for envs still holds the one it is. */
	acct_force(a, QUOTA_ENVS, 1);
	return a;
}

/* Free a if nothing holds it any more (its own QUOTA_ENVS unit aside). */
static void maybe_free(struct account *a)
{
	while (a && a->a_refs == 0) {
		for (unsigned k = 0; k < QUOTA_KINDS; k++)
			if (a->a_used[k] != (k == QUOTA_ENVS))
				return; /* still charged for something */
		struct account *parent = a->a_parent;
		acct_release(a, QUOTA_ENVS, 1);
		a->a_inuse = false;
		if (!parent)
			return;
		parent->a_refs--;
		a = parent;
	}
}

void acct_put(struct account *a)
{
	if (a->a_refs == 0)
		panic("acct_put: account %ld has no references", (long)(a - accounts));
	a->a_refs--;
	maybe_free(a);
}

bool acct_may(const struct account *a, unsigned kind, uint64_t n)
{
	for (; a; a = a->a_parent)
		if (a->a_used[kind] > a->a_limit[kind] || n > a->a_limit[kind] - a->a_used[kind])
			return false;
	return true;
}

bool acct_charge(struct account *a, unsigned kind, uint64_t n)
{
	if (!acct_may(a, kind, n))
		return false;
	acct_force(a, kind, n);
	return true;
}

void acct_force(struct account *a, unsigned kind, uint64_t n)
{
	for (; a; a = a->a_parent)
		a->a_used[kind] += n;
}

void acct_release(struct account *a, unsigned kind, uint64_t n)
{
	struct account *first = a;
	for (; a; a = a->a_parent) {
		if (a->a_used[kind] < n)
			panic("acct_release: account %ld kind %u holds %lu, releasing %lu",
			      (long)(a - accounts), kind, a->a_used[kind], n);
		a->a_used[kind] -= n;
	}
	if (kind != QUOTA_ENVS)
		maybe_free(first);
}

bool acct_in_family(const struct account *anc, const struct account *a)
{
	for (; a; a = a->a_parent)
		if (a == anc)
			return true;
	return false;
}

void acct_set_limit(struct account *a, unsigned kind, uint64_t limit)
{
	a->a_limit[kind] = limit;
}

/* Bring a's bucket up to tick now. */
static void refill(struct account *a, uint64_t now)
{
	if (now <= a->a_code_refilled)
		return;
	uint64_t ticks = now - a->a_code_refilled;
	a->a_code_refilled = now;
	/* up to one burst (or one tick's rate, if more) in hand */
	uint64_t cap = MAX(a->a_code_rate, (uint64_t)ACCT_CODE_BURST);
	uint64_t earned = MIN(ticks, cap) * a->a_code_rate; /* both bounded: no overflow */
	int64_t b = a->a_code_balance + (int64_t)MIN(earned, 2 * cap);
	a->a_code_balance = MIN(b, (int64_t)cap);
}

bool acct_code_may(struct account *a, uint64_t now)
{
	for (struct account *x = a; x; x = x->a_parent) {
		refill(x, now);
		if (x->a_code_balance <= 0) {
			a->a_code_denied++;
			return false;
		}
	}
	return true;
}

void acct_code_spent(struct account *a, uint64_t units)
{
	a->a_code_units += units;
	for (; a; a = a->a_parent)
		a->a_code_balance -= (int64_t)MIN(units, (uint64_t)INT64_MAX / 4);
}
