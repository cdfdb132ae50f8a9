/*
 * Machine facts the kernel exposes to every env: the wall-clock time read
 * from the CMOS clock at boot (kern_info), and random bytes
 * (sys_entropy_get) - every error of the call, and that what it returns
 * looks random (distinct draws, balanced bits); and the binding pool
 * exposed at USTLB (a binding made, changed and removed shows there at
 * once; the window is read-only). The date is compared with
 * the host's in tools/test (shell session), where the host's clock is.
 */
#include <inc/stlb.h>
#include <lib/base/test.h>

#define VIEW_VA 0x530000000000UL /* nothing of ours is bound there (clear of lib/posix/handoff.h) */

#define Y2020 1577836800LL /* 2020-01-01: no clock this test runs on is older */
#define Y2100 4102444800LL

static int popcount64(uint64_t x)
{
	int n = 0;
	for (; x; x &= x - 1)
		n++;
	return n;
}

static void clock_checks(void)
{
	check("clock-read", ukinfo->ki_boot_unix != -1);
	check("clock-sane", ukinfo->ki_boot_unix > Y2020 && ukinfo->ki_boot_unix < Y2100);
	check("clock-tsc-before-now", ukinfo->ki_boot_tsc != 0 && ukinfo->ki_boot_tsc < rdtsc());
}

static void entropy_checks(void)
{
	static uint8_t buf[ENTROPY_GET_MAX + 8];
	check_eq("entropy-too-long", sys_entropy_get(buf, ENTROPY_GET_MAX + 1), -E_INVAL);
	check_eq("entropy-huge", sys_entropy_get(buf, UINT64_MAX), -E_INVAL);
	check_eq("entropy-null", sys_entropy_get(NULL, 16), -E_FAULT);
	check_eq("entropy-kernel", sys_entropy_get((void *)0xffffffff80200000UL, 16), -E_FAULT);
	check_eq("entropy-read-only", sys_entropy_get((void *)(uintptr_t)&entropy_checks, 16),
		 -E_FAULT);
	check_eq("entropy-exposed", sys_entropy_get((void *)UINFO, 16), -E_FAULT);
	check_eq("entropy-past-utop", sys_entropy_get((void *)(UTOP - 8), 16), -E_FAULT);
	check_eq("entropy-zero", sys_entropy_get(buf, 0), 0);

	/* exactly len bytes: the guard bytes after them stay */
	memset(buf, 0xa5, sizeof(buf));
	check_eq("entropy-max", sys_entropy_get(buf, ENTROPY_GET_MAX), ENTROPY_GET_MAX);
	bool guard = true;
	for (size_t i = ENTROPY_GET_MAX; i < sizeof(buf); i++)
		guard &= buf[i] == 0xa5;
	check("entropy-exact-length", guard);
	check_eq("entropy-odd-length", sys_entropy_get(buf + 1, 13), 13);

	/* 64 draws of 8 bytes: all distinct, about half the bits set */
	uint64_t draws[64];
	int ones = 0;
	for (int i = 0; i < 64; i++) {
		sys_entropy_get(&draws[i], sizeof(draws[i]));
		ones += popcount64(draws[i]);
	}
	bool distinct = true;
	for (int i = 0; i < 64; i++)
		for (int j = 0; j < i; j++)
			distinct &= draws[i] != draws[j];
	check("entropy-distinct", distinct);
	/* 4,096 fair bits: mean 2,048, sd 32; 8 sd either way never happens */
	check("entropy-balanced", ones > 2048 - 256 && ones < 2048 + 256);
	check("entropy-source-known", ukinfo->ki_entropy_source <= ENTROPY_SRC_RDSEED);
	printf("test_machine: entropy source %u (0 pool, 1 RDRAND, 2 RDSEED), %d of 4096 bits set\n",
	       ukinfo->ki_entropy_source, ones);
}

/* Our live bindings at va in the exposed pool: how many, and the last. */
static int view_find(uint64_t va, struct stlb_entry *out)
{
	int n = 0;
	for (uint64_t i = 0; i < (uint64_t)ukinfo->ki_stlb_pages * STLB_PER_PAGE; i++) {
		const volatile struct stlb_entry *b = ustlb_entry(i);
		if (b->b_env == ENVX(thisenv_id) && b->b_rights && b->b_va == va) {
			out->b_ppn = b->b_ppn;
			out->b_rights = b->b_rights;
			n++;
		}
	}
	return n;
}

static unsigned view_count_own(void)
{
	unsigned n = 0;
	for (uint64_t i = 0; i < (uint64_t)ukinfo->ki_stlb_pages * STLB_PER_PAGE; i++)
		n += ustlb_entry(i)->b_env == ENVX(thisenv_id) && ustlb_entry(i)->b_rights;
	return n;
}

static void stlb_view_checks(void)
{
	check("stlb-view-pages", ukinfo->ki_stlb_pages >= 1 &&
					 ukinfo->ki_stlb_pages <= ukinfo->ki_pool_pages);
	check_eq("stlb-view-count", view_count_own(), thisenv->env_bindings);
	long ppn = sys_page_alloc(PPN_ANY, CAP_SELF);
	check("stlb-view-alloc", ppn > 0);
	struct stlb_entry e = { 0 };
	check_eq("stlb-view-none-yet", view_find(VIEW_VA, &e), 0);
	sys_page_bind(0, VIEW_VA, (uint64_t)ppn, BIND_READ, CAP_SELF);
	check_eq("stlb-view-bound", view_find(VIEW_VA, &e), 1);
	check("stlb-view-ppn-rights", e.b_ppn == (uint32_t)ppn && e.b_rights == BIND_READ);
	sys_page_protect(0, VIEW_VA, 1, BIND_READ | BIND_WRITE, CAP_SELF);
	view_find(VIEW_VA, &e);
	check("stlb-view-protect", e.b_rights == (BIND_READ | BIND_WRITE));
	check_eq("stlb-view-count-after-bind", view_count_own(), thisenv->env_bindings);
	/* 400 more: the pool grows past a page, and every page is seen */
	for (int i = 1; i <= 400; i++)
		sys_page_bind(0, VIEW_VA + (uint64_t)i * PAGE_SIZE, (uint64_t)ppn, BIND_READ, CAP_SELF);
	check("stlb-view-grown", ukinfo->ki_stlb_pages >= 2);
	check_eq("stlb-view-count-grown", view_count_own(), thisenv->env_bindings);
	for (int i = 1; i <= 400; i++)
		sys_page_unbind(0, VIEW_VA + (uint64_t)i * PAGE_SIZE, CAP_SELF);
	sys_page_unbind(0, VIEW_VA, CAP_SELF);
	check_eq("stlb-view-unbound", view_find(VIEW_VA, &e), 0);
	sys_page_free((uint64_t)ppn, CAP_SELF);
	/* the window is read-only: the kernel will not write into it for us */
	check_eq("stlb-view-read-only", sys_entropy_get((void *)USTLB, 8), -E_FAULT);
	bool no_kptr = true;
	for (uint64_t i = 0; i < (uint64_t)ukinfo->ki_stlb_pages * STLB_PER_PAGE; i++)
		no_kptr &= ustlb_entry(i)->b_va < UTOP;
	check("stlb-view-addresses-user", no_kptr);
}

int main(void)
{
	clock_checks();
	entropy_checks();
	stlb_view_checks();
	return test_finish();
}
