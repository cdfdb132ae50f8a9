# The file system's host tools, built from lib/fs's own sources (no
# sanitizers, optimised), and the host tests' lib/fs dependencies.
#
#   $(BUILD)/tools/mkfs  -s MiB [-u UDFDIR] IMAGE [DIR]   a disk image holding DIR's tree
#   $(BUILD)/tools/fsck  IMAGE                check an image (exit 0: clean)
#   make fs-tools        build both
#   make fs-stress       the long file-system tests (more fsx operations,
#                        more power cuts): FS_STRESS_SCALE=10 by default

FS_LIB_SRCS := lib/fs/xnsim.c lib/fs/xnsim_image.c lib/fs/meta.c lib/fs/dir.c lib/fs/file.c lib/fs/path.c \
	lib/fs/fs.c lib/fs/names.c lib/fs/fsck.c lib/base/bpf_elf.c common/string.c common/fmt.c common/xn_check.c
FS_TOOL_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -I. -MMD -MP
FS_TOOL_OBJS := $(patsubst %.c,$(BUILD)/tools-obj/%.o,$(FS_LIB_SRCS))

$(BUILD)/tools-obj/%.o: %.c test/rename.h
	@mkdir -p $(@D)
	$(say) "  HOSTCC $@"
	$(Q)$(HOST_CC) $(FS_TOOL_CFLAGS) -ffreestanding -fno-builtin -include test/rename.h -c -o $@ $<

$(BUILD)/tools/%: tools/fs/%.c tools/fs/image.h $(FS_TOOL_OBJS)
	@mkdir -p $(@D)
	$(say) "  HOSTCC $@"
	$(Q)$(HOST_CC) $(FS_TOOL_CFLAGS) -o $@ $< $(FS_TOOL_OBJS)

fs-tools: $(BUILD)/tools/mkfs $(BUILD)/tools/fsck

FS_STRESS_SCALE ?= 10
fs-stress: $(BUILD)/host/test_fsx $(BUILD)/host/test_fscrash
	FS_SCALE=$(FS_STRESS_SCALE) $(BUILD)/host/test_fsx
	FS_SCALE=$(FS_STRESS_SCALE) $(BUILD)/host/test_fscrash

.PHONY: fs-tools fs-stress

-include $(wildcard $(BUILD)/tools-obj/*/*.d $(BUILD)/tools-obj/*/*/*.d)

# lib/fs's UDFs are compiled from its headers (the BPF rule knows only its .c).
$(BUILD)/bpf/fs_udf_super.o $(BUILD)/bpf/fs_udf_dir.o $(BUILD)/bpf/fs_udf_extmap.o: \
	lib/fs/udf.h lib/fs/format.h inc/disk.h

# Power cuts of lib/fs on the real disk (tools/fscrashtest); make test runs 50.
FSCRASH_N ?= 200
fscrashtest: all
	tools/fscrashtest $(FSCRASH_N)

# The POSIX fsx in the guest, longer than make test's 100,000 calls, with
# one seed or several: make fsx-long FSX_OPS=1000000 FSX_SEEDS="1 2 3".
FSX_OPS ?= 1000000
FSX_SEEDS ?= 1
fsx-long: all
	@for s in $(FSX_SEEDS); do FSX_OPS=$(FSX_OPS) FSX_SEED=$$s tools/test-disk fsx || exit 1; done
.PHONY: fsx-long

# The disk the system boots with (make run attaches it): /bin (every
# program), /etc, /home, /README, /www, made by mkfs with lib/fs's UDFs in
# XN's type blocks. DISK_MIB sizes it (/bin alone, every program, is over
# 60 MiB).
DISK_MIB ?= 128
FS_UDF_OBJS := $(BUILD)/bpf/fs_udf_super.o $(BUILD)/bpf/fs_udf_dir.o $(BUILD)/bpf/fs_udf_extmap.o
$(BUILD)/disk.img: $(BUILD)/tools/mkfs $(BUILD)/tools/fsck $(USER_ELFS) $(FS_UDF_OBJS) \
		tools/fs/disk-README $(wildcard user/srv/httpd/www/*)
	$(say) "  MKFS $@"
	$(Q)rm -rf $(BUILD)/diskroot && mkdir -p $(BUILD)/diskroot/bin $(BUILD)/diskroot/etc \
		$(BUILD)/diskroot/home $(BUILD)/diskroot/tmp $(BUILD)/diskroot/www
	$(Q)cp $(USER_ELFS) $(BUILD)/diskroot/bin/
	$(Q)cp tools/fs/disk-README $(BUILD)/diskroot/README
	$(Q)cp -r user/srv/httpd/www/. $(BUILD)/diskroot/www/
	$(Q)rm -f $@.tmp && $(BUILD)/tools/mkfs -s $(DISK_MIB) -u $(BUILD)/bpf $@.tmp $(BUILD)/diskroot
	$(Q)$(BUILD)/tools/fsck $@.tmp > /dev/null && mv $@.tmp $@
all: $(BUILD)/disk.img
disk: $(BUILD)/disk.img
.PHONY: disk
