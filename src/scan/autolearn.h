/*
 * autolearn - optional, conservative self-training of Bayes and fuzzy from the pipeline's own
 * verdicts (bayes.autolearn = 1; off by default). Modelled on SpamAssassin's: the decision uses
 * the score *without* Bayes's own symbol (a classifier must not confirm itself), spam needs a
 * score far past the client's reject level and two scanners agreeing, ham a score far under
 * the tag level with no scanner against it. Never from mail that is allow- or block-listed,
 * carries a malware or suspect verdict, or was not fully scanned.
 *
 * The pipeline decides during the scan (autolearn_judge) and the caller learns after it has
 * answered (scan_autolearn_run in scan.h), so learning is never on the SMTP reply path. One
 * pending decision per process: the next scan replaces it.
 */
#ifndef MX_SCAN_AUTOLEARN_H
#define MX_SCAN_AUTOLEARN_H

#include "core/config.h"
#include "scan/bayes.h"
#include "scan/scan.h"

/* A scanner "agrees" on spam when its symbols add at least this many points (one weak rule
 * hit is not a second opinion). */
#define AUTOLEARN_SCANNER_MIN 1.0

struct autolearn_facts {
	double score;          /* the message's score without Bayes's symbols */
	unsigned agreeing;     /* scanners other than bayes adding >= AUTOLEARN_SCANNER_MIN */
	int bayes;             /* +1 BAYES_SPAM, -1 BAYES_HAM, 0 no Bayes symbol */
	int excluded;          /* listed, malware/suspect/phish, unscanned, a scanner down */
	int phish;             /* phish verdict (may be learned as spam, never as ham) */
	double tag_at, reject_at; /* the client's policy */
};

struct autolearn_conf {
	int on;
	double spam_margin, ham_margin;
};

/* Read bayes.autolearn* (once per process, from scan_pipeline_init). */
void autolearn_configure(const struct config *cfg);
/* The pure decision: BAYES_CLASS_SPAM, BAYES_CLASS_HAM or BAYES_CLASS_NONE. */
enum bayes_class autolearn_decide(const struct autolearn_facts *f, const struct autolearn_conf *c);
/*
 * Called by the pipeline once the policy is applied: gather the facts from res (bayes_first..
 * bayes_end are the symbols the bayes scanner added, agreeing the count of other scanners at
 * AUTOLEARN_SCANNER_MIN or more) and remember the decision for scan_autolearn_run.
 */
void autolearn_judge(const struct scan_result *res, const struct scan_envelope *env,
		     const struct tenant *t, unsigned bayes_first, unsigned bayes_end,
		     unsigned agreeing);

#endif
