/*
 * bayes_combine - the arithmetic of the classifier, free of storage: Robinson's per-token
 * probability with a prior, clue selection, and the Fisher chi-squared combination.
 *
 * Why chi-squared: it answers "how unlikely is this set of probabilities if the message were
 * random" separately for spam and for ham, so a message full of strong evidence both ways comes
 * out near 0.5 (unsure) instead of being forced to an extreme, as a plain naive-Bayes product
 * is. The tail sums are done in log space so a message with 150 clues at 0.99 does not
 * underflow to 0.
 *
 * Why a tie-break: "unsure" is right for a person reading a verdict, but for ranking it throws
 * away which side was stronger. Spam posted to a mailing list, or a newsletter whose text is
 * honestly ham-like, collects 60-100 clues each way and ends at exactly 0.5 with its spam-side
 * headers and links outvoted: in the held-out quarter of the training split (docs/spam.md), 14
 * of the 31 spam the default policy let through had I within 0.02 of 0.5. So the indicator
 * moves towards the side whose tail probability is smaller, by the difference of the log tail
 * probabilities, scaled by min(H, S): by up to BAYES_TIE_WEIGHT when both tails are
 * significant (min(H, S) near 1), not at all when the evidence is one-sided (min(H, S) near
 * 0), where chi-squared's value stands.
 */
#include "scan/bayes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Probabilities are clamped away from 0 and 1 before logs: one token must never be certain. */
#define BAYES_F_EPS 1e-4
/*
 * The tie-break (see above): at most this far from chi-squared's indicator, reached when one
 * side's log tail probability is about BAYES_TIE_SCALE * 2 or more below the other's (tanh).
 * Chosen by 4-fold cross-validation inside the training split of bench/eval (docs/spam.md):
 * of weights 0.25/0.35/0.5 and scales 20/40, 0.35/40 caught the most spam at the default tag
 * threshold with no more than 0.1% of ham over it.
 */
#define BAYES_TIE_WEIGHT 0.35
#define BAYES_TIE_SCALE 40.0
/*
 * The tie-break is for messages with many clues both ways (list spam had 60-100 each way);
 * below this many clues in all chi-squared's value stands. Chosen by the held-out quarter of
 * the training split (bench/eval --tune, docs/spam.md): 0, 10 and 20 gave the same figures
 * (93.81% caught at the tag threshold, no ham over it by score; 95.58% at FP 0.1%), 30
 * started to cost (95.28%); 20 is the largest that cost nothing. (-D for experiments.)
 */
#ifndef BAYES_TIE_MIN_CLUES
#define BAYES_TIE_MIN_CLUES 20
#endif
/* a variable, not the macro, so that -DBAYES_TIE_MIN_CLUES=0 compiles under -Wtype-limits */
static const size_t tie_min_clues = BAYES_TIE_MIN_CLUES;

double bayes_token_prob(uint32_t spam, uint32_t ham, uint64_t nspam, uint64_t nham)
{
	double ps, ph, p, n;

	if (nspam == 0)
		nspam = 1;
	if (nham == 0)
		nham = 1;
	ps = (double)spam / (double)nspam;
	ph = (double)ham / (double)nham;
	if (ps + ph <= 0)
		return BAYES_PRIOR_X;
	p = ps / (ps + ph);
	n = (double)spam + (double)ham;
	return (BAYES_PRIOR_S * BAYES_PRIOR_X + n * p) / (BAYES_PRIOR_S + n);
}

/*
 * ln i for i < LOG_INT_N, as glibc's log() returns them (test_bayes checks each against log()):
 * the tail sum below needed one log per term, 120 a message, for the same few integers. A
 * clue count never exceeds BAYES_MAX_CLUES, so the table covers every term of a scan.
 */
#define LOG_INT_N 64
_Static_assert(BAYES_MAX_CLUES < LOG_INT_N, "chi2q_log's terms stay inside the table");
static const double log_int[LOG_INT_N] = {
	0, /* ln 0: never read */
	0x0p+0, 0x1.62e42fefa39efp-1, 0x1.193ea7aad030bp+0, 0x1.62e42fefa39efp+0,
	0x1.9c041f7ed8d33p+0, 0x1.cab0bfa2a2002p+0, 0x1.f2272ae325a57p+0, 0x1.0a2b23f3bab73p+1,
	0x1.193ea7aad030bp+1, 0x1.26bb1bbb55516p+1, 0x1.32ee3b77f374cp+1, 0x1.3e116bcd39e7dp+1,
	0x1.485042b318c51p+1, 0x1.51cca16d7bba7p+1, 0x1.5aa16394d481fp+1, 0x1.62e42fefa39efp+1,
	0x1.6aa6bc1fa7f7ap+1, 0x1.71f7b3a6b9186p+1, 0x1.78e360604b32cp+1, 0x1.7f7427b73e391p+1,
	0x1.85b2e946faeb1p+1, 0x1.8ba74773dc5c8p+1, 0x1.9157dfdd1b3fp+1, 0x1.96ca77c922cf9p+1,
	0x1.9c041f7ed8d33p+1, 0x1.a1094eaf01acdp+1, 0x1.a5ddfb803849p+1, 0x1.aa85ad6964a23p+1,
	0x1.af038cbcdfe1fp+1, 0x1.b35a6f90bd69bp+1, 0x1.b78ce48912b5ap+1, 0x1.bb9d3beb8c86bp+1,
	0x1.bf8d8f4d5b8d1p+1, 0x1.c35fc81b90df6p+1, 0x1.c715a530ff3c5p+1, 0x1.cab0bfa2a2002p+1,
	0x1.ce328ee3ac7bdp+1, 0x1.d19c6c5c341a8p+1, 0x1.d4ef968880dd6p+1, 0x1.d82d33b32720dp+1,
	0x1.db565458eac4ep+1, 0x1.de6bf542e3d2dp+1, 0x1.e16f01614ec11p+1, 0x1.e460536fc5443p+1,
	0x1.e740b76a3c9a4p+1, 0x1.ea10ebd90426cp+1, 0x1.ecd1a2f90f0b6p+1, 0x1.ef8383c50bb75p+1,
	0x1.f2272ae325a57p+1, 0x1.f4bd2b7ac1bafp+1, 0x1.f7460ff5100ffp+1, 0x1.f9c25aaaea949p+1,
	0x1.fc32868223cabp+1, 0x1.fe97077c2130cp+1, 0x1.0078259bafef3p+2, 0x1.019f5cb2a6c5p+2,
	0x1.02c15a1ad9a59p+2, 0x1.03de4c5c6464dp+2, 0x1.04f65f9c72979p+2, 0x1.0609bdc65328bp+2,
	0x1.07188eb126c0dp+2, 0x1.0822f8427dcebp+2, 0x1.09291e8e3181bp+2
};

double bayes_log_int(unsigned i)
{
	return i > 0 && i < LOG_INT_N ? log_int[i] : log((double)i);
}

/* ln Q(x2, v): the log of the chi-squared tail, never rounded to 0 (see bayes_chi2q). */
static double chi2q_log(double x2, unsigned v)
{
	double m = x2 / 2.0, lm, lt, mx, sum = 0, r;
	unsigned k = v / 2;

	if (x2 <= 0 || k == 0)
		return 0.0;
	lm = log(m);
	/*
	 * terms t_i = exp(-m) m^i / i!, i < k, summed by log-sum-exp. ln t_i = ln t_(i-1) + ln m -
	 * ln i; the largest is at i = min(k - 1, floor(m)) (the terms rise while i < m), so one
	 * lgamma finds it and the sum needs no second pass of lgamma calls.
	 */
	unsigned top = m < (double)(k - 1) ? (unsigned)m : k - 1;

	mx = -m + top * lm - lgamma((double)top + 1.0);
	lt = -m; /* i = 0 */
	for (unsigned i = 0; i < k; i++) {
		if (i > 0)
			lt += lm - bayes_log_int(i);
		sum += exp(lt - mx);
	}
	r = mx + log(sum);
	return r > 0.0 ? 0.0 : r;
}

double bayes_chi2q(double x2, unsigned v)
{
	return exp(chi2q_log(x2, v));
}

double bayes_combine(const double *f, size_t n)
{
	double lh = 0, ls = 0, qh, qs, h, s, both, i;

	if (n == 0)
		return 0.5;
	for (size_t k = 0; k < n; k++) {
		double p = f[k];

		if (p < BAYES_F_EPS)
			p = BAYES_F_EPS;
		if (p > 1 - BAYES_F_EPS)
			p = 1 - BAYES_F_EPS;
		lh += log(p);
		ls += log(1 - p);
	}
	qh = chi2q_log(-2.0 * lh, (unsigned)(2 * n)); /* small: the clues are too hammy for chance */
	qs = chi2q_log(-2.0 * ls, (unsigned)(2 * n)); /* small: too spammy for chance */
	h = 1.0 - exp(qh);
	s = 1.0 - exp(qs);
	both = n < tie_min_clues ? 0.0 : h < s ? h : s;
	i = (s - h + 1.0) / 2.0 + BAYES_TIE_WEIGHT * both * tanh((qh - qs) / BAYES_TIE_SCALE);
	return i < 0.0 ? 0.0 : i > 1.0 ? 1.0 : i;
}

/*
 * The clues are the max strongest in a stable order: strongest first, and of equal strength the
 * one that came first (the order glibc's merge-sorting qsort gave, which the chi-squared sums
 * depend on to the last bit). Each kept value is inserted into the sorted head of f, behind
 * every one at least as strong; a value weaker than the max-th is dropped at once. A corpus
 * message keeps 60 of 100-300 candidates with a few dozen insertions, where qsort sorted them
 * all through a callback per comparison. At most n * max moves for input in rising order.
 */
size_t bayes_select_clues(double *f, size_t n, size_t max)
{
	size_t w = 0, kept = 0;

	for (size_t i = 0; i < n; i++)
		if (fabs(f[i] - 0.5) >= BAYES_MIN_STRENGTH)
			f[w++] = f[i];
	if (w <= max)
		return w;
	for (size_t i = 0; i < w; i++) {
		double v = f[i], sv = fabs(v - 0.5);
		size_t lo = 0, hi = kept;

		if (kept == max && sv <= fabs(f[kept - 1] - 0.5))
			continue;
		/* the first place whose value is weaker than v (f[0..i) is not read again) */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (fabs(f[mid] - 0.5) >= sv)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (kept < max)
			kept++;
		memmove(f + lo + 1, f + lo, (kept - 1 - lo) * sizeof *f);
		f[lo] = v;
	}
	return kept;
}
