/*
 * LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the longest
 * common subsequence of two string values, as Redis 7.0 answers it: the
 * subsequence itself, its length (LEN), or (IDX) the matching ranges of
 * both strings, last first, each [[a_start, a_end], [b_start, b_end]]
 * (and its length with WITHMATCHLEN), skipping ranges shorter than
 * MINMATCHLEN, then "len".
 *
 * The classic dynamic programme: a table of (len1 + 1) x (len2 + 1) 32-bit
 * cells, L[i][j] the LCS length of the first i and j bytes, then a walk back
 * from the far corner (on a tie it steps back in the second string, as
 * Redis does, so the same subsequence and ranges come out).
 *
 * Memory: the table is transient and refused, as Redis refuses it, when it
 * would be larger than proto-max-bulk-len ("Insufficient memory, transient
 * memory for LCS exceeds proto-max-bulk-len"), or when the runner has no
 * memory for it; a missing key is an empty string.
 */
#include <user/srv/kvd/engine.h>

struct lcs_range {
	uint32_t a0, a1, b0, b1; /* inclusive */
};

static void reply_range(struct kvd_client *c, const struct lcs_range *r, bool withlen)
{
	reply_array(c, withlen ? 3 : 2);
	reply_array(c, 2);
	reply_ll(c, r->a0);
	reply_ll(c, r->a1);
	reply_array(c, 2);
	reply_ll(c, r->b0);
	reply_ll(c, r->b1);
	if (withlen)
		reply_ll(c, (long long)r->a1 - r->a0 + 1);
}

static void cmd_lcs(struct kvd_client *c)
{
	struct kvd *kv = c->kv;
	struct obj *oa = db_lookup_read(c, &c->argv[1]);
	struct obj *ob = db_lookup_read(c, &c->argv[2]);
	if ((oa && oa->type != T_STRING) || (ob && ob->type != T_STRING)) {
		reply_error(c, "ERR The specified keys must contain string values");
		return;
	}
	bool getlen = false, getidx = false, withlen = false;
	long long minlen = 0;
	for (int j = 3; j < c->argc; j++) {
		if (arg_eq(&c->argv[j], "idx")) {
			getidx = true;
		} else if (arg_eq(&c->argv[j], "len")) {
			getlen = true;
		} else if (arg_eq(&c->argv[j], "withmatchlen")) {
			withlen = true;
		} else if (arg_eq(&c->argv[j], "minmatchlen") && j + 1 < c->argc) {
			if (!arg_ll(c, &c->argv[++j], &minlen))
				return;
			if (minlen < 0)
				minlen = 0;
		} else {
			reply_syntax(c);
			return;
		}
	}
	if (getlen && getidx) {
		reply_error(c, "ERR If you want both the length and indexes, please just use IDX.");
		return;
	}
	const unsigned char *a =
		oa ? (const unsigned char *)((struct sobj *)oa)->data : (const unsigned char *)"";
	const unsigned char *b =
		ob ? (const unsigned char *)((struct sobj *)ob)->data : (const unsigned char *)"";
	uint64_t alen = oa ? ((struct sobj *)oa)->len : 0, blen = ob ? ((struct sobj *)ob)->len : 0;
	uint64_t cells = (alen + 1) * (blen + 1); /* both below 2^32: no overflow */
	if (cells > (uint64_t)kv->cfg.proto_max_bulk_len / sizeof(uint32_t)) {
		reply_error(c, "ERR Insufficient memory, transient memory for LCS exceeds "
			       "proto-max-bulk-len");
		return;
	}
	size_t tsize = (size_t)cells * sizeof(uint32_t);
	uint32_t *t = mem_alloc(kv, tsize);
	if (!t) {
		reply_error(c,
			    "ERR Insufficient memory, failed allocating transient memory for LCS");
		return;
	}
#define L(i, j) t[(j) + (i) * (blen + 1)]
	for (uint64_t i = 0; i <= alen; i++)
		for (uint64_t j = 0; j <= blen; j++) {
			if (!i || !j)
				L(i, j) = 0;
			else if (a[i - 1] == b[j - 1])
				L(i, j) = L(i - 1, j - 1) + 1;
			else
				L(i, j) = L(i - 1, j) > L(i, j - 1) ? L(i - 1, j) : L(i, j - 1);
		}
	uint32_t total = L(alen, blen);
	if (getlen) {
		reply_ll(c, total);
		mem_free(kv, t, tsize);
		return;
	}
	char *res = mem_must(kv, (size_t)total + 1);
	size_t at = 0;
	long long nranges = 0;
	if (getidx) {
		reply_map(c, 2);
		reply_cstr(c, "matches");
		at = reply_defer(c);
	}
	/* walk back; a run of diagonal matches is one range */
	uint64_t i = alen, j = blen;
	uint32_t k = total;
	bool in_run = false;
	struct lcs_range r = { 0, 0, 0, 0 };
	while (i > 0 && j > 0) {
		bool emit = false;
		if (a[i - 1] == b[j - 1]) {
			res[--k] = (char)a[i - 1];
			if (!in_run) {
				r.a0 = r.a1 = (uint32_t)(i - 1);
				r.b0 = r.b1 = (uint32_t)(j - 1);
				in_run = true;
			} else {
				r.a0 = (uint32_t)(i - 1);
				r.b0 = (uint32_t)(j - 1);
			}
			emit = r.a0 == 0 || r.b0 == 0; /* the walk ends here */
			i--;
			j--;
		} else {
			if (L(i - 1, j) > L(i, j - 1))
				i--;
			else
				j--;
			emit = in_run;
		}
		if (emit) {
			if (getidx && (minlen == 0 || (long long)r.a1 - r.a0 + 1 >= minlen)) {
				reply_range(c, &r, withlen);
				nranges++;
			}
			in_run = false;
		}
	}
#undef L
	if (getidx) {
		reply_defer_array(c, at, nranges);
		reply_cstr(c, "len");
		reply_ll(c, total);
	} else {
		reply_bulk(c, res, total);
	}
	mem_free(kv, res, (size_t)total + 1);
	mem_free(kv, t, tsize);
}

struct cmd cmds_lcs[] = {
	{ "lcs", cmd_lcs, -3, CMD_READONLY, 1, 2, 1, "string", 0, 0 },
	{ NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, 0 },
};
