/*
 * Downloaded code in the kernel: loading a program an env hands over
 * (verify it once, compile it to native code), charging it to that env, and
 * running wakeup predicates for sleeping envs (inc/bpf.h, kern/bpf/).
 *
 * A program and its compiled code live in kernel blocks made of pages the
 * env owns (kdyn.c), so its page count shows them and its death frees them;
 * each env may keep BPF_PROGS_PER_ENV programs. Memory granted to a program
 * is one page of the env's own, bound with the rights granted; before every
 * run the kernel checks that the env still owns that page, so a program
 * never reads memory that has changed hands. The verifier's scratch memory
 * is charged to the env for the length of the load.
 *
 * A wakeup predicate runs once when the env goes to sleep on it and then at
 * every tick while it sleeps, where the scheduler looks for work: the env
 * runs again only when the predicate holds, a transfer arrives or its time
 * is up. A predicate that faults or runs out of budget does not hold.
 *
 * Every run - predicate or packet handler - is paid for by its env's
 * family in budget units (account.c): a run starts only while the family
 * and its ancestors have units, so all downloaded code together takes at
 * most the root's rate of each tick and one family at most its own. A
 * predicate not run for want of units does not hold this tick; a handler
 * not run leaves its frame to the ring, as if it had none. The run in
 * env_sleep_until itself is on the caller's own time: counted, not paid.
 *
 * A predicate that reads only its granted memory (no context field, no
 * clock, no writes - known from the verifier's notes) is run by the timer
 * only when that memory may have changed: the kernel keeps a hash of it
 * from the last run that did not hold and skips the run while the hash is
 * the same (hashing costs units too, far fewer than a run).
 *
 * Locking: under the big kernel lock.
 */
#include <inc/bpf.h>
#include <inc/error.h>
#include <inc/kinfo.h>
#include <inc/page.h>
#include <kern/bpf/bpf.h>
#include <kern/arch/cpu.h>
#include <kern/bpf/dlcode.h>
#include <kern/env/env.h>
#include <kern/mem/kdyn.h>
#include <kern/mem/account.h>
#include <kern/env/pct.h>
#include <kern/mem/pmap.h>
#include <kern/mem/stlb.h>
#include <kern/mem/vm.h>
#include <kern/arch/x86.h>
#include <common/string.h>

extern struct kern_info kinfo;

struct kprog {
	struct bpf_prog kp_prog;
	uint64_t kp_ppn[BPF_MAX_REGIONS]; /* the page each region lies in */
	bpf_jit_fn *kp_fn;                /* compiled code, or NULL: interpret */
	uint32_t kp_first_grant;          /* packet handlers: region 0 is the frame */
	void *kp_code;
	unsigned kp_code_pages, kp_pages;
	/* A predicate whose result depends on its granted memory alone (no
	 * context, no clock, no writes): the hash of that memory when it last
	 * did not hold, so the timer need not run it again until it changes. */
	bool kp_pure;
	bool kp_idle_valid;
	uint64_t kp_idle_hash;
};

static unsigned pages_for(size_t bytes)
{
	return (unsigned)(ROUNDUP(bytes, PAGE_SIZE) / PAGE_SIZE);
}

static void unload(struct kprog *kp)
{
	if (kp->kp_code)
		kdyn_free(kp->kp_code, kp->kp_code_pages);
	kdyn_free(kp, kp->kp_pages);
}

/* Compiles kp's verified program to native code in pages charged to owner
 * (NULL: the kernel's own). Without memory for the code it is interpreted.
 * bpf_jit sizes the code when given no buffer, answering -E_TOO_BIG. */
static void compile_native(struct kprog *kp, struct vmspace *owner)
{
	struct bpf_prog *p = &kp->kp_prog;
	size_t code_size = 0;
	if (bpf_jit(p, NULL, 0, &code_size) != -E_TOO_BIG || code_size == 0)
		return;
	kp->kp_code_pages = pages_for(code_size);
	kp->kp_code = kdyn_alloc(owner, kp->kp_code_pages);
	if (!kp->kp_code)
		return;
	if (bpf_jit(p, kp->kp_code, kp->kp_code_pages * PAGE_SIZE, &code_size) != 0) {
		kdyn_free(kp->kp_code, kp->kp_code_pages);
		kp->kp_code = NULL;
		return;
	}
	kdyn_make_exec(kp->kp_code, kp->kp_code_pages);
	kp->kp_fn = (bpf_jit_fn *)kp->kp_code;
}

/* A packet handler's region 0: the frame, copied here zero-padded so the
 * handler never sees what an earlier frame left in a buffer. */
static uint8_t packet_buf[BPF_PACKET_MAX] __attribute__((aligned(16)));

/* Check the grants against e's bindings; fill the program's regions from
 * region `first` on. */
static long take_grants(struct env *e, struct kprog *kp, const struct bpf_grant *g, uint32_t n,
			uint32_t first)
{
	if (first) {
		struct bpf_region *r = &kp->kp_prog.p_regions[0];
		r->r_uaddr = 0;
		r->r_len = BPF_PACKET_MAX;
		r->r_kptr = packet_buf;
		r->r_flags = BPF_REGION_READ;
	}
	for (uint32_t i = first; i < first + n; i++) {
		const struct bpf_grant *gi = &g[i - first];
		uint64_t off = gi->g_addr % PAGE_SIZE;
		if (gi->g_len == 0 || gi->g_len > PAGE_SIZE - off || gi->g_addr >= UTOP ||
		    (gi->g_flags & ~(uint32_t)(BPF_REGION_READ | BPF_REGION_WRITE)) ||
		    !(gi->g_flags & BPF_REGION_READ))
			return -E_INVAL;
		const struct binding *b = stlb_lookup(e->env_vm, gi->g_addr);
		if (!b || ((gi->g_flags & BPF_REGION_WRITE) && !(b->b_rights & BIND_WRITE)))
			return -E_FAULT;
		if (pages[b->b_ppn].pg_type != PAGE_USER || pages[b->b_ppn].pg_owner != e->env_id)
			return -E_PERM;
		struct bpf_region *r = &kp->kp_prog.p_regions[i];
		r->r_uaddr = gi->g_addr;
		r->r_len = gi->g_len;
		r->r_kptr = (char *)page_kva(b->b_ppn) + off;
		r->r_flags = gi->g_flags;
		kp->kp_ppn[i] = b->b_ppn;
	}
	kp->kp_prog.p_nregions = first + n;
	kp->kp_first_grant = first;
	return 0;
}

/* Does verified predicate p depend on its regions' bytes alone? */
static bool pure_predicate(const struct bpf_prog *p)
{
	if (p->p_kind != BPF_KIND_WAKEUP)
		return false;
	for (uint32_t k = 0; k < p->p_nregions; k++)
		if (p->p_regions[k].r_flags & BPF_REGION_WRITE)
			return false;
	for (uint32_t pc = 0; pc < p->p_len; pc++) {
		const struct bpf_insn *i = &p->p_insns[pc];
		if ((p->p_aux[pc].a_flags & (BPF_AUX_SEEN | BPF_AUX_CTX)) ==
		    (BPF_AUX_SEEN | BPF_AUX_CTX))
			return false; /* it reads the context: ticks, tsc, id, arg */
		if (i->code == (BPF_JMP | BPF_CALL) && i->imm != BPF_HELPER_REGION_READ_U64)
			return false; /* the clock, or a helper that writes */
	}
	return true;
}

/* A hash of kp's granted memory; *units what reading it cost. */
static uint64_t regions_hash(const struct kprog *kp, uint64_t *units)
{
	uint64_t h = 0xcbf29ce484222325UL;
	*units = 0;
	for (uint32_t k = kp->kp_first_grant; k < kp->kp_prog.p_nregions; k++) {
		const uint8_t *b = kp->kp_prog.p_regions[k].r_kptr;
		uint64_t n = kp->kp_prog.p_regions[k].r_len, w;
		for (uint64_t off = 0; off < n; off += 8) {
			w = 0;
			memcpy(&w, b + off, MIN(8, n - off));
			h = (h ^ w) * 0x100000001b3UL;
			h ^= h >> 29;
		}
		*units += n / 32 + 1;
	}
	return h;
}

long sys_bpf_load(uint64_t uargs)
{
	struct env *e = curenv;
	struct bpf_load a;
	struct bpf_grant grants[BPF_MAX_REGIONS];
	if (copy_from_user(e->env_vm, &a, uargs, sizeof(a)) < 0)
		return -E_FAULT;
	uint32_t first = a.bl_kind == BPF_KIND_PACKET; /* region 0: the frame */
	if ((a.bl_kind != BPF_KIND_WAKEUP && a.bl_kind != BPF_KIND_PACKET) || a.bl_len == 0 ||
	    a.bl_len > BPF_MAX_INSNS || a.bl_ngrants > BPF_MAX_REGIONS - first)
		return -E_INVAL;
	if (copy_from_user(e->env_vm, grants, (uint64_t)a.bl_grants,
			   a.bl_ngrants * sizeof(grants[0])) < 0)
		return -E_FAULT;
	unsigned slot = 0;
	while (slot < BPF_PROGS_PER_ENV && e->env_progs[slot])
		slot++;
	if (slot == BPF_PROGS_PER_ENV)
		return -E_FULL;
	if (!acct_may(e->env_vm->vs_acct, QUOTA_PROGS, 1))
		return -E_QUOTA; /* its family has its share of programs */

	size_t insn_bytes = a.bl_len * sizeof(struct bpf_insn);
	size_t aux_bytes = a.bl_len * sizeof(struct bpf_aux);
	unsigned npages = pages_for(sizeof(struct kprog) + insn_bytes + aux_bytes);
	struct kprog *kp = kdyn_alloc(e->env_vm, npages);
	if (!kp) /* its pages are charged: the family's quota, or the machine */
		return acct_may(e->env_vm->vs_acct, QUOTA_PAGES, npages) ? -E_NO_MEM : -E_QUOTA;
	kp->kp_pages = npages;
	struct bpf_insn *insns = (struct bpf_insn *)(kp + 1);
	struct bpf_aux *aux = (struct bpf_aux *)((char *)insns + insn_bytes);
	long r = copy_from_user(e->env_vm, insns, (uint64_t)a.bl_insns, insn_bytes) < 0 ? -E_FAULT
											: 0;
	if (r == 0)
		r = take_grants(e, kp, grants, a.bl_ngrants, first);
	size_t scratch_size = bpf_verify_scratch_size(insns, a.bl_len);
	if (r == 0 && pages_for(scratch_size) > BPF_SCRATCH_MAX_PAGES)
		r = -E_TOO_BIG;
	void *scratch = r == 0 ? kdyn_alloc(e->env_vm, pages_for(scratch_size)) : NULL;
	if (r == 0 && !scratch)
		r = acct_may(e->env_vm->vs_acct, QUOTA_PAGES, pages_for(scratch_size)) ? -E_NO_MEM
										       : -E_QUOTA;
	if (r < 0) {
		unload(kp);
		return r;
	}

	struct bpf_prog *p = &kp->kp_prog;
	p->p_kind = a.bl_kind;
	p->p_len = a.bl_len;
	p->p_insns = insns;
	p->p_aux = aux;
	struct bpf_verify_error err;
	int v = bpf_verify(p, 0, scratch, scratch_size, &err);
	kdyn_free(scratch, pages_for(scratch_size));
	if (v != BPF_OK) {
		if (a.bl_error) {
			struct bpf_load_error le = { err.e_insn, v, { 0 } };
			strlcpy(le.le_msg, err.e_msg, sizeof(le.le_msg));
			copy_to_user(e->env_vm, (uint64_t)a.bl_error, &le, sizeof(le));
		}
		unload(kp);
		return -E_REFUSED;
	}
	compile_native(kp, e->env_vm);
	kp->kp_pure = pure_predicate(p);
	e->env_progs[slot] = kp;
	acct_force(e->env_vm->vs_acct, QUOTA_PROGS, 1); /* room checked above */
	return slot;
}

static struct kprog *loaded(struct env *e, uint64_t slot, long *err)
{
	if (slot >= BPF_PROGS_PER_ENV) {
		*err = -E_INVAL;
		return NULL;
	}
	if (!e->env_progs[slot])
		*err = -E_NOT_FOUND;
	return e->env_progs[slot];
}

long sys_bpf_unload(uint64_t slot)
{
	struct env *e = curenv;
	long err = 0;
	struct kprog *kp = loaded(e, slot, &err);
	if (!kp)
		return err;
	e->env_progs[slot] = NULL;
	unload(kp);
	acct_release(e->env_vm->vs_acct, QUOTA_PROGS, 1);
	return 0;
}

static uint64_t read_tsc(void)
{
	return rdtsc();
}

static bool grants_still_owned(struct env *e, const struct kprog *kp)
{
	for (uint32_t i = kp->kp_first_grant; i < kp->kp_prog.p_nregions; i++)
		if (pages[kp->kp_ppn[i]].pg_owner != e->env_id ||
		    pages[kp->kp_ppn[i]].pg_type != PAGE_USER)
			return false;
	return true;
}

/* BPF_HELPER_NOTIFY for a packet handler: a message to its own env. */
static long notify_owner(void *owner, uint64_t a0, uint64_t a1, uint64_t a2)
{
	return pct_post(owner, 0, a0, a1, a2);
}

/* What a finished run cost: the budget it spent, or, for a program with
 * no loops (which spends none), its length, a bound on what it ran. */
static uint64_t run_cost(const struct kprog *kp, const struct bpf_runtime *rt)
{
	if (!kp->kp_prog.p_loops)
		return kp->kp_prog.p_len;
	return kp->kp_prog.p_budget - MIN(rt->rt_budget, kp->kp_prog.p_budget);
}

/* Run e's predicate kp with arg: does it hold? own_time: in e's own system
 * call, on its own time (counted, not paid from the family's units, which
 * are for the runs in the timer interrupt, on everyone's time). */
static bool holds(struct env *e, struct kprog *kp, uint64_t arg, bool own_time)
{
	if (kp->kp_prog.p_kind != BPF_KIND_WAKEUP || !grants_still_owned(e, kp))
		return false; /* its memory changed hands: never again */
	struct account *a = e->env_vm->vs_acct;
	if (!own_time && !acct_code_may(a, kinfo.ki_ticks))
		return false; /* its family's time for this tick is spent */
	uint64_t hash = 0, hash_units = 0;
	if (kp->kp_pure) {
		hash = regions_hash(kp, &hash_units);
		if (!own_time)
			acct_code_spent(a, hash_units);
		if (!own_time && kp->kp_idle_valid && hash == kp->kp_idle_hash)
			return false; /* what it reads is as it was when it did not hold */
	}
	struct bpf_wakeup_ctx ctx = { kinfo.ki_ticks, rdtsc(), (uint64_t)e->env_id, arg };
	struct bpf_runtime rt;
	bpf_runtime_init(&rt, &kp->kp_prog);
	rt.rt_clock = read_tsc;
	uint64_t r = kp->kp_fn ? kp->kp_fn(&ctx, &rt) : bpf_interp(&kp->kp_prog, &ctx, &rt);
	if (own_time)
		a->a_code_units += run_cost(kp, &rt);
	else
		acct_code_spent(a, run_cost(kp, &rt));
	e->env_info->env_pred_runs++;
	bool held = rt.rt_status == BPF_RUN_OK && r != 0;
	kp->kp_idle_valid = kp->kp_pure && !held;
	kp->kp_idle_hash = hash;
	return held;
}

long sys_env_sleep_until(uint64_t slot, uint64_t arg, uint64_t ticks)
{
	struct env *e = curenv;
	long err = 0;
	struct kprog *kp = loaded(e, slot, &err);
	if (!kp)
		return err;
	if (kp->kp_prog.p_kind != BPF_KIND_WAKEUP)
		return -E_INVAL; /* a packet handler is no predicate */
	if (e->env_pct_qlen)
		return 1;
	if (holds(e, kp, arg, true))
		return 2;
	if (ticks == 0)
		return 0;
	sched_sleep(e, ticks);
	e->env_sleep_pred = (int)slot;
	e->env_sleep_arg = arg;
	sched_yield();
}

static bool pred_holds(struct env *e)
{
	struct kprog *kp = e->env_sleep_pred >= 0 ? e->env_progs[e->env_sleep_pred] : NULL;
	return kp && holds(e, kp, e->env_sleep_arg, false);
}

/* --- programs the kernel keeps for itself ------------------------------------ */

struct kprog *dlcode_load_kernel(uint32_t kind, const struct bpf_insn *insns, uint32_t len,
				 const struct bpf_region *regions, uint32_t nregions,
				 struct bpf_verify_error *verr, long *err)
{
	if (len == 0 || len > BPF_MAX_INSNS || nregions > BPF_MAX_REGIONS) {
		*err = -E_INVAL;
		return NULL;
	}
	size_t insn_bytes = len * sizeof(struct bpf_insn);
	size_t aux_bytes = len * sizeof(struct bpf_aux);
	unsigned npages = pages_for(sizeof(struct kprog) + insn_bytes + aux_bytes);
	struct kprog *kp = kdyn_alloc(NULL, npages);
	if (!kp) {
		*err = -E_NO_MEM;
		return NULL;
	}
	kp->kp_pages = npages;
	struct bpf_insn *copy = (struct bpf_insn *)(kp + 1);
	memcpy(copy, insns, insn_bytes);
	struct bpf_prog *p = &kp->kp_prog;
	p->p_kind = kind;
	p->p_len = len;
	p->p_insns = copy;
	p->p_aux = (struct bpf_aux *)((char *)copy + insn_bytes);
	p->p_nregions = nregions;
	memcpy(p->p_regions, regions, nregions * sizeof(regions[0]));
	size_t scratch_size = bpf_verify_scratch_size(copy, len);
	if (pages_for(scratch_size) > BPF_SCRATCH_MAX_PAGES) {
		unload(kp);
		*err = -E_TOO_BIG;
		return NULL;
	}
	void *scratch = kdyn_alloc(NULL, pages_for(scratch_size));
	if (!scratch) {
		unload(kp);
		*err = -E_NO_MEM;
		return NULL;
	}
	int v = bpf_verify(p, 0, scratch, scratch_size, verr);
	kdyn_free(scratch, pages_for(scratch_size));
	if (v != BPF_OK) {
		unload(kp);
		*err = -E_REFUSED;
		return NULL;
	}
	compile_native(kp, NULL);
	return kp;
}

void dlcode_unload_kernel(struct kprog *kp)
{
	unload(kp);
}

bool dlcode_native(const struct kprog *kp)
{
	return kp->kp_fn != NULL;
}

uint64_t dlcode_run_kernel(struct kprog *kp, void *ctx, void *const *region_kptr, bool *ok)
{
	struct bpf_runtime rt;
	bpf_runtime_init(&rt, &kp->kp_prog);
	for (uint32_t i = 0; i < kp->kp_prog.p_nregions; i++)
		rt.rt_region_base[i] = (uint64_t)(uintptr_t)region_kptr[i];
	uint64_t r = kp->kp_fn ? kp->kp_fn(ctx, &rt) : bpf_interp(&kp->kp_prog, ctx, &rt);
	*ok = rt.rt_status == BPF_RUN_OK;
	return r;
}

void dlcode_init(void)
{
	env_pred_holds = pred_holds;
}

void dlcode_env_gone(struct env *e, enum env_end how UNUSED)
{
	for (unsigned i = 0; i < BPF_PROGS_PER_ENV; i++)
		if (e->env_progs[i]) {
			unload(e->env_progs[i]);
			e->env_progs[i] = NULL;
			acct_release(e->env_vm->vs_acct, QUOTA_PROGS, 1);
		}
}

bool dlcode_is_packet_handler(struct env *e, uint64_t slot)
{
	return slot < BPF_PROGS_PER_ENV && e->env_progs[slot] &&
	       e->env_progs[slot]->kp_prog.p_kind == BPF_KIND_PACKET;
}

long dlcode_run_packet(struct env *e, uint64_t slot, const uint8_t *frame, uint32_t len,
		       uint64_t arg, int (*tx)(const void *, uint64_t))
{
	struct kprog *kp = slot < BPF_PROGS_PER_ENV ? e->env_progs[slot] : NULL;
	if (!kp || kp->kp_prog.p_kind != BPF_KIND_PACKET || len > BPF_PACKET_MAX ||
	    !grants_still_owned(e, kp))
		return -1;
	struct account *a = e->env_vm->vs_acct;
	if (!acct_code_may(a, kinfo.ki_ticks))
		return -1; /* its family's time for this tick is spent */
	memcpy(packet_buf, frame, len);
	memset(packet_buf + len, 0, BPF_PACKET_MAX - len);
	struct bpf_packet_ctx ctx = { len, kinfo.ki_ticks, (uint64_t)e->env_id, arg };
	struct bpf_runtime rt;
	bpf_runtime_init(&rt, &kp->kp_prog);
	rt.rt_region_len[0] = len; /* run-time guards stop at the frame's end */
	rt.rt_clock = read_tsc;
	rt.rt_tx = tx;
	rt.rt_notify = notify_owner;
	rt.rt_owner = e;
	uint64_t r = kp->kp_fn ? kp->kp_fn(&ctx, &rt) : bpf_interp(&kp->kp_prog, &ctx, &rt);
	acct_code_spent(a, run_cost(kp, &rt));
	return rt.rt_status == BPF_RUN_OK ? (long)(r & 1) : -1;
}
