/*
 * TCP connections stay with their env (run by tools/test-sock, which
 * forwards two host ports to guest TCP ports 7001 and 7002): two envs, each
 * with the socket layer (lib/net/sock.h) over its own stack and ring, each
 * listening on its own port, each claiming its own block of client ports.
 * The host connects to both, several times; each env must answer only its
 * own connections and must never see a segment that is not for one of its
 * own connections or listeners (its stack counts those as "no connection",
 * and would answer them with a reset). A port the other env listens on is
 * refused (EADDRINUSE); the two blocks of client ports differ.
 *
 * Each env echoes what a connection sends with its tag in front ("A:"),
 * until a connection sends "quit"; its exit status is the number of foreign
 * segments it saw. Without a NIC (the default test boot) only the calls
 * that need none are checked.
 */
#include <lib/base/libos.h>
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>
#include <lib/net/sock.h>
#include <lib/net/sockerr.h>
#include <lib/net/tcpnet.h>

static volatile uint64_t *sync_word;

static struct sockaddr_in addr(uint32_t ip, uint16_t port)
{
	return (struct sockaddr_in){
		AF_INET, __builtin_bswap16(port), __builtin_bswap32(ip), { 0 }
	};
}

/* The local port of a connection this env starts (to the host's discard
 * port: refused or not, the answer is waited for, so it is not counted as
 * a segment for no connection). */
static uint16_t client_port(void)
{
	int c = sock_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = addr(NET_QEMU_GW, 9);
	sock_connect(c, &a);
	sock_getsockname(c, &a);
	for (uint64_t end = net_now_ms() + 3000;
	     net_now_ms() < end && !(sock_poll(c) & (SOCK_EV_OUT | SOCK_EV_ERR));)
		sock_wait(100);
	struct linger now = { 1, 0 }; /* if it did connect: a reset, no FIN to wait for */
	sock_setsockopt(c, SOL_SOCKET, SO_LINGER, &now, sizeof(now));
	sock_close(c);
	return __builtin_bswap16(a.sin_port);
}

static int serve(char tag, uint16_t port)
{
	int l = sock_socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = addr(0, port);
	if (l < 0 || sock_bind(l, &a) < 0 || sock_listen(l, 16) < 0)
		return 100;
	printf("sockdemux: %c ready on port %u\n", tag, port);
	static char buf[512];
	for (;;) {
		int s = sock_accept(l, NULL, 0);
		if (s < 0)
			return 101;
		long n = sock_recv(s, buf + 2, sizeof(buf) - 2, 0);
		bool quit = n == 4 && memcmp(buf + 2, "quit", 4) == 0;
		if (n > 0) {
			buf[0] = tag, buf[1] = ':';
			sock_send(s, buf, (size_t)n + 2, 0);
		}
		sock_shutdown(s, SHUT_WR);
		while (sock_recv(s, buf, sizeof(buf), 0) > 0)
			;
		sock_close(s);
		if (quit)
			break;
	}
	sock_close(l);
	/* the last FIN exchanges */
	for (uint64_t end = net_now_ms() + 300; net_now_ms() < end;)
		sock_wait(end - net_now_ms());
	const struct tcp_stats *st = tcp_stack_stats(tcpnet_stack());
	printf("sockdemux: %c saw %lu segments, %lu for no connection of its own\n", tag,
	       (unsigned long)st->in_segs, (unsigned long)st->in_no_conn);
	return st->in_segs == 0 ? 102 : (int)MIN(st->in_no_conn, 99ul);
}

int main(void)
{
	sync_word = vm_alloc_shared(PAGE_SIZE);
	/* without a NIC: sockets are made and fail only where the wire is needed */
	int r = net_open();
	if (r == -E_NOT_FOUND) {
		int s = sock_socket(AF_INET, SOCK_STREAM, 0);
		check("socket-without-nic", s >= 0);
		struct sockaddr_in a = addr(NET_QEMU_GW, 80);
		check_eq("connect-without-nic", sock_connect(s, &a), -EHOSTUNREACH);
		check_eq("close", sock_close(s), 0);
		return test_finish();
	}
	check_eq("open", r, 0);
	/* fork first: a child inherits its parent's socket and stack tables */
	long pid = fork();
	if (pid == 0) {
		if (net_open() < 0)
			exit(110);
		while (sync_word[1] == 0)
			sys_yield();
		int t = sock_socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in b = addr(0, 7001);
		if (sock_bind(t, &b) != -EADDRINUSE) /* the kernel keeps it the parent's */
			exit(111);
		sock_close(t);
		uint16_t theirs = client_port();
		if (theirs / 1024 == sync_word[1] / 1024) /* another block of client ports */
			exit(112);
		sync_word[0] = 1;
		exit(serve('B', 7002));
	}
	uint16_t mine = client_port();
	int l = sock_socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = addr(0, 7001);
	check_eq("bind-a", sock_bind(l, &a), 0);
	sync_word[1] = mine;
	while (sync_word[0] == 0 && uenvs[ENVX(pid)].env_status != ENV_ZOMBIE)
		sys_yield();
	check("child-ready", sync_word[0] == 1);
	sock_close(l); /* the port's claim goes; serve takes it again */
	check_eq("a-serves-only-its-own", serve('A', 7001), 0);
	check_eq("b-serves-only-its-own", wait(pid), 0);
	return test_finish();
}
