/*
 * autolearn - see autolearn.h. The decision is pure (autolearn_decide, unit-tested); the rest
 * keeps one pending class per process and, when asked after the reply, parses the message
 * again and learns it through the bayes and fuzzy scanners' open databases. Parsing again costs
 * a fraction of a scan, only for the few messages chosen; keeping the scan's arena alive
 * until after the reply would cost every message.
 */
#include "scan/autolearn.h"

#include "core/arena.h"
#include "core/log.h"
#include "scan/fuzzy.h"
#include "scan/policy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* As the pipeline's: the MIME tree and decoded parts of one message. */
#define AUTOLEARN_ARENA_CAP (192u * 1024 * 1024)

static struct autolearn_conf al_conf;
static enum bayes_class al_pending = BAYES_CLASS_NONE;
static char al_queue_id[32];

void autolearn_configure(const struct config *cfg)
{
	al_conf.on = cfg->bayes.autolearn != 0;
	al_conf.spam_margin = (double)cfg->bayes.autolearn_spam_margin;
	al_conf.ham_margin = (double)cfg->bayes.autolearn_ham_margin;
	al_pending = BAYES_CLASS_NONE;
}

enum bayes_class autolearn_decide(const struct autolearn_facts *f, const struct autolearn_conf *c)
{
	if (!c->on || f->excluded)
		return BAYES_CLASS_NONE;
	if (f->score >= f->reject_at + c->spam_margin && f->agreeing >= 2)
		return BAYES_CLASS_SPAM;
	/* Ham: far under tag, no scanner adding a point against it, Bayes not saying spam, and
	 * not a phish verdict (phish checks can flag mail whose score stays low). */
	if (f->score <= f->tag_at - c->ham_margin && f->agreeing == 0 && f->bayes <= 0 && !f->phish)
		return BAYES_CLASS_HAM;
	return BAYES_CLASS_NONE;
}

/* Symbols that put a message outside autolearn whatever its score. */
static int excluding_symbol(const char *name)
{
	static const char *const names[] = {"ALLOWLIST",     "BLOCKLIST",     "SCANNER_DOWN",
	                                    "SCANNER_ERROR", "MIME_UNPARSED", "SCAN_NO_MEMORY"};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

void autolearn_judge(const struct scan_result *res, const struct scan_envelope *env,
                     const struct tenant *t, unsigned bayes_first, unsigned bayes_end,
                     unsigned agreeing)
{
	struct autolearn_facts f;
	struct tenant_policy def;
	const struct tenant_policy *p;

	al_pending = BAYES_CLASS_NONE;
	if (!al_conf.on)
		return;
	snprintf(al_queue_id, sizeof al_queue_id, "%s",
	         env && env->queue_id[0] ? env->queue_id : "-");
	policy_defaults(&def);
	p = t ? &t->policy : &def;
	memset(&f, 0, sizeof f);
	f.score = res->score;
	f.agreeing = agreeing;
	f.tag_at = p->tag_at;
	f.reject_at = p->reject_at;
	f.phish = res->verdict == VERDICT_PHISH;
	f.excluded = res->unscanned || res->virus[0] || res->verdict == VERDICT_MALWARE ||
	             res->verdict == VERDICT_SUSPECT;
	for (unsigned i = 0; i < res->nsym; i++) {
		const struct scan_symbol *s = &res->sym[i];

		if (i >= bayes_first && i < bayes_end) {
			f.score -= s->score;
			if (strcmp(s->name, "BAYES_SPAM") == 0)
				f.bayes = 1;
			else if (strcmp(s->name, "BAYES_HAM") == 0)
				f.bayes = -1;
		}
		if (excluding_symbol(s->name))
			f.excluded = 1;
	}
	/* A full symbol table may have dropped one of the above: do not guess. */
	if (res->nsym >= SCAN_MAX_SYMBOLS)
		f.excluded = 1;
	al_pending = autolearn_decide(&f, &al_conf);
}

int scan_autolearn_run(const char *msg, size_t len)
{
	enum bayes_class cls = al_pending;
	struct arena *a;
	struct mime_msg *m;
	int r, rf;

	al_pending = BAYES_CLASS_NONE;
	if (cls == BAYES_CLASS_NONE)
		return 0;
	a = arena_new(AUTOLEARN_ARENA_CAP);
	if (a == NULL)
		return -ENOMEM;
	m = mime_parse(a, msg, len, &mime_limits_default);
	r = bayes_autolearn(m, msg, len, cls);
	if (r == 0) {
		rf = fuzzy_autolearn(m, msg, len, cls == BAYES_CLASS_SPAM);
		if (rf < 0)
			log_warn("id=%s autolearn: fuzzy: %s", al_queue_id, strerror(-rf));
	}
	arena_free(a);
	if (r < 0) {
		log_warn("id=%s autolearn: bayes: %s", al_queue_id, strerror(-r));
		return r;
	}
	if (r == 0)
		log_info("id=%s autolearn: learned as %s", al_queue_id,
		         cls == BAYES_CLASS_SPAM ? "spam" : "ham");
	return r == 0;
}
