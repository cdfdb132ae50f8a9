/*
 * init: the first environment by default. It becomes the shell (the kernel's
 * exec keeps its env id, so the shell is still the first env and may power
 * the machine off or reboot it). The monitor's commands live on as shell
 * builtins (progs, trace, reboot, poweroff, kill) and programs (ps, pages,
 * caps, filters, slices, bindings, trace).
 */
#include <lib/base/libos.h>

int main(int argc UNUSED, char **argv UNUSED)
{
	long r = sys_env_exec("sh", "");
	printf("init: cannot start sh: %le\n", r);
	return 1;
}
