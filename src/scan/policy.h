/*
 * policy - the client's policy turns a scan result into an action: per-verdict choices
 * (on_malware, on_suspect, on_phish), spam thresholds on the score (tag_at, quarantine_at,
 * reject_at) and the client's allow and block lists.
 *
 * Order: block list (reject), malware and suspect (their policy; the allow list does not
 * override them: an allowed sender's mail can still carry a virus), allow list (deliver),
 * phish, then the spam thresholds.
 */
#ifndef MX_SCAN_POLICY_H
#define MX_SCAN_POLICY_H

#include "scan/scan.h"
#include "store/tenant.h"

#include <stddef.h>

/* Defaults used when a message has no known tenant (see tenant.h for the values). */
void policy_defaults(struct tenant_policy *p);
/*
 * True when an entry of list matches the envelope: "user@dom" (the sender, case-insensitive),
 * "dom" (the sender's domain or a subdomain of it), or an IPv4/IPv6 address or CIDR (the
 * client address). Bad entries never match.
 */
int policy_list_match(char *const *list, size_t n, const struct scan_envelope *env);
/* Fill res->verdict (spam from the score) and res->action. t may be NULL (defaults). */
void policy_apply(const struct tenant *t, const struct scan_envelope *env,
		  struct scan_result *res);

#endif
