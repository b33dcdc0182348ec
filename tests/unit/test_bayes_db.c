/*
 * test_bayes_db - the layout of the Bayes counts (bayes_table.h) and the store around it:
 * the hash table against a plain reference model under random learn/unlearn (collisions,
 * deletion by backward shift, a token hash of 0), header checks, the store's counts and
 * verdicts against the reference on a known training set with relearn and unlearn (one
 * transaction per learn, and the bulk learner's batches), and the conversion of a home written
 * in the old B-tree layout.
 */
#include "scan/bayes.h"
#include "scan/bayes_table.h"

#include <errno.h>
#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static uint64_t rnd_state = 0x1234567887654321ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* ---- the table alone ---- */

#define POOL 1500

static void test_table_model(void **state)
{
	size_t size = bayes_table_size(BAYES_TABLE_MIN_SLOTS);
	struct bayes_table *t = malloc(size);
	static uint64_t key[POOL];
	static uint32_t spam[POOL], ham[POOL];
	unsigned shift, used;

	(void)state;
	assert_non_null(t);
	bayes_table_init(t, BAYES_TABLE_MIN_SLOTS);
	assert_int_equal(bayes_table_check(t, size), 0);
	shift = bayes_table_shift(t);
	assert_int_equal(shift, 64 - 12);
	/* a third of the keys share home slots with others (long runs to shift back through),
	 * and 0, which is stored as 1 */
	for (unsigned i = 0; i < POOL; i++) {
		key[i] = rnd();
		if (i % 3 == 1)
			while (bayes_table_home(t, key[i], shift) != bayes_table_home(t, key[i - 1], shift))
				key[i] = rnd();
	}
	key[7] = 0;
	memset(spam, 0, sizeof spam);
	memset(ham, 0, sizeof ham);
	for (unsigned step = 0; step < 60000; step++) {
		unsigned i = (unsigned)(rnd() % POOL);
		int s = (int)(rnd() & 1), delta = rnd() % 5 < 3 ? +1 : -1;
		uint32_t *f = s ? &spam[i] : &ham[i];

		assert_int_equal(bayes_table_add(t, key[i], s, delta), 0);
		if (delta > 0)
			(*f)++;
		else if (*f)
			(*f)--;
		if (step % 997 != 0)
			continue;
		used = 0;
		for (unsigned j = 0; j < POOL; j++) {
			const struct bayes_slot *sl = bayes_table_find(t, shift, key[j]);

			if (spam[j] == 0 && ham[j] == 0) {
				assert_null(sl);
				continue;
			}
			used++;
			assert_non_null(sl);
			assert_int_equal(sl->spam, spam[j]);
			assert_int_equal(sl->ham, ham[j]);
		}
		assert_int_equal(t->nused, used);
	}
	/* unlearn everything: the table is empty again, not full of tombstones */
	for (unsigned j = 0; j < POOL; j++) {
		while (spam[j]--)
			assert_int_equal(bayes_table_add(t, key[j], 1, -1), 0);
		while (ham[j]--)
			assert_int_equal(bayes_table_add(t, key[j], 0, -1), 0);
	}
	assert_int_equal(t->nused, 0);
	for (uint64_t i = 0; i < t->nslots; i++)
		assert_int_equal(bayes_table_cslots(t)[i].h, 0);
	free(t);
}

static void test_table_rehash_and_check(void **state)
{
	size_t small = bayes_table_size(BAYES_TABLE_MIN_SLOTS);
	size_t big = bayes_table_size(2 * BAYES_TABLE_MIN_SLOTS);
	struct bayes_table *a = malloc(small), *b = malloc(big);

	(void)state;
	assert_int_equal(bayes_table_slots_for(0), BAYES_TABLE_MIN_SLOTS);
	assert_int_equal(bayes_table_slots_for(2048), 4096);
	assert_int_equal(bayes_table_slots_for(2049), 8192);
	bayes_table_init(a, BAYES_TABLE_MIN_SLOTS);
	a->nspam = 3;
	a->nham = 4;
	for (uint64_t h = 1; h <= 2000; h++)
		assert_int_equal(bayes_table_set(a, h * 0x10001, (uint32_t)h, (uint32_t)(h % 7)), 0);
	bayes_table_init(b, 2 * BAYES_TABLE_MIN_SLOTS);
	bayes_table_rehash(b, a);
	assert_int_equal(b->nused, 2000);
	assert_int_equal(b->nspam, 3);
	assert_int_equal(b->nham, 4);
	for (uint64_t h = 1; h <= 2000; h++) {
		const struct bayes_slot *s = bayes_table_find(b, bayes_table_shift(b), h * 0x10001);

		assert_non_null(s);
		assert_int_equal(s->spam, h);
		assert_int_equal(s->ham, h % 7);
	}
	/* a reader trusts the slots only after the header agrees with the value */
	assert_int_equal(bayes_table_check(b, big), 0);
	assert_int_equal(bayes_table_check(b, big - 16), -EIO);
	assert_int_equal(bayes_table_check(b, 20), -EIO);
	b->nslots = 3 * BAYES_TABLE_MIN_SLOTS;
	assert_int_equal(bayes_table_check(b, bayes_table_size(b->nslots)), -EIO);
	b->nslots = 2 * BAYES_TABLE_MIN_SLOTS;
	b->version = 2;
	assert_int_equal(bayes_table_check(b, big), -EIO);
	b->version = BAYES_TABLE_VERSION;
	b->magic = 0;
	assert_int_equal(bayes_table_check(b, big), -EIO);
	/* a full table says so instead of looping */
	a->nused = a->nslots - 1;
	assert_int_equal(bayes_table_set(a, 0xabcdef, 1, 0), -ENOSPC);
	free(a);
	free(b);
}

/* ---- the store against a reference model ---- */

#define VOCAB 40000
#define NMSG 600 /* 800 learns in all: the bulk learner commits a batch (BAYES_BULK_MAX) on the way */
#define PER_MSG 120

struct model {
	uint64_t tok[VOCAB];
	uint32_t spam[VOCAB], ham[VOCAB];
	uint64_t nspam, nham;
	/* each message: its tokens (indexes into tok, distinct, ascending) and current class */
	unsigned idx[NMSG][PER_MSG];
	int cls[NMSG]; /* -1 none */
};

static struct model M;
/* messages in use: every commit of a single learn is synced, so that case uses fewer */
static unsigned nmsg = NMSG;

static void digest_of(unsigned m, uint8_t d[BAYES_DIGEST_LEN])
{
	memset(d, 0, BAYES_DIGEST_LEN);
	memcpy(d, &m, sizeof m);
	d[BAYES_DIGEST_LEN - 1] = 0x5a;
}

struct tok_idx {
	uint64_t tok;
	unsigned idx;
};

static int tok_idx_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct tok_idx *)a)->tok, y = ((const struct tok_idx *)b)->tok;

	return x < y ? -1 : x > y;
}

/* Message m's tokens sorted as the tokenizer hands them over; idx (may be NULL) gets each
 * one's place in the vocabulary. */
static size_t msg_tokens(unsigned m, uint64_t *out, unsigned *idx)
{
	struct tok_idx t[PER_MSG];

	for (unsigned j = 0; j < PER_MSG; j++) {
		t[j].tok = M.tok[M.idx[m][j]];
		t[j].idx = M.idx[m][j];
	}
	qsort(t, PER_MSG, sizeof t[0], tok_idx_cmp);
	for (unsigned j = 0; j < PER_MSG; j++) {
		out[j] = t[j].tok;
		if (idx)
			idx[j] = t[j].idx;
	}
	return PER_MSG;
}

static void model_apply(unsigned m, int cls, int delta)
{
	for (unsigned j = 0; j < PER_MSG; j++) {
		uint32_t *f = cls ? &M.spam[M.idx[m][j]] : &M.ham[M.idx[m][j]];

		if (delta > 0)
			(*f)++;
		else if (*f)
			(*f)--;
	}
	if (cls)
		M.nspam += (uint64_t)delta;
	else
		M.nham += (uint64_t)delta;
}

static void model_init(void)
{
	memset(&M, 0, sizeof M);
	for (unsigned i = 0; i < VOCAB; i++)
		M.tok[i] = rnd();
	M.tok[11] = 0;
	for (unsigned m = 0; m < NMSG; m++) {
		/* spam and ham draw from overlapping halves of the vocabulary */
		unsigned base = m % 2 ? 20 : VOCAB / 3, step = 1 + (unsigned)(rnd() % 200);
		unsigned at = (unsigned)(rnd() % (VOCAB / 3));

		for (unsigned j = 0; j < PER_MSG; j++, at += step)
			M.idx[m][j] = base + at % (2 * VOCAB / 3);
		M.idx[m][0] = 11; /* everyone has the 0 hash (no other index is under 20) */
		M.cls[m] = -1;
	}
}

/* learn, relearn a sixth to the other class, unlearn a sixth: in the store and the model */
static void train(struct bayes_db *db)
{
	uint64_t toks[PER_MSG];
	uint8_t d[BAYES_DIGEST_LEN];
	enum bayes_class prev;

	for (unsigned m = 0; m < nmsg; m++) {
		int cls = m % 2;

		msg_tokens(m, toks, NULL);
		digest_of(m, d);
		assert_int_equal(bayes_db_learn(db, d, toks, PER_MSG,
						cls ? BAYES_CLASS_SPAM : BAYES_CLASS_HAM, &prev), 0);
		assert_int_equal(prev, BAYES_CLASS_NONE);
		model_apply(m, cls, +1);
		M.cls[m] = cls;
		/* learning it again changes nothing */
		assert_int_equal(bayes_db_learn(db, d, toks, PER_MSG,
						cls ? BAYES_CLASS_SPAM : BAYES_CLASS_HAM, &prev), 1);
	}
	for (unsigned m = 0; m < nmsg; m += 6) {
		int cls = !M.cls[m];

		msg_tokens(m, toks, NULL);
		digest_of(m, d);
		assert_int_equal(bayes_db_learn(db, d, toks, PER_MSG,
						cls ? BAYES_CLASS_SPAM : BAYES_CLASS_HAM, &prev), 0);
		assert_int_equal(prev, M.cls[m] ? BAYES_CLASS_SPAM : BAYES_CLASS_HAM);
		model_apply(m, M.cls[m], -1);
		model_apply(m, cls, +1);
		M.cls[m] = cls;
	}
	for (unsigned m = 3; m < nmsg; m += 6) {
		msg_tokens(m, toks, NULL);
		digest_of(m, d);
		assert_int_equal(bayes_db_learn(db, d, toks, PER_MSG, BAYES_CLASS_NONE, &prev), 0);
		model_apply(m, M.cls[m], -1);
		M.cls[m] = -1;
	}
}

static void check_against_model(struct bayes_db *db)
{
	uint64_t nspam, nham, toks[PER_MSG];
	struct bayes_verdict v;
	static double f[PER_MSG];
	unsigned idx[PER_MSG];
	enum bayes_class cls;
	uint8_t d[BAYES_DIGEST_LEN];

	assert_int_equal(bayes_db_counts(db, &nspam, &nham), 0);
	assert_int_equal(nspam, M.nspam);
	assert_int_equal(nham, M.nham);
	for (unsigned i = 0; i < VOCAB; i++) {
		uint32_t s, h;
		int r = bayes_db_token(db, M.tok[i], &s, &h);

		if (M.spam[i] == 0 && M.ham[i] == 0) {
			assert_int_equal(r, -ENOENT);
			continue;
		}
		assert_int_equal(r, 0);
		assert_int_equal(s, M.spam[i]);
		assert_int_equal(h, M.ham[i]);
	}
	for (unsigned m = 0; m < nmsg; m += 7) {
		size_t nf = 0, nc;

		digest_of(m, d);
		assert_int_equal(bayes_db_class_of(db, d, &cls), 0);
		assert_int_equal(cls, M.cls[m] < 0 ? BAYES_CLASS_NONE :
				 M.cls[m] ? BAYES_CLASS_SPAM : BAYES_CLASS_HAM);
		/* the verdict is the combiner's on the reference counts, to the last bit */
		msg_tokens(m, toks, idx);
		for (unsigned j = 0; j < PER_MSG; j++)
			if (M.spam[idx[j]] || M.ham[idx[j]])
				f[nf++] = bayes_token_prob(M.spam[idx[j]], M.ham[idx[j]], M.nspam,
							   M.nham);
		nc = bayes_select_clues(f, nf, BAYES_MAX_CLUES);
		assert_int_equal(bayes_db_classify(db, NULL, 0, toks, PER_MSG, &v), 0);
		assert_int_equal(v.nclues, nc);
		assert_true(v.prob == bayes_combine(f, nc));
	}
}

static void store_case(unsigned flags)
{
	char dir[64], path[128];
	struct bayes_db *db;

	snprintf(dir, sizeof dir, "/tmp/test_bayes_db.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/bayes.lmdb", dir);
	model_init();
	db = bayes_db_open(path, flags);
	assert_non_null(db);
	train(db);
	check_against_model(db);
	bayes_db_close(db);
	/* and again from the file, as another process sees it */
	db = bayes_db_open(path, 0);
	assert_non_null(db);
	check_against_model(db);
	bayes_db_close(db);
	snprintf(path, sizeof path, "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

static void test_store_single(void **state)
{
	(void)state;
	nmsg = NMSG / 4;
	store_case(0);
	nmsg = NMSG;
}

static void test_store_bulk(void **state)
{
	(void)state;
	store_case(BAYES_DB_BULK);
}

/* A home of the old layout (B-tree "tokens" u64 -> {spam, ham}, "meta" "learned" ->
 * {nspam, nham}) is converted on open: same counts, same verdicts, the B-tree gone. */
static void test_migrate_v0(void **state)
{
	char dir[64], path[128];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi tokens, meta, seen;
	struct bayes_db *db;
	uint64_t learned[2];
	uint8_t d[BAYES_DIGEST_LEN];

	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_bayes_db.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/bayes.lmdb", dir);
	model_init();
	for (unsigned m = 0; m < NMSG; m++) {
		model_apply(m, m % 2, +1);
		M.cls[m] = m % 2;
	}
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_mapsize(env, BAYES_MAP_SIZE), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0660), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "tokens", MDB_CREATE | MDB_INTEGERKEY, &tokens), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", MDB_CREATE, &meta), 0);
	assert_int_equal(mdb_dbi_open(txn, "seen", MDB_CREATE, &seen), 0);
	for (unsigned i = 0; i < VOCAB; i++) {
		uint32_t c[2] = {M.spam[i], M.ham[i]};
		MDB_val k = {sizeof M.tok[i], &M.tok[i]}, v = {sizeof c, c};

		if (c[0] || c[1])
			assert_int_equal(mdb_put(txn, tokens, &k, &v, 0), 0);
	}
	for (unsigned m = 0; m < NMSG; m++) {
		uint8_t c = (uint8_t)M.cls[m];
		MDB_val k = {BAYES_DIGEST_LEN, d}, v = {1, &c};

		digest_of(m, d);
		assert_int_equal(mdb_put(txn, seen, &k, &v, 0), 0);
	}
	learned[0] = M.nspam;
	learned[1] = M.nham;
	{
		MDB_val k = {7, "learned"}, v = {sizeof learned, learned};

		assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	db = bayes_db_open(path, 0);
	assert_non_null(db);
	check_against_model(db);
	/* and it goes on learning in the new layout */
	{
		uint64_t toks[PER_MSG];
		enum bayes_class prev;

		msg_tokens(0, toks, NULL);
		digest_of(0, d);
		assert_int_equal(bayes_db_learn(db, d, toks, PER_MSG, BAYES_CLASS_SPAM, &prev), 0);
		assert_int_equal(prev, BAYES_CLASS_HAM);
		model_apply(0, 0, -1);
		model_apply(0, 1, +1);
		M.cls[0] = 1;
	}
	check_against_model(db);
	bayes_db_close(db);

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY, 0660), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "tokens", 0, &tokens), MDB_NOTFOUND);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	snprintf(path, sizeof path, "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_model),   cmocka_unit_test(test_table_rehash_and_check),
		cmocka_unit_test(test_store_single),  cmocka_unit_test(test_store_bulk),
		cmocka_unit_test(test_migrate_v0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
