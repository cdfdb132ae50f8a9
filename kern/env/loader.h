#ifndef EXO_KERN_LOADER_H
#define EXO_KERN_LOADER_H

#include <inc/types.h>
#include <kern/env/progarchive.h>

struct env;

/* The programs of the boot archive (doc/boot.md), in its order: set once by
 * programs_init, read-only after. */
extern struct program programs[PA_MAX_PROGS];
extern unsigned nprograms;

/* Find the boot loader's module, check it whole (progarchive.c) and list
 * its programs; says on the console what it found or why it was refused
 * (then there are none). After pmap_init: the module is read through the
 * direct map. */
void programs_init(void);
/* The boot archive's program of that name, or NULL. */
const struct program *program_find(const char *name);
/* Check that prog is an ELF executable Exo can load. 0 or -E_BAD_ELF. */
int program_check(const struct program *prog);
/* Would prog fit in e (replacing what e has bound)? Counted as if every
 * page needed a private copy and e freed no page first: 0, -E_NO_MEM (the
 * machine's free pages) or -E_QUOTA (its family's pages or bindings). */
int program_fits(struct env *e, const struct program *prog);
/* Load prog into e's (empty) address space, with an initial stack holding
 * argv = name + the space-separated words of args; set e's registers to
 * start it. 0, or -E_NO_MEM (e keeps what was bound so far). */
int program_load(struct env *e, const struct program *prog, const char *args);

#endif
