/*
 * auth_dkim - DKIM verification (see auth_dkim.h). Signatures and keys are outside input: the
 * tag-list parsers are fuzzed (fuzz_dns for keys, fuzz_dkim for DKIM-Signature values).
 * Canonical forms are built in bufs capped at the message size plus a little (a canonical
 * header or body is never longer than the original plus one CRLF per bare LF).
 */
#include "scan/auth_dkim.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* RFC 8301 3.2: verifiers must not accept RSA keys under 1024 bits. */
#define DKIM_RSA_MIN_BITS 1024
/* Header fields are at most this long to be canonicalised (a bigger one is not a signature
 * anyone made for real mail; it is refused rather than copied). */
#define DKIM_FIELD_MAX (64 * 1024)

const char *dkim_status_name(enum dkim_status s)
{
	static const char *const n[] = {"pass", "fail", "temperror", "permerror"};
	return (unsigned)s < 4 ? n[s] : "?";
}

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}
static int is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A copy of (p, n) without any folding whitespace (b=, bh=, p= values). */
static const char *dkim_nows(struct arena *a, const char *p, size_t n)
{
	char *o = arena_alloc(a, n + 1);
	size_t k = 0;

	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!is_fws(p[i]))
			o[k++] = p[i];
	o[k] = '\0';
	return o;
}

/* Walk a tag-list: calls fn for each tag with trimmed name and value. -EINVAL on bad syntax. */
typedef int (*dkim_tag_fn)(void *ctx, const char *k, size_t kn, const char *v, size_t vn);

static int dkim_tags(const char *p, size_t len, dkim_tag_fn fn, void *ctx)
{
	const char *e = p + len;

	while (p < e) {
		const char *semi = memchr(p, ';', (size_t)(e - p));
		const char *end = semi ? semi : e, *eq, *k = p, *v;
		size_t kn, vn;

		p = semi ? semi + 1 : e;
		eq = memchr(k, '=', (size_t)(end - k));
		if (!eq) {
			while (k < end && is_fws(*k))
				k++;
			if (k == end && (semi == NULL || p == e))
				return 0; /* trailing ';' */
			if (k == end)
				continue;
			return -EINVAL;
		}
		while (k < eq && is_fws(*k))
			k++;
		kn = (size_t)(eq - k);
		while (kn && is_fws(k[kn - 1]))
			kn--;
		v = eq + 1;
		while (v < end && is_fws(*v))
			v++;
		vn = (size_t)(end - v);
		while (vn && is_fws(v[vn - 1]))
			vn--;
		if (kn == 0)
			return -EINVAL;
		for (size_t i = 0; i < kn; i++)
			if (!isalnum((unsigned char)k[i]) && k[i] != '_')
				return -EINVAL;
		if (fn(ctx, k, kn, v, vn) < 0)
			return -EINVAL;
	}
	return 0;
}

static int tag_is(const char *k, size_t kn, const char *name)
{
	return strlen(name) == kn && memcmp(k, name, kn) == 0;
}

struct sig_ctx {
	struct arena *a;
	struct dkim_sig *s;
	unsigned seen; /* bit per known tag, for duplicates */
	int v, alg, ok_c;
	const char *why;
};

static int dkim_u64(const char *v, size_t vn, uint64_t *out)
{
	uint64_t x = 0;

	if (vn == 0 || vn > 12)
		return -EINVAL;
	for (size_t i = 0; i < vn; i++) {
		if (!isdigit((unsigned char)v[i]))
			return -EINVAL;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return 0;
}

static int sig_tag(void *vctx, const char *k, size_t kn, const char *v, size_t vn)
{
	static const char *const known[] = {"v", "a", "b", "bh", "c", "d", "h",
	                                    "i", "l", "q", "s",  "t", "x", "z"};
	struct sig_ctx *c = vctx;
	struct dkim_sig *s = c->s;
	uint64_t u;

	for (unsigned i = 0; i < sizeof known / sizeof known[0]; i++)
		if (tag_is(k, kn, known[i])) {
			if (c->seen & (1u << i)) {
				c->why = "duplicate tag";
				return -EINVAL;
			}
			c->seen |= 1u << i;
		}
	if (tag_is(k, kn, "v")) {
		c->v = vn == 1 && v[0] == '1';
	} else if (tag_is(k, kn, "a")) {
		if (vn == 10 && strncasecmp(v, "rsa-sha256", 10) == 0)
			s->alg = DKIM_RSA_SHA256;
		else if (vn == 14 && strncasecmp(v, "ed25519-sha256", 14) == 0)
			s->alg = DKIM_ED25519_SHA256;
		else {
			c->why = "unsupported algorithm";
			return -EINVAL;
		}
		c->alg = 1;
	} else if (tag_is(k, kn, "b")) {
		s->b = dkim_nows(c->a, v, vn);
	} else if (tag_is(k, kn, "bh")) {
		s->bh = dkim_nows(c->a, v, vn);
	} else if (tag_is(k, kn, "c")) {
		const char *sl = memchr(v, '/', vn);
		size_t hn = sl ? (size_t)(sl - v) : vn, bn = sl ? vn - hn - 1 : 0;
		if (hn == 7 && strncmp(v, "relaxed", 7) == 0)
			s->hdr_relaxed = 1;
		else if (!(hn == 6 && strncmp(v, "simple", 6) == 0))
			goto badc;
		if (sl) {
			if (bn == 7 && strncmp(sl + 1, "relaxed", 7) == 0)
				s->body_relaxed = 1;
			else if (!(bn == 6 && strncmp(sl + 1, "simple", 6) == 0))
				goto badc;
		}
	} else if (tag_is(k, kn, "d")) {
		s->d = arena_strndup(c->a, v, vn);
	} else if (tag_is(k, kn, "s")) {
		s->s = arena_strndup(c->a, v, vn);
	} else if (tag_is(k, kn, "i")) {
		s->i = arena_strndup(c->a, v, vn);
	} else if (tag_is(k, kn, "h")) {
		const char *p = v, *e = v + vn;
		while (p < e) {
			const char *colon = memchr(p, ':', (size_t)(e - p));
			const char *q = colon ? colon : e, *st = p;
			size_t n;
			while (st < q && is_fws(*st))
				st++;
			n = (size_t)(q - st);
			while (n && is_fws(st[n - 1]))
				n--;
			if (n == 0 || s->nh >= DKIM_MAX_H) {
				c->why = n == 0 ? "empty name in h=" : "too many names in h=";
				return -EINVAL;
			}
			s->h[s->nh++] = arena_strndup(c->a, st, n);
			p = colon ? colon + 1 : e;
		}
	} else if (tag_is(k, kn, "l")) {
		if (dkim_u64(v, vn, &u) < 0)
			return -EINVAL;
		s->has_l = 1;
		s->l = u;
	} else if (tag_is(k, kn, "t")) {
		if (dkim_u64(v, vn, &u) < 0)
			return -EINVAL;
		s->t = (int64_t)u;
	} else if (tag_is(k, kn, "x")) {
		if (dkim_u64(v, vn, &u) < 0)
			return -EINVAL;
		s->x = (int64_t)u;
	} else if (tag_is(k, kn, "q")) {
		if (!(vn >= 7 && strncmp(v, "dns/txt", 7) == 0)) {
			c->why = "unsupported q=";
			return -EINVAL;
		}
	}
	return 0;
badc:
	c->why = "bad c=";
	return -EINVAL;
}

int dkim_sig_parse(const char *p, size_t len, struct arena *a, struct dkim_sig *out,
                   const char **why)
{
	struct sig_ctx c = {a, out, 0, 0, 0, 0, NULL};

	memset(out, 0, sizeof *out);
	out->t = out->x = -1;
	if (dkim_tags(p, len, sig_tag, &c) < 0) {
		*why = c.why ? c.why : "syntax error";
		return -EINVAL;
	}
	if (!c.v || !c.alg || !out->b || !out->bh || !out->d || !out->s || out->nh == 0 ||
	    !*out->d || !*out->s || !*out->b || !*out->bh) {
		*why = "missing required tag";
		return -EINVAL;
	}
	int from = 0;
	for (unsigned i = 0; i < out->nh; i++)
		from |= strcasecmp(out->h[i], "from") == 0;
	if (!from) {
		*why = "From not signed";
		return -EINVAL;
	}
	if (out->i) {
		/* RFC 6376 3.5: i='s domain is d= or a subdomain of it. */
		const char *at = strrchr(out->i, '@');
		size_t dl = strlen(out->d), il;
		if (!at) {
			*why = "bad i=";
			return -EINVAL;
		}
		at++;
		il = strlen(at);
		if (!(il == dl && strcasecmp(at, out->d) == 0) &&
		    !(il > dl && at[il - dl - 1] == '.' && strcasecmp(at + il - dl, out->d) == 0)) {
			*why = "i= outside d=";
			return -EINVAL;
		}
	}
	if (out->t >= 0 && out->x >= 0 && out->x < out->t) {
		*why = "x= before t=";
		return -EINVAL;
	}
	return 0;
}

struct key_ctx {
	struct arena *a;
	struct dkim_key *k;
	int bad, has_p, first;
};

static int key_tag(void *vctx, const char *k, size_t kn, const char *v, size_t vn)
{
	struct key_ctx *c = vctx;

	if (c->first) {
		c->first = 0;
		if (tag_is(k, kn, "v") && !(vn == 5 && strncmp(v, "DKIM1", 5) == 0))
			return -EINVAL;
	} else if (tag_is(k, kn, "v")) {
		return -EINVAL; /* v= must come first (RFC 6376 3.6.1) */
	}
	if (tag_is(k, kn, "k")) {
		if (vn == 7 && strncmp(v, "ed25519", 7) == 0)
			c->k->ed25519 = 1;
		else if (!(vn == 3 && strncmp(v, "rsa", 3) == 0))
			return -EINVAL;
	} else if (tag_is(k, kn, "p")) {
		c->k->p = dkim_nows(c->a, v, vn);
		c->has_p = 1;
	} else if (tag_is(k, kn, "h")) {
		c->k->sha256_ok = 0;
		for (const char *q = v; q < v + vn;) {
			const char *colon = memchr(q, ':', (size_t)(v + vn - q));
			size_t n = colon ? (size_t)(colon - q) : (size_t)(v + vn - q);
			const char *st = q;
			while (n && is_fws(*st)) {
				st++;
				n--;
			}
			while (n && is_fws(st[n - 1]))
				n--;
			if (n == 6 && strncmp(st, "sha256", 6) == 0)
				c->k->sha256_ok = 1;
			q = colon ? colon + 1 : v + vn;
		}
	} else if (tag_is(k, kn, "s")) {
		int ok = 0;
		for (size_t i = 0; i < vn; i++)
			if (v[i] == '*' || (i + 5 <= vn && strncmp(v + i, "email", 5) == 0))
				ok = 1;
		if (!ok)
			return -EINVAL;
	}
	return 0;
}

int dkim_key_parse(const char *txt, struct arena *a, struct dkim_key *out)
{
	struct key_ctx c = {a, out, 0, 0, 1};

	memset(out, 0, sizeof *out);
	out->sha256_ok = 1;
	if (dkim_tags(txt, strlen(txt), key_tag, &c) < 0 || !c.has_p || !out->p)
		return -EINVAL;
	return 0;
}

/* ---- canonicalisation (RFC 6376 3.4) ---- */

static int put_crlf_fixed(struct buf *out, const char *p, size_t n)
{
	/* Simple canonicalisation of bytes that may use bare LF line ends: CRLF on the wire. */
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r')) {
			if (buf_append(out, p + run, i - run) < 0 || buf_append(out, "\r\n", 2) < 0)
				return -ENOSPC;
			run = i + 1;
		}
	}
	return buf_append(out, p + run, n - run) < 0 ? -ENOSPC : 0;
}

int dkim_canon_header(struct buf *out, const char *field, size_t len, int relaxed, int crlf)
{
	const char *colon = memchr(field, ':', len);
	int sp = 0, any = 0;

	if (!colon)
		return -EINVAL;
	if (!relaxed) {
		if (put_crlf_fixed(out, field, len) < 0)
			return -ENOSPC;
		return crlf ? buf_append(out, "\r\n", 2) : 0;
	}
	size_t nn = (size_t)(colon - field);
	while (nn && is_wsp(field[nn - 1]))
		nn--;
	for (size_t i = 0; i < nn; i++) {
		char ch = (char)tolower((unsigned char)field[i]);
		if (buf_append(out, &ch, 1) < 0)
			return -ENOSPC;
	}
	if (buf_append(out, ":", 1) < 0)
		return -ENOSPC;
	for (const char *p = colon + 1; p < field + len; p++) {
		if (*p == '\r' || *p == '\n')
			continue; /* unfold */
		if (is_wsp(*p)) {
			sp = 1;
			continue;
		}
		if (sp && any && buf_append(out, " ", 1) < 0)
			return -ENOSPC;
		sp = 0;
		any = 1;
		if (buf_append(out, p, 1) < 0)
			return -ENOSPC;
	}
	return crlf ? buf_append(out, "\r\n", 2) : 0;
}

int dkim_canon_body(struct buf *out, const char *body, size_t len, int relaxed)
{
	size_t empties = 0, i = 0;
	int wrote = 0;

	while (i < len) {
		const char *nl = memchr(body + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - body) : len, n = e - i;
		const char *line = body + i;

		if (n && line[n - 1] == '\r')
			n--;
		i = nl ? e + 1 : len;
		if (relaxed) {
			while (n && is_wsp(line[n - 1]))
				n--;
		}
		if (n == 0) {
			empties++;
			continue;
		}
		for (; empties; empties--)
			if (buf_append(out, "\r\n", 2) < 0)
				return -ENOSPC;
		if (relaxed) {
			/* Runs of non-blank bytes go out whole: one append per word, not per byte.
			 */
			for (size_t k = 0; k < n;) {
				size_t j = k;
				if (is_wsp(line[k])) {
					while (j < n && is_wsp(line[j]))
						j++;
					if (buf_append(out, " ", 1) < 0)
						return -ENOSPC;
				} else {
					while (j < n && !is_wsp(line[j]))
						j++;
					if (buf_append(out, line + k, j - k) < 0)
						return -ENOSPC;
				}
				k = j;
			}
		} else if (buf_append(out, line, n) < 0) {
			return -ENOSPC;
		}
		if (buf_append(out, "\r\n", 2) < 0)
			return -ENOSPC;
		wrote = 1;
	}
	/* RFC 6376 3.4.3: an empty body is one CRLF in simple; 3.4.4: nothing in relaxed. */
	if (!wrote && !relaxed)
		return buf_append(out, "\r\n", 2);
	return 0;
}

/* ---- verification ---- */

/*
 * Parsed public keys by their p= text: OpenSSL 3 spends about a million instructions decoding
 * one SubjectPublicKeyInfo (its decoder framework), more than the RSA verification itself, and
 * a worker sees the same few senders' keys over and over. DKIM_KEY_CACHE keys, least recently
 * used out. The DNS answer itself is cached (and expires) in the resolver; a key whose record
 * changed has another p= and so another entry.
 */
#define DKIM_KEY_CACHE 32

static struct {
	char *p;
	int ed25519;
	EVP_PKEY *k;
	uint64_t used;
} key_cache[DKIM_KEY_CACHE];
static uint64_t key_tick;
static EVP_MD *sha256_md; /* fetched once: the implicit fetch costs more than a 4 KB hash */

static const EVP_MD *dkim_sha256(void)
{
	if (!sha256_md)
		sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	return sha256_md;
}

static int dkim_digest(const void *p, size_t n, unsigned char *out)
{
	const EVP_MD *md = dkim_sha256();

	return md && EVP_Digest(p, n, out, NULL, md, NULL) == 1 ? 0 : -1;
}

void dkim_shutdown(void)
{
	for (int i = 0; i < DKIM_KEY_CACHE; i++) {
		free(key_cache[i].p);
		EVP_PKEY_free(key_cache[i].k);
		key_cache[i].p = NULL;
		key_cache[i].k = NULL;
	}
	EVP_MD_free(sha256_md);
	sha256_md = NULL;
}

static EVP_PKEY *key_cache_get(const struct dkim_key *key)
{
	for (int i = 0; i < DKIM_KEY_CACHE; i++)
		if (key_cache[i].p && key_cache[i].ed25519 == key->ed25519 &&
		    strcmp(key_cache[i].p, key->p) == 0) {
			key_cache[i].used = ++key_tick;
			if (EVP_PKEY_up_ref(key_cache[i].k) != 1)
				return NULL;
			return key_cache[i].k;
		}
	return NULL;
}

static void key_cache_put(const struct dkim_key *key, EVP_PKEY *k)
{
	int v = 0;
	char *copy = strdup(key->p);

	if (!copy || EVP_PKEY_up_ref(k) != 1) {
		free(copy);
		return;
	}
	for (int i = 1; i < DKIM_KEY_CACHE; i++)
		if (key_cache[i].used < key_cache[v].used)
			v = i;
	free(key_cache[v].p);
	EVP_PKEY_free(key_cache[v].k);
	key_cache[v].p = copy;
	key_cache[v].ed25519 = key->ed25519;
	key_cache[v].k = k;
	key_cache[v].used = ++key_tick;
}

static int b64(const char *s, struct buf *out, size_t max)
{
	buf_init(out, max);
	if (mime_decode_base64(s, strlen(s), out) != 0 || out->len == 0) {
		buf_free(out);
		return -EINVAL;
	}
	return 0;
}

/* The DKIM-Signature field with the b= tag's value removed (RFC 6376 3.7). */
static int dkim_strip_b(struct buf *out, const char *field, size_t len)
{
	const char *colon = memchr(field, ':', len), *p, *e = field + len;

	if (!colon)
		return -EINVAL;
	if (buf_append(out, field, (size_t)(colon + 1 - field)) < 0)
		return -ENOSPC;
	p = colon + 1;
	while (p < e) {
		const char *semi = memchr(p, ';', (size_t)(e - p));
		const char *end = semi ? semi + 1 : e, *k = p, *eq;

		eq = memchr(p, '=', (size_t)((semi ? semi : e) - p));
		while (k < (eq ? eq : end) && is_fws(*k))
			k++;
		const char *ke = eq;
		while (ke && ke > k && is_fws(ke[-1]))
			ke--;
		if (eq && ke - k == 1 && *k == 'b') {
			if (buf_append(out, p, (size_t)(eq + 1 - p)) < 0 ||
			    (semi && buf_append(out, semi, 1) < 0))
				return -ENOSPC;
		} else if (buf_append(out, p, (size_t)(end - p)) < 0) {
			return -ENOSPC;
		}
		p = end;
	}
	return 0;
}

struct dkim_field {
	const char *p;
	size_t len;
	const struct mime_header *h;
	int used;
};

static enum dkim_status dkim_check_one(const struct dkim_sig *sig, const struct dkim_key *key,
                                       struct dkim_field *f, unsigned nf,
                                       const struct dkim_field *self, const char *body, size_t blen,
                                       size_t cap, const char **why)
{
	struct buf cb, hd, kb, sb, bhb;
	unsigned char dig[SHA256_DIGEST_LENGTH];
	enum dkim_status st = DKIM_PERMERROR;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *md = NULL;
	size_t clen;

	buf_init(&cb, cap);
	buf_init(&hd, cap);
	memset(&kb, 0, sizeof kb);
	memset(&sb, 0, sizeof sb);
	memset(&bhb, 0, sizeof bhb);
	if (!key->p[0]) {
		*why = "key revoked";
		st = DKIM_FAIL;
		goto out;
	}
	if (!key->sha256_ok || key->ed25519 != (sig->alg == DKIM_ED25519_SHA256)) {
		*why = "key does not fit the algorithm";
		goto out;
	}
	if (sig->x >= 0 && (int64_t)time(NULL) > sig->x) {
		*why = "signature expired";
		st = DKIM_FAIL;
		goto out;
	}
	/* Body hash. */
	if (dkim_canon_body(&cb, body, blen, sig->body_relaxed) < 0) {
		*why = "body too large";
		goto out;
	}
	clen = cb.len;
	if (sig->has_l) {
		if (sig->l > clen) {
			*why = "l= longer than the body";
			st = DKIM_FAIL;
			goto out;
		}
		clen = (size_t)sig->l;
	}
	if (dkim_digest(cb.p ? cb.p : "", clen, dig) < 0)
		goto tempfail;
	if (b64(sig->bh, &bhb, 64) < 0 || bhb.len != sizeof dig ||
	    memcmp(bhb.p, dig, sizeof dig) != 0) {
		*why = "body hash mismatch";
		st = DKIM_FAIL;
		goto out;
	}
	/* Header hash input: each h= name takes the last unused field of that name. */
	for (unsigned i = 0; i < nf; i++)
		f[i].used = 0;
	for (unsigned i = 0; i < sig->nh; i++) {
		for (unsigned j = nf; j-- > 0;) {
			const struct mime_header *h = f[j].h;
			if (f[j].used || h->name.len != strlen(sig->h[i]) ||
			    strncasecmp(h->name.p, sig->h[i], h->name.len) != 0)
				continue;
			f[j].used = 1;
			if (dkim_canon_header(&hd, f[j].p, f[j].len, sig->hdr_relaxed, 1) < 0)
				goto toolarge;
			break;
		}
	}
	{
		struct buf self_b;
		buf_init(&self_b, self->len + 1);
		if (dkim_strip_b(&self_b, self->p, self->len) < 0 ||
		    dkim_canon_header(&hd, self_b.p, self_b.len, sig->hdr_relaxed, 0) < 0) {
			buf_free(&self_b);
			goto toolarge;
		}
		buf_free(&self_b);
	}
	if (b64(sig->b, &sb, 2048) < 0) {
		*why = "bad base64";
		goto out;
	}
	if ((pkey = key_cache_get(key)) != NULL) {
		/* parsed and checked before */
	} else if (b64(key->p, &kb, 8192) < 0) {
		*why = "bad base64";
		goto out;
	} else if (key->ed25519) {
		if (kb.len != 32 || !(pkey = EVP_PKEY_new_raw_public_key(
		                          EVP_PKEY_ED25519, NULL, (unsigned char *)kb.p, 32))) {
			*why = "bad ed25519 key";
			goto out;
		}
	} else {
		const unsigned char *kp = (const unsigned char *)kb.p;
		pkey = d2i_PUBKEY(NULL, &kp, (long)kb.len);
		if (!pkey || EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA) {
			*why = "bad RSA key";
			goto out;
		}
		if (EVP_PKEY_bits(pkey) < DKIM_RSA_MIN_BITS) {
			*why = "RSA key too short";
			goto out;
		}
	}
	if (kb.len)
		key_cache_put(key, pkey);
	md = EVP_MD_CTX_new();
	if (!md)
		goto tempfail;
	int ok;
	if (key->ed25519) {
		/* RFC 8463 3: Ed25519 signs the SHA-256 hash of the header data. */
		if (dkim_digest(hd.p ? hd.p : "", hd.len, dig) < 0)
			goto tempfail;
		ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) == 1 &&
		     EVP_DigestVerify(md, (unsigned char *)sb.p, sb.len, dig, sizeof dig) == 1;
	} else {
		ok = EVP_DigestVerifyInit(md, NULL, dkim_sha256(), NULL, pkey) == 1 &&
		     EVP_DigestVerify(md, (unsigned char *)sb.p, sb.len,
		                      (const unsigned char *)(hd.p ? hd.p : ""), hd.len) == 1;
	}
	if (ok) {
		st = DKIM_PASS;
		*why = "";
	} else {
		st = DKIM_FAIL;
		*why = "signature does not verify";
	}
	goto out;
toolarge:
	*why = "headers too large";
	goto out;
tempfail:
	st = DKIM_TEMPERROR;
	*why = "out of memory";
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	buf_free(&cb);
	buf_free(&hd);
	buf_free(&kb);
	buf_free(&sb);
	buf_free(&bhb);
	return st;
}

#define DKIM_MAX_FIELDS 512 /* header fields considered; a message with more is not signed */

unsigned dkim_verify(const struct auth_dns *dns, struct arena *a, const struct mime_part *root,
                     const char *msg, size_t len, struct dkim_result *out, unsigned max)
{
	struct dkim_field *f;
	unsigned nf = 0, nsig = 0;
	struct dkim_sig sigs[DKIM_MAX_SIGS];
	unsigned sigfield[DKIM_MAX_SIGS];
	struct dns_query q[DKIM_MAX_SIGS];
	char *names[DKIM_MAX_SIGS];
	const char *body;
	size_t blen, cap;

	if (!root || max == 0)
		return 0;
	if (max > DKIM_MAX_SIGS)
		max = DKIM_MAX_SIGS;
	f = arena_alloc(a, sizeof *f * DKIM_MAX_FIELDS);
	if (!f)
		return 0;
	for (const struct mime_header *h = root->headers; h && nf < DKIM_MAX_FIELDS; h = h->next) {
		if (h->name.p < msg || h->raw.p + h->raw.len > msg + len || h->raw.p < h->name.p)
			continue;
		f[nf].p = h->name.p;
		f[nf].len = (size_t)(h->raw.p + h->raw.len - h->name.p);
		f[nf].h = h;
		if (f[nf].len > DKIM_FIELD_MAX)
			continue;
		nf++;
	}
	body = root->raw_body.p;
	if (!body || body < msg || body > msg + len)
		body = msg + len;
	blen = (size_t)(msg + len - body);
	cap = 2 * len + 4096;

	for (unsigned i = 0; i < nf && nsig < max; i++) {
		const char *why = "";
		const struct mime_header *h = f[i].h;
		struct dkim_result *r = &out[nsig];

		if (!(h->name.len == 14 && strncasecmp(h->name.p, "DKIM-Signature", 14) == 0))
			continue;
		memset(r, 0, sizeof *r);
		sigfield[nsig] = i;
		if (dkim_sig_parse(h->raw.p, h->raw.len, a, &sigs[nsig], &why) < 0) {
			r->status = DKIM_PERMERROR;
			snprintf(r->why, sizeof r->why, "%s", why);
			names[nsig] = NULL;
			if (sigs[nsig].d)
				snprintf(r->d, sizeof r->d, "%s", sigs[nsig].d);
			nsig++;
			continue;
		}
		snprintf(r->d, sizeof r->d, "%s", sigs[nsig].d);
		snprintf(r->s, sizeof r->s, "%s", sigs[nsig].s);
		size_t nl = strlen(sigs[nsig].s) + strlen(sigs[nsig].d) + 13;
		names[nsig] = arena_alloc(a, nl);
		if (names[nsig])
			snprintf(names[nsig], nl, "%s._domainkey.%s", sigs[nsig].s, sigs[nsig].d);
		r->status = DKIM_TEMPERROR;
		nsig++;
	}
	/* All key lookups at once. */
	unsigned nq = 0, qi[DKIM_MAX_SIGS];
	for (unsigned i = 0; i < nsig; i++)
		if (names[i]) {
			q[nq] = (struct dns_query){names[i], DNS_T_TXT, {0}};
			qi[nq++] = i;
		}
	if (nq && dns->lookup(dns->ctx, q, nq, a) < 0)
		return nsig;
	for (unsigned k = 0; k < nq; k++) {
		unsigned i = qi[k];
		struct dkim_result *r = &out[i];
		struct dkim_key key;
		const char *why = "";
		int found = 0;

		if (q[k].ans.status == DNS_TEMPFAIL || q[k].ans.status == DNS_TIMEOUT ||
		    q[k].ans.status == DNS_LIMIT) {
			r->status = DKIM_TEMPERROR;
			snprintf(r->why, sizeof r->why, "key lookup: %s",
			         dns_status_name(q[k].ans.status));
			continue;
		}
		for (unsigned j = 0; q[k].ans.status == DNS_OK && j < q[k].ans.n && !found; j++)
			found = dkim_key_parse(q[k].ans.str[j], a, &key) == 0;
		if (!found) {
			r->status = DKIM_PERMERROR;
			snprintf(r->why, sizeof r->why, "no key");
			continue;
		}
		r->status =
		    dkim_check_one(&sigs[i], &key, f, nf, &f[sigfield[i]], body, blen, cap, &why);
		snprintf(r->why, sizeof r->why, "%s", why);
	}
	return nsig;
}
