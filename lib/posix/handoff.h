/*
 * What a POSIX process hands a child it spawns (lib/posix/proc.c): one or
 * more pages the parent binds in the child at POSIX_HANDOFF_VA, holding the
 * arguments, the environment, the working directory and the descriptors.
 * The kernel passes the child only a marker argument (POSIX_HANDOFF_MARK)
 * saying "wait for the hand-off"; the parent binds every page a descriptor
 * needs first (from POSIX_SHARE_VA up) and the hand-off last, so a child
 * that sees the hand-off bound sees everything.
 *
 * Hostile stance: the child trusts its parent (which could as well have
 * passed it anything as arguments), but still bounds every count and
 * string it reads here, so a damaged hand-off ends the child with a
 * message rather than a fault.
 */
#ifndef EXO_LIB_POSIX_HANDOFF_H
#define EXO_LIB_POSIX_HANDOFF_H

#include <inc/memlayout.h>
#include <lib/posix/posix.h>

/* The POSIX layer's part of the address space (below lib/base's MMAP_BASE):
 * the hand-off we were given, the pages our parent passed with our
 * descriptors, our own pipes, and scratch pages for a child's hand-off and
 * for the program a child runs. */
#define POSIX_HANDOFF_VA 0x0000500000000000UL
#define POSIX_HANDOFF_PAGES 8 /* 32 KiB of arguments and environment: ARG_MAX */
#define POSIX_SHARE_VA (POSIX_HANDOFF_VA + POSIX_HANDOFF_PAGES * PAGE_SIZE)
#define POSIX_SHARE_MAX (POSIX_SHARE_VA + 2 * FD_MAX * PAGE_SIZE)
#define POSIX_PIPE_VA 0x0000510000000000UL
#define POSIX_PIPE_SLOTS 1024 /* pipes one process can have open at once */
#define POSIX_SPAWN_VA 0x0000520000000000UL
#define POSIX_EXEC_VA 0x0000530000000000UL /* scratch pages a loaded program is built in (exec.c) */
/* Descriptors' pages kept across an execve (exec.c): two regions, used in
 * turn; below POSIX_SHARE_MAX, as fd_export_all wants of a destination. */
#define POSIX_EXEC_SHARE_VA 0x00004f0000000000UL
#define POSIX_EXEC_SHARE_SPAN (1UL << 32)
#define POSIX_FSSHARE_VA 0x0000540000000000UL /* the family's file-tree pages (fsshare.c) */
#define POSIX_FSSHARE_PAGES 2 /* the turns' page, and the open-file holds' (fshold.c) */
#define POSIX_FSHOLD_VA (POSIX_FSSHARE_VA + PAGE_SIZE)
#define POSIX_HANDOFF_MARK "\x01posix-handoff"
#define POSIX_HANDOFF_MAGIC 0x65786f706f736978UL /* "exoposix" */

struct handoff_fd {
	int16_t hf_fd;     /* the child's descriptor number */
	uint16_t hf_kind;  /* FILE_KIND_* */
	int32_t hf_flags;  /* the open file's O_* flags */
	int32_t hf_file;   /* first entry with the same open file (dup'd) */
	int32_t hf_pad;
	int64_t hf_offset;
	uint8_t hf_blob[48]; /* the kind's own (fo_export) */
};

struct handoff {
	uint64_t h_magic;
	uint32_t h_npages;  /* pages of this hand-off */
	uint32_t h_argc, h_envc;
	uint32_t h_nfds;
	int32_t h_fs_key;   /* the child's slot of a key to the file tree, or -1 */
	uint32_t h_fs_share; /* the family's file-tree page is bound (fsshare.c) */
	struct handoff_fd h_fds[FD_MAX];
	uint32_t h_strlen;  /* bytes in h_strings: argv, envp, cwd, each NUL-ended */
	char h_strings[];
};

#endif
