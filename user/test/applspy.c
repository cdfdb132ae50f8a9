/*
 * applspy NAME: a hostile program beside a dedicated server (started by
 * user/srv/applside.c as the server's sibling; not one of testrun's tests,
 * since it needs the server and a network). It waits until the env named
 * NAME owns at least SPY_MIN_PAGES user pages (the server has filled its
 * cache: tools/test-httpd-exo fetches a 10 MiB file first), then tries to
 * get at what the server owns, printing one PASS/FAIL line per attempt:
 *
 *  - take its connections: claim its TCP port (the kernel must say E_BUSY);
 *  - read its cache: bind each of its pages into our address space (E_PERM);
 *  - free, take or reallocate its pages (E_PERM, E_BUSY);
 *  - put a page of ours into its address space, or destroy it (E_PERM).
 *
 * Then it burns the CPU for SPIN_MS while the host measures the server
 * (the server must keep its share), and exits.
 *
 *   applspy NAME [PORT]     PORT is the server's TCP port (80)
 */
#include <inc/net.h>
#include <lib/base/libos.h>
#include <lib/net/net.h>
#include <lib/net/netwire.h>

#define SPY_MIN_PAGES 2560   /* 10 MiB: the big file is in the server's cache */
#define WAIT_MS 120000
#define SPIN_MS 6000
#define SCRATCH_VA 0x0000500000000000UL

static uint64_t now_ms(void)
{
	return rdtsc() / (ukinfo->ki_tsc_hz / 1000);
}

/* One PASS/FAIL line; a failure says what it got. */
static void check(const char *name, bool ok, const char *what, long got)
{
	if (ok)
		printf("PASS: httpd-exo.isolation.%s\n", name);
	else
		printf("FAIL: httpd-exo.isolation.%s: %s %ld\n", name, what, got);
}

static envid_t find(const char *name)
{
	for (uint32_t i = 0; i < ukinfo->ki_nenv; i++) {
		const volatile struct env_info *e = &uenvs[i];
		if (e->env_id && e->env_id != thisenv_id &&
		    (e->env_status == ENV_RUNNABLE || e->env_status == ENV_RUNNING ||
		     e->env_status == ENV_BLOCKED) &&
		    strncmp((const char *)e->env_name, name, ENV_NAME_LEN) == 0)
			return e->env_id;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "httpd";
	uint16_t port = argc > 2 ? (uint16_t)strtoul(argv[2], NULL, 10) : 80;
	envid_t victim = 0;
	uint64_t deadline = now_ms() + WAIT_MS;
	while (now_ms() < deadline) {
		victim = find(name);
		if (victim && uenvs[ENVX(victim)].env_user_pages >= SPY_MIN_PAGES)
			break;
		sys_yield();
	}
	if (!victim || uenvs[ENVX(victim)].env_user_pages < SPY_MIN_PAGES) {
		printf("FAIL: httpd-exo.isolation.found: no %s with a full cache\n", name);
		return 1;
	}
	printf("applspy: attacking %s (env %08x, %u user pages)\n", name, victim,
	       uenvs[ENVX(victim)].env_user_pages);

	int f = net_claim_port(IP_PROTO_TCP, port);
	check("claim-port", f == -E_BUSY, "claiming its port gave", f);
	if (f >= 0)
		net_unclaim(f);

	/* every page it owns: bind (read its cache), free, allocate */
	long tried = 0, bound = 0, freed = 0, taken = 0, last_bind = 0;
	for (uint64_t ppn = 0; ppn < ukinfo->ki_npages; ppn++) {
		if (upages[ppn].pg_owner != victim || upages[ppn].pg_type != PAGE_USER)
			continue;
		tried++;
		long r = sys_page_bind(0, SCRATCH_VA, ppn, BIND_READ, CAP_SELF);
		if (r >= 0) {
			bound++;
			sys_page_unbind(0, SCRATCH_VA, CAP_SELF);
		} else {
			last_bind = r;
		}
		if (sys_page_free(ppn, CAP_SELF) >= 0)
			freed++;
		if (sys_page_alloc(ppn, CAP_SELF) >= 0)
			taken++;
	}
	printf("applspy: tried %ld of its pages\n", tried);
	check("bind-its-pages", tried >= SPY_MIN_PAGES && bound == 0 && last_bind == -E_PERM,
	      "pages bound:", bound);
	check("free-its-pages", freed == 0, "pages freed:", freed);
	check("take-its-pages", taken == 0, "pages taken:", taken);

	/* into its address space, or kill it */
	long mine = sys_page_alloc(PPN_ANY, CAP_SELF);
	long r = mine >= 0 ? sys_page_bind(victim, SCRATCH_VA, (uint64_t)mine, BIND_READ, CAP_SELF)
			   : mine;
	check("bind-into-it", r == -E_PERM, "binding into it gave", r);
	if (mine >= 0)
		sys_page_free((uint64_t)mine, CAP_SELF);
	r = sys_env_destroy(victim, CAP_SELF);
	check("destroy-it", r == -E_PERM, "destroying it gave", r);

	/* hog the CPU: the host measures the server meanwhile */
	printf("applspy: spinning\n");
	uint64_t end = now_ms() + SPIN_MS;
	volatile uint64_t x = 0;
	while (now_ms() < end)
		x++;
	printf("applspy: spun\n");
	return 0;
}
