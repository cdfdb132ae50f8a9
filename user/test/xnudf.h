/*
 * For the disk's test programs: register a UDF carried in the program
 * (from user/bpf, built for BPF) as an XN metadata type.
 */
#ifndef EXO_USER_TEST_XNUDF_H
#define EXO_USER_TEST_XNUDF_H

#include <inc/bpf.h>
#include <inc/disk.h>
#include <lib/base/bpf_elf.h>
#include <lib/base/libos.h>

static int xnudf_resolve(void *arg UNUSED, const char *name)
{
	if (strcmp(name, "region0") == 0)
		return 0;
	if (strcmp(name, "region1") == 0)
		return 1;
	return -1;
}

/* Register section `section` of the object [img, end) as a type; its id or -E_*. */
static inline long xnudf_register(const char *name, const uint8_t *img, const uint8_t *end,
				  const char *section, struct bpf_load_error *err)
{
	static struct bpf_insn insns[XN_UDF_MAX_INSNS];
	uint32_t len;
	int r = bpf_elf_load(img, (size_t)(end - img), section, insns, XN_UDF_MAX_INSNS, &len,
			     xnudf_resolve, NULL);
	if (r < 0)
		return r;
	struct xn_type_def d = { { 0 }, insns, len, 0, err };
	strlcpy(d.td_name, name, sizeof(d.td_name));
	return sys_xn_type_register(&d);
}

#endif
