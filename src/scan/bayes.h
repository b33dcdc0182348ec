/*
 * bayes - a statistical text classifier: token counts learned from spam and ham, combined per
 * message with Robinson's f(w) and Fisher's chi-squared method (docs/spam.md has the formulas).
 *
 * Storage (bayes_db.c): one LMDB environment, <home>/db/bayes.lmdb (a single file plus its
 * -lock file), shared by every scan worker through the page cache, without per-process copies.
 * A reader opens a read transaction per message, so a message learned by `mxtower learn` counts
 * from the next scan on (a bulk learn commits at least once a second). Sub-databases: "meta"
 * ("table": every token's {spam, ham} counts and the messages learned per class, one hash table
 * in one value, read zero-copy: bayes_table.h), "seen" (message digest -> class it was learned
 * as, which is what makes unlearn and relearn exact).
 *
 * Combiner (bayes_combine.c): pure functions of counts, unit-tested on known values.
 * Scanner (bayes.c): the ops table; symbols BAYES_SPAM / BAYES_HAM with the probability.
 */
#ifndef MX_SCAN_BAYES_H
#define MX_SCAN_BAYES_H

#include "scan/scan.h"

#include <stddef.h>
#include <stdint.h>

/* 1 GiB of address space, sparse on disk. The token table (16 bytes a slot, at most half full)
 * is copied once per write transaction and doubles by rehash, so about 8 million tokens fit
 * before MDB_MAP_FULL (a tenth of the SpamAssassin corpus makes 142,000). */
#define BAYES_MAP_SIZE (1ULL << 30)
/* Below this many messages of either class the counts say more about chance than about mail. */
#define BAYES_MIN_LEARNED 10
/* Robinson's strength of the prior (s) and the prior itself (x) for rare tokens. */
#define BAYES_PRIOR_S 0.45
#define BAYES_PRIOR_X 0.5
/*
 * Tokens nearer than this to 0.5 say little and dilute the chi-squared sums. 0.4 keeps only
 * tokens at f <= 0.1 or f >= 0.9 (a word seen once is f = 0.155 with s = 0.45, so hapaxes no
 * longer vote). Chosen by cross-validation inside the training split of bench/eval (every 4th
 * training message held out): (1-ROCA)% 0.073 -> 0.051, spam caught at 0.1% FP 86.5% -> 91.6%.
 */
#define BAYES_MIN_STRENGTH 0.4
/*
 * (0.5 + BAYES_MIN_STRENGTH) / (0.5 - BAYES_MIN_STRENGTH), an integer. f is a weighted mean of
 * BAYES_PRIOR_X (0.5) and p = ps / (ps + ph), so a clue needs p >= 0.9 or p <= 0.1: its share
 * of spam (count / nspam) at least this many times its share of ham, or at most 1/this. A
 * token whose p is inside that band has f at least 0.18 / (0.45 + n) inside it, far beyond
 * rounding (and beyond that of the products of counts in doubles, which classify compares to
 * find such tokens before computing f for the rest).
 * test_bayes checks the two constants agree.
 */
#define BAYES_CLUE_RATIO 9
/*
 * The most extreme tokens used per message; more adds correlated evidence, not information
 * (a word and the skip-bigrams around it count as separate clues, and chi-squared believes
 * each). 60, not the 150 of SpamBayes: by 4-fold cross-validation inside the training split of
 * bench/eval (docs/spam.md, 2026-11-29) 60 moved spam caught at 0.1% FP from 92.7% to 95.3%
 * with fewer ham near the tag threshold (2 within a point of it, 3 before); 40, 50 and 100
 * were worse at the 0.1% point, 70 and 80 about the same.
 */
#define BAYES_MAX_CLUES 60
/* Of those, at most this many from headers: a mailing list's headers (Received, List-Id,
 * Sender...) are many strongly correlated tokens that would otherwise outvote the content of
 * spam posted to a list. */
#define BAYES_MAX_HEADER_CLUES 40
/* A digest names a learned message: SHA-256 of Message-ID and body, first 16 bytes. */
#define BAYES_DIGEST_LEN 16

enum bayes_class { BAYES_CLASS_NONE = -1, BAYES_CLASS_HAM = 0, BAYES_CLASS_SPAM = 1 };

/* ---- combiner (bayes_combine.c) ---- */

/* Robinson's f(w) for a token seen in spam/ham of nspam/nham learned messages. */
double bayes_token_prob(uint32_t spam, uint32_t ham, uint64_t nspam, uint64_t nham);
/* P(chi2 >= x2) for v degrees of freedom (v even), computed in log space (no underflow). */
double bayes_chi2q(double x2, unsigned v);
/* ln i, from a table for the small i of the chi-squared sums (the same values as log()). */
double bayes_log_int(unsigned i);
/*
 * Fisher-Robinson combination of n token probabilities (already filtered): returns the spam
 * indicator I in [0, 1], 0.5 when n == 0 (no evidence either way).
 */
double bayes_combine(const double *f, size_t n);
/* Keep only the clues: |f - 0.5| >= BAYES_MIN_STRENGTH, the max most extreme. Reorders f in
 * place; returns how many of the first ones to use. */
size_t bayes_select_clues(double *f, size_t n, size_t max);

/* ---- storage (bayes_db.c) ---- */

struct bayes_db;

enum {
	BAYES_DB_BULK = 1 << 0, /* no fsync per commit; one sync at close (learn of a corpus) */
};

/* Open (creating) the environment at path; NULL with a log line on failure. One per process. */
struct bayes_db *bayes_db_open(const char *path, unsigned flags);
void bayes_db_close(struct bayes_db *db);

/*
 * Learn a message's (finished, deduplicated) features as cls, or forget it with
 * BAYES_CLASS_NONE. A message learned before as the other class is moved (relearn). Returns 0
 * when the counts changed, 1 when there was nothing to do (already learned as cls, or unlearn
 * of a message never learned), -errno on failure. *prev gets the class it had (may be NULL).
 */
int bayes_db_learn(struct bayes_db *db, const uint8_t digest[BAYES_DIGEST_LEN],
		   const uint64_t *tok, size_t n, enum bayes_class cls, enum bayes_class *prev);

struct bayes_verdict {
	double prob;      /* spam indicator I, 0..1 */
	size_t nclues;    /* tokens that went into it */
	uint64_t nspam, nham; /* messages learned */
};

/* Classify a message from its header and body features (see BAYES_MAX_HEADER_CLUES), as a
 * tokenizer sink leaves them: finished or not (a feature that repeats counts once). 0,
 * -ENODATA when fewer than BAYES_MIN_LEARNED of either class, -errno. */
int bayes_db_classify(struct bayes_db *db, const uint64_t *hdr, size_t nh, const uint64_t *body,
		      size_t nb, struct bayes_verdict *out);
/* The class a message (by digest) was learned as, BAYES_CLASS_NONE when never. 0 or -errno. */
int bayes_db_class_of(struct bayes_db *db, const uint8_t digest[BAYES_DIGEST_LEN],
		      enum bayes_class *cls);
/* Messages learned per class. 0 or -errno. */
int bayes_db_counts(struct bayes_db *db, uint64_t *nspam, uint64_t *nham);
/* One token's counts (tests, tools). 0, -ENOENT when never seen, -errno. */
int bayes_db_token(struct bayes_db *db, uint64_t h, uint32_t *spam, uint32_t *ham);

/* ---- message helpers (bayes.c) ---- */

/* The digest of a raw message: Message-ID value and the body after the header block. */
void bayes_message_digest(const char *msg, size_t len, uint8_t out[BAYES_DIGEST_LEN]);
/* Score of the BAYES_SPAM/BAYES_HAM symbol for an indicator I (0 in the unsure middle). */
double bayes_score(double prob);

/*
 * Autolearn (scan/autolearn.c decides): learn one scanned message as cls with the scanner's
 * open database, unless it was learned before as either class (a person's `mxtower learn`
 * always wins over the filter's own opinion). m may be NULL (raw fallback). 0 when learned, 1
 * when there was nothing to do (also when the bayes scanner is not running), -errno.
 */
int bayes_autolearn(const struct mime_msg *m, const char *msg, size_t len, enum bayes_class cls);

/*
 * Leave-one-out scanning for `mxtower train-weights` (scan/combine_fit.h): call before the
 * pipeline's init. Each message that was learned is unlearned, classified, and learned back
 * as the class it had (exact: the counts end as they began), so its indicator is the one a
 * message the filter never saw would get, not the over-confident one of its own counts. The
 * database is opened without a sync per commit; an interrupted run leaves at most the one
 * message in flight unlearned (`mxtower learn` puts it back).
 */
void bayes_hold_out_learned(int on);

extern const struct scanner_ops bayes_scanner;

#endif
