/*
 * bayes_db - Bayes token counts in LMDB (see bayes.h for the environment and bayes_table.h for
 * the layout of the counts: one hash table in one value, read zero-copy by every scan worker).
 *
 * Writers (learn, unlearn) take LMDB's single write transaction, which serialises them across
 * processes; readers never block and see the last committed state when they begin. A write
 * transaction that changes the table copies it once (copy-on-write of its overflow pages, as
 * LMDB does for any value), then updates it in place: so `mxtower learn` (BAYES_DB_BULK) keeps
 * one write transaction across messages and commits it every BAYES_BULK_MAX messages or
 * BAYES_BULK_AGE seconds, whichever comes first, which keeps "learned, and scans see it within
 * a second" without copying the table per message. A single learn (autolearn in a scan
 * worker) commits at once and pays one copy of the table (about 16 bytes per slot).
 *
 * Counts saturate at 0 on unlearn (a hand-edited or partly lost database must not wrap to 4
 * billion) and a token whose counts both reach 0 is removed, so unlearning everything leaves no
 * tokens. A home written before the table layout (a B-tree "tokens" of hash -> counts and a
 * "learned" record in "meta") is converted when it is first opened.
 */
#include "scan/bayes.h"

#include "core/log.h"
#include "core/sort.h"
#include "scan/bayes_table.h"
#include "store/lmdb_env.h"

#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* meta, seen, the old layout's tokens; room for one more without a format change. */
#define BAYES_MAX_DBS 4
/* A bulk learner's batch: at most this many messages per commit (bounds what a failed commit
 * loses) and at most this old (a learned message counts within BAYES_BULK_AGE seconds). */
#define BAYES_BULK_MAX 512
#define BAYES_BULK_AGE 1
/* How many tokens ahead a classify prefetches the table's cache lines: a lookup is a cache
 * miss into a table of megabytes; eight in flight hide most of its latency. */
#define BAYES_PREFETCH 8

struct bayes_db {
	MDB_env *env;
	MDB_dbi meta, seen;
	unsigned flags;
	/* The classifier's read transaction, kept between messages: reset after each message (so
	 * it pins no snapshot and writers can reuse pages) and renewed for the next one, which
	 * saves the reader-slot search and the allocation of mdb_txn_begin (MDB_NOTLS makes the
	 * slot belong to the transaction, not the thread). NULL until the first classify. */
	MDB_txn *rtxn;
	/* BAYES_DB_BULK: the open write transaction, its messages and when it began. */
	MDB_txn *wtxn;
	unsigned wcount;
	time_t wsince;
};

/* The old layout (until 2026-11-29): what a home's "meta" "learned" record held. */
struct bayes_meta_v0 {
	uint64_t nspam, nham;
};

static const char table_key[] = "table";
static const char old_meta_key[] = "learned";

/* The committed table in txn: *t NULL when nothing was learned yet. 0 or -EIO (corrupt). */
static int table_get(MDB_txn *txn, struct bayes_db *db, const struct bayes_table **t)
{
	MDB_val k = {sizeof table_key - 1, (void *)table_key}, v;
	int r = mdb_get(txn, db->meta, &k, &v);

	*t = NULL;
	if (r == MDB_NOTFOUND)
		return 0;
	if (r != 0)
		return lmdb_errno(r);
	if (bayes_table_check(v.mv_data, v.mv_size) < 0) {
		log_warn("bayes: the token table is damaged (%zu bytes); relearn into a new home",
			 v.mv_size);
		return -EIO;
	}
	*t = v.mv_data;
	return 0;
}

/*
 * The table made writable in txn, with room for `more` new tokens at most half full: the
 * first call in a transaction copies it (or grows it by rehash), later ones find the copy in
 * place. *out points into LMDB's dirty pages until the next update of another key.
 */
static int table_writable(MDB_txn *txn, struct bayes_db *db, uint64_t more,
			  struct bayes_table **out)
{
	MDB_val k = {sizeof table_key - 1, (void *)table_key}, v;
	const struct bayes_table *old;
	struct bayes_table *copy = NULL;
	uint64_t nslots;
	size_t size;
	int r;

	if ((r = table_get(txn, db, &old)) < 0)
		return r;
	nslots = bayes_table_slots_for((old ? old->nused : 0) + more);
	if (old && nslots < old->nslots)
		nslots = old->nslots; /* never shrink: unlearning leaves room for relearning */
	size = bayes_table_size(nslots);
	if (old && nslots != old->nslots) {
		/* growing: the old pages may be dirty in this transaction, which LMDB reuses at
		 * once for the new value; rehash from a private copy */
		size_t osize = bayes_table_size(old->nslots);

		if ((copy = malloc(osize)) == NULL)
			return -ENOMEM;
		memcpy(copy, old, osize);
		old = copy;
	}
	v.mv_size = size;
	v.mv_data = NULL;
	if ((r = mdb_put(txn, db->meta, &k, &v, MDB_RESERVE)) != 0) {
		free(copy);
		return lmdb_errno(r);
	}
	if (old == NULL) {
		bayes_table_init(v.mv_data, nslots);
	} else if (copy) {
		bayes_table_init(v.mv_data, nslots);
		bayes_table_rehash(v.mv_data, old);
	} else if (v.mv_data != (const void *)old) {
		/* first change in this transaction: the committed pages stay readable (LMDB frees
		 * them only after commit) and are copied into the new ones */
		memcpy(v.mv_data, old, size);
	}
	free(copy);
	*out = v.mv_data;
	return 0;
}

/* Convert a home of the B-tree layout (tokens sub-database) in the open's write transaction. */
static int migrate_v0(MDB_txn *txn, struct bayes_db *db)
{
	MDB_dbi tokens;
	MDB_stat st;
	MDB_cursor *cur = NULL;
	MDB_val k = {sizeof old_meta_key - 1, (void *)old_meta_key}, v;
	struct bayes_meta_v0 m = {0, 0};
	struct bayes_table *t;
	int r = mdb_dbi_open(txn, "tokens", MDB_INTEGERKEY, &tokens);

	if (r == MDB_NOTFOUND)
		return 0;
	if (r != 0 || (r = mdb_stat(txn, tokens, &st)) != 0)
		return lmdb_errno(r);
	r = mdb_get(txn, db->meta, &k, &v);
	if (r == 0 && v.mv_size == sizeof m)
		memcpy(&m, v.mv_data, sizeof m);
	if ((r = table_writable(txn, db, st.ms_entries, &t)) < 0)
		return r;
	t->nspam = m.nspam;
	t->nham = m.nham;
	if ((r = mdb_cursor_open(txn, tokens, &cur)) != 0)
		return lmdb_errno(r);
	for (r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0;
	     r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint64_t h;
		uint32_t c[2];

		if (k.mv_size != sizeof h || v.mv_size != sizeof c)
			continue;
		memcpy(&h, k.mv_data, sizeof h);
		memcpy(c, v.mv_data, sizeof c);
		if (bayes_table_set(t, h, c[0], c[1]) < 0)
			break;
	}
	mdb_cursor_close(cur);
	if (r != MDB_NOTFOUND)
		return r == 0 ? -ENOSPC : lmdb_errno(r);
	k.mv_size = sizeof old_meta_key - 1;
	k.mv_data = (void *)old_meta_key;
	if ((r = mdb_drop(txn, tokens, 1)) != 0 ||
	    ((r = mdb_del(txn, db->meta, &k, NULL)) != 0 && r != MDB_NOTFOUND))
		return lmdb_errno(r);
	log_info("bayes: converted %zu tokens to the table layout (%" PRIu64 " slots)",
		 (size_t)st.ms_entries, t->nslots);
	return 0;
}

struct bayes_db *bayes_db_open(const char *path, unsigned flags)
{
	struct bayes_db *db = calloc(1, sizeof *db);
	MDB_txn *txn = NULL;
	int r;

	if (db == NULL)
		return NULL;
	db->flags = flags;
	if (lmdb_env_open("bayes", path, BAYES_MAP_SIZE, BAYES_MAX_DBS,
			  (flags & BAYES_DB_BULK) ? LMDB_ENV_NOSYNC : 0, &db->env) < 0) {
		free(db);
		return NULL;
	}
	if ((r = mdb_txn_begin(db->env, NULL, 0, &txn)) != 0)
		goto fail;
	if ((r = mdb_dbi_open(txn, "meta", MDB_CREATE, &db->meta)) != 0 ||
	    (r = mdb_dbi_open(txn, "seen", MDB_CREATE, &db->seen)) != 0)
		goto fail;
	if ((r = migrate_v0(txn, db)) < 0) {
		log_warn("bayes: converting %s: %s", path, strerror(-r));
		mdb_txn_abort(txn);
		mdb_env_close(db->env);
		free(db);
		return NULL;
	}
	if ((r = mdb_txn_commit(txn)) != 0) {
		txn = NULL;
		goto fail;
	}
	return db;
fail:
	log_warn("bayes: open %s: %s", path, mdb_strerror(r));
	if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(db->env);
	free(db);
	return NULL;
}

/* BAYES_DB_BULK: commit the open batch. 0 or -errno (its messages are lost, and said so). */
static int bulk_commit(struct bayes_db *db)
{
	int r;

	if (db->wtxn == NULL)
		return 0;
	r = mdb_txn_commit(db->wtxn);
	db->wtxn = NULL;
	if (r != 0)
		log_warn("bayes: %u learned messages not saved: %s", db->wcount, mdb_strerror(r));
	db->wcount = 0;
	return lmdb_errno(r);
}

static void bulk_abort(struct bayes_db *db)
{
	if (db->wtxn == NULL)
		return;
	mdb_txn_abort(db->wtxn);
	db->wtxn = NULL;
	if (db->wcount)
		log_warn("bayes: %u learned messages of this batch not saved", db->wcount);
	db->wcount = 0;
}

/*
 * A transaction to read in: the bulk learner's open batch when there is one (it reads its own
 * writes, so learn-classify-learn loops stay in one batch instead of committing, and copying
 * the table, per message), else a new read-only one. read_end() ends only the latter.
 */
static int read_begin(struct bayes_db *db, MDB_txn **txn)
{
	if (db->wtxn) {
		*txn = db->wtxn;
		return 0;
	}
	return lmdb_errno(mdb_txn_begin(db->env, NULL, MDB_RDONLY, txn));
}

static void read_end(struct bayes_db *db, MDB_txn *txn)
{
	if (txn != db->wtxn)
		mdb_txn_abort(txn);
}

void bayes_db_close(struct bayes_db *db)
{
	if (db == NULL)
		return;
	bulk_commit(db);
	if (db->rtxn)
		mdb_txn_abort(db->rtxn);
	if (db->flags & BAYES_DB_BULK)
		mdb_env_sync(db->env, 1);
	mdb_env_close(db->env);
	free(db);
}

/* Add delta (+1/-1) to class cls of every token. */
static int tokens_apply(struct bayes_table *t, const uint64_t *tok, size_t n,
			enum bayes_class cls, int delta)
{
	for (size_t i = 0; i < n; i++) {
		int r = bayes_table_add(t, tok[i], cls == BAYES_CLASS_SPAM, delta);

		if (r < 0)
			return r;
	}
	return 0;
}

/* The write transaction for one learn: the bulk batch (begun or continued) or a new one. */
static int learn_txn(struct bayes_db *db, MDB_txn **txn)
{
	time_t now;
	int r;

	if (!(db->flags & BAYES_DB_BULK))
		return lmdb_errno(mdb_txn_begin(db->env, NULL, 0, txn));
	now = time(NULL);
	if (db->wtxn && (db->wcount >= BAYES_BULK_MAX || now - db->wsince >= BAYES_BULK_AGE) &&
	    (r = bulk_commit(db)) < 0)
		return r;
	if (db->wtxn == NULL) {
		if ((r = mdb_txn_begin(db->env, NULL, 0, &db->wtxn)) != 0)
			return lmdb_errno(r);
		db->wsince = now;
	}
	*txn = db->wtxn;
	return 0;
}

static int learn_in(MDB_txn *txn, struct bayes_db *db, const uint8_t digest[BAYES_DIGEST_LEN],
		    const uint64_t *tok, size_t n, enum bayes_class cls, enum bayes_class *prev)
{
	MDB_val k = {BAYES_DIGEST_LEN, (void *)digest}, v;
	enum bayes_class was = BAYES_CLASS_NONE;
	struct bayes_table *t;
	uint8_t c;
	int r = mdb_get(txn, db->seen, &k, &v);

	if (r == 0 && v.mv_size == 1)
		was = ((const uint8_t *)v.mv_data)[0] ? BAYES_CLASS_SPAM : BAYES_CLASS_HAM;
	else if (r != 0 && r != MDB_NOTFOUND)
		return lmdb_errno(r);
	if (prev)
		*prev = was;
	if (was == cls)
		return 1;
	if ((r = table_writable(txn, db, cls != BAYES_CLASS_NONE ? n : 0, &t)) < 0)
		return r;
	if (was != BAYES_CLASS_NONE) {
		if ((r = tokens_apply(t, tok, n, was, -1)) < 0)
			return r;
		if (was == BAYES_CLASS_SPAM && t->nspam)
			t->nspam--;
		else if (was == BAYES_CLASS_HAM && t->nham)
			t->nham--;
	}
	if (cls != BAYES_CLASS_NONE) {
		if ((r = tokens_apply(t, tok, n, cls, +1)) < 0)
			return r;
		if (cls == BAYES_CLASS_SPAM)
			t->nspam++;
		else
			t->nham++;
		c = cls == BAYES_CLASS_SPAM;
		v.mv_size = 1;
		v.mv_data = &c;
		r = mdb_put(txn, db->seen, &k, &v, 0);
	} else {
		r = mdb_del(txn, db->seen, &k, NULL);
	}
	return lmdb_errno(r);
}

int bayes_db_learn(struct bayes_db *db, const uint8_t digest[BAYES_DIGEST_LEN],
		   const uint64_t *tok, size_t n, enum bayes_class cls, enum bayes_class *prev)
{
	MDB_txn *txn;
	int r;

	if ((r = learn_txn(db, &txn)) < 0)
		return r;
	r = learn_in(txn, db, digest, tok, n, cls, prev);
	if (db->flags & BAYES_DB_BULK) {
		if (r < 0)
			bulk_abort(db); /* LMDB cannot go on with a transaction after a failed put */
		else if (r == 0)
			db->wcount++;
		return r;
	}
	if (r != 0) {
		mdb_txn_abort(txn);
		return r;
	}
	return lmdb_errno(mdb_txn_commit(txn));
}

int bayes_db_class_of(struct bayes_db *db, const uint8_t digest[BAYES_DIGEST_LEN],
		      enum bayes_class *cls)
{
	MDB_txn *txn;
	MDB_val k = {BAYES_DIGEST_LEN, (void *)digest}, v;
	int r;

	*cls = BAYES_CLASS_NONE;
	if ((r = read_begin(db, &txn)) < 0)
		return r;
	r = mdb_get(txn, db->seen, &k, &v);
	if (r == 0 && v.mv_size == 1)
		*cls = ((const uint8_t *)v.mv_data)[0] ? BAYES_CLASS_SPAM : BAYES_CLASS_HAM;
	read_end(db, txn);
	return r == 0 || r == MDB_NOTFOUND ? 0 : lmdb_errno(r);
}

int bayes_db_counts(struct bayes_db *db, uint64_t *nspam, uint64_t *nham)
{
	const struct bayes_table *t;
	MDB_txn *txn;
	int r;

	*nspam = *nham = 0;
	if ((r = read_begin(db, &txn)) < 0)
		return r;
	r = table_get(txn, db, &t);
	if (r == 0 && t) {
		*nspam = t->nspam;
		*nham = t->nham;
	}
	read_end(db, txn);
	return r;
}

int bayes_db_token(struct bayes_db *db, uint64_t h, uint32_t *spam, uint32_t *ham)
{
	const struct bayes_table *t;
	const struct bayes_slot *s = NULL;
	MDB_txn *txn;
	int r;

	*spam = *ham = 0;
	if ((r = read_begin(db, &txn)) < 0)
		return r;
	r = table_get(txn, db, &t);
	if (r == 0 && t && (s = bayes_table_find(t, bayes_table_shift(t), h)) != NULL) {
		*spam = s->spam;
		*ham = s->ham;
	}
	read_end(db, txn);
	return r < 0 ? r : s ? 0 : -ENOENT;
}

/* A clue candidate: a token that can be a clue and its f. */
struct clue {
	uint64_t h;
	double f;
};

/*
 * The candidates among tok[0..n) (in any order, repeats allowed) into c: tokens found, seen more
 * than once (one seen once has f within 0.155..0.845 with BAYES_PRIOR_S 0.45, never
 * BAYES_MIN_STRENGTH from 0.5, and it is most of those found), and strong enough. Returns how
 * many.
 */
static size_t token_clues(const struct bayes_table *t, const uint64_t *tok, size_t n,
			  struct clue *c)
{
	const struct bayes_slot *slots = bayes_table_cslots(t);
	unsigned shift = bayes_table_shift(t);
	/* as bayes_token_prob counts an empty class */
	double nspam = (double)(t->nspam ? t->nspam : 1), nham = (double)(t->nham ? t->nham : 1);
	double sh, hs;
	size_t nc = 0;

	for (size_t i = 0; i < n; i++) {
		const struct bayes_slot *s;
		double f;

		if (i + BAYES_PREFETCH < n)
			__builtin_prefetch(
				&slots[bayes_table_home(t, bayes_table_key(tok[i + BAYES_PREFETCH]),
							shift)]);
		if ((s = bayes_table_find(t, shift, tok[i])) == NULL || (uint64_t)s->spam + s->ham < 2)
			continue;
		/* spam share vs ham share (BAYES_CLUE_RATIO): most common words are neither */
		sh = (double)s->spam * nham;
		hs = (double)s->ham * nspam;
		if (sh < BAYES_CLUE_RATIO * hs && BAYES_CLUE_RATIO * sh > hs)
			continue;
		f = bayes_token_prob(s->spam, s->ham, t->nspam, t->nham);
		if (fabs(f - 0.5) >= BAYES_MIN_STRENGTH) {
			c[nc].h = tok[i];
			c[nc].f = f;
			nc++;
		}
	}
	return nc;
}

/* Candidates by hash: core/sort's quicksort over the clue structs. */
#define CLUE_KEY(c) ((c).h)
SORT_BY_KEY(static, clue_sort, struct clue, CLUE_KEY)

/*
 * The f of tok[0..n)'s candidates into f, each token once, in ascending hash order: the values
 * and the order that looking up the finished (sorted, deduplicated) sink gave, on which the
 * clue selection's ties and the chi-squared sums depend. Only the few candidates are sorted,
 * not every feature of the message. Returns how many.
 */
static size_t token_probs(const struct bayes_table *t, const uint64_t *tok, size_t n,
			  struct clue *c, double *f)
{
	size_t nc = token_clues(t, tok, n, c), nf = 0;

	clue_sort(c, nc);
	for (size_t i = 0; i < nc; i++)
		if (i == 0 || c[i].h != c[i - 1].h)
			f[nf++] = c[i].f;
	return nf;
}

int bayes_db_classify(struct bayes_db *db, const uint64_t *hdr, size_t nh, const uint64_t *body,
		      size_t nb, struct bayes_verdict *out)
{
	const struct bayes_table *t;
	MDB_txn *txn = NULL;
	double *f = NULL;
	struct clue *c;
	size_t fh, fb, ch, cb;
	int r = 0;

	memset(out, 0, sizeof *out);
	out->prob = 0.5;
	if (db->wtxn)
		txn = db->wtxn; /* a bulk learner's batch: read its own writes */
	else if (db->rtxn == NULL)
		r = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &db->rtxn);
	else
		r = mdb_txn_renew(db->rtxn);
	if (db->wtxn == NULL && r != 0) {
		/* start afresh next time */
		if (db->rtxn)
			mdb_txn_abort(db->rtxn);
		db->rtxn = NULL;
		return lmdb_errno(r);
	}
	if (db->wtxn == NULL)
		txn = db->rtxn;
	if ((r = table_get(txn, db, &t)) < 0)
		goto out;
	if (t) {
		out->nspam = t->nspam;
		out->nham = t->nham;
	}
	if (out->nspam < BAYES_MIN_LEARNED || out->nham < BAYES_MIN_LEARNED) {
		r = -ENODATA;
		goto out;
	}
	f = malloc((nh + nb + 1) * (sizeof *f + sizeof *c));
	if (f == NULL) {
		r = -ENOMEM;
		goto out;
	}
	c = (struct clue *)(f + nh + nb + 1);
	fh = token_probs(t, hdr, nh, c, f);
	ch = bayes_select_clues(f, fh, BAYES_MAX_HEADER_CLUES);
	fb = token_probs(t, body, nb, c, f + ch);
	cb = bayes_select_clues(f + ch, fb, BAYES_MAX_CLUES - ch);
	out->nclues = ch + cb;
	out->prob = bayes_combine(f, out->nclues);
	r = 0;
out:
	free(f);
	if (txn == db->rtxn)
		mdb_txn_reset(db->rtxn);
	return r;
}
