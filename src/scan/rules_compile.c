/*
 * rules_compile - turn a rule list into matchers: one Hyperscan database per target (and per
 * header name), PCRE2 for what Hyperscan refuses, and an on-disk cache of the databases.
 *
 * Every pattern is compiled with PCRE2 first: PCRE2 syntax is the language of the rule files,
 * and a pattern PCRE2 refuses is an error. Hyperscan then takes as many of a group as it can;
 * when it names a pattern it cannot take, that one moves to PCRE2 and the rest is compiled
 * again. The cache file holds which patterns went to Hyperscan and the serialised database,
 * under a SHA-256 of the group's patterns, flags and the Hyperscan version.
 */
#include "scan/rules.h"

#include "core/fsutil.h"
#include "core/log.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <hs/hs.h>
#include <openssl/evp.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RULES_CACHE_MAGIC "MXRULES1"
/* A cache file bigger than this is not ours. */
#define RULES_CACHE_MAX (256u * 1024 * 1024)

struct rule_pcre {
	unsigned rule;      /* index into set->rules */
	pcre2_code *code;
};

struct rule_group {
	enum rule_target target;
	const char *header; /* points into a rule */
	hs_database_t *db;
	unsigned *hs_rule;  /* Hyperscan expression id -> rule index */
	size_t nhs;
	struct rule_pcre *pc;
	size_t npc;
};

struct rule_set {
	struct rule *rules;
	size_t n;
	struct rule_group *g;
	size_t ng;
	hs_scratch_t *scratch;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	unsigned char *hit;
	int from_cache;
	size_t npcre;
};

size_t rule_set_count(const struct rule_set *s)
{
	return s->n;
}

size_t rule_set_pcre_count(const struct rule_set *s)
{
	return s->npcre;
}

int rule_set_from_cache(const struct rule_set *s)
{
	return s->from_cache;
}

void rule_set_free(struct rule_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->ng; i++) {
		struct rule_group *g = &s->g[i];

		hs_free_database(g->db);
		free(g->hs_rule);
		for (size_t j = 0; j < g->npc; j++)
			pcre2_code_free(g->pc[j].code);
		free(g->pc);
	}
	free(s->g);
	for (size_t i = 0; i < s->n; i++)
		free(s->rules[i].pattern);
	free(s->rules);
	hs_free_scratch(s->scratch);
	pcre2_match_data_free(s->md);
	pcre2_match_context_free(s->mctx);
	free(s->hit);
	free(s);
}

static unsigned hs_flags(unsigned f)
{
	unsigned h = HS_FLAG_SINGLEMATCH;

	if (f & RULE_F_CASELESS)
		h |= HS_FLAG_CASELESS;
	if (f & RULE_F_DOTALL)
		h |= HS_FLAG_DOTALL;
	if (f & RULE_F_MULTILINE)
		h |= HS_FLAG_MULTILINE;
	return h;
}

static pcre2_code *pcre_compile_rule(const struct rule *r, char *err, size_t errsz)
{
	uint32_t opt = 0;
	int ec;
	PCRE2_SIZE off;
	pcre2_code *c;

	if (r->flags & RULE_F_CASELESS)
		opt |= PCRE2_CASELESS;
	if (r->flags & RULE_F_DOTALL)
		opt |= PCRE2_DOTALL;
	if (r->flags & RULE_F_MULTILINE)
		opt |= PCRE2_MULTILINE;
	c = pcre2_compile((PCRE2_SPTR)r->pattern, PCRE2_ZERO_TERMINATED, opt, &ec, &off, NULL);
	if (c == NULL) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(ec, msg, sizeof msg);
		snprintf(err, errsz, "%s:%u: rule %s: bad pattern at offset %zu: %s", r->file,
			 r->line, r->name, (size_t)off, (const char *)msg);
		return NULL;
	}
	pcre2_jit_compile(c, PCRE2_JIT_COMPLETE); /* optional: falls back to the interpreter */
	return c;
}

static void group_key(const struct rule_set *s, const unsigned *idx, size_t n, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const char *v = hs_version();

	hex[0] = '\0';
	if (ctx == NULL)
		return;
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, RULES_CACHE_MAGIC, sizeof RULES_CACHE_MAGIC);
	EVP_DigestUpdate(ctx, v, strlen(v) + 1);
	for (size_t i = 0; i < n; i++) {
		const struct rule *r = &s->rules[idx[i]];
		unsigned f = hs_flags(r->flags);

		EVP_DigestUpdate(ctx, &f, sizeof f);
		EVP_DigestUpdate(ctx, r->pattern, strlen(r->pattern) + 1);
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; i < 32 && i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* Cache file: magic, u32 nhs, u32 positions[nhs] (into the group's list), database bytes. */
static int cache_load(const char *path, size_t n, struct rule_group *g, const unsigned *idx)
{
	size_t len, off = sizeof RULES_CACHE_MAGIC - 1;
	char *p = fs_read_file(path, RULES_CACHE_MAX, &len);
	uint32_t nhs;
	int r = -EINVAL;

	if (p == NULL)
		return -errno;
	if (len < off + 4 || memcmp(p, RULES_CACHE_MAGIC, off) != 0)
		goto out;
	memcpy(&nhs, p + off, 4);
	off += 4;
	if (nhs == 0 || nhs > n || len < off + 4ul * nhs)
		goto out;
	g->hs_rule = malloc(nhs * sizeof *g->hs_rule);
	if (g->hs_rule == NULL)
		goto out;
	for (uint32_t i = 0; i < nhs; i++) {
		uint32_t pos;

		memcpy(&pos, p + off + 4ul * i, 4);
		if (pos >= n)
			goto out;
		g->hs_rule[i] = idx[pos];
	}
	off += 4ul * nhs;
	if (hs_deserialize_database(p + off, len - off, &g->db) != HS_SUCCESS)
		goto out;
	g->nhs = nhs;
	r = 0;
out:
	if (r < 0) {
		free(g->hs_rule);
		g->hs_rule = NULL;
		g->db = NULL;
	}
	free(p);
	return r;
}

static void cache_save(const char *path, const struct rule_group *g, const unsigned *idx, size_t n)
{
	char *bytes = NULL, *p = NULL;
	size_t blen = 0, off = sizeof RULES_CACHE_MAGIC - 1, len;
	uint32_t nhs = (uint32_t)g->nhs;
	int r;

	if (hs_serialize_database(g->db, &bytes, &blen) != HS_SUCCESS)
		return;
	len = off + 4 + 4 * g->nhs + blen;
	p = malloc(len);
	if (p == NULL)
		goto out;
	memcpy(p, RULES_CACHE_MAGIC, off);
	memcpy(p + off, &nhs, 4);
	off += 4;
	for (size_t i = 0; i < g->nhs; i++) {
		uint32_t pos = 0;

		while (pos < n && idx[pos] != g->hs_rule[i])
			pos++;
		memcpy(p + off + 4 * i, &pos, 4);
	}
	off += 4 * g->nhs;
	memcpy(p + off, bytes, blen);
	if ((r = fs_write_atomic(path, p, len, 0644)) < 0)
		log_debug("rules: cache %s not written: %s", path, strerror(-r));
out:
	free(p);
	free(bytes);
}

/* Compile the Hyperscan part of a group (idx: its rules). Refused patterns are left out. */
static int group_compile_hs(struct rule_set *s, struct rule_group *g, const unsigned *idx,
			    size_t n)
{
	const char **pat = malloc(n * sizeof *pat);
	unsigned *flags = malloc(n * sizeof *flags), *ids = malloc(n * sizeof *ids);
	size_t m = 0;
	int r = -ENOMEM;

	g->hs_rule = malloc(n * sizeof *g->hs_rule);
	if (pat == NULL || flags == NULL || ids == NULL || g->hs_rule == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)
		g->hs_rule[m++] = idx[i];
	while (m > 0) {
		hs_compile_error_t *cerr = NULL;

		for (size_t i = 0; i < m; i++) {
			pat[i] = s->rules[g->hs_rule[i]].pattern;
			flags[i] = hs_flags(s->rules[g->hs_rule[i]].flags);
			ids[i] = (unsigned)i;
		}
		if (hs_compile_multi(pat, flags, ids, (unsigned)m, HS_MODE_BLOCK, NULL, &g->db,
				     &cerr) == HS_SUCCESS)
			break;
		int bad = cerr ? cerr->expression : -1;

		if (bad < 0 || (size_t)bad >= m) {
			log_warn("rules: hyperscan: %s (all of target %s to PCRE2)",
				 cerr ? cerr->message : "?", rule_target_name(g->target));
			m = 0;
		} else {
			log_debug("rules: %s to PCRE2: %s", s->rules[g->hs_rule[bad]].name,
				  cerr->message);
			memmove(&g->hs_rule[bad], &g->hs_rule[bad + 1],
				(m - (size_t)bad - 1) * sizeof *g->hs_rule);
			m--;
		}
		hs_free_compile_error(cerr);
		g->db = NULL;
	}
	g->nhs = m;
	r = 0;
out:
	free(pat);
	free(flags);
	free(ids);
	return r;
}

static int group_build(struct rule_set *s, struct rule_group *g, const unsigned *idx, size_t n,
		       pcre2_code **codes, const char *cache_dir, int *cached)
{
	char path[1200], hex[65];
	int r;

	path[0] = '\0';
	*cached = 0;
	if (cache_dir) {
		group_key(s, idx, n, hex);
		snprintf(path, sizeof path, "%s/rules-%s.hsdb", cache_dir, hex);
		if (hex[0] && cache_load(path, n, g, idx) == 0)
			*cached = 1;
	}
	if (!*cached) {
		if ((r = group_compile_hs(s, g, idx, n)) < 0)
			return r;
		if (g->db && path[0])
			cache_save(path, g, idx, n);
	}
	g->pc = calloc(n, sizeof *g->pc);
	if (g->pc == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int in_hs = 0;

		for (size_t j = 0; j < g->nhs && !in_hs; j++)
			in_hs = g->hs_rule[j] == idx[i];
		if (in_hs) {
			pcre2_code_free(codes[idx[i]]);
		} else {
			g->pc[g->npc].rule = idx[i];
			g->pc[g->npc++].code = codes[idx[i]];
			s->npcre++;
		}
		codes[idx[i]] = NULL;
	}
	if (g->db && hs_alloc_scratch(g->db, &s->scratch) != HS_SUCCESS)
		return -ENOMEM;
	return 0;
}

static int same_group(const struct rule *a, const struct rule *b)
{
	return a->target == b->target && (a->target != RULE_T_HEADER || strcmp(a->header, b->header) == 0);
}

struct rule_set *rule_set_build(struct rule_list *l, const char *cache_dir, char *err,
				size_t errsz)
{
	struct rule_set *s = calloc(1, sizeof *s);
	pcre2_code **codes = NULL;
	unsigned *idx = NULL;
	unsigned char *done = NULL;
	int all_cached = 1;

	if (s == NULL)
		goto nomem;
	s->rules = l->v;
	s->n = l->n;
	l->v = NULL;
	l->n = l->cap = 0;
	codes = calloc(s->n + 1, sizeof *codes);
	idx = malloc((s->n + 1) * sizeof *idx);
	done = calloc(s->n + 1, 1);
	s->hit = calloc(s->n + 1, 1);
	s->g = calloc(s->n + 1, sizeof *s->g);
	s->md = pcre2_match_data_create(1, NULL);
	s->mctx = pcre2_match_context_create(NULL);
	if (!codes || !idx || !done || !s->hit || !s->g || !s->md || !s->mctx)
		goto nomem;
	pcre2_set_match_limit(s->mctx, RULE_PCRE_MATCH_LIMIT);
	for (size_t i = 0; i < s->n; i++)
		if ((codes[i] = pcre_compile_rule(&s->rules[i], err, errsz)) == NULL)
			goto fail;
	for (size_t i = 0; i < s->n; i++) {
		struct rule_group *g;
		size_t n = 0;
		int cached;

		if (done[i])
			continue;
		for (size_t j = i; j < s->n; j++)
			if (!done[j] && same_group(&s->rules[i], &s->rules[j])) {
				idx[n++] = (unsigned)j;
				done[j] = 1;
			}
		g = &s->g[s->ng++];
		g->target = s->rules[i].target;
		g->header = s->rules[i].header;
		if (group_build(s, g, idx, n, codes, cache_dir, &cached) < 0)
			goto nomem;
		all_cached &= cached;
	}
	s->from_cache = s->ng > 0 && all_cached;
	free(codes);
	free(idx);
	free(done);
	return s;
nomem:
	snprintf(err, errsz, "out of memory compiling rules");
fail:
	if (codes && s)
		for (size_t i = 0; i < s->n; i++)
			pcre2_code_free(codes[i]);
	free(codes);
	free(idx);
	free(done);
	rule_set_free(s);
	return NULL;
}

struct hs_ctx {
	struct rule_set *s;
	const struct rule_group *g;
};

static int on_hs_match(unsigned id, unsigned long long from, unsigned long long to,
		       unsigned flags, void *arg)
{
	struct hs_ctx *c = arg;

	if (id < c->g->nhs)
		c->s->hit[c->g->hs_rule[id]] = 1;
	return 0;
}

static void group_scan(struct rule_set *s, const struct rule_group *g, const char *p, size_t len)
{
	struct hs_ctx c = {s, g};

	if (p == NULL) {
		p = "";
		len = 0;
	}
	if (g->db)
		hs_scan(g->db, p, (unsigned)(len > UINT32_MAX ? UINT32_MAX : len), 0, s->scratch,
			on_hs_match, &c);
	for (size_t i = 0; i < g->npc; i++)
		if (!s->hit[g->pc[i].rule] &&
		    pcre2_match(g->pc[i].code, (PCRE2_SPTR)p, len, 0, 0, s->md, s->mctx) >= 0)
			s->hit[g->pc[i].rule] = 1;
}

int rule_set_match(struct rule_set *s, const struct rule_input *in,
		   void (*hit)(void *arg, const struct rule *r), void *arg)
{
	memset(s->hit, 0, s->n);
	for (size_t i = 0; i < s->ng; i++) {
		const struct rule_group *g = &s->g[i];

		switch (g->target) {
		case RULE_T_BODY:
			group_scan(s, g, in->body, in->body_len);
			break;
		case RULE_T_RAWBODY:
			group_scan(s, g, in->rawbody, in->rawbody_len);
			break;
		case RULE_T_FULL:
			group_scan(s, g, in->full, in->full_len);
			break;
		case RULE_T_URI:
			group_scan(s, g, in->uris, in->uris_len);
			break;
		case RULE_T_HEADER:
			/* the first letters first: strcasecmp for every header of every message
			 * and every header group, nearly all of them different names */
			for (size_t h = 0; h < in->nheaders; h++)
				if ((in->hname[h][0] | 0x20) == (g->header[0] | 0x20) &&
				    strcasecmp(in->hname[h], g->header) == 0)
					group_scan(s, g, in->hvalue[h], strlen(in->hvalue[h]));
			break;
		}
	}
	for (size_t i = 0; i < s->n; i++)
		if (s->hit[i])
			hit(arg, &s->rules[i]);
	return 0;
}
