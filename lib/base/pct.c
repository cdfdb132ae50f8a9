/*
 * Protected control transfer in the library OS (lib/base/pct.h).
 */
#include <lib/base/libos.h>
#include <lib/base/pct.h>
#include <lib/base/vm.h>

static pct_call_fn call_handler;
static pct_msg_fn msg_handler;
static bool serving;

extern void pct_entry(void);

/* Called by pct_entry (lib/base/upcall.S) for every transfer delivered to us. */
void pct_dispatch(struct upcall_frame *uf, envid_t caller, uint64_t a0, uint64_t a1, uint64_t a2)
{
	if (uf->uf_trapno == T_PCT_CALL) {
		uint64_t r =
			call_handler ? call_handler(caller, a0, a1, a2) : (uint64_t)-E_NO_ENTRY;
		sys_pct_reply(caller, r);
	} else if (msg_handler) {
		msg_handler(caller, a0, a1, a2);
	}
}

void pct_init(void)
{
	uint16_t comp = LIBOS_PCT_COMPONENT;
	if (sys_cap_derive(CAP_SELF, LIBOS_KEY_PCT, CAP_R, &comp, 1) == 0)
		sys_pct_set_guard(LIBOS_KEY_PCT);
}

int pct_serve(pct_call_fn on_call, pct_msg_fn on_msg)
{
	call_handler = on_call;
	msg_handler = on_msg;
	serving = true;
	return vm_upcall_route(UPCALL_PCT, pct_entry, LIBOS_PCTSTACK_TOP, LIBOS_PCTSTACK_PAGES);
}

void pct_after_fork(void)
{
	pct_init();
	if (serving) /* fork gave us a fresh PCT stack at the same place */
		pct_serve(call_handler, msg_handler);
}

long pct_call(envid_t to, uint64_t a0, uint64_t a1, uint64_t a2)
{
	long r = sys_pct_call(to, CAP_SELF, a0, a1, a2);
	if (r == -E_PERM)
		r = sys_pct_call(to, LIBOS_KEY_PARENT_PCT, a0, a1, a2);
	return r;
}

long pct_send(envid_t to, uint64_t a0, uint64_t a1, uint64_t a2)
{
	long r = sys_pct_send(to, CAP_SELF, a0, a1, a2);
	if (r == -E_PERM)
		r = sys_pct_send(to, LIBOS_KEY_PARENT_PCT, a0, a1, a2);
	return r;
}

void pct_grant_to_child(envid_t child)
{
	sys_cap_grant(LIBOS_KEY_PCT, child); /* lands in its first free slot: 1 */
}
