/*
 * Program start and exit: what runs before main and after it.
 */
#include <lib/base/libos.h>
#include <lib/base/pct.h>
#include <lib/base/vm.h>

envid_t thisenv_id;

int main(int argc, char **argv);

void exception_init(void);

/* Start hooks registered by higher layers (LIBOS_INIT in libos.h), between
 * these two symbols of the link map (lib/base/user.ld). */
extern libos_init_fn *const __libos_init_start[], *const __libos_init_end[];

void libos_start(int argc, char **argv)
{
	thisenv_id = (envid_t)sys_getenvid();
	exception_init();
	vm_init();
	pct_init();
	for (libos_init_fn *const *h = __libos_init_start; h < __libos_init_end; h++)
		(*h)(&argc, &argv);
	exit(main(argc, argv));
}

void (*libos_exit_hook)(void);
void (*libos_block_hook)(void); /* syscall.h */

void exit(int code)
{
	if (libos_exit_hook)
		libos_exit_hook();
	sys_env_exit((uint64_t)code);
	for (;;)
		; /* sys_env_exit does not return */
}

void libos_panic(const char *file, int line, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(buf, sizeof(buf), "[%s] panic at %s:%d: ", thisenv->env_name, file, line);
	if (n >= 0 && (size_t)n < sizeof(buf))
		vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	printf("%s\n", buf);
	exit(EXIT_CODE_MASK);
}
