/*
 * Host tests for the boot archive's parser (kern/env/progarchive.c): the
 * archives tools/mkprograms.c writes are accepted with every program where
 * it was put; each way an archive can be malformed is refused with its
 * reason and entry; and seeded random corruption (bytes flipped, fields
 * set to edge values, the archive cut short) never makes the parser read
 * outside the archive (each is a malloc'd block of exactly its length,
 * under AddressSanitizer) nor accept programs that overlap, leave it or
 * carry bad names.
 */
#include "check.h"

#include <stdint.h>

/* progarchive.c uses no libc name: the host's serve */
#include <inc/error.h>
#include <kern/env/progarchive.h>
#include <common/xorshift.h>

#define MAXP 8

/* An archive being built: the header, the table, then the programs. */
struct arc {
	uint8_t *b;
	uint64_t len;
};

static struct pa_header *hdr(struct arc *a)
{
	return (struct pa_header *)a->b;
}

static struct pa_entry *ent(struct arc *a, unsigned i)
{
	return (struct pa_entry *)(a->b + sizeof(struct pa_header)) + i;
}

/* n programs named p0, p1, ... of sizes[i] bytes (byte value 'A' + i),
 * laid out as mkprograms does. */
static struct arc build(unsigned n, const uint64_t *sizes)
{
	uint64_t off = sizeof(struct pa_header) + n * sizeof(struct pa_entry), offs[64];
	for (unsigned i = 0; i < n; i++) {
		off = (off + PA_ALIGN - 1) / PA_ALIGN * PA_ALIGN;
		offs[i] = off;
		off += sizes[i];
	}
	struct arc a = { calloc(1, off ? off : 1), off };
	memcpy(hdr(&a)->pa_magic, PA_MAGIC, 8);
	hdr(&a)->pa_version = PA_VERSION;
	hdr(&a)->pa_count = n;
	hdr(&a)->pa_size = off;
	for (unsigned i = 0; i < n; i++) {
		snprintf(ent(&a, i)->pe_name, PA_NAME_LEN, "p%u", i);
		ent(&a, i)->pe_offset = offs[i];
		ent(&a, i)->pe_size = sizes[i];
		memset(a.b + offs[i], 'A' + (int)i, sizes[i]);
	}
	return a;
}

static struct arc build3(void)
{
	static const uint64_t sizes[] = { 5, 16, 100 };
	return build(3, sizes);
}

/* A copy of exactly len bytes (ASan catches a read past it). */
static int parse_len(struct arc *a, uint64_t len, struct program *out, unsigned *n,
		     struct pa_error *err)
{
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, a->b, len);
	int r = progarchive_parse(copy, len, out, MAXP, n, err);
	/* out points into copy: compare offsets, then let it go */
	for (unsigned i = 0; r == 0 && i < *n; i++) {
		out[i].start = a->b + (out[i].start - copy);
		out[i].end = a->b + (out[i].end - copy);
		out[i].name = (const char *)a->b + (out[i].name - (const char *)copy);
	}
	free(copy);
	return r;
}

static int parse(struct arc *a, struct pa_error *err)
{
	struct program out[MAXP];
	unsigned n;
	return parse_len(a, a->len, out, &n, err);
}

/* Refused, for the reason that contains why, about entry. */
static void check_refused(struct arc *a, const char *why, int entry, int line)
{
	struct pa_error err;
	int r = parse(a, &err);
	CHECK_MSG(r == -E_INVAL, "line %d: accepted (want: %s)", line, why);
	if (r == -E_INVAL) {
		CHECK_MSG(err.pa_why && strstr(err.pa_why, why),
			  "line %d: refused for '%s', want '%s'", line,
			  err.pa_why ? err.pa_why : "(null)", why);
		CHECK_MSG(err.pa_entry == entry, "line %d: entry %d, want %d", line, err.pa_entry,
			  entry);
	}
	free(a->b);
}
#define REFUSED(a, why, entry) check_refused(&(a), why, entry, __LINE__)

TEST(progarchive, valid)
{
	struct arc a = build3();
	struct program out[MAXP];
	unsigned n = 99;
	struct pa_error err;
	CHECK_EQ(parse_len(&a, a.len, out, &n, &err), 0);
	CHECK_EQ(n, 3);
	for (unsigned i = 0; i < n; i++) {
		char name[16];
		snprintf(name, sizeof(name), "p%u", i);
		CHECK_STREQ(out[i].name, name);
		CHECK_EQ(out[i].start, a.b + ent(&a, i)->pe_offset);
		CHECK_EQ(out[i].end - out[i].start, ent(&a, i)->pe_size);
		CHECK_EQ((uintptr_t)out[i].start % PA_ALIGN, 0);
		CHECK_EQ(out[i].start[0], 'A' + i);
	}
	free(a.b);
}

TEST(progarchive, valid_edges)
{
	/* one program of one byte; a 31-character name with every kind of
	 * character; exactly as many entries as the caller has room for */
	uint64_t one = 1;
	struct arc a = build(1, &one);
	memset(ent(&a, 0)->pe_name, 0, PA_NAME_LEN);
	memcpy(ent(&a, 0)->pe_name, "azAZ09_.-xxxxxxxxxxxxxxxxxxxxxx", 31);
	struct pa_error err;
	CHECK_EQ(parse(&a, &err), 0);
	free(a.b);
	uint64_t sizes[MAXP + 1];
	for (unsigned i = 0; i <= MAXP; i++)
		sizes[i] = 1 + i * 7;
	a = build(MAXP, sizes);
	CHECK_EQ(parse(&a, &err), 0);
	free(a.b);
	a = build(MAXP + 1, sizes);
	REFUSED(a, "more programs than", -1);
	/* wider gaps than PA_ALIGN needs are fine if they are zero */
	a = build3();
	uint8_t *b = calloc(1, a.len + 64);
	memcpy(b, a.b, ent(&a, 2)->pe_offset);
	memcpy(b + ent(&a, 2)->pe_offset + 64, a.b + ent(&a, 2)->pe_offset, 100);
	free(a.b);
	a.b = b;
	a.len += 64;
	hdr(&a)->pa_size = a.len;
	ent(&a, 2)->pe_offset += 64;
	CHECK_EQ(parse(&a, &err), 0);
	free(a.b);
}

TEST(progarchive, header)
{
	struct pa_error err;
	struct program out[MAXP];
	unsigned n;
	struct arc a = build3();
	for (uint64_t len = 0; len < sizeof(struct pa_header); len++)
		CHECK_EQ(parse_len(&a, len, out, &n, &err), -E_INVAL);
	CHECK_EQ(progarchive_parse(NULL, 100, out, MAXP, &n, &err), -E_INVAL);
	CHECK_EQ(progarchive_parse(a.b + 1, a.len - 1, out, MAXP, &n, &err), -E_INVAL);
	CHECK(strstr(err.pa_why, "aligned"));
	free(a.b);

	a = build3();
	hdr(&a)->pa_magic[7] = 'Z';
	REFUSED(a, "magic", -1);
	a = build3();
	hdr(&a)->pa_version = 2;
	REFUSED(a, "version", -1);
	a = build3();
	hdr(&a)->pa_size--;
	REFUSED(a, "size", -1);
	a = build3();
	hdr(&a)->pa_size++;
	REFUSED(a, "size", -1);
	a = build3();
	hdr(&a)->pa_count = 0;
	REFUSED(a, "no programs", -1);
	a = build3();
	hdr(&a)->pa_count = UINT32_MAX;
	REFUSED(a, "more programs than", -1);
	/* a count the caller has room for, but whose table is longer than
	 * the archive */
	uint64_t one = 1;
	a = build(1, &one);
	hdr(&a)->pa_count = MAXP;
	REFUSED(a, "table runs past", -1);
}

TEST(progarchive, names)
{
	struct arc a = build3();
	ent(&a, 1)->pe_name[0] = 0;
	REFUSED(a, "empty name", 1);
	a = build3();
	memset(ent(&a, 2)->pe_name, 'x', PA_NAME_LEN);
	REFUSED(a, "not NUL-terminated", 2);
	a = build3();
	ent(&a, 0)->pe_name[5] = 'q'; /* "p0\0\0\0q" */
	REFUSED(a, "not NUL-padded", 0);
	static const char bad[] = { '/', ' ', '*', '\n', (char)0x80, '~' };
	for (unsigned i = 0; i < sizeof(bad); i++) {
		a = build3();
		ent(&a, 1)->pe_name[1] = bad[i];
		REFUSED(a, "character outside", 1);
	}
	a = build3();
	ent(&a, 2)->pe_name[1] = '0'; /* "p0" again */
	REFUSED(a, "twice", 2);
}

TEST(progarchive, placement)
{
	struct arc a = build3();
	ent(&a, 1)->pe_size = 0;
	REFUSED(a, "0 bytes", 1);
	a = build3();
	ent(&a, 1)->pe_offset += 8;
	REFUSED(a, "PA_ALIGN", 1);
	a = build3();
	ent(&a, 0)->pe_offset = 0; /* over the header */
	REFUSED(a, "inside the header or table", 0);
	a = build3();
	ent(&a, 0)->pe_offset = 16; /* in the table */
	REFUSED(a, "inside the header or table", 0);
	a = build3();
	ent(&a, 2)->pe_size++;
	REFUSED(a, "past the end", 2);
	a = build3();
	ent(&a, 2)->pe_offset = (a.len / PA_ALIGN + 4) * PA_ALIGN;
	REFUSED(a, "past the end", 2);
	a = build3();
	ent(&a, 2)->pe_size = UINT64_MAX; /* offset + size wraps */
	REFUSED(a, "past the end", 2);
	a = build3();
	ent(&a, 2)->pe_offset = UINT64_MAX - 15;
	REFUSED(a, "past the end", 2);
	a = build3();
	ent(&a, 1)->pe_offset = ent(&a, 0)->pe_offset; /* overlaps p0 */
	REFUSED(a, "overlaps", 1);
	a = build3();
	uint64_t t = ent(&a, 1)->pe_offset; /* p1 and p2 swapped in the table */
	memset(a.b + t, 0, 16); /* (p1's bytes would be a non-zero gap first) */
	ent(&a, 1)->pe_offset = ent(&a, 2)->pe_offset;
	ent(&a, 1)->pe_size = ent(&a, 2)->pe_size;
	ent(&a, 2)->pe_offset = t;
	ent(&a, 2)->pe_size = 16;
	REFUSED(a, "overlaps the one before or out of order", 2);
}

TEST(progarchive, gaps)
{
	struct arc a = build3();
	a.b[ent(&a, 0)->pe_offset + 5] = 1; /* between p0 (5 bytes) and p1 */
	REFUSED(a, "non-zero bytes before", 1);
	a = build3();
	a.b[sizeof(struct pa_header) + 3 * sizeof(struct pa_entry)] = 1; /* table to p0 */
	REFUSED(a, "non-zero bytes before", 0);
	/* trailing bytes: a longer archive whose size says so */
	a = build3();
	a.b = realloc(a.b, a.len + 8);
	memset(a.b + a.len, 0, 8);
	a.len += 8;
	hdr(&a)->pa_size = a.len;
	struct pa_error err;
	CHECK_EQ(parse(&a, &err), 0); /* zeros at the end are padding */
	a.b[a.len - 1] = 7;
	REFUSED(a, "after the last program", -1);
}

/* What any accepted archive must satisfy, whatever it was made from. */
static void check_sound(const uint8_t *b, uint64_t len, const struct program *out, unsigned n)
{
	const uint8_t *prev = b + sizeof(struct pa_header);
	for (unsigned i = 0; i < n; i++) {
		CHECK(out[i].start >= prev && out[i].start < out[i].end && out[i].end <= b + len);
		CHECK((const uint8_t *)out[i].name >= b && (const uint8_t *)out[i].name < b + len);
		size_t nl = strnlen(out[i].name, PA_NAME_LEN);
		CHECK(nl > 0 && nl < PA_NAME_LEN);
		for (unsigned j = 0; j < i; j++)
			CHECK(strcmp(out[i].name, out[j].name) != 0);
		prev = out[i].end;
	}
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
	return xorshift64(&rng);
}

TEST(progarchive, random_corruption)
{
	/* 20,000 damaged copies of a valid archive: the parse must end,
	 * read nothing outside (ASan), and whatever it accepts is sound. */
	static const uint64_t sizes[] = { 1, 40, 17, 300, 64 };
	struct arc base = build(5, sizes);
	unsigned accepted = 0;
	static const uint64_t edges[] = { 0,          1,          15,
					  16,         24,         120,
					  UINT32_MAX, UINT64_MAX, UINT64_MAX - 15 };
	for (int iter = 0; iter < 20000; iter++) {
		uint64_t len = base.len;
		uint8_t *b = malloc(len);
		memcpy(b, base.b, len);
		unsigned k = 1 + next() % 4;
		for (unsigned j = 0; j < k; j++) {
			switch (next() % 4) {
			case 0: /* a byte anywhere */
				b[next() % len] ^= (uint8_t)(1 + next() % 255);
				break;
			case 1: /* a header or table field to an edge value */
			{
				uint64_t at =
					(next() %
					 ((sizeof(struct pa_header) + 5 * sizeof(struct pa_entry)) /
					  8)) *
					8;
				uint64_t v = edges[next() % (sizeof(edges) / sizeof(edges[0]))];
				memcpy(b + at, &v, 8);
				break;
			}
			case 2: /* cut short */ len = next() % len + 1; break;
			default: /* a field moved a little */
			{
				uint64_t at =
					(next() %
					 ((sizeof(struct pa_header) + 5 * sizeof(struct pa_entry)) /
					  8)) *
					8;
				uint64_t v;
				memcpy(&v, b + at, 8);
				v += (next() % 65) - 32;
				memcpy(b + at, &v, 8);
			}
			}
		}
		uint8_t *exact = malloc(len);
		memcpy(exact, b, len);
		free(b);
		struct program out[MAXP];
		unsigned n = 0;
		struct pa_error err;
		int r = progarchive_parse(exact, len, out, MAXP, &n, &err);
		if (r == 0) {
			accepted++;
			check_sound(exact, len, out, n);
		} else {
			CHECK_EQ(r, -E_INVAL);
			CHECK(n == 0 && err.pa_why != NULL);
		}
		free(exact);
	}
	/* some damage is harmless (a byte inside a program): the parser must
	 * accept those, not refuse everything */
	CHECK(accepted > 100);
	free(base.b);
}
