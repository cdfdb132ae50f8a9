/*
 * kvd-host: the kvd engine (user/srv/kvd) as a real server on the host, on
 * POSIX sockets and epoll, so redis-cli, redis-benchmark, client libraries
 * and Redis's own test suite can talk to the very code Exo runs.
 *
 *   kvd-host [--port P] [--bind ADDR] [--dir D] [--name value ...]
 *
 * --name value pairs are CONFIG SET before serving (--appendonly yes,
 * --appendfsync always, --maxmemory 100mb ...). With --dir, the append-only
 * log is D/appendonly.aof: it is replayed at start (a torn tail is cut off)
 * and compaction writes D/appendonly.aof.tmp, fsyncs it and renames it over.
 *
 * This file implements the engine's hooks (kvd.h): the clock (Unix time in
 * ms), malloc, a seeded xorshift generator, per-connection output queues
 * (the engine's replies are written at once; what the socket does not take
 * waits for EPOLLOUT), deferred closes, and the log on a file descriptor.
 * A connection whose unsent output passes OUT_LIMIT is dropped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <user/srv/kvd/kvd.h>

#define OUT_LIMIT (512UL * 1024 * 1024) /* unsent bytes before a client is dropped */
#define READ_CHUNK (64 * 1024)

struct conn {
	int fd;
	struct kvd_client *c;
	char *out;
	size_t out_len, out_cap, out_off;
	bool closing;   /* the engine asked to close after the output */
	bool dead;   /* the socket failed: close now */
	struct conn *next_close;
};

static struct kvd *kv;
static int ep = -1;
static volatile sig_atomic_t stop;
static uint64_t rng;
static struct conn *to_close;
static char log_path[4096], tmp_path[4200], dir_path[4096];
static int log_fd = -1, tmp_fd = -1;

static uint64_t h_now_ms(void *ctx)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void h_cpu_usec(void *ctx, uint64_t *user, uint64_t *sys)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	*user = (uint64_t)ru.ru_utime.tv_sec * 1000000 + (uint64_t)ru.ru_utime.tv_usec;
	*sys = (uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec;
}

static void *h_alloc(void *ctx, size_t n)
{
	return malloc(n ? n : 1);
}

static void h_release(void *ctx, void *p, size_t n)
{
	free(p);
}

static uint64_t h_random(void *ctx)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void want_out(struct conn *k, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = k };
	epoll_ctl(ep, EPOLL_CTL_MOD, k->fd, &ev);
}

/* Write what is queued; false when the socket failed. */
static bool drain(struct conn *k)
{
	while (k->out_off < k->out_len) {
		ssize_t w = write(k->fd, k->out + k->out_off, k->out_len - k->out_off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			want_out(k, true);
			return true;
		}
		if (w <= 0)
			return false;
		k->out_off += (size_t)w;
	}
	k->out_len = k->out_off = 0;
	want_out(k, false);
	return true;
}

static void schedule_close(struct conn *k)
{
	for (struct conn *x = to_close; x; x = x->next_close)
		if (x == k)
			return;
	k->next_close = to_close;
	to_close = k;
}

static void h_send(void *ctx, void *conn, const void *buf, size_t n)
{
	struct conn *k = conn;
	if (k->dead)
		return;
	if (k->out_len == 0) { /* the common case: straight to the socket */
		ssize_t w = write(k->fd, buf, n);
		if (w == (ssize_t)n)
			return;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			k->dead = true;
			schedule_close(k);
			return;
		}
		if (w > 0) {
			buf = (const char *)buf + w;
			n -= (size_t)w;
		}
	}
	if (k->out_len - k->out_off + n > OUT_LIMIT) {
		fprintf(stderr, "kvd-host: dropping a client: %zu bytes unsent\n", k->out_len);
		k->dead = true;
		schedule_close(k);
		return;
	}
	if (k->out_len + n > k->out_cap) {
		size_t cap = k->out_cap ? k->out_cap : 16384;
		while (cap < k->out_len + n)
			cap *= 2;
		k->out = realloc(k->out, cap);
		if (!k->out) {
			perror("kvd-host: realloc");
			exit(1);
		}
		k->out_cap = cap;
	}
	memcpy(k->out + k->out_len, buf, n);
	k->out_len += n;
	want_out(k, true);
}

static void h_close(void *ctx, void *conn)
{
	struct conn *k = conn;
	k->closing = true;
	schedule_close(k);
}

static void h_shutdown(void *ctx)
{
	stop = 1;
}

static void h_log_line(void *ctx, const char *line)
{
	fprintf(stderr, "%s\n", line);
}

/* --- the log on a file ---------------------------------------------------------- */
static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int h_log_append(void *ctx, const void *buf, size_t n)
{
	return write_all(log_fd, buf, n);
}

static int h_log_sync(void *ctx)
{
	return fdatasync(log_fd);
}

static int h_rewrite_begin(void *ctx)
{
	tmp_fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	return tmp_fd < 0 ? -1 : 0;
}

static int h_rewrite_append(void *ctx, const void *buf, size_t n)
{
	return write_all(tmp_fd, buf, n);
}

static int sync_dir(void)
{
	int d = open(dir_path, O_RDONLY | O_DIRECTORY);
	if (d < 0)
		return -1;
	int r = fsync(d);
	close(d);
	return r;
}

static int h_rewrite_commit(void *ctx)
{
	if (fsync(tmp_fd) < 0 || close(tmp_fd) < 0) {
		tmp_fd = -1;
		unlink(tmp_path);
		return -1;
	}
	tmp_fd = -1;
	if (rename(tmp_path, log_path) < 0)
		return -1;
	sync_dir();
	int fd = open(log_path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -1;
	close(log_fd);
	log_fd = fd;
	return 0;
}

static void h_rewrite_abort(void *ctx)
{
	if (tmp_fd >= 0)
		close(tmp_fd);
	tmp_fd = -1;
	unlink(tmp_path);
}

static void recover(void)
{
	int fd = open(log_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	static char buf[1 << 20];
	ssize_t r;
	long long total = 0;
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		total += r;
		if (kvd_load(kv, buf, (size_t)r) < 0)
			break;
	}
	close(fd);
	const char *why = NULL;
	long long valid = kvd_load_end(kv, &why);
	if (valid < 0) {
		fprintf(stderr, "kvd-host: %s is damaged: %s\n", log_path, why);
		exit(1);
	}
	if (valid < total) {
		fprintf(stderr, "kvd-host: cutting a torn tail of %lld bytes off %s\n",
			total - valid, log_path);
		if (truncate(log_path, valid) < 0) {
			perror("kvd-host: truncate");
			exit(1);
		}
	}
	fprintf(stderr, "kvd-host: loaded %lld bytes of log\n", valid);
}

/* --- connections ------------------------------------------------------------------- */
static void conn_free(struct conn *k)
{
	if (k->c)
		kvd_client_gone(k->c);
	epoll_ctl(ep, EPOLL_CTL_DEL, k->fd, NULL);
	close(k->fd);
	free(k->out);
	free(k);
}

/* Close the connections the engine or a failure asked to close, once
 * their output is out. */
static void reap(void)
{
	struct conn *list = to_close;
	to_close = NULL;
	while (list) {
		struct conn *k = list;
		list = k->next_close;
		if (k->dead || k->out_len == 0)
			conn_free(k);
		/* else EPOLLOUT finishes it and frees it then */
	}
}

static void accept_all(int lfd)
{
	for (;;) {
		struct sockaddr_in6 sa;
		socklen_t len = sizeof(sa);
		int fd = accept4(lfd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		char addr[64] = "?";
		if (sa.sin6_family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
			char ip[32];
			inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
			snprintf(addr, sizeof(addr), "%s:%u", ip, ntohs(s4->sin_port));
		} else {
			char ip[48];
			inet_ntop(AF_INET6, &sa.sin6_addr, ip, sizeof(ip));
			snprintf(addr, sizeof(addr), "%s:%u", ip, ntohs(sa.sin6_port));
		}
		struct conn *k = calloc(1, sizeof(*k));
		if (!k) {
			close(fd);
			continue;
		}
		k->fd = fd;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = k };
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		k->c = kvd_client_new(kv, k, addr);
		if (!k->c)
			conn_free(k);
	}
}

static void on_readable(struct conn *k)
{
	static char buf[READ_CHUNK];
	for (int rounds = 0; rounds < 16 && !k->closing && !k->dead; rounds++) {
		ssize_t r = read(k->fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) {
			k->dead = true;
			schedule_close(k);
			return;
		}
		kvd_client_feed(k->c, buf, (size_t)r);
		if ((size_t)r < sizeof(buf))
			return;
	}
}

static int listen_on(const char *bind_addr, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "kvd-host: bad address %s\n", bind_addr);
		exit(2);
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0) {
		perror("kvd-host: bind/listen");
		exit(1);
	}
	return fd;
}

static void on_signal(int sig)
{
	stop = 1;
}

int main(int argc, char **argv)
{
	int port = 6380;
	const char *bind_addr = "127.0.0.1", *dir = NULL;
	if (getrandom(&rng, sizeof(rng), 0) != sizeof(rng))
		rng = (uint64_t)time(NULL) * 2654435761u;
	rng |= 1;

	struct kvd_hooks h = {
		.now_ms = h_now_ms,
		.alloc = h_alloc,
		.release = h_release,
		.random = h_random,
		.send = h_send,
		.close = h_close,
		.shutdown = h_shutdown,
		.log_line = h_log_line,
		.cpu_usec = h_cpu_usec,
	};
	/* first pass: where the log lives (its hooks must exist before kvd_new) */
	for (int i = 1; i + 1 < argc; i += 2)
		if (!strcmp(argv[i], "--dir"))
			dir = argv[i + 1];
	if (dir) {
		mkdir(dir, 0755);
		snprintf(dir_path, sizeof(dir_path), "%s", dir);
		snprintf(log_path, sizeof(log_path), "%s/appendonly.aof", dir);
		snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", log_path);
		log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (log_fd < 0) {
			perror(log_path);
			return 1;
		}
		h.log_append = h_log_append;
		h.log_sync = h_log_sync;
		h.rewrite_begin = h_rewrite_begin;
		h.rewrite_append = h_rewrite_append;
		h.rewrite_commit = h_rewrite_commit;
		h.rewrite_abort = h_rewrite_abort;
	}
	kv = kvd_new(&h);
	if (!kv)
		return 1;
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc || strncmp(argv[i], "--", 2)) {
			fprintf(stderr,
				"usage: kvd-host [--port P] [--bind A] [--dir D] [--name value]...\n");
			return 2;
		}
		const char *name = argv[i] + 2, *val = argv[i + 1], *why;
		if (!strcmp(name, "port"))
			port = atoi(val);
		else if (!strcmp(name, "bind"))
			bind_addr = val;
		else if (!strcmp(name, "dir"))
			;
		else if (kvd_config_set(kv, name, val, &why) < 0) {
			fprintf(stderr, "kvd-host: --%s %s: %s\n", name, val, why);
			return 2;
		}
	}
	if (dir)
		recover();

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	int lfd = listen_on(bind_addr, port);
	ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
	fprintf(stderr, "kvd-host: serving on %s:%d\n", bind_addr, port);

	uint64_t next_tick = h_now_ms(NULL);
	struct epoll_event evs[256];
	while (!stop) {
		int period = 1000 / kvd_hz(kv);
		uint64_t now = h_now_ms(NULL);
		int wait = now >= next_tick ? 0 : (int)(next_tick - now);
		int n = epoll_wait(ep, evs, 256, wait > period ? period : wait);
		for (int i = 0; i < n; i++) {
			struct conn *k = evs[i].data.ptr;
			if (!k) {
				accept_all(lfd);
				continue;
			}
			if (k->dead)
				continue;
			if (evs[i].events & EPOLLOUT) {
				if (!drain(k)) {
					k->dead = true;
					schedule_close(k);
					continue;
				}
				if (k->closing && k->out_len == 0) {
					schedule_close(k);
					continue;
				}
			}
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_readable(k);
		}
		reap();
		now = h_now_ms(NULL);
		if (now >= next_tick) {
			kvd_tick(kv);
			reap();
			next_tick = now + (uint64_t)period;
		}
	}
	fprintf(stderr, "kvd-host: shutting down\n");
	kvd_destroy(kv);
	if (log_fd >= 0) {
		fdatasync(log_fd);
		close(log_fd);
	}
	return 0;
}
