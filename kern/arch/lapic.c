/*
 * The local APIC in xAPIC mode, through its registers at acpi.lapic_pa.
 *
 * Every CPU enables its own APIC (lapic_init) with the spurious vector
 * IRQ_SPURIOUS, accepts every priority, and masks the inputs the kernel does
 * not use: LINT0 (the 8259's ExtINT line, off since pic_disable), the error,
 * performance and thermal interrupts. The LINT the MADT names as NMI stays an
 * NMI. The timer is calibrated once, on the boot CPU, against PIT channel 2
 * (gated through port 0x61, so no PIT interrupt is involved); the same run
 * measures the TSC, whose rate later delays and SMP start-up use. All LAPIC
 * timers share one clock, so the other CPUs reuse the boot CPU's figure.
 *
 * Locking: lapic_init, lapic_timer_calibrate and lapic_start_ap run during
 * init on the boot CPU (lapic_init also on each CPU as it starts, touching
 * only its own APIC). lapic_eoi, lapic_id, lapic_timer_start and
 * lapic_send_ipi touch only the calling CPU's APIC and need no lock; the two
 * ICR writes of an IPI are made with interrupts off so a handler can't send
 * one in between.
 */
#include <kern/arch/acpi.h>
#include <kern/arch/console.h>
#include <kern/arch/lapic.h>
#include <kern/arch/mmu.h>
#include <kern/arch/trap.h>
#include <kern/arch/x86.h>

uint64_t tsc_hz;
uint64_t lapic_timer_hz;

/* Register offsets (SDM vol. 3, table 10-1), each a 32-bit word. */
#define LAPIC_ID 0x020
#define LAPIC_VER 0x030
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_IRR 0x200 /* eight words, 32 vectors each, 0x10 apart */
#define LAPIC_ESR 0x280
#define LAPIC_LVT_CMCI 0x2f0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_THERMAL 0x330
#define LAPIC_LVT_PERF 0x340
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0

#define SVR_ENABLE 0x100
#define LVT_DELIVERY_NMI (4U << 8)
#define LVT_MASKED (1U << 16)
#define LVT_TIMER_PERIODIC (1U << 17)
#define TIMER_DIV_16 0x3
#define ICR_FIXED (0U << 8)
#define ICR_INIT (5U << 8)
#define ICR_STARTUP (6U << 8)
#define ICR_PENDING (1U << 12)  /* delivery status: not yet accepted */
#define ICR_ASSERT (1U << 14)
#define ICR_LEVEL (1U << 15)
#define ICR_DEST_SHIFT 24       /* in ICR_HI: physical destination APIC id */

#define APIC_BASE_X2APIC (1UL << 10)
#define APIC_BASE_ENABLE (1UL << 11)
#define APIC_BASE_ADDR 0x000ffffffffff000UL

#define CPUID1_EDX_APIC (1U << 9)

/* Bounds waits on hardware that should answer in microseconds. */
#define SPIN_MAX 1000000

static volatile uint32_t *lapic;

static uint32_t lapic_read(uint32_t reg)
{
	return lapic[reg / 4];
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	lapic[reg / 4] = v;
	(void)lapic[LAPIC_ID / 4]; /* reading back makes the write take effect now */
}

/* Find the APIC's registers; the boot CPU's first lapic_init call does it. */
static void lapic_locate(void)
{
	uint32_t edx;
	cpuid(1, 0, NULL, NULL, NULL, &edx);
	if (!(edx & CPUID1_EDX_APIC))
		panic("lapic_init: this CPU has no local APIC");

	/* The MSR is where this APIC actually answers; the MADT should agree. */
	physaddr_t pa = rdmsr(MSR_APIC_BASE) & APIC_BASE_ADDR;
	if (pa != acpi.lapic_pa)
		cprintf("lapic: MADT says 0x%lx, APIC base MSR 0x%lx; using the MSR\n",
			acpi.lapic_pa, pa);
	lapic = KADDR(pa);
}

void lapic_init(void)
{
	if (!lapic)
		lapic_locate();

	/*
	 * Firmware may have left the APIC in x2APIC mode; the only way back to
	 * xAPIC is through disabled (SDM 10.12.5). Then enable it globally.
	 */
	uint64_t msr = rdmsr(MSR_APIC_BASE);
	if (msr & APIC_BASE_X2APIC) {
		msr &= ~(APIC_BASE_X2APIC | APIC_BASE_ENABLE);
		wrmsr(MSR_APIC_BASE, msr);
	}
	if (!(msr & APIC_BASE_ENABLE))
		wrmsr(MSR_APIC_BASE, msr | APIC_BASE_ENABLE);

	lapic_write(LAPIC_SVR, SVR_ENABLE | IRQ_SPURIOUS);

	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | IRQ_TIMER);
	lapic_write(LAPIC_TIMER_INIT, 0);

	uint32_t nmi = LVT_DELIVERY_NMI, off = LVT_MASKED;
	lapic_write(LAPIC_LVT_LINT0, acpi.lapic_nmi_lint == 0 ? nmi : off);
	lapic_write(LAPIC_LVT_LINT1, acpi.lapic_nmi_lint == 1 ? nmi : off);

	/* Which other LVT entries exist depends on the APIC's version. */
	uint32_t max_lvt = (lapic_read(LAPIC_VER) >> 16) & 0xff;
	if (max_lvt >= 4)
		lapic_write(LAPIC_LVT_PERF, LVT_MASKED);
	if (max_lvt >= 5)
		lapic_write(LAPIC_LVT_THERMAL, LVT_MASKED);
	if (max_lvt >= 6)
		lapic_write(LAPIC_LVT_CMCI, LVT_MASKED);
	/* Masked, but with a legal vector (>= 16) in case something unmasks it. */
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED | IRQ_SPURIOUS);

	/* ESR latches errors only when written; two writes clear it. */
	lapic_write(LAPIC_ESR, 0);
	lapic_write(LAPIC_ESR, 0);
	/* Acknowledge anything firmware left in service, then accept everything. */
	lapic_write(LAPIC_EOI, 0);
	lapic_write(LAPIC_TPR, 0);
}

uint32_t lapic_id(void)
{
	if (!lapic)
		panic("lapic_id: called before lapic_init");
	return lapic_read(LAPIC_ID) >> 24;
}

bool lapic_irq_pending(void)
{
	for (uint32_t w = 1; w < 8; w++) /* vectors 0-31 are exceptions, never requested */
		if (lapic_read(LAPIC_IRR + w * 0x10))
			return true;
	return false;
}

/* Called from every interrupt handler; lapic is set long before. */
void lapic_eoi(void)
{
	lapic[LAPIC_EOI / 4] = 0;
}

/*
 * Calibration. PIT channel 2 runs at PIT_HZ; in mode 0 its output (read back
 * as bit 5 of port 0x61) goes high when the count, loaded while the gate
 * (bit 0) was low, has run down after the gate goes high. Around that window
 * we read the TSC and the LAPIC timer's current count.
 */
#define PIT_HZ 1193182
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PIT_CH2_LOHI_MODE0 0xb0  /* channel 2, low then high byte, mode 0, binary */
#define PORT_B 0x61
#define PORT_B_GATE2 0x01
#define PORT_B_SPEAKER 0x02
#define PORT_B_OUT2 0x20
#define CAL_PIT_COUNT (PIT_HZ / 100) /* a 10 ms window */
#define CAL_ROUNDS 5                 /* the median of these; odd */

/* One window: TSC and LAPIC counts elapsed in it. False if the PIT never answers. */
static bool pit_window(uint64_t *tsc_ticks, uint64_t *lapic_ticks)
{
	uint8_t b = inb(PORT_B) & ~(PORT_B_GATE2 | PORT_B_SPEAKER);
	outb(PORT_B, b);
	outb(PIT_CMD, PIT_CH2_LOHI_MODE0);
	outb(PIT_CH2, CAL_PIT_COUNT & 0xff);
	outb(PIT_CH2, CAL_PIT_COUNT >> 8);
	if (inb(PORT_B) & PORT_B_OUT2)
		return false; /* mode 0 drives OUT low as soon as it is programmed */

	lapic_write(LAPIC_TIMER_INIT, 0xffffffff);
	uint32_t c0 = lapic_read(LAPIC_TIMER_CUR);
	uint64_t t0 = rdtsc();
	outb(PORT_B, b | PORT_B_GATE2);
	for (long n = 0; !(inb(PORT_B) & PORT_B_OUT2); n++)
		if (n > SPIN_MAX * 10L)
			return false;
	uint64_t t1 = rdtsc();
	uint32_t c1 = lapic_read(LAPIC_TIMER_CUR);
	outb(PORT_B, b);
	lapic_write(LAPIC_TIMER_INIT, 0);

	*tsc_ticks = t1 - t0;
	*lapic_ticks = c0 - c1;
	return true;
}

static uint64_t median(uint64_t *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

/*
 * Without a working PIT: the TSC and crystal rates CPUID leaves 0x15/0x16
 * report (the crystal drives the LAPIC timer where leaf 0x15 names it),
 * else guesses. Good enough to run; timing is off by whatever the guess is.
 */
static void calibrate_fallback(void)
{
	uint32_t max, den, num, crystal, base_mhz;
	cpuid(0, 0, &max, NULL, NULL, NULL);
	den = num = crystal = base_mhz = 0;
	if (max >= 0x15)
		cpuid(0x15, 0, &den, &num, &crystal, NULL);
	if (max >= 0x16)
		cpuid(0x16, 0, &base_mhz, NULL, NULL, NULL);

	if (crystal && den && num)
		tsc_hz = (uint64_t)crystal * num / den;
	else if (base_mhz)
		tsc_hz = (uint64_t)base_mhz * 1000000;
	else
		tsc_hz = 1000000000;
	lapic_timer_hz = crystal ? crystal / 16 : 1000000000 / 16;
	cprintf("lapic: PIT calibration failed; assuming tsc %lu Hz, timer %lu Hz\n", tsc_hz,
		lapic_timer_hz);
}

void lapic_timer_calibrate(void)
{
	uint64_t tsc[CAL_ROUNDS], lt[CAL_ROUNDS];

	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | IRQ_TIMER); /* one-shot, silent */
	for (int i = 0; i < CAL_ROUNDS; i++) {
		if (!pit_window(&tsc[i], &lt[i])) {
			calibrate_fallback();
			return;
		}
	}
	/* Ticks per window times windows per second; no overflow below ~10^13 Hz. */
	tsc_hz = median(tsc, CAL_ROUNDS) * PIT_HZ / CAL_PIT_COUNT;
	lapic_timer_hz = median(lt, CAL_ROUNDS) * PIT_HZ / CAL_PIT_COUNT;
	if (tsc_hz < 1000000 || lapic_timer_hz < 10000) {
		calibrate_fallback(); /* the PIT answered too soon to be believed */
		return;
	}
	cprintf("lapic: tsc %lu MHz, timer %lu kHz\n", tsc_hz / 1000000, lapic_timer_hz / 1000);
}

void lapic_timer_start(uint32_t hz)
{
	if (hz == 0)
		panic("lapic_timer_start: zero rate");
	if (lapic_timer_hz == 0)
		panic("lapic_timer_start: timer not calibrated");
	uint64_t count = lapic_timer_hz / hz;
	if (count == 0 || count > 0xffffffff)
		panic("lapic_timer_start: %u Hz is out of the timer's range", hz);

	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | IRQ_TIMER);
	lapic_write(LAPIC_TIMER_INIT, (uint32_t)count); /* writing the count starts it */
}

/* Busy-wait us microseconds by the TSC. */
static void delay_us(uint64_t us)
{
	uint64_t start = rdtsc(), ticks = tsc_hz * us / 1000000;
	while (rdtsc() - start < ticks)
		pause();
}

/* Wait until the APIC has accepted the last IPI; false if it never does. */
static bool icr_wait(void)
{
	for (int n = 0; lapic_read(LAPIC_ICR_LO) & ICR_PENDING; n++) {
		if (n > SPIN_MAX)
			return false;
		pause();
	}
	return true;
}

static void icr_send(uint32_t apic_id, uint32_t lo)
{
	uint64_t rflags = read_rflags();
	cli();
	if (!icr_wait())
		cprintf("lapic: previous IPI still pending\n");
	lapic_write(LAPIC_ICR_HI, apic_id << ICR_DEST_SHIFT);
	lapic_write(LAPIC_ICR_LO, lo);
	if (!icr_wait())
		cprintf("lapic: IPI 0x%x to apic %u not accepted\n", lo, apic_id);
	if (rflags & FL_IF)
		sti();
}

void lapic_send_ipi(uint32_t apic_id, uint32_t vector)
{
	if (vector < 32 || vector > 255 || apic_id > 255)
		panic("lapic_send_ipi: vector %u to apic %u", vector, apic_id);
	icr_send(apic_id, ICR_FIXED | ICR_ASSERT | vector);
}

/*
 * The INIT-SIPI-SIPI sequence of SDM vol. 3, 8.4.4: INIT (asserted, then
 * deasserted for the old discrete APICs that need it), 10 ms, then two
 * STARTUP IPIs 200 us apart, each starting the CPU in real mode at
 * vector << 12. Not called yet: Exo runs on the boot CPU only until SMP
 * start-up (and its trampoline) exists.
 */
void lapic_start_ap(uint32_t apic_id, physaddr_t trampoline_pa)
{
	if ((trampoline_pa & 0xfff) || trampoline_pa >= 0x100000 || apic_id > 255)
		panic("lapic_start_ap: trampoline 0x%lx, apic %u", trampoline_pa, apic_id);
	if (tsc_hz == 0)
		panic("lapic_start_ap: TSC not calibrated");

	lapic_write(LAPIC_ESR, 0);
	icr_send(apic_id, ICR_INIT | ICR_LEVEL | ICR_ASSERT);
	icr_send(apic_id, ICR_INIT | ICR_LEVEL);
	delay_us(10000);
	for (int i = 0; i < 2; i++) {
		lapic_write(LAPIC_ESR, 0);
		icr_send(apic_id, ICR_STARTUP | (uint32_t)(trampoline_pa >> 12));
		delay_us(200);
	}
}
