/*
 * Helpers shared by the DPF host test (test/test_dpf.c) and benchmark
 * (test/dpf_bench.c): a seeded random source, packet builders, and a code
 * buffer that holds the compiled trie the way the kernel will (written while
 * read+write, run while read+execute, never both).
 */
#ifndef EXO_TEST_DPF_GEN_H
#define EXO_TEST_DPF_GEN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <inc/error.h>
#include <kern/net/dpf.h>

struct rng {
	uint64_t s;
};

static inline uint64_t rng_next(struct rng *r)
{
	/* xorshift64* */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

static inline uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)((rng_next(r) >> 32) % n);
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An Ethernet + IPv4 + UDP/TCP frame into pkt (at least 14 + 60 + 20 + payload
 * bytes): IPv4 header with ihl words (5..15, options random), the ports given,
 * payload bytes of random data. Returns its length. */
static inline size_t gen_ipv4(struct rng *r, uint8_t *pkt, uint8_t proto, uint16_t sport,
			      uint16_t dport, unsigned ihl, size_t payload)
{
	size_t ip = 14, l4 = ip + 4 * ihl, l4len = proto == 6 ? 20 : 8;
	size_t len = l4 + l4len + payload;
	for (size_t i = 0; i < len; i++)
		pkt[i] = (uint8_t)rng_next(r);
	put16(pkt + 12, 0x0800);
	pkt[ip] = (uint8_t)(0x40 | ihl);
	put16(pkt + ip + 2, (uint16_t)(len - ip));
	put16(pkt + ip + 6, 0x4000); /* DF, offset 0 */
	pkt[ip + 8] = 64;
	pkt[ip + 9] = proto;
	put16(pkt + l4, sport);
	put16(pkt + l4 + 2, dport);
	if (proto == 6)
		pkt[l4 + 12] = 5 << 4;
	else
		put16(pkt + l4 + 4, (uint16_t)(l4len + payload));
	return len;
}

/* The compiled trie, in an mmap'ed buffer that grows as needed. */
struct code_buf {
	uint8_t *mem;
	size_t cap, len;
};

/* Compiles d into c and returns the function, or NULL (with a message on
 * stderr) if something failed. */
static inline dpf_code_fn *code_compile(struct dpf *d, struct code_buf *c)
{
	size_t need;
	if (dpf_compile(d, NULL, 0, &need) != -E_NO_MEM) {
		fprintf(stderr, "dpf_compile(size 0) did not ask for room\n");
		return NULL;
	}
	if (need > c->cap) {
		if (c->mem)
			munmap(c->mem, c->cap);
		c->cap = (need + 0xffff) & ~(size_t)0xffff;
		c->mem = mmap(NULL, c->cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			      0);
		if (c->mem == MAP_FAILED) {
			perror("mmap");
			c->mem = NULL;
			c->cap = 0;
			return NULL;
		}
	} else if (mprotect(c->mem, c->cap, PROT_READ | PROT_WRITE) < 0) {
		perror("mprotect rw");
		return NULL;
	}
	int r = dpf_compile(d, c->mem, c->cap, &c->len);
	if (r != 0 || c->len != need) {
		fprintf(stderr, "dpf_compile: %d, %zu bytes (sized %zu)\n", r, c->len, need);
		return NULL;
	}
	if (mprotect(c->mem, c->cap, PROT_READ | PROT_EXEC) < 0) {
		perror("mprotect rx");
		return NULL;
	}
	return (dpf_code_fn *)(void *)c->mem;
}

static inline void code_free(struct code_buf *c)
{
	if (c->mem)
		munmap(c->mem, c->cap);
	*c = (struct code_buf){ 0 };
}

#endif
