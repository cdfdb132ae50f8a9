/*
 * Per-environment tracing, strace-style: while an env's env_trace is set
 * (sys_env_trace, the monitor's `trace`, or trace=1 on the kernel command
 * line for the first env), each system call it makes prints one line
 *
 *   [env 00000401 hello] sys_cputs("hello from env 00000401 (hel"..., 36) = 0
 *   [env 00000401 hello] sys_env_wait(00000402) = -E_NOT_CHILD (not a child of the caller)
 *
 * and each upcall delivered to it one line. Names and argument types come
 * from inc/syscall.def, like the dispatcher: arguments print by type (env
 * ids as ids, strings quoted, numbers in decimal or hex by size), results as
 * a number or an error by name.
 *
 * A call that gives up the CPU (it waits, yields or ends the env) leaves
 * through the scheduler, not the dispatcher: sched_yield calls trace_leave,
 * which prints the line with what is known then - "(waiting)" for a call
 * that waits, whose result gets a second line when the env next runs
 * (trace_resume, from env_run).
 *
 * Cost when no env is traced: the dispatcher's one test of env_trace, and a
 * test in sched_yield, env_run and upcall_push, none on the system call path.
 *
 * Locking: under the big kernel lock. trace_in_call is set only between a
 * traced call's entry and its end or its trace_leave, with the lock held.
 */
#include <inc/env.h>
#include <inc/error.h>
#include <inc/syscall.h>
#include <inc/upcall.h>
#include <kern/arch/console.h>
#include <kern/arch/cpu.h>
#include <kern/env/env.h>
#include <kern/debug/report.h>
#include <kern/debug/trace.h>
#include <kern/mem/vm.h>
#include <common/fmt.h>
#include <common/string.h>

#define STR_SHOWN 32 /* bytes of a string argument printed before "..." */

enum arg_kind { ARG_NUM, ARG_PTR, ARG_STR, ARG_ENV };
#define ARG_KIND(t) \
	_Generic((t)0, envid_t: ARG_ENV, const char *: ARG_STR, uint64_t: ARG_NUM, default: ARG_PTR)

/* Each call's name and arguments, generated from the one table. */
static const struct call_desc {
	const char *cd_name;
	uint8_t cd_nargs;
	uint8_t cd_kind[5];   /* enum arg_kind */
	const char *cd_arg[5]; /* argument names: a string followed by "len" is counted */
} calls[NSYSCALLS] = {
#define SYS0(n) [SYS_##n] = { #n, 0, { 0 }, { 0 } },
#define SYS1(n, t1, a1) [SYS_##n] = { #n, 1, { ARG_KIND(t1) }, { #a1 } },
#define SYS2(n, t1, a1, t2, a2) \
	[SYS_##n] = { #n, 2, { ARG_KIND(t1), ARG_KIND(t2) }, { #a1, #a2 } },
#define SYS3(n, t1, a1, t2, a2, t3, a3) \
	[SYS_##n] = { #n, 3, { ARG_KIND(t1), ARG_KIND(t2), ARG_KIND(t3) }, { #a1, #a2, #a3 } },
#define SYS4(n, t1, a1, t2, a2, t3, a3, t4, a4)                                        \
	[SYS_##n] = { #n, 4, { ARG_KIND(t1), ARG_KIND(t2), ARG_KIND(t3), ARG_KIND(t4) }, \
		      { #a1, #a2, #a3, #a4 } },
#define SYS5(n, t1, a1, t2, a2, t3, a3, t4, a4, t5, a5)                                  \
	[SYS_##n] = { #n, 5,                                                              \
		      { ARG_KIND(t1), ARG_KIND(t2), ARG_KIND(t3), ARG_KIND(t4), ARG_KIND(t5) }, \
		      { #a1, #a2, #a3, #a4, #a5 } },
#include <inc/syscall.def>
#undef SYS0
#undef SYS1
#undef SYS2
#undef SYS3
#undef SYS4
#undef SYS5
};

/* The call an env is in (traced envs only), kept by slot until it ends. */
static struct trace_rec {
	envid_t tr_env; /* whose call; anything else (0) means none */
	uint64_t tr_nr;
	uint64_t tr_args[5];
} recs[NENV];

static struct textbuf line; /* the line being written */

enum outcome { RETURNED, WAITING, RESUMED, ENDED };

static void add_string(struct env *e, uint64_t va, uint64_t len, bool counted)
{
	char buf[STR_SHOWN + 1];
	uint64_t n;
	bool more;
	if (counted) {
		n = MIN(len, (uint64_t)STR_SHOWN);
		more = len > n;
		if (copy_from_user(e->env_vm, buf, va, n) < 0) {
			textbuf_add(&line, "%#lx", va);
			return;
		}
	} else {
		long r = copy_string_from_user(e->env_vm, buf, va, sizeof(buf));
		if (r == -E_TOO_BIG) {
			n = STR_SHOWN;
			more = true;
		} else if (r >= 0) {
			n = (uint64_t)r;
			more = false;
		} else {
			textbuf_add(&line, "%#lx", va);
			return;
		}
	}
	textbuf_add(&line, "\"");
	for (uint64_t i = 0; i < n; i++) {
		char c = buf[i];
		if (c == '\n')
			textbuf_add(&line, "\\n");
		else if (c == '\t')
			textbuf_add(&line, "\\t");
		else if (c == '"' || c == '\\')
			textbuf_add(&line, "\\%c", c);
		else if (c < ' ' || c > '~')
			textbuf_add(&line, "\\x%02x", (unsigned)(uint8_t)c);
		else
			textbuf_add(&line, "%c", c);
	}
	textbuf_add(&line, more ? "\"..." : "\"");
}

static void add_number(uint64_t v)
{
	textbuf_add(&line, v < 0x10000 ? "%lu" : "%#lx", v);
}

/* "[env 00000401 hello] sys_cputs("hi\n", 3) = 0" and what else it needs. */
static void log_call(struct env *e, const struct trace_rec *r, long result, enum outcome how)
{
	line.tb_len = 0;
	if (!console_at_line_start())
		textbuf_add(&line, "\n"); /* after a program's partial line */
	textbuf_add(&line, "[env %08x %s] ", e->env_id, e->env_info->env_name);
	const struct call_desc *d = r->tr_nr < NSYSCALLS ? &calls[r->tr_nr] : NULL;
	if (d)
		textbuf_add(&line, "sys_%s(", d->cd_name);
	else
		textbuf_add(&line, "syscall %lu(", r->tr_nr);
	unsigned nargs = d ? d->cd_nargs : 5;
	for (unsigned i = 0; i < nargs; i++) {
		uint64_t a = r->tr_args[i];
		textbuf_add(&line, i ? ", " : "");
		switch (d ? d->cd_kind[i] : ARG_NUM) {
		case ARG_ENV: textbuf_add(&line, "%08x", (uint32_t)a); break;
		case ARG_STR: {
			bool counted = i + 1 < nargs && strcmp(d->cd_arg[i + 1], "len") == 0;
			add_string(e, a, counted ? r->tr_args[i + 1] : 0, counted);
			break;
		}
		case ARG_PTR: textbuf_add(&line, "%#lx", a); break;
		default: add_number(a);
		}
	}
	textbuf_add(&line, ")");
	if (how == WAITING) {
		textbuf_add(&line, " ... (waiting)\n");
	} else if (how == ENDED) {
		textbuf_add(&line, " = ? (env ended)\n");
	} else {
		if (result < 0 && err_name(result))
			textbuf_add(&line, " = -%s (%e)", err_name(result), result);
		else if (result < 0)
			textbuf_add(&line, " = %ld", result);
		else
			textbuf_add(&line, result < 10 ? " = %ld" : " = %#lx", result);
		textbuf_add(&line, how == RESUMED ? " (after waiting)\n" : "\n");
	}
	cprintf("%s", line.tb_buf);
}

long trace_syscall(struct trapframe *tf, long (*dispatch)(struct trapframe *tf))
{
	struct env *e = curenv;
	if (trace_in_call)
		trace_leave(); /* a call that left without the scheduler */
	struct trace_rec *r = &recs[ENVX(e->env_id)];
	r->tr_env = e->env_id;
	r->tr_nr = tf->tf_rax;
	r->tr_args[0] = tf->tf_rdi;
	r->tr_args[1] = tf->tf_rsi;
	r->tr_args[2] = tf->tf_rdx;
	r->tr_args[3] = tf->tf_r10;
	r->tr_args[4] = tf->tf_r8;
	trace_in_call = e;
	long result = dispatch(tf);
	trace_in_call = NULL;
	log_call(e, r, result, RETURNED);
	r->tr_env = 0;
	return result;
}

void trace_leave(void)
{
	struct env *e = trace_in_call;
	trace_in_call = NULL;
	struct trace_rec *r = &recs[ENVX(e->env_id)];
	uint32_t s = e->env_info->env_status;
	if (s == ENV_BLOCKED) {
		log_call(e, r, 0, WAITING); /* its result comes when it runs again */
		return;
	}
	if (s == ENV_ZOMBIE || s == ENV_FREE)
		log_call(e, r, 0, ENDED);
	else
		log_call(e, r, (long)e->env_tf.tf_rax, RETURNED); /* yielded */
	r->tr_env = 0;
}

void trace_resume(struct env *e)
{
	struct trace_rec *r = &recs[ENVX(e->env_id)];
	if (r->tr_env != e->env_id)
		return;
	r->tr_env = 0;
	log_call(e, r, (long)e->env_tf.tf_rax, RESUMED);
}

void trace_init(void)
{
	env_debug.call_left = trace_leave;
	env_debug.call_resumed = trace_resume;
	env_debug.upcall = trace_upcall;
}

void trace_set(struct env *e, bool on)
{
	e->env_trace = on;
	recs[ENVX(e->env_id)].tr_env = 0; /* no stale "after waiting" line */
}

void trace_upcall(struct env *e, uint64_t trapno, uint64_t err, uint64_t va, uint64_t rip)
{
	line.tb_len = 0;
	if (!console_at_line_start())
		textbuf_add(&line, "\n"); /* after a program's partial line */
	textbuf_add(&line, "[env %08x %s] upcall ", e->env_id, e->env_info->env_name);
	if (trapno == T_REVOKE)
		textbuf_add(&line, "revoke: give back %lu pages by tick %lu", va, err);
	else if (trapno == T_REPOSSESS)
		textbuf_add(&line, "repossess: %lu pages taken, listed in the vector", va);
	else if (trapno == T_PCT_CALL)
		textbuf_add(&line, "PCT call from env %08x", (uint32_t)va);
	else if (trapno == T_PCT_SEND)
		textbuf_add(&line, "PCT message from env %08x", (uint32_t)va);
	else if (trapno == T_PGFLT)
		textbuf_add(&line, "page fault (trap 14, err %#lx) at va %#lx", err, va);
	else if (trapno < 32)
		textbuf_add(&line, "%s (trap %lu, err %#lx)", trap_name(trapno), trapno, err);
	else /* a kind added to inc/upcall.h without a name here */
		textbuf_add(&line, "%lu (err %#lx, va %#lx)", trapno, err, va);
	textbuf_add(&line, ", interrupting rip %#lx\n", rip);
	cprintf("%s", line.tb_buf);
}
