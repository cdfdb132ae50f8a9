/*
 * What expand.c and glob.c share (private to word expansion).
 */
#ifndef EXO_SH_EXPAND_H
#define EXO_SH_EXPAND_H

#include "parse.h"

char *sh_dup_str(const struct sh_expand_ops *ops, const char *s);
/* Append s (from ops->alloc; freed on failure) to f: 0, or -1. */
int sh_fields_add(struct sh_fields *f, const struct sh_expand_ops *ops, char *s);
/* p[0..n) with its escaping backslashes removed, from ops->alloc. */
char *sh_unescape(const struct sh_expand_ops *ops, const char *p, size_t n);
/* Glob pattern into out; 0 with nothing added if it matches nothing. */
int sh_glob(const char *pattern, const struct sh_expand_ops *ops, struct sh_fields *out);

#endif
