/*
 * auth_spf - SPF record parsing and evaluation (see auth_spf.h). Records and names come from
 * the sender's DNS: hostile input, fuzzed through fuzz_dns. Limits are RFC 7208's (4.6.4) plus
 * SPF_MAX_TERMS per record and SPF_MAX_DEPTH nested include/redirect (the 10-lookup limit
 * already bounds it; the depth cap keeps the C stack small whatever happens).
 */
#include "scan/auth_spf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define SPF_MAX_LOOKUPS 10
#define SPF_MAX_VOIDS 2
#define SPF_MAX_NAMES 10 /* MX and PTR names looked at */
#define SPF_MAX_DEPTH 12
#define SPF_NAME_MAX 256

const char *spf_result_name(enum spf_result r)
{
	static const char *const n[] = {"none",     "neutral",   "pass",     "fail",
	                                "softfail", "temperror", "permerror"};
	return (unsigned)r < sizeof n / sizeof n[0] ? n[r] : "?";
}

/* ---- record syntax ---- */

static int spf_is_mod_name(const char *p, size_t n)
{
	if (n == 0 || !isalpha((unsigned char)p[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '-' && p[i] != '_' && p[i] != '.')
			return 0;
	return 1;
}

/* Dry-run expansion with placeholder values: catches bad macros when the record is parsed. */
static int spf_macro_syntax(const char *spec)
{
	struct dns_addr ip = {AF_INET, {192, 0, 2, 1}};
	struct spf_macro_ctx c = {"a@b.example", "b.example", "h.example", &ip};
	char out[1024];

	return spf_macro_expand(spec, &c, out, sizeof out) == -EINVAL ? -EINVAL : 0;
}

static int spf_cidr(const char *s, size_t n, unsigned max, unsigned *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 3)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	/* RFC 7208 5.6: leading zeros are not allowed. */
	if ((n > 1 && s[0] == '0') || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* "[/n][//m]" after a domain-spec (or alone). */
static int spf_dual_cidr(const char *s, size_t n, struct spf_term *t)
{
	const char *dd;

	if (n == 0)
		return 0;
	if (s[0] != '/')
		return -EINVAL;
	dd = memmem(s, n, "//", 2);
	if (dd == s)
		return spf_cidr(s + 2, n - 2, 128, &t->cidr6);
	if (dd) {
		if (spf_cidr(s + 1, (size_t)(dd - s - 1), 32, &t->cidr4) < 0)
			return -EINVAL;
		return spf_cidr(dd + 2, n - (size_t)(dd - s) - 2, 128, &t->cidr6);
	}
	return spf_cidr(s + 1, n - 1, 32, &t->cidr4);
}

static int spf_term_parse(const char *p, size_t n, struct arena *a, struct spf_term *t)
{
	static const struct {
		const char *name;
		enum spf_mech mech;
	} mechs[] = {
	    {"all", SPF_M_ALL}, {"include", SPF_M_INCLUDE}, {"a", SPF_M_A},
	    {"mx", SPF_M_MX},   {"ptr", SPF_M_PTR},         {"ip4", SPF_M_IP4},
	    {"ip6", SPF_M_IP6}, {"exists", SPF_M_EXISTS},
	};
	size_t nl = 0, i;
	const char *arg;
	size_t alen;

	memset(t, 0, sizeof *t);
	t->qual = '+';
	t->cidr4 = 32;
	t->cidr6 = 128;
	if (n && strchr("+-~?", p[0])) {
		t->qual = p[0];
		p++;
		n--;
	}
	while (nl < n && isalnum((unsigned char)p[nl]))
		nl++;
	for (i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
		if (strlen(mechs[i].name) == nl && strncasecmp(p, mechs[i].name, nl) == 0)
			break;
	if (i == sizeof mechs / sizeof mechs[0])
		return -EINVAL;
	t->mech = mechs[i].mech;
	arg = p + nl;
	alen = n - nl;
	switch (t->mech) {
	case SPF_M_ALL:
		return alen == 0 ? 0 : -EINVAL;
	case SPF_M_INCLUDE:
	case SPF_M_EXISTS:
		if (alen < 2 || arg[0] != ':')
			return -EINVAL;
		t->domain = arena_strndup(a, arg + 1, alen - 1);
		return t->domain ? spf_macro_syntax(t->domain) : -ENOMEM;
	case SPF_M_A:
	case SPF_M_MX:
	case SPF_M_PTR: {
		const char *slash;
		size_t dlen;

		if (alen && arg[0] == ':') {
			arg++;
			alen--;
			slash = t->mech == SPF_M_PTR ? NULL : memchr(arg, '/', alen);
			dlen = slash ? (size_t)(slash - arg) : alen;
			if (dlen == 0)
				return -EINVAL;
			t->domain = arena_strndup(a, arg, dlen);
			if (!t->domain || spf_macro_syntax(t->domain) < 0)
				return -EINVAL;
			arg += dlen;
			alen -= dlen;
		}
		if (t->mech == SPF_M_PTR)
			return alen == 0 ? 0 : -EINVAL;
		return spf_dual_cidr(arg, alen, t);
	}
	case SPF_M_IP4:
	case SPF_M_IP6: {
		char ipbuf[64];
		const char *slash;
		size_t iplen;
		int af = t->mech == SPF_M_IP4 ? AF_INET : AF_INET6;

		if (alen < 2 || arg[0] != ':')
			return -EINVAL;
		arg++;
		alen--;
		slash = memchr(arg, '/', alen);
		iplen = slash ? (size_t)(slash - arg) : alen;
		if (iplen == 0 || iplen >= sizeof ipbuf)
			return -EINVAL;
		memcpy(ipbuf, arg, iplen);
		ipbuf[iplen] = '\0';
		t->ip.af = af;
		if (inet_pton(af, ipbuf, t->ip.a) != 1)
			return -EINVAL;
		if (slash)
			return spf_cidr(slash + 1, alen - iplen - 1, af == AF_INET ? 32 : 128,
			                af == AF_INET ? &t->cidr4 : &t->cidr6);
		return 0;
	}
	}
	return -EINVAL;
}

int spf_record_parse(const char *txt, struct arena *a, struct spf_record *out)
{
	const char *p = txt;

	memset(out, 0, sizeof *out);
	if (strncasecmp(p, "v=spf1", 6) != 0 || (p[6] != '\0' && p[6] != ' '))
		return -EINVAL;
	p += 6;
	for (;;) {
		const char *s, *eq;
		size_t n;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		s = p;
		while (*p && *p != ' ')
			p++;
		n = (size_t)(p - s);
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
				return -EINVAL;
		eq = memchr(s, '=', n);
		/* A modifier is name=value where name has no ':' or '/' before the '='. */
		if (eq && spf_is_mod_name(s, (size_t)(eq - s))) {
			size_t nn = (size_t)(eq - s);
			const char *val = arena_strndup(a, eq + 1, n - nn - 1);

			if (!val)
				return -ENOMEM;
			if (nn == 8 && strncasecmp(s, "redirect", 8) == 0) {
				if (out->redirect || !*val || spf_macro_syntax(val) < 0)
					return -EINVAL;
				out->redirect = val;
			} else if (nn == 3 && strncasecmp(s, "exp", 3) == 0) {
				if (out->exp || !*val)
					return -EINVAL;
				out->exp = val;
			}
			continue; /* unknown modifiers are ignored (RFC 7208 6) */
		}
		if (out->n >= SPF_MAX_TERMS)
			return -EINVAL;
		if (spf_term_parse(s, n, a, &out->t[out->n]) < 0)
			return -EINVAL;
		out->n++;
	}
	return 0;
}

/* ---- macros (RFC 7208 7) ---- */

static int spf_ip_text(const struct dns_addr *ip, char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	if (ip->af == AF_INET)
		return snprintf(out, n, "%u.%u.%u.%u", ip->a[0], ip->a[1], ip->a[2], ip->a[3]) < 0;
	if (n < 64)
		return -1;
	size_t o = 0;
	for (int i = 0; i < 16; i++) {
		out[o++] = hex[ip->a[i] >> 4];
		out[o++] = '.';
		out[o++] = hex[ip->a[i] & 15];
		out[o++] = i == 15 ? '\0' : '.';
	}
	return 0;
}

/* One macro's value split at delims, reversed/trimmed, joined with '.' onto out. */
static int spf_macro_transform(const char *val, unsigned keep, int rev, const char *delims,
                               char *out, size_t *o, size_t outsz)
{
	const char *parts[128];
	size_t plen[128];
	unsigned np = 0;
	const char *s = val;

	for (;;) {
		const char *e = s;
		while (*e && !strchr(delims, *e))
			e++;
		if (np == 128)
			return -ENOSPC;
		parts[np] = s;
		plen[np] = (size_t)(e - s);
		np++;
		if (!*e)
			break;
		s = e + 1;
	}
	if (rev)
		for (unsigned i = 0; i < np / 2; i++) {
			const char *tp = parts[i];
			size_t tl = plen[i];
			parts[i] = parts[np - 1 - i];
			plen[i] = plen[np - 1 - i];
			parts[np - 1 - i] = tp;
			plen[np - 1 - i] = tl;
		}
	unsigned first = keep && keep < np ? np - keep : 0;
	for (unsigned i = first; i < np; i++) {
		if (*o + plen[i] + 2 > outsz)
			return -ENOSPC;
		if (i > first)
			out[(*o)++] = '.';
		memcpy(out + *o, parts[i], plen[i]);
		*o += plen[i];
	}
	out[*o] = '\0';
	return 0;
}

int spf_macro_expand(const char *spec, const struct spf_macro_ctx *c, char *out, size_t outsz)
{
	size_t o = 0;
	const char *p = spec;
	char ipbuf[72];

	if (outsz == 0)
		return -ENOSPC;
	out[0] = '\0';
	while (*p) {
		if (*p != '%') {
			if (o + 2 > outsz)
				return -ENOSPC;
			out[o++] = *p++;
			continue;
		}
		p++;
		if (*p == '%' || *p == '_' || *p == '-') {
			const char *lit = *p == '%' ? "%" : *p == '_' ? " " : "%20";
			size_t l = strlen(lit);
			if (o + l + 1 > outsz)
				return -ENOSPC;
			memcpy(out + o, lit, l);
			o += l;
			p++;
			continue;
		}
		if (*p != '{')
			return -EINVAL;
		p++;
		char letter = (char)tolower((unsigned char)*p);
		const char *val;
		const char *at;
		char local[SPF_NAME_MAX];

		switch (letter) {
		case 's':
			val = c->sender;
			break;
		case 'l':
			at = strrchr(c->sender, '@');
			snprintf(local, sizeof local, "%.*s",
			         (int)(at ? (size_t)(at - c->sender) : 0), c->sender);
			val = local[0] ? local : "postmaster";
			break;
		case 'o':
			at = strrchr(c->sender, '@');
			val = at ? at + 1 : c->sender;
			break;
		case 'd':
			val = c->domain;
			break;
		case 'i':
			if (spf_ip_text(c->ip, ipbuf, sizeof ipbuf) != 0)
				return -EINVAL;
			val = ipbuf;
			break;
		case 'p':
			val = "unknown";
			break;
		case 'v':
			val = c->ip->af == AF_INET ? "in-addr" : "ip6";
			break;
		case 'h':
			val = c->helo && *c->helo ? c->helo : "unknown";
			break;
		default:
			return -EINVAL; /* c, r, t belong to exp= only */
		}
		p++;
		unsigned keep = 0;
		int digits = 0, rev = 0;
		while (isdigit((unsigned char)*p)) {
			keep = keep * 10 + (unsigned)(*p++ - '0');
			if (++digits > 3)
				return -EINVAL;
		}
		if (digits && keep == 0)
			return -EINVAL;
		if (*p == 'r' || *p == 'R') {
			rev = 1;
			p++;
		}
		char delims[8];
		size_t nd = 0;
		while (*p && strchr(".-+,/_=", *p)) {
			if (nd + 1 < sizeof delims)
				delims[nd++] = *p;
			p++;
		}
		delims[nd] = '\0';
		if (*p != '}')
			return -EINVAL;
		p++;
		if (spf_macro_transform(val, keep, rev, nd ? delims : ".", out, &o, outsz) < 0)
			return -ENOSPC;
	}
	out[o] = '\0';
	/* RFC 7208 7.3: longer than 253: drop labels from the left. */
	while (strlen(out) > 253) {
		char *dot = strchr(out, '.');
		if (!dot)
			return -EINVAL;
		memmove(out, dot + 1, strlen(dot + 1) + 1);
	}
	return 0;
}

/* ---- evaluation ---- */

struct spf_state {
	const struct auth_dns *dns;
	struct arena *a;
	const char *sender;
	const char *helo;
	struct dns_addr ip;
	unsigned lookups, voids, depth;
	char why[128];
};

static int spf_domain_ok(const char *d)
{
	size_t n = strlen(d), lab = 0;

	if (n == 0 || n > 253 || !strchr(d, '.'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (d[i] == '.') {
			if (lab == 0 && i + 1 < n)
				return 0;
			lab = 0;
		} else if (++lab > 63) {
			return 0;
		}
	}
	return 1;
}

static int spf_addr_in(const struct dns_addr *ip, const struct dns_addr *net, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (ip->af != net->af)
		return 0;
	if (memcmp(ip->a, net->a, whole) != 0)
		return 0;
	if (rest) {
		unsigned char m = (unsigned char)(0xff << (8 - rest));
		if ((ip->a[whole] & m) != (net->a[whole] & m))
			return 0;
	}
	return 1;
}

/* One lookup; counts void answers. DNS_OK and friends, or -1 for the void limit. */
static int spf_lookup(struct spf_state *st, const char *name, int type, struct dns_answer *ans)
{
	struct dns_query q = {name, type, {0}};

	if (st->dns->lookup(st->dns->ctx, &q, 1, st->a) < 0)
		q.ans.status = DNS_TEMPFAIL;
	*ans = q.ans;
	if (ans->status == DNS_NXDOMAIN || ans->status == DNS_NODATA) {
		if (++st->voids > SPF_MAX_VOIDS) {
			snprintf(st->why, sizeof st->why, "more than %d void lookups",
			         SPF_MAX_VOIDS);
			return -1;
		}
	}
	return 0;
}

static int spf_count(struct spf_state *st)
{
	if (++st->lookups > SPF_MAX_LOOKUPS) {
		snprintf(st->why, sizeof st->why, "more than %d DNS lookups", SPF_MAX_LOOKUPS);
		return -1;
	}
	return 0;
}

static enum spf_result spf_check_host(struct spf_state *st, const char *domain);

/* Does any of the addresses of name match the client within the CIDR lengths? 1, 0, or a
 * negative spf_result for errors (-SPF_TEMPERROR, -SPF_PERMERROR). */
static int spf_match_addrs(struct spf_state *st, const char *const *names, unsigned n,
                           const struct spf_term *t, int count_void)
{
	struct dns_query q[SPF_MAX_NAMES];
	int type = st->ip.af == AF_INET ? DNS_T_A : DNS_T_AAAA;
	unsigned bits = st->ip.af == AF_INET ? t->cidr4 : t->cidr6;
	int temp = 0;

	if (n > SPF_MAX_NAMES)
		n = SPF_MAX_NAMES;
	for (unsigned i = 0; i < n; i++)
		q[i] = (struct dns_query){names[i], type, {0}};
	if (n && st->dns->lookup(st->dns->ctx, q, n, st->a) < 0)
		return -SPF_TEMPERROR;
	for (unsigned i = 0; i < n; i++) {
		const struct dns_answer *an = &q[i].ans;
		if (an->status == DNS_OK) {
			for (unsigned j = 0; j < an->n; j++)
				if (spf_addr_in(&st->ip, &an->addr[j], bits))
					return 1;
		} else if (an->status == DNS_NXDOMAIN || an->status == DNS_NODATA) {
			if (count_void && ++st->voids > SPF_MAX_VOIDS) {
				snprintf(st->why, sizeof st->why, "more than %d void lookups",
				         SPF_MAX_VOIDS);
				return -SPF_PERMERROR;
			}
		} else {
			temp = 1;
		}
	}
	return temp ? -SPF_TEMPERROR : 0;
}

static int spf_ptr_match(struct spf_state *st, const char *target)
{
	char rev[128];
	struct dns_answer ans;
	size_t tl = strlen(target);

	if (dns_reverse_name(&st->ip, st->ip.af == AF_INET ? "in-addr.arpa" : "ip6.arpa", rev,
	                     sizeof rev) < 0)
		return 0;
	if (spf_lookup(st, rev, DNS_T_PTR, &ans) < 0)
		return -SPF_PERMERROR;
	if (ans.status != DNS_OK)
		return 0; /* RFC 7208 5.5: a PTR failure is just no match */
	for (unsigned i = 0; i < ans.n && i < SPF_MAX_NAMES; i++) {
		const char *nm = ans.str[i];
		size_t nl = strlen(nm);
		struct spf_term any = {.cidr4 = 32, .cidr6 = 128};

		if (!(nl == tl && strcasecmp(nm, target) == 0) &&
		    !(nl > tl && nm[nl - tl - 1] == '.' && strcasecmp(nm + nl - tl, target) == 0))
			continue;
		if (spf_match_addrs(st, &nm, 1, &any, 0) == 1)
			return 1;
	}
	return 0;
}

/* Evaluate one mechanism: 1 match, 0 no match, negative spf_result on error. */
static int spf_mech_match(struct spf_state *st, const struct spf_term *t, const char *domain)
{
	char target[SPF_NAME_MAX];
	struct spf_macro_ctx mc = {st->sender, domain, st->helo, &st->ip};
	struct dns_answer ans;
	const char *tp = target;

	if (t->mech == SPF_M_IP4 || t->mech == SPF_M_IP6)
		return spf_addr_in(&st->ip, &t->ip, t->mech == SPF_M_IP4 ? t->cidr4 : t->cidr6);
	if (t->mech == SPF_M_ALL)
		return 1;
	if (spf_count(st) < 0)
		return -SPF_PERMERROR;
	if (t->domain) {
		if (spf_macro_expand(t->domain, &mc, target, sizeof target) < 0)
			return -SPF_PERMERROR;
	} else {
		snprintf(target, sizeof target, "%s", domain);
	}
	switch (t->mech) {
	case SPF_M_INCLUDE: {
		enum spf_result r = spf_check_host(st, target);
		switch (r) {
		case SPF_PASS:
			return 1;
		case SPF_FAIL:
		case SPF_SOFTFAIL:
		case SPF_NEUTRAL:
			return 0;
		case SPF_TEMPERROR:
			return -SPF_TEMPERROR;
		default:
			if (r == SPF_NONE)
				snprintf(st->why, sizeof st->why, "include:%.80s has no record",
				         target);
			return -SPF_PERMERROR;
		}
	}
	case SPF_M_A:
		return spf_match_addrs(st, &tp, 1, t, 1);
	case SPF_M_MX: {
		if (spf_lookup(st, target, DNS_T_MX, &ans) < 0)
			return -SPF_PERMERROR;
		if (ans.status == DNS_TEMPFAIL || ans.status == DNS_TIMEOUT ||
		    ans.status == DNS_LIMIT)
			return -SPF_TEMPERROR;
		if (ans.status != DNS_OK)
			return 0;
		if (ans.n > SPF_MAX_NAMES) {
			snprintf(st->why, sizeof st->why, "more than %d MX names", SPF_MAX_NAMES);
			return -SPF_PERMERROR;
		}
		return spf_match_addrs(st, (const char *const *)ans.str, ans.n, t, 0);
	}
	case SPF_M_PTR:
		return spf_ptr_match(st, target);
	case SPF_M_EXISTS: {
		struct dns_query q = {target, DNS_T_A, {0}};
		if (st->dns->lookup(st->dns->ctx, &q, 1, st->a) < 0)
			return -SPF_TEMPERROR;
		if (q.ans.status == DNS_OK)
			return 1;
		if (q.ans.status == DNS_NXDOMAIN || q.ans.status == DNS_NODATA) {
			if (++st->voids > SPF_MAX_VOIDS) {
				snprintf(st->why, sizeof st->why, "more than %d void lookups",
				         SPF_MAX_VOIDS);
				return -SPF_PERMERROR;
			}
			return 0;
		}
		return -SPF_TEMPERROR;
	}
	default:
		return -SPF_PERMERROR;
	}
}

static const char *spf_mech_name(enum spf_mech m)
{
	static const char *const n[] = {"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"};
	return (unsigned)m < 8 ? n[m] : "?";
}

static enum spf_result spf_check_host(struct spf_state *st, const char *domain)
{
	struct dns_answer ans;
	struct spf_record *rec;
	const char *txt = NULL;
	enum spf_result res;

	if (!spf_domain_ok(domain))
		return SPF_NONE;
	if (++st->depth > SPF_MAX_DEPTH) {
		snprintf(st->why, sizeof st->why, "nested too deep");
		return SPF_PERMERROR;
	}
	{
		struct dns_query q = {domain, DNS_T_TXT, {0}};
		if (st->dns->lookup(st->dns->ctx, &q, 1, st->a) < 0)
			q.ans.status = DNS_TEMPFAIL;
		ans = q.ans;
	}
	if (ans.status == DNS_TEMPFAIL || ans.status == DNS_TIMEOUT || ans.status == DNS_LIMIT) {
		snprintf(st->why, sizeof st->why, "TXT %.80s: %s", domain,
		         dns_status_name(ans.status));
		return SPF_TEMPERROR;
	}
	for (unsigned i = 0; ans.status == DNS_OK && i < ans.n; i++) {
		const char *s = ans.str[i];
		if (strncasecmp(s, "v=spf1", 6) != 0 || (s[6] != '\0' && s[6] != ' '))
			continue;
		if (txt) {
			snprintf(st->why, sizeof st->why, "%.80s has two SPF records", domain);
			return SPF_PERMERROR;
		}
		txt = s;
	}
	if (!txt) {
		snprintf(st->why, sizeof st->why, "no SPF record at %.80s", domain);
		return SPF_NONE;
	}
	rec = arena_alloc(st->a, sizeof *rec);
	if (!rec)
		return SPF_TEMPERROR;
	if (spf_record_parse(txt, st->a, rec) < 0) {
		snprintf(st->why, sizeof st->why, "syntax error in %.80s's record", domain);
		return SPF_PERMERROR;
	}
	for (unsigned i = 0; i < rec->n; i++) {
		const struct spf_term *t = &rec->t[i];
		int m = spf_mech_match(st, t, domain);
		if (m < 0)
			return (enum spf_result)(-m);
		if (m == 0)
			continue;
		snprintf(st->why, sizeof st->why, "%s%s%s%.80s in %.80s",
		         t->qual == '+' ? "" : (char[]){t->qual, 0}, spf_mech_name(t->mech),
		         t->domain ? ":" : "", t->domain ? t->domain : "", domain);
		switch (t->qual) {
		case '-':
			return SPF_FAIL;
		case '~':
			return SPF_SOFTFAIL;
		case '?':
			return SPF_NEUTRAL;
		default:
			return SPF_PASS;
		}
	}
	if (rec->redirect) {
		char target[SPF_NAME_MAX];
		struct spf_macro_ctx mc = {st->sender, domain, st->helo, &st->ip};

		if (spf_count(st) < 0)
			return SPF_PERMERROR;
		if (spf_macro_expand(rec->redirect, &mc, target, sizeof target) < 0)
			return SPF_PERMERROR;
		res = spf_check_host(st, target);
		if (res == SPF_NONE) {
			snprintf(st->why, sizeof st->why, "redirect=%.80s has no record", target);
			return SPF_PERMERROR;
		}
		return res;
	}
	snprintf(st->why, sizeof st->why, "no term matched in %.80s", domain);
	return SPF_NEUTRAL;
}

void spf_check(const struct auth_dns *dns, struct arena *a, const struct spf_request *req,
               struct spf_outcome *out)
{
	struct spf_state st;
	char sender[600];
	const char *at;

	memset(out, 0, sizeof *out);
	memset(&st, 0, sizeof st);
	st.dns = dns;
	st.a = a;
	st.helo = req->helo ? req->helo : "";
	if (dns_addr_parse(req->ip, &st.ip) < 0) {
		out->result = SPF_NONE;
		snprintf(out->why, sizeof out->why, "no client address");
		return;
	}
	if (req->sender && *req->sender) {
		at = strrchr(req->sender, '@');
		if (at)
			snprintf(sender, sizeof sender, "%s", req->sender);
		else
			snprintf(sender, sizeof sender, "postmaster@%s", req->sender);
	} else {
		snprintf(sender, sizeof sender, "postmaster@%s", st.helo);
	}
	st.sender = sender;
	at = strrchr(sender, '@');
	snprintf(out->domain, sizeof out->domain, "%s", at + 1);
	out->result = spf_check_host(&st, out->domain);
	snprintf(out->why, sizeof out->why, "%s", st.why);
	out->lookups = st.lookups;
	out->voids = st.voids;
}
