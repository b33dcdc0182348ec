/*
 * fuzz_combine - the learned combination's model file (db/combine.model, scan/combine.c) on
 * arbitrary bytes: every input is accepted or refused with a line number, never a crash; an
 * accepted model applied to a result keeps the score finite and the symbols' parts summing to
 * it, and a Bayes detail string of the input is read without running past it.
 */
#include "scan/combine.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct combine_model m;
	static struct scan_result r;
	unsigned line = 0;
	double sum = 0;

	if (combine_model_parse((const char *)data, size, &m, &line) < 0) {
		if (line == 0)
			abort(); /* a refusal always names a line */
	} else {
		memset(&r, 0, sizeof r);
		scan_add_symbol(&r, "RULE_A", 1.5, NULL);
		scan_add_symbol(&r, "FUZZY_SPAM", 7, NULL);
		scan_add_symbol(&r, "GTUBE", 1000, NULL);
		scan_add_symbol(&r, "BAYES_SPAM", 4, "prob=0.7500 clues=33");
		if (m.n > 0)
			scan_add_symbol(&r, m.name[0], 1, NULL);
		combine_apply(&m, &r);
		for (unsigned k = 0; k < r.nsym; k++)
			sum += r.sym[k].score;
		/* COMBINE_MAX_ABS keeps every sum finite */
		if (!isfinite(r.score) || fabs(sum - r.score) > 1e-6 * (1 + fabs(sum)))
			abort();
	}
	/* the detail parser on the input's first bytes (NUL-terminated, as a symbol's detail) */
	memset(&r, 0, sizeof r);
	scan_add_symbol(&r, "BAYES_HAM", -1, "%.*s", (int)(size < 150 ? size : 150), (const char *)data);
	unsigned clues;
	double p = combine_bayes_prob(&r, &clues);

	if (!(p == -1 || (p >= 0 && p <= 1)))
		abort();
	return 0;
}
