/*
 * ashecho [port]: UDP echo answered by a packet handler in the kernel
 * (user/bpf/udp_echo_ash.c). The env sets it up and sleeps; only commands
 * (datagrams starting with '!') reach it:
 *   !swap  replace the handler with one that never ends: the kernel must
 *          stop it at its budget and deliver the frames to the env instead,
 *          which then answers them itself ("env:" + datagram); reply "!swapped"
 *   !quit  report how many datagrams the kernel echoed and how many reached
 *          the env, and exit
 * Run by tools/test-net, which drives it from the host.
 */
#include <inc/net.h>
#include <lib/net.h>
#include <lib/test.h>
#include <lib/vm.h>
#include <lib/wakeup.h>

/* A packet handler that loops until its budget stops it. */
static const struct bpf_insn forever[] = {
	BPF_MOV64_IMM(0, 0),
	BPF_ALU64_IMM(BPF_ADD, 0, 1),
	BPF_JMP_IMM(BPF_JNE, 0, 0, -2),
	BPF_EXIT_INSN(),
};

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
	struct bpf_grant g = { (uint64_t)scratch, PAGE_SIZE, BPF_REGION_READ | BPF_REGION_WRITE, 0 };
	struct bpf_load_error err;
	long slot = bpf_load_elf(BPF_KIND_PACKET, "packet", bpfobj_udp_echo_ash,
				 (size_t)(bpfobj_udp_echo_ash_end - bpfobj_udp_echo_ash), &g, 1, &err);
	if (slot < 0)
		printf("ashecho: refused: %s\n", err.le_msg);
	check("filter", id >= 0);
	check("handler-loaded", slot >= 0);
	check_eq("handler-attached", sys_net_filter_ash((uint64_t)id, (uint64_t)slot, 0), 0);
	check_eq("attach-bad-slot", sys_net_filter_ash((uint64_t)id, BPF_PROGS_PER_ENV, 0), -E_INVAL);
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
		if (is(buf, n, "!swap")) {
			struct bpf_load a = { BPF_KIND_PACKET, ARRAY_SIZE(forever), forever, NULL, 0, 0, &err };
			long f = sys_bpf_load(&a);
			check("forever-loaded", f >= 0);
			check_eq("forever-attached", sys_net_filter_ash((uint64_t)id, (uint64_t)f, 0), 0);
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
	printf("ashecho: kernel echoed %lu, %ld reached the env, %ld answered by it\n", echoed, seen,
	       answered);
	check("kernel-echoed", echoed >= 5);
	check("env-answered-after-budget", answered >= 1);
	check_eq("only-commands-and-budget-failures-reached-the-env", seen, 2 + answered);
	return test_finish();
}
