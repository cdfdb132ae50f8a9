/*
 * Packet filters end to end (run by tools/test-net, which forwards two host
 * ports to guest UDP ports 5556 and 5557): two envs, each with its own ring
 * and a filter for its own port, each answer only their own traffic; a
 * filter on the other's port is refused; every filter error.
 */
#include <inc/dpf.h>
#include <lib/net/net.h>
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/proc.h>

static char buf[UDP_PAYLOAD_MAX + 2];
static volatile uint64_t *sync_word;

/* Echo with a tag until "quit"; exit with how many datagrams were not ours
 * (there must be none: the filters keep them away). */
static int serve(int s, char tag, uint16_t port)
{
	printf("demux: %c ready on port %u\n", tag, port);
	for (;;) {
		uint32_t ip;
		uint16_t from;
		long n = udp_recvfrom(s, buf + 2, sizeof(buf) - 2, &ip, &from, UINT64_MAX);
		if (n < 0)
			return 1;
		if (n == 4 && memcmp(buf + 2, "quit", 4) == 0)
			return 0;
		buf[0] = tag;
		buf[1] = ':';
		udp_sendto(s, buf, (size_t)n + 2, ip, from);
	}
}

/* Filters and their denials: no traffic needed. */
static void denials(void)
{
	struct dpf_filter bad = { 0 };
	check_eq("filter-empty", sys_net_filter_add(&bad, CAP_SELF), -E_INVAL);
	bad.df_natoms = DPF_MAX_ATOMS + 1;
	check_eq("filter-too-long", sys_net_filter_add(&bad, CAP_SELF), -E_INVAL);
	check_eq("filter-unreadable", sys_net_filter_add((struct dpf_filter *)16, CAP_SELF),
		 -E_FAULT);
	check_eq("remove-bad", sys_net_filter_remove(DPF_MAX_FILTERS), -E_INVAL);
	check_eq("remove-none", sys_net_filter_remove(DPF_MAX_FILTERS - 1), -E_NOT_FOUND);
	struct dpf_filter f;
	dpf_filter_ipv4_port(&f, 17, 6000);
	long mine = sys_net_filter_add(&f, CAP_SELF);
	check("add", mine >= 0);
	struct net_filter_info fi[8];
	long nf = sys_net_filters(fi, 8);
	bool listed = false;
	for (long i = 0; i < nf; i++)
		listed = listed || (fi[i].nf_id == mine && fi[i].nf_owner == thisenv_id);
	check("listed", listed);
	check_eq("filters-bad-out", sys_net_filters((struct net_filter_info *)16, 8), -E_FAULT);
	long pid = fork();
	if (pid == 0) {
		/* a child may not take its parent's port, nor remove its filter */
		if (sys_net_filter_add(&f, CAP_SELF) != -E_BUSY)
			exit(1);
		if (sys_net_filter_remove((uint64_t)mine) != -E_PERM)
			exit(2);
		struct dpf_filter g;
		dpf_filter_ipv4_port(&g, 17, 6001);
		long other = sys_net_filter_add(&g, CAP_SELF);
		if (other < 0)
			exit(3);
		sync_word[0] = (uint64_t)other;
		exit(0); /* its filter dies with it */
	}
	check_eq("child-denied", wait(pid), 0);
	nf = sys_net_filters(fi, 8);
	bool gone = true;
	for (long i = 0; i < nf; i++)
		gone = gone && fi[i].nf_id != (int32_t)sync_word[0];
	check("filters-die-with-owner", gone);
	/* the parent may take a descendant's port: its key dominates */
	long kid = fork();
	if (kid == 0) {
		struct dpf_filter g;
		dpf_filter_ipv4_port(&g, 17, 6002);
		sync_word[1] = (uint64_t)sys_net_filter_add(&g, CAP_SELF);
		while (sync_word[2] == 0)
			sys_yield();
		exit(0);
	}
	while (sync_word[1] == 0)
		sys_yield();
	struct dpf_filter g;
	dpf_filter_ipv4_port(&g, 17, 6002);
	long taken = sys_net_filter_add(&g, CAP_SELF);
	check("parent-overrides-child", taken >= 0);
	sync_word[2] = 1;
	wait(kid);
	sys_net_filter_remove((uint64_t)taken);
	check_eq("remove", sys_net_filter_remove((uint64_t)mine), 0);
}

/*
 * Authority over every owner a filter overlaps (issue 13, finding 4): A's
 * child holds "IPv4 TCP", a stranger S "IPv4 UDP port 7001". A's filter
 * "IPv4, port 7001, IHL 5" overlaps both; its key dominates its child, not
 * S, so it is refused - even though the check meets the child's filter
 * (shorter, on the same path) first.
 */
static void every_owner(void)
{
	volatile uint64_t *w = sync_word + 16;
	long s = fork();
	if (s == 0) {
		struct dpf_filter f = { .df_natoms = 3,
					.df_atoms = { DPF_EQ(12, 2, 0xffff, 0x0800),
						      DPF_EQ(23, 1, 0xff, 17),
						      DPF_EQ(36, 2, 0xffff, 7001) } };
		w[0] = sys_net_filter_add(&f, CAP_SELF) >= 0 ? 1 : 2;
		while (w[3] == 0)
			sys_yield();
		exit(0);
	}
	while (w[0] == 0)
		sys_yield();
	check_eq("stranger-filter", (long)w[0], 1);
	long a = fork();
	if (a == 0) {
		long c = fork();
		if (c == 0) {
			struct dpf_filter f = { .df_natoms = 2,
						.df_atoms = { DPF_EQ(12, 2, 0xffff, 0x0800),
							      DPF_EQ(23, 1, 0xff, 6) } };
			w[1] = sys_net_filter_add(&f, CAP_SELF) >= 0 ? 1 : 2;
			while (w[3] == 0)
				sys_yield();
			exit(0);
		}
		while (w[1] == 0)
			sys_yield();
		struct dpf_filter f = { .df_natoms = 3,
					.df_atoms = { DPF_EQ(12, 2, 0xffff, 0x0800),
						      DPF_EQ(14, 1, 0xff, 0x45),
						      DPF_EQ(36, 2, 0xffff, 7001) } };
		w[2] = (uint64_t)-sys_net_filter_add(&f, CAP_SELF);
		w[3] = 1;
		wait(c);
		exit(0);
	}
	while (w[3] == 0)
		sys_yield();
	check_eq("child-filter", (long)w[1], 1);
	check_eq("overlap-child-and-stranger-refused", -(long)w[2], -E_BUSY);
	wait(a);
	wait(s);
}

int main(void)
{
	sync_word = vm_alloc_shared(PAGE_SIZE);
	denials();
	every_owner();
	int r = net_open();
	if (r == -E_NOT_FOUND)
		return test_finish(); /* no NIC here: tools/test-net boots with one */
	check_eq("open", r, 0);
	volatile uint64_t *sync = sync_word + 8;
	int a = udp_socket();
	check_eq("bind-a", udp_bind(a, 5557), 0);
	long pid = fork();
	if (pid == 0) {
		if (net_open() < 0)
			exit(10);
		int b = udp_socket();
		if (udp_bind(b, 5557) != -E_BUSY) /* the parent's port is the parent's */
			exit(11);
		if (udp_bind(b, 5556) < 0)
			exit(13);
		sync[0] = 1;
		exit(serve(b, 'B', 5556));
	}
	while (sync[0] == 0 && uenvs[ENVX(pid)].env_status != ENV_ZOMBIE)
		sys_yield();
	check("child-ready", sync[0] == 1);
	check_eq("a-serves", serve(a, 'A', 5557), 0);
	check_eq("b-serves", wait(pid), 0);
	return test_finish();
}
