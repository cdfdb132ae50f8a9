/*
 * What poll (lib/posix/poll.c) and epoll (lib/posix/epoll.c) share: the
 * record of what one sleep watches, which the kinds' fo_poll fill
 * (poll_wait_word, poll_wait_console, poll_wait_within in posix.h), and
 * the one sleep on all of it (sys_page_sleep_any). Internal to lib/posix.
 */
#ifndef EXO_LIB_POSIX_POLLWAIT_H
#define EXO_LIB_POSIX_POLLWAIT_H

#include <inc/syscall.h>
#include <inc/types.h>

#define POLL_FOREVER UINT64_MAX

struct poll_wait {
	struct page_word pw_words[PAGE_SLEEP_WORDS_MAX];
	unsigned pw_n;
	bool pw_console;    /* wake on console input */
	bool pw_overflow;   /* a word found no room: come back within a tick */
	uint64_t pw_max_ms; /* the sleep's longest (the stack's next timer) */
};

/* Nothing watched yet, no limit. */
void poll_wait_reset(struct poll_wait *w);
/* Sleep on what w watches until deadline (poll_now_ms's clock;
 * POLL_FOREVER: none) or w's own limit: sys_page_sleep_any's answer
 * (E_PERM, the console gone, counts as a wake), or a negated errno. */
long poll_wait_sleep(struct poll_wait *w, uint64_t deadline);
/* The TSC's clock in milliseconds. */
uint64_t poll_now_ms(void);
/* Could [p, p+len) be the program's memory? What the library can tell
 * (not NULL's page, not the kernel's half, no wrap). */
bool poll_user_range(const void *p, size_t len);
/* Set by epoll.c: lib/net says socket sd's readiness may have changed. */
extern void (*poll_sock_changed)(int sd);

#endif
