/* The host tests' programs use the same header as the library OS's. */
#include <lib/base/bpfprog.h>
