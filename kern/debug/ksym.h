#ifndef EXO_KERN_KSYM_H
#define EXO_KERN_KSYM_H

#include <inc/types.h>

struct program;

/* A function found for an address: its name (NUL-terminated, read-only) and
 * the address's offset from the function's start. */
struct sym {
	const char *s_name;
	uint64_t s_off;
};

/* The kernel function containing kernel address addr. false if none does. */
bool ksym_lookup(uint64_t addr, struct sym *out);

/* The function of program prog (from its ELF .symtab) containing user
 * address addr. false if the image has no symbols or none covers addr. */
bool program_sym_lookup(const struct program *prog, uint64_t addr, struct sym *out);

#endif
