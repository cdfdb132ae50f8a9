/*
 * Machine facts the kernel exposes to every env: the wall-clock time read
 * from the CMOS clock at boot (kern_info), and random bytes
 * (sys_entropy_get) - every error of the call, and that what it returns
 * looks random (distinct draws, balanced bits). The date is compared with
 * the host's in tools/test (shell session), where the host's clock is.
 */
#include <lib/base/test.h>

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

int main(void)
{
	clock_checks();
	entropy_checks();
	return test_finish();
}
