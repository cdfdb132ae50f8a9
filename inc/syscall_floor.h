/*
 * The floors of the two ways into the kernel, for benchmarks: what the bare
 * hardware mechanism costs with no kernel work at all.
 *   - `syscall` with %rax = SYS_FLOOR returns at once from the entry path
 *     (%rax unchanged); it is not in the system call table.
 *   - `int $T_FLOOR` enters an interrupt gate that only does `iretq`.
 * Neither touches any kernel state.
 */
#ifndef EXO_INC_SYSCALL_FLOOR_H
#define EXO_INC_SYSCALL_FLOOR_H

#define SYS_FLOOR 0x7fff
#define T_FLOOR 0x82

#endif
