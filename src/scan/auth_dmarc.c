/*
 * auth_dmarc - DMARC record parsing, organisational domains and evaluation (auth_dmarc.h).
 * Records come from the sender's DNS: hostile input, fuzzed through fuzz_dns.
 */
#include "scan/auth_dmarc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Multi-label public suffixes under which organisations register (a small, documented subset
 * of the Public Suffix List; single labels such as "com" or "de" need no entry). */
static const char *const dmarc_suffixes[] = {
    "co.uk",  "org.uk",    "ac.uk",        "gov.uk",      "ltd.uk",        "plc.uk", "me.uk",
    "net.uk", "com.au",    "net.au",       "org.au",      "edu.au",        "gov.au", "co.nz",
    "org.nz", "net.nz",    "co.jp",        "ne.jp",       "or.jp",         "ac.jp",  "go.jp",
    "co.kr",  "or.kr",     "com.br",       "net.br",      "org.br",        "gov.br", "com.cn",
    "net.cn", "org.cn",    "gov.cn",       "co.in",       "net.in",        "org.in", "gov.in",
    "com.mx", "org.mx",    "com.ar",       "com.tr",      "com.tw",        "com.hk", "com.sg",
    "com.my", "co.za",     "org.za",       "co.il",       "co.id",         "or.id",  "com.ua",
    "com.pl", "github.io", "blogspot.com", "appspot.com", "herokuapp.com",
};

const char *dmarc_result_name(enum dmarc_result r)
{
	static const char *const n[] = {"none", "pass", "fail", "temperror", "permerror"};
	return (unsigned)r < 5 ? n[r] : "?";
}

const char *dmarc_policy_name(enum dmarc_policy p)
{
	static const char *const n[] = {"none", "quarantine", "reject"};
	return (unsigned)p < 3 ? n[p] : "?";
}

static int dmarc_policy_parse(const char *v, size_t n, enum dmarc_policy *out)
{
	if (n == 4 && strncasecmp(v, "none", 4) == 0)
		*out = DMARC_P_NONE;
	else if (n == 10 && strncasecmp(v, "quarantine", 10) == 0)
		*out = DMARC_P_QUARANTINE;
	else if (n == 6 && strncasecmp(v, "reject", 6) == 0)
		*out = DMARC_P_REJECT;
	else
		return -EINVAL;
	return 0;
}

static void trim(const char **p, size_t *n)
{
	while (*n && isspace((unsigned char)**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n && isspace((unsigned char)(*p)[*n - 1]))
		(*n)--;
}

int dmarc_record_parse(const char *txt, struct dmarc_record *out)
{
	const char *p = txt;
	int first = 1, have_p = 0, have_rua = 0, bad_p = 0;

	memset(out, 0, sizeof *out);
	out->pct = 100;
	out->adkim = out->aspf = 'r';
	while (*p) {
		const char *e = strchr(p, ';'), *eq;
		size_t n = e ? (size_t)(e - p) : strlen(p), kn, vn;
		const char *k = p, *v;

		p += n + (e ? 1 : 0);
		eq = memchr(k, '=', n);
		if (!eq) {
			trim(&k, &n);
			if (n == 0 && !first)
				continue; /* trailing ';' */
			return -EINVAL;
		}
		kn = (size_t)(eq - k);
		v = eq + 1;
		vn = n - kn - 1;
		trim(&k, &kn);
		trim(&v, &vn);
		if (first) {
			/* RFC 7489 6.4: v=DMARC1 must come first. */
			if (kn != 1 || k[0] != 'v' || vn != 6 || strncmp(v, "DMARC1", 6) != 0)
				return -EINVAL;
			first = 0;
			continue;
		}
		if (kn == 1 && k[0] == 'p') {
			if (dmarc_policy_parse(v, vn, &out->p) < 0)
				bad_p = 1;
			have_p = 1;
		} else if (kn == 2 && strncmp(k, "sp", 2) == 0) {
			if (dmarc_policy_parse(v, vn, &out->sp) == 0)
				out->has_sp = 1;
		} else if (kn == 3 && strncmp(k, "pct", 3) == 0) {
			unsigned pct = 0;
			size_t i;
			for (i = 0; i < vn && i < 4 && isdigit((unsigned char)v[i]); i++)
				pct = pct * 10 + (unsigned)(v[i] - '0');
			if (i == vn && vn > 0 && pct <= 100)
				out->pct = pct;
		} else if (kn == 5 && strncmp(k, "adkim", 5) == 0) {
			if (vn == 1 && (v[0] == 'r' || v[0] == 's'))
				out->adkim = v[0];
		} else if (kn == 4 && strncmp(k, "aspf", 4) == 0) {
			if (vn == 1 && (v[0] == 'r' || v[0] == 's'))
				out->aspf = v[0];
		} else if (kn == 3 && strncmp(k, "rua", 3) == 0) {
			have_rua = vn > 0;
		}
		/* Other tags (ruf, fo, rf, ri) concern reports, which we do not send. */
	}
	if (first)
		return -EINVAL;
	/* RFC 7489 6.6.3: no valid p= but a rua= means p=none; otherwise no record. */
	if (!have_p || bad_p) {
		if (!have_rua)
			return -EINVAL;
		out->p = DMARC_P_NONE;
	}
	if (!out->has_sp)
		out->sp = out->p;
	return 0;
}

int dmarc_org_domain(const char *d, char *out, size_t outsz)
{
	char low[256];
	size_t n = strlen(d), i;
	const char *suffix_start = NULL;

	if (n == 0 || n >= sizeof low)
		return -EINVAL;
	for (i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)d[i]);
	low[n] = '\0';
	if (n && low[n - 1] == '.')
		low[--n] = '\0';
	/* The longest listed suffix that d ends with at a label boundary. */
	for (i = 0; i < sizeof dmarc_suffixes / sizeof dmarc_suffixes[0]; i++) {
		size_t sl = strlen(dmarc_suffixes[i]);
		if (n > sl && low[n - sl - 1] == '.' &&
		    strcmp(low + n - sl, dmarc_suffixes[i]) == 0)
			if (!suffix_start || low + n - sl < suffix_start)
				suffix_start = low + n - sl;
	}
	if (!suffix_start) {
		const char *dot = strrchr(low, '.');
		if (!dot)
			return snprintf(out, outsz, "%s", low) >= (int)outsz ? -EINVAL : 0;
		suffix_start = dot + 1;
	}
	/* One label more than the suffix. */
	const char *org = suffix_start;
	if (org > low) {
		org -= 1; /* the dot before the suffix */
		while (org > low && org[-1] != '.')
			org--;
	}
	return snprintf(out, outsz, "%s", org) >= (int)outsz ? -EINVAL : 0;
}

int dmarc_aligned(const char *a, const char *b, char mode)
{
	char oa[256], ob[256];

	if (!a || !b || !*a || !*b)
		return 0;
	if (strcasecmp(a, b) == 0)
		return 1;
	if (mode == 's')
		return 0;
	if (dmarc_org_domain(a, oa, sizeof oa) < 0 || dmarc_org_domain(b, ob, sizeof ob) < 0)
		return 0;
	return strcmp(oa, ob) == 0;
}

/* Look for exactly one valid record at _dmarc.<d>: 1 found, 0 none, -1 temporary error. */
static int dmarc_fetch(const struct auth_dns *dns, struct arena *a, const char *d,
                       struct dmarc_record *rec)
{
	char name[300];
	struct dns_query q = {name, DNS_T_TXT, {0}};
	int found = 0;

	if (snprintf(name, sizeof name, "_dmarc.%s", d) >= (int)sizeof name)
		return 0;
	if (dns->lookup(dns->ctx, &q, 1, a) < 0)
		return -1;
	if (q.ans.status == DNS_TEMPFAIL || q.ans.status == DNS_TIMEOUT ||
	    q.ans.status == DNS_LIMIT)
		return -1;
	for (unsigned i = 0; q.ans.status == DNS_OK && i < q.ans.n; i++) {
		struct dmarc_record r;
		if (strncmp(q.ans.str[i], "v=DMARC1", 8) != 0)
			continue;
		if (dmarc_record_parse(q.ans.str[i], &r) < 0)
			continue;
		if (found)
			return 0; /* RFC 7489 6.6.3: more than one record: none */
		*rec = r;
		found = 1;
	}
	return found;
}

void dmarc_check(const struct auth_dns *dns, struct arena *a, const struct dmarc_input *in,
                 struct dmarc_outcome *out)
{
	struct dmarc_record rec;
	char org[256];
	int f, sub = 0;

	memset(out, 0, sizeof *out);
	if (!in->from_domain || !*in->from_domain ||
	    dmarc_org_domain(in->from_domain, org, sizeof org) < 0) {
		out->result = DMARC_PERMERROR; /* no usable From domain */
		return;
	}
	f = dmarc_fetch(dns, a, in->from_domain, &rec);
	snprintf(out->record_domain, sizeof out->record_domain, "%s", in->from_domain);
	if (f == 0 && strcasecmp(org, in->from_domain) != 0) {
		f = dmarc_fetch(dns, a, org, &rec);
		snprintf(out->record_domain, sizeof out->record_domain, "%s", org);
		sub = 1;
	}
	if (f < 0) {
		out->result = DMARC_TEMPERROR;
		return;
	}
	if (f == 0) {
		out->result = DMARC_NONE;
		out->record_domain[0] = '\0';
		return;
	}
	out->spf_aligned = in->spf_pass && dmarc_aligned(in->spf_domain, in->from_domain, rec.aspf);
	for (unsigned i = 0; i < in->ndkim && !out->dkim_aligned; i++)
		out->dkim_aligned =
		    dmarc_aligned(in->dkim_pass_domains[i], in->from_domain, rec.adkim);
	out->asked = sub ? rec.sp : rec.p;
	if (out->spf_aligned || out->dkim_aligned) {
		out->result = DMARC_PASS;
		out->policy = DMARC_P_NONE;
		return;
	}
	out->result = DMARC_FAIL;
	out->policy = out->asked;
	/* RFC 7489 6.6.4: outside the pct sample, apply the next milder policy. */
	if (in->sample >= rec.pct) {
		if (out->policy == DMARC_P_REJECT)
			out->policy = DMARC_P_QUARANTINE;
		else if (out->policy == DMARC_P_QUARANTINE)
			out->policy = DMARC_P_NONE;
	}
}
