/*
 * hostile MODE: misbehaves in one way; test_hostile checks that the kernel
 * kills it (or that it survives its own abuse) while other envs run on.
 *
 * hostile family KIND N LIMIT: a family attack on one kind of resource
 * (pages, guards, bindings, slices, filters, rings, envs). Once its creator
 * has set its quota of KIND to LIMIT, it starts N children running
 * "grab KIND", lets each grab all it can, grabs too, and sleeps for ever
 * holding it all: the family's quota, not the machine, must run out.
 *
 * hostile swarm SIZE: children each hoard SIZE pages ("hoard SIZE"), one
 * after another until memory runs out, then all sleep holding them: each
 * is smaller than a bystander of more than SIZE pages, the family bigger
 * than anyone. Revocation must come to this family, not the bystander.
 *
 * hostile busy-ash PORT: starts udpecho (port 5555) as a child, then puts
 * on its own filter for UDP PORT a packet handler that runs to its budget
 * on every frame, and never reads its ring. A flood to PORT must not stop
 * the kernel receiving udpecho's frames (tools/test-tap).
 */
#include <inc/slice.h>
#include <lib/base/libos.h>
#include <lib/net/net.h>
#include <common/xorshift.h>

static void loop_handler(struct upcall_frame *uf)
{
	(void)uf; /* fixes nothing: the fault repeats forever */
}

static void faulting_handler(struct upcall_frame *uf)
{
	(void)uf;
	*(volatile int *)0 = 1; /* faults again, nesting until the stack is full */
}

static uint64_t rng = 0x9e3779b97f4a7c15UL;

static uint64_t next_random(void)
{
	return xorshift64(&rng);
}

/* Arguments worth trying: edges of every range the kernel checks. */
static uint64_t nasty_value(void)
{
	static const uint64_t v[] = {
		0,
		1,
		7,
		4095,
		4096,
		(uint64_t)-1,
		(uint64_t)-4096,
		0x7fffffff,
		0x80000000,
		UTOP,
		UTOP - PAGE_SIZE,
		UTOP - 1,
		UPAGES,
		UENVS,
		UINFO,
		ULIM,
		ULIM - 1,
		0xffff800000000000UL,
		0xffffffff80000000UL,
		0xffffffff80200000UL,
		0x400000,
		0x0000200000000000UL,
		PPN_ANY,
		1UL << 63,
	};
	uint64_t r = next_random();
	return (r & 1) ? v[(r >> 1) % ARRAY_SIZE(v)] : next_random();
}

/* Random system calls with hostile arguments. Calls that would end this env
 * on purpose are skipped; binds are kept off the program's own pages so it
 * survives to report. */
static int syscall_fuzz(void)
{
	for (int i = 0; i < 3000; i++) {
		uint64_t num = next_random() % (NSYSCALLS + 4);
		uint64_t a[5];
		for (int j = 0; j < 5; j++)
			a[j] = nasty_value();
		if (num == SYS_env_exit || num == SYS_cgetc || num == SYS_machine_exit ||
		    num == SYS_machine_reboot)
			continue; /* refused to a child anyway; as the first env they end the run */
		if (num == SYS_env_destroy && (envid_t)a[0] == thisenv_id)
			continue;
		if (num == SYS_env_sleep || num == SYS_env_sleep_child)
			a[0] %= 3; /* sleeping for ever is allowed, but ends the test */
		if (num == SYS_page_sleep)
			a[2] %= 3;
		/* console output only from unmapped addresses: no junk on the line */
		if (num == SYS_cputs && a[0] < ULIM)
			a[0] = 0x0000500000000000UL + (a[0] & 0xffffff);
		/* (envid, va, ...): keep its own binds and protections off its own pages */
		if ((num == SYS_page_bind || num == SYS_page_unbind || num == SYS_page_protect) &&
		    a[1] < UTOP)
			a[1] = 0x0000200000000000UL + (a[1] % (1UL << 30));
		exo_syscall(num, a[0], a[1], a[2], a[3], a[4]);
	}
	printf("hostile: survived 3000 random system calls\n");
	return 0;
}

#define GRAB_VA 0x0000300000000000UL /* where grabbing binds */

static uint64_t grab_pages(void)
{
	uint64_t n = 0;
	while (sys_page_alloc(PPN_ANY, CAP_SELF) >= 0)
		n++;
	return n;
}

/* A page under a new name each: a new entry of the guard table each. */
static uint64_t grab_guards(void)
{
	uint64_t n = 0;
	for (uint16_t i = 1; i < 60000; i++) {
		uint16_t name[2] = { (uint16_t)thisenv_id, i };
		if (sys_cap_derive(CAP_SELF, 1, CAP_ALL, name, 2) < 0 ||
		    sys_page_alloc(PPN_ANY, 1) < 0)
			break;
		n++;
	}
	return n;
}

/* One page bound again and again, a batch at a time. */
static uint64_t grab_bindings(void)
{
	long ppn = sys_page_alloc(PPN_ANY, CAP_SELF);
	if (ppn < 0)
		return 0;
	static struct bind_req reqs[BIND_BATCH_MAX];
	uint64_t n = 0;
	for (;;) {
		for (int i = 0; i < BIND_BATCH_MAX; i++)
			reqs[i] = (struct bind_req){ GRAB_VA + (n + (uint64_t)i) * PAGE_SIZE,
						     (uint64_t)ppn, BIND_READ };
		if (sys_page_bind_batch(0, reqs, BIND_BATCH_MAX, CAP_SELF) < 0)
			break;
		n += BIND_BATCH_MAX;
	}
	/* the rest one at a time, up to the limit exactly */
	while (sys_page_bind(0, GRAB_VA + n * PAGE_SIZE, (uint64_t)ppn, BIND_READ, CAP_SELF) == 0)
		n++;
	return n;
}

static uint64_t grab_slices(void)
{
	uint64_t n = 0;
	for (uint32_t cpu = 0; cpu < ukinfo->ki_ncpu; cpu++)
		while (sys_slice_alloc(cpu, SLICE_ANY, 0, CAP_SELF) >= 0)
			n++;
	return n;
}

/* Filters nobody else's overlap: each names this env and a counter. */
static uint64_t grab_filters(void)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < 64; i++) {
		struct dpf_filter f = { .df_natoms = 1 };
		f.df_atoms[0] = DPF_EQ(0, 4, 0xffffffff, ((uint32_t)thisenv_id << 8) | i);
		if (sys_net_filter_add(&f, CAP_SELF) < 0)
			break;
		n++;
	}
	return n;
}

static uint64_t grab_rings(void)
{
	long ppn = sys_page_alloc(PPN_ANY, CAP_SELF);
	if (ppn < 0 ||
	    sys_page_bind(0, GRAB_VA, (uint64_t)ppn, BIND_READ | BIND_WRITE, CAP_SELF) < 0)
		return 0;
	return sys_net_ring_attach((void *)GRAB_VA, 1) > 0;
}

static uint64_t grab_envs(void)
{
	uint64_t n = 0;
	while (sys_env_fork(CAP_SELF) > 0)
		n++;
	return n;
}

static const struct {
	const char *name;
	unsigned kind;
	uint64_t (*grab)(void);
} grabs[] = {
	{ "pages", QUOTA_PAGES, grab_pages },
	{ "guards", QUOTA_GUARDS, grab_guards },
	{ "bindings", QUOTA_BINDINGS, grab_bindings },
	{ "slices", QUOTA_SLICES, grab_slices },
	{ "filters", QUOTA_FILTERS, grab_filters },
	{ "rings", QUOTA_RINGS, grab_rings },
	{ "envs", QUOTA_ENVS, grab_envs },
};

static int find_grab(const char *kind)
{
	for (unsigned i = 0; i < ARRAY_SIZE(grabs); i++)
		if (!strcmp(kind, grabs[i].name))
			return (int)i;
	return -1;
}

static bool blocked(envid_t id)
{
	const volatile struct env_info *e = &uenvs[ENVX(id)];
	return e->env_id == id && e->env_status == ENV_BLOCKED;
}

/* Grab all of one kind, say how much, and hold it until destroyed. */
static int grab(const char *kind)
{
	int g = find_grab(kind);
	if (g < 0)
		return 2;
	uint64_t n = grabs[g].grab();
	printf("hostile: env %08x grabbed %lu %s\n", thisenv_id, n, kind);
	for (;;)
		sys_env_sleep(UINT64_MAX);
}

static int family(const char *kind, uint64_t n, uint64_t limit)
{
	int g = find_grab(kind);
	if (g < 0)
		return 2;
	/* the quota first: the creator sets it just after creating us */
	struct quota_info qi;
	uint64_t until = ukinfo->ki_ticks + 5 * ukinfo->ki_tick_hz;
	while (sys_env_quota(0, &qi) == 0 && qi.qi_limit[grabs[g].kind] != limit &&
	       ukinfo->ki_ticks < until)
		sys_yield();
	char args[32];
	snprintf(args, sizeof(args), "grab %s", kind);
	for (uint64_t i = 0; i < n; i++) {
		long id = sys_env_create("hostile", args, CAP_SELF);
		if (id < 0)
			break;
		/* one at a time: each grabs, then sleeps holding it */
		until = ukinfo->ki_ticks + 20 * ukinfo->ki_tick_hz;
		while (!blocked((envid_t)id) && ukinfo->ki_ticks < until)
			sys_yield();
	}
	return grab(kind);
}

static int hoard(uint64_t size)
{
	uint64_t n = 0;
	while (n < size && sys_page_alloc(PPN_ANY, CAP_SELF) >= 0)
		n++;
	for (;;)
		sys_env_sleep(UINT64_MAX);
	return 0;
}

static int swarm(uint64_t size)
{
	char args[32];
	snprintf(args, sizeof(args), "hoard %lu", size);
	uint64_t kids = 0;
	for (;;) {
		long id = sys_env_create("hostile", args, CAP_SELF);
		if (id < 0)
			break;
		kids++;
		uint64_t until = ukinfo->ki_ticks + 20 * ukinfo->ki_tick_hz;
		while (!blocked((envid_t)id) && ukinfo->ki_ticks < until)
			sys_yield();
		if (uenvs[ENVX(id)].env_user_pages < size)
			break; /* memory ran out */
	}
	printf("hostile: swarm of %lu hoarders of %lu pages\n", kids, size);
	for (;;)
		sys_env_sleep(UINT64_MAX);
	return 0;
}

static int busy_ash(uint16_t port)
{
	static const struct bpf_insn forever[] = {
		BPF_MOV64_IMM(0, 0),
		BPF_ALU64_IMM(BPF_ADD, 0, 1),
		BPF_JMP_IMM(BPF_JNE, 0, 0, -2),
		BPF_EXIT_INSN(),
	};
	/* our ring first: we are the default receiver (ARP) */
	if (net_open() < 0)
		return 3;
	int s = udp_socket();
	long id = udp_bind(s, port) < 0 ? -1 : udp_filter(s);
	struct bpf_load a = { BPF_KIND_PACKET, ARRAY_SIZE(forever), forever, NULL, 0, 0, NULL };
	long f = sys_bpf_load(&a);
	if (id < 0 || f < 0 || sys_net_filter_ash((uint64_t)id, (uint64_t)f, 0) < 0)
		return 4;
	if (sys_env_create("udpecho", "", CAP_SELF) < 0)
		return 5;
	printf("hostile: busy handler on udp port %u\n", port);
	for (;;)
		sys_env_sleep(UINT64_MAX); /* its ring fills and stays full */
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "grab") && argc == 3)
		return grab(argv[2]);
	if (!strcmp(mode, "busy-ash") && argc == 3)
		return busy_ash((uint16_t)strtoul(argv[2], NULL, 0));
	if (!strcmp(mode, "hoard") && argc == 3)
		return hoard(strtoul(argv[2], NULL, 0));
	if (!strcmp(mode, "swarm") && argc == 3)
		return swarm(strtoul(argv[2], NULL, 0));
	if (!strcmp(mode, "family") && argc == 5)
		return family(argv[2], strtoul(argv[3], NULL, 0), strtoul(argv[4], NULL, 0));
	if (!strcmp(mode, "null")) {
		*(volatile int *)0 = 1;
	} else if (!strcmp(mode, "kernel-read")) {
		(void)*(volatile uint64_t *)0xffffffff80200000UL;
	} else if (!strcmp(mode, "physmap-write")) {
		*(volatile uint64_t *)0xffff800000100000UL = 0;
	} else if (!strcmp(mode, "no-xstack")) {
		/* entry fine, stack never bound */
		sys_env_set_upcall(UPCALL_EXCEPTION, (uint64_t)loop_handler, 0x0000500000000000UL,
				   0x0000500000002000UL);
		*(volatile int *)0 = 1;
	} else if (!strcmp(mode, "ro-xstack")) {
		long ppn = sys_page_alloc(PPN_ANY, CAP_SELF);
		sys_page_bind(0, 0x0000500000000000UL, (uint64_t)ppn, BIND_READ, CAP_SELF);
		sys_env_set_upcall(UPCALL_EXCEPTION, (uint64_t)loop_handler, 0x0000500000000000UL,
				   0x0000500000001000UL);
		*(volatile int *)0 = 1;
	} else if (!strcmp(mode, "bad-entry")) {
		exception_set_handler(loop_handler);
		sys_env_set_upcall(UPCALL_EXCEPTION, 0x0000600000000000UL,
				   LIBOS_XSTACK_TOP - LIBOS_XSTACK_PAGES * PAGE_SIZE,
				   LIBOS_XSTACK_TOP);
		*(volatile int *)0 = 1;
	} else if (!strcmp(mode, "data-entry")) {
		/* entry on a non-executable page */
		static uint8_t data[64];
		exception_set_handler(loop_handler);
		sys_env_set_upcall(UPCALL_EXCEPTION, (uint64_t)data,
				   LIBOS_XSTACK_TOP - LIBOS_XSTACK_PAGES * PAGE_SIZE,
				   LIBOS_XSTACK_TOP);
		*(volatile int *)0 = 1;
	} else if (!strcmp(mode, "recursive-fault")) {
		exception_set_handler(faulting_handler);
		*(volatile int *)0 = 1;
	} else if (!strcmp(mode, "fault-loop")) {
		exception_set_handler(loop_handler);
		*(volatile int *)0 = 1;
	} else if (!strcmp(mode, "soft-int")) {
		__asm__ volatile("int $0x40"); /* the timer's vector: DPL 0 */
	} else if (!strcmp(mode, "io-port")) {
		__asm__ volatile("outb %%al, $0x80" : : "a"(0));
	} else if (!strcmp(mode, "cr3")) {
		__asm__ volatile("movq %%cr3, %%rax" : : : "rax");
	} else if (!strcmp(mode, "syscall-fuzz")) {
		return syscall_fuzz();
	} else {
		printf("hostile: unknown mode '%s'\n", mode);
		return 2;
	}
	printf("hostile: %s: still alive\n", mode);
	return 1;
}
