/*
 * test_fuzzy - min-hash fingerprints on known texts (a campaign variant stays similar, other
 * mail does not, short texts have no fingerprint), the sliding-window counters, and the LMDB
 * store: a learned spam campaign is found again from a variant, with its sources.
 */
#include "scan/fuzzy.h"

#include <errno.h>
#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char campaign[] =
	"Dear friend, we are pleased to inform you that your email address has been selected "
	"in our annual international promotion. You have won a cash prize of five hundred "
	"thousand dollars. To claim your prize please contact our agent Mr James Brown with "
	"your full name, address and telephone number before the end of this month. Your "
	"reference number is ABC-123. Congratulations once more from all of us.";
static const char variant[] =
	"Dear friend, we are pleased to inform you that your email address has been selected "
	"in our annual international promotion. You have won a cash prize of seven hundred "
	"thousand dollars. To claim your prize please contact our agent Mrs Ann Lee with "
	"your full name, address and telephone number before the end of this month. Your "
	"reference number is XYZ-987. Congratulations once more from all of us.";
static const char other[] =
	"Hi all, the build on the main branch has been failing since yesterday because the "
	"linker cannot find the new crypto library. I pushed a fix to the packaging scripts "
	"that adds the missing dependency, please pull and rebuild before the release meeting "
	"on Thursday, where we will also go through the open review comments.";

static void test_sig_similarity(void **state)
{
	struct fuzzy_sig a, b, c, a2;

	(void)state;
	assert_int_equal(fuzzy_sig_make(campaign, strlen(campaign), &a), 0);
	assert_int_equal(fuzzy_sig_make(variant, strlen(variant), &b), 0);
	assert_int_equal(fuzzy_sig_make(other, strlen(other), &c), 0);
	assert_int_equal(fuzzy_sig_make(campaign, strlen(campaign), &a2), 0);
	assert_int_equal(fuzzy_sig_similarity(&a, &a2), FUZZY_NHASH);
	assert_true(fuzzy_sig_similarity(&a, &b) >= FUZZY_MATCH_MIN);
	assert_true(fuzzy_sig_similarity(&a, &c) <= 3);
	assert_true(fuzzy_sig_id(&a) == fuzzy_sig_id(&a2));
	assert_true(fuzzy_sig_id(&a) != fuzzy_sig_id(&b));
	/* case and punctuation do not matter: normalised words */
	char upper[sizeof campaign];

	for (size_t i = 0; i < sizeof campaign; i++)
		upper[i] = (campaign[i] >= 'a' && campaign[i] <= 'z') ? (char)(campaign[i] - 32) : campaign[i];
	assert_int_equal(fuzzy_sig_make(upper, strlen(upper), &a2), 0);
	assert_int_equal(fuzzy_sig_similarity(&a, &a2), FUZZY_NHASH);
}

/*
 * Stored fingerprints must not change when the code gets faster: the seed table equals its
 * formula, and known texts keep their fingerprints. The values are those of fingerprint
 * version 2 (2026-11-29: one-permutation min-hash with densification; fuzzy_db empties an
 * index of another version). Each bin's own value carries the bin in its top five bits. A skip of repeated shingles (exact: the
 * min over a multiset is the min over its set) was tried and dropped: 3% fewer instructions in
 * shingle_word on the corpus, eaten by clearing its table.
 */
static void test_sig_stable(void **state)
{
	struct fuzzy_sig a;

	(void)state;
	for (unsigned i = 0; i < FUZZY_NHASH; i++) {
		uint64_t x = 0x9e3779b97f4a7c15ULL * (i + 1);

		x ^= x >> 31;
		x *= 0xbf58476d1ce4e5b9ULL;
		x ^= x >> 27;
		assert_true(fuzzy_slot_seed(i) == (x | 1));
	}
	assert_int_equal(fuzzy_sig_make(campaign, strlen(campaign), &a), 0);
	assert_true(a.mh[0] == 0x02df7f3ef54351d1ULL);
	assert_true(a.mh[31] == 0xf86ade7fa021c8caULL);
	assert_int_equal(a.mh[0] >> 59, 0);
	assert_int_equal(a.mh[31] >> 59, 31);
	assert_true(fuzzy_sig_id(&a) == 0xcd6ca25f8a7ec37cULL);
	/* longer texts with repeats: the text twice (as a multipart/alternative message's plain
	 * and HTML halves), and 6000 words of which many shingles repeat */
	static char twice[sizeof campaign * 2 + 1], big[64 * 1024];
	size_t n = 0;

	snprintf(twice, sizeof twice, "%s\n%s", campaign, campaign);
	assert_int_equal(fuzzy_sig_make(twice, strlen(twice), &a), 0);
	assert_true(fuzzy_sig_id(&a) == 0x2a5e36e0ffe04719ULL);
	for (int r = 0; r < 2; r++)
		for (unsigned i = 0; i < 3000; i++)
			n += (size_t)snprintf(big + n, sizeof big - n, "w%u%c ", (i * 7919u) % 5000u,
					      'a' + (int)(i % 26));
	assert_true(n < sizeof big);
	assert_int_equal(fuzzy_sig_make(big, n, &a), 0);
	assert_int_equal(a.nwords, 6000);
	assert_true(fuzzy_sig_id(&a) == 0xc6da3cbb01236d4aULL);
}

/* A store in a fresh temporary directory: dir "/tmp/test_fuzzy.XXXXXX" is filled in, path
 * (128 bytes) names fuzzy.lmdb in it. */
static void store_make(char *dir, char *path)
{
	assert_non_null(mkdtemp(dir));
	snprintf(path, 128, "%s/fuzzy.lmdb", dir);
}

static void store_remove(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * The min-hash is an estimator: on two texts whose shingle sets have Jaccard similarity J, the
 * equal slots are Binomial(32, J) when each slot's minimum is uniform over the union and the
 * slots are independent. Words are unique per trial, so J is known exactly: a common block of
 * C words and D words of each text's own give J = (C - 2) / (C - 2 + 2D). A mean off J * 32 is
 * a biased slot; a variance well over 32 J (1 - J) is slots that move together (what a cheap
 * per-slot hash risks), and with it campaign variants that fall under FUZZY_MATCH_MIN.
 * One-permutation hashing samples without replacement, so its variance is if anything lower;
 * texts under ~100 words leave bins empty, and the densification must keep them unbiased too.
 * Measured (2,000-3,000 trials): J 0.5 mean 16.13 var 6.7; J 0.9 28.82, 2.4; J 0.1 3.25, 2.7;
 * 12 + 5 words (J 0.5) 16.04, 8.2; 14 + 2 words (J 0.75) 24.00, 6.5.
 */
static void sig_estimate(unsigned c, unsigned d, unsigned trials, double *mean, double *var)
{
	static char a[16384], b[16384];
	double sum = 0, sq = 0;

	for (unsigned t = 0; t < trials; t++) {
		struct fuzzy_sig sa, sb;
		size_t na = 0, nb = 0;

		for (unsigned i = 0; i < c; i++) {
			na += (size_t)snprintf(a + na, sizeof a - na, "c%ut%u ", i, t);
			nb += (size_t)snprintf(b + nb, sizeof b - nb, "c%ut%u ", i, t);
		}
		for (unsigned i = 0; i < d; i++) {
			na += (size_t)snprintf(a + na, sizeof a - na, "a%ut%u ", i, t);
			nb += (size_t)snprintf(b + nb, sizeof b - nb, "b%ut%u ", i, t);
		}
		assert_true(na < sizeof a && nb < sizeof b);
		assert_int_equal(fuzzy_sig_make(a, na, &sa), 0);
		assert_int_equal(fuzzy_sig_make(b, nb, &sb), 0);
		unsigned sim = fuzzy_sig_similarity(&sa, &sb);

		sum += sim;
		sq += (double)sim * sim;
	}
	*mean = sum / trials;
	*var = sq / trials - *mean * *mean;
}

static void test_sig_estimator(void **state)
{
	double mean, var;

	(void)state;
	/* J = 0.5: mean 16, variance 8 (the mean's standard error over 400 trials is 0.14) */
	sig_estimate(102, 50, 400, &mean, &var);
	assert_true(mean > 15.4 && mean < 16.6);
	assert_true(var > 5.0 && var < 11.5);
	/* J = 0.9, a campaign variant: mean 28.8, variance 2.9 */
	sig_estimate(182, 10, 400, &mean, &var);
	assert_true(mean > 28.3 && mean < 29.3);
	assert_true(var > 1.6 && var < 4.6);
	/* J = 0.1, unrelated newsletters of one sender: mean 3.2, never near the match bar */
	sig_estimate(22, 90, 200, &mean, &var);
	assert_true(mean > 2.6 && mean < 3.8);
	/* short texts, most bins borrowed: 12 + 5 words (J = 0.5), 14 + 2 words (J = 0.75) */
	sig_estimate(12, 5, 400, &mean, &var);
	assert_true(mean > 15.4 && mean < 16.6);
	assert_true(var > 5.0 && var < 11.5);
	sig_estimate(14, 2, 400, &mean, &var);
	assert_true(mean > 23.4 && mean < 24.6);
	assert_true(var < 9.5);
}

static void test_sig_short(void **state)
{
	struct fuzzy_sig s;

	(void)state;
	assert_int_equal(fuzzy_sig_make("too short to mean anything", 26, &s), -ENODATA);
}

static void test_windows(void **state)
{
	struct fuzzy_campaign c;
	uint64_t t0 = 1700000000;
	char ip[64];

	(void)state;
	memset(&c, 0, sizeof c);
	fuzzy_campaign_observe(&c, "192.0.2.1", t0);
	fuzzy_campaign_observe(&c, "192.0.2.2", t0 + 10);
	fuzzy_campaign_observe(&c, "192.0.2.1", t0 + 20);
	fuzzy_campaign_observe(&c, "2001:db8::1", t0 + 2 * 3600);
	fuzzy_campaign_observe(&c, "", t0 + 2 * 3600);
	assert_int_equal(c.count, 5);
	assert_int_equal(c.nips, 3);
	assert_int_equal(c.first_seen, t0);
	assert_int_equal(c.last_seen, t0 + 2 * 3600);
	assert_int_equal(fuzzy_campaign_recent(&c, t0 + 2 * 3600, 1), 2);
	assert_int_equal(fuzzy_campaign_recent(&c, t0 + 2 * 3600, 24), 5);
	assert_int_equal(fuzzy_campaign_sources(&c, t0 + 2 * 3600, 3600), 1);
	assert_int_equal(fuzzy_campaign_sources(&c, t0 + 2 * 3600, 86400), 3);
	/* a day later the hourly buckets have expired */
	assert_int_equal(fuzzy_campaign_recent(&c, t0 + 30 * 3600, 24), 0);
	assert_string_equal(fuzzy_ip_str(&c.ips[0], ip, sizeof ip), "192.0.2.1");
	assert_int_equal(c.ips[0].count, 2);
	assert_string_equal(fuzzy_ip_str(&c.ips[2], ip, sizeof ip), "2001:db8::1");
}

struct each_ctx {
	unsigned n;
	uint64_t count;
};

static int each_cb(void *arg, const struct fuzzy_campaign *c)
{
	struct each_ctx *e = arg;

	e->n++;
	e->count += c->count;
	return 0;
}

static void test_db(void **state)
{
	char dir[64] = "/tmp/test_fuzzy.XXXXXX", path[128];
	struct fuzzy_sig a, b, c;
	struct fuzzy_match m;
	struct fuzzy_db *db;
	struct each_ctx e = {0, 0};
	uint64_t att = fuzzy_attach_id("MZ\x90\x00", 4);

	(void)state;
	store_make(dir, path);
	db = fuzzy_db_open(path, 0);
	assert_non_null(db);
	fuzzy_sig_make(campaign, strlen(campaign), &a);
	fuzzy_sig_make(variant, strlen(variant), &b);
	fuzzy_sig_make(other, strlen(other), &c);
	assert_int_equal(fuzzy_db_text(db, &b, "", 1, 0, &m), 0);
	assert_false(m.found);
	assert_int_equal(fuzzy_db_learn_text(db, &a, 1, +1), 0);
	/* the variant finds the learned campaign, and a sighting is counted with its source */
	assert_int_equal(fuzzy_db_text(db, &b, "198.51.100.7", 1700000000, 1, &m), 0);
	assert_true(m.found);
	assert_true(m.similarity >= FUZZY_MATCH_MIN);
	assert_int_equal(m.c.spam, 1);
	assert_int_equal(m.c.count, 1);
	assert_int_equal(m.c.nips, 1);
	assert_int_equal(fuzzy_campaign_get(db, m.c.id, &m.c), 0);
	assert_int_equal(m.c.count, 1);
	/* unrelated text: a new campaign of its own, not spam */
	assert_int_equal(fuzzy_db_text(db, &c, "198.51.100.8", 1700000000, 1, &m), 0);
	assert_false(m.found);
	assert_int_equal(m.c.spam, 0);
	/* unlearn takes it back */
	assert_int_equal(fuzzy_db_learn_text(db, &a, 1, -1), 0);
	assert_int_equal(fuzzy_db_text(db, &a, "", 1700000000, 0, &m), 0);
	assert_true(m.found);
	assert_int_equal(m.c.spam, 0);
	/* attachments: exact */
	assert_int_equal(fuzzy_db_learn_attach(db, att, 1, +1), 0);
	assert_int_equal(fuzzy_db_attach(db, att, "198.51.100.9", 1700000000, 1, &m), 0);
	assert_true(m.found);
	assert_int_equal(m.c.kind, FUZZY_KIND_ATTACH);
	assert_int_equal(fuzzy_campaign_each(db, 1, each_cb, &e), 0);
	assert_int_equal(e.n, 3);
	assert_int_equal(e.count, 3);
	fuzzy_db_close(db);
	store_remove(dir);
}

/*
 * The scanner's batched sightings (FUZZY_DB_DEFER): counted in the verdict at once, written
 * when the batch is due, merged with a learning done in between by another handle (as
 * `mxtower learn` in another process), and never lost at close.
 */
static void test_db_deferred(void **state)
{
	char dir[64] = "/tmp/test_fuzzy.XXXXXX", path[128];
	struct fuzzy_sig a, b, c;
	struct fuzzy_match m;
	struct fuzzy_db *scan, *learn;
	struct fuzzy_campaign rec;
	uint64_t t = 1700000000, id;

	(void)state;
	store_make(dir, path);
	scan = fuzzy_db_open(path, FUZZY_DB_DEFER);
	learn = fuzzy_db_open(path, FUZZY_DB_SYNC);
	assert_non_null(scan);
	assert_non_null(learn);
	fuzzy_sig_make(campaign, strlen(campaign), &a);
	fuzzy_sig_make(variant, strlen(variant), &b);
	fuzzy_sig_make(other, strlen(other), &c);
	/* a new campaign: counted in the answer, not yet written */
	assert_int_equal(fuzzy_db_text(scan, &a, "198.51.100.7", t, 1, &m), 0);
	assert_false(m.found);
	assert_int_equal(m.c.count, 1);
	id = m.c.id;
	assert_int_equal(fuzzy_campaign_get(learn, id, &rec), -ENOENT);
	/* not due within the second; due after it */
	assert_int_equal(fuzzy_db_flush_due(scan, t), 0);
	assert_int_equal(fuzzy_campaign_get(learn, id, &rec), -ENOENT);
	assert_int_equal(fuzzy_db_flush_due(scan, t + FUZZY_PENDING_AGE), 0);
	assert_int_equal(fuzzy_campaign_get(learn, id, &rec), 0);
	assert_int_equal(rec.count, 1);
	assert_int_equal(rec.nips, 1);
	/* learned elsewhere while a sighting waits: both survive the flush */
	assert_int_equal(fuzzy_db_text(scan, &b, "198.51.100.8", t + 2, 1, &m), 0);
	assert_true(m.found);
	assert_int_equal(m.c.id, id);
	assert_int_equal(m.c.count, 2);
	assert_int_equal(fuzzy_db_learn_text(learn, &a, 1, +1), 0);
	assert_int_equal(fuzzy_db_flush(scan), 0);
	assert_int_equal(fuzzy_campaign_get(learn, id, &rec), 0);
	assert_int_equal(rec.count, 2);
	assert_int_equal(rec.spam, 1);
	assert_int_equal(rec.nips, 2);
	/* a full batch is written by the sighting that would overflow it */
	for (unsigned i = 0; i < FUZZY_PENDING_MAX + 1; i++)
		assert_int_equal(fuzzy_db_text(scan, &c, "198.51.100.9", t + 3, 1, &m), 0);
	assert_int_equal(fuzzy_campaign_get(learn, m.c.id, &rec), 0);
	assert_int_equal(rec.count, FUZZY_PENDING_MAX);
	/* close writes the rest */
	fuzzy_db_close(scan);
	assert_int_equal(fuzzy_campaign_get(learn, m.c.id, &rec), 0);
	assert_int_equal(rec.count, FUZZY_PENDING_MAX + 1);
	fuzzy_db_close(learn);
	store_remove(dir);
}

/*
 * The race test_spam found: a variant scanned (pending, no campaign yet), then the campaign
 * learned as spam by `mxtower learn`, then the batch written. The sighting must join the
 * learned campaign, not found a second one that could win the next variant's match.
 */
static void test_db_deferred_joins_learned(void **state)
{
	char dir[64] = "/tmp/test_fuzzy.XXXXXX", path[128];
	struct fuzzy_sig a, b;
	struct fuzzy_match m;
	struct fuzzy_db *scan, *learn;
	struct each_ctx e = {0, 0};

	(void)state;
	store_make(dir, path);
	scan = fuzzy_db_open(path, FUZZY_DB_DEFER);
	learn = fuzzy_db_open(path, FUZZY_DB_SYNC);
	assert_non_null(scan);
	assert_non_null(learn);
	fuzzy_sig_make(campaign, strlen(campaign), &a);
	fuzzy_sig_make(variant, strlen(variant), &b);
	assert_int_equal(fuzzy_db_text(scan, &a, "198.51.100.7", 1700000000, 1, &m), 0);
	assert_false(m.found);
	assert_int_equal(fuzzy_db_learn_text(learn, &b, 1, +1), 0);
	assert_int_equal(fuzzy_db_flush(scan), 0);
	assert_int_equal(fuzzy_campaign_each(learn, 0, each_cb, &e), 0);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.count, 1);
	/* the next copy matches the learned campaign, its own sighting counted */
	assert_int_equal(fuzzy_db_text(scan, &a, "198.51.100.8", 1700000001, 1, &m), 0);
	assert_true(m.found);
	assert_int_equal(m.similarity, FUZZY_NHASH);
	assert_int_equal(m.c.spam, 1);
	assert_int_equal(m.c.count, 2);
	fuzzy_db_close(scan);
	fuzzy_db_close(learn);
	store_remove(dir);
}

/* A fingerprint of made-up min-hashes: slot i holds base + i (each value in its own bin). */
static void sig_fill(struct fuzzy_sig *s, uint64_t base)
{
	for (unsigned i = 0; i < FUZZY_NHASH; i++)
		s->mh[i] = ((uint64_t)i << 59) | (base + i);
	s->nwords = 100;
}

/*
 * A key with many campaign ids (read in blocks of a page, MDB_GET_MULTIPLE): only its first
 * FUZZY_MAX_CANDIDATES ids in the index's order count. 600 campaigns share 15 slots (under the
 * bar, so each is a campaign of its own) and have 17 of their own: looked up, each is found
 * with 32 equal slots when its id is among the first 64 under the shared keys, else with 17.
 */
#define MANY_IDS 600
static void test_db_many_ids_under_a_key(void **state)
{
	char dir[64] = "/tmp/test_fuzzy.XXXXXX", path[128];
	static uint64_t ids[MANY_IDS], order[MANY_IDS];
	struct fuzzy_sig s;
	struct fuzzy_match m;
	struct fuzzy_db *db;
	unsigned full = 0;

	(void)state;
	store_make(dir, path);
	db = fuzzy_db_open(path, 0);
	assert_non_null(db);
	for (unsigned k = 0; k < MANY_IDS; k++) {
		sig_fill(&s, 100000 * (uint64_t)(k + 1));
		for (unsigned i = 0; i < 15; i++)
			s.mh[i] = ((uint64_t)i << 59) | (7000 + i);
		ids[k] = fuzzy_sig_id(&s);
		/* the index orders ids by their stored bytes: the byte-swapped value */
		order[k] = __builtin_bswap64(ids[k]);
		assert_int_equal(fuzzy_db_learn_text(db, &s, 1, +1), 0);
	}
	for (unsigned k = 0; k < MANY_IDS; k++) {
		unsigned rank = 0;

		for (unsigned j = 0; j < MANY_IDS; j++)
			rank += order[j] < order[k];
		sig_fill(&s, 100000 * (uint64_t)(k + 1));
		for (unsigned i = 0; i < 15; i++)
			s.mh[i] = ((uint64_t)i << 59) | (7000 + i);
		assert_int_equal(fuzzy_db_text(db, &s, "", 1700000000, 0, &m), 0);
		assert_true(m.found);
		assert_true(m.c.id == ids[k]);
		assert_int_equal(m.similarity, rank < FUZZY_MAX_CANDIDATES ? FUZZY_NHASH : 17);
		full += m.similarity == FUZZY_NHASH;
	}
	assert_int_equal(full, FUZZY_MAX_CANDIDATES);
	fuzzy_db_close(db);
	store_remove(dir);
}

/*
 * The lookup stops reading the index once no campaign can reach FUZZY_MATCH_MIN equal slots.
 * A variant whose equal slots are all at the end (the last FUZZY_MATCH_MIN of them) is still
 * found, with its exact count; one equal slot fewer is not a match.
 */
static void test_db_match_at_the_bar(void **state)
{
	char dir[64] = "/tmp/test_fuzzy.XXXXXX", path[128];
	struct fuzzy_sig a, b;
	struct fuzzy_match m;
	struct fuzzy_db *db;

	(void)state;
	store_make(dir, path);
	db = fuzzy_db_open(path, 0);
	assert_non_null(db);
	sig_fill(&a, 1000);
	assert_int_equal(fuzzy_db_learn_text(db, &a, 1, +1), 0);
	b = a;
	for (unsigned i = 0; i < FUZZY_NHASH - FUZZY_MATCH_MIN; i++)
		b.mh[i] = ((uint64_t)i << 59) | (5000 + i);
	assert_int_equal(fuzzy_db_text(db, &b, "", 1700000000, 0, &m), 0);
	assert_true(m.found);
	assert_int_equal(m.similarity, FUZZY_MATCH_MIN);
	assert_int_equal(m.c.spam, 1);
	/* the same with some slots empty (as from a text that densification could not fill) */
	b.mh[0] = b.mh[1] = UINT64_MAX;
	assert_int_equal(fuzzy_db_text(db, &b, "", 1700000000, 0, &m), 0);
	assert_true(m.found);
	assert_int_equal(m.similarity, FUZZY_MATCH_MIN);
	b.mh[FUZZY_NHASH - 1] = ((uint64_t)(FUZZY_NHASH - 1) << 59) | 9999;
	assert_int_equal(fuzzy_db_text(db, &b, "", 1700000000, 0, &m), 0);
	assert_false(m.found);
	fuzzy_db_close(db);
	store_remove(dir);
}

/*
 * Two sightings of one new campaign in one batch: neither matched at scan time, and the
 * second joins the first when the batch is written (the first's index entries go in before
 * the second is looked up again): one campaign of two messages.
 */
static void test_db_deferred_batch_joins(void **state)
{
	char dir[64] = "/tmp/test_fuzzy.XXXXXX", path[128];
	struct fuzzy_sig a, b;
	struct fuzzy_match m;
	struct fuzzy_db *scan, *learn;
	struct each_ctx e = {0, 0};

	(void)state;
	store_make(dir, path);
	scan = fuzzy_db_open(path, FUZZY_DB_DEFER);
	assert_non_null(scan);
	fuzzy_sig_make(campaign, strlen(campaign), &a);
	fuzzy_sig_make(variant, strlen(variant), &b);
	assert_true(fuzzy_sig_similarity(&a, &b) >= FUZZY_MATCH_MIN);
	assert_int_equal(fuzzy_db_text(scan, &a, "198.51.100.7", 1700000000, 1, &m), 0);
	assert_false(m.found);
	assert_int_equal(fuzzy_db_text(scan, &b, "198.51.100.8", 1700000000, 1, &m), 0);
	assert_false(m.found);
	assert_int_equal(fuzzy_db_flush(scan), 0);
	learn = fuzzy_db_open(path, FUZZY_DB_SYNC);
	assert_non_null(learn);
	assert_int_equal(fuzzy_campaign_each(learn, 0, each_cb, &e), 0);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.count, 2);
	/* both fingerprints are indexed under it: each finds it whole */
	assert_int_equal(fuzzy_db_text(learn, &a, "", 1700000001, 0, &m), 0);
	assert_true(m.found);
	assert_int_equal(m.similarity, FUZZY_NHASH);
	assert_int_equal(fuzzy_db_text(learn, &b, "", 1700000001, 0, &m), 0);
	assert_true(m.found);
	assert_int_equal(m.similarity, FUZZY_NHASH);
	fuzzy_db_close(scan);
	fuzzy_db_close(learn);
	store_remove(dir);
}

/*
 * The index's comparators order keys and ids as LMDB's default does (bytewise): a store
 * written through fuzzy_db, read back by a plain LMDB handle, is in strictly increasing
 * bytewise order of key and, under each key, of id. A file is thus the same to a process that
 * does not set them (an older binary, mdb_dump).
 */
static void test_db_index_order(void **state)
{
	char dir[64] = "/tmp/test_fuzzy.XXXXXX", path[128];
	struct fuzzy_sig s;
	struct fuzzy_db *db;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi mh;
	MDB_cursor *cur;
	MDB_val k, v, pk = {0, NULL}, pv = {0, NULL};
	unsigned char kbuf[16], vbuf[8];
	size_t n = 0, dups = 0;
	int r;

	(void)state;
	store_make(dir, path);
	db = fuzzy_db_open(path, 0);
	assert_non_null(db);
	/* keys that differ in every byte position, the slot's and the min-hash's top and bottom */
	for (unsigned i = 0; i < 40; i++) {
		sig_fill(&s, 0x0123456789abcdefULL * (i % 7) + ((uint64_t)i << 40) + (i << 3));
		assert_int_equal(fuzzy_db_learn_text(db, &s, 1, +1), 0);
		/* another campaign sharing 12 slots (under the bar): two ids under those keys */
		for (unsigned j = 0; j < FUZZY_NHASH - 12; j++)
			s.mh[j] ^= 0xff00000000000001ULL >> 5;
		assert_int_equal(fuzzy_db_learn_text(db, &s, 1, +1), 0);
	}
	fuzzy_db_close(db);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_set_mapsize(env, FUZZY_MAP_SIZE), 0);
	assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY, 0644), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "mh", MDB_DUPSORT | MDB_DUPFIXED, &mh), 0);
	assert_int_equal(mdb_cursor_open(txn, mh, &cur), 0);
	for (r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0;
	     r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		assert_int_equal(k.mv_size, 9);
		assert_int_equal(v.mv_size, 8);
		if (pk.mv_data) {
			int c = memcmp(pk.mv_data, k.mv_data, 9);

			assert_true(c <= 0);
			if (c == 0) {
				assert_true(memcmp(pv.mv_data, v.mv_data, 8) < 0);
				dups++;
			}
		}
		memcpy(kbuf, k.mv_data, 9);
		memcpy(vbuf, v.mv_data, 8);
		pk.mv_data = kbuf;
		pv.mv_data = vbuf;
		n++;
	}
	assert_int_equal(r, MDB_NOTFOUND);
	assert_true(n > 40 * FUZZY_NHASH);
	assert_true(dups > 0);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	store_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sig_similarity), cmocka_unit_test(test_sig_stable),
		cmocka_unit_test(test_sig_short),      cmocka_unit_test(test_sig_estimator),
		cmocka_unit_test(test_windows),        cmocka_unit_test(test_db),
		cmocka_unit_test(test_db_deferred),
		cmocka_unit_test(test_db_deferred_joins_learned),
		cmocka_unit_test(test_db_match_at_the_bar),
		cmocka_unit_test(test_db_many_ids_under_a_key),
		cmocka_unit_test(test_db_deferred_batch_joins),
		cmocka_unit_test(test_db_index_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
