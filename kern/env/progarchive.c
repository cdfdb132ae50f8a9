/*
 * Checking the boot loader's program archive (inc/progarchive.h) before the
 * kernel trusts any byte of it.
 *
 * The archive comes from outside the kernel (a file named on QEMU's command
 * line or in grub.cfg), so it is hostile input: every field is checked in
 * 64-bit arithmetic that cannot wrap, and the whole archive is checked
 * before anything is filled in. Refused, with a reason and the entry:
 * too short for its header or table, the wrong magic or version, a size
 * that is not the module's, more entries than the caller has room for (or
 * none), a name empty, unterminated, not NUL-padded, with a character
 * outside [A-Za-z0-9_.-] or the same as an earlier one, a program of 0
 * bytes, an offset not a multiple of PA_ALIGN, inside the header or table,
 * past the end, out of table order or overlapping the one before, and
 * non-zero bytes between programs (nothing hides in the gaps).
 *
 * Names are compared pairwise: at PA_MAX_PROGS entries that is 32,640
 * comparisons of at most 32 bytes, once at boot.
 */
#include <inc/error.h>
#include <kern/env/progarchive.h>

static int refuse(struct pa_error *err, const char *why, int entry)
{
	err->pa_why = why;
	err->pa_entry = entry;
	return -E_INVAL;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* NULL if name (PA_NAME_LEN bytes) is well formed, else why not. */
static const char *name_problem(const char *name)
{
	unsigned len = 0;
	while (len < PA_NAME_LEN && name[len])
		len++;
	if (len == 0)
		return "empty name";
	if (len == PA_NAME_LEN)
		return "name not NUL-terminated";
	for (unsigned i = 0; i < len; i++)
		if (!name_char(name[i]))
			return "name has a character outside [A-Za-z0-9_.-]";
	for (unsigned i = len; i < PA_NAME_LEN; i++)
		if (name[i])
			return "name not NUL-padded";
	return NULL;
}

static bool same_name(const char *a, const char *b)
{
	for (unsigned i = 0; i < PA_NAME_LEN; i++) {
		if (a[i] != b[i])
			return false;
		if (!a[i])
			return true;
	}
	return true;
}

static bool all_zero(const uint8_t *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int progarchive_parse(const uint8_t *base, uint64_t len, struct program *out, unsigned max,
		      unsigned *n, struct pa_error *err)
{
	static const char magic[8] = PA_MAGIC;
	*n = 0;
	err->pa_why = NULL;
	err->pa_entry = -1;
	if (!base || len < sizeof(struct pa_header))
		return refuse(err, "shorter than its header", -1);
	if (((uintptr_t)base) % 8)
		return refuse(err, "not 8-byte aligned in memory", -1);
	const struct pa_header *h = (const void *)base;
	for (unsigned i = 0; i < sizeof(magic); i++)
		if (h->pa_magic[i] != magic[i])
			return refuse(err, "bad magic (not a program archive)", -1);
	if (h->pa_version != PA_VERSION)
		return refuse(err, "unknown version", -1);
	if (h->pa_size != len)
		return refuse(err, "its size field is not the module's size", -1);
	if (len > PA_MAX_SIZE)
		return refuse(err, "larger than PA_MAX_SIZE", -1);
	if (h->pa_count == 0)
		return refuse(err, "no programs", -1);
	if (h->pa_count > max)
		return refuse(err, "more programs than the kernel's table holds", -1);
	uint64_t table_end = sizeof(*h) + (uint64_t)h->pa_count * sizeof(struct pa_entry);
	if (table_end > len)
		return refuse(err, "its table runs past the end", -1);
	const struct pa_entry *pe = (const void *)(base + sizeof(*h));
	uint64_t prev_end = table_end;
	for (unsigned i = 0; i < h->pa_count; i++) {
		const char *why = name_problem(pe[i].pe_name);
		if (why)
			return refuse(err, why, (int)i);
		for (unsigned j = 0; j < i; j++)
			if (same_name(pe[i].pe_name, pe[j].pe_name))
				return refuse(err, "a name given twice", (int)i);
		uint64_t off = pe[i].pe_offset, size = pe[i].pe_size;
		if (size == 0)
			return refuse(err, "a program of 0 bytes", (int)i);
		if (off % PA_ALIGN)
			return refuse(err, "offset not a multiple of PA_ALIGN", (int)i);
		if (off < table_end)
			return refuse(err, "offset inside the header or table", (int)i);
		if (off > len || size > len - off)
			return refuse(err, "runs past the end", (int)i);
		if (off < prev_end)
			return refuse(err, "overlaps the one before or out of order", (int)i);
		if (!all_zero(base + prev_end, off - prev_end))
			return refuse(err, "non-zero bytes before it", (int)i);
		prev_end = off + size;
	}
	if (!all_zero(base + prev_end, len - prev_end))
		return refuse(err, "non-zero bytes after the last program", -1);
	for (unsigned i = 0; i < h->pa_count; i++) {
		out[i].name = pe[i].pe_name;
		out[i].start = base + pe[i].pe_offset;
		out[i].end = out[i].start + pe[i].pe_size;
	}
	*n = h->pa_count;
	return 0;
}
