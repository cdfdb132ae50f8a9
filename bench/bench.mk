# Benchmarks, included by the Makefile. See doc/bench/README.md.
#
#   make bench        Exo's microbenchmarks beside a Linux guest's, as ratios
#                     (writes doc/bench/latest.md); knobs: BENCH_RUNS,
#                     BENCH_ROUNDS, BENCH_ROUNDS_EXO, BENCH_CACHE
#   make bench-smoke  both benchmark programs with tiny counts; PASS/FAIL lines
#   make bench-fs     only the file-system rows: lib/fs beside ext4 (tools/benchfs;
#                     knobs BENCH_FS_FILES, BENCH_FS_BIG, BENCH_FS_RUNS, ...)
#   make bench-tcp    TCP rows: connection rate, ping-pong latency, bulk, Exo
#                     beside Linux over TAP (doc/bench/tcp.md)
#   make bench-servers  httpd vs nginx-light, kvd vs redis-server over TAP
#                     (tools/bench-servers; writes doc/bench/servers.md)
#
# The Linux-side programs are built here, on the host; tools/bench fetches the
# Debian kernel and busybox, builds the initramfs and boots both guests.

BUILD ?= build
BENCH_CC ?= gcc
BENCH_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -fno-omit-frame-pointer
BENCH_PROGS := $(BUILD)/bench/lbench $(BUILD)/bench/nop $(BUILD)/bench/udpecho \
	$(BUILD)/bench/mkcpio $(BUILD)/bench/udprtt $(BUILD)/bench/tcpecho $(BUILD)/bench/tcpbench

# The Linux guest's programs - the benchmarks, and the UDP echo server of
# the network rows: static, so the initramfs needs no libc.
$(BUILD)/bench/udpecho $(BUILD)/bench/tcpecho: $(BUILD)/bench/%: bench/linux/%.c bench/bench.mk
	@mkdir -p $(@D)
	@echo "  CC   $@"
	@$(BENCH_CC) $(BENCH_CFLAGS) -static -o $@ $<

# lbench's file-system rows run Exo's own sequence of operations
# (user/bench/fsbench/fswork.c), so both guests do the same work.
$(BUILD)/bench/lbench: bench/linux/lbench.c bench/linux/lfs.c user/bench/fsbench/fswork.c \
		user/bench/fsbench/fswork.h bench/bench.mk
	@mkdir -p $(@D)
	@echo "  CC   $@"
	@$(BENCH_CC) $(BENCH_CFLAGS) -static -o $@ $(filter %.c,$^)

# What fork_exec_wait runs: no libc, only exit_group.
$(BUILD)/bench/nop: bench/linux/nop.c bench/bench.mk
	@mkdir -p $(@D)
	@echo "  CC   $@"
	@$(BENCH_CC) $(BENCH_CFLAGS) -static -nostdlib -fno-stack-protector \
		-fno-asynchronous-unwind-tables -o $@ $<

# Host tools: UDP echo round trips, and the TCP rows (make bench-tcp), against either guest.
$(BUILD)/bench/udprtt $(BUILD)/bench/tcpbench: $(BUILD)/bench/%: bench/host/%.c bench/bench.mk
	@mkdir -p $(@D)
	@echo "  CC   $@"
	@$(BENCH_CC) $(BENCH_CFLAGS) -o $@ $<

# A host tool: writes the initramfs's cpio archive.
$(BUILD)/bench/mkcpio: bench/linux/mkcpio.c bench/bench.mk
	@mkdir -p $(@D)
	@echo "  CC   $@"
	@$(BENCH_CC) $(BENCH_CFLAGS) -o $@ $<

bench-progs: $(BENCH_PROGS)

bench: deps $(BUILD)/kernel bench-progs
	@BUILD=$(BUILD) tools/bench
	@BUILD=$(BUILD) tools/bench-servers

# httpd vs nginx-light and kvd vs redis-server over TAP (doc/appl.md)
bench-servers: deps $(BUILD)/kernel $(BUILD)/bench/mkcpio
	@BUILD=$(BUILD) tools/bench-servers

bench-smoke: deps $(BUILD)/kernel bench-progs
	@BUILD=$(BUILD) tools/bench --smoke

# The file-system rows alone, into doc/bench/latest.md's "File system" section.
bench-fs: deps $(BUILD)/kernel bench-progs
	@BUILD=$(BUILD) tools/bench --fs

# The TCP rows: Exo's sockets echo server beside the Linux guest's over a TAP
# device (needs root), into doc/bench/tcp.md.
bench-tcp: deps $(BUILD)/kernel bench-progs
	@BUILD=$(BUILD) tools/bench --tcp

.PHONY: bench bench-smoke bench-fs bench-progs bench-servers bench-tcp
