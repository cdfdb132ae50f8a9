/*
 * The program archive: the programs the boot loader hands the kernel, as one
 * boot module (QEMU's -initrd with PVH, GRUB's module2), written by
 * tools/mkprograms.c and checked whole by kern/env/progarchive.c before the
 * kernel uses any of it (doc/boot.md). Little-endian, every integer
 * naturally aligned:
 *
 *   header   struct pa_header                           (24 bytes)
 *   table    struct pa_entry[pa_count]                   (48 bytes each)
 *   data     each program's bytes at its pa_offset, a multiple of PA_ALIGN,
 *            in table order, none overlapping another or the table;
 *            zero bytes between them
 *
 * pa_size is the whole archive's length, exactly the module's.
 */
#ifndef EXO_INC_PROGARCHIVE_H
#define EXO_INC_PROGARCHIVE_H

#include <inc/types.h>

#define PA_MAGIC "EXOPROGS"     /* pa_magic: 8 bytes, no NUL */
#define PA_VERSION 1
#define PA_NAME_LEN 32          /* a name and its NUL: ENV_CREATE_NAME_MAX */
#define PA_ALIGN 16             /* ELF headers are read in place: 8 at least */
#define PA_MAX_PROGS 256        /* entries a kernel accepts: its table's size */
#define PA_MAX_SIZE (1UL << 30) /* archive bytes: the boot identity map's reach */

struct pa_header {
	char pa_magic[8];
	uint32_t pa_version;
	uint32_t pa_count; /* entries of the table */
	uint64_t pa_size;  /* bytes of the whole archive */
};

struct pa_entry {
	char pe_name[PA_NAME_LEN]; /* [A-Za-z0-9_.-], NUL-terminated, NUL-padded */
	uint64_t pe_offset;        /* from the archive's first byte */
	uint64_t pe_size;          /* bytes; not 0 */
};

_Static_assert(sizeof(struct pa_header) == 24, "pa_header is 24 bytes");
_Static_assert(sizeof(struct pa_entry) == 48, "pa_entry is 48 bytes");

#endif
