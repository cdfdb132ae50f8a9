/*
 * The POSIX layer (lib/posix): every error its descriptor calls return,
 * pipes with several holders and dead ones, spawning with a descriptor map,
 * arguments with spaces, the environment, exit statuses and kills, exec,
 * and SIGPIPE's default. Children are the tools in user/bin (echo, cat,
 * env, exitwith, spin, xxd, sh).
 */
#include <lib/base/test.h>
#include <lib/base/vm.h>
#include <lib/posix/posix.h>

#define POSIX_ARG_TEST (40 * 1024) /* past the hand-off's 32 KiB */

static bool strstr_simple(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (strncmp(hay, needle, n) == 0)
			return true;
	return false;
}

/* Run argv with stdin from `in` (a string, or NULL: /dev/null); its output
 * into out[size]; returns its wait status (or -errno). */
static int run(char *const argv[], char *const envp[], const char *in, char *out, size_t size)
{
	int ip[2], op[2];
	if (pipe(ip) < 0 || pipe(op) < 0)
		return -EMFILE;
	int map[3] = { ip[0], op[1], op[1] };
	pid_t pid = posix_spawn(argv[0], argv, envp, map, 3);
	close(ip[0]);
	close(op[1]);
	if (pid < 0) {
		close(ip[1]);
		close(op[0]);
		return pid;
	}
	if (in)
		write_all(ip[1], in, strlen(in));
	close(ip[1]);
	size_t len = 0;
	for (ssize_t n; len + 1 < size && (n = read(op[0], out + len, size - 1 - len)) > 0;)
		len += (size_t)n;
	out[len] = '\0';
	close(op[0]);
	int st;
	pid_t r = waitpid(pid, &st, 0);
	return r == pid ? st : r;
}

static bool live_named(const char *name)
{
	for (uint32_t i = 0; i < ukinfo->ki_nenv; i++) {
		const volatile struct env_info *e = &uenvs[i];
		if (e->env_status != ENV_FREE && e->env_status != ENV_ZOMBIE &&
		    strcmp((const char *)e->env_name, name) == 0)
			return true;
	}
	return false;
}

static void descriptors(void)
{
	check_eq("close-negative", close(-1), -EBADF);
	check_eq("close-unused", close(40), -EBADF);
	check_eq("close-past-table", close(FD_MAX), -EBADF);
	char c;
	check_eq("read-unused", read(40, &c, 1), -EBADF);
	check_eq("write-unused", write(40, &c, 1), -EBADF);
	check_eq("dup-unused", dup(40), -EBADF);
	check_eq("dup2-past-table", dup2(1, FD_MAX), -EBADF);
	check_eq("dup2-same", dup2(1, 1), 1);
	int d = dup(1);
	check("dup-lowest-free", d == 3);
	check_eq("dup2-onto", dup2(2, d), d);
	check_eq("close-dup", close(d), 0);
	check_eq("fcntl-bad-cmd", fcntl(1, 99, 0), -EINVAL);
	check_eq("fcntl-unused", fcntl(40, F_GETFL, 0), -EBADF);
	check_eq("fcntl-getfl", fcntl(1, F_GETFL, 0) & O_ACCMODE, O_RDWR);
	check_eq("fcntl-dupfd", fcntl(1, F_DUPFD, 10), 10);
	check_eq("fcntl-dupfd-range", fcntl(1, F_DUPFD, FD_MAX), -EINVAL);
	check_eq("fcntl-setfd", fcntl(10, F_SETFD, FD_CLOEXEC), 0);
	check_eq("fcntl-getfd", fcntl(10, F_GETFD, 0), FD_CLOEXEC);
	close(10);
	check_eq("isatty-console", isatty(1), 1);
	check_eq("isatty-unused", isatty(40), -EBADF);
	struct stat st;
	check_eq("fstat-console", fstat(1, &st), 0);
	check("fstat-console-chr", S_ISCHR(st.st_mode));
	check_eq("lseek-console", lseek(1, 0, SEEK_SET), -ESPIPE);
	check_eq("lseek-bad-whence", lseek(1, 0, 7), -EINVAL);
	check_eq("pread-console", pread(1, &c, 1, 0), -ESPIPE);
	check_eq("pread-negative", pread(1, &c, 1, -1), -EINVAL);
	check_eq("ftruncate-console", ftruncate(1, 0), -EINVAL);

	int n = open("/dev/null", O_RDWR, 0);
	check("open-null", n >= 3);
	check_eq("null-write", write(n, "abc", 3), 3);
	check_eq("null-read-eof", read(n, &c, 1), 0);
	check_eq("null-isatty", isatty(n), 0);
	close(n);
	int ro = open("/dev/null", O_RDONLY, 0);
	check_eq("write-readonly", write(ro, "x", 1), -EBADF);
	close(ro);
	int z = open("/dev/zero", O_RDONLY, 0);
	char zb[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
	check_eq("zero-read", read(z, zb, sizeof(zb)), sizeof(zb));
	check("zero-zeros", zb[0] == 0 && zb[7] == 0);
	close(z);
	check_eq("open-no-fs", open("/etc/motd", O_RDONLY, 0), -ENOSYS);
	check_eq("open-empty", open("", O_RDONLY, 0), -ENOENT);
	static char longname[PATH_MAX + 10];
	memset(longname, 'a', sizeof(longname) - 1);
	check_eq("open-name-too-long", open(longname, O_RDONLY, 0), -ENAMETOOLONG);
	check_eq("stat-no-fs", stat("/", &st), -ENOSYS);
	check_eq("unlink-no-fs", unlink("/x"), -ENOSYS);
	check_eq("mkdir-no-fs", mkdir("/x", 0777), -ENOSYS);
	check_eq("rename-no-fs", rename("/x", "/y"), -ENOSYS);
	int err = 0;
	check("opendir-no-fs", opendir("/", &err) == NULL && err == ENOSYS);

	char buf[PATH_MAX];
	check_eq("resolve-dots", path_resolve("/a/./b/../c//d/", buf, sizeof(buf)), 6);
	check("resolve-dots-text", strcmp(buf, "/a/c/d") == 0);
	check_eq("resolve-above-root", path_resolve("/../..", buf, sizeof(buf)), 1);
	check_eq("resolve-short-buffer", path_resolve("/abc", buf, 3), -ENAMETOOLONG);
	check_eq("chdir-missing", chdir("/nope"), -ENOENT);
	check_eq("chdir-root", chdir("/"), 0);
	check("getcwd", getcwd(buf, sizeof(buf)) && strcmp(buf, "/") == 0);
	check("getcwd-short", getcwd(buf, 1) == NULL);

	check("strerror", strcmp(strerror(-ENOENT), "No such file or directory") == 0);
	check("strerror-unknown", strcmp(strerror(9999), "Unknown error") == 0);
	check_eq("errno-from-exo", errno_from_exo(-E_NOT_FOUND), ENOENT);
}

static void pipes(void)
{
	int p[2];
	check_eq("pipe", pipe(p), 0);
	check_eq("pipe-write", write(p[1], "hello", 5), 5);
	char b[16];
	check_eq("pipe-read", read(p[0], b, sizeof(b)), 5);
	check_eq("pipe-read-write-end", read(p[1], b, 1), -EBADF);
	check_eq("pipe-write-read-end", write(p[0], b, 1), -EBADF);
	check_eq("pipe-lseek", lseek(p[0], 0, SEEK_SET), -ESPIPE);
	struct stat st;
	check("pipe-fstat-fifo", fstat(p[0], &st) == 0 && S_ISFIFO(st.st_mode));
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	check_eq("pipe-nonblock-empty", read(p[0], b, 1), -EAGAIN);
	/* fill it without blocking: a short write, then EAGAIN */
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	static char big[8192];
	ssize_t w = write(p[1], big, sizeof(big));
	check("pipe-nonblock-short-write", w > 0 && w < (ssize_t)sizeof(big));
	check_eq("pipe-nonblock-full", write(p[1], big, 1), -EAGAIN);
	close(p[1]);
	ssize_t got = 0;
	for (ssize_t n; (n = read(p[0], big, sizeof(big))) > 0;)
		got += n;
	check_eq("pipe-drained-then-eof", got, w);
	close(p[0]);

	/* no reader: EPIPE (we ignore SIGPIPE for this) */
	posix_ignore_sigpipe();
	pipe(p);
	close(p[0]);
	check_eq("pipe-no-reader", write(p[1], "x", 1), -EPIPE);
	close(p[1]);

	/* a forked writer that dies without closing still ends our input */
	pipe(p);
	long pid = fork();
	if (pid == 0) {
		write(p[1], "from-child", 10);
		sys_env_exit(0); /* no exit hook: the end is never closed */
	}
	close(p[1]);
	size_t len = 0;
	for (ssize_t n; (n = read(p[0], b + len, sizeof(b) - 1 - len)) > 0;)
		len += (size_t)n;
	b[len] = '\0';
	check("pipe-fork-child-data", strcmp(b, "from-child") == 0);
	check_eq("pipe-fork-child-status", wait(pid), 0);
	close(p[0]);
}

static void spawning(void)
{
	char out[512];
	char *echo[] = { "echo", "a b", "", "c", NULL };
	check_eq("spawn-echo-status", run(echo, NULL, NULL, out, sizeof(out)), 0);
	check("spawn-args-with-spaces", strcmp(out, "a b  c\n") == 0);
	char *cat[] = { "cat", NULL };
	check_eq("spawn-cat", run(cat, NULL, "through cat\n", out, sizeof(out)), 0);
	check("spawn-cat-data", strcmp(out, "through cat\n") == 0);
	setenv("POSIX_TEST", "x y=z", 1);
	char *env[] = { "env", NULL };
	run(env, NULL, NULL, out, sizeof(out));
	check("spawn-environment-inherited", strstr_simple(out, "POSIX_TEST=x y=z\n"));
	char *only[] = { "ONLY=1", NULL };
	run(env, only, NULL, out, sizeof(out));
	check("spawn-environment-given", strcmp(out, "ONLY=1\n") == 0);
	char *ex[] = { "exitwith", "3", NULL };
	int st = run(ex, NULL, NULL, out, sizeof(out));
	check("exit-status", WIFEXITED(st) && WEXITSTATUS(st) == 3);
	char *none[] = { "no-such-program", NULL };
	check_eq("spawn-not-found", posix_spawn("no-such-program", none, NULL, NULL, 0), -ENOENT);
	int badmap[1] = { 40 };
	check_eq("spawn-bad-fd", posix_spawn("echo", echo, NULL, badmap, 1), -EBADF);
	static char hugearg[POSIX_ARG_TEST];
	memset(hugearg, 'h', sizeof(hugearg) - 1);
	char *huge[] = { "echo", hugearg, NULL };
	check_eq("spawn-too-big", posix_spawn("echo", huge, NULL, NULL, 0), -E2BIG);
	char *empty[] = { NULL };
	check_eq("spawn-no-argv", posix_spawn("echo", empty, NULL, NULL, 0), -EINVAL);

	/* two writers on one end: end of input once both are gone */
	int p[2];
	pipe(p);
	int map[3] = { -1, p[1], p[1] };
	char *e1[] = { "echo", "one", NULL }, *e2[] = { "echo", "two", NULL };
	pid_t a = posix_spawn("echo", e1, NULL, map, 3), b = posix_spawn("echo", e2, NULL, map, 3);
	close(p[1]);
	size_t len = 0;
	for (ssize_t n; (n = read(p[0], out + len, sizeof(out) - 1 - len)) > 0;)
		len += (size_t)n;
	out[len] = '\0';
	check("two-writers-both-read", len == 8);
	waitpid(a, &st, 0);
	waitpid(b, &st, 0);
	close(p[0]);

	/* waitpid and kill */
	char *spin[] = { "spin", NULL };
	pid_t s = posix_spawn("spin", spin, NULL, NULL, 0);
	check("spawn-spin", s > 0);
	check_eq("waitpid-nohang-running", waitpid(s, &st, WNOHANG), 0);
	check_eq("kill-check", kill(s, 0), 0);
	check_eq("kill-bad-signal", kill(s, NSIG), -EINVAL);
	check_eq("kill-group", kill(-1, SIGTERM), -ENOSYS);
	check_eq("kill", kill(s, SIGTERM), 0);
	check_eq("waitpid-killed", waitpid(s, &st, 0), s);
	check("waitpid-killed-signal", WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	check_eq("waitpid-reaped", waitpid(s, &st, 0), -ECHILD);
	check_eq("kill-gone", kill(s, SIGTERM), -ESRCH);
	check_eq("waitpid-bad-options", waitpid(-1, &st, 0x80), -EINVAL);
	check_eq("waitpid-any-none", waitpid(-1, &st, WNOHANG), -ECHILD);
	check_eq("waitpid-not-child", waitpid(thisenv->env_parent_id, &st, 0), -ECHILD);

	/* a tree: sh runs spin; killing the tree ends both */
	char *tree[] = { "sh", "-c", "spin", NULL };
	pid_t t = posix_spawn("sh", tree, NULL, NULL, 0);
	for (int i = 0; i < 2000 && !live_named("spin"); i++)
		sys_env_sleep(1);
	check("tree-started", live_named("spin"));
	check_eq("kill-tree", kill_tree(t, SIGINT), 0);
	check_eq("kill-tree-reaped", waitpid(t, &st, 0), t);
	check("kill-tree-signal", WIFSIGNALED(st) && WTERMSIG(st) == SIGINT);
	for (int i = 0; i < 100 && live_named("spin"); i++)
		sys_env_sleep(1);
	check("kill-tree-grandchild-gone", !live_named("spin"));

	/* execve: a forked child becomes exitwith 5 */
	long f = fork();
	if (f == 0) {
		char *ex5[] = { "exitwith", "5", NULL };
		execve("exitwith", ex5, NULL);
		sys_env_exit(99);
	}
	check_eq("execve-status", wait(f), 5);

	/* SIGPIPE's default: a writer whose reader is gone ends with 141 */
	pipe(p);
	int zmap[3] = { -1, p[1], 2 };
	char *xxd[] = { "xxd", "/dev/zero", NULL };
	pid_t x = posix_spawn("xxd", xxd, NULL, zmap, 3);
	close(p[1]);
	read(p[0], out, 64);
	close(p[0]);
	check_eq("sigpipe-default", waitpid(x, &st, 0), x);
	check("sigpipe-default-status", WIFEXITED(st) && WEXITSTATUS(st) == 141);
}

int main(void)
{
	descriptors();
	pipes();
	spawning();
	return test_finish();
}
