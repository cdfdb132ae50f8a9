/*
 * Downloaded code in the kernel: wakeup predicates loaded by an env (from
 * instructions and from a clang-built ELF object), the verifier's refusals
 * reported with the instruction and the reason, every load error, a
 * predicate that wakes a sleeper with no message sent, one that never ends
 * (stopped by its budget) and one whose memory changed hands.
 */
#include <inc/dpf.h>
#include <inc/net.h>
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>
#include <lib/base/wakeup.h>

/* r0 = (u64 at region 0 offset 0) != 0 */
static const struct bpf_insn flag_set[] = {
	BPF_LD_REGION(1, 0, 0),        BPF_LDX_MEM(BPF_DW, 2, 1, 0), BPF_MOV64_IMM(0, 0),
	BPF_JMP_IMM(BPF_JEQ, 2, 0, 1), BPF_MOV64_IMM(0, 1),          BPF_EXIT_INSN(),
};

int main(void)
{
	volatile uint64_t *shared = vm_alloc_shared(PAGE_SIZE);
	struct bpf_grant g = { (uint64_t)shared, 64, BPF_REGION_READ, 0 };
	struct bpf_load_error err;

	long slot = wakeup_load(flag_set, ARRAY_SIZE(flag_set), &g, 1, &err);
	check("load", slot >= 0);
	check("pages-charged", thisenv->env_pages > 0);
	check_eq("not-yet", sys_env_sleep_until((uint64_t)slot, 0, 0), 0);
	shared[0] = 1;
	check_eq("holds-at-once", sys_env_sleep_until((uint64_t)slot, 0, 1000), 2);
	shared[0] = 0;

	/* a child sets the flag later and sends nothing: the kernel's run of
	 * the predicate is what wakes us */
	long pid = fork();
	if (pid == 0) {
		sys_env_sleep(20);
		shared[0] = 1;
		exit(0);
	}
	uint32_t runs = thisenv->env_pred_runs;
	check_eq("woken-by-predicate", sys_env_sleep_until((uint64_t)slot, 0, 5000), 2);
	check("predicate-ran-while-asleep", thisenv->env_pred_runs > runs + 1);
	wait(pid);

	/* the clang-built pipe predicate, from its ELF object */
	long p = wakeup_load_elf(bpfobj_pipe_ready,
				 (size_t)(bpfobj_pipe_ready_end - bpfobj_pipe_ready), &g, 1, &err);
	check("load-elf", p >= 0);
	shared[0] = 5; /* head != tail */
	check_eq("elf-holds", sys_env_sleep_until((uint64_t)p, 0, 0), 2);
	check_eq("unload", sys_bpf_unload((uint64_t)p), 0);
	check_eq("unload-again", sys_bpf_unload((uint64_t)p), -E_NOT_FOUND);
	check_eq("unload-bad", sys_bpf_unload(BPF_PROGS_PER_ENV), -E_INVAL);
	check_eq("sleep-bad-slot", sys_env_sleep_until(BPF_PROGS_PER_ENV, 0, 0), -E_INVAL);
	check_eq("sleep-empty-slot", sys_env_sleep_until((uint64_t)p, 0, 0), -E_NOT_FOUND);

	/* refusals say where and why */
	const struct bpf_insn oob[] = {
		BPF_LD_REGION(1, 0, 0),
		BPF_LDX_MEM(BPF_DW, 0, 1, 4096), /* past the 64 bytes granted */
		BPF_EXIT_INSN(),
	};
	check_eq("refuse-oob", wakeup_load(oob, ARRAY_SIZE(oob), &g, 1, &err), -E_REFUSED);
	check("refuse-oob-where", err.le_reason == BPF_ERR_OOB && err.le_insn == 2);
	const struct bpf_insn uninit[] = { BPF_MOV64_REG(0, 5), BPF_EXIT_INSN() };
	check_eq("refuse-uninit", wakeup_load(uninit, 2, NULL, 0, &err), -E_REFUSED);
	check("refuse-uninit-why", err.le_reason == BPF_ERR_UNINIT_REG && err.le_insn == 0);
	const struct bpf_insn leak[] = {
		BPF_LD_REGION(1, 0, 0),
		BPF_STX_MEM(BPF_DW, 1, 1, 0), /* a kernel pointer into user memory */
		BPF_MOV64_IMM(0, 0),
		BPF_EXIT_INSN(),
	};
	struct bpf_grant gw = g;
	gw.g_flags |= BPF_REGION_WRITE;
	check_eq("refuse-leak", wakeup_load(leak, ARRAY_SIZE(leak), &gw, 1, &err), -E_REFUSED);
	check("refuse-leak-why", err.le_reason == BPF_ERR_PTR_LEAK);

	/* load errors */
	struct bpf_load a = { 99, 2, uninit, NULL, 0, 0, NULL };
	check_eq("bad-kind", sys_bpf_load(&a), -E_INVAL);
	check_eq("bad-args", sys_bpf_load((struct bpf_load *)16), -E_FAULT);
	check_eq("no-insns", wakeup_load(flag_set, 0, NULL, 0, NULL), -E_INVAL);
	check_eq("too-long", wakeup_load(flag_set, BPF_MAX_INSNS + 1, NULL, 0, NULL), -E_INVAL);
	check_eq("insns-unreadable", wakeup_load((struct bpf_insn *)16, 4, NULL, 0, NULL),
		 -E_FAULT);
	struct bpf_grant bad = { (uint64_t)shared + 4000, 200, BPF_REGION_READ, 0 };
	check_eq("grant-crosses-page", wakeup_load(flag_set, ARRAY_SIZE(flag_set), &bad, 1, NULL),
		 -E_INVAL);
	bad = (struct bpf_grant){ 0x0000510000000000UL, 8, BPF_REGION_READ, 0 };
	check_eq("grant-unbound", wakeup_load(flag_set, ARRAY_SIZE(flag_set), &bad, 1, NULL),
		 -E_FAULT);
	bad = (struct bpf_grant){ UINFO, 8, BPF_REGION_READ, 0 };
	check_eq("grant-not-user", wakeup_load(flag_set, ARRAY_SIZE(flag_set), &bad, 1, NULL),
		 -E_INVAL);
	bad = (struct bpf_grant){ UTEXT, 8, BPF_REGION_READ, 0 };
	check_eq("grant-shared-text", wakeup_load(flag_set, ARRAY_SIZE(flag_set), &bad, 1, NULL),
		 -E_PERM);
	bad = (struct bpf_grant){ (uint64_t)shared, 8, BPF_REGION_READ | 0x80, 0 };
	check_eq("grant-bad-flags", wakeup_load(flag_set, ARRAY_SIZE(flag_set), &bad, 1, NULL),
		 -E_INVAL);
	long more[BPF_PROGS_PER_ENV];
	int n = 0;
	long r;
	while ((r = wakeup_load(flag_set, ARRAY_SIZE(flag_set), &g, 1, NULL)) >= 0)
		more[n++] = r;
	check_eq("slots-full", r, -E_FULL);
	for (int i = 0; i < n; i++)
		sys_bpf_unload((uint64_t)more[i]);

	/* a predicate that never ends is stopped by its budget: it does not
	 * hold, and the kernel and the sleeper carry on */
	const struct bpf_insn forever[] = {
		BPF_MOV64_IMM(0, 0),
		BPF_ALU64_IMM(BPF_ADD, 0, 1),
		BPF_JMP_IMM(BPF_JNE, 0, 0, -2), /* 2^64 times round */
		BPF_EXIT_INSN(),
	};
	long f = wakeup_load(forever, ARRAY_SIZE(forever), NULL, 0, &err);
	check("loop-accepted-with-budget", f >= 0);
	check_eq("loop-does-not-hold", sys_env_sleep_until((uint64_t)f, 0, 5), 0);
	sys_bpf_unload((uint64_t)f);

	/* packet handlers (kind BPF_KIND_PACKET): region 0 is the frame,
	 * read-only, BPF_PACKET_MAX bytes; the env's grants follow it. Run on
	 * real frames by ashecho (tools/test-net). */
	struct bpf_grant gp = { (uint64_t)shared, PAGE_SIZE, BPF_REGION_READ | BPF_REGION_WRITE,
				0 };
	long ph =
		bpf_load_elf(BPF_KIND_PACKET, "packet", bpfobj_udp_echo_ash,
			     (size_t)(bpfobj_udp_echo_ash_end - bpfobj_udp_echo_ash), &gp, 1, &err);
	check("packet-load-elf", ph >= 0);
	check_eq("packet-is-no-predicate", sys_env_sleep_until((uint64_t)ph, 0, 0), -E_INVAL);
	check_eq("packet-attach-no-filter",
		 sys_net_filter_ash(DPF_MAX_FILTERS - 1, (uint64_t)ph, 0), -E_NOT_FOUND);
	check_eq("packet-attach-bad-filter", sys_net_filter_ash(DPF_MAX_FILTERS, (uint64_t)ph, 0),
		 -E_INVAL);
	sys_bpf_unload((uint64_t)ph);
	long pn = bpf_load_elf(BPF_KIND_PACKET, "packet", bpfobj_udp_notify_ash,
			       (size_t)(bpfobj_udp_notify_ash_end - bpfobj_udp_notify_ash), &gp, 1,
			       &err);
	check("packet-notify-loads", pn >= 0);
	sys_bpf_unload((uint64_t)pn);
	const struct bpf_insn notify[] = {
		BPF_MOV64_IMM(1, 0), BPF_MOV64_IMM(2, 0),
		BPF_MOV64_IMM(3, 0), BPF_CALL_HELPER(BPF_HELPER_NOTIFY),
		BPF_EXIT_INSN(),
	};
	struct bpf_load pnw = { BPF_KIND_WAKEUP, ARRAY_SIZE(notify), notify, NULL, 0, 0, &err };
	check_eq("predicate-may-not-notify", sys_bpf_load(&pnw), -E_REFUSED);
	check("predicate-may-not-notify-why",
	      err.le_reason == BPF_ERR_BAD_HELPER && err.le_insn == 3);
	check_eq("packet-wrong-section",
		 bpf_load_elf(BPF_KIND_PACKET, "wakeup", bpfobj_udp_echo_ash,
			      (size_t)(bpfobj_udp_echo_ash_end - bpfobj_udp_echo_ash), &gp, 1,
			      &err) < 0,
		 1);
	const struct bpf_insn frame_end[] = {
		BPF_LD_REGION(1, 0, 0),
		BPF_LDX_MEM(BPF_B, 0, 1, BPF_PACKET_MAX - 1), /* the frame's last byte */
		BPF_EXIT_INSN(),
	};
	struct bpf_load pa = {
		BPF_KIND_PACKET, ARRAY_SIZE(frame_end), frame_end, NULL, 0, 0, &err
	};
	long fe = sys_bpf_load(&pa);
	check("packet-reads-frame", fe >= 0);
	sys_bpf_unload((uint64_t)fe);
	const struct bpf_insn past_frame[] = {
		BPF_LD_REGION(1, 0, 0),
		BPF_LDX_MEM(BPF_B, 0, 1, BPF_PACKET_MAX),
		BPF_EXIT_INSN(),
	};
	pa.bl_insns = past_frame;
	check_eq("packet-refuse-past-frame", sys_bpf_load(&pa), -E_REFUSED);
	check("packet-refuse-past-frame-why", err.le_reason == BPF_ERR_OOB && err.le_insn == 2);
	const struct bpf_insn write_frame[] = {
		BPF_LD_REGION(1, 0, 0),
		BPF_ST_MEM(BPF_B, 1, 0, 0), /* the frame is read-only */
		BPF_MOV64_IMM(0, 1),
		BPF_EXIT_INSN(),
	};
	pa.bl_insns = write_frame;
	pa.bl_len = ARRAY_SIZE(write_frame);
	check_eq("packet-refuse-frame-write", sys_bpf_load(&pa), -E_REFUSED);
	check("packet-refuse-frame-write-why", err.le_reason == BPF_ERR_READ_ONLY);
	struct bpf_grant many[BPF_MAX_REGIONS];
	for (int i = 0; i < BPF_MAX_REGIONS; i++)
		many[i] = g;
	pa.bl_insns = frame_end;
	pa.bl_len = ARRAY_SIZE(frame_end);
	pa.bl_grants = many;
	pa.bl_ngrants = BPF_MAX_REGIONS; /* one too many: region 0 is the frame */
	check_eq("packet-too-many-grants", sys_bpf_load(&pa), -E_INVAL);
	const struct bpf_insn pred_tx[] = {
		BPF_MOV64_IMM(1, 0),  BPF_MOV64_IMM(2, 0),
		BPF_MOV64_IMM(3, 60), BPF_CALL_HELPER(BPF_HELPER_TX),
		BPF_EXIT_INSN(),
	};
	check_eq("predicate-may-not-tx", wakeup_load(pred_tx, ARRAY_SIZE(pred_tx), &g, 1, &err),
		 -E_REFUSED);
	check("predicate-may-not-tx-why", err.le_reason == BPF_ERR_BAD_HELPER && err.le_insn == 3);

	/* memory that changed hands is never read again */
	volatile uint64_t *mine = vm_alloc(PAGE_SIZE);
	mine[0] = 1;
	struct bpf_grant gm = { (uint64_t)mine, 8, BPF_REGION_READ, 0 };
	long m = wakeup_load(flag_set, ARRAY_SIZE(flag_set), &gm, 1, NULL);
	/* it may have to wait for a tick: the looping predicate above can
	 * leave the family's budget for downloaded code spent, and a run
	 * denied for budget does not hold (seen in make test under load) */
	check_eq("holds-before-free", sys_env_sleep_until((uint64_t)m, 0, 10 * ukinfo->ki_tick_hz),
		 2);
	vm_unmap((uint64_t)mine, PAGE_SIZE); /* the page goes back to the kernel */
	check_eq("never-after-free", sys_env_sleep_until((uint64_t)m, 0, 0), 0);
	return test_finish();
}
