/*
 * Host tests for the kernel's fallback generator (kern/arch/entropy.c): its
 * ChaCha20 block against RFC 8439's test vector (section 2.3.2), and the
 * pool's output: every request different, fast key erasure (the key after a
 * request is not the key before), balanced bits. The CPU instructions and
 * the boot-time jitter need the machine: test_machine covers them in the
 * guest. The file is included whole so its static functions are in reach.
 */
#include "check.h"

#include "rename.h"

#define pause x86_pause /* unistd.h has a pause of its own */
#include "../kern/arch/entropy.c"
#undef pause

TEST(entropy, chacha20_rfc8439_vector)
{
	uint32_t k[8];
	for (int i = 0; i < 8; i++)
		k[i] = (uint32_t)(4 * i) | (uint32_t)(4 * i + 1) << 8 | (uint32_t)(4 * i + 2) << 16 |
		       (uint32_t)(4 * i + 3) << 24;
	uint32_t out[16];
	/* counter 1, nonce 00:00:00:09:00:00:00:4a:00:00:00:00 */
	chacha20_block(k, 1 | (uint64_t)0x09000000 << 32, 0x4a000000, out);
	static const uint32_t want[16] = {
		0xe4e7f110, 0x15593bd1, 0x1fdd0f50, 0xc47120a3, 0xc7f4d1c7, 0x0368c033,
		0x9aaa2204, 0x4e6cd4c3, 0x466482d2, 0x09aa9f07, 0x05d7c214, 0xa2028bd9,
		0xd19c12b5, 0xb94e16de, 0xe883d0cb, 0x4e3c50a2,
	};
	for (int i = 0; i < 16; i++)
		CHECK_MSG(out[i] == want[i], "word %d: %08x, want %08x", i, out[i], want[i]);
}

TEST(entropy, pool_requests_differ_and_erase_the_key)
{
	uint32_t block[16] = { 1, 2, 3 };
	absorb(block);
	uint8_t a[100], b[100];
	uint32_t before[8];
	memcpy(before, key, sizeof(key));
	pool_fill(a, sizeof(a));
	CHECK(memcmp(before, key, sizeof(key)) != 0);
	pool_fill(b, sizeof(b));
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	int ones = 0;
	for (int r = 0; r < 64; r++) {
		uint8_t c[64];
		pool_fill(c, sizeof(c));
		for (size_t i = 0; i < sizeof(c); i++)
			ones += __builtin_popcount(c[i]);
	}
	/* 32,768 bits: sd about 90 */
	CHECK_MSG(ones > 16384 - 900 && ones < 16384 + 900, "%d bits set", ones);
}

TEST(entropy, fill_without_cpu_source_uses_pool)
{
	source = ENTROPY_SRC_POOL;
	uint8_t a[7] = { 0 }, b[7] = { 0 };
	entropy_fill(a, sizeof(a));
	entropy_fill(b, sizeof(b));
	CHECK(memcmp(a, b, sizeof(a)) != 0);
}
