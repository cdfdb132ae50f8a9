/*
 * Processes in the POSIX layer: start-up (reading what a parent handed us),
 * posix_spawn, execve, waitpid, kill, the environment and the working
 * directory.
 *
 * Spawning (lib/posix/handoff.h): the kernel's env_create passes a child
 * only a space-separated string, so the parent passes a marker there and
 * everything else in pages it binds into the child: the arguments (any
 * bytes but NUL), the environment, the working directory, and each
 * descriptor with the pages its kind needs. The child is runnable from the
 * moment env_create returns, so its start-up waits until the hand-off's
 * first page is bound, which the parent does last. The parent then frees
 * its own hold on the hand-off pages, so they belong to the child and go
 * when it ends.
 *
 * Where a program comes from, and building a child or this env from an ELF
 * file, is exec.c's; here is only the choice between that and the boot
 * image's env_create. A loaded child starts unstarted (env_fork): it gets
 * its hand-off before env_start rather than waiting for it.
 *
 * posix_init runs before main in every program (the link names it: -u
 * posix_init), so even a program that never calls this layer gets its
 * arguments and prints through its descriptors.
 *
 * Exit status and signals: the kernel reports an exit code, a kill by the
 * kernel (a fault) or a destroy by another env. waitpid reports them in
 * Linux's encoding: the code, SIGSEGV, or the signal kill() was asked for.
 */
#include <lib/base/libos.h>
#include <lib/base/vm.h>
#include <lib/posix/exec.h>
#include <lib/posix/fsshare.h>
#include <lib/posix/handoff.h>
#include <lib/posix/pipe.h>
#include <lib/posix/posix.h>

char **environ;
static int nenviron, capenviron;
static char cwd[PATH_MAX] = "/";

/* Signals kill() sent, so waitpid can report them. */
static struct {
	pid_t pid;
	int sig;
} killed[32];

/* ---- start-up ---- */

static void console_write(const char *s, size_t n)
{
	write_all(1, s, n);
}

static int console_getc(void)
{
	unsigned char c;
	ssize_t r = read(0, &c, 1);
	if (r == 1)
		return c;
	return r == 0 ? -E_NOT_FOUND : r == -EAGAIN ? -E_AGAIN : -E_PERM;
}

static const struct console_io posix_console = { console_write, console_getc };

static void posix_exit(void)
{
	fd_close_at_exit(); /* readers of our pipes see their end now */
}

static void die(const char *why)
{
	sys_cputs(why, strlen(why));
	sys_env_exit(127);
}

/* Take what our parent handed us: wait for the first page (bound last). */
static void receive(int *argc, char ***argv)
{
	envid_t parent = thisenv->env_parent_id;
	while (sys_page_lookup(POSIX_HANDOFF_VA) < 0) {
		const volatile struct env_info *p = &uenvs[ENVX(parent)];
		if (!parent || p->env_id != parent || p->env_status == ENV_ZOMBIE ||
		    p->env_status == ENV_FREE)
			die("posix: parent died before handing over\n");
		sys_env_sleep(1);
	}
	const struct handoff *h = (const struct handoff *)POSIX_HANDOFF_VA;
	if (h->h_magic != POSIX_HANDOFF_MAGIC || h->h_npages == 0 ||
	    h->h_npages > POSIX_HANDOFF_PAGES || h->h_nfds > FD_MAX)
		die("posix: damaged hand-off\n");
	for (uint32_t i = 1; i < h->h_npages; i++)
		if (sys_page_lookup(POSIX_HANDOFF_VA + i * PAGE_SIZE) < 0)
			die("posix: hand-off page missing\n");
	size_t room = h->h_npages * PAGE_SIZE - sizeof(*h);
	if (h->h_strlen > room || (h->h_strlen && h->h_strings[h->h_strlen - 1] != '\0'))
		die("posix: damaged hand-off strings\n");
	/* argv, envp and cwd: argc + envc + 1 strings, counted against the end */
	uint64_t want = (uint64_t)h->h_argc + h->h_envc + 1, have = 0;
	for (uint32_t i = 0; i < h->h_strlen; i++)
		have += h->h_strings[i] == '\0';
	if (h->h_argc == 0 || have != want)
		die("posix: hand-off string count wrong\n");
	fs_share_import(h->h_fs_key, h->h_fs_share); /* before files are imported */
	char **av = malloc(sizeof(char *) * (h->h_argc + 1));
	environ = malloc(sizeof(char *) * (h->h_envc + 1));
	if (!av || !environ)
		die("posix: no memory for arguments\n");
	const char *s = h->h_strings;
	for (uint32_t i = 0; i < h->h_argc; i++, s += strlen(s) + 1)
		av[i] = (char *)s; /* the hand-off stays bound: the strings live there */
	av[h->h_argc] = NULL;
	for (uint32_t i = 0; i < h->h_envc; i++, s += strlen(s) + 1)
		environ[i] = (char *)s;
	environ[h->h_envc] = NULL;
	nenviron = capenviron = (int)h->h_envc;
	if (s[0] == '/' && strlen(s) < sizeof(cwd))
		strlcpy(cwd, s, sizeof(cwd));
	fd_import_all(h->h_fds, (int)h->h_nfds);
	*argc = (int)h->h_argc;
	*argv = av;
}

static void posix_start(int *argc, char ***argv)
{
	pipe_kinds_register();
	posix_file_kind_register();
	fd_default_console(); /* registers the console kinds, then fills 0-2 */
	if (*argc == 2 && strcmp((*argv)[1], POSIX_HANDOFF_MARK) == 0) {
		fd_close_all(); /* what the parent passes replaces the defaults */
		receive(argc, argv);
		fd_default_console();
	}
	if (!environ) {
		environ = malloc(sizeof(char *));
		if (environ)
			environ[0] = NULL;
	}
	console_io = &posix_console;
	libos_exit_hook = posix_exit;
}
LIBOS_INIT(posix_start);

/* What the link asks for by name, so this file is in every program. */
void posix_init(void)
{
}

/* ---- spawn and exec ---- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static void spawn_unmap(void)
{
	vm_unmap(POSIX_SPAWN_VA, POSIX_HANDOFF_PAGES * PAGE_SIZE);
}

/* A child that will run prog, from the file system or the boot image
 * (exec.c's exec_lookup says which), waiting for its hand-off: *unstarted
 * says it is still to be started (a loaded one), or already runs and waits
 * (env_create's). */
static long program_child(const char *prog, bool *unstarted)
{
	char path[PATH_MAX];
	int r = exec_lookup(prog, path, sizeof(path));
	if (r < 0)
		return r;
	const char *name = base_name(r == 0 ? path : prog);
	*unstarted = r == 0;
	if (r == 0) {
		const char *stack_argv[] = { name, POSIX_HANDOFF_MARK };
		return exec_child(path, 2, stack_argv);
	}
	if (strlen(name) >= ENV_CREATE_NAME_MAX || name[0] == '\0')
		return -ENOENT;
	long id = sys_env_create(name, POSIX_HANDOFF_MARK, CAP_SELF);
	if (id < 0)
		return id == -E_NOT_FOUND ? -ENOENT : -errno_from_exo(id);
	return id;
}

/* The hand-off of argv, envp and the working directory, built in fresh
 * pages at POSIX_SPAWN_VA (the descriptors are added later): 0 and *out, or
 * -E2BIG, -ENOMEM with nothing left. */
static int handoff_build(char *const argv[], char *const envp[], struct handoff **out)
{
	/* Size it, take that many scratch pages, build it. */
	size_t len = strlen(cwd) + 1;
	uint32_t argc = 0, envc = 0;
	for (; argv[argc]; argc++)
		len += strlen(argv[argc]) + 1;
	for (; envp && envp[envc]; envc++)
		len += strlen(envp[envc]) + 1;
	if (len > POSIX_HANDOFF_PAGES * PAGE_SIZE - sizeof(struct handoff))
		return -E2BIG;
	unsigned npages = (unsigned)(ROUNDUP(sizeof(struct handoff) + len, PAGE_SIZE) / PAGE_SIZE);
	for (unsigned i = 0; i < npages; i++)
		if (vm_page_alloc(POSIX_SPAWN_VA + i * PAGE_SIZE, PROT_READ | PROT_WRITE) < 0) {
			spawn_unmap();
			return -ENOMEM;
		}
	struct handoff *h = (struct handoff *)POSIX_SPAWN_VA;
	char *s = h->h_strings;
	for (uint32_t i = 0; i < argc; i++)
		s += strlcpy(s, argv[i], len) + 1;
	for (uint32_t i = 0; i < envc; i++)
		s += strlcpy(s, envp[i], len) + 1;
	strlcpy(s, cwd, len);
	h->h_magic = POSIX_HANDOFF_MAGIC;
	h->h_argc = argc;
	h->h_envc = envc;
	h->h_strlen = (uint32_t)len;
	h->h_npages = npages;
	*out = h;
	return 0;
}

pid_t posix_spawn(const char *prog, char *const argv[], char *const envp[], const int *fdmap,
		  int nfd)
{
	if (!argv || !argv[0])
		return -EINVAL;
	if (!prog || !prog[0])
		return -ENOENT;
	struct handoff *h;
	int hr = handoff_build(argv, envp ? envp : environ, &h);
	if (hr < 0)
		return hr;

	bool unstarted = false;
	long id = program_child(prog, &unstarted);
	if (id < 0) {
		spawn_unmap();
		return (pid_t)id;
	}
	uint64_t va_next = POSIX_SHARE_VA;
	int nfds = 0;
	long r = fd_export_all((envid_t)id, fdmap, nfd, &va_next, h->h_fds, &nfds);
	h->h_nfds = (uint32_t)nfds;
	if (r >= 0)
		r = fs_share_export((envid_t)id, &h->h_fs_key, &h->h_fs_share);
	/* the first page last: the child waits for it */
	for (uint32_t i = h->h_npages; r >= 0 && i-- > 0;) {
		uint64_t va = POSIX_SPAWN_VA + i * PAGE_SIZE;
		r = sys_page_bind((envid_t)id, POSIX_HANDOFF_VA + i * PAGE_SIZE,
				  vm_lookup(va) >> PAGE_SHIFT, BIND_READ | BIND_WRITE, CAP_SELF);
		if (r < 0)
			r = -errno_from_exo(r);
	}
	spawn_unmap(); /* the pages the child has bound become its own */
	if (r >= 0 && unstarted) {
		r = sys_env_start((envid_t)id, CAP_SELF);
		if (r < 0)
			r = -errno_from_exo(r);
	}
	if (r < 0) {
		sys_env_destroy((envid_t)id, CAP_SELF);
		sys_env_wait((envid_t)id);
		return (pid_t)r;
	}
	return (pid_t)id;
}

/* A program from the file system replaces this one in place (exec.c); one
 * from the boot image runs as a child this process becomes: the kernel's
 * env_exec keeps nothing of the hand-off (doc/shell.md). */
int execve(const char *prog, char *const argv[], char *const envp[])
{
	if (!argv || !argv[0])
		return -EINVAL;
	char path[PATH_MAX];
	int found = exec_lookup(prog, path, sizeof(path));
	if (found < 0)
		return found;
	if (found == 0) {
		struct handoff *h;
		int r = handoff_build(argv, envp ? envp : environ, &h);
		if (r == 0)
			r = exec_replace(path, h); /* returns only on failure */
		spawn_unmap();
		return r;
	}
	pid_t pid = posix_spawn(prog, argv, envp, NULL, 0);
	if (pid < 0)
		return pid;
	if (ukinfo->ki_console == thisenv_id)
		sys_cons_grant(pid);
	fd_close_all();
	int status = 0;
	while (waitpid(pid, &status, 0) == -EINTR)
		;
	exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
}

/* ---- wait and kill ---- */

static int status_of(pid_t pid, long exo)
{
	for (unsigned i = 0; i < ARRAY_SIZE(killed); i++)
		if (killed[i].pid == pid) {
			killed[i].pid = 0;
			if (exo & EXIT_DESTROYED)
				return killed[i].sig;
		}
	if (exo & EXIT_KILLED)
		return SIGSEGV;
	if (exo & EXIT_DESTROYED)
		return SIGKILL;
	return (int)(exo & EXIT_CODE_MASK) << 8;
}

static bool is_child(pid_t pid, bool *dead)
{
	const volatile struct env_info *e = &uenvs[ENVX(pid)];
	if (pid <= 0 || e->env_id != pid || e->env_parent_id != thisenv_id ||
	    e->env_status == ENV_FREE)
		return false;
	*dead = e->env_status == ENV_ZOMBIE;
	return true;
}

static pid_t reap(pid_t pid, int *status)
{
	long s = sys_env_wait(pid);
	if (s < 0)
		return -ECHILD;
	if (status)
		*status = status_of(pid, s);
	return pid;
}

pid_t waitpid(pid_t pid, int *status, int options)
{
	if (options & ~WNOHANG)
		return -EINVAL;
	bool dead;
	if (pid > 0) {
		if (!is_child(pid, &dead))
			return -ECHILD;
		if (!dead && (options & WNOHANG))
			return 0;
		return reap(pid, status);
	}
	if (pid != -1)
		return -ENOSYS; /* no process groups */
	for (;;) {
		bool any = false;
		for (uint32_t i = 0; i < ukinfo->ki_nenv; i++) {
			pid_t c = uenvs[i].env_id;
			if (!is_child(c, &dead))
				continue;
			if (dead)
				return reap(c, status);
			any = true;
		}
		if (!any)
			return -ECHILD;
		if (options & WNOHANG)
			return 0;
		sys_env_sleep(ukinfo->ki_tick_hz / 100);
	}
}

static bool live(pid_t pid)
{
	const volatile struct env_info *e = &uenvs[ENVX(pid)];
	return pid > 0 && e->env_id == pid && e->env_status != ENV_FREE &&
	       e->env_status != ENV_ZOMBIE;
}

int kill(pid_t pid, int sig)
{
	if (sig < 0 || sig >= NSIG)
		return -EINVAL;
	if (pid <= 0)
		return -ENOSYS; /* no process groups */
	if (!live(pid))
		return -ESRCH;
	if (sig == 0)
		return 0;
	long r = sys_env_destroy(pid, CAP_SELF);
	if (r < 0)
		return r == -E_BAD_ENV ? -ESRCH : -EPERM;
	for (unsigned i = 0; i < ARRAY_SIZE(killed); i++)
		if (killed[i].pid == 0 || killed[i].pid == pid || !live(killed[i].pid) ||
		    i == ARRAY_SIZE(killed) - 1) {
			killed[i].pid = pid;
			killed[i].sig = sig;
			break;
		}
	return 0;
}

int kill_tree(pid_t pid, int sig)
{
	/* Gather the tree first: once a parent dies its children are orphans
	 * and no longer name it. */
	static pid_t tree[NENV];
	int n = 0;
	if (!live(pid))
		return -ESRCH;
	tree[n++] = pid;
	for (bool grew = true; grew;) {
		grew = false;
		for (uint32_t i = 0; i < ukinfo->ki_nenv && n < NENV; i++) {
			pid_t c = uenvs[i].env_id;
			if (!live(c))
				continue;
			bool in = false, parent_in = false;
			for (int j = 0; j < n; j++) {
				in |= tree[j] == c;
				parent_in |= tree[j] == uenvs[i].env_parent_id;
			}
			if (parent_in && !in) {
				tree[n++] = c;
				grew = true;
			}
		}
	}
	int r = kill(pid, sig);
	for (int j = 1; j < n; j++)
		if (live(tree[j]))
			sys_env_destroy(tree[j], CAP_SELF);
	return r;
}

pid_t getpid(void)
{
	return thisenv_id;
}

pid_t getppid(void)
{
	return thisenv->env_parent_id;
}

/* ---- environment ---- */

static int env_find(const char *name, size_t len)
{
	for (int i = 0; environ && environ[i]; i++)
		if (strncmp(environ[i], name, len) == 0 && environ[i][len] == '=')
			return i;
	return -1;
}

static bool name_ok(const char *name)
{
	return name && name[0] && !strchr(name, '=');
}

char *getenv(const char *name)
{
	if (!name_ok(name))
		return NULL;
	size_t len = strlen(name);
	int i = env_find(name, len);
	return i < 0 ? NULL : environ[i] + len + 1;
}

int setenv(const char *name, const char *value, int overwrite)
{
	if (!name_ok(name) || !value)
		return -EINVAL;
	size_t nl = strlen(name), vl = strlen(value);
	int i = env_find(name, nl);
	if (i >= 0 && !overwrite)
		return 0;
	char *s = malloc(nl + vl + 2);
	if (!s)
		return -ENOMEM;
	memcpy(s, name, nl);
	s[nl] = '=';
	memcpy(s + nl + 1, value, vl + 1);
	/* Strings from the hand-off are not ours to free: old values leak,
	 * as they may with setenv anywhere. */
	if (i >= 0) {
		environ[i] = s;
		return 0;
	}
	if (nenviron + 1 >= capenviron) {
		int cap = capenviron ? capenviron * 2 : 16;
		char **e = malloc(sizeof(char *) * (size_t)(cap + 1));
		if (!e) {
			free(s);
			return -ENOMEM;
		}
		for (int j = 0; j < nenviron; j++)
			e[j] = environ[j];
		environ = e;
		capenviron = cap;
	}
	environ[nenviron++] = s;
	environ[nenviron] = NULL;
	return 0;
}

int unsetenv(const char *name)
{
	if (!name_ok(name))
		return -EINVAL;
	int i = env_find(name, strlen(name));
	if (i >= 0) {
		for (; environ[i]; i++)
			environ[i] = environ[i + 1];
		nenviron--;
	}
	return 0;
}

/* ---- working directory ---- */

int path_resolve(const char *path, char *out, size_t size)
{
	if (!path || !path[0])
		return -ENOENT;
	/* Components pushed onto out one at a time; ".." pops one. */
	size_t len = 0;
	const char *parts[2] = { path[0] == '/' ? "" : cwd, path };
	for (int k = 0; k < 2; k++) {
		for (const char *p = parts[k]; *p;) {
			while (*p == '/')
				p++;
			const char *c = p;
			while (*p && *p != '/')
				p++;
			size_t n = (size_t)(p - c);
			if (n == 0 || (n == 1 && c[0] == '.'))
				continue;
			if (n > NAME_MAX)
				return -ENAMETOOLONG;
			if (n == 2 && c[0] == '.' && c[1] == '.') {
				while (len > 0 && out[len - 1] != '/')
					len--;
				if (len > 0)
					len--;
				continue;
			}
			if (len + 1 + n + 1 > size)
				return -ENAMETOOLONG;
			out[len++] = '/';
			memcpy(out + len, c, n);
			len += n;
		}
	}
	if (len == 0) {
		if (size < 2)
			return -ENAMETOOLONG;
		out[len++] = '/';
	}
	out[len] = '\0';
	return (int)len;
}

int chdir(const char *path)
{
	char abs[PATH_MAX];
	int r = path_resolve(path, abs, sizeof(abs));
	if (r < 0)
		return r;
	struct stat st;
	r = stat(abs, &st);
	if (r == -ENOSYS) /* no file system: only the root exists */
		r = strcmp(abs, "/") == 0 ? 0 : -ENOENT;
	else if (r == 0 && !S_ISDIR(st.st_mode))
		r = -ENOTDIR;
	if (r == 0)
		strlcpy(cwd, abs, sizeof(cwd));
	return r;
}

const char *posix_cwd(void)
{
	return cwd;
}

char *getcwd(char *buf, size_t size)
{
	if (!buf || strlen(cwd) + 1 > size)
		return NULL;
	strlcpy(buf, cwd, size);
	return buf;
}
