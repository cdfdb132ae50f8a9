/*
 * applside PROG [ARGS...]: run a dedicated server beside a hostile
 * program, as siblings (tools/test-httpd-exo boots it as the first env).
 *
 * It starts PROG with ARGS (the server, on the appliance library OS) and
 * then applspy (an ordinary program, on the POSIX-flavoured library OS)
 * as its children. The two are siblings: each env's key is its own guard,
 * one component below applside's, so neither key dominates the other and
 * the kernel's ownership checks alone stand between them. applside then
 * waits for both and reports how each ended.
 */
#include <lib/base/libos.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		printf("usage: applside PROG [ARGS...]\n");
		return 2;
	}
	char args[256] = "";
	size_t used = 0;
	for (int i = 2; i < argc; i++) {
		int n = snprintf(args + used, sizeof(args) - used, "%s%s", i > 2 ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(args) - used) {
			printf("applside: arguments too long\n");
			return 2;
		}
		used += (size_t)n;
	}
	long server = sys_env_create(argv[1], args, CAP_SELF);
	if (server < 0) {
		printf("applside: cannot start %s: %e\n", argv[1], server);
		return 1;
	}
	char target[32];
	snprintf(target, sizeof(target), "%s", argv[1]);
	long spy = sys_env_create("applspy", target, CAP_SELF);
	if (spy < 0) {
		printf("applside: cannot start applspy: %e\n", spy);
		return 1;
	}
	long st = sys_env_wait((envid_t)spy);
	printf("applside: applspy ended with status %lx\n", (unsigned long)st);
	st = sys_env_wait((envid_t)server);
	printf("applside: %s ended with status %lx\n", argv[1], (unsigned long)st);
	return 0;
}
