/*
 * fuzzy scanner - fingerprints every message (text min-hashes, attachment hashes), records the
 * sighting with its source address, and adds:
 *   FUZZY_SPAM        the campaign was learned/reported as spam more often than as ham
 *   FUZZY_HAM         ... as ham (a reported false positive protects its look-alikes)
 *   FUZZY_ATTACH_SPAM an attachment identical to one learned as spam
 *   FUZZY_BULK        many copies from many sources within a day (information, small score)
 */
#include "scan/fuzzy.h"

#include "core/fsutil.h"
#include "core/log.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

/* Reported spam: from 7 at the match bar up to 10 for an exact copy, so a close variant of a
 * reported campaign is quarantined (10) with the default policy even before Bayes votes. */
#define FUZZY_SPAM_MIN 7.0
#define FUZZY_SPAM_MAX 10.0
#define FUZZY_HAM_SCORE -3.0
#define FUZZY_ATTACH_SCORE 8.0
/* Bulk: 50 copies a day from 5+ sources; legitimate newsletters are bulk too, so it only
 * nudges. */
#define FUZZY_BULK_COUNT 50
#define FUZZY_BULK_SOURCES 5
#define FUZZY_BULK_SCORE 1.0

static struct fuzzy_db *fuzzy_scan_db;

static int fuzzy_init(const struct config *cfg)
{
	char dir[CONFIG_PATH], path[CONFIG_PATH];
	int r;

	if (fuzzy_scan_db)
		return 0;
	if (scan_home_path(cfg, "db", dir, sizeof dir) < 0 ||
	    scan_home_path(cfg, "db/fuzzy.lmdb", path, sizeof path) < 0)
		return -ENAMETOOLONG;
	if ((r = fs_mkdir_p(dir, 0755)) < 0)
		return r;
	fuzzy_scan_db = fuzzy_db_open(path, FUZZY_DB_DEFER);
	return fuzzy_scan_db ? 0 : -EIO;
}

/* The worker's tick (about once a second): write the batched sightings when due. */
static int fuzzy_reload(const struct config *cfg)
{
	(void)cfg;
	return fuzzy_scan_db ? fuzzy_db_flush_due(fuzzy_scan_db, (uint64_t)time(NULL)) : 0;
}

static void fuzzy_verdict(struct scan_task *t, const struct fuzzy_match *m, uint64_t now,
			  int attach)
{
	const struct fuzzy_campaign *c = &m->c;

	if (m->found && c->spam > c->ham) {
		if (attach) {
			scan_add_symbol(t->res, "FUZZY_ATTACH_SPAM", FUZZY_ATTACH_SCORE,
					"id=%016" PRIx64 " spam=%u", c->id, c->spam);
			return;
		}
		double x = (double)(m->similarity - FUZZY_MATCH_MIN) /
			   (double)(FUZZY_NHASH - FUZZY_MATCH_MIN);

		scan_add_symbol(t->res, "FUZZY_SPAM",
				FUZZY_SPAM_MIN + (FUZZY_SPAM_MAX - FUZZY_SPAM_MIN) * x,
				"id=%016" PRIx64 " sim=%u/%u spam=%u", c->id, m->similarity,
				FUZZY_NHASH, c->spam);
		return;
	}
	if (m->found && !attach && c->ham > c->spam) {
		scan_add_symbol(t->res, "FUZZY_HAM", FUZZY_HAM_SCORE,
				"id=%016" PRIx64 " sim=%u/%u ham=%u", c->id, m->similarity,
				FUZZY_NHASH, c->ham);
		return;
	}
	if (!attach && fuzzy_campaign_recent(c, now, FUZZY_HOURS) >= FUZZY_BULK_COUNT &&
	    fuzzy_campaign_sources(c, now, FUZZY_HOURS * 3600) >= FUZZY_BULK_SOURCES)
		scan_add_symbol(t->res, "FUZZY_BULK", FUZZY_BULK_SCORE,
				"id=%016" PRIx64 " day=%" PRIu64 " sources=%u", c->id,
				fuzzy_campaign_recent(c, now, FUZZY_HOURS),
				fuzzy_campaign_sources(c, now, FUZZY_HOURS * 3600));
}

static int fuzzy_scan(struct scan_task *t)
{
	struct fuzzy_sig sig;
	struct fuzzy_match m;
	uint64_t att[FUZZY_MAX_ATTACH], now = (uint64_t)time(NULL);
	size_t natt = 0;
	const char *ip = t->env ? t->env->client_ip : "";
	int r, text = fuzzy_message_sigs_words(t->mime, t->msg, t->len, t->words, &sig,
						      att, &natt) == 0;

	if (text) {
		if ((r = fuzzy_db_text(fuzzy_scan_db, &sig, ip, now, 1, &m)) < 0)
			return r;
		fuzzy_verdict(t, &m, now, 0);
	}
	for (size_t i = 0; i < natt; i++) {
		if ((r = fuzzy_db_attach(fuzzy_scan_db, att[i], ip, now, 1, &m)) < 0)
			return r;
		fuzzy_verdict(t, &m, now, 1);
	}
	/* outside a worker (mxtower scan) nobody ticks: the age bar still bounds the delay */
	return fuzzy_db_flush_due(fuzzy_scan_db, now);
}

int fuzzy_autolearn(const struct mime_msg *m, const char *msg, size_t len, int spam)
{
	struct fuzzy_sig sig;
	uint64_t att[FUZZY_MAX_ATTACH];
	size_t natt = 0;
	int r = 0;

	if (fuzzy_scan_db == NULL)
		return 0; /* the fuzzy scanner is not running here */
	/* this message's own sighting may still be pending: written first, learned on top */
	if ((r = fuzzy_db_flush(fuzzy_scan_db)) < 0)
		return r;
	if (fuzzy_message_sigs(m, msg, len, &sig, att, &natt) == 0)
		r = fuzzy_db_learn_text(fuzzy_scan_db, &sig, spam, +1);
	for (size_t i = 0; i < natt && r == 0; i++)
		r = fuzzy_db_learn_attach(fuzzy_scan_db, att[i], spam, +1);
	return r;
}

static void fuzzy_fini(void)
{
	fuzzy_db_close(fuzzy_scan_db);
	fuzzy_scan_db = NULL;
}

const struct scanner_ops fuzzy_scanner = {
	.name = "fuzzy",
	.init = fuzzy_init,
	.scan = fuzzy_scan,
	.reload = fuzzy_reload,
	.fini = fuzzy_fini,
};
