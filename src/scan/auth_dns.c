/*
 * auth_dns - raw DNS answer packets into struct dns_answer, with c-ares's parsers (see
 * auth_dns.h). Everything lands in the caller's arena. Limits: at most DNS_MAX_RR records are
 * kept per answer (more is a hostile or broken zone: SPF allows 10 MX names, DNSBLs answer one
 * or two addresses).
 */
#include "scan/auth_dns.h"

#include <ares.h>
#include <ares_dns.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define DNS_MAX_RR 32
/* 1 day: a longer TTL is honoured as this, so a changed record is seen the next day at worst. */
#define DNS_TTL_MAX 86400u

const char *dns_status_name(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return "ok";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_NODATA:
		return "nodata";
	case DNS_TEMPFAIL:
		return "tempfail";
	case DNS_TIMEOUT:
		return "timeout";
	case DNS_LIMIT:
		return "limit";
	}
	return "?";
}

/* Skip one (possibly compressed) name at p; the new offset or -1. */
static long dns_skip_name(const unsigned char *abuf, int alen, long off)
{
	char *name = NULL;
	long enclen = 0;

	if (off < 0 || off >= alen)
		return -1;
	if (ares_expand_name(abuf + off, abuf, alen, &name, &enclen) != ARES_SUCCESS)
		return -1;
	ares_free_string(name);
	return off + enclen;
}

/* The smallest TTL among the answer records (DNS_TTL_MAX when none or malformed). */
static uint32_t dns_min_ttl(const unsigned char *abuf, int alen)
{
	unsigned qd, an;
	long off = HFIXEDSZ;
	uint32_t min = DNS_TTL_MAX;

	if (alen < HFIXEDSZ)
		return 0;
	qd = DNS_HEADER_QDCOUNT(abuf);
	an = DNS_HEADER_ANCOUNT(abuf);
	for (unsigned i = 0; i < qd && i < 4; i++) {
		off = dns_skip_name(abuf, alen, off);
		if (off < 0 || off + QFIXEDSZ > alen)
			return min;
		off += QFIXEDSZ;
	}
	for (unsigned i = 0; i < an && i < DNS_MAX_RR * 2; i++) {
		uint32_t ttl;
		unsigned rdlen;

		off = dns_skip_name(abuf, alen, off);
		if (off < 0 || off + RRFIXEDSZ > alen)
			return min;
		ttl = DNS_RR_TTL(abuf + off);
		rdlen = DNS_RR_LEN(abuf + off);
		if (ttl < min)
			min = ttl;
		off += RRFIXEDSZ + rdlen;
		if (off > alen)
			return min;
	}
	return min;
}

static int dns_parse_addrs(int type, const unsigned char *abuf, int alen, struct arena *a,
                           struct dns_answer *out)
{
	int n = DNS_MAX_RR, r;

	if (type == DNS_T_A) {
		struct ares_addrttl tt[DNS_MAX_RR];

		r = ares_parse_a_reply(abuf, alen, NULL, tt, &n);
		if (r != ARES_SUCCESS)
			return r;
		out->addr = arena_zalloc(a, sizeof *out->addr * (size_t)(n ? n : 1));
		if (!out->addr)
			return ARES_ENOMEM;
		for (int i = 0; i < n; i++) {
			out->addr[i].af = AF_INET;
			memcpy(out->addr[i].a, &tt[i].ipaddr, 4);
		}
	} else {
		struct ares_addr6ttl tt[DNS_MAX_RR];

		r = ares_parse_aaaa_reply(abuf, alen, NULL, tt, &n);
		if (r != ARES_SUCCESS)
			return r;
		out->addr = arena_zalloc(a, sizeof *out->addr * (size_t)(n ? n : 1));
		if (!out->addr)
			return ARES_ENOMEM;
		for (int i = 0; i < n; i++) {
			out->addr[i].af = AF_INET6;
			memcpy(out->addr[i].a, &tt[i].ip6addr, 16);
		}
	}
	out->n = (unsigned)n;
	return ARES_SUCCESS;
}

/* Room for up to N strings (at most DNS_MAX_RR) in OUT; returns the count made room for, 0 on
 * no memory (OUT->str is then NULL). */
static unsigned dns_strs_alloc(struct arena *a, unsigned n, struct dns_answer *out)
{
	if (n > DNS_MAX_RR)
		n = DNS_MAX_RR;
	out->str = arena_zalloc(a, sizeof *out->str * (n ? n : 1));
	return out->str ? n : 0;
}

static int dns_parse_txt(const unsigned char *abuf, int alen, struct arena *a,
                         struct dns_answer *out)
{
	struct ares_txt_ext *txt = NULL, *t;
	unsigned n = 0;
	int r = ares_parse_txt_reply_ext(abuf, alen, &txt);

	if (r != ARES_SUCCESS)
		return r;
	for (t = txt; t; t = t->next)
		if (t->record_start || t == txt)
			n++;
	n = dns_strs_alloc(a, n, out);
	if (!out->str) {
		ares_free_data(txt);
		return ARES_ENOMEM;
	}
	/* Join each record's character-strings (RFC 7208 3.3, RFC 6376 3.6.2.2). */
	int idx = -1;
	size_t have = 0;
	for (t = txt; t; t = t->next) {
		if (t->record_start || t == txt) {
			if ((unsigned)(idx + 1) >= n)
				break;
			idx++;
			have = 0;
			out->str[idx] = arena_strndup(a, "", 0);
		}
		if (!out->str[idx])
			break;
		char *s = arena_alloc(a, have + t->length + 1);
		if (!s)
			break;
		memcpy(s, out->str[idx], have);
		memcpy(s + have, t->txt, t->length);
		have += t->length;
		s[have] = '\0';
		/* An embedded NUL ends the string as C sees it: the record is then just shorter,
		 * and our record parsers judge what is left. */
		out->str[idx] = s;
	}
	ares_free_data(txt);
	out->n = (unsigned)(idx + 1);
	for (unsigned i = 0; i < out->n; i++)
		if (!out->str[i])
			return ARES_ENOMEM;
	return ARES_SUCCESS;
}

static int dns_parse_mx(const unsigned char *abuf, int alen, struct arena *a,
                        struct dns_answer *out)
{
	struct ares_mx_reply *mx = NULL, *m;
	unsigned n = 0;
	int r = ares_parse_mx_reply(abuf, alen, &mx);

	if (r != ARES_SUCCESS)
		return r;
	for (m = mx; m; m = m->next)
		n++;
	/* One more than SPF's limit of 10 is enough to tell "too many" (RFC 7208 4.6.4). */
	n = dns_strs_alloc(a, n, out);
	if (!out->str) {
		ares_free_data(mx);
		return ARES_ENOMEM;
	}
	out->n = 0;
	for (m = mx; m && out->n < n; m = m->next)
		if ((out->str[out->n] = arena_strdup(a, m->host)) != NULL)
			out->n++;
	ares_free_data(mx);
	return ARES_SUCCESS;
}

static int dns_parse_ptr(const unsigned char *abuf, int alen, struct arena *a,
                         struct dns_answer *out)
{
	struct hostent *he = NULL;
	unsigned char dummy[16] = {0};
	unsigned n = 0;
	int r = ares_parse_ptr_reply(abuf, alen, dummy, 4, AF_INET, &he);

	if (r != ARES_SUCCESS)
		return r;
	if (dns_strs_alloc(a, DNS_MAX_RR, out) == 0) {
		ares_free_hostent(he);
		return ARES_ENOMEM;
	}
	if (he->h_name && (out->str[n] = arena_strdup(a, he->h_name)) != NULL)
		n++;
	for (char **al = he->h_aliases; al && *al && n < DNS_MAX_RR; al++)
		if ((out->str[n] = arena_strdup(a, *al)) != NULL)
			n++;
	ares_free_hostent(he);
	out->n = n;
	return ARES_SUCCESS;
}

int dns_answer_parse(int type, const unsigned char *abuf, int alen, struct arena *a,
                     struct dns_answer *out)
{
	int r;

	memset(out, 0, sizeof *out);
	out->status = DNS_TEMPFAIL;
	if (!abuf || alen < HFIXEDSZ)
		return -EINVAL;
	switch (DNS_HEADER_RCODE(abuf)) {
	case NOERROR:
		break;
	case NXDOMAIN:
		out->status = DNS_NXDOMAIN;
		out->ttl = dns_min_ttl(abuf, alen);
		return 0;
	default:
		return 0; /* SERVFAIL, REFUSED, ...: tempfail */
	}
	out->ttl = dns_min_ttl(abuf, alen);
	if (DNS_HEADER_ANCOUNT(abuf) == 0) {
		out->status = DNS_NODATA;
		return 0;
	}
	switch (type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		r = dns_parse_addrs(type, abuf, alen, a, out);
		break;
	case DNS_T_TXT:
		r = dns_parse_txt(abuf, alen, a, out);
		break;
	case DNS_T_MX:
		r = dns_parse_mx(abuf, alen, a, out);
		break;
	case DNS_T_PTR:
		r = dns_parse_ptr(abuf, alen, a, out);
		break;
	default:
		return -EINVAL;
	}
	if (r == ARES_ENODATA) {
		/* Answers of other types only (a CNAME chain that ends nowhere). */
		out->status = DNS_NODATA;
		out->n = 0;
		return 0;
	}
	if (r != ARES_SUCCESS) {
		out->n = 0;
		out->status = DNS_TEMPFAIL;
		return -EINVAL;
	}
	out->status = out->n ? DNS_OK : DNS_NODATA;
	return 0;
}

int dns_addr_parse(const char *s, struct dns_addr *out)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(out, 0, sizeof *out);
	if (!s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, out->a) == 1) {
		out->af = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->a) == 1) {
		out->af = AF_INET6;
		if (memcmp(out->a, mapped, 12) == 0) {
			memmove(out->a, out->a + 12, 4);
			memset(out->a + 4, 0, 12);
			out->af = AF_INET;
		}
		return 0;
	}
	return -EINVAL;
}

int dns_reverse_name(const struct dns_addr *addr, const char *suffix, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	int w;

	if (addr->af == AF_INET) {
		w = snprintf(out, outsz, "%u.%u.%u.%u.%s", addr->a[3], addr->a[2], addr->a[1],
		             addr->a[0], suffix);
		return w < 0 || (size_t)w >= outsz ? -ENOSPC : 0;
	}
	if (outsz < 64 + strlen(suffix) + 1)
		return -ENOSPC;
	for (int i = 15; i >= 0; i--) {
		out[o++] = hex[addr->a[i] & 15];
		out[o++] = '.';
		out[o++] = hex[addr->a[i] >> 4];
		out[o++] = '.';
	}
	snprintf(out + o, outsz - o, "%s", suffix);
	return 0;
}
