/*
 * Checks for in-guest test programs. Each check prints one line,
 *   PASS: <program>.<name>      or      FAIL: <program>.<name>: <detail>
 * which the host's harness counts; test_finish() is the exit code (failures).
 */
#ifndef EXO_LIB_TEST_H
#define EXO_LIB_TEST_H

#include <lib/base/libos.h>

void check(const char *name, bool ok);
/* Compare a system call result (or any long) with what was expected; errors
 * print by name. */
void check_eq(const char *name, long got, long want);
int test_finish(void);

#endif
