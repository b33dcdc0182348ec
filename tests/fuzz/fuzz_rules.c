/*
 * fuzz_rules - the rule file parser (rules_parse) on arbitrary text: an operator's rule file,
 * or one that arrives by `mxtower rules` from elsewhere, is accepted or refused with a reason,
 * never a crash. The text is parsed twice into one list, as rules_load_all does with the
 * shipped directory and then <home>/rules, so the replace-by-name path runs too.
 *
 * Invariants: 0, -ENOMEM or -EINVAL, and -EINVAL always says "file:line: reason"; every
 * rule in the list has a valid name, a pattern of at most RULE_PATTERN_MAX bytes, a known
 * target, a lowercased printable header name for header targets, a finite score within
 * RULE_SCORE_MAX, and no two rules share a name. Compilation (Hyperscan, PCRE2) is not
 * fuzzed here: those are the libraries' parsers.
 */
#include "scan/rules.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void fz_check_list(const struct rule_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct rule *r = &l->v[i];

		if (r->name[0] == '\0' || strnlen(r->name, sizeof r->name) >= sizeof r->name)
			abort();
		if (r->pattern == NULL || strlen(r->pattern) > RULE_PATTERN_MAX)
			abort();
		if (r->target > RULE_T_FULL || rule_target_name(r->target) == NULL)
			abort();
		if (r->target == RULE_T_HEADER && r->header[0] == '\0')
			abort();
		for (const char *h = r->header; *h; h++)
			if (*h <= ' ' || *h == ':' || *h > '~' || (*h >= 'A' && *h <= 'Z'))
				abort(); /* header names are printable, colon-free, lowercased */
		if (!isfinite(r->score) || fabs(r->score) > RULE_SCORE_MAX)
			abort();
		if (strnlen(r->desc, sizeof r->desc) >= sizeof r->desc)
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(l->v[j].name, r->name) == 0)
				abort(); /* a second rule of one name should have replaced the first */
	}
}

static void fz_parse(struct rule_list *l, const char *text, size_t len, const char *fname)
{
	char err[256];
	int rc;

	err[0] = '\0';
	rc = rules_parse(l, text, len, fname, err, sizeof err);
	if (rc != 0 && rc != -EINVAL && rc != -ENOMEM)
		abort();
	if (rc == -EINVAL && strncmp(err, fname, strlen(fname)) != 0)
		abort(); /* a refusal always names the file and line */
	fz_check_list(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rule_list l = {0};
	/* A private copy without slack after it, so any overread hits ASan's redzone. */
	char *text = malloc(size ? size : 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	fz_parse(&l, text, size, "fuzz.rules");
	fz_parse(&l, text, size, "again.rules");
	rule_list_free(&l);
	free(text);
	return 0;
}
