#ifndef EXO_KERN_ACCOUNT_H
#define EXO_KERN_ACCOUNT_H

/*
 * Family accounts (inc/quota.h): one per env, chained to its creator's, so
 * a charge to an env is a charge to its whole line of ancestors.
 */
#include <inc/env.h>
#include <inc/quota.h>

#define NACCOUNTS NENV /* QUOTA_ENVS at the root bounds live accounts */

struct account {
	struct account *a_parent;        /* the creator's account; NULL: root */
	uint32_t a_refs;                 /* its env while alive + child accounts */
	bool a_inuse;
	uint64_t a_limit[QUOTA_KINDS];
	uint64_t a_used[QUOTA_KINDS];    /* its own and its descendants' */
	/* Downloaded code's kernel time: a token bucket of budget units. */
	uint64_t a_code_rate;            /* units it earns per tick */
	int64_t a_code_balance;          /* units it may still spend (< 0: debt) */
	uint64_t a_code_refilled;        /* tick of the last refill */
	uint64_t a_code_units;           /* units spent in all */
	uint64_t a_code_denied;          /* runs refused for want of units */
};

extern struct account accounts[NACCOUNTS];

/* The root account (the first env's), with the machine's limits. */
struct account *acct_new_root(const uint64_t limit[QUOTA_KINDS]);
/* A new family under parent, with the default share of its limits; its
 * QUOTA_ENVS unit charged. NULL if no entry is free or parent's family is
 * at its QUOTA_ENVS limit. */
struct account *acct_new(struct account *parent);
/* The env owning a is gone: drop its reference. The account stays while
 * child accounts or charges (a guard other envs' pages use) remain. */
void acct_put(struct account *a);
/* May a and every ancestor take n more of kind? */
bool acct_may(const struct account *a, unsigned kind, uint64_t n);
/* Charge n of kind to a and its ancestors if every one has room: true, or
 * false with nothing charged. */
bool acct_charge(struct account *a, unsigned kind, uint64_t n);
/* Charge whatever the limits say: for a resource that changes hands (a
 * page passing to the env that still binds it), not for a new one. */
void acct_force(struct account *a, unsigned kind, uint64_t n);
/* Give back n of kind. */
void acct_release(struct account *a, unsigned kind, uint64_t n);
/* Is a in anc's family (anc itself or below it)? */
bool acct_in_family(const struct account *anc, const struct account *a);
/* Set a's limit of kind. */
void acct_set_limit(struct account *a, unsigned kind, uint64_t limit);

/*
 * Downloaded code's kernel time (wakeup predicates, packet handlers), in
 * budget units (about one bytecode instruction each). Every account earns
 * units each tick - the root ACCT_CODE_UNITS_PER_TICK, a new family the
 * default share of its creator's rate - up to ACCT_CODE_BURST, and a run
 * may start only while the family and every ancestor have units left; what
 * it spent is then taken from all of them (a long run leaves a debt that
 * later ticks pay). So downloaded code never takes more than the root's
 * rate of the machine, and one family never more than its own.
 */
#define ACCT_CODE_UNITS_PER_TICK 10000
#define ACCT_CODE_BURST 100000  /* one wakeup predicate's whole budget */
/* May a's family start a run at tick now? (Counts a refusal.) */
bool acct_code_may(struct account *a, uint64_t now);
/* A run of a's family spent units. */
void acct_code_spent(struct account *a, uint64_t units);

#endif
