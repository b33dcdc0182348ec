/*
 * test_combine - the learned combination layer: the model file (parse, save, refusal of
 * malformed files), the features of a scan result, the rewrite of the scores (known symbols
 * take their weight, unknown ones and fuzzy keep their hand-set score, GTUBE still wins), and
 * the fit on known data (a spam-only symbol gets a positive weight, a ham-only one a negative
 * weight, a rare one stays out, the threshold keeps the ham under 5).
 */
#include "scan/combine.h"
#include "scan/combine_fit.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void add(struct scan_result *r, const char *name, double score, const char *detail)
{
	scan_add_symbol(r, name, score, "%s", detail ? detail : "");
}

static struct combine_model *model_known(void)
{
	struct combine_model *m = calloc(1, sizeof *m);

	assert_non_null(m);
	m->n = 2;
	snprintf(m->name[0], SCAN_SYMBOL_NAME, "RULE_SPAMMY");
	m->w[0] = 2.5;
	snprintf(m->name[1], SCAN_SYMBOL_NAME, "RULE_HAMMY");
	m->w[1] = -1.5;
	m->wb[0] = 5.0;
	m->wb[1] = 1.0;
	m->wb[2] = -2.0;
	m->wb[3] = 0.25;
	m->whand = 0.5;
	m->bias = -1.0;
	m->z0 = 2.0;
	m->lambda = 0.3;
	return m;
}

static void test_parse_save_roundtrip(void **state)
{
	struct combine_model *m = model_known(), *back = calloc(1, sizeof *back);
	char path[] = "/tmp/test_combine.XXXXXX";
	int fd = mkstemp(path);
	char text[4096];
	ssize_t n;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(combine_model_save(m, path), 0);
	fd = open(path, 0);
	n = read(fd, text, sizeof text);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	assert_int_equal(combine_model_parse(text, (size_t)n, back, NULL), 0);
	assert_int_equal(back->n, 2);
	assert_string_equal(back->name[1], "RULE_HAMMY");
	assert_float_equal(back->w[0], 2.5, 0);
	assert_float_equal(back->wb[2], -2.0, 0);
	assert_float_equal(back->bias, -1.0, 0);
	assert_float_equal(back->whand, 0.5, 0);
	assert_float_equal(back->z0, 2.0, 0);
	free(m);
	free(back);
}

static void test_parse_refuses(void **state)
{
	static const char *const bad[] = {
		"",                                         /* no magic line */
		"bias 1\n",                                 /* magic missing */
		"mxtower-combine 2\n",                      /* another version */
		"mxtower-combine 1\nbias\n",                /* no value */
		"mxtower-combine 1\nbias 1 2\n",            /* trailing junk */
		"mxtower-combine 1\nbias nan\n",            /* not finite */
		"mxtower-combine 1\nw RULE inf\n",          /* not finite */
		"mxtower-combine 1\nbayes 1 2 3\n",         /* four values */
		"mxtower-combine 1\nbayes 1 2 3 4 5\n",     /* four values */
		"mxtower-combine 1\nthreshold 3\n",         /* unknown key */
		"mxtower-combine 1\nhand 0.01\n",           /* would mute the hand-set scores */
		"mxtower-combine 1\nbias 2e6\n",            /* over COMBINE_MAX_ABS */
		"mxtower-combine 1\nw RULE -1e300\n",       /* over COMBINE_MAX_ABS */
		"mxtower-combine 1\nw A_NAME_FAR_LONGER_THAN_FORTY_SEVEN_BYTES_XXXXXXXX 1\n",
	};
	struct combine_model *m = calloc(1, sizeof *m);
	unsigned line;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		line = 0;
		assert_int_equal(combine_model_parse(bad[i], strlen(bad[i]), m, &line), -EINVAL);
		assert_true(line >= 1);
	}
	/* comments, blank lines and CRLF are fine */
	const char *ok = "# hi\r\nmxtower-combine 1\r\n\r\nbias -0.5\r\n  # w X 1\r\nw X 1.25\r\n";

	assert_int_equal(combine_model_parse(ok, strlen(ok), m, NULL), 0);
	assert_int_equal(m->n, 1);
	assert_float_equal(m->w[0], 1.25, 0);
	/* a NUL inside a line is refused, not read as the end of the file */
	assert_int_equal(combine_model_parse("mxtower-combine 1\nbias 1\0\n", 25, m, NULL), -EINVAL);
	free(m);
}

static void test_bayes_features(void **state)
{
	struct scan_result *r = calloc(1, sizeof *r);
	double f[COMBINE_BAYES_FEATURES];

	(void)state;
	assert_float_equal(combine_bayes_prob(r, NULL), -1, 0);
	add(r, "BAYES_SPAM", 4.8, "prob=0.8000 clues=12");
	unsigned clues = 0;

	assert_float_equal(combine_bayes_prob(r, &clues), 0.8, 1e-12);
	assert_int_equal(clues, 12);
	combine_bayes_features(0.8, 12, f);
	assert_float_equal(f[0], log(4.0) / 10, 1e-12);
	assert_float_equal(f[1], 0.6, 1e-12);
	assert_float_equal(f[2], 0, 0);
	assert_float_equal(f[3], log(13.0) / log(151.0), 1e-12);
	combine_bayes_features(0.0, 150, f); /* clamped: finite */
	assert_float_equal(f[0], log(1e-4 / (1 - 1e-4)) / 10, 1e-9);
	assert_float_equal(f[2], 1.0, 0);
	assert_float_equal(f[3], 1.0, 1e-12);
	combine_bayes_features(-1, 20, f); /* Bayes did not vote */
	assert_float_equal(f[0] + f[1] + f[2] + f[3], 0, 0);
	free(r);
}

static void test_apply(void **state)
{
	struct combine_model *m = model_known();
	struct scan_result *r = calloc(1, sizeof *r);
	double fb[COMBINE_BAYES_FEATURES], b, z;

	(void)state;
	add(r, "RULE_SPAMMY", 1.0, NULL);
	add(r, "RULE_UNKNOWN", 0.7, NULL); /* not in the model: hand-set score kept */
	add(r, "FUZZY_SPAM", 7.0, NULL);   /* never in a model: kept */
	add(r, "BAYES_SPAM", 4.8, "prob=0.8000 clues=12");
	add(r, "RULE_SPAMMY", 1.0, NULL);  /* a name counts once */
	combine_bayes_features(0.8, 12, fb);
	b = 5.0 * fb[0] + 1.0 * fb[1] - 2.0 * fb[2] + 0.25 * fb[3];
	/* half a log-odds per hand-set point, plus the corrections */
	z = -1.0 + (0.5 + 2.5) + 0.35 + 3.5 + (2.4 + b) + 0.5;
	assert_float_equal(combine_logit(m, r), z, 1e-9);
	combine_apply(m, r);
	assert_int_equal(r->nsym, 6);
	assert_float_equal(r->sym[0].score, 3.0, 1e-12);
	assert_float_equal(r->sym[1].score, 0.35, 1e-12);
	assert_float_equal(r->sym[2].score, 3.5, 1e-12);
	assert_float_equal(r->sym[3].score, 2.4 + b, 1e-12);
	assert_float_equal(r->sym[4].score, 0.5, 1e-12); /* no second correction */
	assert_string_equal(r->sym[5].name, "COMBINE");
	/* the logit at the threshold z0 is the tag score 5; one point per unit of log-odds */
	assert_float_equal(r->score, COMBINE_TAG_SCORE + z - m->z0, 1e-9);
	double sum = 0;

	for (unsigned k = 0; k < r->nsym; k++)
		sum += r->sym[k].score;
	assert_float_equal(sum, r->score, 1e-9);

	/* GTUBE is no feature of any model: its 1000 points count at whand (0.5 here), whatever
	 * Bayes says */
	memset(r, 0, sizeof *r);
	add(r, "GTUBE", 1000, NULL);
	add(r, "BAYES_HAM", -3, "prob=0.0000 clues=40");
	combine_apply(m, r);
	assert_true(r->score > 490);
	free(r);
	free(m);
}

/* Deterministic pseudo-random numbers for the synthetic corpus. */
static unsigned long rng = 12345;

static double urand(void)
{
	rng = rng * 6364136223846793005UL + 1442695040888963407UL;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static void test_fit(void **state)
{
	struct combine_data d;
	struct combine_fit_opts o;
	struct combine_cv_row rows[COMBINE_MAX_LAMBDAS];
	struct combine_model *m = calloc(1, sizeof *m);
	struct scan_result *r = calloc(1, sizeof *r);
	unsigned chosen = 99, nham_flagged = 0, nspam_caught = 0, nspam = 0, nham = 0;
	char detail[64];

	(void)state;
	memset(&d, 0, sizeof d);
	for (unsigned i = 0; i < 2000; i++) {
		int spam = i % 3 == 0;
		/* Bayes is good but not perfect: spam around 0.85, ham around 0.2 */
		double p = spam ? 0.55 + 0.45 * urand() : 0.45 * urand();

		memset(r, 0, sizeof *r);
		if (spam ? urand() < 0.6 : urand() < 0.01)
			add(r, "RULE_SPAMMY", 2.0, NULL);
		if (spam ? urand() < 0.02 : urand() < 0.3)
			add(r, "RULE_HAMMY", 0.5, NULL);
		if (urand() < 0.5)
			add(r, "RULE_NOISE", 1.0, NULL); /* says nothing */
		if (i < 3)
			add(r, "RULE_RARE", 1.5, NULL); /* under COMBINE_MIN_SUPPORT */
		snprintf(detail, sizeof detail, "prob=%.4f clues=20", p);
		add(r, p >= 0.5 ? "BAYES_SPAM" : "BAYES_HAM", 0, detail);
		add(r, "FUZZY_BULK", 1.0, NULL); /* never a feature */
		assert_int_equal(combine_data_add(&d, r, spam, i % 4), 0);
	}
	combine_fit_opts_default(&o);
	assert_int_equal(combine_fit(&d, &o, m, rows, &chosen), 0);
	assert_true(chosen < o.nlambda);
	assert_int_equal(m->n, 3); /* SPAMMY, HAMMY, NOISE: not RARE, not FUZZY, not BAYES */
	/* what each symbol adds in all: whand times its hand-set score plus its correction */
	for (unsigned i = 0; i < m->n; i++) {
		if (strcmp(m->name[i], "RULE_SPAMMY") == 0)
			assert_true(m->whand * 2.0 + m->w[i] > 1.0);
		else if (strcmp(m->name[i], "RULE_HAMMY") == 0)
			assert_true(m->whand * 0.5 + m->w[i] < -1.0);
		else
			assert_true(fabs(m->whand * 1.0 + m->w[i]) < 0.5);
	}
	assert_true(m->wb[0] > 0); /* the indicator's logit points to spam */
	assert_true(m->whand >= COMBINE_MIN_HAND_WEIGHT);
	/* The held-out figures: every spam with Bayes over 0.55 is separable from the ham at
	 * 0.45 or less, so cross-validation catches nearly all of it at the FP target. */
	assert_true(rows[chosen].caught_pct > 95.0);
	assert_true(rows[chosen].fp_pct <= 0.1 + 1e-9);
	/* Applied to the training data, the threshold keeps ham under 5. */
	for (size_t i = 0; i < d.n; i++) {
		memset(r, 0, sizeof *r);
		for (unsigned j = 0; j < d.s[i].n; j++)
			add(r, d.name[d.idx[d.s[i].off + j]], d.val[d.s[i].off + j], NULL);
		snprintf(detail, sizeof detail, "prob=%.4f", d.s[i].bayes);
		add(r, "BAYES_SPAM", 0, detail);
		add(r, "FUZZY_BULK", 1.0, NULL);
		combine_apply(m, r);
		if (d.s[i].spam) {
			nspam++;
			nspam_caught += r->score >= COMBINE_TAG_SCORE;
		} else {
			nham++;
			nham_flagged += r->score >= COMBINE_TAG_SCORE;
		}
	}
	assert_true(nham_flagged <= nham / 200);
	assert_true(nspam_caught >= nspam * 95 / 100);
	combine_data_free(&d);
	free(r);
	free(m);
}

static void test_fit_refuses_one_class(void **state)
{
	struct combine_data d;
	struct combine_fit_opts o;
	struct combine_cv_row rows[COMBINE_MAX_LAMBDAS];
	struct combine_model *m = calloc(1, sizeof *m);
	struct scan_result *r = calloc(1, sizeof *r);
	unsigned chosen;

	(void)state;
	memset(&d, 0, sizeof d);
	for (unsigned i = 0; i < 20; i++)
		assert_int_equal(combine_data_add(&d, r, 1, i % 4), 0);
	combine_fit_opts_default(&o);
	assert_int_equal(combine_fit(&d, &o, m, rows, &chosen), -EINVAL);
	combine_data_free(&d);
	free(r);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_save_roundtrip),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_bayes_features),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_fit_refuses_one_class),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
