/*
 * fuzz_phish - the phish scanner (sender, display name, links, credential forms, lookalike and
 * homoglyph domains through punycode and skeletons) on arbitrary bytes parsed as a message,
 * without a client and with one whose own domains are checked first. Invariants: the scan
 * returns 0, keeps within the result's symbol table, and a second scan of the same input gives
 * the same symbols (the second answers from the per-process brand memo the first one filled).
 * A broken invariant aborts.
 */
#include "core/arena.h"
#include "mime/mime.h"
#include "scan/phish.h"
#include "store/tenant.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Any input libFuzzer makes fits. */
#define FUZZ_ARENA_CAP (64u * 1024 * 1024)

static struct scan_result r1, r2;

static void scan_into(struct arena *a, const char *msg, size_t len, struct mime_msg *mime,
		      const struct tenant *tn, struct scan_result *r)
{
	struct scan_task t;

	memset(r, 0, sizeof *r);
	memset(&t, 0, sizeof t);
	t.msg = msg;
	t.len = len;
	t.arena = a;
	t.mime = mime;
	t.tenant = tn;
	t.res = r;
	if (phish_scanner.scan(&t) != 0 || r->nsym > SCAN_MAX_SYMBOLS)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	static char *doms[] = {"example-corp.test", "xn--exmple-cua.test"};
	static char *rcpts[] = {"carol.jones@example-corp.test"};
	struct tenant tn;
	const char *msg = (const char *)data;
	struct mime_msg *mime;

	if (a == NULL && (a = arena_new(FUZZ_ARENA_CAP)) == NULL)
		abort();
	memset(&tn, 0, sizeof tn);
	memcpy(tn.name, "example", 8);
	tn.domains = doms;
	tn.ndomains = 2;
	tn.recipients = rcpts;
	tn.nrecipients = 1;
	/* One parse serves the four scans: the scanner only reads the tree (a parse per scan
	 * cost three quarters of each run). */
	arena_reset(a);
	mime = mime_parse(a, msg, size, &mime_limits_default);
	if (mime == NULL)
		return 0;
	for (int k = 0; k < 2; k++) {
		const struct tenant *tp = k ? &tn : NULL;

		scan_into(a, msg, size, mime, tp, &r1);
		scan_into(a, msg, size, mime, tp, &r2);
		if (r1.nsym != r2.nsym)
			abort();
		for (unsigned i = 0; i < r1.nsym; i++)
			if (strcmp(r1.sym[i].name, r2.sym[i].name) != 0 ||
			    strcmp(r1.sym[i].detail, r2.sym[i].detail) != 0)
				abort();
	}
	return 0;
}
