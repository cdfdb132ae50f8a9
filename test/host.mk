# Host unit tests: each test/test_X.c becomes $(BUILD)/host/test_X, built with
# the host compiler and sanitizers, linked with the lib/ sources listed in
# HOST_TEST_DEPS_X, and run by `make host-tests`. Each test prints one
# "PASS: suite.test" or "FAIL: suite.test: ..." line (see test/check.h); a
# binary that crashes or exits non-zero adds "FAIL: test_X: crashed or exited N".
#
# Failures are reported only by those lines: the target itself fails only when
# something does not build, which tools/test counts as a failure of its own.
#
# Included by the top-level Makefile; also usable alone from the repo root:
#	make -f test/host.mk host-tests
#
# lib/ and common/ code is freestanding and uses libc's names (memcpy, snprintf...), so it is
# compiled with test/rename.h, which renames those to exo_<name>.

BUILD ?= build
HOST_CC ?= cc
# Seconds one test binary may run: a backstop behind check.h's per-test alarm.
HOST_TEST_TIMEOUT ?= 300
# Quiet unless V=1, as in the top-level Makefile (which sets these first).
ifeq ($(V),1)
Q ?=
say ?= @true
else
Q ?= @
say ?= @echo
endif

# UBSan stops at the first report, so undefined behaviour fails the test.
HOST_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -fsanitize=address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -I. -MMD -MP
HOST_LIB_CFLAGS := $(HOST_CFLAGS) -ffreestanding -fno-builtin -include test/rename.h

# A new test's lib/ dependencies: one line here, named after its file.
HOST_TEST_DEPS_fmt := common/fmt.c common/string.c
HOST_TEST_DEPS_string := common/string.c
HOST_TEST_DEPS_netstack := lib/net/ether.c lib/net/arp.c lib/net/ipv4.c lib/net/udp.c \
	common/string.c
HOST_TEST_DEPS_http := $(filter-out user/srv/httpd/main%.c,$(wildcard user/srv/httpd/*.c)) \
	common/fmt.c common/string.c
HOST_TEST_DEPS_httpcache := $(HOST_TEST_DEPS_http)
HOST_TEST_DEPS_httpgroup := $(HOST_TEST_DEPS_http)

# kvd's engine: every file of user/srv/kvd but its Exo runner (exo*.c).
KVD_ENGINE_SRCS := $(filter-out user/srv/kvd/exo%.c,$(wildcard user/srv/kvd/*.c))
HOST_TEST_DEPS_kvd := $(KVD_ENGINE_SRCS) common/string.c common/fmt.c
HOST_TEST_DEPS_kvd_cmds := $(HOST_TEST_DEPS_kvd)
HOST_TEST_DEPS_kvd_dict := $(HOST_TEST_DEPS_kvd)
HOST_FS_DEPS := lib/fs/xnsim.c lib/fs/xnsim_image.c lib/fs/meta.c lib/fs/dir.c lib/fs/file.c lib/fs/path.c \
	lib/fs/fs.c lib/fs/names.c lib/fs/fsck.c common/string.c common/fmt.c common/xn_check.c
HOST_TEST_DEPS_fs := $(HOST_FS_DEPS)
HOST_TEST_DEPS_fsx := $(HOST_FS_DEPS)
HOST_TEST_DEPS_fscrash := $(HOST_FS_DEPS)
HOST_TEST_DEPS_fsjoin := $(HOST_FS_DEPS)
TCP_CORE := $(wildcard lib/net/tcp_*.c) common/string.c
HOST_TEST_DEPS_tcp := $(TCP_CORE)
HOST_TEST_DEPS_tcp_rules := $(TCP_CORE)
HOST_TEST_DEPS_tcp_pairs := $(TCP_CORE)
HOST_TEST_DEPS_tcp_reqresp := $(TCP_CORE)
HOST_TEST_DEPS_appl := lib/appl/slab.c common/string.c
HOST_TEST_DEPS_regex := lib/posix/regex.c common/fmt.c common/string.c
HOST_TEST_DEPS_shparse := user/bin/sh/parse.c user/bin/sh/expand.c user/bin/sh/edit.c \
	user/bin/sh/lex.c user/bin/sh/parse_ctl.c user/bin/sh/arith.c user/bin/sh/glob.c \
	common/fmt.c common/string.c
# Pure kernel files (no kernel state, no libc names) are tested the same way.
HOST_TEST_DEPS_xn_check := common/xn_check.c
HOST_TEST_DEPS_xn_walk := kern/disk/xn_walk.c common/xn_check.c
HOST_TEST_DEPS_civil := common/civil.c kern/arch/rtc.c
HOST_TEST_DEPS_entropy := common/string.c
HOST_TEST_DEPS_progarchive := kern/env/progarchive.c
HOST_TEST_DEPS_sock := $(TCP_CORE) lib/net/sock.c lib/net/sockopt.c lib/net/sockev.c
HOST_TEST_DEPS_sockev := $(HOST_TEST_DEPS_sock)

HOST_TESTS := $(patsubst test/test_%.c,%,$(wildcard test/test_*.c))
HOST_TEST_BINS := $(patsubst %,$(BUILD)/host/test_%,$(HOST_TESTS))

$(BUILD)/host/lib/%.o: lib/%.c test/rename.h
	@mkdir -p $(@D)
	$(say) "  HOSTCC $@"
	$(Q)$(HOST_CC) $(HOST_LIB_CFLAGS) -c -o $@ $<

$(BUILD)/host/user/%.o: user/%.c test/rename.h
$(BUILD)/host/kern/%.o: kern/%.c test/rename.h
	@mkdir -p $(@D)
	$(say) "  HOSTCC $@"
	$(Q)$(HOST_CC) $(HOST_LIB_CFLAGS) -c -o $@ $<

$(BUILD)/host/common/%.o: common/%.c test/rename.h
	@mkdir -p $(@D)
	$(say) "  HOSTCC $@"
	$(Q)$(HOST_CC) $(HOST_LIB_CFLAGS) -c -o $@ $<

# Programs are built for Exo with -Wno-unused-parameter (hook tables): so here.
$(BUILD)/host/user/%.o: user/%.c test/rename.h
	@mkdir -p $(@D)
	$(say) "  HOSTCC $@"
	$(Q)$(HOST_CC) $(HOST_LIB_CFLAGS) -Wno-unused-parameter -c -o $@ $<

# kvd-host: the same engine as a TCP server on the host (tools/kvd-host), built
# -O2 without sanitizers, for redis-cli, redis-benchmark and Redis's tests.
KVD_HOST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -I. -MMD -MP
$(BUILD)/host/kvd-o2/%.o: %.c test/rename.h
	@mkdir -p $(@D)
	$(say) "  HOSTCC $@"
	$(Q)$(HOST_CC) $(KVD_HOST_CFLAGS) -ffreestanding -fno-builtin -include test/rename.h -c -o $@ $<

$(BUILD)/host/kvd-host: tools/kvd-host/kvd-host.c \
		$(patsubst %.c,$(BUILD)/host/kvd-o2/%.o,$(KVD_ENGINE_SRCS) common/string.c common/fmt.c)
	@mkdir -p $(@D)
	$(say) "  HOSTCC $@"
	$(Q)$(HOST_CC) $(KVD_HOST_CFLAGS) -o $@ $< $(filter %.o,$^)

kvd-host: $(BUILD)/host/kvd-host
.PHONY: kvd-host

# SET latency while the key table grows past 2^20 keys (doc/kvd.md); not a test.
$(BUILD)/host/kvd-rehash-bench: test/kvd_rehash_bench.c \
		$(patsubst %.c,$(BUILD)/host/kvd-o2/%.o,$(KVD_ENGINE_SRCS) common/string.c common/fmt.c)
	@mkdir -p $(@D)
	$(say) "  HOSTCC $@"
	$(Q)$(HOST_CC) $(KVD_HOST_CFLAGS) -o $@ $< $(filter %.o,$^)
kvd-rehash-bench: $(BUILD)/host/kvd-rehash-bench
	$<
.PHONY: kvd-rehash-bench

define HOST_TEST_RULE
$(BUILD)/host/test_$(1): test/test_$(1).c $(patsubst %.c,$(BUILD)/host/%.o,$(HOST_TEST_DEPS_$(1)))
	@mkdir -p $$(@D)
	$(say) "  HOSTCC $$@"
	$(Q)$(HOST_CC) $(HOST_CFLAGS) -o $$@ $$< $$(filter %.o,$$^)
endef
$(foreach t,$(HOST_TESTS),$(eval $(call HOST_TEST_RULE,$(t))))

# Each binary's output is shown after it ends, so a crash's FAIL line follows
# the lines of the tests that did run.
host-tests: $(HOST_TEST_BINS)
	@for t in $(HOST_TEST_BINS); do \
		timeout $(HOST_TEST_TIMEOUT) $$t > $$t.out; rc=$$?; \
		cat $$t.out; \
		if [ $$rc -ne 0 ]; then echo "FAIL: $${t##*/}: crashed or exited $$rc"; fi; \
	done

.PHONY: host-tests

# A million TCP scenarios with bulk transfers up to 256 KiB, no time limit
# per test (test/test_tcp.c); make host-tests runs 100,000 smaller ones.
tcp-torture: $(BUILD)/host/test_tcp
	CHECK_TIMEOUT=0 TCP_SCENARIOS=100000 TCP_BULK=1 $<

.PHONY: tcp-torture

-include $(wildcard $(BUILD)/host/*.d $(BUILD)/host/lib/*/*.d $(BUILD)/host/common/*.d \
	$(BUILD)/host/kern/*/*.d $(BUILD)/host/user/*/*/*.d $(BUILD)/host/user/srv/kvd/*.d \
	$(BUILD)/host/kvd-o2/*/*.d $(BUILD)/host/kvd-o2/*/*/*/*.d)
