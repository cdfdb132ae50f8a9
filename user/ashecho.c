/*
 * ashecho [port]: UDP echo answered by a packet handler in the kernel
 * (user/bpf/udp_echo_ash.c). The env only sets it up, then sleeps until
 * "quit" reaches it; it reports how many datagrams the kernel echoed for it
 * and how many reached it (only "quit" may).
 */
#include <inc/net.h>
#include <lib/net.h>
#include <lib/test.h>
#include <lib/vm.h>
#include <lib/wakeup.h>

int main(int argc, char **argv)
{
	uint16_t port = argc > 1 ? (uint16_t)strtoul(argv[1], NULL, 10) : 5558;
	if (net_open() < 0) {
		printf("ashecho: no network\n");
		return 2;
	}
	int s = udp_socket();
	long id = udp_bind(s, port) < 0 ? -1 : udp_filter(s); /* "quit" comes here */
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
	check_eq("attach-not-handler", sys_net_filter_ash((uint64_t)id, 7, 0), -E_INVAL);
	struct net_info before, after;
	sys_net_info(&before);
	printf("ashecho: ready on port %u\n", port);
	char buf[64];
	uint32_t ip;
	uint16_t from;
	long seen = 0;
	for (;;) {
		long n = udp_recvfrom(s, buf, sizeof(buf), &ip, &from, UINT64_MAX);
		if (n < 0)
			break;
		seen++;
		if (n == 4 && memcmp(buf, "quit", 4) == 0)
			break;
	}
	sys_net_info(&after);
	uint64_t echoed = after.ni_rx_ash - before.ni_rx_ash;
	printf("ashecho: kernel echoed %lu, %ld reached the env\n", echoed, seen);
	check("kernel-echoed", echoed >= 5);
	check_eq("only-quit-reached-the-env", seen, 1);
	return test_finish();
}
