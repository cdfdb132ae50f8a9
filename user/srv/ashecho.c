/*
 * ashecho [port]: UDP echo answered by a packet handler in the kernel
 * (user/bpf/udp_echo_ash.c). The env sets it up and sleeps; only commands
 * (datagrams starting with '!') reach it:
 *   !notify  replace the handler with user/bpf/udp_notify_ash.c, reply
 *          "!notifying", and wait: the next datagram reaches the env only as
 *          the handler's notification (payload in our page, length and
 *          sender in the message), answered "notified:" + payload; then the
 *          echo handler goes back
 *   !swap  replace the handler with one that never ends: the kernel must
 *          stop it at its budget and deliver the frames to the env instead,
 *          which then answers them itself ("env:" + datagram); reply "!swapped"
 *   !quit  report how many datagrams the kernel echoed and how many reached
 *          the env, and exit
 * Run by tools/test-net, which drives it from the host.
 */
#include <inc/net.h>
#include <lib/net/net.h>
#include <lib/base/pct.h>
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/base/wakeup.h>

/* A packet handler that loops until its budget stops it. */
static const struct bpf_insn forever[] = {
	BPF_MOV64_IMM(0, 0),
	BPF_ALU64_IMM(BPF_ADD, 0, 1),
	BPF_JMP_IMM(BPF_JNE, 0, 0, -2),
	BPF_EXIT_INSN(),
};

/* The last notification: set by on_notify, which runs as an upcall. */
static volatile struct {
	bool got;
	envid_t from;
	uint64_t len, ip, port;
} note;

static void on_notify(envid_t from, uint64_t len, uint64_t ip, uint64_t port)
{
	note.from = from;
	note.len = len;
	note.ip = ip;
	note.port = port;
	note.got = true;
}

/* Attach the packet handler in obj to filter id: the slot, or -E_*. */
static long attach(long id, const char *obj, const char *end, const struct bpf_grant *g)
{
	struct bpf_load_error err;
	long slot = bpf_attach_packet(id, obj, (size_t)(end - obj), g, 1, &err);
	if (slot == -E_REFUSED)
		printf("ashecho: refused: %s\n", err.le_msg);
	return slot;
}

/* "!notify": swap in the notifying handler, wait (up to 10 s) for one
 * datagram to arrive as a notification, answer it, swap the echo back. */
static void notify_step(int s, long id, const struct bpf_grant *g, long echo_slot, uint32_t ip,
			uint16_t from)
{
	long slot = attach(id, bpfobj_udp_notify_ash, bpfobj_udp_notify_ash_end, g);
	check("notify-attached", slot >= 0);
	udp_sendto(s, "!notifying", 10, ip, from);
	uint64_t until = net_now_ms() + 10000;
	while (!note.got && net_now_ms() < until)
		sys_env_sleep(10); /* a notification ends the sleep at once */
	check("notified", note.got);
	if (note.got) {
		check_eq("notify-from-kernel", note.from, 0);
		char out[64] = "notified:";
		size_t n = MIN(note.len, sizeof(out) - 9);
		memcpy(out + 9, (const void *)g->g_addr, n);
		udp_sendto(s, out, 9 + n, (uint32_t)note.ip, (uint16_t)note.port);
	}
	check_eq("echo-reattached", sys_net_filter_ash((uint64_t)id, (uint64_t)echo_slot, 0), 0);
	if (slot >= 0)
		sys_bpf_unload((uint64_t)slot);
}

static bool is(const char *buf, long n, const char *cmd)
{
	return n == (long)strlen(cmd) && memcmp(buf, cmd, (size_t)n) == 0;
}

int main(int argc, char **argv)
{
	uint16_t port = argc > 1 ? (uint16_t)strtoul(argv[1], NULL, 10) : 5558;
	if (net_open() < 0) {
		printf("ashecho: no network\n");
		return 2;
	}
	int s = udp_socket();
	long id = udp_bind(s, port) < 0 ? -1 : udp_filter(s);
	void *scratch = vm_alloc_shared(PAGE_SIZE);
	struct bpf_grant g = { (uint64_t)scratch, PAGE_SIZE, BPF_REGION_READ | BPF_REGION_WRITE,
			       0 };
	struct bpf_load_error err;
	check("filter", id >= 0);
	long slot = attach(id, bpfobj_udp_echo_ash, bpfobj_udp_echo_ash_end, &g);
	check("handler-attached", slot >= 0);
	check_eq("message-handler", pct_serve(NULL, on_notify), 0);
	check_eq("attach-bad-slot", sys_net_filter_ash((uint64_t)id, BPF_PROGS_PER_ENV, 0),
		 -E_INVAL);
	struct net_info before, after;
	sys_net_info(&before);
	printf("ashecho: ready on port %u\n", port);

	char buf[256];
	uint32_t ip;
	uint16_t from;
	long seen = 0, answered = 0;
	for (;;) {
		long n = udp_recvfrom(s, buf, sizeof(buf) - 4, &ip, &from, UINT64_MAX);
		if (n < 0)
			break;
		seen++;
		if (is(buf, n, "!quit"))
			break;
		if (is(buf, n, "!notify")) {
			notify_step(s, id, &g, slot, ip, from);
			continue;
		}
		if (is(buf, n, "!swap")) {
			struct bpf_load a = {
				BPF_KIND_PACKET, ARRAY_SIZE(forever), forever, NULL, 0, 0, &err
			};
			long f = sys_bpf_load(&a);
			check("forever-loaded", f >= 0);
			check_eq("forever-attached",
				 sys_net_filter_ash((uint64_t)id, (uint64_t)f, 0), 0);
			udp_sendto(s, "!swapped", 8, ip, from);
			continue;
		}
		/* the kernel gave up on the handler: answer it here */
		memmove(buf + 4, buf, (size_t)n);
		memcpy(buf, "env:", 4);
		udp_sendto(s, buf, (size_t)n + 4, ip, from);
		answered++;
	}
	sys_net_info(&after);
	uint64_t echoed = after.ni_rx_ash - before.ni_rx_ash;
	printf("ashecho: kernel echoed %lu, %ld reached the env, %ld answered by it\n", echoed,
	       seen, answered);
	check("kernel-echoed", echoed >= 5);
	check("env-answered-after-budget", answered >= 1);
	check_eq("only-commands-and-budget-failures-reached-the-env", seen, 3 + answered);
	return test_finish();
}
