/*
 * Host unit tests link Exo's lib/ code into an ordinary program, beside the
 * host C library, whose memcpy, strlen, snprintf... have the same names. The
 * host build compiles the lib/ sources with `-include test/rename.h`, and each test
 * includes it after its libc headers, so Exo's versions become exo_<name> and
 * the two never meet.
 *
 * A new libc-named function in lib/ gets a line here.
 */
#ifndef EXO_TEST_RENAME_H
#define EXO_TEST_RENAME_H

/* common/string.h */
#define memset exo_memset
#define memcpy exo_memcpy
#define memmove exo_memmove
#define memcmp exo_memcmp
#define strlen exo_strlen
#define strnlen exo_strnlen
#define strcmp exo_strcmp
#define strncmp exo_strncmp
#define strchr exo_strchr
#define strrchr exo_strrchr
#define strlcpy exo_strlcpy
#define strtoul exo_strtoul
#define strtol exo_strtol
/* A host <ctype.h> may have made these macros; a test wants Exo's. */
#undef isdigit
#undef isupper
#undef islower
#undef isalpha
#undef isalnum
#undef isxdigit
#undef isspace
#undef tolower
#undef toupper
#define isdigit exo_isdigit
#define isupper exo_isupper
#define islower exo_islower
#define isalpha exo_isalpha
#define isalnum exo_isalnum
#define isxdigit exo_isxdigit
#define isspace exo_isspace
#define tolower exo_tolower
#define toupper exo_toupper

/* common/fmt.h */
#define vsnprintf exo_vsnprintf
#define snprintf exo_snprintf

#endif
