/*
 * Programs from the file system (lib/posix/exec.c): where a program name
 * leads, and a child built from an ELF file by its spawner.
 */
#ifndef EXO_LIB_POSIX_EXEC_H
#define EXO_LIB_POSIX_EXEC_H

#include <inc/types.h>

/* exec_lookup's answer for "run it from the boot image": no file system to
 * look in, or a bare name found in no directory of $PATH. */
#define EXEC_FROM_BOOT_IMAGE 1
/* Strings on a loaded program's initial stack (argv[0] and the hand-off's
 * marker, as the kernel's loader passes them): they fit its top page. */
#define EXEC_ARGS_MAX 64

/* Where program prog is: 0 and its absolute path in path[size],
 * EXEC_FROM_BOOT_IMAGE, or -ENOENT, -EACCES (only files in $PATH that we may
 * not run), -ENAMETOOLONG. */
int exec_lookup(const char *prog, char *path, size_t size);
/* An unstarted child running the ELF program at path with the initial
 * stack argv[0..argc): its id, or -ENOENT, -EACCES, -ENOEXEC, -ENOMEM,
 * -E2BIG (nothing left behind). The caller starts it (sys_env_start). */
long exec_child(const char *path, int argc, const char *const argv[]);

/* The read-only pages of loaded programs (exec_cache.c). A fill callback
 * writes the page's bytes into a zeroed page: 0 or -errno. */
struct stat;
typedef int exec_fill_fn(uint8_t *page, void *arg);
/* The ppn of file st's page at va, made with fill on a miss; -ENOMEM when
 * there is no room (load a private copy), or fill's error. */
long exec_cache_page(const struct stat *st, uint64_t va, exec_fill_fn *fill, void *arg);
/* Free every cached page (a bind of one failed: start over). */
void exec_cache_drop(void);

/* execve of the ELF program at path: this env becomes it, keeping its id,
 * parent, console and keys; h is the hand-off built at POSIX_SPAWN_VA
 * (arguments, environment, working directory), to which this adds the
 * descriptors. Returns only on failure (-errno, this program intact:
 * -ENOENT, -EACCES, -ENOEXEC, -ENOMEM, -EBADF a descriptor of a kind that
 * cannot be kept). */
struct handoff;
int exec_replace(const char *path, struct handoff *h);

#endif
