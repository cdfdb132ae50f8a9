/*
 * The printf family, shared by the kernel and the library OS.
 *
 * fmt_vformat is the core: it hands its output to a `put` callback in chunks
 * (a run of literal text, a padded number) and each caller decides where the
 * bytes go (serial port, sys_cputs buffer, a string).
 *
 * Conversions: %d %i %u %x %X %o %c %s %p %% with the flags - 0 + space #,
 * field width and precision (either may be *), and the length modifiers
 * hh h l ll z t j. %s of NULL prints "(null)"; %p prints 0x-prefixed hex
 * (also for NULL: "0x0"). No floating point: the kernel has no SSE.
 *
 * Exo's own: %e prints an error code (an int, -E_X or E_X) as its message from
 * inc/error.h, %le the same for a long; an unknown code prints "error N".
 * Width, precision and '-' apply to the text as for %s.
 *
 * A malformed or unsupported directive (%f, %n, %ls, a lone % at the end) is
 * copied to the output as it stands and consumes no argument (beyond a '*'
 * width or precision it contains).
 *
 * There is no format(printf) attribute here: GCC and Clang would reject every
 * %e with an integer argument as a type mismatch.
 */
#ifndef EXO_LIB_FMT_H
#define EXO_LIB_FMT_H

#include <inc/types.h>
#include <stdarg.h>

typedef void fmt_put_fn(void *arg, const char *s, size_t n);

/* Formats into put(arg, ...); returns the number of bytes produced (at most
 * INT_MAX; the output itself is not cut). */
int fmt_vformat(fmt_put_fn *put, void *arg, const char *fmt, va_list ap);
int fmt_format(fmt_put_fn *put, void *arg, const char *fmt, ...);

/* C semantics: buf gets at most size - 1 bytes and a NUL whenever size > 0;
 * the result is the length the whole output would have had. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...);

/* For an error code e (-E_X or E_X): its name ("E_FAULT") or its message
 * ("bad address"); NULL for anything not in inc/error.h, including 0. */
const char *err_name(long e);
const char *err_message(long e);

#endif
