/*
 * For the disk's test programs (test_xn, test_xnroot): synchronous block
 * I/O and checked updates of the table metadata type that
 * user/bpf/xn_table_udf.c describes (a count, then the extents it claims).
 */
#ifndef EXO_USER_TEST_XNTABLE_H
#define EXO_USER_TEST_XNTABLE_H

#include <inc/disk.h>
#include <inc/error.h>
#include <lib/base/libos.h>
#include <lib/base/vm.h>

struct table {
	uint32_t count;
	uint32_t pad[3];
	struct xn_extent ent[255];
};

/* An address with nothing bound at it. */
static inline uint64_t hole(void)
{
	uint8_t *p = vm_alloc_shared(PAGE_SIZE);
	assert(p);
	vm_unmap((uint64_t)p, PAGE_SIZE);
	return (uint64_t)p;
}

/* Read or write block through page and wait: 0 or -E_*. */
static inline long io(uint64_t op, uint64_t block, void *page, uint64_t cap)
{
	long id = sys_disk_io(op, block, (uint64_t)page, cap);
	if (id < 0)
		return id;
	long w = sys_disk_wait((uint64_t)id, UINT64_MAX);
	return w == DISK_WAIT_DONE ? 0 : w < 0 ? w : -E_IO;
}

static inline long update(uint64_t block, uint32_t op, struct xn_extent x, const struct xn_write *w,
			  unsigned nw, uint64_t cap)
{
	struct xn_update u = { block, op, nw, x, w };
	return sys_xn_update(&u, cap);
}

/* Append x to the table at block (seen through view), declaring decl. */
static inline long tab_append(uint64_t block, const struct table *view, struct xn_extent x,
			      uint32_t op, struct xn_extent decl, uint64_t cap)
{
	uint32_t count = view->count + 1;
	struct xn_write w[2] = {
		{ (uint32_t)(16 + view->count * sizeof(x)), sizeof(x), (uint64_t)&x },
		{ 0, 4, (uint64_t)&count },
	};
	return update(block, op, decl, w, 2, cap);
}

/* Allocate x by appending it. */
static inline long tab_add(uint64_t block, const struct table *view, struct xn_extent x,
			   uint64_t cap)
{
	return tab_append(block, view, x, XN_OP_ALLOC, x, cap);
}

/* Free the table's last extent. */
static inline long tab_pop(uint64_t block, const struct table *view, uint64_t cap)
{
	uint32_t count = view->count - 1;
	struct xn_write w[1] = { { 0, 4, (uint64_t)&count } };
	return update(block, XN_OP_FREE, view->ent[count], w, 1, cap);
}

/* A byte-only change (the table's pad word): the block is dirty, nothing
 * else changes. */
static inline long touch(uint64_t block, uint32_t v, uint64_t cap)
{
	struct xn_write w[1] = { { 4, 4, (uint64_t)&v } };
	return update(block, XN_OP_NONE, (struct xn_extent){ 0, 0, 0 }, w, 1, cap);
}

#endif
