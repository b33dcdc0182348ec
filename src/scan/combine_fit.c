/*
 * combine_fit - see combine_fit.h. Newton's method on the L2-penalised log loss:
 *
 *   minimise  sum_i log(1 + exp(-y_i z_i)) + lambda/2 |w|^2,   z_i = w . x_i + b
 *
 * (the intercept b is not penalised). x_i is sparse: the presence of each selected symbol name
 * plus COMBINE_BAYES_FEATURES dense values, so the Hessian is built from a dozen or so entries
 * per message and solved by Cholesky (D is a few hundred at most). The penalty keeps the
 * Hessian positive definite, so Newton converges in a handful of steps; a step that raises the
 * loss is halved.
 */
#include "scan/combine_fit.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FIT_MAX_ITER 60
#define FIT_TOL 1e-7
/* The penalty of the intercept and of the hand-set total's weight: not shrunk (the symbols'
 * own weights and the Bayes features are corrections to the hand-set total, shrunk towards
 * none), but a tiny ridge keeps H definite when a fold is separable. */
#define FIT_BIAS_RIDGE 1e-4

void combine_fit_opts_default(struct combine_fit_opts *o)
{
	static const double grid[] = {0.1, 0.3, 1, 3, 10, 30};

	memset(o, 0, sizeof *o);
	o->folds = 4;
	o->fp_target = 0.001;
	o->nlambda = sizeof grid / sizeof grid[0];
	memcpy(o->lambda, grid, sizeof grid);
}

static int name_index(struct combine_data *d, const char *name)
{
	for (unsigned i = 0; i < d->nnames; i++)
		if (strcmp(d->name[i], name) == 0)
			return (int)i;
	if (d->nnames >= COMBINE_FIT_MAX_NAMES)
		return -1;
	if (d->name == NULL) {
		d->name = calloc(COMBINE_FIT_MAX_NAMES, sizeof *d->name);
		d->count = calloc(COMBINE_FIT_MAX_NAMES, sizeof *d->count);
		if (d->name == NULL || d->count == NULL)
			return -2;
	}
	memcpy(d->name[d->nnames], name, SCAN_SYMBOL_NAME);
	d->name[d->nnames][SCAN_SYMBOL_NAME - 1] = '\0';
	return (int)d->nnames++;
}

int combine_data_add(struct combine_data *d, const struct scan_result *res, int spam,
		     unsigned fold)
{
	struct combine_sample *s;

	if (d->n == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 1024;
		void *p = realloc(d->s, nc * sizeof *d->s);

		if (p == NULL)
			return -ENOMEM;
		d->s = p;
		d->cap = nc;
	}
	if (d->nidx + SCAN_MAX_SYMBOLS > d->capidx) {
		size_t nc = d->capidx ? d->capidx * 2 : 16384;
		void *p = realloc(d->idx, nc * sizeof *d->idx);

		if (p == NULL)
			return -ENOMEM;
		d->idx = p;
		p = realloc(d->val, nc * sizeof *d->val);
		if (p == NULL)
			return -ENOMEM;
		d->val = p;
		d->capidx = nc;
	}
	s = &d->s[d->n];
	s->off = d->nidx;
	s->n = 0;
	s->bayes = combine_bayes_prob(res, &s->clues);
	s->hand = 0;
	s->spam = spam != 0;
	s->fold = fold;
	for (unsigned k = 0; k < res->nsym; k++) {
		const char *name = res->sym[k].name;
		int i, dup = -1;

		if (strcmp(name, "COMBINE") == 0)
			continue;
		s->hand += res->sym[k].score;
		if (combine_symbol_excluded(name))
			continue;
		if ((i = name_index(d, name)) == -2)
			return -ENOMEM;
		if (i < 0)
			continue;
		for (unsigned j = 0; j < s->n; j++)
			if (d->idx[s->off + j] == (unsigned)i)
				dup = (int)j;
		if (dup >= 0) {
			d->val[s->off + (unsigned)dup] += res->sym[k].score;
			continue;
		}
		d->idx[d->nidx] = (unsigned)i;
		d->val[d->nidx++] = res->sym[k].score;
		s->n++;
		d->count[i]++;
	}
	d->n++;
	return 0;
}

void combine_data_free(struct combine_data *d)
{
	free(d->name);
	free(d->count);
	free(d->idx);
	free(d->val);
	free(d->s);
	memset(d, 0, sizeof *d);
}

/* The sparse row of sample s: indices into w and values; returns its length. */
static unsigned sample_row(const struct combine_data *d, const int *map, unsigned nsel,
			   const struct combine_sample *s, unsigned *ix, double *v)
{
	double f[COMBINE_BAYES_FEATURES];
	unsigned n = 0;

	for (unsigned j = 0; j < s->n; j++) {
		int m = map[d->idx[s->off + j]];

		if (m >= 0) {
			ix[n] = (unsigned)m;
			v[n++] = 1.0;
		}
	}
	combine_bayes_features(s->bayes, s->clues, f);
	for (unsigned j = 0; j < COMBINE_BAYES_FEATURES; j++) {
		ix[n] = nsel + j;
		v[n++] = f[j];
	}
	ix[n] = nsel + COMBINE_BAYES_FEATURES; /* the hand-set total */
	v[n++] = s->hand;
	ix[n] = nsel + COMBINE_BAYES_FEATURES + 1; /* intercept */
	v[n++] = 1.0;
	return n;
}

static double row_dot(const double *w, const unsigned *ix, const double *v, unsigned n)
{
	double z = 0;

	for (unsigned j = 0; j < n; j++)
		z += w[ix[j]] * v[j];
	return z;
}

/* log(1 + exp(-t)) without overflow. */
static double softplus_neg(double t)
{
	return t > 0 ? log1p(exp(-t)) : -t + log1p(exp(t));
}

static double objective(const struct combine_data *d, const int *map, unsigned nsel,
			double lambda, int skip, const double *w)
{
	unsigned ix[SCAN_MAX_SYMBOLS + COMBINE_BAYES_FEATURES + 2];
	double v[SCAN_MAX_SYMBOLS + COMBINE_BAYES_FEATURES + 2], L = 0;
	unsigned D = nsel + COMBINE_BAYES_FEATURES + 2;

	for (size_t i = 0; i < d->n; i++) {
		const struct combine_sample *s = &d->s[i];

		if ((int)s->fold == skip)
			continue;
		unsigned n = sample_row(d, map, nsel, s, ix, v);
		double z = row_dot(w, ix, v, n);

		L += softplus_neg(s->spam ? z : -z);
	}
	for (unsigned j = 0; j + 2 < D; j++)
		L += 0.5 * lambda * w[j] * w[j];
	return L + 0.5 * FIT_BIAS_RIDGE * (w[D - 2] * w[D - 2] + w[D - 1] * w[D - 1]);
}

/* Solve H x = g in place (g becomes x) by Cholesky; H (D x D) is overwritten. -1 if not PD. */
static int cholesky_solve(double *H, double *g, unsigned D)
{
	for (unsigned j = 0; j < D; j++) {
		double s = H[j * D + j];

		for (unsigned k = 0; k < j; k++)
			s -= H[j * D + k] * H[j * D + k];
		if (!(s > 0))
			return -1;
		s = sqrt(s);
		H[j * D + j] = s;
		for (unsigned i = j + 1; i < D; i++) {
			double t = H[i * D + j];

			for (unsigned k = 0; k < j; k++)
				t -= H[i * D + k] * H[j * D + k];
			H[i * D + j] = t / s;
		}
	}
	for (unsigned i = 0; i < D; i++) { /* L y = g */
		double t = g[i];

		for (unsigned k = 0; k < i; k++)
			t -= H[i * D + k] * g[k];
		g[i] = t / H[i * D + i];
	}
	for (unsigned i = D; i-- > 0;) { /* L^T x = y */
		double t = g[i];

		for (unsigned k = i + 1; k < D; k++)
			t -= H[k * D + i] * g[k];
		g[i] = t / H[i * D + i];
	}
	return 0;
}

int combine_fit_lr(const struct combine_data *d, const int *map, unsigned nsel, double lambda,
		   int skip, double *w)
{
	unsigned D = nsel + COMBINE_BAYES_FEATURES + 2;
	unsigned ix[SCAN_MAX_SYMBOLS + COMBINE_BAYES_FEATURES + 2];
	double v[SCAN_MAX_SYMBOLS + COMBINE_BAYES_FEATURES + 2];
	double *H = malloc((size_t)D * D * sizeof *H), *g = malloc(D * sizeof *g);
	double *wn = malloc(D * sizeof *wn), L;
	int r = 0;

	if (H == NULL || g == NULL || wn == NULL) {
		r = -ENOMEM;
		goto out;
	}
	memset(w, 0, D * sizeof *w);
	L = objective(d, map, nsel, lambda, skip, w);
	for (int it = 0; it < FIT_MAX_ITER; it++) {
		double step = 1.0, maxd = 0, Ln;

		memset(H, 0, (size_t)D * D * sizeof *H);
		for (unsigned j = 0; j < D; j++) {
			double lam = j + 2 < D ? lambda : FIT_BIAS_RIDGE;

			g[j] = lam * w[j];
			H[j * D + j] = lam;
		}
		for (size_t i = 0; i < d->n; i++) {
			const struct combine_sample *s = &d->s[i];

			if ((int)s->fold == skip)
				continue;
			unsigned n = sample_row(d, map, nsel, s, ix, v);
			double z = row_dot(w, ix, v, n), p = 1.0 / (1.0 + exp(-z));
			double e = p - (s->spam ? 1.0 : 0.0), q = p * (1 - p);

			for (unsigned a = 0; a < n; a++) {
				g[ix[a]] += e * v[a];
				for (unsigned b = 0; b < n; b++)
					H[ix[a] * D + ix[b]] += q * v[a] * v[b];
			}
		}
		if (cholesky_solve(H, g, D) < 0) {
			r = -EDOM;
			goto out;
		}
		for (;;) {
			for (unsigned j = 0; j < D; j++)
				wn[j] = w[j] - step * g[j];
			Ln = objective(d, map, nsel, lambda, skip, wn);
			if (Ln <= L + 1e-12 || step < 1e-4)
				break;
			step /= 2;
		}
		for (unsigned j = 0; j < D; j++) {
			double dj = fabs(wn[j] - w[j]);

			maxd = dj > maxd ? dj : maxd;
		}
		memcpy(w, wn, D * sizeof *w);
		L = Ln;
		if (maxd < FIT_TOL)
			break;
	}
out:
	free(H);
	free(g);
	free(wn);
	return r;
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The figures of held-out logits z (labels from d) at the FP target. */
static void cv_figures(const struct combine_data *d, const double *z, double fp_target,
		       struct combine_cv_row *row)
{
	size_t nh = 0, ns = 0, allowed, caught = 0, fp = 0;
	double *hz = malloc(d->n * sizeof *hz), L = 0, above = 0;

	if (hz == NULL)
		return;
	for (size_t i = 0; i < d->n; i++) {
		if (!d->s[i].spam)
			hz[nh++] = z[i];
		L += softplus_neg(d->s[i].spam ? z[i] : -z[i]);
	}
	ns = d->n - nh;
	qsort(hz, nh, sizeof *hz, by_double);
	allowed = (size_t)floor((double)nh * fp_target + 1e-9);
	row->threshold = allowed < nh ? hz[nh - 1 - allowed] : -INFINITY;
	for (size_t i = 0; i < d->n; i++) {
		if (d->s[i].spam) {
			caught += z[i] > row->threshold;
			/* ROC: ham strictly below, ties half (binary searches over sorted ham) */
			size_t lo = 0, hi = nh;

			while (lo < hi) {
				size_t m = (lo + hi) / 2;

				if (hz[m] < z[i])
					lo = m + 1;
				else
					hi = m;
			}
			size_t lt = lo;

			hi = nh;
			while (lo < hi) {
				size_t m = (lo + hi) / 2;

				if (hz[m] <= z[i])
					lo = m + 1;
				else
					hi = m;
			}
			above += (double)lt + 0.5 * (double)(lo - lt);
		} else {
			fp += z[i] > row->threshold;
		}
	}
	row->caught_pct = ns ? 100.0 * (double)caught / (double)ns : 0;
	row->fp_pct = nh ? 100.0 * (double)fp / (double)nh : 0;
	row->one_minus_roca_pct = nh && ns ? 100.0 * (1.0 - above / ((double)nh * (double)ns)) : 0;
	row->logloss = d->n ? L / (double)d->n : 0;
	free(hz);
}

int combine_fit(const struct combine_data *d, const struct combine_fit_opts *o,
		struct combine_model *m, struct combine_cv_row *rows, unsigned *chosen)
{
	int *map = NULL, r = 0;
	unsigned nsel = 0, D, best = 0;
	double *w = NULL, *z = NULL;
	size_t nspam = 0;
	unsigned ix[SCAN_MAX_SYMBOLS + COMBINE_BAYES_FEATURES + 2];
	double v[SCAN_MAX_SYMBOLS + COMBINE_BAYES_FEATURES + 2];

	for (size_t i = 0; i < d->n; i++)
		nspam += d->s[i].spam != 0;
	if (nspam == 0 || nspam == d->n || o->folds < 2 || o->folds > 16 || o->nlambda == 0 ||
	    o->nlambda > COMBINE_MAX_LAMBDAS || !(o->fp_target >= 0 && o->fp_target < 1))
		return -EINVAL;
	map = malloc((d->nnames ? d->nnames : 1) * sizeof *map);
	if (map == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < d->nnames; i++)
		map[i] = d->count[i] >= COMBINE_MIN_SUPPORT && nsel < COMBINE_MAX_FEATURES ?
				 (int)nsel++ : -1;
	D = nsel + COMBINE_BAYES_FEATURES + 2;
	w = malloc(D * sizeof *w);
	z = malloc(d->n * sizeof *z);
	if (w == NULL || z == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (unsigned l = 0; l < o->nlambda; l++) {
		for (unsigned f = 0; f < o->folds; f++) {
			if ((r = combine_fit_lr(d, map, nsel, o->lambda[l], (int)f, w)) < 0)
				goto out;
			for (size_t i = 0; i < d->n; i++) {
				if (d->s[i].fold != f)
					continue;
				unsigned n = sample_row(d, map, nsel, &d->s[i], ix, v);

				z[i] = row_dot(w, ix, v, n);
			}
		}
		memset(&rows[l], 0, sizeof rows[l]);
		rows[l].lambda = o->lambda[l];
		cv_figures(d, z, o->fp_target, &rows[l]);
		if (l == 0 || rows[l].caught_pct > rows[best].caught_pct ||
		    (rows[l].caught_pct == rows[best].caught_pct &&
		     rows[l].logloss < rows[best].logloss))
			best = l;
	}
	if ((r = combine_fit_lr(d, map, nsel, o->lambda[best], -1, w)) < 0)
		goto out;
	memset(m, 0, sizeof *m);
	for (unsigned i = 0; i < d->nnames; i++) {
		if (map[i] < 0)
			continue;
		memcpy(m->name[m->n], d->name[i], SCAN_SYMBOL_NAME);
		m->w[m->n++] = w[map[i]];
	}
	for (unsigned j = 0; j < COMBINE_BAYES_FEATURES; j++)
		m->wb[j] = w[nsel + j];
	m->whand = w[nsel + COMBINE_BAYES_FEATURES];
	m->bias = w[nsel + COMBINE_BAYES_FEATURES + 1];
	m->lambda = o->lambda[best];
	for (unsigned j = 0; j < D; j++)
		if (!(fabs(w[j]) <= COMBINE_MAX_ABS))
			m->whand = 0; /* diverged (separable mail): refused below */
	if (!(m->whand >= COMBINE_MIN_HAND_WEIGHT)) {
		r = -EDOM; /* see COMBINE_MIN_HAND_WEIGHT: such a model is not written */
		goto out;
	}
	/* just above the held-out ham allowed over it, so that ham itself is not tagged */
	m->z0 = isfinite(rows[best].threshold) ? rows[best].threshold + 1e-3 : -50;
	*chosen = best;
out:
	free(map);
	free(w);
	free(z);
	return r;
}
