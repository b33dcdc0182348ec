/*
 * auth scanner - SPF, DKIM and DMARC for one message, as symbols and an Authentication-Results
 * line (RFC 8601) that the queue manager puts on delivered mail.
 *
 * Symbols (score):
 *   SPF_PASS -0.2, SPF_FAIL 1.0, SPF_SOFTFAIL 0.5, SPF_NEUTRAL 0, SPF_NONE 0,
 *   SPF_TEMPERROR 0, SPF_PERMERROR 0.3
 *   DKIM_PASS -0.2 (one signature verified), DKIM_FAIL 1.0 (none verified, one failed),
 *   DKIM_TEMPERROR 0, DKIM_PERMERROR 0.1
 *   DMARC_PASS -0.5, DMARC_FAIL 1.0 and, from the domain's policy after pct:
 *   DMARC_POLICY_QUARANTINE 10.0 and DMARC_POLICY_REJECT 15.0, the default quarantine_at and
 *   reject_at thresholds: a domain's published policy becomes the client's action unless the
 *   client's thresholds say otherwise (docs/auth.md). DMARC_TEMPERROR 0.
 *   AUTH_RESULTS 0: detail is the Authentication-Results resinfo list.
 *   AUTH_SKIPPED 0: no dns.resolver configured; nothing was looked up.
 *
 * DNS goes through the process's resolver with this scanner's budget (dns.budget_ms, at most a
 * quarter of scan.deadline_ms).
 */
#include "scan/auth_dkim.h"
#include "scan/auth_dmarc.h"
#include "scan/auth_dns.h"
#include "scan/auth_spf.h"
#include "scan/scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct resolver *auth_resolver;
static uint64_t auth_budget_ms;

static int auth_init(const struct config *cfg)
{
	auth_resolver = resolver_get(cfg);
	auth_budget_ms = cfg->dns.budget_ms;
	if (auth_budget_ms > cfg->scan.deadline_ms / 4)
		auth_budget_ms = cfg->scan.deadline_ms / 4;
	return 0;
}

static void auth_fini(void)
{
	auth_resolver = NULL;
	resolver_shutdown();
	dkim_shutdown();
}

/* The domain of the first address in a From value ("Name <a@b>", "a@b (c)"). */
static int auth_from_domain(const char *v, char *out, size_t outsz)
{
	const char *lt = strchr(v, '<'), *s, *e, *at;

	if (lt) {
		s = lt + 1;
		e = strchr(s, '>');
		if (!e)
			return -1;
	} else {
		s = v;
		e = s + strcspn(s, ",( \t\r\n");
	}
	at = NULL;
	for (const char *p = s; p < e; p++)
		if (*p == '@')
			at = p;
	if (!at || at + 1 >= e)
		return -1;
	at++;
	size_t n = (size_t)(e - at);
	while (n && (at[n - 1] == ' ' || at[n - 1] == '.'))
		n--;
	if (n == 0 || n >= outsz)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = at[i];
		if (c <= ' ' || c == '>' || c == '<' || c == ';' || c == '"' ||
		    (unsigned char)c >= 0x7f)
			return -1;
		out[i] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
	}
	out[n] = '\0';
	return 0;
}

static void spf_symbol(struct scan_result *res, const struct spf_outcome *o)
{
	static const struct {
		const char *name;
		double score;
	} t[] = {
	    [SPF_NONE] = {"SPF_NONE", 0},
	    [SPF_NEUTRAL] = {"SPF_NEUTRAL", 0},
	    [SPF_PASS] = {"SPF_PASS", -0.2},
	    [SPF_FAIL] = {"SPF_FAIL", 1.0},
	    [SPF_SOFTFAIL] = {"SPF_SOFTFAIL", 0.5},
	    [SPF_TEMPERROR] = {"SPF_TEMPERROR", 0},
	    [SPF_PERMERROR] = {"SPF_PERMERROR", 0.3},
	};
	scan_add_symbol(res, t[o->result].name, t[o->result].score, "%.60s: %.90s", o->domain,
	                o->why);
}

static int auth_scan(struct scan_task *t)
{
	const struct scan_envelope *env = t->env;
	struct spf_outcome spf;
	struct dkim_result dk[DKIM_MAX_SIGS];
	struct dmarc_outcome dm;
	struct dmarc_input din;
	const char *pass_d[DKIM_MAX_SIGS];
	char from_dom[256] = "", ar[SCAN_SYMBOL_DETAIL + 64];
	unsigned ndk = 0, npass = 0;
	size_t o = 0;
	int have_from = 0, nfrom = 0;
	struct auth_dns dns;

	if (!auth_resolver) {
		scan_add_symbol(t->res, "AUTH_SKIPPED", 0, "no dns.resolver configured");
		return 0;
	}
	resolver_begin(auth_resolver, auth_budget_ms);
	dns = resolver_dns(auth_resolver);

	/* SPF needs the SMTP client address: absent for a file scanned without --ip. */
	memset(&spf, 0, sizeof spf);
	spf.result = SPF_NONE;
	if (env && env->client_ip[0]) {
		struct spf_request rq = {env->client_ip, env->helo, env->mail_from};
		spf_check(&dns, t->arena, &rq, &spf);
		spf_symbol(t->res, &spf);
	}

	if (t->mime && t->mime->root) {
		ndk = dkim_verify(&dns, t->arena, t->mime->root, t->msg, t->len, dk, DKIM_MAX_SIGS);
		for (const struct mime_header *h = t->mime->root->headers; h; h = h->next)
			if (h->name.len == 4 && strncasecmp(h->name.p, "From", 4) == 0) {
				if (nfrom++ == 0 && h->value)
					have_from = auth_from_domain(h->value, from_dom,
					                             sizeof from_dom) == 0;
			}
	}
	int dkim_fail = 0, dkim_temp = 0, dkim_perm = 0;
	for (unsigned i = 0; i < ndk; i++) {
		if (dk[i].status == DKIM_PASS)
			pass_d[npass++] = dk[i].d;
		dkim_fail |= dk[i].status == DKIM_FAIL;
		dkim_temp |= dk[i].status == DKIM_TEMPERROR;
		dkim_perm |= dk[i].status == DKIM_PERMERROR;
	}
	if (npass)
		scan_add_symbol(t->res, "DKIM_PASS", -0.2, "d=%.60s s=%.40s", pass_d[0], dk[0].s);
	else if (dkim_fail || dkim_perm || dkim_temp) {
		unsigned i = 0;
		while (i + 1 < ndk && dk[i].status != (dkim_fail   ? DKIM_FAIL
		                                       : dkim_temp ? DKIM_TEMPERROR
		                                                   : DKIM_PERMERROR))
			i++;
		scan_add_symbol(t->res,
		                dkim_fail   ? "DKIM_FAIL"
		                : dkim_temp ? "DKIM_TEMPERROR"
		                            : "DKIM_PERMERROR",
		                dkim_fail   ? 1.0
		                : dkim_temp ? 0
		                            : 0.1,
		                "d=%.60s: %.70s", dk[i].d, dk[i].why);
	}

	memset(&dm, 0, sizeof dm);
	dm.result = DMARC_NONE;
	if (have_from && nfrom == 1) {
		memset(&din, 0, sizeof din);
		din.from_domain = from_dom;
		din.spf_pass = spf.result == SPF_PASS;
		din.spf_domain = spf.domain;
		din.dkim_pass_domains = pass_d;
		din.ndkim = npass;
		din.sample = arc4random_uniform(100);
		dmarc_check(&dns, t->arena, &din, &dm);
		switch (dm.result) {
		case DMARC_PASS:
			scan_add_symbol(t->res, "DMARC_PASS", -0.5, "%.100s (%s aligned)", from_dom,
			                dm.dkim_aligned ? "dkim" : "spf");
			break;
		case DMARC_FAIL:
			scan_add_symbol(t->res, "DMARC_FAIL", 1.0, "%.100s p=%s", from_dom,
			                dmarc_policy_name(dm.asked));
			if (dm.policy == DMARC_P_REJECT)
				scan_add_symbol(t->res, "DMARC_POLICY_REJECT", 15.0,
				                "%.100s asks to reject unauthenticated mail",
				                from_dom);
			else if (dm.policy == DMARC_P_QUARANTINE)
				scan_add_symbol(t->res, "DMARC_POLICY_QUARANTINE", 10.0,
				                "%.100s asks to quarantine unauthenticated mail",
				                from_dom);
			break;
		case DMARC_TEMPERROR:
			scan_add_symbol(t->res, "DMARC_TEMPERROR", 0, "%.100s", from_dom);
			break;
		default:
			break;
		}
	} else if (nfrom > 1) {
		dm.result = DMARC_PERMERROR; /* RFC 7489 6.6.1: several From fields */
	}

	/* Authentication-Results resinfo (RFC 8601 2.2), the authserv-id is added at delivery. */
	o += (size_t)snprintf(ar + o, sizeof ar - o, "spf=%s", spf_result_name(spf.result));
	if (spf.domain[0])
		o += (size_t)snprintf(ar + o, sizeof ar - o, " smtp.mailfrom=%.60s", spf.domain);
	if (ndk == 0)
		o += (size_t)snprintf(ar + o, sizeof ar - o, "; dkim=none");
	for (unsigned i = 0; i < ndk && o < sizeof ar; i++)
		o += (size_t)snprintf(ar + o, sizeof ar - o, "; dkim=%s header.d=%.40s",
		                      dkim_status_name(dk[i].status), dk[i].d[0] ? dk[i].d : "?");
	if (o < sizeof ar)
		o += (size_t)snprintf(ar + o, sizeof ar - o, "; dmarc=%s",
		                      dmarc_result_name(dm.result));
	if (o < sizeof ar && from_dom[0])
		snprintf(ar + o, sizeof ar - o, " header.from=%.60s", from_dom);
	scan_add_symbol(t->res, "AUTH_RESULTS", 0, "%s", ar);
	return 0;
}

const struct scanner_ops auth_scanner = {
    .name = "auth",
    .init = auth_init,
    .scan = auth_scan,
    .reload = NULL,
    .fini = auth_fini,
};
