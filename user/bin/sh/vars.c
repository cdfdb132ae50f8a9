/*
 * Shell variables: exported ones live in the POSIX layer's environment
 * (so posix_spawn passes them on), the rest in a table of the shell's own.
 * Special parameters ($? $$ $# $0-$9 $@ $* $!) are computed on lookup.
 * Also the expansion callbacks (expand.c) that read them and list
 * directories.
 */
#include "sh.h"

#define LOCALS_MAX 128 /* unexported variables */

static struct {
	char *name, *value;
} locals[LOCALS_MAX];

int last_status;
int script_argc;
char **script_argv;
pid_t last_bg_pid;

static int local_find(const char *name, size_t len)
{
	for (int i = 0; i < LOCALS_MAX; i++)
		if (locals[i].name && strlen(locals[i].name) == len &&
		    strncmp(locals[i].name, name, len) == 0)
			return i;
	return -1;
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

const char *var_get(const char *name, size_t len)
{
	static char num[24];
	if (len == 1) {
		switch (name[0]) {
		case '?': snprintf(num, sizeof(num), "%d", last_status); return num;
		case '$': snprintf(num, sizeof(num), "%d", getpid()); return num;
		case '!':
			snprintf(num, sizeof(num), "%d", last_bg_pid);
			return last_bg_pid ? num : "";
		case '#':
			snprintf(num, sizeof(num), "%d", script_argc > 0 ? script_argc - 1 : 0);
			return num;
		case '@':
		case '*': {
			/* the arguments joined by spaces: split again unquoted */
			static char all[SH_LINE_MAX];
			size_t n = 0;
			all[0] = '\0';
			for (int i = 1; i < script_argc; i++)
				n += (size_t)snprintf(all + n, sizeof(all) - MIN(n, sizeof(all)),
						      "%s%s", i > 1 ? " " : "", script_argv[i]);
			return all;
		}
		}
	}
	if (len && isdigit(name[0])) { /* $1, ${10} */
		long i = 0;
		for (size_t k = 0; k < len; k++) {
			if (!isdigit(name[k]) || i > 100000)
				return NULL;
			i = i * 10 + (name[k] - '0');
		}
		return i < script_argc ? script_argv[i] : NULL;
	}
	int i = local_find(name, len);
	if (i >= 0)
		return locals[i].value;
	char buf[128];
	if (len >= sizeof(buf))
		return NULL;
	memcpy(buf, name, len);
	buf[len] = '\0';
	return getenv(buf);
}

int var_set(const char *name, const char *value)
{
	size_t len = strlen(name);
	if (!sh_valid_name(name, len))
		return -EINVAL;
	if (getenv(name))
		return setenv(name, value, 1);
	int i = local_find(name, len);
	if (i < 0)
		for (int j = 0; j < LOCALS_MAX && i < 0; j++)
			if (!locals[j].name)
				i = j;
	if (i < 0)
		return -ENOMEM;
	char *v = dup_n(value, strlen(value));
	char *n = locals[i].name ? locals[i].name : dup_n(name, len);
	if (!v || !n) {
		free(v);
		if (!locals[i].name)
			free(n);
		return -ENOMEM;
	}
	free(locals[i].value);
	locals[i].name = n;
	locals[i].value = v;
	return 0;
}

int var_export(const char *name)
{
	size_t len = strlen(name);
	if (!sh_valid_name(name, len))
		return -EINVAL;
	int i = local_find(name, len);
	const char *v = i >= 0 ? locals[i].value : getenv(name);
	int r = setenv(name, v ? v : "", 1);
	if (r == 0 && i >= 0) {
		free(locals[i].name);
		free(locals[i].value);
		locals[i].name = locals[i].value = NULL;
	}
	return r;
}

int var_unset(const char *name)
{
	int i = local_find(name, strlen(name));
	if (i >= 0) {
		free(locals[i].name);
		free(locals[i].value);
		locals[i].name = locals[i].value = NULL;
	}
	return unsetenv(name);
}

void var_list(int fd, bool exported_only)
{
	for (int i = 0; environ && environ[i]; i++)
		fdprintf(fd, "%s%s\n", exported_only ? "export " : "", environ[i]);
	for (int i = 0; i < LOCALS_MAX && !exported_only; i++)
		if (locals[i].name)
			fdprintf(fd, "%s=%s\n", locals[i].name, locals[i].value);
}

/* ---- what expansion calls ---- */

static const char *expand_var(void *ctx UNUSED, const char *name, size_t len)
{
	return var_get(name, len);
}

static int expand_list(void *ctx UNUSED, const char *dir, void (*emit)(void *, const char *),
		       void *arg)
{
	int err;
	DIR *d = opendir(dir, &err);
	if (!d)
		return -err;
	for (struct dirent *e; (e = readdir(d));)
		emit(arg, e->d_name);
	closedir(d);
	return 0;
}

static void *expand_alloc(size_t n)
{
	return malloc(n);
}

static char *expand_subst(void *ctx UNUSED, const char *text, size_t len)
{
	return exec_subst(text, len);
}

static int expand_set(void *ctx UNUSED, const char *name, size_t len, long value)
{
	char n[128], v[24];
	if (len >= sizeof(n))
		return -EINVAL;
	memcpy(n, name, len);
	n[len] = '\0';
	snprintf(v, sizeof(v), "%ld", value);
	return var_set(n, v);
}

static void expand_error(void *ctx UNUSED, const char *msg)
{
	fdprintf(2, "sh: %s\n", msg);
}

const struct sh_expand_ops expand_ops = {
	.var = expand_var,
	.list_dir = expand_list,
	.subst = expand_subst,
	.set = expand_set,
	.error = expand_error,
	.alloc = expand_alloc,
	.release = free,
};
