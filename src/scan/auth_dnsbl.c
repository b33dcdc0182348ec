/*
 * dnsbl scanner - the client address and the registered domains of the message's links
 * against DNS block lists (dnsbl.zones for addresses, dnsbl.domain_zones for domains).
 *
 * A zone entry is "zone[:score[:codes]]": score defaults to DNSBL_DEFAULT_SCORE, codes is a
 * '+'-separated list of last octets or ranges ("2+4-7") of the 127.0.0.x answers that count
 * as listed (default: any 127.0.0.x). Answers 127.255.255.x are the list refusing us (rate
 * limit, open-resolver ban: Spamhaus, SURBL), and answers outside 127/8 are a hijacked or
 * wildcarded zone: both are errors (symbol DNSBL_ERROR, score 0), never "listed", as rspamd and
 * SpamAssassin treat them. All queries of a message go out together.
 *
 * Symbols: RBL_<ZONE> (address listed), DBL_<ZONE> (a link's domain listed), with the zone
 * upper-cased and dots as '_'; DNSBL_ERROR; DNSBL_SKIPPED when no resolver is configured.
 */
#include "scan/auth_dmarc.h"
#include "scan/auth_dns.h"
#include "scan/auth_dnsbl.h"
#include "scan/scan.h"

#include "core/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define DNSBL_MAX_ZONES 16
#define DNSBL_DEFAULT_SCORE 3.0
/* Link domains looked up per message: enough for real mail; a link farm is judged elsewhere. */
#define DNSBL_MAX_DOMAINS 10
#define DNSBL_MAX_QUERIES (DNSBL_MAX_ZONES * (DNSBL_MAX_DOMAINS + 1))

struct dnsbl_zone {
	char zone[128];
	double score;
	unsigned char codes[32]; /* bitmap of accepted last octets */
	int domains;             /* a domain list */
};

static struct dnsbl_zone zones[DNSBL_MAX_ZONES];
static unsigned nzones;
static struct resolver *dnsbl_resolver;
static uint64_t dnsbl_budget_ms;

static int dnsbl_codes(const char *s, unsigned char *bm)
{
	memset(bm, 0, 32);
	while (*s) {
		char *e;
		unsigned long lo = strtoul(s, &e, 10), hi = lo;
		if (e == s || lo > 255)
			return -1;
		if (*e == '-') {
			s = e + 1;
			hi = strtoul(s, &e, 10);
			if (e == s || hi > 255 || hi < lo)
				return -1;
		}
		for (unsigned long v = lo; v <= hi; v++)
			bm[v / 8] |= (unsigned char)(1u << (v % 8));
		if (*e == '+')
			e++;
		else if (*e)
			return -1;
		s = e;
	}
	return 0;
}

static void dnsbl_parse_list(const char *list, int domains)
{
	char copy[CONFIG_STR];
	char *save = NULL;

	snprintf(copy, sizeof copy, "%s", list);
	for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		struct dnsbl_zone *z = &zones[nzones];
		char *sc, *codes;

		if (nzones >= DNSBL_MAX_ZONES) {
			log_warn("dnsbl: more than %d zones; the rest are ignored",
			         DNSBL_MAX_ZONES);
			return;
		}
		memset(z, 0, sizeof *z);
		z->score = DNSBL_DEFAULT_SCORE;
		z->domains = domains;
		memset(z->codes, 0xff, sizeof z->codes);
		z->codes[0] &= (unsigned char)~1u; /* 127.0.0.0 is no answer code */
		if ((sc = strchr(tok, ':')) != NULL) {
			*sc++ = '\0';
			if ((codes = strchr(sc, ':')) != NULL) {
				*codes++ = '\0';
				if (dnsbl_codes(codes, z->codes) < 0) {
					log_warn("dnsbl: bad codes \"%s\" for %s; zone ignored",
					         codes, tok);
					continue;
				}
			}
			char *e;
			z->score = strtod(sc, &e);
			if (e == sc || *e) {
				log_warn("dnsbl: bad score \"%s\" for %s; zone ignored", sc, tok);
				continue;
			}
		}
		if (!*tok || strlen(tok) >= sizeof z->zone) {
			continue;
		}
		snprintf(z->zone, sizeof z->zone, "%s", tok);
		nzones++;
	}
}

static int dnsbl_init(const struct config *cfg)
{
	nzones = 0;
	dnsbl_parse_list(cfg->dnsbl.zones, 0);
	dnsbl_parse_list(cfg->dnsbl.domain_zones, 1);
	dnsbl_resolver = nzones ? resolver_get(cfg) : NULL;
	dnsbl_budget_ms = cfg->dns.budget_ms;
	if (dnsbl_budget_ms > cfg->scan.deadline_ms / 4)
		dnsbl_budget_ms = cfg->scan.deadline_ms / 4;
	return 0;
}

static void dnsbl_fini(void)
{
	dnsbl_resolver = NULL;
	resolver_shutdown();
}

static void dnsbl_symbol_name(char *out, size_t n, const char *prefix, const char *zone)
{
	size_t o = (size_t)snprintf(out, n, "%s", prefix);

	for (const char *p = zone; *p && o + 1 < n; p++)
		out[o++] = *p == '.' || *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	out[o] = '\0';
}

/* Judge one answer: 1 listed (code in *code), 0 not, -1 error (detail in why). */
int dnsbl_judge(const struct dns_answer *ans, const unsigned char *codes, unsigned char *code,
                char *why, size_t whysz)
{
	int listed = 0;

	if (ans->status == DNS_NXDOMAIN || ans->status == DNS_NODATA)
		return 0;
	if (ans->status != DNS_OK) {
		snprintf(why, whysz, "%s", dns_status_name(ans->status));
		return -1;
	}
	for (unsigned i = 0; i < ans->n; i++) {
		const unsigned char *a = ans->addr[i].a;
		if (ans->addr[i].af != AF_INET || a[0] != 127) {
			snprintf(why, whysz, "answer outside 127/8");
			return -1;
		}
		if (a[1] == 255 && a[2] == 255) {
			snprintf(why, whysz, "refused (127.255.255.%u)", a[3]);
			return -1;
		}
		if (a[1] == 0 && a[2] == 0 && (codes[a[3] / 8] & (1u << (a[3] % 8)))) {
			*code = a[3];
			listed = 1;
		}
	}
	return listed;
}

static int dnsbl_scan(struct scan_task *t)
{
	struct dns_query q[DNSBL_MAX_QUERIES];
	unsigned qz[DNSBL_MAX_QUERIES];
	const char *qwhat[DNSBL_MAX_QUERIES];
	char doms[DNSBL_MAX_DOMAINS][256];
	unsigned nd = 0, nq = 0, errors = 0;
	struct dns_addr ip;
	int have_ip;
	char why[64] = "";

	if (nzones == 0)
		return 0;
	if (!dnsbl_resolver) {
		scan_add_symbol(t->res, "DNSBL_SKIPPED", 0, "no dns.resolver configured");
		return 0;
	}
	have_ip = t->env && dns_addr_parse(t->env->client_ip, &ip) == 0;
	for (const struct mime_url *u = t->mime ? t->mime->urls : NULL; u && nd < DNSBL_MAX_DOMAINS;
	     u = u->next) {
		struct dns_addr tmp;
		char org[256];
		unsigned k;

		if (!u->host || !*u->host || !strchr(u->host, '.') ||
		    dns_addr_parse(u->host, &tmp) == 0)
			continue;
		if (dmarc_org_domain(u->host, org, sizeof org) < 0)
			continue;
		for (k = 0; k < nd && strcmp(doms[k], org) != 0; k++)
			;
		if (k == nd)
			snprintf(doms[nd++], sizeof doms[0], "%s", org);
	}
	for (unsigned z = 0; z < nzones; z++) {
		char name[400];
		if (!zones[z].domains) {
			if (!have_ip || dns_reverse_name(&ip, zones[z].zone, name, sizeof name) < 0)
				continue;
			q[nq] = (struct dns_query){arena_strdup(t->arena, name), DNS_T_A, {0}};
			qwhat[nq] = t->env->client_ip;
			qz[nq++] = z;
			continue;
		}
		for (unsigned d = 0; d < nd; d++) {
			if (snprintf(name, sizeof name, "%s.%s", doms[d], zones[z].zone) >=
			    (int)sizeof name)
				continue;
			q[nq] = (struct dns_query){arena_strdup(t->arena, name), DNS_T_A, {0}};
			qwhat[nq] = doms[d];
			qz[nq++] = z;
		}
	}
	for (unsigned i = 0; i < nq; i++)
		if (!q[i].name)
			return 0; /* arena full: the message is judged without us */
	if (nq == 0)
		return 0;
	resolver_begin(dnsbl_resolver, dnsbl_budget_ms);
	struct auth_dns dns = resolver_dns(dnsbl_resolver);
	if (dns.lookup(dns.ctx, q, nq, t->arena) < 0)
		return 0;
	for (unsigned i = 0; i < nq; i++) {
		const struct dnsbl_zone *z = &zones[qz[i]];
		unsigned char code = 0;
		char sym[SCAN_SYMBOL_NAME];
		int r = dnsbl_judge(&q[i].ans, z->codes, &code, why, sizeof why);

		if (r < 0) {
			if (errors++ == 0)
				scan_add_symbol(t->res, "DNSBL_ERROR", 0, "%.80s: %s", z->zone,
				                why);
			continue;
		}
		if (r == 0)
			continue;
		dnsbl_symbol_name(sym, sizeof sym, z->domains ? "DBL_" : "RBL_", z->zone);
		scan_add_symbol(t->res, sym, z->score, "%.80s listed: 127.0.0.%u", qwhat[i], code);
	}
	return 0;
}

const struct scanner_ops dnsbl_scanner = {
    .name = "dnsbl",
    .init = dnsbl_init,
    .scan = dnsbl_scan,
    .reload = NULL,
    .fini = dnsbl_fini,
};
