/*
 * policy - see policy.h. Pure functions over plain values: no I/O, no allocation.
 */
#include "scan/policy.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void policy_defaults(struct tenant_policy *p)
{
	memset(p, 0, sizeof *p);
	p->on_malware = POLICY_REJECT;
	p->on_suspect = POLICY_QUARANTINE;
	p->on_phish = POLICY_QUARANTINE;
	p->tag_at = 5;
	p->quarantine_at = 10;
	p->reject_at = 15;
	p->quarantine_days = 30;
}

/* Parse "addr" or "addr/bits" into 16 bytes (v4 mapped into the first 4) and a family. */
static int policy_cidr_parse(const char *s, int *family, unsigned char *addr, unsigned *bits)
{
	char tmp[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned maxbits;

	if (alen == 0 || alen >= INET6_ADDRSTRLEN)
		return -1;
	memcpy(tmp, s, alen);
	tmp[alen] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, tmp, addr) == 1) {
		*family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, tmp, addr) == 1) {
		*family = AF_INET6;
		maxbits = 128;
	} else {
		return -1;
	}
	*bits = maxbits;
	if (slash) {
		char *end;
		unsigned long b = strtoul(slash + 1, &end, 10);

		if (slash[1] == '\0' || *end != '\0' || b > maxbits)
			return -1;
		*bits = (unsigned)b;
	}
	return 0;
}

static int policy_ip_in(const char *ip, const char *cidr)
{
	unsigned char a[16], n[16];
	unsigned abits, nbits, full, rest;
	int af, nf;

	if (ip[0] == '\0' || policy_cidr_parse(ip, &af, a, &abits) < 0 ||
	    policy_cidr_parse(cidr, &nf, n, &nbits) < 0 || af != nf)
		return 0;
	full = nbits / 8;
	rest = nbits % 8;
	if (memcmp(a, n, full) != 0)
		return 0;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));

		if ((a[full] & mask) != (n[full] & mask))
			return 0;
	}
	return 1;
}

/* The sender's domain: after the last '@', without a trailing '>' or dot. */
static const char *policy_sender_domain(const char *from, size_t *len)
{
	const char *at = strrchr(from, '@');
	size_t n;

	if (at == NULL)
		return NULL;
	at++;
	n = strlen(at);
	while (n && (at[n - 1] == '>' || at[n - 1] == '.'))
		n--;
	*len = n;
	return at;
}

static int policy_entry_match(const char *e, const struct scan_envelope *env)
{
	const char *dom;
	size_t dlen, elen = strlen(e);

	if (elen == 0)
		return 0;
	if (strchr(e, '@'))
		return strcasecmp(e, env->mail_from) == 0;
	if (strchr(e, ':') || strchr(e, '/') || (e[0] >= '0' && e[0] <= '9' && inet_addr(e) != INADDR_NONE))
		return policy_ip_in(env->client_ip, e);
	dom = policy_sender_domain(env->mail_from, &dlen);
	if (dom == NULL || dlen < elen)
		return 0;
	if (strncasecmp(dom + dlen - elen, e, elen) != 0)
		return 0;
	return dlen == elen || dom[dlen - elen - 1] == '.';
}

int policy_list_match(char *const *list, size_t n, const struct scan_envelope *env)
{
	if (env == NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (list[i] && policy_entry_match(list[i], env))
			return 1;
	return 0;
}

void policy_apply(const struct tenant *t, const struct scan_envelope *env,
		  struct scan_result *res)
{
	struct tenant_policy def;
	const struct tenant_policy *p;

	policy_defaults(&def);
	p = t ? &t->policy : &def;

	if (res->verdict == VERDICT_CLEAN && res->score >= p->tag_at)
		res->verdict = VERDICT_SPAM;

	if (t && policy_list_match(t->block, t->nblock, env)) {
		scan_add_symbol(res, "BLOCKLIST", 0, "sender or client on the client's block list");
		res->action = POLICY_REJECT;
		return;
	}
	switch (res->verdict) {
	case VERDICT_MALWARE:
		res->action = p->on_malware;
		return;
	case VERDICT_SUSPECT:
		res->action = p->on_suspect;
		return;
	default:
		break;
	}
	if (t && policy_list_match(t->allow, t->nallow, env)) {
		scan_add_symbol(res, "ALLOWLIST", 0, "sender or client on the client's allow list");
		res->action = POLICY_DELIVER;
		return;
	}
	if (res->verdict == VERDICT_PHISH) {
		res->action = p->on_phish;
		return;
	}
	if (res->score >= p->reject_at)
		res->action = POLICY_REJECT;
	else if (res->score >= p->quarantine_at)
		res->action = POLICY_QUARANTINE;
	else if (res->score >= p->tag_at)
		res->action = POLICY_TAG;
	else
		res->action = POLICY_DELIVER;
}
