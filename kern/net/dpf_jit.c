/*
 * The packet-filter compiler: the whole DPF trie (kern/net/dpf.c) to x86-64.
 *
 * Code for `int fn(const uint8_t *pkt, size_t len)`: rdi = pkt, rsi = len,
 * r8 = base, r9d = best rank so far; rax, rcx, rdx, r10 scratch. Only
 * caller-saved registers are used.
 *
 * Every state and node becomes a routine that returns (ret) when its
 * subtree is done; a state calls each alternative node but the last, which
 * it jumps to. Code is laid out children first, so every jump goes backwards
 * to code already placed, except the entry's call of the root, patched at
 * the end. Until a path's first SHIFT the base is known to be 0: loads use
 * constant offsets and nothing saves r8; that first SHIFT sets r8 instead of
 * adding to it.
 *
 * Pure and freestanding like dpf.c; dpf_compile() only reads the trie (and
 * writes its own scratch offsets in it), so the caller's lock covers it.
 */
#include <kern/net/dpf.h>
#include <inc/error.h>

#define JIT_CHAIN_MAX 4         /* EQ children up to this: compare-and-jump chain */
/* Multipliers a child table's hash may use: each table takes the one that
 * places its keys with the fewest probes (often none). Odd, bits spread. */
static const uint32_t jit_hash_muls[] = {
	0x9e3779b1u, 0x85ebca6bu, 0xc2b2ae35u, 0x27d4eb2fu, 0x165667b1u, 0xd3a2646du,
	0xfd7046c5u, 0xb55a4f09u, 0x7feb352du, 0x846ca68bu, 0x2c1b3c6du, 0x297a2d39u,
	0xa136aaadu, 0x9e485565u, 0xed5ad4bbu, 0xac4c1b51u,
};

struct jit {
	uint8_t *buf;
	size_t size, len;
};

static void emit1(struct jit *j, uint8_t b)
{
	if (j->len < j->size)
		j->buf[j->len] = b;
	j->len++;
}

static void emit_bytes(struct jit *j, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		emit1(j, b[i]);
}

#define EMIT(j, ...)                                                       \
	do {                                                               \
		static const uint8_t bytes_[] = { __VA_ARGS__ };           \
		emit_bytes((j), bytes_, sizeof(bytes_));                   \
	} while (0)

static void emit4(struct jit *j, uint32_t v)
{
	for (int k = 0; k < 4; k++)
		emit1(j, (uint8_t)(v >> (8 * k)));
}

static void patch4(struct jit *j, size_t at, uint32_t v)
{
	for (int k = 0; k < 4; k++)
		if (at + k < j->size)
			j->buf[at + k] = (uint8_t)(v >> (8 * k));
}

/* jcc (cc = the short opcode, 0x70..0x7f) or jmp (cc = 0xeb) to code already
 * emitted, short when it reaches. */
static void jump_back(struct jit *j, uint8_t cc, size_t target)
{
	int64_t rel = (int64_t)target - (int64_t)(j->len + 2);
	if (rel >= -128) {
		emit1(j, cc);
		emit1(j, (uint8_t)rel);
	} else if (cc == 0xeb) {
		emit1(j, 0xe9);
		emit4(j, (uint32_t)(target - (j->len + 4)));
	} else {
		emit1(j, 0x0f);
		emit1(j, (uint8_t)(cc + 0x10));
		emit4(j, (uint32_t)(target - (j->len + 4)));
	}
}

static void call_to(struct jit *j, size_t target)
{
	emit1(j, 0xe8);
	emit4(j, (uint32_t)(target - (j->len + 4)));
}

/* eax = load(base + offset, width) & mask, or ret (at fail) if out of bounds. */
static void emit_load(struct jit *j, const struct dpf_node *nd, bool dyn, size_t fail)
{
	uint32_t end = (uint32_t)nd->dn_offset + nd->dn_width;
	if (!dyn) {
		EMIT(j, 0x48, 0x81, 0xfe); /* cmp rsi, end */
		emit4(j, end);
		jump_back(j, 0x72, fail); /* jb */
		if (nd->dn_width == 1)
			EMIT(j, 0x0f, 0xb6, 0x87); /* movzx eax, byte [rdi + off] */
		else if (nd->dn_width == 2)
			EMIT(j, 0x0f, 0xb7, 0x87); /* movzx eax, word [rdi + off] */
		else
			EMIT(j, 0x8b, 0x87); /* mov eax, [rdi + off] */
	} else {
		EMIT(j, 0x49, 0x8d, 0x80); /* lea rax, [r8 + end] */
		emit4(j, end);
		EMIT(j, 0x48, 0x39, 0xf0); /* cmp rax, rsi */
		jump_back(j, 0x77, fail);  /* ja */
		if (nd->dn_width == 1)
			EMIT(j, 0x42, 0x0f, 0xb6, 0x84,
			     0x07); /* movzx eax, byte [rdi + r8 + off] */
		else if (nd->dn_width == 2)
			EMIT(j, 0x42, 0x0f, 0xb7, 0x84,
			     0x07); /* movzx eax, word [rdi + r8 + off] */
		else
			EMIT(j, 0x42, 0x8b, 0x84, 0x07); /* mov eax, [rdi + r8 + off] */
	}
	emit4(j, nd->dn_offset);
	if (nd->dn_width == 2)
		EMIT(j, 0x66, 0xc1, 0xc0, 0x08); /* rol ax, 8 */
	else if (nd->dn_width == 4)
		EMIT(j, 0x0f, 0xc8); /* bswap eax */
	if (nd->dn_mask != dpf_width_mask(nd->dn_width)) {
		emit1(j, 0x25); /* and eax, mask */
		emit4(j, nd->dn_mask);
	}
}

/* A state that only ends a filter: a dispatch table holds its rank instead
 * of the address of its code, which is then never emitted. */
static bool is_leaf(const struct dpf_state *st)
{
	return st->ds_alt == DPF_NONE;
}

static uint32_t table_index(uint32_t key, uint32_t mul, unsigned bits)
{
	return (key * mul) >> (32 - bits);
}

/* Fills table t with nd's children, hashed with mul; returns the probes
 * past the home slots that lookups of all of them will take. */
static uint32_t table_fill(const struct dpf *d, const struct dpf_node *nd, uint8_t *t,
			   unsigned bits, uint32_t mul, size_t table)
{
	uint32_t slots = 1u << bits, probes = 0;
	for (size_t i = 0; i < 8 * (size_t)slots; i++)
		t[i] = 0;
	for (uint16_t c = nd->dn_child; c != DPF_NONE; c = d->d_states[c].ds_next) {
		const struct dpf_state *st = &d->d_states[c];
		uint32_t i = table_index(st->ds_value, mul, bits);
		for (; t[8 * i + 4] | t[8 * i + 5] | t[8 * i + 6] | t[8 * i + 7]; probes++)
			i = (i + 1) & (slots - 1);
		uint32_t what =
			is_leaf(st) ? dpf_rank(d, c) : (uint32_t)(st->ds_jit - table); /* < 0 */
		for (int k = 0; k < 4; k++) {
			t[8 * i + k] = (uint8_t)(st->ds_value >> (8 * k));
			t[8 * i + 4 + k] = (uint8_t)(what >> (8 * k));
		}
	}
	return probes;
}

/* Goes to the child for eax through an open-addressing table placed after
 * the code, at most half full, of entries {key, what}: what is 0 for an
 * empty slot, a leaf's rank (> 0), or the child's code - table (< 0). Leaves
 * take no indirect jump, which traffic to many ports would mispredict. */
static void emit_hash_dispatch(struct jit *j, const struct dpf *d, const struct dpf_node *nd,
			       size_t fail)
{
	unsigned bits = 3;
	while ((1u << bits) < 2 * nd->dn_nchild)
		bits++;
	uint32_t slots = 1u << bits;

	emit1(j, 0x69); /* imul ecx, eax, mul */
	emit1(j, 0xc8);
	size_t mul_ref = j->len;
	emit4(j, 0);
	EMIT(j, 0xc1, 0xe9); /* shr ecx, 32 - bits */
	emit1(j, (uint8_t)(32 - bits));
	EMIT(j, 0x48, 0x8d, 0x15); /* lea rdx, [rip + table] */
	size_t table_ref = j->len;
	emit4(j, 0);
	size_t probe = j->len;
	EMIT(j, 0x44, 0x8b, 0x54, 0xca, 0x04); /* mov r10d, [rdx + rcx*8 + 4] */
	EMIT(j, 0x45, 0x85, 0xd2);             /* test r10d, r10d */
	jump_back(j, 0x74, fail);              /* jz: no such child */
	EMIT(j, 0x3b, 0x04, 0xca);             /* cmp eax, [rdx + rcx*8] */
	EMIT(j, 0x74, 0x0a);                   /* je hit (skips the next 10 bytes) */
	EMIT(j, 0xff, 0xc1);                   /* inc ecx */
	EMIT(j, 0x81, 0xe1);                   /* and ecx, slots - 1 */
	emit4(j, slots - 1);
	jump_back(j, 0xeb, probe); /* 2 bytes: the loop is short */
	EMIT(j, 0x45, 0x85, 0xd2); /* hit: test r10d, r10d */
	EMIT(j, 0x78, 0x09);       /* js code (skips the next 9 bytes) */
	EMIT(j, 0x45, 0x39, 0xd1); /* cmp r9d, r10d */
	EMIT(j, 0x73, 0x03);       /* jae: not better */
	EMIT(j, 0x45, 0x89, 0xd1); /* mov r9d, r10d */
	emit1(j, 0xc3);
	EMIT(j, 0x4d, 0x63, 0xd2); /* code: movsxd r10, r10d */
	EMIT(j, 0x49, 0x01, 0xd2); /* add r10, rdx */
	EMIT(j, 0x41, 0xff, 0xe2); /* jmp r10 */
	while (j->len % 8)
		emit1(j, 0xcc);

	size_t table = j->len;
	patch4(j, table_ref, (uint32_t)(table - (table_ref + 4)));
	if (table + 8 * (size_t)slots <= j->size) {
		uint8_t *t = j->buf + table;
		uint32_t m = 0, best = 0, best_probes = UINT32_MAX;
		for (; m < ARRAY_SIZE(jit_hash_muls) && best_probes; m++) {
			uint32_t probes = table_fill(d, nd, t, bits, jit_hash_muls[m], table);
			if (probes < best_probes)
				best = m, best_probes = probes;
		}
		if (m - 1 != best) /* the table holds the last one tried */
			table_fill(d, nd, t, bits, jit_hash_muls[best], table);
		patch4(j, mul_ref, jit_hash_muls[best]);
	}
	j->len = table + 8 * (size_t)slots;
}

static void emit_state(struct jit *j, struct dpf *d, uint16_t s, bool dyn);

static void emit_node(struct jit *j, struct dpf *d, uint16_t n, bool dyn)
{
	struct dpf_node *nd = &d->d_nodes[n];
	bool shift = nd->dn_op == DPF_OP_SHIFT;
	bool table = !shift && nd->dn_nchild > JIT_CHAIN_MAX;
	for (uint16_t c = nd->dn_child; c != DPF_NONE; c = d->d_states[c].ds_next)
		if (!table || !is_leaf(&d->d_states[c]))
			emit_state(j, d, c, dyn || shift);

	size_t fail = j->len;
	emit1(j, 0xc3); /* ret: this node's "no match" exit */
	nd->dn_jit = (uint32_t)j->len;
	emit_load(j, nd, dyn, fail);
	if (shift) {
		if (nd->dn_shift > 0)
			EMIT(j, 0x48, 0xc1, 0xe0); /* shl rax, shift */
		else if (nd->dn_shift < 0)
			EMIT(j, 0xc1, 0xe8); /* shr eax, -shift */
		if (nd->dn_shift)
			emit1(j, (uint8_t)(nd->dn_shift > 0 ? nd->dn_shift : -nd->dn_shift));
		if (dyn)
			EMIT(j, 0x49, 0x01, 0xc0); /* add r8, rax */
		else
			EMIT(j, 0x49, 0x89, 0xc0); /* mov r8, rax */
		if (nd->dn_add) {
			emit1(j, 0xb9); /* mov ecx, add */
			emit4(j, nd->dn_add);
			EMIT(j, 0x49, 0x01, 0xc8); /* add r8, rcx */
		}
		jump_back(j, 0xeb, d->d_states[nd->dn_child].ds_jit);
	} else if (!table) {
		for (uint16_t c = nd->dn_child; c != DPF_NONE; c = d->d_states[c].ds_next) {
			emit1(j, 0x3d); /* cmp eax, value */
			emit4(j, d->d_states[c].ds_value);
			jump_back(j, 0x74, d->d_states[c].ds_jit); /* je */
		}
		emit1(j, 0xc3);
	} else {
		emit_hash_dispatch(j, d, nd, fail);
	}
}

static void emit_state(struct jit *j, struct dpf *d, uint16_t s, bool dyn)
{
	struct dpf_state *st = &d->d_states[s];
	for (uint16_t n = st->ds_alt; n != DPF_NONE; n = d->d_nodes[n].dn_next)
		emit_node(j, d, n, dyn);

	st->ds_jit = (uint32_t)j->len;
	if (st->ds_filter != DPF_NONE) {
		uint32_t rank = dpf_rank(d, s);
		EMIT(j, 0x41, 0x81, 0xf9); /* cmp r9d, rank */
		emit4(j, rank);
		EMIT(j, 0x73, 0x06);       /* jae: not better */
		EMIT(j, 0x41, 0xb9);       /* mov r9d, rank */
		emit4(j, rank);
	}
	for (uint16_t n = st->ds_alt; n != DPF_NONE; n = d->d_nodes[n].dn_next) {
		size_t target = d->d_nodes[n].dn_jit;
		if (d->d_nodes[n].dn_next == DPF_NONE) {
			jump_back(j, 0xeb, target);
			return;
		}
		if (dyn)
			EMIT(j, 0x41, 0x50); /* push r8 */
		call_to(j, target);
		if (dyn)
			EMIT(j, 0x41, 0x58); /* pop r8 */
	}
	emit1(j, 0xc3);
}

int dpf_compile(struct dpf *d, uint8_t *code, size_t size, size_t *len)
{
	struct jit j = { .buf = code, .size = code ? size : 0 };
	EMIT(&j, 0x45, 0x31, 0xc9);             /* xor r9d, r9d */
	emit1(&j, 0xe8);                        /* call root */
	size_t root_ref = j.len;
	emit4(&j, 0);
	EMIT(&j, 0x45, 0x85, 0xc9);             /* test r9d, r9d */
	EMIT(&j, 0x74, 0x0a);                   /* jz none */
	EMIT(&j, 0x41, 0x0f, 0xb7, 0xc1);       /* movzx eax, r9w */
	EMIT(&j, 0x35, 0xff, 0xff, 0x00, 0x00); /* xor eax, 0xffff: the id */
	emit1(&j, 0xc3);
	EMIT(&j, 0xb8, 0xff, 0xff, 0xff, 0xff); /* none: mov eax, -1 */
	emit1(&j, 0xc3);

	emit_state(&j, d, DPF_ROOT, false);
	patch4(&j, root_ref, (uint32_t)(d->d_states[DPF_ROOT].ds_jit - (root_ref + 4)));
	*len = j.len;
	return j.len <= j.size ? 0 : -E_NO_MEM;
}
