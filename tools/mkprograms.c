/*
 * mkprograms: write a program archive (inc/progarchive.h, doc/boot.md), the
 * boot module the kernel starts its programs from.
 *
 *   mkprograms OUT FILE...
 *
 * Each FILE becomes one entry named after its last path component, in the
 * order given. The kernel refuses an archive it cannot trust, so this tool
 * refuses to write one: a name too long, empty or with a character outside
 * [A-Za-z0-9_.-], a name given twice, an empty file, more than
 * PA_MAX_PROGS files. OUT is written whole under a temporary name and
 * renamed, so a failed run leaves no half archive.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <inc/progarchive.h>

static const char *prog = "mkprograms";

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static void check_name(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len >= PA_NAME_LEN)
		die("'%s': a name must have 1 to 31 characters", name);
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			die("'%s': a name may hold only [A-Za-z0-9_.-]", name);
	}
}

/* The whole file, or exit. */
static unsigned char *slurp(const char *path, uint64_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("%s: cannot open", path);
	size_t cap = 1 << 16, n = 0;
	unsigned char *buf = malloc(cap);
	for (;;) {
		if (!buf)
			die("%s: out of memory", path);
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		cap *= 2;
		buf = realloc(buf, cap);
	}
	if (ferror(f))
		die("%s: read error", path);
	fclose(f);
	if (n == 0)
		die("%s: empty file", path);
	*size = n;
	return buf;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s OUT FILE...\n", prog);
		return 2;
	}
	const char *out = argv[1];
	unsigned count = (unsigned)(argc - 2);
	if (count > PA_MAX_PROGS)
		die("%s: more programs than PA_MAX_PROGS", out);
	struct pa_entry *ent = calloc(count, sizeof(*ent));
	unsigned char **data = calloc(count, sizeof(*data));
	if (!ent || !data)
		die("%s: out of memory", out);
	uint64_t off = sizeof(struct pa_header) + (uint64_t)count * sizeof(struct pa_entry);
	for (unsigned i = 0; i < count; i++) {
		const char *path = argv[i + 2], *name = base_name(path);
		check_name(name);
		for (unsigned j = 0; j < i; j++)
			if (strcmp(ent[j].pe_name, name) == 0)
				die("'%s': two programs of this name", name);
		strncpy(ent[i].pe_name, name, PA_NAME_LEN); /* NUL-pads the rest */
		data[i] = slurp(path, &ent[i].pe_size);
		off = (off + PA_ALIGN - 1) / PA_ALIGN * PA_ALIGN;
		ent[i].pe_offset = off;
		off += ent[i].pe_size;
	}
	if (off > PA_MAX_SIZE)
		die("%s: larger than PA_MAX_SIZE", out);
	struct pa_header h = { .pa_version = PA_VERSION, .pa_count = count, .pa_size = off };
	memcpy(h.pa_magic, PA_MAGIC, sizeof(h.pa_magic));

	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", out) >= (int)sizeof(tmp))
		die("%s: path too long", out);
	FILE *f = fopen(tmp, "wb");
	if (!f)
		die("%s: cannot create", tmp);
	uint64_t at = 0;
	static const unsigned char zeros[PA_ALIGN];
	int ok = fwrite(&h, sizeof(h), 1, f) == 1 && fwrite(ent, sizeof(*ent), count, f) == count;
	at = sizeof(h) + (uint64_t)count * sizeof(*ent);
	for (unsigned i = 0; ok && i < count; i++) {
		ok = fwrite(zeros, 1, ent[i].pe_offset - at, f) == ent[i].pe_offset - at &&
		     fwrite(data[i], 1, ent[i].pe_size, f) == ent[i].pe_size;
		at = ent[i].pe_offset + ent[i].pe_size;
	}
	if (fclose(f) != 0 || !ok) {
		remove(tmp);
		die("%s: write error", tmp);
	}
	if (rename(tmp, out) != 0) {
		remove(tmp);
		die("%s: cannot rename into place", out);
	}
	return 0;
}
