/*
 * The program archive's parser (format: inc/progarchive.h, doc/boot.md).
 * Pure: no kernel state, no C-library names, so the host tests run it
 * (test/test_progarchive.c) as the kernel does.
 */
#ifndef EXO_KERN_PROGARCHIVE_H
#define EXO_KERN_PROGARCHIVE_H

#include <inc/progarchive.h>
#include <inc/types.h>

/* A program the kernel can start by name: bytes in the boot archive. */
struct program {
	const char *name;
	const uint8_t *start, *end;
};

/* Why an archive was refused: a fixed message, and the table entry it is
 * about (-1: the header or the archive as a whole). */
struct pa_error {
	const char *pa_why;
	int pa_entry;
};

/*
 * Check the len bytes at base as a whole archive and, only if every part of
 * it is sound, fill out[0..*n) with its programs in table order (names and
 * bytes point into base). max is out's room; an archive with more entries
 * is refused. 0, or -E_INVAL with *err saying why; nothing is read outside
 * [base, base + len), whatever the bytes say.
 */
int progarchive_parse(const uint8_t *base, uint64_t len, struct program *out, unsigned max,
		      unsigned *n, struct pa_error *err);

#endif
