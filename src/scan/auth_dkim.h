/*
 * auth_dkim - DKIM signature verification (RFC 6376, RFC 8463, RFC 8301): the DKIM-Signature
 * tag list, the key record, simple and relaxed canonicalisation, l=, the body hash, and
 * rsa-sha256 / ed25519-sha256 with OpenSSL. rsa-sha1 is refused (RFC 8301) and so are RSA keys
 * under 1024 bits.
 *
 * Limits: DKIM_MAX_SIGS signatures are verified per message (the rest are ignored: one valid
 * signature is all DMARC needs, and each costs a lookup and a public-key operation), h= lists
 * up to DKIM_MAX_H names.
 */
#ifndef MX_SCAN_AUTH_DKIM_H
#define MX_SCAN_AUTH_DKIM_H

#include "core/buf.h"
#include "mime/mime.h"
#include "scan/auth_dns.h"

#include <stddef.h>
#include <stdint.h>

#define DKIM_MAX_SIGS 5
#define DKIM_MAX_H 64

enum dkim_alg { DKIM_RSA_SHA256, DKIM_ED25519_SHA256 };

struct dkim_sig {
	enum dkim_alg alg;
	int hdr_relaxed, body_relaxed;
	const char *d, *s, *i; /* arena strings */
	const char *b;         /* base64 signature, spaces removed */
	const char *bh;        /* base64 body hash, spaces removed */
	const char *h[DKIM_MAX_H];
	unsigned nh;
	int has_l;
	uint64_t l;
	int64_t t, x; /* -1 when absent */
};

/* Parse a DKIM-Signature value (the raw text after the colon). 0 or -EINVAL with why set. */
int dkim_sig_parse(const char *p, size_t len, struct arena *a, struct dkim_sig *out,
                   const char **why);

struct dkim_key {
	int ed25519;   /* k=ed25519, else rsa */
	const char *p; /* base64 key, spaces removed; "" = revoked */
	int sha256_ok; /* h= absent or lists sha256 */
};
/* Parse a key record (TXT at s._domainkey.d). 0 or -EINVAL. */
int dkim_key_parse(const char *txt, struct arena *a, struct dkim_key *out);

/* Canonicalisation, appended to out. A header field is name ":" value as in the message
 * (no CRLF at the end); with crlf the canonical CRLF is added. */
int dkim_canon_header(struct buf *out, const char *field, size_t len, int relaxed, int crlf);
/* The body (after the blank line) canonicalised, trailing empty lines per the algorithm. */
int dkim_canon_body(struct buf *out, const char *body, size_t len, int relaxed);

enum dkim_status { DKIM_PASS, DKIM_FAIL, DKIM_TEMPERROR, DKIM_PERMERROR };

struct dkim_result {
	enum dkim_status status;
	char d[128], s[64];
	char why[80];
};

/* Verify up to max (<= DKIM_MAX_SIGS) signatures of the message; returns how many were found. */
unsigned dkim_verify(const struct auth_dns *dns, struct arena *a, const struct mime_part *root,
                     const char *msg, size_t len, struct dkim_result *out, unsigned max);

const char *dkim_status_name(enum dkim_status s);
/* Free the parsed-key cache (scanner fini). */
void dkim_shutdown(void);

#endif
