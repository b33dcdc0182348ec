/*
 * fuzz_dkim - DKIM on arbitrary bytes: the input as a DKIM-Signature value (tag-list parser),
 * as a header field and a body for both canonicalisations, and as a whole message verified
 * end to end against a fixed Ed25519 key served by an in-memory lookup (so the signature,
 * header selection, b= removal and l= paths all run). Invariants: relaxed output never grows
 * past the input plus CRLFs, a parsed signature has its required tags, verification never
 * passes (nobody but us holds the key's secret half, and it is not in the input).
 */
#include "core/arena.h"
#include "core/buf.h"
#include "mime/mime.h"
#include "scan/auth_dkim.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int fixed_key(void *ctx, struct dns_query *q, size_t n, struct arena *a)
{
	for (size_t i = 0; i < n; i++) {
		memset(&q[i].ans, 0, sizeof q[i].ans);
		q[i].ans.str = arena_zalloc(a, sizeof(char *));
		if (!q[i].ans.str)
			continue;
		q[i].ans.str[0] = arena_strdup(
		    a, "v=DKIM1; k=ed25519; p=HSKynJMuzTWtdiAs8bHQEaklsXYGPB9q6Ftzz3ANhTM=");
		q[i].ans.n = 1;
		q[i].ans.status = DNS_OK;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct arena *a;
	struct dkim_sig sig;
	const char *why = "";
	struct buf b;

	if (size > 65536)
		return 0;
	a = arena_new(64u << 20);
	if (dkim_sig_parse(p, size, a, &sig, &why) == 0) {
		if (!sig.d || !sig.s || !sig.b || !sig.bh || sig.nh == 0 || sig.nh > DKIM_MAX_H)
			abort();
	}
	buf_init(&b, 4 * size + 16);
	if (memchr(p, ':', size)) {
		dkim_canon_header(&b, p, size, 1, 1);
		if (b.len > 2 * size + 2)
			abort();
		buf_reset(&b);
		dkim_canon_header(&b, p, size, 0, 1);
		buf_reset(&b);
	}
	dkim_canon_body(&b, p, size, 1);
	if (b.len > 2 * size + 2)
		abort();
	buf_reset(&b);
	dkim_canon_body(&b, p, size, 0);
	buf_free(&b);

	struct mime_msg *m = mime_parse(a, p, size, &mime_limits_default);
	if (m && m->root) {
		struct auth_dns dns = {fixed_key, NULL};
		struct dkim_result res[DKIM_MAX_SIGS];
		unsigned n = dkim_verify(&dns, a, m->root, p, size, res, DKIM_MAX_SIGS);
		for (unsigned i = 0; i < n; i++)
			if (res[i].status == DKIM_PASS)
				abort();
	}
	arena_free(a);
	return 0;
}
