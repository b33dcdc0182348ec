/*
 * combine - the learned combination layer: a logistic regression over the symbols the scanners
 * added and Bayes's spam indicator, fitted on labelled mail by `mxtower train-weights`, stored
 * in <home>/db/combine.model, loaded by every scan process and applied by the pipeline after
 * the scanners ran, before the client's policy (docs/spam.md, "Learned combination").
 *
 * Without a model file the hand-set scores are added as before. With one, the score is on a
 * log-odds scale: one point is one unit of the logit, and the model's threshold sits at the
 * default tag score 5 (score = 5 + logit - threshold). The logit is
 *
 *   bias + whand * (hand-set total) + sum of the weights of the symbols present
 *        + the weights of three functions of Bayes's indicator
 *
 * so the hand-set scores stay the backbone (one learned factor turns them into log-odds) and
 * the per-symbol weights and the Bayes features are learned corrections, shrunk towards none
 * by the L2 penalty where the training mail does not support them. Each symbol shows its part
 * (whand times its hand-set score, plus its correction); a COMBINE symbol carries the
 * intercept and the threshold. A symbol seen too rarely in training (GTUBE, a new rule, most
 * heuristics) has no correction, only whand times its hand-set score, which is why a model
 * whose whand is under COMBINE_MIN_HAND_WEIGHT is refused: GTUBE's 1000 must stay decisive.
 * The fuzzy symbols never get a correction (their training-time values cannot be measured
 * without the message itself having been learned: a learned message matches its own campaign).
 *
 * Limits: COMBINE_MAX_FEATURES named symbols in a model; a model file over COMBINE_FILE_MAX
 * bytes or with a malformed line is refused whole (the previous model, or none, stays).
 */
#ifndef MX_SCAN_COMBINE_H
#define MX_SCAN_COMBINE_H

#include "core/config.h"
#include "scan/scan.h"

#include <stddef.h>

#define COMBINE_MODEL_FILE "db/combine.model"
/* Symbol names in a model: the starter rules, phish, heur, auth and MIME symbols are ~150. */
#define COMBINE_MAX_FEATURES 512
/* Any number of a model file beyond this is refused: a fit gives weights of a few units, and
 * with the limit no sum of a message's parts can overflow to infinity (or NaN). */
#define COMBINE_MAX_ABS 1e6
/* 64 KiB: 512 lines of "w NAME weight" are under 40 KiB. */
#define COMBINE_FILE_MAX (64u * 1024)
/* Dense features derived from Bayes's indicator I and its clue count (see
 * combine_bayes_features). */
#define COMBINE_BAYES_FEATURES 4
/* The policy's default tag threshold, where the model's chosen threshold is placed. */
#define COMBINE_TAG_SCORE 5.0
/* A model that makes the hand-set scores count for less than this many log-odds per point is
 * refused (by the fit and by the loader): it would make GTUBE, the analysts' rules and
 * anything the training mail never showed nearly mute. */
#define COMBINE_MIN_HAND_WEIGHT 0.1

struct combine_model {
	unsigned n;
	char name[COMBINE_MAX_FEATURES][SCAN_SYMBOL_NAME];
	double w[COMBINE_MAX_FEATURES];
	double wb[COMBINE_BAYES_FEATURES];
	double whand;  /* log-odds per hand-set point */
	double bias;
	double z0;     /* the logit placed at the tag score */
	double lambda; /* informational: the L2 weight the fit chose */
};

/* 1 for symbols that never get a correction of their own (fuzzy, scanner availability,
 * Bayes's, which enters through its indicator); their hand-set scores still count. */
int combine_symbol_excluded(const char *name);
/* Bayes's indicator from a result (its BAYES_SPAM/BAYES_HAM detail), -1 when Bayes did not
 * vote; *clues (may be NULL) gets its clue count, 0 when not shown. */
double combine_bayes_prob(const struct scan_result *res, unsigned *clues);
/* The dense Bayes features for indicator p and its clue count (all 0 when p < 0: Bayes did
 * not vote). */
void combine_bayes_features(double p, unsigned clues, double out[COMBINE_BAYES_FEATURES]);
/* The model's logit for a result (see above). */
double combine_logit(const struct combine_model *m, const struct scan_result *res);
/* Rewrite res's scores by the model (see above); res->score becomes their sum. */
void combine_apply(const struct combine_model *m, struct scan_result *res);

/* Parse a model file's text. 0, or -EINVAL (with the 1-based line in *line when not NULL). */
int combine_model_parse(const char *text, size_t len, struct combine_model *m, unsigned *line);
/* Write m to path atomically (temporary file, fsync, rename). 0 or -errno. */
int combine_model_save(const struct combine_model *m, const char *path);

/* ---- the process's model (pipeline) ---- */

/* Load <home>/db/combine.model when present (none is not an error). */
void combine_init(const struct config *cfg);
/* Reload when the file changed (size, mtime, inode), drop the model when it was removed. */
void combine_reload(const struct config *cfg);
void combine_fini(void);
/* Apply the process's model to res, if any and if not disabled. */
void combine_run(struct scan_result *res);
/* train-weights collects the hand-set symbols: no model applied in this process. */
void combine_disable(void);

#endif
