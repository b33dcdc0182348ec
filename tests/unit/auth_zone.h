/*
 * auth_zone - a table of DNS records as an auth_dns lookup, for the SPF/DMARC/DKIM unit tests
 * (the integration tests use a real DNS server). A name with records of other types only
 * answers NODATA, an unknown name NXDOMAIN, the value "TEMPFAIL" a temporary failure.
 */
#ifndef MX_TEST_AUTH_ZONE_H
#define MX_TEST_AUTH_ZONE_H

#include "scan/auth_dns.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

struct zrec {
	const char *name;
	int type;
	const char *val;
};

struct zone {
	const struct zrec *r;
	unsigned queries;
};

static int zone_lookup(void *ctx, struct dns_query *q, size_t n, struct arena *a)
{
	struct zone *z = ctx;

	for (size_t i = 0; i < n; i++) {
		struct dns_answer *an = &q[i].ans;
		unsigned cnt = 0, exists = 0;

		z->queries++;
		memset(an, 0, sizeof *an);
		an->str = arena_zalloc(a, sizeof(char *) * 32);
		an->addr = arena_zalloc(a, sizeof(struct dns_addr) * 32);
		for (const struct zrec *r = z->r; r->name; r++) {
			if (strcasecmp(r->name, q[i].name) != 0)
				continue;
			exists = 1;
			if (r->type != q[i].type)
				continue;
			if (strcmp(r->val, "TEMPFAIL") == 0) {
				an->status = DNS_TEMPFAIL;
				goto next;
			}
			if (cnt >= 32)
				break;
			if (r->type == DNS_T_A || r->type == DNS_T_AAAA) {
				an->addr[cnt].af = r->type == DNS_T_A ? AF_INET : AF_INET6;
				inet_pton(an->addr[cnt].af, r->val, an->addr[cnt].a);
			} else {
				an->str[cnt] = arena_strdup(a, r->val);
			}
			cnt++;
		}
		an->n = cnt;
		an->status = cnt ? DNS_OK : exists ? DNS_NODATA : DNS_NXDOMAIN;
	next:;
	}
	return 0;
}

#endif
