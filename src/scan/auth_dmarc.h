/*
 * auth_dmarc - DMARC (RFC 7489): the record's tags, the organisational domain, alignment of
 * SPF and DKIM results with the From domain, and the policy to apply.
 *
 * Organisational domain: RFC 7489 3.2 asks for a public suffix list. We keep a small one in
 * auth_dmarc.c (the multi-label suffixes under which mail is common: co.uk, com.au, ...); any
 * other last label counts as a public suffix on its own. So example.co.uk -> example.co.uk,
 * mail.example.com -> example.com, a.b.example.de -> example.de. A domain under a private
 * multi-label suffix we do not list gets one label too few, which only makes relaxed alignment
 * broader within that suffix; docs/auth.md says how to grow the list.
 */
#ifndef MX_SCAN_AUTH_DMARC_H
#define MX_SCAN_AUTH_DMARC_H

#include "scan/auth_dns.h"

enum dmarc_policy { DMARC_P_NONE, DMARC_P_QUARANTINE, DMARC_P_REJECT };

struct dmarc_record {
	enum dmarc_policy p, sp;
	int has_sp;
	unsigned pct;     /* 0..100 */
	char adkim, aspf; /* 'r' or 's' */
};

/* Parse "v=DMARC1; p=...". 0, or -EINVAL when it is not a valid DMARC record. */
int dmarc_record_parse(const char *txt, struct dmarc_record *out);

/* The organisational domain of d (lowercase copy into out). 0 or -EINVAL. */
int dmarc_org_domain(const char *d, char *out, size_t outsz);

/* Aligned under mode 'r' (same organisational domain) or 's' (equal)? */
int dmarc_aligned(const char *a, const char *b, char mode);

enum dmarc_result { DMARC_NONE, DMARC_PASS, DMARC_FAIL, DMARC_TEMPERROR, DMARC_PERMERROR };

struct dmarc_input {
	const char *from_domain;              /* RFC5322.From domain */
	int spf_pass;                         /* SPF result was pass ... */
	const char *spf_domain;               /* ... for this domain (MAIL FROM or HELO) */
	const char *const *dkim_pass_domains; /* d= of each signature that verified */
	unsigned ndkim;
	unsigned sample; /* 0..99, compared with pct (random in production) */
};

struct dmarc_outcome {
	enum dmarc_result result;
	enum dmarc_policy policy; /* what to apply when result is fail (after pct) */
	enum dmarc_policy asked;  /* the record's p/sp before pct */
	int spf_aligned, dkim_aligned;
	char record_domain[256]; /* where the record was found */
};

/* Find the record (_dmarc.<from>, then _dmarc.<org>) and evaluate. */
void dmarc_check(const struct auth_dns *dns, struct arena *a, const struct dmarc_input *in,
                 struct dmarc_outcome *out);

const char *dmarc_result_name(enum dmarc_result r);
const char *dmarc_policy_name(enum dmarc_policy p);

#endif
