/*
 * For the tests of waiting on several descriptors (test_posix_poll,
 * test_posix_epoll): the clock, addresses, waiting for a child to block,
 * and the idle check (a waiting child that the kernel does not run).
 */
#ifndef EXO_USER_TEST_POLLWAITER_H
#define EXO_USER_TEST_POLLWAITER_H

#include <lib/base/libos.h>
#include <lib/base/test.h>
#include <lib/posix/posix.h>

static inline uint64_t ms_now(void)
{
	return rdtsc() / (ukinfo->ki_tsc_hz / 1000);
}

static inline struct sockaddr_in addr(uint32_t ip, uint16_t port)
{
	return (struct sockaddr_in){
		AF_INET, __builtin_bswap16(port), __builtin_bswap32(ip), { 0 }
	};
}

/* Wait (yielding, up to 10 s) until env pid blocks in the kernel. */
static inline bool blocked(long pid)
{
	uint64_t until = ukinfo->ki_ticks + 10 * ukinfo->ki_tick_hz;
	while (uenvs[ENVX(pid)].env_status != ENV_BLOCKED && ukinfo->ki_ticks < until)
		sys_yield();
	return uenvs[ENVX(pid)].env_status == ENV_BLOCKED;
}

/* Child pid sets *ready just before it waits: check (as blocked_check)
 * that it blocks and is not run at all for two seconds ("who ran N times
 * in 2 s"), then write a byte to wfd, which must end its wait (it exits 0
 * if it saw what it should). */
static inline void idle_check(long pid, volatile uint32_t *ready, const char *blocked_check,
			      const char *who, int wfd)
{
	uint64_t until = ukinfo->ki_ticks + 10 * ukinfo->ki_tick_hz;
	while (!*ready && ukinfo->ki_ticks < until)
		sys_yield();
	check(blocked_check, blocked(pid));
	uint64_t runs = uenvs[ENVX(pid)].env_runs;
	sys_env_sleep(2 * ukinfo->ki_tick_hz); /* two seconds of idleness */
	uint64_t idle_runs = uenvs[ENVX(pid)].env_runs - runs;
	printf("%s ran %lu times in 2 s\n", who, idle_runs);
	check_eq("i-not-run-while-idle", idle_runs, 0);
	check_eq("i-still-blocked", uenvs[ENVX(pid)].env_status, ENV_BLOCKED);
	check_eq("i-write", write(wfd, "x", 1), 1);
	check_eq("i-child-woken", wait(pid), 0);
}

#endif
