/*
 * nop: the smallest static Linux program, what fork_exec_wait runs. It has
 * no C library start-up at all, only exit_group(0), so the row measures the
 * kernel's fork, exec, exit and wait and nothing else: Linux's best case.
 */
__attribute__((noreturn)) void _start(void)
{
	__asm__ volatile("syscall" ::"a"(231), "D"(0)); /* exit_group(0) */
	__builtin_unreachable();
}
