/*
 * Host tests for lib/base/bpf_elf.c and for programs written in restricted C:
 * the programs in test/bpf/, compiled by clang -O2 -target bpf (test/bpf.mk), are
 * loaded, verified and run in both engines. The loader also gets damaged and
 * unsupported objects, which it must refuse without reading out of bounds.
 */
#include "check.h"

#include "bpf/harness.h"
#include "bpf/insns.h"

#include <lib/base/bpf_elf.h>

#include <libgen.h>

static struct h_prog hp;

struct image {
	uint8_t *data;
	size_t size;
};

/* test/bpf.mk builds the programs into bpf/ beside this test's binary. */
static struct image read_prog(const char *name)
{
	char exe[512] = { 0 }, path[600];
	if (readlink("/proc/self/exe", exe, sizeof(exe) - 1) < 0)
		strcpy(exe, "build/host/test_bpf_elf");
	snprintf(path, sizeof(path), "%s/bpf/%s.bpf.o", dirname(exe), name);
	struct image im = { 0 };
	FILE *f = fopen(path, "rb");
	if (!CHECK_MSG(f, "cannot open %s", path))
		return im;
	fseek(f, 0, SEEK_END);
	im.size = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	im.data = malloc(im.size);
	CHECK_EQ(fread(im.data, 1, im.size, f), im.size);
	fclose(f);
	return im;
}

static int resolve(void *arg, const char *name)
{
	(void)arg;
	if (strncmp(name, "region", 6) == 0 && name[6] >= '0' && name[6] <= '2' && !name[7])
		return name[6] - '0';
	return -1;
}

/* Loads section "wakeup" of a test program into hp.insns; returns the loader's result. */
static int load(const char *name, uint32_t *len)
{
	struct image im = read_prog(name);
	if (!im.data)
		return -1000;
	int r = bpf_elf_load(im.data, im.size, "wakeup", hp.insns, BPF_MAX_INSNS, len, resolve,
			     NULL);
	free(im.data);
	return r;
}

/* Loads, verifies and runs a program in both engines with ctx arg `arg`
 * after `setup` prepared the memory; returns r0. */
static uint64_t run_c(const char *name, uint64_t arg, void (*setup)(struct h_mem *),
		      uint32_t want_status)
{
	uint32_t len = 0;
	uint64_t r0 = ~0ull;
	if (!CHECK_EQ(load(name, &len), 0))
		return r0;
	struct h_mem m;
	h_mem_alloc(&m);
	*m.ctx = (struct bpf_wakeup_ctx){ 1000, 123456789, 7, arg };
	if (setup)
		setup(&m);
	struct h_jit j;
	if (CHECK_MSG(h_verify(&hp, hp.insns, len, &m, 0) == BPF_OK, "%s: %s", name,
		      hp.err.e_msg) &&
	    CHECK_EQ(h_jit_compile(&hp, &j), 0)) {
		struct h_run out;
		const char *why = h_compare(&hp, &j, &m, 0, &out);
		CHECK_MSG(!why, "%s: engines differ in %s", name, why);
		CHECK_EQ(out.status, want_status);
		r0 = out.r0;
		h_jit_free(&j);
	}
	h_mem_free(&m);
	return r0;
}

static void set_u64(struct h_mem *m, int region, int index, uint64_t v)
{
	memcpy(m->region[region] + 8 * index, &v, 8);
}

static void counter_moved(struct h_mem *m)
{
	set_u64(m, 0, 0, 5);
	set_u64(m, 0, 1, 4);
}
static void counter_still(struct h_mem *m)
{
	set_u64(m, 0, 0, 5);
	set_u64(m, 0, 1, 5);
	set_u64(m, 0, 2, 2000);
}
static void deadline_passed(struct h_mem *m)
{
	set_u64(m, 0, 0, 5);
	set_u64(m, 0, 1, 5);
	set_u64(m, 0, 2, 999);
}

TEST(c, wakeup_counter)
{
	CHECK_EQ(run_c("wakeup_counter", 0, counter_moved, BPF_RUN_OK), 1);
	CHECK_EQ(run_c("wakeup_counter", 0, counter_still, BPF_RUN_OK), 0);
	CHECK_EQ(run_c("wakeup_counter", 0, deadline_passed, BPF_RUN_OK), 1);
	CHECK_EQ(run_c("wakeup_counter", 0, NULL, BPF_RUN_OK), 0); /* no deadline */
}

static void pipe_empty(struct h_mem *m)
{
	uint32_t ht[2] = { 70, 70 };
	memcpy(m->region[0], ht, 8);
}

static void pipe_has_data(struct h_mem *m)
{
	uint32_t ht[2] = { 71, 70 };
	memcpy(m->region[0], ht, 8);
}

static void pipe_closed(struct h_mem *m)
{
	uint32_t ht[3] = { 70, 70, 1 };
	memcpy(m->region[0], ht, 12);
}

TEST(c, pipe_reader)
{
	CHECK_EQ(run_c("pipe_reader", 0, pipe_empty, BPF_RUN_OK), 0);
	CHECK_EQ(run_c("pipe_reader", 0, pipe_has_data, BPF_RUN_OK), 1);
	CHECK_EQ(run_c("pipe_reader", 0, pipe_closed, BPF_RUN_OK), 1);
}

static void bytes_of_ten(struct h_mem *m)
{
	memset(m->region[0], 10, 64);
	m->region[0][20] = 0;
}

TEST(c, sum_loop)
{
	CHECK_EQ(run_c("sum_loop", 5, bytes_of_ten, BPF_RUN_OK), 0);     /* 50 */
	CHECK_EQ(run_c("sum_loop", 15, bytes_of_ten, BPF_RUN_OK), 150);
	CHECK_EQ(run_c("sum_loop", 1000, bytes_of_ten, BPF_RUN_OK), 200); /* stops at the 0 */
	CHECK(hp.prog.p_loops);
}

static void region0_word1(struct h_mem *m)
{
	set_u64(m, 0, 1, 40);
}

TEST(c, helpers)
{
	/* region_write succeeds, region_read_u64 gives 40, tsc equals ctx tsc */
	CHECK_EQ(run_c("helpers", 77, region0_word1, BPF_RUN_OK), 41);
}

TEST(c, leak_rejected)
{
	uint32_t len;
	CHECK_EQ(load("bad_leak", &len), 0);
	CHECK_EQ(h_verify(&hp, hp.insns, len, NULL, 0), BPF_ERR_PTR_LEAK);
}

TEST(c, out_of_bounds_rejected)
{
	uint32_t len;
	CHECK_EQ(load("bad_oob", &len), 0);
	CHECK_EQ(h_verify(&hp, hp.insns, len, NULL, 0), BPF_ERR_OOB);
}

TEST(elf, global_data_refused)
{
	uint32_t len;
	CHECK_EQ(load("bad_global", &len), -E_INVAL);
}

TEST(elf, unknown_region_symbol)
{
	struct image im = read_prog("wakeup_counter");
	uint32_t len;
	CHECK_EQ(
		bpf_elf_load(im.data, im.size, "wakeup", hp.insns, BPF_MAX_INSNS, &len, NULL, NULL),
		-E_NOT_FOUND);
	free(im.data);
}

TEST(elf, relocation_applied)
{
	uint32_t len;
	CHECK_EQ(load("wakeup_counter", &len), 0);
	int found = 0;
	for (uint32_t k = 0; k < len; k++)
		if (hp.insns[k].code == (BPF_LD | BPF_IMM | BPF_DW) &&
		    hp.insns[k].src == BPF_PSEUDO_REGION && hp.insns[k].imm == 0)
			found++;
	CHECK(found >= 1);
}

TEST(elf, default_section)
{
	struct image im = read_prog("pipe_reader");
	uint32_t len = 0;
	CHECK_EQ(bpf_elf_load(im.data, im.size, NULL, hp.insns, BPF_MAX_INSNS, &len, resolve, NULL),
		 0);
	CHECK(len > 0);
	CHECK_EQ(bpf_elf_load(im.data, im.size, "nosuch", hp.insns, BPF_MAX_INSNS, &len, resolve,
			      NULL),
		 -E_NOT_FOUND);
	CHECK_EQ(bpf_elf_load(im.data, im.size, "wakeup", hp.insns, 2, &len, resolve, NULL),
		 -E_TOO_BIG);
	free(im.data);
}

TEST(elf, bad_headers)
{
	struct image im = read_prog("pipe_reader");
	uint32_t len;
	uint8_t *copy = malloc(im.size);
	CHECK_EQ(bpf_elf_load(im.data, 10, NULL, hp.insns, BPF_MAX_INSNS, &len, resolve, NULL),
		 -E_BAD_ELF);
	struct {
		size_t off;
		uint8_t val;
	} damage[] = {
		{ 0, 0 },
		{ 4, 1 } /* class */,
		{ 5, 2 } /* data */,
		{ 16, 2 } /* type */,
		{ 18, 62 } /* machine */,
		{ 58, 0 } /* shentsize */,
		{ 60, 0xff } /* shnum */,
		{ 62, 0xff } /* shstrndx */,
		{ 40, 0xff } /* shoff */,
	};
	for (size_t k = 0; k < sizeof(damage) / sizeof(damage[0]); k++) {
		memcpy(copy, im.data, im.size);
		copy[damage[k].off] = damage[k].val;
		CHECK_MSG(bpf_elf_load(copy, im.size, NULL, hp.insns, BPF_MAX_INSNS, &len, resolve,
				       NULL) == -E_BAD_ELF,
			  "damage at %zu accepted", damage[k].off);
	}
	free(copy);
	free(im.data);
}

/* Random damage anywhere: the loader may accept or refuse, never read out of
 * bounds (AddressSanitizer watches); whatever it accepts goes through the
 * verifier. */
TEST(elf, random_damage)
{
	static const char *names[] = { "wakeup_counter", "pipe_reader", "sum_loop", "helpers",
				       "bad_global" };
	struct gen_src {
		uint64_t state;
	} s = { 12345 };
	for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
		struct image im = read_prog(names[n]);
		for (int k = 0; k < 2000; k++) {
			uint8_t *copy = malloc(im.size);
			memcpy(copy, im.data, im.size);
			int flips = 1 + k % 4;
			for (int f = 0; f < flips; f++) {
				s.state = s.state * 6364136223846793005ull + 1442695040888963407ull;
				copy[(s.state >> 33) % im.size] ^= (uint8_t)(s.state >> 20);
			}
			size_t size = k % 7 == 0 ? (size_t)((s.state >> 40) % im.size) : im.size;
			uint32_t len;
			if (bpf_elf_load(copy, size, NULL, hp.insns, BPF_MAX_INSNS, &len, resolve,
					 NULL) == 0)
				h_verify(&hp, hp.insns, len, NULL, 0);
			free(copy);
		}
		free(im.data);
	}
}
