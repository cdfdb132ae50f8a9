/*
 * tcpecho PORT: the Linux guest's side of make bench's TCP rows, speaking
 * what Exo's user/srv/sockecho.c speaks, with the same structure (one
 * epoll loop, non-blocking sockets, level-triggered):
 *   echo       every byte back
 *   "SINK"     read to the end, answer the count of bytes after the four
 *              (8 bytes, little-endian), close
 *   "GEN " N   (N: 8 bytes, little-endian) send N bytes, close
 *   "QUIT"     exit once every connection has closed
 * bench/host/tcpbench.c is the client.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXFD 65536
#define BUF 16384

struct conn {
	bool used, first, sink;
	uint64_t counted, gen_left;
	size_t npending, off;
	uint8_t *pending;
};

static struct conn conns[MAXFD];
static uint8_t buf[BUF];
static const uint8_t zeros[BUF];
static int ep, open_now;
static bool quit;

static void watch(int fd, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.fd = fd };
	epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
}

static void finish(int fd)
{
	free(conns[fd].pending);
	memset(&conns[fd], 0, sizeof(conns[fd]));
	close(fd);
	open_now--;
}

/* false when done with fd */
static bool serve(int fd)
{
	struct conn *c = &conns[fd];
	while (c->gen_left) {
		ssize_t r = send(fd, zeros, c->gen_left < BUF ? c->gen_left : BUF, MSG_NOSIGNAL);
		if (r < 0 && errno == EAGAIN) {
			watch(fd, EPOLLOUT);
			return true;
		}
		if (r < 0)
			return false;
		c->gen_left -= (uint64_t)r;
		if (!c->gen_left) {
			shutdown(fd, SHUT_WR);
			return false;
		}
	}
	if (c->npending) {
		ssize_t r = send(fd, c->pending + c->off, c->npending, MSG_NOSIGNAL);
		if (r < 0 && errno != EAGAIN)
			return false;
		if (r > 0)
			c->off += (size_t)r, c->npending -= (size_t)r;
		if (c->npending)
			return true;
		watch(fd, EPOLLIN | EPOLLRDHUP);
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n < 0)
			return false;
		if (n == 0) {
			if (c->sink) {
				uint64_t k = c->counted - 4;
				send(fd, &k, sizeof(k), MSG_NOSIGNAL);
			}
			shutdown(fd, SHUT_WR);
			return false;
		}
		if (c->first && n >= 4 && memcmp(buf, "QUIT", 4) == 0)
			quit = true;
		if (c->first && n >= 4 && memcmp(buf, "SINK", 4) == 0)
			c->sink = true;
		if (c->first && n >= 12 && memcmp(buf, "GEN ", 4) == 0) {
			memcpy(&c->gen_left, buf + 4, 8);
			c->first = false;
			return c->gen_left ? serve(fd) : false;
		}
		c->first = false;
		if (c->sink) {
			c->counted += (uint64_t)n;
			continue;
		}
		ssize_t r = send(fd, buf, (size_t)n, MSG_NOSIGNAL);
		if (r < 0 && errno == EAGAIN)
			r = 0;
		if (r < 0)
			return false;
		if (r < n) {
			if (!c->pending && !(c->pending = malloc(BUF)))
				return false;
			memcpy(c->pending, buf + r, (size_t)(n - r));
			c->off = 0;
			c->npending = (size_t)(n - r);
			watch(fd, EPOLLOUT);
			return true;
		}
	}
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 7777;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1024) < 0) {
		perror("tcpecho: listen");
		return 2;
	}
	ep = epoll_create1(0);
	struct epoll_event e = { .events = EPOLLIN, .data.fd = l };
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &e);
	printf("tcpecho: listening on port %d\n", port);
	fflush(stdout);
	struct epoll_event evs[64];
	while (!quit || open_now) {
		int n = epoll_wait(ep, evs, 64, quit ? 100 : 60000);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == l) {
				int c;
				while ((c = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					if (c >= MAXFD) {
						close(c);
						continue;
					}
					setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					conns[c] = (struct conn){ .used = true, .first = true };
					struct epoll_event ce = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
					open_now++;
				}
			} else if (!serve(fd)) {
				finish(fd);
			}
		}
	}
	return 0;
}
