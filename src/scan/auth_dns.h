/*
 * auth_dns - DNS answers as the auth and dnsbl scanners see them, and the asynchronous resolver
 * on c-ares that fetches them (auth_resolver.c).
 *
 * The resolver talks only to dns.resolver (ADDR:PORT); with no resolver configured it is never
 * created, and the scanners that need it add a symbol saying they were skipped. Each process
 * (scan worker, `mxtower scan`) has one resolver with a small cache of raw answer packets kept
 * for their TTL. Queries go out together and are waited for with poll() until all are answered
 * or the per-message budget (dns.budget_ms) runs out; what is left then is DNS_TIMEOUT.
 *
 * A scan worker forbids new sockets (seccomp), so the resolver opens its UDP socket and
 * connects it to the resolver before the drop; c-ares gets copies of that socket through its
 * socket-function hooks. TCP fallback (truncated answers) therefore works only outside a worker;
 * EDNS0 with a 1232-byte payload keeps answers up to a 4096-bit DKIM key in one datagram.
 */
#ifndef MX_SCAN_AUTH_DNS_H
#define MX_SCAN_AUTH_DNS_H

#include "core/arena.h"
#include "core/config.h"

#include <stddef.h>
#include <stdint.h>

enum dns_status {
	DNS_OK,       /* answers in the struct (n may still be 0 for other types) */
	DNS_NXDOMAIN, /* the name does not exist */
	DNS_NODATA,   /* the name exists, no record of that type */
	DNS_TEMPFAIL, /* SERVFAIL, REFUSED, a malformed answer, no server */
	DNS_TIMEOUT,  /* no answer within the query timeout or the message's budget */
	DNS_LIMIT,    /* not sent: the message's query limit was reached */
};

/* Record types we ask for (the RFC 1035 numbers). */
enum { DNS_T_A = 1, DNS_T_PTR = 12, DNS_T_MX = 15, DNS_T_TXT = 16, DNS_T_AAAA = 28 };

struct dns_addr {
	int af; /* AF_INET or AF_INET6 */
	unsigned char a[16];
};

struct dns_answer {
	enum dns_status status;
	unsigned n;            /* entries in str or addr */
	char **str;            /* TXT: one string per record (its character-strings joined);
	                          MX, PTR: host names */
	struct dns_addr *addr; /* A, AAAA */
	uint32_t ttl;          /* smallest TTL of the answer section */
};

struct dns_query {
	const char *name;      /* no trailing dot needed */
	int type;              /* DNS_T_* */
	struct dns_answer ans; /* filled by the lookup, in the caller's arena */
};

/*
 * How scanners look names up: a function and its context, so that the record logic (SPF, DMARC,
 * DKIM keys) does not care where answers come from. Fills q[i].ans for every i; returns 0 or
 * -errno when nothing could be attempted.
 */
struct auth_dns {
	int (*lookup)(void *ctx, struct dns_query *q, size_t n, struct arena *a);
	void *ctx;
};

/*
 * Parse a raw answer packet for a query of that type into out (arena). Returns 0 with out
 * filled (status DNS_OK, DNS_NODATA or DNS_NXDOMAIN from the rcode and answers), or -EINVAL
 * for a malformed packet (out->status DNS_TEMPFAIL). Outside input: fuzzed (fuzz_dns).
 */
int dns_answer_parse(int type, const unsigned char *abuf, int alen, struct arena *a,
                     struct dns_answer *out);

/* Limits of one message's lookups. */
#define DNS_MAX_QUERIES_PER_MSG                                                                    \
	64 /* SPF's 10 terms x (MX 10) is capped apart; DKIM, DMARC,                               \
	     DNSBL zones need a handful each */

struct resolver;

/*
 * The process's resolver for cfg->dns.resolver, made at the first call (scanner init, before
 * the privilege drop), NULL when none is configured or it cannot be set up (logged). Owned by
 * this module; resolver_shutdown() frees it.
 */
struct resolver *resolver_get(const struct config *cfg);
void resolver_shutdown(void);
/*
 * Start one message's account: queries from now on share budget_ms and the query limit.
 * Scanners call it when they begin, each with its share of scan.deadline_ms.
 */
void resolver_begin(struct resolver *r, uint64_t budget_ms);
/* The auth_dns that uses this resolver. */
struct auth_dns resolver_dns(struct resolver *r);
/* Counters for tests and logs: packets sent and cache hits since the process started. */
uint64_t resolver_sent(const struct resolver *r);
uint64_t resolver_cache_hits(const struct resolver *r);

const char *dns_status_name(enum dns_status s);

/* "1.2.3.4", "::1", "::ffff:1.2.3.4" (taken as v4). 0 or -EINVAL. */
int dns_addr_parse(const char *s, struct dns_addr *out);
/* The reverse-lookup name of addr under suffix ("in-addr.arpa", "ip6.arpa", or a DNSBL zone):
 * "4.3.2.1.zone" or 32 nibbles. 0 or -ENOSPC. */
int dns_reverse_name(const struct dns_addr *addr, const char *suffix, char *out, size_t outsz);

#endif
