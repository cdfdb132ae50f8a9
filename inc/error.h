/*
 * The one list of error codes. Every system call returns either a value >= 0 or
 * the negation of one of these; the `%e` conversion of the printf family (and
 * err_name()/err_message() in common/fmt.c) print them.
 *
 * Codes are stable: add new ones at the end, never renumber.
 */
#ifndef EXO_INC_ERROR_H
#define EXO_INC_ERROR_H

#define EXO_ERRORS(X)                                                     \
	X(E_INVAL, 1, "invalid argument")                                 \
	X(E_FAULT, 2, "bad address")                                      \
	X(E_NO_MEM, 3, "out of memory")                                   \
	X(E_NO_FREE_ENV, 4, "no free environment slot")                   \
	X(E_BAD_ENV, 5, "no such environment")                            \
	X(E_PERM, 6, "permission denied")                                 \
	X(E_BUSY, 7, "resource busy")                                     \
	X(E_NOT_FOUND, 8, "not found")                                    \
	X(E_AGAIN, 9, "resource temporarily unavailable")                 \
	X(E_NO_SYS, 10, "no such system call")                            \
	X(E_RANGE, 11, "out of range")                                    \
	X(E_NOT_CHILD, 12, "not a child of the caller")                   \
	X(E_BAD_ELF, 13, "malformed program image")                       \
	X(E_TOO_BIG, 14, "argument too long")                            \
	X(E_BAD_CAP, 15, "no capability in that key-ring slot")           \
	X(E_FULL, 16, "no room left")                                    \
	X(E_NO_ENTRY, 17, "no entry point registered")                    \
	X(E_REFUSED, 18, "program refused by the verifier")              \
	X(E_IO, 19, "device input/output error")                         \
	X(E_QUOTA, 20, "over a limit set by the creator (family quota)")

enum {
#define EXO_ERROR_ENUM(name, num, msg) name = num,
	EXO_ERRORS(EXO_ERROR_ENUM)
#undef EXO_ERROR_ENUM
		E_COUNT_PLUS_ONE
};

#define E_MAX (E_COUNT_PLUS_ONE - 1)

#endif
