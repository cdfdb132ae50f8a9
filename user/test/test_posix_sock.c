/*
 * Sockets as POSIX descriptors (lib/posix/socket.c). Without a NIC (the
 * default test boot): the calls' errors, the descriptor's kind and flags,
 * dup and close, and a forked child's copy answering EBADF while the
 * parent's socket goes on working. With a NIC (tools/test-sock forwards a
 * host port to guest port 7003): an echo server over socket, bind, listen,
 * accept, read and write, which answers each connection's bytes with
 * "posix:" in front until one sends "quit".
 */
#include <lib/base/libos.h>
#include <lib/base/test.h>
#include <lib/net/net.h>
#include <lib/posix/posix.h>

static struct sockaddr_in addr(uint32_t ip, uint16_t port)
{
	return (struct sockaddr_in){
		AF_INET, __builtin_bswap16(port), __builtin_bswap32(ip), { 0 }
	};
}

static void calls(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	check("socket", s >= 0);
	check_eq("socket-unix", socket(1 /* AF_UNIX */, SOCK_STREAM, 0), -EAFNOSUPPORT);
	check_eq("socket-raw", socket(AF_INET, 3 /* SOCK_RAW */, 0) < 0, 1);
	struct stat st;
	check_eq("fstat", fstat(s, &st), 0);
	check_eq("fstat-is-socket", st.st_mode & S_IFMT, S_IFSOCK);
	check_eq("close-on-exec", fcntl(s, F_GETFD, 0), FD_CLOEXEC);
	struct sockaddr_in a = addr(0, 7100);
	check_eq("bind-console", bind(0, &a, sizeof(a)), -ENOTSOCK);
	check_eq("bind-bad-fd", bind(99, &a, sizeof(a)), -EBADF);
	check_eq("bind-short", bind(s, &a, 4), -EINVAL);
	check_eq("bind-null", bind(s, NULL, sizeof(a)), -EINVAL);
	struct sockaddr_in wrong = a;
	wrong.sin_family = 10; /* AF_INET6 */
	check_eq("bind-family", bind(s, &wrong, sizeof(wrong)), -EAFNOSUPPORT);
	check_eq("bind", bind(s, &a, sizeof(a)), 0);
	check_eq("listen", listen(s, 4), 0);
	struct sockaddr_in got;
	socklen_t len = sizeof(got);
	check_eq("getsockname", getsockname(s, &got, &len), 0);
	check_eq("getsockname-port", __builtin_bswap16(got.sin_port), 7100);
	check_eq("getsockname-len", len, sizeof(got));
	len = 2;
	check_eq("getsockname-short", getsockname(s, &got, &len), -EINVAL);
	/* nothing to accept: a non-blocking listener says so */
	check_eq("nonblock", fcntl(s, F_SETFL, O_NONBLOCK), 0);
	check_eq("accept-nothing", accept(s, NULL, NULL), -EAGAIN);
	check_eq("accept-bad-flags", accept4(s, NULL, NULL, 0x1234), -EINVAL);
	char b[8];
	check("read-listener", read(s, b, sizeof(b)) < 0);
	int one = 1;
	check_eq("setsockopt", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	int v = 0;
	len = sizeof(v);
	check_eq("getsockopt-type", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &len), 0);
	check_eq("getsockopt-type-value", v, SOCK_STREAM);
	check_eq("getsockopt-null-len", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, NULL), -EFAULT);
	check_eq("send-console", send(1, "x", 1, 0), -ENOTSOCK);
	/* a dup is the same socket */
	int d = dup(s);
	check("dup", d >= 0);
	len = sizeof(got);
	check_eq("dup-same-socket", getsockname(d, &got, &len), 0);
	check_eq("close-dup", close(d), 0);
	len = sizeof(got);
	check_eq("still-open", getsockname(s, &got, &len), 0);

	/* fork: the child's copy is not a socket it can use, and its close
	 * leaves ours alone */
	long pid = fork();
	if (pid == 0) {
		socklen_t l2 = sizeof(got);
		if (getsockname(s, &got, &l2) != -EBADF)
			exit(1);
		if (read(s, b, sizeof(b)) != -EBADF)
			exit(2);
		close(s);
		exit(0);
	}
	check("fork", pid > 0);
	check_eq("child-copy-ebadf", wait(pid), 0);
	len = sizeof(got);
	check_eq("parent-keeps-it", getsockname(s, &got, &len), 0);
	check_eq("parent-port-kept", __builtin_bswap16(got.sin_port), 7100);

	/* a UDP socket, and a connect that needs the wire */
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	check("udp-socket", u >= 0);
	struct sockaddr_in far = addr(NET_QEMU_GW, 9);
	check_eq("sendto-short", sendto(u, "x", 1, 0, &far, 3), -EINVAL);
	check_eq("close-udp", close(u), 0);
	check_eq("close", close(s), 0);
	check_eq("closed", getsockname(s, &got, &len), -EBADF);
}

/* With a NIC: echo, with "posix:" in front, until "quit". */
static void serve(void)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = addr(0, 7003);
	check_eq("serve-bind", bind(l, &a, sizeof(a)), 0);
	check_eq("serve-listen", listen(l, 8), 0);
	printf("posixsock: ready on port 7003\n");
	static char buf[600];
	for (int served = 0;; served++) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);
		int c = accept(l, &peer, &len);
		if (c < 0) {
			check_eq("serve-accept", c, 0);
			break;
		}
		memcpy(buf, "posix:", 6);
		ssize_t n = read(c, buf + 6, sizeof(buf) - 6);
		bool quit = n == 4 && memcmp(buf + 6, "quit", 4) == 0;
		if (n > 0 && write_all(c, buf, (size_t)n + 6) != n + 6)
			check("serve-write", false);
		shutdown(c, SHUT_WR);
		while (read(c, buf, sizeof(buf)) > 0)
			;
		close(c);
		if (quit) {
			printf("posixsock: served %d connections\n", served);
			break;
		}
	}
	close(l);
}

int main(void)
{
	calls();
	if (net_open() == 0)
		serve();
	return test_finish();
}
