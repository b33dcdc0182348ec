/*
 * combine_fit - fitting the learned combination layer (scan/combine.h): an L2-regularised
 * logistic regression by Newton's method over the symbols of labelled, scanned messages, with
 * the regularisation weight and the operating threshold chosen by K-fold cross-validation
 * inside those messages (never on anything else).
 *
 * Owner: the caller owns a combine_data and frees it with combine_data_free. Limits: at most
 * COMBINE_FIT_MAX_NAMES distinct symbol names are collected (more are ignored), and only names
 * seen in at least COMBINE_MIN_SUPPORT messages become features.
 */
#ifndef MX_SCAN_COMBINE_FIT_H
#define MX_SCAN_COMBINE_FIT_H

#include "scan/combine.h"

#include <stddef.h>

#define COMBINE_FIT_MAX_NAMES 4096
/* A symbol seen in fewer training messages keeps its hand-set score: a weight fitted on two
 * or three messages says more about those messages than about mail. */
#define COMBINE_MIN_SUPPORT 5
#define COMBINE_MAX_LAMBDAS 8

struct combine_sample {
	size_t off;     /* first of its name indices in combine_data.idx */
	unsigned n;
	double bayes;   /* Bayes's indicator, -1 when it did not vote */
	unsigned clues; /* and its clue count */
	double hand;    /* the hand-set total of its symbols */
	int spam;
	unsigned fold;
};

struct combine_data {
	unsigned nnames;
	char (*name)[SCAN_SYMBOL_NAME];
	unsigned *count; /* messages each name was seen in */
	unsigned *idx;  /* name of each (sample, name) pair */
	double *val;    /* the hand-set score of that name in that sample */
	size_t nidx, capidx;
	struct combine_sample *s;
	size_t n, cap;
};

struct combine_cv_row {
	double lambda;
	double caught_pct;  /* held-out spam above the threshold that keeps ham at the target */
	double fp_pct;      /* held-out ham above it (at most the target) */
	double one_minus_roca_pct;
	double logloss;     /* mean held-out log loss */
	double threshold;   /* that threshold, in logit units */
};

struct combine_fit_opts {
	unsigned folds;       /* K of the cross-validation (2..16) */
	double fp_target;     /* e.g. 0.001: the share of held-out ham allowed over the threshold */
	unsigned nlambda;
	double lambda[COMBINE_MAX_LAMBDAS];
};

void combine_fit_opts_default(struct combine_fit_opts *o);

/* Add one scanned message with its label; fold is its cross-validation fold. 0 or -ENOMEM. */
int combine_data_add(struct combine_data *d, const struct scan_result *res, int spam,
		     unsigned fold);
void combine_data_free(struct combine_data *d);

/*
 * Cross-validate every lambda of o, choose the one holding the most spam over the threshold at
 * the FP target (ties: the lower held-out log loss), fit it on all messages into *m with z0
 * just above that threshold. rows gets one line per lambda (o->nlambda of them); *chosen its
 * index. 0, -EINVAL (no spam or no ham, bad options), -ENOMEM.
 */
int combine_fit(const struct combine_data *d, const struct combine_fit_opts *o,
		struct combine_model *m, struct combine_cv_row *rows, unsigned *chosen);

/* Fit with one lambda on the messages not in fold skip (skip = -1: all) into w (D values:
 * selected names, the Bayes features, the hand-set total, the intercept last). */
int combine_fit_lr(const struct combine_data *d, const int *map, unsigned nsel, double lambda,
		   int skip, double *w);

#endif
