/*
 * kmain: the boot CPU's path from the boot loader to the first environment.
 * Each step depends on the ones before it; the comment on each says why it is
 * where it is.
 */
#include <inc/dpf.h>
#include <inc/env.h>
#include <inc/kinfo.h>
#include <kern/arch/rtc.h>
#include <kern/arch/entropy.h>
#include <kern/arch/x86.h>
#include <kern/arch/acpi.h>
#include <kern/arch/bootinfo.h>
#include <kern/arch/bootproto.h>
#include <kern/env/cap.h>
#include <kern/mem/stlb.h>
#include <kern/bpf/dlcode.h>
#include <kern/env/pagewait.h>
#include <kern/env/pct.h>
#include <kern/arch/console.h>
#include <kern/arch/cpu.h>
#include <kern/env/env.h>
#include <kern/arch/ioapic.h>
#include <kern/arch/lapic.h>
#include <kern/env/loader.h>
#include <kern/arch/lock.h>
#include <kern/net/net.h>
#include <kern/disk/disk.h>
#include <kern/net/netfilter.h>
#include <kern/dev/pci.h>
#include <kern/arch/pic.h>
#include <kern/mem/pmap.h>
#include <kern/debug/report.h>
#include <kern/debug/selftest.h>
#include <kern/env/slice.h>
#include <kern/dev/serial.h>
#include <kern/debug/trace.h>
#include <kern/arch/trap.h>
#include <common/string.h>

struct kern_info kinfo;

/* Fill the exposed kern_info from what boot found. */
static void kinfo_init(void)
{
	kinfo.ki_tsc_hz = tsc_hz;
	kinfo.ki_tick_hz = TICK_HZ;
	kinfo.ki_ncpu = ncpu;
	kinfo.ki_npages = pages_total;
	kinfo.ki_free_pages = pages_free;
	kinfo.ki_nenv = NENV;
	kinfo.ki_boot_tsc = rdtsc();
	kinfo.ki_boot_unix = rtc_read_unix(); /* wall-clock time, for date */
	kinfo.ki_entropy_source = entropy_init(kinfo.ki_boot_unix);
	strlcpy(kinfo.ki_cmdline, boot_info.cmdline, sizeof(kinfo.ki_cmdline));
	for (unsigned i = 0; i < nprograms && kinfo.ki_nprogs < KI_MAX_PROGS; i++)
		strlcpy(kinfo.ki_progs[kinfo.ki_nprogs++], programs[i].name, KI_PROG_NAME_LEN);
}

/*
 * The command line names the first program and its arguments:
 *   init=PROGRAM [-- ARGS...]      (default: init, no arguments)
 * and takes, for debugging (doc/debugging.md):
 *   trace=1                        trace the first env's system calls
 *   panic_test=1 | panic_test=fault  panic on purpose once it is created
 */
static void start_first_env(void)
{
	char name[ENV_NAME_LEN] = "init";
	const char *args = "";
	const char *panic_mode = NULL;
	bool trace = false;
	const char *cmd = boot_info.cmdline;
	for (const char *p = cmd; *p;) {
		while (*p == ' ')
			p++;
		if (strncmp(p, "init=", 5) == 0) {
			size_t n = 0;
			for (p += 5; p[n] && p[n] != ' ' && n + 1 < sizeof(name); n++)
				name[n] = p[n];
			name[n] = '\0';
			p += n;
		} else if (strncmp(p, "--", 2) == 0 && (p[2] == ' ' || p[2] == '\0')) {
			args = p + 2;
			break;
		} else if (strncmp(p, "trace=1", 7) == 0 && (p[7] == ' ' || p[7] == '\0')) {
			trace = true;
		} else if (strncmp(p, "panic_test=", 11) == 0) {
			panic_mode = p + 11;
		}
		while (*p && *p != ' ')
			p++;
	}
	/* The first env's family holds the machine: every global table whole. */
	env_root_quota[QUOTA_PAGES] = pages_total;
	env_root_quota[QUOTA_GUARDS] = GUARD_MAX - 1;
	env_root_quota[QUOTA_BINDINGS] = STLB_POOL_MAX;
	env_root_quota[QUOTA_SLICES] = (uint64_t)NSLICES * MIN(ncpu, SLICE_CPUS);
	/* A filter costs 1 + its atoms: within this no trie table can fill
	 * (doc/design.md). */
	env_root_quota[QUOTA_FILTERS] = DPF_MAX_NODES;
	env_root_quota[QUOTA_RINGS] = NET_RINGS;
	env_root_quota[QUOTA_PROGS] = (uint64_t)NENV * BPF_PROGS_PER_ENV;
	env_root_quota[QUOTA_ENVS] = NENV;
	env_root_quota[QUOTA_KEYS] = (uint64_t)NENV * CAP_RING; /* every ring full */
	env_root_quota[QUOTA_DCACHE] = BC_DATA_MAX;
	if (nprograms == 0) {
		/* Not a kernel bug: how it was booted (doc/boot.md). */
		cprintf("exo: the boot image holds no programs (no archive, or it was refused):"
			" nothing to run; halting\n");
		outw(0xf4, 0); /* QEMU's isa-debug-exit, if present */
		halt_forever();
	}
	if (!program_find(name)) {
		cprintf("exo: no program '%s' in the boot archive (init=%s): nothing to run;"
			" halting\n",
			name, name);
		outw(0xf4, 0);
		halt_forever();
	}
	long id = env_create(NULL, NULL, name, args);
	if (id < 0)
		panic("start_first_env: cannot start '%s': %le", name, id);
	kinfo.ki_console = (envid_t)id;
	if (trace)
		trace_set(env_lookup((envid_t)id), true);
	if (panic_mode)
		panic_test(panic_mode);
}

void kmain(uint32_t protocol, uint64_t info_pa)
{
	/* Output first, so everything after can report; then what a panic
	 * and a killed env print (the debug layer's hooks). */
	serial_init();
	report_init();
	trace_init();
	/* Copy the loader's data before any page can be reused. */
	bool have_map = bootinfo_parse(protocol, info_pa);
	/* GDT, TSS, %gs, syscall MSRs, NX: pmap's tables use NX bits. */
	cpu_init(0, 0);
	cprintf("\nExo exokernel, booted by %s\n", protocol == BOOT_PVH          ? "PVH"
						   : protocol == BOOT_MULTIBOOT2 ? "multiboot2"
										 : "?");
	if (!have_map)
		panic("kmain: the boot loader gave no memory map");
	/* Direct map, kernel tables, the page table of owners (which keeps
	 * the boot module's pages); then the module's programs, through the
	 * direct map. */
	pmap_init();
	programs_init();
	/* ACPI tables are reached through the direct map. */
	acpi_init(boot_info.rsdp_pa);
	trap_init();
	trap_init_percpu();
	env_init();
	cap_init();
	slice_init();
	dlcode_init();
	/* What goes when an env goes (destroy or exec), in this order:
	 * downloaded programs before the filters naming them and before the
	 * env's pages, in which they live (env.c's env_gone). */
	env_gone_register(pct_env_gone);
	env_gone_register(slice_env_gone);
	env_gone_register(dlcode_env_gone);
	env_gone_register(netfilter_env_gone);
	env_gone_register(net_env_gone);
	env_gone_register(disk_env_gone); /* pinned pages stay the kernel's */
	env_gone_register(pagewait_env_gone); /* a sharer may be gone: sleepers look again */
	pmap_expose(UINFO, &kinfo, PAGE_SIZE);
	/* Interrupt controllers, then the calibrated timer. */
	pic_disable();
	lapic_init();
	cpus[0].cpu_apic_id = lapic_id();
	lapic_timer_calibrate();
	ioapic_init();
	ioapic_route(4, IRQ_SERIAL, lapic_id());
	serial_enable_rx_irq();
	/* Devices: the PCI scan, then the NIC (MSI-X to this CPU) if there is one. */
	pci_init();
	netfilter_init();
	net_init();
	disk_init(); /* the disk, and XN's mount if it is formatted */
	kinfo_init();
	selftest_run();
	lapic_timer_start(TICK_HZ);

	start_first_env();
	lock_kernel();
	sched_yield();
}
