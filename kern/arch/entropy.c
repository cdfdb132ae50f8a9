/*
 * Random bytes for library OSes (sys_entropy_get): secrets such as the TCP
 * stack's ISN and SYN-cookie key.
 *
 * Sources, best first: RDSEED (CPUID.7:EBX bit 18), the CPU's conditioned
 * entropy source; RDRAND (CPUID.1:ECX bit 30), a generator the CPU reseeds
 * from it; and, on a CPU with neither, a pool of our own. Each instruction
 * may report "not ready" (carry clear) under load: it is retried a few
 * times, then the next source serves. Under QEMU with `-cpu max` both
 * instructions exist; TCG implements them with the host's getrandom, so
 * their quality is the host's.
 *
 * The pool: 32 bytes hashed at boot from 4,096 TSC readings taken around
 * port I/O (whose timing varies with the bus and, on real hardware, with
 * cache and interrupt noise) and the CMOS clock. Honestly: on real hardware
 * that is perhaps a few hundred bits of jitter; under QEMU's TCG the TSC is
 * derived from the host's clock and the readings are far more regular, so
 * the pool may hold only tens of bits, and the clock is guessable. It
 * keys a ChaCha20 generator (fast key erasure: each request re-keys it
 * from its own output, so a later read of the kernel's memory does not
 * reveal what was handed out before), and each request mixes in the TSC.
 * kern_info's ki_entropy_source says which source serves, so a library OS
 * that needs better can refuse to run.
 *
 * Locking: under the big kernel lock (the pool's state).
 */
#include <inc/kinfo.h>
#include <common/string.h>
#include <kern/arch/entropy.h>
#include <kern/arch/x86.h>

#define HW_TRIES 10          /* RDRAND/RDSEED "not ready" retries */
#define JITTER_SAMPLES 4096  /* TSC readings hashed into the pool at boot */
#define JITTER_PORT 0x80     /* POST diagnostic port: writes are harmless */

static unsigned source = ENTROPY_SRC_POOL;
static uint32_t key[8];      /* the generator's ChaCha20 key */
static uint64_t counter;

static uint32_t rotl32(uint32_t x, int b)
{
	return x << b | x >> (32 - b);
}

#define QUARTER(a, b, c, d)                                 \
	do {                                                \
		a += b, d ^= a, d = rotl32(d, 16);          \
		c += d, b ^= c, b = rotl32(b, 12);          \
		a += b, d ^= a, d = rotl32(d, 8);           \
		c += d, b ^= c, b = rotl32(b, 7);           \
	} while (0)

/* One ChaCha20 block (RFC 8439) of key k, block counter n, nonce nonce. */
static void chacha20_block(const uint32_t k[8], uint64_t n, uint64_t nonce, uint32_t out[16])
{
	uint32_t s[16] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574,
			   k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7],
			   (uint32_t)n, (uint32_t)(n >> 32), (uint32_t)nonce, (uint32_t)(nonce >> 32) };
	uint32_t x[16];
	memcpy(x, s, sizeof(x));
	for (int i = 0; i < 10; i++) {
		QUARTER(x[0], x[4], x[8], x[12]);
		QUARTER(x[1], x[5], x[9], x[13]);
		QUARTER(x[2], x[6], x[10], x[14]);
		QUARTER(x[3], x[7], x[11], x[15]);
		QUARTER(x[0], x[5], x[10], x[15]);
		QUARTER(x[1], x[6], x[11], x[12]);
		QUARTER(x[2], x[7], x[8], x[13]);
		QUARTER(x[3], x[4], x[9], x[14]);
	}
	for (int i = 0; i < 16; i++)
		out[i] = x[i] + s[i];
}

/* Fold 16 words into the key: the key becomes ChaCha20 of itself keyed by
 * the input, so every input bit reaches every key bit. */
static void absorb(const uint32_t in[16])
{
	uint32_t k2[8], out[16];
	for (int i = 0; i < 8; i++)
		k2[i] = key[i] ^ in[i];
	chacha20_block(k2, in[8] | (uint64_t)in[9] << 32,
		       in[10] ^ in[11] ^ in[12] ^ in[13] ^ ((uint64_t)(in[14] ^ in[15]) << 32), out);
	for (int i = 0; i < 8; i++)
		key[i] ^= out[i] ^ out[8 + i];
}

static bool rdrand64(uint64_t *v)
{
	for (int i = 0; i < HW_TRIES; i++) {
		uint8_t ok;
		__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok) : : "cc");
		if (ok)
			return true;
	}
	return false;
}

static bool rdseed64(uint64_t *v)
{
	for (int i = 0; i < HW_TRIES; i++) {
		uint8_t ok;
		__asm__ volatile("rdseed %0; setc %1" : "=r"(*v), "=qm"(ok) : : "cc");
		if (ok)
			return true;
	}
	return false;
}

unsigned entropy_init(int64_t clock)
{
	uint32_t ecx1, ebx7 = 0, max_leaf;
	cpuid(0, 0, &max_leaf, NULL, NULL, NULL);
	cpuid(1, 0, NULL, NULL, &ecx1, NULL);
	if (max_leaf >= 7)
		cpuid(7, 0, NULL, &ebx7, NULL, NULL);
	if (ecx1 & (1u << 30))
		source = ENTROPY_SRC_RDRAND;
	if (ebx7 & (1u << 18))
		source = ENTROPY_SRC_RDSEED;

	/* The pool, even with the instructions: it serves when they fail. */
	uint32_t block[16];
	for (int i = 0; i < JITTER_SAMPLES / 16; i++) {
		for (int j = 0; j < 16; j++) {
			uint64_t t0 = rdtsc();
			outb(JITTER_PORT, (uint8_t)j);
			block[j] = (uint32_t)(rdtsc() - t0) ^ (uint32_t)(t0 << 8);
		}
		if (i == 0) {
			block[0] ^= (uint32_t)clock;
			block[1] ^= (uint32_t)((uint64_t)clock >> 32);
		}
		absorb(block);
	}
	uint64_t hw;
	for (int j = 0; j < 16 && source != ENTROPY_SRC_POOL; j += 2)
		if (rdrand64(&hw)) {
			block[j] = (uint32_t)hw;
			block[j + 1] = (uint32_t)(hw >> 32);
		}
	absorb(block);
	return source;
}

/* The pool's generator: a ChaCha20 block per 64 bytes, then a new key. */
static void pool_fill(uint8_t *b, size_t n)
{
	uint64_t t = rdtsc();
	uint32_t mix[16] = { (uint32_t)t, (uint32_t)(t >> 32) };
	absorb(mix);
	uint32_t out[16];
	while (n) {
		chacha20_block(key, counter++, 0, out);
		size_t k = MIN(n, (size_t)32);
		memcpy(b, out + 8, k); /* words 8-15 out; 0-7 become the next key */
		memcpy(key, out, sizeof(key));
		b += k;
		n -= k;
	}
	memset(out, 0, sizeof(out));
}

void entropy_fill(void *buf, size_t n)
{
	uint8_t *b = buf;
	while (n) {
		uint64_t v;
		bool ok = (source == ENTROPY_SRC_RDSEED && rdseed64(&v)) ||
			  (source != ENTROPY_SRC_POOL && rdrand64(&v));
		if (!ok) {
			pool_fill(b, n);
			return;
		}
		size_t k = MIN(n, sizeof(v));
		memcpy(b, &v, k);
		b += k;
		n -= k;
	}
}
