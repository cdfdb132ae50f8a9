/*
 * epoll (lib/posix/posix.h): event sets over every descriptor kind, as
 * descriptors, with Linux's values, layouts, results and errors.
 *
 * A set is an open file (close, dup, fork as any) holding entries, each
 * one (file, descriptor) pair with its interest and data, as Linux keys
 * them; an entry goes when its file's last descriptor closes (file_put
 * calls file_unwatch). Besides the list of all entries a set keeps a
 * ready list of the entries that may be ready, and a wait looks only at
 * that list and at what can tell cheaply whether it changed - never at
 * every entry or every descriptor:
 *
 * - sockets: lib/net says when a socket's readiness may have changed
 *   (sock_change_hook, from the places sockev.c's own sets hear of it),
 *   and the entries on that socket go on their ready lists; a wait runs
 *   the stack first (poll_net_prepare), which is when that happens;
 * - words: a kind whose fo_poll watches one or two shared words (a pipe's
 *   sequence word, bumped by the other side on every change) has those
 *   words and the values they held remembered; a wait compares them (no
 *   call into the kind) and looks again only at an entry whose word moved;
 * - the rest (the console, the terminal, a set inside a set) is looked at
 *   on every wait; there are few. Edge-triggered, such an entry is
 *   reported when something holds that did not at the last look.
 *
 * Level-triggered entries stay on the ready list while they are ready
 * (behind the others, so a busy one does not starve the rest); an
 * edge-triggered one leaves it when reported and comes back on its next
 * change; a one-shot one is disarmed until EPOLL_CTL_MOD. Then the wait
 * sleeps like poll (pollwait.h): one sys_page_sleep_any on every word of
 * every word entry, the receive ring and console input, until the next
 * TCP timer or the timeout. A wake with no word moved may be a sharer's
 * death (a pipe's writer killed without closing): then every word entry
 * is looked at again, as its kind reads holders from the env table.
 *
 * A set inside a set is readable (EPOLLIN) when it has a ready entry;
 * poll and select see that too. Chains are at most EPOLL_NEST_MAX sets
 * long and never loop (ELOOP). The layer is single-threaded.
 *
 * Limits: the set is this process's memory, so a forked child has a copy
 * (changes in one are not seen by the other) in which the parent's
 * sockets report EPOLLERR | EPOLLHUP, and the descriptor is close-on-exec.
 * EPOLLEXCLUSIVE is accepted and means nothing more (one waiter per set);
 * EPOLLPRI never holds (no out-of-band data).
 */
#include <lib/base/libos.h>
#include <lib/posix/pollwait.h>
#include <lib/posix/posix.h>

#define WORDS_MAX 2   /* words an entry of the words class remembers */
#define SOCK_BUCKETS 64 /* socket entries hashed by lib/net number */
#define EP_MAX_EVENTS (0x7fffffff / (int)sizeof(struct epoll_event)) /* Linux's bound */

enum { IT_SOCK, IT_WORDS, IT_LOOK };

struct epitem {
	struct ep *it_ep;
	struct file *it_file;
	int it_fd;
	uint32_t it_events; /* interest, with EPOLLET / EPOLLONESHOT */
	bool it_disarmed;   /* one-shot, reported: nothing until MOD */
	uint8_t it_class;
	bool it_queued;
	bool it_armed;      /* IT_WORDS: words and values remembered */
	uint32_t it_last;   /* IT_LOOK: what held at the last look (its edges) */
	int it_sd;          /* IT_SOCK: lib/net's number */
	uint64_t it_data;
	unsigned it_nwords;
	struct page_word it_words[WORDS_MAX];
	struct epitem *it_next;          /* the set's entries */
	struct epitem *it_wnext;         /* the set's word and look entries */
	struct epitem *it_rnext, *it_rprev; /* the ready list */
	struct epitem *it_fnext;         /* entries on the same file (f_watched) */
	struct epitem *it_snext;         /* socket bucket */
};

struct ep {
	struct file *ep_file;
	envid_t ep_owner; /* whose sockets its socket entries are */
	struct epitem *ep_items, *ep_watch;
	struct epitem *ep_rhead, *ep_rtail;
	unsigned ep_nready;
};

static struct epitem *sock_items[SOCK_BUCKETS];
static bool pass_woken; /* this wait's pass follows a wake no word explains */

static const struct file_ops ep_ops;

/* ---- the ready list ---- */

static void ready_add(struct epitem *it)
{
	struct ep *ep = it->it_ep;
	if (it->it_queued || it->it_disarmed)
		return;
	it->it_rnext = NULL;
	it->it_rprev = ep->ep_rtail;
	if (ep->ep_rtail)
		ep->ep_rtail->it_rnext = it;
	else
		ep->ep_rhead = it;
	ep->ep_rtail = it;
	it->it_queued = true;
	ep->ep_nready++;
}

static void ready_remove(struct epitem *it)
{
	struct ep *ep = it->it_ep;
	if (!it->it_queued)
		return;
	if (it->it_rprev)
		it->it_rprev->it_rnext = it->it_rnext;
	else
		ep->ep_rhead = it->it_rnext;
	if (it->it_rnext)
		it->it_rnext->it_rprev = it->it_rprev;
	else
		ep->ep_rtail = it->it_rprev;
	it->it_queued = false;
	ep->ep_nready--;
}

static void sock_changed(int sd)
{
	for (struct epitem *it = sock_items[(unsigned)sd % SOCK_BUCKETS]; it; it = it->it_snext)
		if (it->it_sd == sd && it->it_ep->ep_owner == thisenv_id)
			ready_add(it);
}

/* ---- what an entry is ready for ---- */

static uint64_t looks; /* fo_poll calls made, for epoll_looks */

uint64_t epoll_looks(void)
{
	return looks;
}

/* f's events as epoll reports them (before the interest mask). */
static uint32_t file_events(struct file *f, struct poll_wait *w)
{
	looks++;
	int ev = f->f_ops->fo_poll(f, w);
	if (ev & POLLNVAL)
		ev = POLLERR | POLLHUP; /* a socket a fork copied: not ours */
	if (ev & POLLIN)
		ev |= POLLRDNORM;
	if (ev & POLLOUT)
		ev |= POLLWRNORM;
	return (uint32_t)ev;
}

static uint32_t wanted(const struct epitem *it)
{
	return (it->it_events & ~(EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP)) |
	       EPOLLERR | EPOLLHUP;
}

/* A word entry: arm its kind's wake (fo_poll with a wait of its own),
 * remember the words, and queue it if ready. */
static void arm(struct epitem *it)
{
	struct poll_wait pw;
	poll_wait_reset(&pw);
	uint32_t ev = file_events(it->it_file, &pw);
	it->it_nwords = MIN(pw.pw_n, WORDS_MAX);
	memcpy(it->it_words, pw.pw_words, it->it_nwords * sizeof(pw.pw_words[0]));
	it->it_armed = true;
	if (ev & wanted(it))
		ready_add(it);
}

static bool words_moved(const struct epitem *it)
{
	for (unsigned i = 0; i < it->it_nwords; i++) {
		volatile uint32_t *word = (volatile uint32_t *)(uintptr_t)it->it_words[i].pw_va;
		if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != it->it_words[i].pw_expected)
			return true;
	}
	return false;
}

/* Before a look: queue what changed among the word and look entries, and
 * (with w) have the sleep watch their words and the console. */
static void refresh(struct ep *ep, struct poll_wait *w)
{
	bool moved = false;
	for (struct epitem *it = ep->ep_watch; it; it = it->it_wnext) {
		if (it->it_disarmed)
			continue;
		if (it->it_class == IT_LOOK) {
			/* edge-triggered: only what was not there last time */
			uint32_t ev = file_events(it->it_file, w) & wanted(it);
			if (ev & ((it->it_events & EPOLLET) ? ~it->it_last : ~0u))
				ready_add(it);
			it->it_last = ev;
			continue;
		}
		if (!it->it_armed || words_moved(it)) {
			moved = true;
			arm(it);
		}
	}
	for (struct epitem *it = ep->ep_watch; it && pass_woken && !moved; it = it->it_wnext)
		if (it->it_class == IT_WORDS && !it->it_disarmed)
			arm(it); /* perhaps a sharer died: every word entry again */
	for (struct epitem *it = ep->ep_watch; it && w; it = it->it_wnext)
		for (unsigned i = 0;
		     it->it_class == IT_WORDS && !it->it_disarmed && i < it->it_nwords; i++)
			poll_wait_word(w, (volatile uint32_t *)(uintptr_t)it->it_words[i].pw_va,
				       it->it_words[i].pw_expected);
}

/* A forked child's copy: its sockets are the parent's, reported once
 * looked at (EPOLLERR | EPOLLHUP); lib/net never names them here. */
static void adopt(struct ep *ep)
{
	if (ep->ep_owner == thisenv_id)
		return;
	ep->ep_owner = thisenv_id;
	for (struct epitem *it = ep->ep_items; it; it = it->it_next)
		if (it->it_class == IT_SOCK) {
			struct epitem **pp = &sock_items[(unsigned)it->it_sd % SOCK_BUCKETS];
			while (*pp != it)
				pp = &(*pp)->it_snext;
			*pp = it->it_snext;
			it->it_class = IT_LOOK;
			it->it_wnext = ep->ep_watch;
			ep->ep_watch = it;
		}
}

/* Report what is ready on ep's list into evs (at most max; NULL: only
 * say whether anything is, consuming nothing). */
static int collect(struct ep *ep, struct epoll_event *evs, int max)
{
	int n = 0;
	for (unsigned count = ep->ep_nready; count > 0 && n < max && ep->ep_rhead; count--) {
		struct epitem *it = ep->ep_rhead;
		ready_remove(it);
		uint32_t ev = file_events(it->it_file, NULL) & wanted(it);
		if (!ev)
			continue; /* not ready now: back on its next change */
		if (!evs) {
			ready_add(it);
			return 1;
		}
		evs[n++] = (struct epoll_event){ ev, { .u64 = it->it_data } };
		if (it->it_events & EPOLLONESHOT)
			it->it_disarmed = true;
		else if (!(it->it_events & EPOLLET))
			ready_add(it); /* level-triggered: looked at again next time */
	}
	return n;
}

/* ---- the set as an open file ---- */

/* A set inside a set, or in poll: readable while an entry is ready. */
static int ep_poll(struct file *f, struct poll_wait *w)
{
	struct ep *ep = f->f_priv;
	adopt(ep);
	refresh(ep, w);
	return collect(ep, NULL, 1) ? POLLIN : 0;
}

static void item_free(struct epitem *it)
{
	struct ep *ep = it->it_ep;
	ready_remove(it);
	struct epitem **pp;
	for (pp = &ep->ep_items; *pp != it; pp = &(*pp)->it_next)
		;
	*pp = it->it_next;
	if (it->it_class != IT_SOCK) {
		for (pp = &ep->ep_watch; *pp && *pp != it; pp = &(*pp)->it_wnext)
			;
		if (*pp)
			*pp = it->it_wnext;
	} else {
		for (pp = &sock_items[(unsigned)it->it_sd % SOCK_BUCKETS]; *pp != it;
		     pp = &(*pp)->it_snext)
			;
		*pp = it->it_snext;
	}
	for (pp = (struct epitem **)&it->it_file->f_watched; *pp != it; pp = &(*pp)->it_fnext)
		;
	*pp = it->it_fnext;
	free(it);
}

static void unwatch(struct file *f)
{
	while (f->f_watched)
		item_free(f->f_watched);
}

static void ep_close(struct file *f)
{
	struct ep *ep = f->f_priv;
	while (ep->ep_items)
		item_free(ep->ep_items);
	free(ep);
}

static ssize_t ep_read(struct file *f UNUSED, void *buf UNUSED, size_t n UNUSED)
{
	return -EINVAL; /* as Linux's */
}

static ssize_t ep_write(struct file *f UNUSED, const void *buf UNUSED, size_t n UNUSED)
{
	return -EINVAL;
}

static int ep_fstat(struct file *f UNUSED, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = 0600; /* an anonymous inode, of no file type */
	return 0;
}

static const struct file_ops ep_ops = {
	.fo_name = "epoll",
	.fo_read = ep_read,
	.fo_write = ep_write,
	.fo_fstat = ep_fstat,
	.fo_close = ep_close,
	.fo_poll = ep_poll,
	/* no fo_export: close-on-exec, see the top */
};

int epoll_create1(int flags)
{
	if (flags & ~EPOLL_CLOEXEC)
		return -EINVAL;
	struct ep *ep = malloc(sizeof(*ep));
	struct file *f = ep ? file_new(&ep_ops, O_RDWR, ep) : NULL;
	if (!f) {
		free(ep);
		return -ENOMEM;
	}
	*ep = (struct ep){ .ep_file = f, .ep_owner = thisenv_id };
	poll_sock_changed = sock_changed;
	file_unwatch = unwatch;
	int fd = fd_install(f, 0);
	file_put(f); /* fd_install took its own reference; none: this closes it */
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

int epoll_create(int size)
{
	return size <= 0 ? -EINVAL : epoll_create1(0);
}

/* ---- nesting ---- */

/* The longest chain of sets from ep down (ep counts 1); past the limit,
 * or meeting target, stop: EPOLL_NEST_MAX + 1. */
static int depth_below(struct ep *ep, struct ep *target, int level)
{
	if (ep == target || level > EPOLL_NEST_MAX)
		return EPOLL_NEST_MAX + 1;
	int most = 1;
	for (struct epitem *it = ep->ep_items; it; it = it->it_next)
		if (it->it_file->f_ops == &ep_ops)
			most = MAX(most, 1 + depth_below(it->it_file->f_priv, target, level + 1));
	return most;
}

/* The longest chain of sets holding ep, from the top (ep counts 1). */
static int depth_above(struct ep *ep, int level)
{
	if (level > EPOLL_NEST_MAX)
		return EPOLL_NEST_MAX + 1;
	int most = 1;
	for (struct epitem *it = ep->ep_file->f_watched; it; it = it->it_fnext)
		most = MAX(most, 1 + depth_above(it->it_ep, level + 1));
	return most;
}

/* ---- epoll_ctl ---- */

static struct epitem *find(struct ep *ep, struct file *f, int fd)
{
	for (struct epitem *it = ep->ep_items; it; it = it->it_next)
		if (it->it_file == f && it->it_fd == fd)
			return it;
	return NULL;
}

static int add(struct ep *ep, struct file *f, int fd, const struct epoll_event *ev)
{
	if (f->f_ops == &ep_ops) {
		struct ep *inner = f->f_priv;
		if (ev->events & EPOLLEXCLUSIVE)
			return -EINVAL;
		if (depth_above(ep, 1) + depth_below(inner, ep, 1) > EPOLL_NEST_MAX)
			return -ELOOP;
	}
	struct epitem *it = malloc(sizeof(*it));
	if (!it)
		return -ENOMEM;
	*it = (struct epitem){ .it_ep = ep,
			       .it_file = f,
			       .it_fd = fd,
			       .it_events = ev->events,
			       .it_data = ev->data.u64 };
	int sd = f->f_ops->fo_socket ? f->f_ops->fo_socket(f) : -1;
	if (sd >= 0 && ep->ep_owner == thisenv_id) {
		it->it_class = IT_SOCK;
		it->it_sd = sd;
		it->it_snext = sock_items[(unsigned)sd % SOCK_BUCKETS];
		sock_items[(unsigned)sd % SOCK_BUCKETS] = it;
	} else {
		/* a kind that watches a word or two, and nothing else, is
		 * a word entry; the rest are looked at every time */
		struct poll_wait pw;
		poll_wait_reset(&pw);
		file_events(f, &pw);
		bool words = f->f_ops != &ep_ops && sd < 0 && !f->f_ops->fo_socket &&
			     pw.pw_n >= 1 && pw.pw_n <= WORDS_MAX && !pw.pw_console &&
			     !pw.pw_overflow && pw.pw_max_ms == POLL_FOREVER;
		it->it_class = words ? IT_WORDS : IT_LOOK;
		it->it_wnext = ep->ep_watch;
		ep->ep_watch = it;
	}
	it->it_next = ep->ep_items;
	ep->ep_items = it;
	it->it_fnext = f->f_watched;
	f->f_watched = it;
	ready_add(it); /* looked at on the next wait */
	return 0;
}

/* What Linux allows beside EPOLLEXCLUSIVE. */
#define EXCL_OK (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE)

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
	/* in Linux's order: the event, the descriptors, the kind, the rest */
	if (op != EPOLL_CTL_DEL && (!event || !poll_user_range(event, sizeof(*event))))
		return -EFAULT;
	struct epoll_event ev = op == EPOLL_CTL_DEL ? (struct epoll_event){ 0 } : *event;
	struct file *ef = fd_file(epfd), *f = fd_file(fd);
	if (!ef || !f)
		return -EBADF;
	if (!f->f_ops->fo_poll)
		return -EPERM; /* always ready: Linux refuses to watch it */
	if ((ev.events & EPOLLEXCLUSIVE) && (op == EPOLL_CTL_MOD || (ev.events & ~EXCL_OK)))
		return -EINVAL;
	if (ef->f_ops != &ep_ops || f == ef)
		return -EINVAL;
	if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL)
		return -EINVAL;
	struct ep *ep = ef->f_priv;
	adopt(ep);
	struct epitem *it = find(ep, f, fd);
	switch (op) {
	case EPOLL_CTL_ADD: return it ? -EEXIST : add(ep, f, fd, &ev);
	case EPOLL_CTL_DEL:
		if (!it)
			return -ENOENT;
		item_free(it);
		return 0;
	default:
		if (!it)
			return -ENOENT;
		if (it->it_events & EPOLLEXCLUSIVE)
			return -EINVAL; /* as Linux: such an entry is not changed */
		it->it_events = ev.events;
		it->it_data = ev.data.u64;
		it->it_disarmed = false;
		it->it_last = 0; /* looked at afresh, as Linux does */
		ready_add(it);
		return 0;
	}
}

/* ---- epoll_wait ---- */

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
	struct file *ef = fd_file(epfd);
	if (!ef)
		return -EBADF;
	if (ef->f_ops != &ep_ops || maxevents <= 0 || maxevents > EP_MAX_EVENTS)
		return -EINVAL;
	if (!events || !poll_user_range(events, (size_t)maxevents * sizeof(*events)))
		return -EFAULT;
	struct ep *ep = ef->f_priv;
	adopt(ep);
	uint64_t deadline = timeout < 0 ? POLL_FOREVER : poll_now_ms() + (uint64_t)timeout;
	struct poll_wait w;
	bool woken = false;
	for (;;) {
		struct poll_wait *pw = timeout ? &w : NULL; /* 0: look only */
		poll_wait_reset(&w);
		if (poll_net_prepare)
			poll_net_prepare(pw);
		pass_woken = woken;
		refresh(ep, pw);
		int n = collect(ep, events, maxevents);
		pass_woken = false;
		if (n || poll_now_ms() >= deadline)
			return n;
		long r = poll_wait_sleep(&w, deadline);
		if (r < 0)
			return (int)r;
		woken = r == PAGE_SLEEP_WOKEN;
	}
}
