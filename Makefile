# Exo's build. `make help` lists the targets and the run knobs.
#
#   make            build the kernel, the boot archives of programs and the disk
#   make run        boot it in QEMU, serial console on this terminal, the shell
#                   from the disk's /bin (BOOT_PROGRAMS=min; doc/boot.md)
#   make test       host unit tests + in-guest tests, ending "N passed, N failed"
#   make iso        a GRUB-bootable image, build/exo.iso
#   make bench      benchmarks (see doc/bench)
#   make bench-smoke  both benchmark programs with tiny counts
#   make bench-fs   only the file-system rows, lib/fs beside ext4 (doc/bench)
#   make host-tests just the host unit tests
#   make conformance  Redis's own test suite against kvd on the host (doc/kvd.md)
#   make dpf-bench  the packet-filter demux benchmark on the host (doc/dpf.md)
#   make crashtest  power cuts on a disk: N=1000 cuts (tools/crashtest)
#   make fsx-long   the guest's POSIX fsx: FSX_OPS (1,000,000) per seed in FSX_SEEDS
#   make fuzz       each downloaded-code fuzzer for FUZZ_TIME seconds (60)
#   make tcp-torture  a million simulated TCP scenarios with bulk transfers
#   make http-test  httpd's core against curl, wget, ab, wrk (doc/httpd.md)
#   make http-fuzz  httpd's request-parser fuzzer for FUZZ_TIME seconds
#   make kvd        boot Exo running kvd (lib/appl) on host port KV_PORT (6380),
#                   KVD_ARGS more arguments (DISK=img KVD_ARGS="--disk --format
#                   appendonly yes": the log on the disk; doc/kvd.md)
#   make httpd      boot Exo running httpd (lib/appl) on host port HTTP_PORT (8080),
#                   HTTPD_ARGS more (DISK=img HTTPD_ARGS="--disk --format --seed")
#   make qemu-gdb   boot, waiting for GDB on localhost:GDBPORT (doc/debugging.md)
#   make doc        regenerate doc/syscalls.md from inc/syscall.def
#   make format     format every C file with .clang-format (make test checks it)
#   make compdb     compile_commands.json, for editors and clang tools
#   make deps       install missing or too old tools (tools/checktools names them)
#   make clean      remove the build directory
#
# Run knobs, for make run, qemu-gdb, test and bench alike (tools/qemu reads
# them; doc/debugging.md shows them in use):
#   MEM=256M        guest RAM
#   SMP=1           guest CPUs
#   ACCEL=tcg       tcg (emulation) or kvm
#   PORTS=          host:guest forwards on QEMU's user network, adding a
#                   virtio-net NIC: PORTS="tcp:8080:80 udp:5555:5555"
#   NET=            none (default), user (default with PORTS), or tap: a TAP
#                   device named by TAP=exo0, which needs root
#   DISK=           a raw image attached as a virtio-blk disk, apart from boot
#   BOOT_PROGRAMS=  the boot module: full (every program; the default but for
#                   make run), min (init only: the rest from the disk's /bin),
#                   none, or an archive's path (doc/boot.md)
#   APPEND=         kernel command line: init=PROGRAM -- ARGS, trace=1, ...
#   GDBPORT=1234    where make qemu-gdb waits for GDB
#   QEMU_ARGS=      more QEMU arguments, e.g. a monitor socket (doc/debugging.md)
#   V=1             print the QEMU command line (and every build command)

BUILD ?= build
CC := gcc
LD := ld
OBJCOPY := objcopy
OBJDUMP := objdump
NM := nm

# Run knobs (tools/qemu reads them from the environment).
MEM ?= 256M
SMP ?= 1
ACCEL ?= tcg
V ?= 0
GDBPORT ?= 1234
export MEM SMP ACCEL V PORTS NET TAP DISK APPEND GDBPORT QEMU_ARGS BOOT_PROGRAMS

GCC_INC := $(shell $(CC) -print-file-name=include)

# Quiet unless V=1.
ifeq ($(V),1)
Q :=
say := @true
else
Q := @
say := @echo
endif

COMMON_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow \
	-fno-omit-frame-pointer -ffreestanding -nostdinc -isystem $(GCC_INC) -I. \
	-fno-stack-protector -fno-pic -fno-pie -fno-asynchronous-unwind-tables \
	-fcf-protection=none -MMD -MP

KCFLAGS := $(COMMON_CFLAGS) -mcmodel=kernel -mno-red-zone -mno-sse -mno-sse2 -mno-mmx \
	-mno-avx -mno-80387 -DEXO_KERNEL
UCFLAGS := $(COMMON_CFLAGS)
LDFLAGS_COMMON := -nostdlib -static -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments

# --- kernel -------------------------------------------------------------------
# The kernel's layers, bottom first (doc/design.md, "Layers"; tools/checklayers
# holds the same order and checks that no file includes from a layer above).
KERN_LAYERS := arch mem dev env bpf net disk debug
KERN_SRCS := $(wildcard boot/*.S) \
	$(foreach l,$(KERN_LAYERS),$(wildcard kern/$(l)/*.c kern/$(l)/*.S)) \
	$(wildcard kern/*.c)
# Pure, freestanding modules the kernel shares with the library OSes.
KERN_LIB_SRCS := $(wildcard common/*.c)
KERN_OBJS := $(patsubst %,$(BUILD)/kern-obj/%.o,$(KERN_SRCS) $(KERN_LIB_SRCS))

$(BUILD)/kern-obj/%.c.o: %.c
	@mkdir -p $(@D)
	$(say) "  CC   $@"
	$(Q)$(CC) $(KCFLAGS) -c -o $@ $<

$(BUILD)/kern-obj/%.S.o: %.S
	@mkdir -p $(@D)
	$(say) "  CC   $@"
	$(Q)$(CC) $(KCFLAGS) -D__ASSEMBLER__ -c -o $@ $<

# Missing or too old build tools are named, with the command that installs
# them, before anything is compiled (tools/checktools; make deps installs).
TOOLS_OK := $(BUILD)/.tools-ok
$(TOOLS_OK): tools/checktools
	@mkdir -p $(@D)
	@tools/checktools build
	@touch $@

$(KERN_OBJS): | $(TOOLS_OK)

# --- library OSes and user programs -------------------------------------------
# Each folder of lib/ builds its own archive (lib/base: what every library OS
# needs; lib/net: the protocol stack; lib/posix: fork, exec, pipes); common/
# goes into libcommon.a (-u posix_init: every program starts the POSIX layer,
# which reads what its parent passed it). A program links the archives it uses; every program
# in user/ links all of them today, in the order below (users first).
LIBS := appl posix fs net base
LIB_ARCHIVES := $(patsubst %,$(BUILD)/lib/lib%.a,$(LIBS)) $(BUILD)/lib/libcommon.a
lib_objs = $(patsubst %,$(BUILD)/user-obj/%.o,$(wildcard $(1)/*.c $(1)/*.S))
# A program is one file, user/DIR/NAME.c, or a folder of files,
# user/DIR/NAME/*.c (a server with several modules).
USER_DIRS := bin srv bench test
USER_SRCS := $(foreach d,$(USER_DIRS),$(wildcard user/$(d)/*.c))
USER_PROG_DIRS := $(patsubst %/,%,$(foreach d,$(USER_DIRS),$(wildcard user/$(d)/*/)))
USER_PROGS := $(sort $(basename $(notdir $(USER_SRCS))) $(notdir $(USER_PROG_DIRS)))
USER_ELFS := $(patsubst %,$(BUILD)/user/%,$(USER_PROGS)) $(BUILD)/user/badelf
# Two programs of one name in two folders would overwrite each other.
ifneq ($(words $(USER_PROGS)),$(words $(USER_SRCS) $(USER_PROG_DIRS)))
$(error two programs in user/ share a name)
endif

$(BUILD)/user-obj/%.c.o: %.c
	@mkdir -p $(@D)
	$(say) "  CC   $@"
	$(Q)$(CC) $(UCFLAGS) -c -o $@ $<

$(BUILD)/user-obj/%.S.o: %.S
	@mkdir -p $(@D)
	$(say) "  CC   $@"
	$(Q)$(CC) $(UCFLAGS) -D__ASSEMBLER__ -c -o $@ $<

$(patsubst %.c,$(BUILD)/user-obj/%.c.o,$(USER_SRCS) $(wildcard $(addsuffix /*.c,$(USER_PROG_DIRS))) \
	$(wildcard lib/*/*.c common/*.c)): | $(TOOLS_OK)

# Downloaded code the library OS carries: restricted C built for the BPF
# target, embedded as ELF objects it loads at run time (lib/base/bpf_elf.c).
BPF_USER_SRCS := $(wildcard user/bpf/*.c)
BPF_USER_OBJS := $(patsubst user/bpf/%.c,$(BUILD)/bpf/%.o,$(BPF_USER_SRCS))

BPF_CFLAGS := -O2 -g0 -target bpf -ffreestanding -I. -Wall -Werror

$(BUILD)/bpf/%.o: user/bpf/%.c lib/base/bpfprog.h inc/bpf.h
	@mkdir -p $(@D)
	$(say) "  BPF  $@"
	$(Q)clang $(BPF_CFLAGS) -c -o $@ $<

# bpfobj_NAME / bpfobj_NAME_end bracket each object.
$(BUILD)/user-obj/bpfobjs.S: $(BPF_USER_OBJS)
	@mkdir -p $(@D)
	$(say) "  GEN  $@"
	$(Q)( echo '	.section .rodata'; for f in $(BPF_USER_OBJS); do \
		n=$$(basename $$f .o); echo "	.balign 8"; \
		echo "	.globl bpfobj_$$n, bpfobj_$${n}_end"; \
		echo "bpfobj_$$n: .incbin \"$$f\""; echo "bpfobj_$${n}_end:"; done ) > $@

$(BUILD)/user-obj/bpfobjs.S.o: $(BUILD)/user-obj/bpfobjs.S
	$(say) "  CC   $@"
	$(Q)$(CC) $(UCFLAGS) -D__ASSEMBLER__ -c -o $@ $<

$(BUILD)/lib/libbase.a: $(call lib_objs,lib/base) $(BUILD)/user-obj/bpfobjs.S.o
$(BUILD)/lib/libnet.a: $(call lib_objs,lib/net)
$(BUILD)/lib/libposix.a: $(call lib_objs,lib/posix)
$(BUILD)/lib/libfs.a: $(call lib_objs,lib/fs)
$(BUILD)/lib/libappl.a: $(call lib_objs,lib/appl)
$(BUILD)/lib/libcommon.a: $(call lib_objs,common)
$(LIB_ARCHIVES):
	@mkdir -p $(@D)
	@rm -f $@
	$(say) "  AR   $@"
	$(Q)ar rcs $@ $^

# USER_PROG_RULE NAME SOURCES
define USER_PROG_RULE
$(BUILD)/user/$(1): $(patsubst %,$(BUILD)/user-obj/%.o,$(2)) $(LIB_ARCHIVES) lib/base/user.ld
	@mkdir -p $$(@D)
	$$(say) "  LD   $$@"
	$$(Q)$$(LD) $$(LDFLAGS_COMMON) -T lib/base/user.ld -u posix_init -u posix_file_init -o $$@ \
		$$(BUILD)/user-obj/lib/base/crt0.S.o $$(filter %.o,$$^) $$(LIB_ARCHIVES)
endef
$(foreach src,$(USER_SRCS),$(eval $(call USER_PROG_RULE,$(notdir $(basename $(src))),$(src))))
$(foreach d,$(USER_PROG_DIRS),$(eval $(call USER_PROG_RULE,$(notdir $(d)),$(wildcard $(d)/*.c))))

# httpd carries its site in its image until /www is on the disk
# (lib/appl/romfs.h; tools/mkromfs writes the table).
HTTPD_WWW := $(shell find user/srv/httpd/www -type f 2>/dev/null)
$(BUILD)/user-obj/httpd-www.S: tools/mkromfs $(HTTPD_WWW)
	@mkdir -p $(@D)
	$(say) "  GEN  $@"
	$(Q)tools/mkromfs user/srv/httpd/www > $@

$(BUILD)/user-obj/httpd-www.S.o: $(BUILD)/user-obj/httpd-www.S
	$(say) "  CC   $@"
	$(Q)$(CC) $(UCFLAGS) -D__ASSEMBLER__ -c -o $@ $<

$(BUILD)/user/httpd: $(BUILD)/user-obj/httpd-www.S.o

# A damaged program image, for the loader's error path (E_BAD_ELF).
$(BUILD)/user/badelf: $(BUILD)/user/hello
	$(say) "  GEN  $@"
	$(Q)head -c 200 $< > $@

# The programs the kernel can start by name come from a boot module, a
# program archive (inc/progarchive.h, doc/boot.md), not from the kernel:
# programs-full.img holds every program, programs-min.img only init, which
# mounts the disk and runs /bin/sh from it. tools/qemu's BOOT_PROGRAMS picks.
MKPROGRAMS := $(BUILD)/tools/mkprograms
$(MKPROGRAMS): tools/mkprograms.c inc/progarchive.h inc/types.h
	@mkdir -p $(@D)
	$(say) "  HOSTCC $@"
	$(Q)$(HOST_CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -I. -o $@ $<

$(BUILD)/programs-full.img: $(USER_ELFS) $(MKPROGRAMS)
	$(say) "  GEN  $@"
	$(Q)$(MKPROGRAMS) $@ $(USER_ELFS)

$(BUILD)/programs-min.img: $(BUILD)/user/init $(MKPROGRAMS)
	$(say) "  GEN  $@"
	$(Q)$(MKPROGRAMS) $@ $(BUILD)/user/init

BOOT_ARCHIVES := $(BUILD)/programs-full.img $(BUILD)/programs-min.img

# The kernel carries its own symbol table for backtraces (kern/debug/ksym.c): link
# once with an empty table, list that image's functions (tools/mkksyms), link
# again with the list, and check that no function moved in between.
KSYMS := $(BUILD)/kern-obj/ksyms

$(KSYMS)-empty.S: tools/mkksyms
	@mkdir -p $(@D)
	$(say) "  GEN  $@"
	$(Q)tools/mkksyms < /dev/null > $@

$(KSYMS).S: $(BUILD)/kernel.pass1 tools/mkksyms
	$(say) "  GEN  $@"
	$(Q)$(NM) -n $< | tools/mkksyms > $@

$(KSYMS)-empty.S.o $(KSYMS).S.o: %.S.o: %.S
	$(say) "  CC   $@"
	$(Q)$(CC) $(KCFLAGS) -D__ASSEMBLER__ -c -o $@ $<

$(BUILD)/kernel.pass1: $(KERN_OBJS) $(KSYMS)-empty.S.o kern/kernel.ld
	$(say) "  LD   $@"
	$(Q)$(LD) $(LDFLAGS_COMMON) -T kern/kernel.ld -o $@ $(KERN_OBJS) $(KSYMS)-empty.S.o

$(BUILD)/kernel: $(KERN_OBJS) $(KSYMS).S.o kern/kernel.ld
	$(say) "  LD   $@"
	$(Q)$(LD) $(LDFLAGS_COMMON) -T kern/kernel.ld -o $@ $(KERN_OBJS) $(KSYMS).S.o
	$(Q)$(NM) -n $@ | tools/mkksyms | cmp -s - $(KSYMS).S || \
		{ echo "$@: functions moved between the two link passes"; exit 1; }
	$(Q)$(OBJDUMP) -d -S $@ > $(BUILD)/kernel.asm
	$(Q)$(NM) -n $@ > $(BUILD)/kernel.sym

all: $(BUILD)/kernel $(BOOT_ARCHIVES)
.DEFAULT_GOAL := all

# --- running ------------------------------------------------------------------
deps:
	@tools/deps

# make run boots init alone from the boot archive, which runs the shell from
# the build's disk (BOOT_PROGRAMS=min), unless it is asked for another disk
# (which may not hold /bin) or for a first program by name (APPEND=init=...,
# which must be in the archive): then every program (full). A BOOT_PROGRAMS
# given wins (doc/boot.md).
run: deps all
	@d="$${DISK:-$(BUILD)/disk.img}"; [ -f "$$d" ] || cp $(BUILD)/disk.img "$$d"; \
		bp=full; [ -z "$$DISK" ] && case " $$APPEND" in *" init="*) ;; *) bp=min ;; esac; \
		DISK="$$d" BOOT_PROGRAMS="$${BOOT_PROGRAMS:-$$bp}" tools/run $(BUILD)/kernel

# The dedicated servers on the appliance library OS, through QEMU's user
# network (doc/kvd.md, doc/httpd.md).
KV_PORT ?= 6380
HTTP_PORT ?= 8080
KVD_ARGS ?=
HTTPD_ARGS ?=
kvd: deps all
	PORTS="tcp:$(KV_PORT):6379" tools/qemu $(BUILD)/kernel \
		-append "init=kvd -- --port 6379 $(KVD_ARGS)"

httpd: deps all
	PORTS="tcp:$(HTTP_PORT):80" tools/qemu $(BUILD)/kernel \
		-append "init=httpd -- --port 80 $(HTTPD_ARGS)"

qemu-gdb: deps all
	@echo "GDB: gdb -ex 'target remote localhost:$(GDBPORT)' $(BUILD)/kernel"
	GDB=1 tools/qemu $(BUILD)/kernel

$(BUILD)/exo.iso: $(BUILD)/kernel $(BOOT_ARCHIVES) tools/mkiso
	$(say) "  GEN  $@"
	$(Q)tools/mkiso $(BUILD)/kernel $(BOOT_ARCHIVES) $@

iso: deps $(BUILD)/exo.iso

# --- tests --------------------------------------------------------------------
-include test/host.mk
include test/bpf.mk
include test/dpf.mk
include test/http.mk
include bench/bench.mk
include tools/fs.mk

# Everything the suites run is built first (with make's -j if given), so
# tools/test's suites, which run at once, never build the same file twice.
test: deps all $(BUILD)/exo.iso $(HOST_TEST_BINS) $(FUZZ_BINS) $(BUILD)/fuzz/bin/fuzz_http \
		$(BUILD)/httpd-host bench-progs
	@tools/test

# kvd against Redis's own test suite, every unit of the groups it implements.
conformance: $(BUILD)/host/kvd-host
	@BUILD=$(BUILD) tools/kvd-redis-suite

doc/syscalls.md: inc/syscall.def tools/gensyscalldoc
	$(say) "  GEN  $@"
	$(Q)tools/gensyscalldoc > $@

doc: doc/syscalls.md

# The C the project formats: everything but the Linux guest's programs.
FORMAT_FILES = $(filter-out bench/linux/%,$(shell git ls-files '*.c' '*.h' 2>/dev/null))
format:
	$(Q)clang-format-19 -i $(FORMAT_FILES)

N ?= 1000
crashtest: deps all
	@tools/crashtest $(N)

# TCP over the impaired path, every profile and all together, 32 MiB each way
# (tools/test-impair, doc/net.md; needs root, SKIPs otherwise).
torture: deps all
	@IMPAIR_BYTES=33554432 tools/test-impair loss reorder dup corrupt all
.PHONY: torture

# --- compile_commands.json ------------------------------------------------------
# Written from the flags and source lists above, so it says exactly what the
# build does, with no tool watching a build: kernel objects (KCFLAGS), the
# library OSes and user programs (UCFLAGS), downloaded code (BPF_CFLAGS) and
# the host tests (HOST_CFLAGS). common/ is built both ways; its entries
# are the library OS's. -MMD -MP are left out: they write files.
comma := ,
define newline


endef
json_args = $(subst $(eval) ,$(comma) ,$(patsubst %,"%",$(strip $(1))))
# compdb_entry COMPILER+FLAGS SOURCE OUTPUT
compdb_entry = {"directory": "$(CURDIR)", "file": "$(2)", "output": "$(3)", \
	"arguments": [$(call json_args,$(filter-out -MMD -MP,$(1)) -c -o $(3) $(2))]},$(newline)
compdb_asm = $(if $(filter %.S,$(1)),-D__ASSEMBLER__)
COMPDB_USER_SRCS := $(wildcard common/*.c lib/*/*.c lib/*/*.S) $(USER_SRCS) \
	$(wildcard $(addsuffix /*.c,$(USER_PROG_DIRS)))

compdb:
	$(say) "  GEN  compile_commands.json"
	$(file >compile_commands.json,[$(newline)$(strip \
		$(foreach f,$(filter-out common/%,$(KERN_SRCS)),\
			$(call compdb_entry,$(CC) $(KCFLAGS) $(call compdb_asm,$(f)),$(f),$(BUILD)/kern-obj/$(f).o)) \
		$(foreach f,$(COMPDB_USER_SRCS),\
			$(call compdb_entry,$(CC) $(UCFLAGS) $(call compdb_asm,$(f)),$(f),$(BUILD)/user-obj/$(f).o)) \
		$(foreach f,$(BPF_USER_SRCS),\
			$(call compdb_entry,clang $(BPF_CFLAGS),$(f),$(BUILD)/bpf/$(notdir $(f:.c=.o)))) \
		$(foreach f,$(wildcard test/*.c),\
			$(call compdb_entry,$(HOST_CC) $(HOST_CFLAGS),$(f),$(BUILD)/host/$(notdir $(f:.c=.o))))))
	$(Q)sed -i '$$ s/,$$//' compile_commands.json && echo ']' >> compile_commands.json

help:
	@echo "Targets:"
	@sed -n '/^# Run knobs/q; s/^#   /  /p' Makefile
	@echo "Run knobs, for make run, qemu-gdb, test and bench (see tools/qemu):"
	@sed -n '/^# Run knobs/,/^$$/s/^#   /  /p' Makefile
	@echo "Knobs now: MEM=$(MEM) SMP=$(SMP) ACCEL=$(ACCEL) PORTS='$(PORTS)' NET=$(NET)" \
		"DISK=$(DISK) BOOT_PROGRAMS=$(BOOT_PROGRAMS) APPEND='$(APPEND)' GDBPORT=$(GDBPORT) V=$(V)"

clean:
	rm -rf $(BUILD)

.PHONY: all deps run qemu-gdb iso test doc compdb format help clean crashtest conformance kvd httpd
.DELETE_ON_ERROR:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
