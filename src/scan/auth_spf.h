/*
 * auth_spf - Sender Policy Framework (RFC 7208): record parsing, macro expansion and
 * check_host() over an auth_dns lookup function.
 *
 * Covered: all, include, a, mx, ptr, ip4, ip6, exists (dual CIDR lengths), redirect and exp
 * (exp is parsed, not fetched: we never show explanations to anyone), unknown modifiers
 * ignored; macros s l o d i p v h with digit, reverse and delimiter transformers (%{p} expands
 * to "unknown", as RFC 7208 7.3 allows); the limits of 4.6.4: 10 DNS-querying terms, 10 MX
 * names, 10 PTR names, 2 void lookups.
 */
#ifndef MX_SCAN_AUTH_SPF_H
#define MX_SCAN_AUTH_SPF_H

#include "scan/auth_dns.h"

#include <stddef.h>

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

enum spf_mech {
	SPF_M_ALL,
	SPF_M_INCLUDE,
	SPF_M_A,
	SPF_M_MX,
	SPF_M_PTR,
	SPF_M_IP4,
	SPF_M_IP6,
	SPF_M_EXISTS
};

struct spf_term {
	char qual; /* '+', '-', '~', '?' */
	enum spf_mech mech;
	const char *domain; /* domain-spec as written (macros unexpanded); NULL: current domain */
	unsigned cidr4, cidr6;
	struct dns_addr ip; /* ip4/ip6 */
};

#define SPF_MAX_TERMS 64 /* a record is one DNS answer; more terms than this is not a policy */

struct spf_record {
	unsigned n;
	struct spf_term t[SPF_MAX_TERMS];
	const char *redirect, *exp; /* NULL when absent */
};

/* The SMTP identities being checked. */
struct spf_request {
	const char *ip; /* client address, v4 or v6 text */
	const char *helo;
	const char *sender; /* MAIL FROM address without <>, "" for the null sender */
};

struct spf_outcome {
	enum spf_result result;
	char domain[256]; /* the domain checked (MAIL FROM's, or the HELO name) */
	char why[128];    /* the deciding term or error, for the symbol's detail */
	unsigned lookups, voids;
};

/*
 * Parse one record ("v=spf1 ..."). 0, or -EINVAL for a syntax error (permerror). Strings point
 * into the arena.
 */
int spf_record_parse(const char *txt, struct arena *a, struct spf_record *out);

/* Values the macros expand to (RFC 7208 7.3). */
struct spf_macro_ctx {
	const char *sender; /* full sender, local@domain */
	const char *domain; /* current domain */
	const char *helo;
	const struct dns_addr *ip;
};
/* Expand a domain-spec into out. 0, or -EINVAL for a bad macro (permerror), -ENOSPC. */
int spf_macro_expand(const char *spec, const struct spf_macro_ctx *c, char *out, size_t outsz);

/* check_host() for the MAIL FROM identity (postmaster@HELO for the null sender). */
void spf_check(const struct auth_dns *dns, struct arena *a, const struct spf_request *req,
               struct spf_outcome *out);

const char *spf_result_name(enum spf_result r);

#endif
