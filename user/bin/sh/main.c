/*
 * sh: Exo's shell. `sh` reads commands from the console (with line editing
 * and history when it holds the console, plain lines otherwise), `sh FILE
 * [ARGS]` runs a script, `sh -c COMMAND [NAME [ARGS]]` one line. The syntax
 * and what runs a line are in parse.h and run.c; doc/shell.md is the
 * user's guide.
 *
 * As the first env (init execs it), Ctrl-D or exit powers the machine off:
 * there is nobody to return to.
 */
#include "sh.h"

static struct sh_edit ed;

/* Echo collected while a chunk of input is edited, written once. */
static char echo_buf[1024];
static size_t echo_len;

static void echo_flush(void)
{
	if (echo_len)
		write_all(1, echo_buf, echo_len);
	echo_len = 0;
}

static void echo_fn(void *ctx UNUSED, const char *s, size_t n)
{
	while (n) {
		if (echo_len == sizeof(echo_buf))
			echo_flush();
		size_t k = MIN(n, sizeof(echo_buf) - echo_len);
		memcpy(echo_buf + echo_len, s, k);
		echo_len += k;
		s += k;
		n -= k;
	}
}

static void *ed_alloc(size_t n)
{
	return malloc(n);
}

static void prompt(void)
{
	jobs_reap(true);
	const char *ps1 = getenv("PS1");
	if (ps1)
		fdprintf(1, "%s", ps1);
	else
		fdprintf(1, "exo:%s$ ", posix_cwd());
}

/* Lines typed or read so far of a command still open (an if without its
 * fi, a quote): a PS2 prompt asks for the rest. */
static char *pending;
static size_t pending_len;

static void pending_drop(void)
{
	free(pending);
	pending = NULL;
	pending_len = 0;
}

/* Add a line; run what is complete. true if more is wanted. */
static bool feed_line(const char *line, size_t n)
{
	if (pending_len + n + 2 > SH_TEXT_MAX) {
		fdprintf(2, "sh: command too long (at most %d bytes)\n", SH_TEXT_MAX);
		pending_drop();
		last_status = 2;
		return false;
	}
	char *b = malloc(pending_len + n + 2);
	if (!b) {
		fdprintf(2, "sh: out of memory\n");
		pending_drop();
		return false;
	}
	if (pending)
		memcpy(b, pending, pending_len);
	memcpy(b + pending_len, line, n);
	b[pending_len + n] = '\n';
	b[pending_len + n + 1] = '\0';
	free(pending);
	pending = b;
	pending_len += n + 1;
	if (text_state(pending) == SH_PARSE_MORE)
		return true;
	char *text = pending;
	pending = NULL;
	pending_len = 0;
	run_text(text);
	free(text);
	return false;
}

/* End of input with a command still open: say what is open. */
static void feed_end(void)
{
	if (!pending)
		return;
	char *text = pending;
	pending = NULL;
	pending_len = 0;
	run_text(text); /* the parse error names what is open */
	free(text);
}

static void prompt2(void)
{
	const char *ps2 = getenv("PS2");
	fdprintf(1, "%s", ps2 ? ps2 : "> ");
}

static bool is_init(void)
{
	return thisenv->env_parent_id == 0;
}

static int usage(void)
{
	fdprintf(2, "usage: sh [-c COMMAND [NAME [ARG...]] | FILE [ARG...]]\n"
		    "  without arguments, read commands from standard input\n");
	return 2;
}

/* Interactive, on the console: edit each line as it is typed. */
static void console_loop(void)
{
	ed.echo = echo_fn;
	ed.alloc = ed_alloc;
	ed.release = free;
	fdprintf(1, "Exo shell. Type 'help' for builtins, 'progs' for programs.\n");
	sh_edit_init(&ed);
	prompt();
	while (!exit_requested) {
		unsigned char buf[256];
		ssize_t n = read(0, buf, sizeof(buf));
		if (n <= 0) {
			/* not holding the console (a job we started has it?) */
			sys_env_sleep(ukinfo->ki_tick_hz / 100);
			continue;
		}
		for (ssize_t i = 0; i < n && !exit_requested; i++) {
			int r = sh_edit_feed(&ed, buf[i]);
			if (r == ED_MORE)
				continue;
			echo_flush();
			bool more = false;
			if (r == ED_EOF && pending) {
				feed_end(); /* Ctrl-D ends the open command, not the shell */
			} else if (r == ED_EOF) {
				exit_requested = true;
				exit_code = last_status;
				break;
			} else if (r == ED_LINE) {
				sh_edit_remember(&ed, ed.line);
				static char line[SH_LINE_MAX + 1];
				memcpy(line, ed.line, (size_t)ed.len + 1);
				more = feed_line(line, (size_t)ed.len);
			} else {
				pending_drop();
				last_status = 128 + SIGINT;
			}
			if (exit_requested)
				break;
			/* what was typed while the command ran is new input */
			sh_edit_init(&ed);
			if (more)
				prompt2();
			else
				prompt();
		}
		echo_flush();
	}
}

/* Standard input that is not the console: one line at a time. */
static void line_loop(void)
{
	struct inbuf *in = malloc(sizeof(*in));
	if (!in)
		return;
	in_init(in, 0);
	bool tty = isatty(0) == 1;
	bool more = false;
	while (!exit_requested) {
		if (tty && more)
			prompt2();
		else if (tty)
			prompt();
		char *l;
		ssize_t n = in_line(in, &l);
		if (n <= 0)
			break;
		if (l[n - 1] == '\n')
			n--;
		if ((size_t)n > SH_LINE_MAX) {
			fdprintf(2, "sh: line too long (at most %d bytes)\n", SH_LINE_MAX);
			continue;
		}
		more = feed_line(l, (size_t)n);
	}
	if (!exit_requested)
		feed_end();
	free(in);
	if (!exit_requested)
		exit_code = last_status;
}

int main(int argc, char **argv)
{
	posix_ignore_sigpipe(); /* a job's ended terminal must not end the shell */
	if (!getenv("PATH"))
		setenv("PATH", "/bin", 1);
	if (!getenv("HOME"))
		setenv("HOME", "/", 1);
	setenv("PWD", posix_cwd(), 1);
	script_argc = argc;
	script_argv = argv;
	if (argc > 1 && strcmp(argv[1], "-h") == 0)
		return usage(), 0;
	if (argc > 1 && strcmp(argv[1], "-c") == 0) {
		if (argc < 3)
			return usage();
		script_argc = argc - 3 > 0 ? argc - 3 : 1;
		script_argv = argc > 3 ? argv + 3 : argv;
		run_line(argv[2]);
		return exit_requested ? exit_code : last_status;
	}
	if (argc > 1) {
		char *text;
		int r = read_file(argv[1], &text);
		if (r < 0) {
			fdprintf(2, "sh: %s: %s\n", argv[1], strerror(r));
			return 127;
		}
		script_argc = argc - 1;
		script_argv = argv + 1;
		run_text(text);
		return exit_requested ? exit_code : last_status;
	}
	interactive = true;
	if (ukinfo->ki_console == thisenv_id && isatty(0) == 1 && fd_file(0) &&
	    fd_file(0)->f_ops->fo_kind == FILE_KIND_CONSOLE)
		console_loop();
	else
		line_loop();
	if (is_init()) {
		fdprintf(1, "sh: the first env is leaving: powering off\n");
		sys_machine_exit((uint64_t)exit_code);
	}
	return exit_code;
}
