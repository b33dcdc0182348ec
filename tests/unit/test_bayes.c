/*
 * test_bayes - the combiner on known values (Robinson's f(w), the chi-squared tail, Fisher
 * combination, clue selection) and the LMDB store: learn, duplicate learn, relearn to the
 * other class, unlearn back to nothing, and classification once both classes are trained.
 */
#include "scan/autolearn.h"
#include "scan/bayes.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void test_token_prob(void **state)
{
	(void)state;
	/* unseen: the prior */
	assert_float_equal(bayes_token_prob(0, 0, 100, 100), 0.5, 1e-12);
	/* 10 spam of 100, no ham: (0.45*0.5 + 10*1) / 10.45 */
	assert_float_equal(bayes_token_prob(10, 0, 100, 100), 10.225 / 10.45, 1e-12);
	/* equal rates: 0.5 whatever the counts */
	assert_float_equal(bayes_token_prob(5, 50, 10, 100), 0.5, 1e-12);
	/* ham only */
	assert_true(bayes_token_prob(0, 30, 100, 100) < 0.01);
}

static void test_chi2q(void **state)
{
	(void)state;
	assert_float_equal(bayes_chi2q(0, 4), 1.0, 1e-12);
	assert_float_equal(bayes_chi2q(2, 2), exp(-1.0), 1e-12);
	assert_float_equal(bayes_chi2q(10, 4), exp(-5.0) * 6.0, 1e-12);
	/* far tail, many degrees: no underflow to NaN, monotone */
	double a = bayes_chi2q(3000, 300), b = bayes_chi2q(2000, 300);

	assert_false(isnan(a));
	assert_true(a <= b);
	assert_true(bayes_chi2q(100, 300) > 0.999);
}

/* The table of ln i the chi-squared sums read holds exactly what log() returns (the sums, and
 * so every score, stay the same to the last bit); past it, log() itself. */
static void test_log_int(void **state)
{
	(void)state;
	for (unsigned i = 1; i < 300; i++) {
		volatile double x = (double)i; /* log() at run time, not folded by the compiler */

		assert_true(bayes_log_int(i) == log(x));
	}
}

static void test_combine(void **state)
{
	double spam[3] = {0.99, 0.99, 0.99}, ham[3] = {0.01, 0.02, 0.03}, mixed[2] = {0.99, 0.01};
	double many[150];

	(void)state;
	assert_float_equal(bayes_combine(NULL, 0), 0.5, 1e-12);
	assert_true(bayes_combine(spam, 3) > 0.999);
	assert_true(bayes_combine(ham, 3) < 0.001);
	assert_float_equal(bayes_combine(mixed, 2), 0.5, 1e-9);
	for (int i = 0; i < 150; i++)
		many[i] = 0.99;
	assert_float_equal(bayes_combine(many, 150), 1.0, 1e-9);
	/* pinned: three clues at 0.99: chi-squared's value (too few clues for the tie-break, which
	 * added 3.5e-7 before it needed BAYES_TIE_MIN_CLUES) */
	assert_float_equal(bayes_combine(spam, 3), 0.9999426420, 1e-9);
}

/* Strong evidence both ways: chi-squared alone says 0.5; the tie-break leans to the side whose
 * tail is more extreme, by at most BAYES_TIE_WEIGHT (0.35). */
static void test_combine_tie_break(void **state)
{
	double f[130];

	(void)state;
	for (int i = 0; i < 60; i++) {
		f[i] = 0.99;
		f[60 + i] = 0.01;
	}
	assert_float_equal(bayes_combine(f, 120), 0.5, 1e-9); /* balanced: still unsure */
	for (int i = 120; i < 130; i++)
		f[i] = 0.99;
	assert_float_equal(bayes_combine(f, 130), 0.7016526431, 1e-9); /* 70 spam clues vs 60 */
	for (int i = 0; i < 60; i++)
		f[60 + i] = 0.001;
	assert_float_equal(bayes_combine(f, 120), 0.1574946513, 1e-9); /* ham side stronger */
}

/* A short message with a few clues both ways (SpamAssassin's DMARC test fixtures: a two-word
 * body, 9 clues) keeps chi-squared's value: the tie-break moved them from 4.93 points to 5.33,
 * over the tag threshold. */
static void test_combine_tie_break_needs_clues(void **state)
{
	double f[9] = {0.99, 0.98, 0.95, 0.92, 0.97, 0.03, 0.08, 0.9, 0.06};
	double lh = 0, ls = 0, h, s;

	(void)state;
	for (int i = 0; i < 9; i++) {
		lh += log(f[i]);
		ls += log(1 - f[i]);
	}
	h = 1 - bayes_chi2q(-2 * lh, 18);
	s = 1 - bayes_chi2q(-2 * ls, 18);
	assert_true(h > 0.5 && s > 0.5); /* evidence both ways: the tie-break would move it */
	assert_float_equal(bayes_combine(f, 9), (s - h + 1) / 2, 1e-12);
}

static void test_select_clues(void **state)
{
	double f[6] = {0.5, 0.55, 0.95, 0.05, 0.7, 0.45};

	(void)state;
	assert_int_equal(bayes_select_clues(f, 6, 150), 2); /* 0.95, 0.05 (0.7 is too weak) */
	double g[5] = {0.61, 0.99, 0.2, 0.001, 0.9};

	assert_int_equal(bayes_select_clues(g, 5, 2), 2);
	assert_float_equal(g[0], 0.001, 1e-12); /* most extreme first */
	assert_float_equal(g[1], 0.99, 1e-12);
}

/* Of equal strength the earlier clue comes first and is the one kept (the chi-squared sums
 * depend on the order to the last bit; it is the order qsort's merge sort gave), and a long
 * rising input keeps the strongest. */
static void test_select_clues_stable(void **state)
{
	/* binary fractions: 0.5 +- d exactly, so their strengths tie exactly */
	double f[] = {0.9375, 0.03125, 0.0625, 0.96875, 0.015625, 0.9, 0.03125, 0.984375, 0.96875};
	double want[] = {0.015625, 0.984375, 0.03125, 0.96875, 0.03125};
	static double g[2000];

	(void)state;
	assert_int_equal(bayes_select_clues(f, 9, 5), 5);
	for (size_t i = 0; i < 5; i++)
		assert_true(f[i] == want[i]);
	for (size_t i = 0; i < 2000; i++)
		g[i] = 0.9 + 0.0999 * (double)i / 2000.0;
	assert_int_equal(bayes_select_clues(g, 2000, BAYES_MAX_CLUES), BAYES_MAX_CLUES);
	for (size_t i = 0; i < BAYES_MAX_CLUES; i++)
		assert_true(g[i] == 0.9 + 0.0999 * (double)(1999 - i) / 2000.0);
}

/* A token seen once is never a clue, whatever the class sizes: classify skips such tokens
 * before computing f. */
static void test_hapax_never_clue(void **state)
{
	static const uint64_t sizes[] = {1, 10, 1000, 1000000};

	(void)state;
	/* classify's integer test of the shares stands for BAYES_MIN_STRENGTH */
	assert_float_equal((0.5 + BAYES_MIN_STRENGTH) / (0.5 - BAYES_MIN_STRENGTH),
			   BAYES_CLUE_RATIO, 1e-9);
	assert_float_equal(BAYES_PRIOR_X, 0.5, 0);
	for (size_t i = 0; i < 4; i++)
		for (size_t j = 0; j < 4; j++) {
			assert_true(fabs(bayes_token_prob(1, 0, sizes[i], sizes[j]) - 0.5) <
				    BAYES_MIN_STRENGTH);
			assert_true(fabs(bayes_token_prob(0, 1, sizes[i], sizes[j]) - 0.5) <
				    BAYES_MIN_STRENGTH);
		}
}

static void test_score_map(void **state)
{
	(void)state;
	assert_float_equal(bayes_score(0.5), 0.0, 1e-12);
	assert_true(bayes_score(1.0) >= 5.0);  /* certain spam alone reaches the tag threshold */
	assert_true(bayes_score(0.0) < 0);
	assert_true(bayes_score(0.9) > bayes_score(0.8));
	/* pinned: linear, 8 points at I = 1, so Bayes alone tags from I = 0.8125; -3 at I = 0 */
	assert_float_equal(bayes_score(0.8125), 5.0, 1e-12);
	assert_float_equal(bayes_score(1.0), 8.0, 1e-12);
	assert_float_equal(bayes_score(0.0), -3.0, 1e-12);
}

/* A long message votes with its 60 most extreme tokens, not all of them: 100 strong spam clues
 * and 40 strong ham clues weaker than them leave 60 spam clues, and a certain spam verdict. */
static void test_clue_cap(void **state)
{
	double f[150];
	size_t n;

	(void)state;
	for (int i = 0; i < 100; i++)
		f[i] = 0.999;
	for (int i = 100; i < 140; i++)
		f[i] = 0.02;
	for (int i = 140; i < 150; i++)
		f[i] = 0.6; /* too weak to vote */
	n = bayes_select_clues(f, 150, BAYES_MAX_CLUES);
	assert_int_equal(n, 60);
	for (size_t i = 0; i < n; i++)
		assert_float_equal(f[i], 0.999, 1e-12);
	assert_float_equal(bayes_combine(f, n), 1.0, 1e-9);
}

static char dir[64];

static void test_db_learn_cycle(void **state)
{
	char path[128];
	uint8_t d1[BAYES_DIGEST_LEN], d2[BAYES_DIGEST_LEN];
	uint64_t spamtok[3] = {1, 2, 3}, hamtok[3] = {7, 8, 9}, nspam, nham;
	enum bayes_class prev;
	struct bayes_db *db;
	struct bayes_verdict v;

	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_bayes.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/bayes.lmdb", dir);
	db = bayes_db_open(path, 0);
	assert_non_null(db);
	memset(d1, 1, sizeof d1);
	memset(d2, 2, sizeof d2);
	assert_int_equal(bayes_db_learn(db, d1, spamtok, 3, BAYES_CLASS_SPAM, &prev), 0);
	assert_int_equal(prev, BAYES_CLASS_NONE);
	assert_int_equal(bayes_db_learn(db, d1, spamtok, 3, BAYES_CLASS_SPAM, &prev), 1);
	assert_int_equal(bayes_db_counts(db, &nspam, &nham), 0);
	assert_int_equal(nspam, 1);
	assert_int_equal(nham, 0);
	/* relearn as ham: moved, not doubled */
	assert_int_equal(bayes_db_learn(db, d1, spamtok, 3, BAYES_CLASS_HAM, &prev), 0);
	assert_int_equal(prev, BAYES_CLASS_SPAM);
	assert_int_equal(bayes_db_counts(db, &nspam, &nham), 0);
	assert_int_equal(nspam, 0);
	assert_int_equal(nham, 1);
	/* unlearn: nothing left; unlearning again is a no-op */
	assert_int_equal(bayes_db_learn(db, d1, spamtok, 3, BAYES_CLASS_NONE, &prev), 0);
	assert_int_equal(bayes_db_learn(db, d1, spamtok, 3, BAYES_CLASS_NONE, &prev), 1);
	assert_int_equal(bayes_db_counts(db, &nspam, &nham), 0);
	assert_int_equal(nspam + nham, 0);
	/* untrained: no vote */
	assert_int_equal(bayes_db_classify(db, spamtok, 3, NULL, 0, &v), -ENODATA);
	/* train both classes past the minimum */
	for (int i = 0; i < BAYES_MIN_LEARNED; i++) {
		memset(d1, 10 + i, sizeof d1);
		memset(d2, 100 + i, sizeof d2);
		assert_int_equal(bayes_db_learn(db, d1, spamtok, 3, BAYES_CLASS_SPAM, NULL), 0);
		assert_int_equal(bayes_db_learn(db, d2, hamtok, 3, BAYES_CLASS_HAM, NULL), 0);
	}
	assert_int_equal(bayes_db_classify(db, NULL, 0, spamtok, 3, &v), 0);
	assert_true(v.prob > 0.99);
	assert_int_equal(v.nclues, 3);
	assert_int_equal(bayes_db_classify(db, hamtok, 3, NULL, 0, &v), 0);
	assert_true(v.prob < 0.01);
	/* class_of names what a digest was learned as (autolearn never overrides a person) */
	assert_int_equal(bayes_db_class_of(db, d1, &prev), 0);
	assert_int_equal(prev, BAYES_CLASS_SPAM);
	assert_int_equal(bayes_db_class_of(db, d2, &prev), 0);
	assert_int_equal(prev, BAYES_CLASS_HAM);
	memset(d1, 0xee, sizeof d1);
	assert_int_equal(bayes_db_class_of(db, d1, &prev), 0);
	assert_int_equal(prev, BAYES_CLASS_NONE);
	bayes_db_close(db);
	snprintf(path, sizeof path, "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

/* Autolearn's decision on known cases, default policy (tag 5, reject 15), default margins. */
static void test_autolearn_decide(void **state)
{
	const struct autolearn_conf on = {1, 5.0, 5.0}, off = {0, 5.0, 5.0};
	static const struct {
		double score;
		unsigned agreeing;
		int bayes, excluded, phish;
		enum bayes_class want;
	} cases[] = {
		{25.0, 2, 0, 0, 0, BAYES_CLASS_SPAM},  /* far past reject, two scanners */
		{20.0, 3, -1, 0, 1, BAYES_CLASS_SPAM}, /* exactly R + margin; phish counts as spam */
		{19.9, 3, 1, 0, 0, BAYES_CLASS_NONE},  /* short of R + margin */
		{1000.0, 1, 1, 0, 0, BAYES_CLASS_NONE}, /* one scanner alone (GTUBE): not enough */
		{40.0, 2, 0, 1, 0, BAYES_CLASS_NONE},  /* listed / malware / unscanned */
		{0.0, 0, 0, 0, 0, BAYES_CLASS_HAM},    /* far under tag, nobody against it */
		{-3.0, 0, -1, 0, 0, BAYES_CLASS_HAM},
		{0.5, 0, 0, 0, 0, BAYES_CLASS_NONE},   /* under tag, not far enough */
		{0.0, 1, 0, 0, 0, BAYES_CLASS_NONE},   /* a scanner adds a point against it */
		{-1.0, 0, 1, 0, 0, BAYES_CLASS_NONE},  /* Bayes says spam: not learned as ham */
		{0.0, 0, 0, 0, 1, BAYES_CLASS_NONE},   /* phish verdict never learned as ham */
		{-5.0, 0, 0, 1, 0, BAYES_CLASS_NONE},  /* allow-listed */
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct autolearn_facts f = {cases[i].score, cases[i].agreeing, cases[i].bayes,
					    cases[i].excluded, cases[i].phish, 5.0, 15.0};

		if (autolearn_decide(&f, &on) != cases[i].want)
			fail_msg("case %zu: want %d", i, (int)cases[i].want);
		assert_int_equal(autolearn_decide(&f, &off), BAYES_CLASS_NONE);
	}
}

static void test_digest(void **state)
{
	const char a[] = "Received: x\nMessage-ID: <1@x>\n\nbody\n";
	const char b[] = "Received: y\nMessage-ID: <1@x>\n\nbody\n";
	const char c[] = "Received: y\nMessage-ID: <2@x>\n\nbody\n";
	uint8_t da[BAYES_DIGEST_LEN], db[BAYES_DIGEST_LEN], dc[BAYES_DIGEST_LEN];

	(void)state;
	bayes_message_digest(a, sizeof a - 1, da);
	bayes_message_digest(b, sizeof b - 1, db);
	bayes_message_digest(c, sizeof c - 1, dc);
	assert_memory_equal(da, db, BAYES_DIGEST_LEN); /* relayed copy: same message */
	assert_memory_not_equal(da, dc, BAYES_DIGEST_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_prob),   cmocka_unit_test(test_chi2q),
		cmocka_unit_test(test_log_int),
		cmocka_unit_test(test_combine),      cmocka_unit_test(test_combine_tie_break),
		cmocka_unit_test(test_combine_tie_break_needs_clues),
		cmocka_unit_test(test_select_clues), cmocka_unit_test(test_select_clues_stable),
		cmocka_unit_test(test_hapax_never_clue),
		cmocka_unit_test(test_clue_cap),
		cmocka_unit_test(test_score_map),    cmocka_unit_test(test_db_learn_cycle),
		cmocka_unit_test(test_digest),       cmocka_unit_test(test_autolearn_decide),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
