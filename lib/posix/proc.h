/*
 * The library OS's own process calls (lib/posix/fork.c), beneath the POSIX
 * names of posix.h: a program that wants only these includes this header.
 * Ids are env ids; errors are negated E_* codes (inc/error.h).
 */
#ifndef EXO_LIB_POSIX_PROC_H
#define EXO_LIB_POSIX_PROC_H

/* Copy-on-write fork: the child's id to the parent, 0 to the child, or -E_*. */
long fork(void);
/* Become program name from the boot image (args as for spawn): returns
 * only on error. */
long exec(const char *name, const char *args);
/* Start program name from the boot image as a child, with the
 * space-separated args as its argv[1..]; returns its id. */
long spawn(const char *name, const char *args);
/* Wait for child id to end; returns its exit status (EXIT_* bits). */
long wait(long id);

#endif
