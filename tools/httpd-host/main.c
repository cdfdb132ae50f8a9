/*
 * httpd-host [flags]: Exo's web server core (user/srv/httpd) on a POSIX
 * host - the same core and flags as the Exo program, with its hooks
 * implemented by Linux: connections on TCP sockets driven by epoll, files
 * from a host directory (--root), the monotonic and real-time clocks, and
 * the access log in a file (--log). It exists so real clients (curl, wget,
 * ab, wrk) test the core now, before Exo has TCP and a file system
 * (tools/test-httpd), and it is built with AddressSanitizer and UBSan so
 * they test it under the sanitizers.
 *
 * It listens on 127.0.0.1 only. --port 0 picks a free port; the first line
 * on stdout says which ("httpd-host: listening on 127.0.0.1:PORT"). SIGINT
 * or SIGTERM stop it cleanly (every connection and the cache freed, so the
 * leak checker can speak), after printing the server's counters.
 *
 * The file hooks refuse what is not a regular file or a directory (a
 * symbolic link, a device) as absent: the core already keeps paths inside
 * the root, and this keeps a link from leading out of it.
 */
#define _GNU_SOURCE
#include <dirent.h>
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <user/srv/httpd/http.h>

#define MAX_EVENTS 256
#define STEP_ROUNDS 64   /* reads and writes for one connection per wake-up */
#define TIMER_SCAN_MS 50 /* how often deadlines are looked at */
#define IOV_MAX_PIECES 4

struct host {
	const char *root;
	int log_fd;
};

struct hconn {
	int fd;
	struct http_conn *c;
	bool fin_sent, peer_eof;
	uint32_t interest; /* what epoll watches for it */
	struct hconn *prev, *next;
};

static struct host host;
static struct hconn *conns;
static volatile sig_atomic_t stopping;

/* root + path, or -HTTP_EACCES if it does not fit. */
static int full_path(const char *path, char *out, size_t size)
{
	int n = snprintf(out, size, "%s%s", host.root, path);
	return n < 0 || (size_t)n >= size ? -HTTP_EACCES : 0;
}

static int errno_code(void)
{
	return errno == ENOENT || errno == ENOTDIR || errno == ENAMETOOLONG ? -HTTP_ENOENT
	       : errno == EACCES || errno == ELOOP                          ? -HTTP_EACCES
									    : -HTTP_EIO;
}

static int h_stat(void *ctx, const char *path, struct http_stat *st)
{
	char p[4096];
	struct stat s;
	if (full_path(path, p, sizeof(p)) < 0)
		return -HTTP_EACCES;
	if (lstat(p, &s) < 0)
		return errno_code();
	if (!S_ISREG(s.st_mode) && !S_ISDIR(s.st_mode))
		return -HTTP_EACCES;
	st->hs_size = (uint64_t)s.st_size;
	st->hs_mtime = s.st_mtime;
	st->hs_is_dir = S_ISDIR(s.st_mode);
	return 0;
}

static long h_read(void *ctx, const char *path, uint64_t off, void *buf, size_t len)
{
	char p[4096];
	if (full_path(path, p, sizeof(p)) < 0)
		return -HTTP_EACCES;
	int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno_code();
	ssize_t n = pread(fd, buf, len, (off_t)off);
	int code = n < 0 ? errno_code() : 0;
	close(fd);
	return n < 0 ? code : (long)n;
}

static int h_list(void *ctx, const char *path, http_list_fn *each, void *arg)
{
	char p[4096];
	if (full_path(path, p, sizeof(p)) < 0)
		return -HTTP_EACCES;
	DIR *d = opendir(p);
	if (!d)
		return errno_code();
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (e->d_type == DT_DIR || e->d_type == DT_REG)
			each(arg, e->d_name, e->d_type == DT_DIR);
	}
	closedir(d);
	return 0;
}

static int64_t h_now_ms(void *ctx)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t h_wall_s(void *ctx)
{
	return (int64_t)time(NULL);
}

static void *h_alloc(void *ctx, size_t n)
{
	return malloc(n);
}

static void h_free(void *ctx, void *p)
{
	free(p);
}

static void h_log(void *ctx, const char *line, size_t len)
{
	if (host.log_fd >= 0 && write(host.log_fd, line, len) < 0)
		host.log_fd = -1; /* the log is lost, the server goes on */
}

static void set_interest(int ep, struct hconn *h, uint32_t want)
{
	if (want == h->interest)
		return;
	struct epoll_event ev = { .events = want, .data.ptr = h };
	epoll_ctl(ep, EPOLL_CTL_MOD, h->fd, &ev);
	h->interest = want;
}

static void drop(struct hconn *h)
{
	close(h->fd); /* also takes it out of epoll */
	http_conn_free(h->c);
	if (h->prev)
		h->prev->next = h->next;
	else
		conns = h->next;
	if (h->next)
		h->next->prev = h->prev;
	free(h);
}

/* Moves bytes both ways until the socket would block or the connection
 * is done; false when it was closed. */
static bool step(int ep, struct hconn *h)
{
	bool read_blocked = false, write_blocked = false;
	for (int round = 0; round < STEP_ROUNDS; round++) {
		unsigned ev = http_conn_events(h->c);
		if (ev & HTTP_WANT_CLOSE) {
			drop(h);
			return false;
		}
		bool progress = false;
		if ((ev & HTTP_WANT_WRITE) && !write_blocked) {
			struct http_iov iov[IOV_MAX_PIECES];
			struct iovec v[IOV_MAX_PIECES];
			bool fin;
			int n = http_conn_output(h->c, iov, IOV_MAX_PIECES, &fin);
			size_t total = 0;
			for (int i = 0; i < n; i++) {
				v[i] = (struct iovec){ (void *)iov[i].base, iov[i].len };
				total += iov[i].len;
			}
			ssize_t w = n ? writev(h->fd, v, n) : 0;
			if (w > 0) {
				http_conn_sent(h->c, (size_t)w);
				progress = true;
				if (fin && (size_t)w == total && !h->fin_sent) {
					shutdown(h->fd,
						 SHUT_WR); /* the FIN right behind the data */
					h->fin_sent = true;
				}
			} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				write_blocked = true;
			} else if (w < 0 && errno != EINTR) {
				drop(h); /* reset by the peer */
				return false;
			}
		}
		if ((ev & HTTP_WANT_FIN) && !h->fin_sent) {
			shutdown(h->fd, SHUT_WR);
			h->fin_sent = true;
		}
		if ((ev & HTTP_WANT_READ) && !read_blocked) {
			char *buf;
			size_t space = http_conn_recv_space(h->c, &buf);
			ssize_t r = space && !h->peer_eof ? read(h->fd, buf, space) : 0;
			if (r > 0) {
				http_conn_received(h->c, (size_t)r);
				progress = true;
			} else if (space && r == 0 && !h->peer_eof) {
				http_conn_peer_closed(h->c);
				h->peer_eof = true;
				progress = true;
				read_blocked = true;
			} else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				read_blocked = true;
			} else if (r < 0 && errno != EINTR) {
				drop(h);
				return false;
			}
		}
		if (!progress)
			break;
	}
	unsigned ev = http_conn_events(h->c);
	if (ev & HTTP_WANT_CLOSE) {
		drop(h);
		return false;
	}
	/* a peer that sent its FIN stays readable: watching it would spin */
	uint32_t want = (ev & HTTP_WANT_READ) && !h->peer_eof ? EPOLLIN : 0;
	if (ev & HTTP_WANT_WRITE)
		want |= EPOLLOUT;
	set_interest(ep, h, want);
	return true;
}

static void accept_all(int ep, int lfd, struct http_server *srv)
{
	for (;;) {
		struct sockaddr_in a;
		socklen_t alen = sizeof(a);
		int fd = accept4(lfd, (struct sockaddr *)&a, &alen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		char peer[64];
		snprintf(peer, sizeof(peer), "%s", inet_ntoa(a.sin_addr));
		struct http_conn *c = http_accept(srv, peer);
		struct hconn *h = c ? calloc(1, sizeof(*h)) : NULL;
		if (!h) {
			if (c)
				http_conn_free(c);
			close(fd); /* over the limit: refused */
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		h->fd = fd;
		h->c = c;
		h->interest = EPOLLIN;
		h->next = conns;
		if (conns)
			conns->prev = h;
		conns = h;
		struct epoll_event ev = { .events = h->interest, .data.ptr = h };
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		step(ep, h);
	}
}

/* Every connection whose deadline passed gets its timer run. */
static void run_timers(int ep)
{
	int64_t now = h_now_ms(NULL);
	for (struct hconn *h = conns, *next; h; h = next) {
		next = h->next;
		if (http_conn_deadline(h->c) <= now) {
			http_conn_timer(h->c);
			step(ep, h);
		}
	}
}

static void on_signal(int sig)
{
	stopping = 1;
}

int main(int argc, char **argv)
{
	struct http_config cfg;
	char err[4096];
	http_config_default(&cfg);
	cfg.port = 8080;
	cfg.root = ".";
	if (http_config_parse(&cfg, argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "httpd-host: %s\n", err);
		return 2;
	}
	host.root = cfg.root;
	host.log_fd = -1;
	if (cfg.log_path) {
		host.log_fd = open(cfg.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (host.log_fd < 0) {
			perror(cfg.log_path);
			return 1;
		}
	}
	struct stat rs;
	if (stat(host.root, &rs) < 0 || !S_ISDIR(rs.st_mode)) {
		fprintf(stderr, "httpd-host: %s: not a directory\n", host.root);
		return 1;
	}
	struct http_hooks hooks = { NULL,    h_stat, h_read, h_list, h_now_ms, h_wall_s,
				    h_alloc, h_free, h_log,  NULL,   NULL };
	struct http_server *srv = http_server_new(&cfg, &hooks);
	if (!srv) {
		fprintf(stderr, "httpd-host: out of memory\n");
		return 1;
	}

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(cfg.port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4096) < 0) {
		perror("httpd-host: bind/listen");
		return 1;
	}
	socklen_t alen = sizeof(a);
	getsockname(lfd, (struct sockaddr *)&a, &alen);
	printf("httpd-host: listening on 127.0.0.1:%u (root %s, cache %s, csum %s, merge %s)\n",
	       ntohs(a.sin_port), cfg.root, cfg.cache ? "on" : "off", cfg.csum ? "on" : "off",
	       cfg.merge ? "on" : "off");
	fflush(stdout);

	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
	int64_t last_scan = h_now_ms(NULL);
	while (!stopping) {
		struct epoll_event evs[MAX_EVENTS];
		int n = epoll_wait(ep, evs, MAX_EVENTS, conns ? TIMER_SCAN_MS : 1000);
		for (int i = 0; i < n; i++) {
			if (!evs[i].data.ptr)
				accept_all(ep, lfd, srv);
			else
				step(ep, evs[i].data.ptr);
		}
		if (h_now_ms(NULL) - last_scan >= TIMER_SCAN_MS) {
			run_timers(ep);
			last_scan = h_now_ms(NULL);
		}
	}
	while (conns)
		drop(conns);
	const struct http_stats *s = http_server_stats(srv);
	printf("httpd-host: %lu connections, %lu requests, %lu bytes, %lu cache hits\n",
	       (unsigned long)s->conns_total, (unsigned long)s->requests,
	       (unsigned long)s->bytes_out, (unsigned long)s->cache_hits);
	http_server_free(srv);
	close(lfd);
	close(ep);
	return 0;
}
