/*
 * Packet filters on the receive path: every env's DPF filters (kern/net/dpf.c)
 * merged into one trie, compiled to native code, and the table of who owns
 * each filter. net.c asks netfilter_demux which env a frame is for.
 *
 * Installing a filter that would accept frames another env's filter accepts
 * is refused (E_BUSY) unless the caller's key dominates that env's guard
 * with CAP_M - an env may take traffic from its descendants, never from a
 * stranger. An env may install NET_FILTERS_PER_ENV filters; they die with it.
 * A filter costs its owner's family 1 + its atoms of QUOTA_FILTERS (an id,
 * and at most a test and a state per atom), so within the root's limit no
 * table of the trie can fill: one family cannot shut the others out.
 * After each change the trie is compiled into a fresh kernel block, made
 * executable, and swapped in (14 us for 1000 filters, measured on the host);
 * if that fails the interpreter stands in.
 *
 * A filter may carry an application-specific handler (ASH): a packet
 * handler its owner loaded (dlcode.c), run in the kernel on each frame the
 * filter wins, before the frame is delivered. It may reply (tx) and decide
 * whether the env hears of the frame at all.
 *
 * Locking: the big kernel lock.
 */
#include <inc/dpf.h>
#include <inc/error.h>
#include <inc/kinfo.h>
#include <inc/net.h>
#include <kern/env/cap.h>
#include <kern/arch/console.h>
#include <kern/arch/cpu.h>
#include <kern/bpf/dlcode.h>
#include <kern/net/dpf.h>
#include <kern/env/env.h>
#include <kern/mem/kdyn.h>
#include <kern/mem/account.h>
#include <kern/net/netfilter.h>
#include <kern/mem/vm.h>

extern struct kern_info kinfo;

static struct dpf *dpf;
static envid_t owner[DPF_MAX_FILTERS];
static uint64_t hits[DPF_MAX_FILTERS];
static int64_t ash_slot[DPF_MAX_FILTERS];  /* its owner's packet handler + 1, 0: none */
static uint64_t ash_arg[DPF_MAX_FILTERS];
static uint8_t cost[DPF_MAX_FILTERS];     /* QUOTA_FILTERS charged for it */
static uint16_t owned[NENV];              /* filters each env slot holds: an env
					     that holds none dies without a scan */
static dpf_code_fn *code;
static void *code_block;
static unsigned code_pages;

static unsigned pages_for(size_t bytes)
{
	return (unsigned)(ROUNDUP(bytes, PAGE_SIZE) / PAGE_SIZE);
}

void netfilter_init(void)
{
	dpf = kdyn_alloc(NULL, pages_for(sizeof(*dpf)));
	if (!dpf)
		panic("netfilter_init: no memory for the filter trie");
	dpf_init(dpf);
}

static void recompile(void)
{
	void *old = code_block;
	unsigned old_pages = code_pages;
	code = NULL;
	code_block = NULL;
	size_t len = 0;
	dpf_compile(dpf, NULL, 0, &len);
	unsigned n = pages_for(len ? len : 1);
	void *blk = kdyn_alloc(NULL, n);
	if (blk && dpf_compile(dpf, blk, (size_t)n * PAGE_SIZE, &len) == 0) {
		kdyn_make_exec(blk, n);
		code = (dpf_code_fn *)blk;
		code_block = blk;
		code_pages = n;
	} else if (blk) {
		kdyn_free(blk, n);
	}
	if (old)
		kdyn_free(old, old_pages);
	/* the kernel keeps this code: count it with its other pools */
	kinfo.ki_pool_pages = kinfo.ki_pool_pages - (old ? old_pages : 0) + (code ? code_pages : 0);
}

envid_t netfilter_demux(const uint8_t *frame, uint32_t len, int64_t *ash, uint64_t *arg)
{
	*ash = -1;
	if (!dpf)
		return 0;
	int id = code ? code(frame, len) : dpf_match(dpf, frame, len);
	if (id < 0 || id >= DPF_MAX_FILTERS || !owner[id])
		return 0;
	hits[id]++;
	*ash = ash_slot[id] - 1;
	*arg = ash_arg[id];
	return owner[id];
}

/* May the caller change filter id? 0, or why not. */
static long check_mine(uint64_t id)
{
	if (id >= DPF_MAX_FILTERS)
		return -E_INVAL;
	if (!owner[id])
		return -E_NOT_FOUND;
	return owner[id] == curenv->env_id ? 0 : -E_PERM;
}

long sys_net_filter_ash(uint64_t id, uint64_t slot, uint64_t arg)
{
	struct env *self = curenv;
	long r = check_mine(id);
	if (r < 0)
		return r;
	if (slot != UINT64_MAX && !dlcode_is_packet_handler(self, slot))
		return -E_INVAL;
	ash_slot[id] = slot == UINT64_MAX ? 0 : (int64_t)slot + 1;
	ash_arg[id] = arg;
	return 0;
}

/* May the caller, with its key in slot cap, take frames other's filter
 * accepts? Yes if the key dominates other's guard with CAP_M (or other is
 * dead: its filters are about to go). */
struct may_take {
	struct env *self;
	uint64_t cap;
};

static bool may_take_from(envid_t other, void *arg)
{
	const struct may_take *mt = arg;
	struct env *o = env_lookup(other);
	return !o || cap_check(mt->self, mt->cap, &o->env_guard, CAP_M) == 0;
}

long sys_net_filter_add(uint64_t ufilter, uint64_t cap)
{
	struct env *self = curenv;
	struct dpf_filter f;
	if (copy_from_user(self->env_vm, &f, ufilter, sizeof(f)) < 0)
		return -E_FAULT;
	if (dpf_check(&f) < 0)
		return -E_INVAL;
	unsigned mine = 0;
	for (unsigned i = 0; i < DPF_MAX_FILTERS; i++)
		mine += owner[i] == self->env_id;
	if (mine >= NET_FILTERS_PER_ENV)
		return -E_FULL;
	/* Authority over every owner it overlaps, not just the first found:
	 * a filter may overlap its own family's and a stranger's at once. */
	struct may_take mt = { self, cap };
	if (dpf_conflicts_unless(dpf, &f, self->env_id, may_take_from, &mt) >= 0)
		return -E_BUSY; /* it would take another env's traffic */
	uint8_t units = (uint8_t)(1 + f.df_natoms);
	if (!acct_charge(self->env_vm->vs_acct, QUOTA_FILTERS, units))
		return -E_QUOTA; /* its family holds its share of the trie */
	int id = dpf_insert(dpf, &f, self->env_id);
	if (id < 0) {
		acct_release(self->env_vm->vs_acct, QUOTA_FILTERS, units);
		return id;
	}
	cost[id] = units;
	owner[id] = self->env_id;
	owned[ENVX(self->env_id)]++;
	hits[id] = 0;
	ash_slot[id] = 0;
	recompile();
	return id;
}

long sys_net_filter_remove(uint64_t id)
{
	long r = check_mine(id);
	if (r < 0)
		return r;
	dpf_remove(dpf, (int)id);
	owner[id] = 0;
	owned[ENVX(curenv->env_id)]--;
	ash_slot[id] = 0;
	acct_release(curenv->env_vm->vs_acct, QUOTA_FILTERS, cost[id]);
	recompile();
	return 0;
}

long sys_net_filters(uint64_t out, uint64_t max)
{
	struct env *self = curenv;
	uint64_t n = 0;
	for (unsigned i = 0; i < DPF_MAX_FILTERS && n < max; i++) {
		if (!owner[i])
			continue;
		struct dpf_filter f;
		envid_t o;
		if (dpf_get(dpf, (int)i, &f, &o) < 0)
			continue;
		struct net_filter_info fi = { (int32_t)i, owner[i], f.df_natoms,
					      ash_slot[i] ? 1u : 0u, hits[i] };
		if (copy_to_user(self->env_vm, out + n * sizeof(fi), &fi, sizeof(fi)) < 0)
			return -E_FAULT;
		n++;
	}
	return (long)n;
}

void netfilter_env_gone(struct env *e, enum env_end how UNUSED)
{
	bool changed = false;
	for (unsigned i = 0; i < DPF_MAX_FILTERS && owned[ENVX(e->env_id)]; i++)
		if (owner[i] == e->env_id) {
			dpf_remove(dpf, (int)i);
			owner[i] = 0;
			owned[ENVX(e->env_id)]--;
			ash_slot[i] = 0;
			acct_release(e->env_vm->vs_acct, QUOTA_FILTERS, cost[i]);
			changed = true;
		}
	if (changed)
		recompile();
}
