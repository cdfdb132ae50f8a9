/*
 * Wakeup predicates in the library OS (lib/base/wakeup.h).
 */
#include <lib/base/bpf_elf.h>
#include <lib/base/libos.h>
#include <lib/base/vm.h>
#include <lib/base/wakeup.h>

long wakeup_load(const struct bpf_insn *insns, uint32_t n, const struct bpf_grant *grants,
		 uint32_t ngrants, struct bpf_load_error *err)
{
	struct bpf_load a = { BPF_KIND_WAKEUP, n, insns, grants, ngrants, 0, err };
	return sys_bpf_load(&a);
}

/* region0 .. region7 name the granted regions. */
static int resolve(void *arg, const char *name)
{
	(void)arg;
	if (strncmp(name, "region", 6) == 0 && name[6] >= '0' && name[6] < '0' + BPF_MAX_REGIONS &&
	    name[7] == '\0')
		return name[6] - '0';
	return -1;
}

long wakeup_load_elf(const void *obj, size_t size, const struct bpf_grant *grants, uint32_t ngrants,
		     struct bpf_load_error *err)
{
	return bpf_load_elf(BPF_KIND_WAKEUP, "wakeup", obj, size, grants, ngrants, err);
}

long bpf_load_elf(uint32_t kind, const char *section, const void *obj, size_t size,
		  const struct bpf_grant *grants, uint32_t ngrants, struct bpf_load_error *err)
{
	static struct bpf_insn *insns; /* demand-zero: 32 KiB only if used */
	if (!insns && !(insns = vm_alloc(BPF_MAX_INSNS * sizeof(*insns))))
		return -E_NO_MEM;
	uint32_t len = 0;
	int r = bpf_elf_load(obj, size, section, insns, BPF_MAX_INSNS, &len, resolve, NULL);
	if (r < 0)
		return r;
	struct bpf_load a = { kind, len, insns, grants, ngrants, 0, err };
	return sys_bpf_load(&a);
}

long bpf_attach_packet(long filter, const void *obj, size_t size, const struct bpf_grant *grants,
		       uint32_t ngrants, struct bpf_load_error *err)
{
	if (filter < 0)
		return filter;
	long slot = bpf_load_elf(BPF_KIND_PACKET, "packet", obj, size, grants, ngrants, err);
	if (slot < 0)
		return slot;
	long r = sys_net_filter_ash((uint64_t)filter, (uint64_t)slot, 0);
	if (r < 0) {
		sys_bpf_unload((uint64_t)slot);
		return r;
	}
	return slot;
}
