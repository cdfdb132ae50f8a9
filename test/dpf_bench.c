/*
 * Demultiplexing cost per packet on the host (`make dpf-bench`): with 1, 10,
 * 100 and 1000 installed "UDP destination port" filters, how long the DPF
 * trie takes to find a packet's filter compiled to x86-64 and interpreted,
 * beside libpcap's BPF interpreter running one compiled "udp dst port N"
 * program per filter in turn, as a system without a merged trie would.
 *
 * Matched packets go to a random installed port; unmatched ones to a port
 * nobody filters (every BPF program runs). Each figure is the best of a few
 * runs of at least 50 ms each over 1024 packets. Every engine's verdicts are
 * checked against each other before timing. Also shown: the compiled code's
 * size and the time to compile the whole trie (what an insert or remove
 * costs, since dpf_compile regenerates everything).
 *
 * Built without libpcap (no libpcap-dev), the BPF columns say so.
 */
#include "dpf_gen.h"

#include <time.h>

#ifdef HAVE_PCAP
#include <pcap/pcap.h>
#endif

#define NPKT 1024
#define PKT_MAX 128
#define MIN_RUN_NS 50000000.0
#define RUNS 3

static struct dpf D;
static uint8_t pkts[NPKT][PKT_MAX];
static size_t lens[NPKT];
static int want[NPKT];
static volatile int sink;

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

enum engine { COMPILED, INTERP, BPF };

static dpf_code_fn *code;

#ifdef HAVE_PCAP
static struct bpf_program progs[1000];
static int nprogs;

static int bpf_demux(const uint8_t *pkt, size_t len)
{
	for (int i = 0; i < nprogs; i++)
		if (bpf_filter(progs[i].bf_insns, pkt, (u_int)len, (u_int)len))
			return i;
	return -1;
}
#endif

static int run(enum engine e, int i)
{
	switch (e) {
	case COMPILED: return code(pkts[i], lens[i]);
	case INTERP: return dpf_match(&D, pkts[i], lens[i]);
	default:
#ifdef HAVE_PCAP
		return bpf_demux(pkts[i], lens[i]);
#else
		return -1;
#endif
	}
}

/* ns per packet: the best of RUNS runs over every packet. */
static double measure(enum engine e)
{
	double best = 1e30;
	for (int r = 0; r < RUNS; r++) {
		long rounds = 0;
		double t0 = now_ns(), t;
		do {
			int acc = 0;
			for (int i = 0; i < NPKT; i++)
				acc += run(e, i);
			sink = acc;
			rounds++;
		} while ((t = now_ns() - t0) < MIN_RUN_NS);
		double per = t / ((double)rounds * NPKT);
		if (per < best)
			best = per;
	}
	return best;
}

static uint16_t port_of(int i)
{
	return (uint16_t)(1024 + 7 * i);
}

/* Packets to installed ports (matched) or to a port nobody filters. */
static void make_packets(struct rng *r, int n, bool matched)
{
	for (int i = 0; i < NPKT; i++) {
		int k = (int)rng_below(r, (uint32_t)n);
		uint16_t dport = matched ? port_of(k) : 9;
		lens[i] = gen_ipv4(r, pkts[i], DPF_IPPROTO_UDP, (uint16_t)(40000 + k), dport, 5,
				   rng_below(r, 32));
		want[i] = matched ? k : -1;
	}
}

static bool verify(bool have_bpf)
{
	for (int i = 0; i < NPKT; i++) {
		int c = run(COMPILED, i), t = run(INTERP, i), b = have_bpf ? run(BPF, i) : want[i];
		if (c != want[i] || t != want[i] || b != want[i]) {
			fprintf(stderr, "packet %d: want %d, compiled %d, interpreter %d, bpf %d\n",
				i, want[i], c, t, b);
			return false;
		}
	}
	return true;
}

int main(void)
{
	static const int counts[] = { 1, 10, 100, 1000 };
	struct code_buf cb = { 0 };
	struct rng r = { 2024 };
	bool have_bpf = false;
#ifdef HAVE_PCAP
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	have_bpf = dead != NULL;
#endif
	if (!have_bpf)
		printf("libpcap not found (apt-get install libpcap-dev): BPF columns skipped\n");

	printf("DPF demux, ns per packet (best of %d runs over %d packets)\n", RUNS, NPKT);
	printf("%-8s | %-29s | %-29s | %10s %12s\n", "", "matched packets", "unmatched packets",
	       "code", "compile");
	printf("%-8s | %8s %8s %11s | %8s %8s %11s | %10s %12s\n", "filters", "compiled", "interp",
	       "bpf-linear", "compiled", "interp", "bpf-linear", "bytes", "us");
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		int n = counts[c];
		struct dpf_filter f;
		dpf_init(&D);
		for (int i = 0; i < n; i++) {
			dpf_filter_ipv4_port(&f, DPF_IPPROTO_UDP, port_of(i));
			if (dpf_conflicts(&D, &f, i + 1) != -1 || dpf_insert(&D, &f, i + 1) != i) {
				fprintf(stderr, "dpf-bench: cannot install filter %d\n", i);
				return 1;
			}
		}
		code = code_compile(&D, &cb);
		if (!code)
			return 1;
		uint8_t *scratch = malloc(cb.len);
		size_t len;
		double t0 = now_ns();
		int reps = 0;
		do
			dpf_compile(&D, scratch, cb.len, &len);
		while (++reps < 5 || now_ns() - t0 < 20e6);
		double compile_us = (now_ns() - t0) / reps / 1e3;
		free(scratch);
#ifdef HAVE_PCAP
		for (nprogs = 0; have_bpf && nprogs < n; nprogs++) {
			char expr[64];
			snprintf(expr, sizeof(expr), "udp dst port %u", port_of(nprogs));
			if (pcap_compile(dead, &progs[nprogs], expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
				fprintf(stderr, "pcap_compile %s: %s\n", expr, pcap_geterr(dead));
				return 1;
			}
		}
#endif
		static double t[4][2][3];
		for (int m = 0; m < 2; m++) {
			make_packets(&r, n, m == 0);
			if (!verify(have_bpf))
				return 1;
			for (int e = 0; e < 3; e++)
				t[c][m][e] = e == BPF && !have_bpf ? -1 : measure((enum engine)e);
		}
		printf("%-8d |", n);
		for (int m = 0; m < 2; m++) {
			printf(" %8.1f %8.1f", t[c][m][0], t[c][m][1]);
			if (have_bpf)
				printf(" %11.1f |", t[c][m][2]);
			else
				printf(" %11s |", "-");
		}
		printf(" %10zu %12.1f\n", cb.len, compile_us);
#ifdef HAVE_PCAP
		for (int i = 0; i < nprogs; i++)
			pcap_freecode(&progs[i]);
#endif
		if (c + 1 < sizeof(counts) / sizeof(counts[0]))
			continue;
		printf("\ncompiled trie's speed-up (times faster)\n");
		printf("%-8s | %8s %11s | %8s %11s\n", "filters", "vs interp", "vs bpf",
		       "vs interp", "vs bpf");
		for (size_t k = 0; k <= c; k++) {
			printf("%-8d |", counts[k]);
			for (int m = 0; m < 2; m++) {
				printf(" %8.1f", t[k][m][1] / t[k][m][0]);
				if (have_bpf)
					printf(" %11.1f |", t[k][m][2] / t[k][m][0]);
				else
					printf(" %11s |", "-");
			}
			printf("\n");
		}
	}

	/* the largest trie: every filter slot used, ports and protocols mixed */
	struct dpf_filter f;
	dpf_init(&D);
	for (int i = 0; i < DPF_MAX_FILTERS; i++) {
		dpf_filter_ipv4_port(&f, i % 2 ? DPF_IPPROTO_TCP : DPF_IPPROTO_UDP, port_of(i / 2));
		dpf_insert(&D, &f, i + 1);
	}
	code = code_compile(&D, &cb);
	if (!code)
		return 1;
	uint8_t *scratch = malloc(cb.len);
	size_t len;
	int reps = 0;
	double t0 = now_ns();
	do
		dpf_compile(&D, scratch, cb.len, &len);
	while (++reps < 5 || now_ns() - t0 < 20e6);
	printf("\n%d filters (TCP and UDP): %zu bytes of code, compiled in %.1f us\n",
	       DPF_MAX_FILTERS, len, (now_ns() - t0) / reps / 1e3);
	free(scratch);
	code_free(&cb);
	return 0;
}
