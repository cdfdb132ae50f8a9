/*
 * The shell's guest-side parts: variables (vars.c), running parsed lines,
 * jobs and builtins (run.c, jobs.c), and the reading loop (main.c).
 */
#ifndef EXO_SH_SH_H
#define EXO_SH_SH_H

#include <lib/base/libos.h>
#include <lib/base/pct.h>
#include <lib/posix/posix.h>
#include <lib/posix/stdio.h>
#include "parse.h"

/* ---- vars.c ---- */
const char *var_get(const char *name, size_t len);
int var_set(const char *name, const char *value);
int var_export(const char *name);
int var_unset(const char *name);
void var_list(int fd, bool exported_only);
extern int last_status;         /* $? */
extern int script_argc;         /* $# + 1 */
extern char **script_argv;      /* $0..$9, $@ */
extern const struct sh_expand_ops expand_ops;

/* ---- run.c: pipelines and simple commands ---- */
#define VFD 10               /* descriptors a command's redirections can name: 0-9 */
#define SH_FDS_OPENED_MAX 16 /* files one command's redirections open */

struct fdmap {
	int fd[VFD];
	int opened[SH_FDS_OPENED_MAX];
	int nopened;
};

void fdmap_init(struct fdmap *m, const int *fd3);
int apply_redirs(const struct sh_prog *p, const struct sh_node *n, struct fdmap *m);
/* Start argv as a program with descriptors m: its pid, or -errno (said). */
pid_t start_program(char **argv, const struct sh_fields *assigns, const struct fdmap *m);
/* Run pipeline node idx; in the background: 0 once it started. */
int run_pipeline(struct sh_prog *p, int idx, bool background);
/* Read all of the file at path into a NUL-ended heap buffer. */
int read_file(const char *path, char **out);
extern bool interactive;
extern bool exit_requested;
extern int exit_code;

/* ---- exec.c: the tree, functions, text ---- */
enum sh_flow { FLOW_NONE, FLOW_BREAK, FLOW_CONTINUE, FLOW_RETURN };
extern int flow, flow_levels, loop_depth;
extern int subst_status;
extern bool subst_ran;
extern pid_t last_bg_pid;
int exec_node(struct sh_prog *p, int idx);
/* Parse and run every complete command of text; stops at a syntax error. */
int run_text(const char *text);
int run_line(const char *line);
/* Does text end inside a construct (SH_PARSE_MORE), or parse (OK), or
 * not (ERR)? */
int text_state(const char *text);
bool func_exists(const char *name);
int func_call(int argc, char **argv);
void prog_release(struct sh_prog *p);
char *exec_subst(const char *text, size_t len);
bool stack_low(void);
/* New $1..$n (copies; $0 stays). */
int positional_set(char **args, int n);

/* ---- builtins.c ---- */
struct builtin {
	const char *name;
	int (*fn)(int argc, char **argv, const int *fd);
	const char *help;
};
const struct builtin *builtin_find(const char *name);

/* ---- jobs.c ---- */
#define JOBS_MAX 32
#define JOB_PROCS_MAX 64 /* commands in one pipeline */

struct job {
	int j_id;             /* %n; 0: free slot */
	int j_nprocs;
	pid_t j_pids[JOB_PROCS_MAX];
	int j_status[JOB_PROCS_MAX];
	bool j_reaped[JOB_PROCS_MAX];
	bool j_negate;
	bool j_interrupted;
	bool j_fg;            /* in the foreground: not listed as a job */
	char j_text[80];
};

struct job *job_new(const char *text, size_t len);
void job_free(struct job *j);
/* Wait for j in the foreground, stopping it on Ctrl-C; returns its status
 * (the last process's, 128 + signal if killed). */
int job_wait_fg(struct job *j);
/* Interactive and holding the console: make Ctrl-C its interrupt character,
 * naming us (before a job gets the console). true if it is. */
bool job_intr_arm(void);
#define CTRL_C 0x03
/* Report background jobs that ended (before a prompt). */
void jobs_reap(bool report);
struct job *job_find(const char *spec); /* "%n", "n", or NULL for the newest */
int job_status(struct job *j);
void jobs_list(int fd);
bool job_done(struct job *j);
/* While a loop runs the shell keeps Ctrl-C armed (interactive, holding the
 * console); intr_pending: was it typed since the outermost began? */
void intr_begin(void);
void intr_end(void);
bool intr_pending(void);

#endif
