/*
 * Private to the verifier: what its three files share. verify.c (the
 * structural pass and bpf_verify) fills a struct verifier, absint.c (the
 * abstract interpretation) walks the program with it, on the abstract values
 * and states of vstate.c. Only those three include this; the verifier's
 * public interface is in kern/bpf/bpf.h.
 */
#ifndef EXO_KERN_BPF_VERIFY_H
#define EXO_KERN_BPF_VERIFY_H

#include <kern/bpf/bpf.h>
#include <common/string.h>

/* --- abstract state ---------------------------------------------------------------- */

enum vtype { T_NONE = 0, T_SCALAR, T_CTX, T_STACK, T_REGION };

#define NSLOTS (BPF_STACK_SIZE / 8)
#define NO_LEADER 0xffff

struct vreg {
	uint8_t type;   /* enum vtype */
	uint8_t region; /* T_REGION: which */
	uint8_t unb;    /* pointer: offset unknown */
	uint8_t pad[5];
	union {
		struct {
			uint64_t umin, umax; /* T_SCALAR */
		};
		struct {
			int64_t omin, omax; /* pointers, when !unb */
		};
	};
};

struct vstate {
	struct vreg r[BPF_NREGS];
	uint8_t smask[NSLOTS];       /* bit b: byte b of the slot is initialised */
	struct vreg spill[NSLOTS];   /* type != T_NONE: a spilled register (smask 0xff) */
};

struct verifier {
	struct bpf_prog *prog;
	const struct bpf_kind_desc *kind;
	const struct bpf_insn *insn;
	struct bpf_aux *aux;
	uint32_t n;
	struct bpf_verify_error *err;
	uint32_t work, max_work;
	/* scratch */
	uint16_t *leader_of; /* per slot: leader index, or NO_LEADER */
	uint16_t *leader_pc; /* per leader */
	uint8_t *flags;      /* per slot: SL_* (verify.c) */
	uint8_t *changes;    /* per leader: joins that changed its state */
	uint8_t *lflags;     /* per leader: LF_* */
	struct vstate *states; /* per leader */
	struct vstate *cur, *branch;
	uint16_t *dfs;       /* structural pass: DFS stack */
	uint32_t nleaders, cursor;
};

/* per-leader flags */
#define LF_HAVE 0x01
#define LF_PENDING 0x02
#define LF_LOOP_HEAD 0x04

static inline bool is_ptr(const struct vreg *r)
{
	return r->type >= T_CTX;
}

static inline void set_none(struct vreg *r)
{
	memset(r, 0, sizeof(*r));
}

static inline void set_scalar(struct vreg *r, uint64_t umin, uint64_t umax)
{
	set_none(r);
	r->type = T_SCALAR;
	r->umin = umin;
	r->umax = umax;
}

static inline void set_const(struct vreg *r, uint64_t v)
{
	set_scalar(r, v, v);
}

static inline void set_unknown(struct vreg *r)
{
	set_scalar(r, 0, UINT64_MAX);
}

static inline bool is_const(const struct vreg *r)
{
	return r->type == T_SCALAR && r->umin == r->umax;
}

static inline void set_ptr(struct vreg *r, uint8_t type, uint8_t region, int64_t off)
{
	set_none(r);
	r->type = type;
	r->region = region;
	r->omin = r->omax = off;
}

/* --- verify.c ------------------------------------------------------------------------ */

/* Records the rejection of slot pc in v->err (fmt: optional detail) and
 * returns reason. */
int verify_reject(struct verifier *v, uint32_t pc, int reason, const char *fmt, ...);

/* --- vstate.c ------------------------------------------------------------------------ */

bool vs_join_state(struct vstate *a, const struct vstate *b, bool widen);
void vs_scalar_op(uint8_t code, struct vreg *d, const struct vreg *s);
void vs_truncate32(struct vreg *r);
void vs_ptr_add(struct vreg *p, const struct vreg *s, bool sub);
void vs_loaded_value(struct vreg *out, unsigned size);
int vs_cond_outcome(uint8_t code, const struct vreg *d, const struct vreg *s);
void vs_refine_branch(const struct bpf_insn *i, struct vstate *st, bool taken);

/* --- absint.c ------------------------------------------------------------------------ */

/* Pass 2: interprets the program from its entry state to a fixed point. */
int absint_run(struct verifier *v);

#endif
