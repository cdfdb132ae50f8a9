# Downloaded code (kern/bpf, lib/base/bpf_elf.c): host tests and fuzz targets.
# Included by the top-level Makefile beside test/host.mk.
#
#   host-tests     every test/test_bpf*.c (host.mk builds and runs them; this
#                  adds the engine objects they link and the clang-built
#                  programs of test/bpf/*.c they load)
#   fuzz           each libFuzzer target for FUZZ_TIME seconds (default 60)
#   fuzz-smoke     each for FUZZ_SMOKE_TIME seconds (default 5), printing one
#                  PASS:/FAIL: line per target, for `make test`
#
# Fuzz corpora and crash inputs stay in $(BUILD)/fuzz/<target>/.

BUILD ?= build
BPF_CLANG ?= clang
FUZZ_TIME ?= 60
FUZZ_SMOKE_TIME ?= 5

BPF_ENGINE_SRCS := kern/bpf/verify.c kern/bpf/vstate.c kern/bpf/absint.c kern/bpf/interp.c \
	kern/bpf/jit.c
BPF_LIB_SRCS := lib/base/bpf_elf.c common/fmt.c common/string.c
BPF_HOST_OBJS := $(patsubst %.c,$(BUILD)/host/%.o,$(BPF_ENGINE_SRCS) $(BPF_LIB_SRCS))
BPF_HOST_TEST_BINS := $(patsubst test/%.c,$(BUILD)/host/%,$(wildcard test/test_bpf*.c))
BPF_PROGS := $(patsubst test/bpf/%.c,$(BUILD)/host/bpf/%.bpf.o,$(wildcard test/bpf/*.c))

# The engine is freestanding kernel code: built like lib/ for the host.
$(BUILD)/host/kern/bpf/%.o: kern/bpf/%.c test/rename.h
	@mkdir -p $(@D)
	$(say) "  HOSTCC $@"
	$(Q)$(HOST_CC) $(HOST_LIB_CFLAGS) -c -o $@ $<

# Restricted C for the engine: the ELF tests load these at run time.
$(BUILD)/host/bpf/%.bpf.o: test/bpf/%.c
	@mkdir -p $(@D)
	$(say) "  BPFCC $@"
	$(Q)$(BPF_CLANG) -O2 -target bpf -ffreestanding -I. -Wall -Werror -c -o $@ $<

# Extra prerequisites of host.mk's rule, whose recipe links every .o given;
# the programs are order-only (not linked: the tests read them at run time
# from bpf/ beside their binary).
$(BPF_HOST_TEST_BINS): $(BPF_HOST_OBJS) | $(BPF_PROGS)

# --- fuzzing -------------------------------------------------------------------
FUZZ_CFLAGS := -std=gnu11 -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -I.
FUZZ_LIB_CFLAGS := $(FUZZ_CFLAGS) -ffreestanding -fno-builtin -include test/rename.h
FUZZ_TARGETS := $(patsubst test/%.c,%,$(wildcard test/fuzz_bpf*.c))
FUZZ_BINS := $(patsubst %,$(BUILD)/fuzz/bin/%,$(FUZZ_TARGETS))
BPF_FUZZ_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(BPF_ENGINE_SRCS) $(BPF_LIB_SRCS))

$(BUILD)/fuzz/obj/%.o: %.c test/rename.h
	@mkdir -p $(@D)
	$(say) "  FUZZCC $@"
	$(Q)$(BPF_CLANG) $(FUZZ_LIB_CFLAGS) -c -o $@ $<

$(BUILD)/fuzz/bin/fuzz_%: test/fuzz_%.c test/bpf/*.h $(BPF_FUZZ_OBJS)
	@mkdir -p $(@D)
	$(say) "  FUZZLD $@"
	$(Q)$(BPF_CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BPF_FUZZ_OBJS)

# run_fuzz SECONDS: each target on its own corpus; a crash leaves its input
# in $(BUILD)/fuzz/<target>/ and fails the target.
define run_fuzz
	@failed=0; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(BUILD)/fuzz/$$t/corpus; \
		if $(BUILD)/fuzz/bin/$$t -max_total_time=$(1) -timeout=10 -rss_limit_mb=2048 \
			-artifact_prefix=$(BUILD)/fuzz/$$t/ $(BUILD)/fuzz/$$t/corpus \
			> $(BUILD)/fuzz/$$t/log 2>&1; then \
			echo "PASS: fuzz.$$t ($$(grep -o 'Done [0-9]* runs' $(BUILD)/fuzz/$$t/log))"; \
		else \
			echo "FAIL: fuzz.$$t: see $(BUILD)/fuzz/$$t/log"; failed=1; \
		fi; \
	done; exit $$failed
endef

# Kept between runs (make would delete them as intermediates of the pattern rule).
.SECONDARY: $(BPF_FUZZ_OBJS)

fuzz: $(FUZZ_BINS)
	$(call run_fuzz,$(FUZZ_TIME))

fuzz-smoke: $(FUZZ_BINS)
	$(call run_fuzz,$(FUZZ_SMOKE_TIME))

.PHONY: fuzz fuzz-smoke

-include $(wildcard $(BUILD)/host/kern/bpf/*.d $(BUILD)/fuzz/obj/*/*.d $(BUILD)/fuzz/obj/*/*/*.d)
