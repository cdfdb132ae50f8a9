/*
 * kvd on Exo: the Redis-protocol engine (user/srv/kvd/kvd.h) served over
 * TCP by the appliance library OS (lib/appl/appl.h).
 *
 *   kvd [--port N] [--disk | --aof-dev xn|fs] [--format] [name value ...]
 *
 * listens on N (6379) and CONFIG SETs each pair. --disk keeps the
 * append-only log on the disk, replayed at start (exo_log.h): --aof-dev xn
 * on blocks kvd owns through XN (exo_log_xn.c), --aof-dev fs as a file of
 * the disk's file system (exo_log_fs.c); --disk alone takes AOF_DEFAULT.
 * --format first lays XN (and for fs an empty file system) on a disk that
 * has none (erasing it). "appendonly yes" then turns the log on.
 *
 * One event loop serves every client. A readable client's bytes are fed to
 * the engine as they come; the engine gathers the replies of what it was
 * fed and hands them over at once, and they go straight to TCP when none
 * of the client's bytes wait before them (one copy: TCP's), so a
 * pipelined batch leaves in full segments and not one segment per reply.
 * What TCP cannot take yet waits in the client's output buffer and goes
 * when the stack says there is room (TCP_EV_OUT). A client whose
 * unsent output passes OUT_PAUSE is not read until it drains (a client
 * that pipelines without reading holds back only itself), and one whose
 * output passes OUT_LIMIT is dropped (Redis's client-output-buffer-limit).
 *
 * Replies for other clients (PUBLISH, a BLPOP woken, CLIENT KILL) go the
 * same way; what waits puts the client back on the loop's list.
 *
 * Hooks: time is milliseconds since boot (no wall clock yet), memory is
 * lib/appl's slab allocator, randomness an xorshift seeded with the TSC.
 * The log hooks (with --disk) are the backend's, synchronous: an fsync
 * holds the loop while the disk works, as a single-threaded Redis would
 * with appendfsync always. Without --disk there are none, and SAVE says
 * there is nowhere to save.
 */
#include <inc/net.h>
#include <lib/appl/appl.h>
#include <lib/base/libos.h>
#include <lib/net/tcpnet.h>
#include <user/srv/kvd/exo_log.h>

#define AOF_DEFAULT exo_log_xn /* --disk without --aof-dev: the faster (doc/kvd.md) */
#define READ_CHUNK 16384                     /* bytes per tcp_recv */
#define READ_TURN (256 * 1024)               /* bytes read per client per turn */
#define OUT_PAUSE (1024 * 1024)              /* stop reading above this */
#define OUT_LIMIT ((size_t)256 * 1024 * 1024) /* drop the client above this */
#define OUT_KEEP (64 * 1024)                 /* a drained buffer larger is freed */

struct client {
	struct appl_conn *ac;
	struct kvd_client *kc;
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	bool closing; /* the engine asked to close after the output */
	bool eof;     /* the peer sent FIN */
	bool broken;  /* out of memory for its output, or TCP failed */
};

static struct kvd *kv;
static const struct exo_log *aof; /* where the log goes; NULL: nowhere */
static struct client *current; /* the client being fed */
static uint64_t rng_state;
static uint8_t inbuf[READ_CHUNK];
static struct {
	uint64_t clients, dropped_output, bytes_in, bytes_out;
	uint64_t recvs, sends;                    /* tcp_recv and tcp_send calls */
	uint64_t cyc_recv, cyc_send, cyc_out; /* cycles in them, and in exo_send's copy */
} st;

static uint64_t exo_now_ms(void *ctx UNUSED)
{
	return appl_now_ms();
}

static void *exo_alloc(void *ctx UNUSED, size_t n)
{
	return appl_alloc(n);
}

static void exo_release(void *ctx UNUSED, void *p, size_t n UNUSED)
{
	appl_free(p);
}

static uint64_t exo_random(void *ctx UNUSED)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* Straight to TCP (which copies what it takes into its send buffer) when
 * nothing of the client's waits before these bytes: n less what it took,
 * or 0 with the client marked broken if TCP failed. */
static size_t send_direct(struct client *cl, const uint8_t *buf, size_t n)
{
	if (cl->out_off != cl->out_len)
		return n; /* behind queued bytes: in order, after them */
	uint64_t t0 = rdtsc();
	long r = tcp_send(appl_conn_tcp(cl->ac), buf, n);
	st.cyc_send += rdtsc() - t0;
	st.sends++;
	if (r == -E_AGAIN)
		return n;
	if (r <= 0) {
		cl->broken = true;
		return 0;
	}
	st.bytes_out += (uint64_t)r;
	return n - (size_t)r;
}

static void exo_send(void *ctx UNUSED, void *conn, const void *buf, size_t n)
{
	struct client *cl = conn;
	if (cl->broken)
		return;
	size_t left = send_direct(cl, buf, n);
	buf = (const uint8_t *)buf + (n - left);
	n = left;
	if (cl->broken) {
		if (cl != current)
			appl_kick(cl->ac);
		return;
	}
	if (n == 0)
		return;
	size_t need = cl->out_len + n;
	if (need > OUT_LIMIT) {
		st.dropped_output++;
		cl->broken = true;
		appl_kick(cl->ac);
		return;
	}
	if (need > cl->out_cap) {
		size_t cap = MAX(cl->out_cap * 2, (size_t)4096);
		while (cap < need)
			cap *= 2;
		uint8_t *p = appl_alloc(cap);
		if (!p) {
			cl->broken = true;
			appl_kick(cl->ac);
			return;
		}
		memcpy(p, cl->out + cl->out_off, cl->out_len - cl->out_off);
		cl->out_len -= cl->out_off;
		cl->out_off = 0;
		appl_free(cl->out);
		cl->out = p;
		cl->out_cap = cap;
	}
	uint64_t t0 = rdtsc();
	memcpy(cl->out + cl->out_len, buf, n);
	cl->out_len += n;
	st.cyc_out += rdtsc() - t0;
	if (cl != current)
		appl_kick(cl->ac);
}

static void exo_close(void *ctx UNUSED, void *conn)
{
	struct client *cl = conn;
	cl->closing = true;
	if (cl != current)
		appl_kick(cl->ac);
}

static void exo_shutdown(void *ctx UNUSED)
{
	appl_stop();
}

static void exo_log_line(void *ctx UNUSED, const char *line)
{
	printf("%s\n", line);
}

static uint64_t exo_cycles(void *ctx UNUSED)
{
	return rdtsc();
}

/* INFO runner: every layer's counters, raw (a profile takes the
 * difference across a benchmark and divides by the commands run; the
 * cycles are the TSC's, ki_tsc_hz a second). syscall_cycles is the
 * cheapest of a few null system calls made now: the entry and exit
 * every call pays. */
static size_t exo_info(void *ctx UNUSED, char *out, size_t cap)
{
	struct appl_loop_stats ls;
	appl_loop_stats(&ls);
	const struct tcp_stats *ts = tcp_stack_stats(tcpnet_stack());
	struct net_info ni;
	if (sys_net_info(&ni) < 0)
		memset(&ni, 0, sizeof(ni));
	uint64_t null_call = UINT64_MAX;
	for (int i = 0; i < 16; i++) {
		uint64_t t0 = rdtsc();
		sys_getenvid();
		null_call = MIN(null_call, rdtsc() - t0);
	}
	const struct net_stats *ns = &net_stats;
	int n = snprintf(
		out, cap,
		"tsc_hz:%lu\r\ntsc:%lu\r\nsyscall_cycles:%lu\r\n"
		"loop_turns:%lu\r\nloop_sleeps:%lu\r\nloop_frames:%lu\r\nloop_events:%lu\r\n"
		"loop_timers:%lu\r\nloop_cycles_net:%lu\r\nloop_cycles_serve:%lu\r\n"
		"loop_cycles_due:%lu\r\nloop_cycles_flush:%lu\r\n"
		"net_rx_frames:%lu\r\nnet_tx_frames:%lu\r\nnet_sys_sends:%lu\r\n"
		"net_sys_waits:%lu\r\nnet_sys_yields:%lu\r\nnet_cycles_send:%lu\r\n"
		"net_cycles_wait:%lu\r\nnet_cycles_rx:%lu\r\n"
		"tcp_in_segs:%lu\r\ntcp_out_segs:%lu\r\ntcp_out_data_segs:%lu\r\n"
		"tcp_out_acks:%lu\r\ntcp_delacks:%lu\r\ntcp_timer_adds:%lu\r\n"
		"tcp_timer_removes:%lu\r\ntcp_lookup_steps:%lu\r\ntcp_rbuf_allocs:%lu\r\n"
		"kvd_recvs:%lu\r\nkvd_sends:%lu\r\nkvd_cycles_recv:%lu\r\n"
		"kvd_cycles_send:%lu\r\nkvd_cycles_out:%lu\r\n"
		"kern_rx_frames:%lu\r\nkern_tx_frames:%lu\r\nkern_tx_kicks:%lu\r\n"
		"kern_irqs:%lu\r\nkern_cycles_irq:%lu\r\nkern_wakes:%lu\r\n"
		"kern_turns:%lu\r\nkern_cycles_turn:%lu\r\nkern_ticks:%lu\r\n"
		"kern_env_runs:%lu\r\n",
		(unsigned long)ukinfo->ki_tsc_hz, (unsigned long)rdtsc(), (unsigned long)null_call,
		(unsigned long)ls.turns, (unsigned long)ls.sleeps, (unsigned long)ls.frames,
		(unsigned long)ls.events, (unsigned long)ls.timers, (unsigned long)ls.cyc_net,
		(unsigned long)ls.cyc_serve, (unsigned long)ls.cyc_due, (unsigned long)ls.cyc_flush,
		(unsigned long)ns->rx_frames, (unsigned long)ns->tx_frames,
		(unsigned long)ns->sys_sends, (unsigned long)ns->sys_waits,
		(unsigned long)ns->sys_yields, (unsigned long)ns->cyc_send,
		(unsigned long)ns->cyc_wait, (unsigned long)ns->cyc_rx, (unsigned long)ts->in_segs,
		(unsigned long)ts->out_segs, (unsigned long)ts->out_data_segs,
		(unsigned long)ts->out_acks, (unsigned long)ts->delacks,
		(unsigned long)ts->timer_adds, (unsigned long)ts->timer_removes,
		(unsigned long)ts->lookup_steps, (unsigned long)ts->rbuf_allocs,
		(unsigned long)st.recvs, (unsigned long)st.sends, (unsigned long)st.cyc_recv,
		(unsigned long)st.cyc_send, (unsigned long)st.cyc_out,
		(unsigned long)ni.ni_rx_frames, (unsigned long)ni.ni_tx_frames,
		(unsigned long)ni.ni_tx_kicks, (unsigned long)ni.ni_irqs,
		(unsigned long)ni.ni_irq_cycles, (unsigned long)ni.ni_wakes,
		(unsigned long)ni.ni_turn_count, (unsigned long)ni.ni_turn_cycles,
		(unsigned long)ukinfo->ki_ticks, (unsigned long)thisenv->env_runs);
	return n < 0 ? 0 : MIN((size_t)n, cap - 1);
}

/* Hand TCP what it takes of the client's output. */
static void flush(struct client *cl)
{
	struct tcp_conn *tc = appl_conn_tcp(cl->ac);
	while (cl->out_off < cl->out_len) {
		uint64_t t0 = rdtsc();
		long r = tcp_send(tc, cl->out + cl->out_off, cl->out_len - cl->out_off);
		st.cyc_send += rdtsc() - t0;
		st.sends++;
		if (r == -E_AGAIN)
			return;
		if (r <= 0) {
			cl->broken = true;
			return;
		}
		cl->out_off += (size_t)r;
		st.bytes_out += (uint64_t)r;
	}
	cl->out_off = cl->out_len = 0;
	if (cl->out_cap > OUT_KEEP) {
		appl_free(cl->out);
		cl->out = NULL;
		cl->out_cap = 0;
	}
}

static void finish(struct client *cl, bool reset)
{
	kvd_client_gone(cl->kc);
	if (reset)
		appl_abort(cl->ac);
	else
		appl_close(cl->ac);
	appl_free(cl->out);
	appl_free(cl);
}

static bool on_accept(struct appl_conn *ac, void *arg UNUSED)
{
	struct client *cl = appl_calloc(sizeof(*cl));
	if (!cl)
		return false;
	cl->ac = ac;
	cl->kc = kvd_client_new(kv, cl, appl_conn_peer(ac));
	if (!cl->kc) {
		appl_free(cl);
		return false;
	}
	tcp_setopt(appl_conn_tcp(ac), TCP_OPT_NODELAY, 1);
	appl_conn_set_user(ac, cl);
	st.clients++;
	return true;
}

static void on_event(struct appl_conn *ac, unsigned ev)
{
	struct client *cl = appl_conn_user(ac);
	struct tcp_conn *tc = appl_conn_tcp(ac);
	if (ev & TCP_EV_ERR) {
		finish(cl, true);
		return;
	}
	flush(cl);
	size_t turn = 0;
	current = cl;
	while (!cl->closing && !cl->eof && !cl->broken && cl->out_len - cl->out_off < OUT_PAUSE &&
	       turn < READ_TURN) {
		uint64_t t0 = rdtsc();
		long n = tcp_recv(tc, inbuf, sizeof(inbuf));
		st.cyc_recv += rdtsc() - t0;
		st.recvs++;
		if (n == -E_AGAIN)
			break;
		if (n == 0) {
			cl->eof = true;
			break;
		}
		if (n < 0) {
			cl->broken = true;
			break;
		}
		st.bytes_in += (uint64_t)n;
		turn += (size_t)n;
		kvd_client_feed(cl->kc, inbuf, (size_t)n);
	}
	current = NULL;
	if (cl->broken) {
		finish(cl, true);
		return;
	}
	flush(cl);
	if (cl->broken) {
		finish(cl, true);
		return;
	}
	bool drained = cl->out_off == cl->out_len;
	if ((cl->closing || cl->eof) && drained) {
		finish(cl, false);
		return;
	}
	/* more input may be waiting that this turn did not read (a paused
	 * client is woken by TCP_EV_OUT as its output drains) */
	if (turn >= READ_TURN)
		appl_kick(ac);
}

static void on_timer(struct appl_conn *ac UNUSED)
{
}

static void tick(void *arg UNUSED)
{
	if (aof)
		aof->flush(); /* a failure is retried next time; the engine's sync reports it */
	kvd_tick(kv);
}

static const struct appl_ops ops = { on_accept, on_event, on_timer };

int main(int argc, char **argv)
{
	uint16_t port = 6379;
	int argi = 1;
	bool disk = false, format = false;
	for (;;) {
		if (argi + 1 < argc && !strcmp(argv[argi], "--port")) {
			unsigned long p = strtoul(argv[argi + 1], NULL, 10);
			if (p == 0 || p > 65535) {
				printf("kvd: --port %s: want 1 to 65535\n", argv[argi + 1]);
				return 2;
			}
			port = (uint16_t)p;
			argi += 2;
		} else if (argi < argc && !strcmp(argv[argi], "--disk")) {
			disk = true;
			argi++;
		} else if (argi + 1 < argc && !strcmp(argv[argi], "--aof-dev")) {
			const char *d = argv[argi + 1];
			aof = !strcmp(d, "xn")   ? &exo_log_xn
			      : !strcmp(d, "fs") ? &exo_log_fs
						 : NULL;
			if (!aof) {
				printf("kvd: --aof-dev %s: want xn or fs\n", d);
				return 2;
			}
			disk = true;
			argi += 2;
		} else if (argi < argc && !strcmp(argv[argi], "--format")) {
			format = true;
			argi++;
		} else {
			break;
		}
	}
	if (format && !disk) {
		printf("kvd: --format needs --disk\n");
		return 2;
	}
	if (disk && !aof)
		aof = &AOF_DEFAULT;
	rng_state = rdtsc() | 1;
	int r = appl_init();
	if (r < 0) {
		printf("kvd: no network: %e\n", r);
		return 2;
	}
	struct kvd_hooks h = {
		.ctx = NULL,
		.now_ms = exo_now_ms,
		.alloc = exo_alloc,
		.release = exo_release,
		.random = exo_random,
		.send = exo_send,
		.close = exo_close,
		.shutdown = exo_shutdown,
		.log_line = exo_log_line,
		.cycles = exo_cycles,
		.info_runner = exo_info,
	};
	if (aof) {
		if (aof->open(format) < 0)
			return 1;
		h.log_append = aof->append;
		h.log_sync = aof->sync;
		h.rewrite_begin = aof->rewrite_begin;
		h.rewrite_append = aof->rewrite_append;
		h.rewrite_commit = aof->rewrite_commit;
		h.rewrite_abort = aof->rewrite_abort;
	}
	kv = kvd_new(&h);
	if (!kv) {
		printf("kvd: out of memory\n");
		return 1;
	}
	for (int i = argi; i + 1 < argc; i += 2) {
		const char *why;
		if (kvd_config_set(kv, argv[i], argv[i + 1], &why) < 0) {
			printf("kvd: %s %s: %s\n", argv[i], argv[i + 1], why);
			return 2;
		}
	}
	if (aof && aof->recover(kv) < 0)
		return 1;
	struct appl_listener *l = appl_listen(port, 1024, &ops, NULL, &r);
	if (!l) {
		printf("kvd: cannot listen on port %u: error %d\n", port, r);
		return 2;
	}
	appl_every(1000 / (uint64_t)MAX(kvd_hz(kv), 1), tick, NULL);
	printf("kvd: listening on 10.0.2.15 port %u\n", port);
	r = appl_run();
	struct appl_loop_stats ls;
	struct appl_mem_stats ms;
	appl_loop_stats(&ls);
	appl_mem_stats(&ms);
	printf("kvd: %lu clients, %lu bytes in, %lu out; loop: %lu turns, %lu sleeps, "
	       "%lu frames, %lu events, %lu at once at most\n",
	       (unsigned long)st.clients, (unsigned long)st.bytes_in, (unsigned long)st.bytes_out,
	       (unsigned long)ls.turns, (unsigned long)ls.sleeps, (unsigned long)ls.frames,
	       (unsigned long)ls.events, (unsigned long)ls.most_open);
	printf("kvd: memory: %lu pages (%lu free), %lu used by the engine, %lu bad frees\n",
	       (unsigned long)ms.pages_owned, (unsigned long)ms.pages_free,
	       (unsigned long)kvd_used_memory(kv), (unsigned long)ms.bad_frees);
	const struct tcp_stats *ts = tcp_stack_stats(tcpnet_stack());
	struct net_info ni;
	if (sys_net_info(&ni) < 0)
		memset(&ni, 0, sizeof(ni));
	printf("kvd: tcp: segments in %lu, out %lu, retransmitted %lu, timeouts %lu, "
	       "no connection %lu, syn dropped %lu, cookies %lu/%lu/%lu, created %lu, "
	       "freed %lu; frames lost to a full ring %lu\n",
	       (unsigned long)ts->in_segs, (unsigned long)ts->out_segs,
	       (unsigned long)ts->out_rexmit_segs, (unsigned long)ts->rto_fired,
	       (unsigned long)ts->in_no_conn, (unsigned long)ts->in_syn_dropped,
	       (unsigned long)ts->out_cookies, (unsigned long)ts->in_cookies_ok,
	       (unsigned long)ts->in_cookies_bad, (unsigned long)ts->conns_created,
	       (unsigned long)ts->conns_freed, (unsigned long)ni.ni_rx_full);
	kvd_destroy(kv);
	if (aof)
		aof->close();
	return r < 0 ? 1 : 0;
}
