/*
 * bayes_combine - the arithmetic of the classifier, free of storage: Robinson's per-token
 * probability with a prior, clue selection, and the Fisher chi-squared combination.
 *
 * Why chi-squared: it answers "how unlikely is this set of probabilities if the message were
 * random" separately for spam and for ham, so a message full of strong evidence both ways comes
 * out near 0.5 (unsure) instead of being forced to an extreme, as a plain naive-Bayes product
 * is. The tail sums are done in log space so a message with 150 clues at 0.99 does not
 * underflow to 0.
 */
#include "scan/bayes.h"

#include <math.h>
#include <stdlib.h>

/* Probabilities are clamped away from 0 and 1 before logs: one token must never be certain. */
#define BAYES_F_EPS 1e-4

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

double bayes_chi2q(double x2, unsigned v)
{
	double m = x2 / 2.0, lm, lt, mx, sum = 0;
	unsigned k = v / 2;

	if (x2 <= 0 || k == 0)
		return 1.0;
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
			lt += lm - log((double)i);
		sum += exp(lt - mx);
	}
	sum = exp(mx + log(sum));
	return sum > 1.0 ? 1.0 : sum;
}

double bayes_combine(const double *f, size_t n)
{
	double lh = 0, ls = 0, h, s;

	if (n == 0)
		return 0.5;
	for (size_t i = 0; i < n; i++) {
		double p = f[i];

		if (p < BAYES_F_EPS)
			p = BAYES_F_EPS;
		if (p > 1 - BAYES_F_EPS)
			p = 1 - BAYES_F_EPS;
		lh += log(p);
		ls += log(1 - p);
	}
	h = 1.0 - bayes_chi2q(-2.0 * lh, (unsigned)(2 * n));
	s = 1.0 - bayes_chi2q(-2.0 * ls, (unsigned)(2 * n));
	return (s - h + 1.0) / 2.0;
}

static int by_strength(const void *a, const void *b)
{
	double x = fabs(*(const double *)a - 0.5), y = fabs(*(const double *)b - 0.5);

	return x < y ? 1 : x > y ? -1 : 0;
}

size_t bayes_select_clues(double *f, size_t n, size_t max)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		if (fabs(f[i] - 0.5) >= BAYES_MIN_STRENGTH)
			f[w++] = f[i];
	if (w > max) {
		qsort(f, w, sizeof *f, by_strength);
		w = max;
	}
	return w;
}
