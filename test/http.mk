# httpd's core (user/srv/httpd) on the host: its unit tests' objects, the
# host harness that real clients test, and the request parser's fuzz target.
# Included by the top-level Makefile beside test/host.mk (which builds and
# runs test/test_http*.c, whose dependencies it lists).
#
#   httpd-host        $(BUILD)/httpd-host: the core on sockets, epoll and a
#                     host directory, built with ASan and UBSan
#   http-test         real clients against it (tools/test-httpd; make test
#                     runs this too)
#   http-fuzz         the parser's fuzz target for FUZZ_TIME seconds (60)
#   http-fuzz-smoke   the same for FUZZ_SMOKE_TIME seconds (5), one
#                     PASS:/FAIL: line, for make test
#
# The corpus and any crash input stay in $(BUILD)/fuzz/fuzz_http/.

HTTPD_CORE_SRCS := $(filter-out user/srv/httpd/main%.c,$(wildcard user/srv/httpd/*.c))
HTTPD_HOST_OBJS := $(patsubst %.c,$(BUILD)/host/%.o,$(HTTPD_CORE_SRCS) common/fmt.c \
	common/string.c)

# The core is freestanding library-OS code: built like lib/ for the host.
$(BUILD)/host/user/srv/httpd/%.o: user/srv/httpd/%.c test/rename.h
	@mkdir -p $(@D)
	$(say) "  HOSTCC $@"
	$(Q)$(HOST_CC) $(HOST_LIB_CFLAGS) -c -o $@ $<

$(BUILD)/httpd-host: tools/httpd-host/main.c $(HTTPD_HOST_OBJS)
	@mkdir -p $(@D)
	$(say) "  HOSTCC $@"
	$(Q)$(HOST_CC) $(HOST_CFLAGS) -Wno-unused-parameter -o $@ $< $(HTTPD_HOST_OBJS)

httpd-host: $(BUILD)/httpd-host

http-test: $(BUILD)/httpd-host
	@BUILD=$(BUILD) tools/test-httpd

# --- fuzzing (clang and its libFuzzer, as test/bpf.mk) ----------------------
HTTP_FUZZ_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(HTTPD_CORE_SRCS) common/fmt.c \
	common/string.c)
.SECONDARY: $(HTTP_FUZZ_OBJS)

# An explicit rule: test/bpf.mk's fuzz_% pattern links the BPF engine.
$(BUILD)/fuzz/bin/fuzz_http: test/fuzz_http.c $(HTTP_FUZZ_OBJS)
	@mkdir -p $(@D)
	$(say) "  FUZZLD $@"
	$(Q)$(BPF_CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(HTTP_FUZZ_OBJS)

# run_http_fuzz SECONDS
define run_http_fuzz
	@mkdir -p $(BUILD)/fuzz/fuzz_http/corpus
	@if $(BUILD)/fuzz/bin/fuzz_http -max_total_time=$(1) -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix=$(BUILD)/fuzz/fuzz_http/ $(BUILD)/fuzz/fuzz_http/corpus \
		test/http-corpus > $(BUILD)/fuzz/fuzz_http/log 2>&1; then \
		echo "PASS: fuzz.fuzz_http ($$(grep -o 'Done [0-9]* runs' $(BUILD)/fuzz/fuzz_http/log))"; \
	else \
		echo "FAIL: fuzz.fuzz_http: see $(BUILD)/fuzz/fuzz_http/log"; exit 1; \
	fi
endef

http-fuzz: $(BUILD)/fuzz/bin/fuzz_http
	$(call run_http_fuzz,$(FUZZ_TIME))

http-fuzz-smoke: $(BUILD)/fuzz/bin/fuzz_http
	$(call run_http_fuzz,$(FUZZ_SMOKE_TIME))

.PHONY: httpd-host http-test http-fuzz http-fuzz-smoke

-include $(wildcard $(BUILD)/host/user/srv/httpd/*.d $(BUILD)/fuzz/obj/user/srv/httpd/*.d)
