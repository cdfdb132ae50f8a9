/*
 * test_xn's parts (user/test/test_xn/): main.c (no disk, format, the
 * remount, child modes), calls.c (types, roots, updates, disk_io's rules),
 * distrust.c (two envs with unrelated keys), cache.c (the data registry).
 */
#ifndef EXO_USER_TEST_XN_H
#define EXO_USER_TEST_XN_H

#include <inc/disk.h>
#include <inc/kinfo.h>
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include "../xntable.h"
#include "../xnudf.h"

extern const uint8_t bpfobj_xn_table_udf[], bpfobj_xn_table_udf_end[];
extern const uint8_t bpfobj_xn_ptr_udf[], bpfobj_xn_ptr_udf_end[];
extern const uint8_t bpfobj_xn_bad_udf[], bpfobj_xn_bad_udf_end[];

#define D XN_TYPE_DATA
#define NDATA 4 /* data blocks each child's tree holds */

extern struct disk_info di;
extern uint64_t next_free; /* data blocks are taken from the top of the disk down */
extern long t_table, t_ptr, t_loop, t_shift, t_greedy;
extern struct xn_root_info rt; /* "t": the table-format tree the update tests use */
extern bool owned[1 << 16]; /* a child's blocks */

/* Blocks XN keeps for itself: the superblock, the free map (a bit a
 * block), the written map (a byte a block), the catalogue and the type
 * blocks. */
uint64_t xn_own(const struct disk_info *d);
uint8_t *page_new(void);
void stamp(uint8_t *p, uint64_t block, uint64_t tag);
bool stamped(const uint8_t *p, uint64_t block, uint64_t tag);
/* Set entry i of the pointer array at block to target. */
long ptr_set(uint64_t block, unsigned i, uint32_t target, uint32_t op, struct xn_extent decl,
	     uint64_t cap);
long register_type(const char *section);
long run_child(const char *args, uint64_t key_slot);

/* calls.c */
void types(void);
void types_full(void);
void roots(void);
void roots_full(void);
void updates(void);
void io_rules(void);
/* distrust.c */
uint64_t granted_key(unsigned len);
void probe_all(const char *who, const bool *mine, uint64_t key);
uint64_t make_tree(const char *who, const char *fmt, uint64_t key, bool *mine, uint64_t first);
void check_own(const char *who, uint64_t root, const bool *mine, uint64_t key);
void steal(const char *who, const char *fmt, uint64_t root, uint64_t theirs, uint64_t key);
void distrust(void);
/* cache.c */
int cache_reader(int argc, char **argv);
void cache(void);

#endif
