/*
 * init: the first environment by default. It becomes the shell (an exec
 * keeps the env id, so the shell is still the first env and may power the
 * machine off or reboot it). The monitor's commands live on as shell
 * builtins (progs, trace, reboot, poweroff, kill) and programs (ps, pages,
 * caps, filters, slices, bindings, trace).
 *
 * Where the shell comes from (doc/boot.md): from the boot archive when it
 * holds one (BOOT_PROGRAMS=full, the kernel's exec), else from the disk,
 * /bin/sh, by lib/posix's execve, which keeps the env id too. Without a
 * disk, or without /bin/sh on it, it says so and ends.
 */
#include <lib/base/libos.h>
#include <lib/posix/errno.h>
#include <lib/posix/posix.h>

static bool in_boot_archive(const char *name)
{
	for (uint32_t i = 0; i < ukinfo->ki_nprogs && i < KI_MAX_PROGS; i++)
		if (strcmp((const char *)ukinfo->ki_progs[i], name) == 0)
			return true;
	return false;
}

int main(int argc UNUSED, char **argv UNUSED)
{
	if (in_boot_archive("sh")) {
		long r = sys_env_exec("sh", "");
		printf("init: cannot start sh: %le\n", r);
		return 1;
	}
	/* the first path call mounts the tree (-ENOSYS: no disk, or none
	 * formatted) */
	struct stat st;
	int r = stat("/bin/sh", &st);
	if (r == -ENOSYS) {
		printf("init: the boot archive has no sh, and no file system to run /bin/sh from"
		       " (%s; is there a disk? DISK=build/disk.img)\n",
		       strerror(r));
		return 1;
	}
	if (r < 0) {
		printf("init: the boot archive has no sh, and the disk has no /bin/sh: %s\n",
		       strerror(r));
		return 1;
	}
	char *sh_argv[] = { "sh", NULL };
	r = execve("/bin/sh", sh_argv, NULL);
	printf("init: cannot run /bin/sh from the disk: %s\n", strerror(r));
	return 1;
}
