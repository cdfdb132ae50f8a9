# DPF packet filters (kern/net/dpf.c, kern/net/dpf_jit.c, doc/dpf.md): the host benchmark.
#
#   dpf-bench    demultiplexing cost per packet with 1, 10, 100 and 1000 UDP
#                port filters: the compiled trie, the trie interpreter, and
#                libpcap's BPF interpreter running one "udp dst port N"
#                program per filter in turn (a column skipped, with a message,
#                when libpcap-dev is not installed). Not part of the tests.
#
# The host test, test/test_dpf.c, needs nothing from here: it compiles the
# engine in, so test/host.mk builds and runs it like any test/test_*.c.

BUILD ?= build
HOST_CC ?= cc

DPF_BENCH := $(BUILD)/host/dpf_bench
DPF_BENCH_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -I.
# The engine as the kernel builds it: freestanding, -O2, its own object.
DPF_ENGINE_CFLAGS := $(DPF_BENCH_CFLAGS) -Wno-unused-parameter -ffreestanding -fno-builtin

# Rebuilt every time: whether libpcap is there is decided when it runs.
dpf-bench:
	@mkdir -p $(BUILD)/host
	$(say) "  HOSTCC $(DPF_BENCH)"
	$(Q)$(HOST_CC) $(DPF_ENGINE_CFLAGS) -c -o $(BUILD)/host/dpf_bench_engine.o kern/net/dpf.c
	$(Q)$(HOST_CC) $(DPF_ENGINE_CFLAGS) -c -o $(BUILD)/host/dpf_bench_jit.o kern/net/dpf_jit.c
	$(Q)pcap_def=; pcap_lib=; \
	if echo 'int main(void) { return 0; }' | $(HOST_CC) -x c -include pcap/pcap.h - \
		-lpcap -o /dev/null 2>/dev/null; then pcap_def=-DHAVE_PCAP; pcap_lib=-lpcap; fi; \
	$(HOST_CC) $(DPF_BENCH_CFLAGS) $$pcap_def -o $(DPF_BENCH) test/dpf_bench.c \
		$(BUILD)/host/dpf_bench_engine.o $(BUILD)/host/dpf_bench_jit.o $$pcap_lib
	$(Q)$(DPF_BENCH)

.PHONY: dpf-bench

# TCP demultiplexing: one filter per connection in the trie vs one per
# listener and the TCP stack's 4-tuple hash (test/demux_bench.c, doc/net.md).
DEMUX_BENCH_SRCS := $(wildcard lib/net/tcp_*.c) common/string.c
demux-bench:
	@mkdir -p $(BUILD)/host
	$(say) "  HOSTCC $(BUILD)/host/demux_bench"
	$(Q)$(HOST_CC) $(DPF_ENGINE_CFLAGS) -c -o $(BUILD)/host/dpf_bench_engine.o kern/net/dpf.c
	$(Q)$(HOST_CC) $(DPF_ENGINE_CFLAGS) -c -o $(BUILD)/host/dpf_bench_jit.o kern/net/dpf_jit.c
	$(Q)$(HOST_CC) $(DPF_BENCH_CFLAGS) -ffreestanding -fno-builtin -include test/rename.h \
		-o $(BUILD)/host/demux_bench test/demux_bench.c $(DEMUX_BENCH_SRCS) \
		$(BUILD)/host/dpf_bench_engine.o $(BUILD)/host/dpf_bench_jit.o
	$(Q)$(BUILD)/host/demux_bench
.PHONY: demux-bench
