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

/* ---- run.c ---- */
/* Run one line; returns the status of its last pipeline. */
int run_line(const char *line);
/* Run every line of text (a script or source'd file). */
int run_text(char *text);
/* Read all of the file at path into a NUL-ended heap buffer. */
int read_file(const char *path, char **out);
extern bool interactive;
extern bool exit_requested;
extern int exit_code;

/* ---- jobs.c ---- */
#define JOBS_MAX 32
#define JOB_PROCS_MAX SH_CMDS_MAX

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


#endif
