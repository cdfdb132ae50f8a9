#ifndef EXO_KERN_LOADER_H
#define EXO_KERN_LOADER_H

#include <inc/types.h>

struct env;

/* A program carried in the boot image (tools/mkprograms builds the table). */
struct program {
	const char *name;
	const uint8_t *start, *end;
};

extern const struct program programs[];

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
