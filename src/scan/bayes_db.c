/*
 * bayes_db - Bayes token counts in LMDB (see bayes.h for the layout).
 *
 * Writers (learn, unlearn) take LMDB's single write transaction, which serialises them across
 * processes; readers never block and see the last committed state when they begin. Counts
 * saturate at 0 on unlearn (a hand-edited or partly lost database must not wrap to 4 billion)
 * and a token whose counts both reach 0 is deleted, so unlearning everything leaves no tokens.
 */
#include "scan/bayes.h"

#include "core/log.h"

#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

/* tokens, meta, seen; room for one more without a format change. */
#define BAYES_MAX_DBS 4

struct bayes_db {
	MDB_env *env;
	MDB_dbi tokens, meta, seen;
	unsigned flags;
	/* The classifier's read transaction, kept between messages: reset after each message (so
	 * it pins no snapshot and writers can reuse pages) and renewed for the next one, which
	 * saves the reader-slot search and the allocation of mdb_txn_begin (MDB_NOTLS makes the
	 * slot belong to the transaction, not the thread). NULL until the first classify. */
	MDB_txn *rtxn;
	/* Its cursor on tokens, renewed with it. The features come sorted (tok_sink_finish) and
	 * LMDB's MDB_SET first looks on the leaf page the cursor is on, so neighbouring keys skip
	 * the descent from the root; a cursor also saves mdb_get's set-up of one per call. */
	MDB_cursor *rcur;
};

struct bayes_counts {
	uint32_t spam, ham;
};

struct bayes_meta {
	uint64_t nspam, nham;
};

static const char meta_key[] = "learned";

static int mdb_errno(int r)
{
	if (r == 0)
		return 0;
	if (r == MDB_NOTFOUND)
		return -ENOENT;
	if (r == MDB_MAP_FULL)
		return -ENOSPC;
	if (r > 0)
		return -r;
	return -EIO;
}

struct bayes_db *bayes_db_open(const char *path, unsigned flags)
{
	struct bayes_db *db = calloc(1, sizeof *db);
	MDB_txn *txn = NULL;
	unsigned envflags = MDB_NOSUBDIR | MDB_NOTLS;
	int r;

	if (db == NULL)
		return NULL;
	db->flags = flags;
	if (flags & BAYES_DB_BULK)
		envflags |= MDB_NOSYNC | MDB_WRITEMAP; /* no write(2) per commit either */
	if ((r = mdb_env_create(&db->env)) != 0)
		goto fail;
	mdb_env_set_mapsize(db->env, BAYES_MAP_SIZE);
	mdb_env_set_maxdbs(db->env, BAYES_MAX_DBS);
	if ((r = mdb_env_open(db->env, path, envflags, 0660)) != 0)
		goto fail;
	if ((r = mdb_txn_begin(db->env, NULL, 0, &txn)) != 0)
		goto fail;
	if ((r = mdb_dbi_open(txn, "tokens", MDB_CREATE | MDB_INTEGERKEY, &db->tokens)) != 0 ||
	    (r = mdb_dbi_open(txn, "meta", MDB_CREATE, &db->meta)) != 0 ||
	    (r = mdb_dbi_open(txn, "seen", MDB_CREATE, &db->seen)) != 0)
		goto fail;
	if ((r = mdb_txn_commit(txn)) != 0) {
		txn = NULL;
		goto fail;
	}
	return db;
fail:
	log_warn("bayes: open %s: %s", path, mdb_strerror(r));
	if (txn)
		mdb_txn_abort(txn);
	if (db->env)
		mdb_env_close(db->env);
	free(db);
	return NULL;
}

void bayes_db_close(struct bayes_db *db)
{
	if (db == NULL)
		return;
	if (db->rcur)
		mdb_cursor_close(db->rcur);
	if (db->rtxn)
		mdb_txn_abort(db->rtxn);
	if (db->flags & BAYES_DB_BULK)
		mdb_env_sync(db->env, 1);
	mdb_env_close(db->env);
	free(db);
}

static int meta_get(MDB_txn *txn, struct bayes_db *db, struct bayes_meta *m)
{
	MDB_val k = {sizeof meta_key - 1, (void *)meta_key}, v;
	int r = mdb_get(txn, db->meta, &k, &v);

	memset(m, 0, sizeof *m);
	if (r == MDB_NOTFOUND)
		return 0;
	if (r != 0)
		return mdb_errno(r);
	if (v.mv_size == sizeof *m)
		memcpy(m, v.mv_data, sizeof *m);
	return 0;
}

/* Add delta (+1/-1) to class cls of every token. */
static int tokens_apply(MDB_txn *txn, struct bayes_db *db, const uint64_t *tok, size_t n,
			enum bayes_class cls, int delta)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t key = tok[i];
		MDB_val k = {sizeof key, &key}, v;
		struct bayes_counts c = {0, 0};
		uint32_t *field;
		int r = mdb_get(txn, db->tokens, &k, &v);

		if (r == 0 && v.mv_size == sizeof c)
			memcpy(&c, v.mv_data, sizeof c);
		else if (r != 0 && r != MDB_NOTFOUND)
			return mdb_errno(r);
		field = cls == BAYES_CLASS_SPAM ? &c.spam : &c.ham;
		if (delta > 0) {
			if (*field < UINT32_MAX)
				(*field)++;
		} else if (*field > 0) {
			(*field)--;
		}
		if (c.spam == 0 && c.ham == 0) {
			r = mdb_del(txn, db->tokens, &k, NULL);
			if (r != 0 && r != MDB_NOTFOUND)
				return mdb_errno(r);
			continue;
		}
		v.mv_size = sizeof c;
		v.mv_data = &c;
		if ((r = mdb_put(txn, db->tokens, &k, &v, 0)) != 0)
			return mdb_errno(r);
	}
	return 0;
}

int bayes_db_learn(struct bayes_db *db, const uint8_t digest[BAYES_DIGEST_LEN],
		   const uint64_t *tok, size_t n, enum bayes_class cls, enum bayes_class *prev)
{
	MDB_txn *txn = NULL;
	MDB_val k = {BAYES_DIGEST_LEN, (void *)digest}, v;
	MDB_val mk = {sizeof meta_key - 1, (void *)meta_key};
	struct bayes_meta m;
	enum bayes_class was = BAYES_CLASS_NONE;
	uint8_t c;
	int r;

	if ((r = mdb_txn_begin(db->env, NULL, 0, &txn)) != 0)
		return mdb_errno(r);
	r = mdb_get(txn, db->seen, &k, &v);
	if (r == 0 && v.mv_size == 1)
		was = ((const uint8_t *)v.mv_data)[0] ? BAYES_CLASS_SPAM : BAYES_CLASS_HAM;
	else if (r != 0 && r != MDB_NOTFOUND)
		goto out;
	if (prev)
		*prev = was;
	if (was == cls) {
		mdb_txn_abort(txn);
		return 1;
	}
	if ((r = meta_get(txn, db, &m)) < 0)
		goto out_errno;
	if (was != BAYES_CLASS_NONE) {
		if ((r = tokens_apply(txn, db, tok, n, was, -1)) < 0)
			goto out_errno;
		if (was == BAYES_CLASS_SPAM && m.nspam)
			m.nspam--;
		else if (was == BAYES_CLASS_HAM && m.nham)
			m.nham--;
	}
	if (cls != BAYES_CLASS_NONE) {
		if ((r = tokens_apply(txn, db, tok, n, cls, +1)) < 0)
			goto out_errno;
		if (cls == BAYES_CLASS_SPAM)
			m.nspam++;
		else
			m.nham++;
		c = cls == BAYES_CLASS_SPAM;
		v.mv_size = 1;
		v.mv_data = &c;
		if ((r = mdb_put(txn, db->seen, &k, &v, 0)) != 0)
			goto out;
	} else if ((r = mdb_del(txn, db->seen, &k, NULL)) != 0) {
		goto out;
	}
	v.mv_size = sizeof m;
	v.mv_data = &m;
	if ((r = mdb_put(txn, db->meta, &mk, &v, 0)) != 0)
		goto out;
	r = mdb_txn_commit(txn);
	return mdb_errno(r);
out:
	r = mdb_errno(r);
out_errno:
	mdb_txn_abort(txn);
	return r;
}

int bayes_db_class_of(struct bayes_db *db, const uint8_t digest[BAYES_DIGEST_LEN],
		      enum bayes_class *cls)
{
	MDB_txn *txn;
	MDB_val k = {BAYES_DIGEST_LEN, (void *)digest}, v;
	int r;

	*cls = BAYES_CLASS_NONE;
	if ((r = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0)
		return mdb_errno(r);
	r = mdb_get(txn, db->seen, &k, &v);
	if (r == 0 && v.mv_size == 1)
		*cls = ((const uint8_t *)v.mv_data)[0] ? BAYES_CLASS_SPAM : BAYES_CLASS_HAM;
	mdb_txn_abort(txn);
	return r == 0 || r == MDB_NOTFOUND ? 0 : mdb_errno(r);
}

int bayes_db_counts(struct bayes_db *db, uint64_t *nspam, uint64_t *nham)
{
	MDB_txn *txn;
	struct bayes_meta m;
	int r;

	if ((r = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0)
		return mdb_errno(r);
	r = meta_get(txn, db, &m);
	mdb_txn_abort(txn);
	*nspam = m.nspam;
	*nham = m.nham;
	return r;
}

/* Token probabilities of tok[0..n) (sorted) into f; returns how many were known. */
static size_t token_probs(MDB_cursor *cur, const struct bayes_meta *m, const uint64_t *tok,
			  size_t n, double *f)
{
	size_t nf = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t key = tok[i];
		MDB_val k = {sizeof key, &key}, v;
		struct bayes_counts c;

		if (mdb_cursor_get(cur, &k, &v, MDB_SET) != 0 || v.mv_size != sizeof c)
			continue;
		memcpy(&c, v.mv_data, sizeof c);
		f[nf++] = bayes_token_prob(c.spam, c.ham, m->nspam, m->nham);
	}
	return nf;
}

int bayes_db_classify(struct bayes_db *db, const uint64_t *hdr, size_t nh, const uint64_t *body,
		      size_t nb, struct bayes_verdict *out)
{
	MDB_txn *txn;
	struct bayes_meta m;
	double *f = NULL;
	size_t fh, fb, ch, cb;
	int r;

	memset(out, 0, sizeof *out);
	out->prob = 0.5;
	if (db->rtxn == NULL) {
		r = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &db->rtxn);
		if (r == 0)
			r = mdb_cursor_open(db->rtxn, db->tokens, &db->rcur);
	} else {
		r = mdb_txn_renew(db->rtxn);
		if (r == 0)
			r = mdb_cursor_renew(db->rtxn, db->rcur);
	}
	if (r != 0) {
		/* start afresh next time */
		if (db->rcur)
			mdb_cursor_close(db->rcur);
		if (db->rtxn)
			mdb_txn_abort(db->rtxn);
		db->rcur = NULL;
		db->rtxn = NULL;
		return mdb_errno(r);
	}
	txn = db->rtxn;
	if ((r = meta_get(txn, db, &m)) < 0)
		goto out;
	out->nspam = m.nspam;
	out->nham = m.nham;
	if (m.nspam < BAYES_MIN_LEARNED || m.nham < BAYES_MIN_LEARNED) {
		r = -ENODATA;
		goto out;
	}
	f = malloc((nh + nb + 1) * sizeof *f);
	if (f == NULL) {
		r = -ENOMEM;
		goto out;
	}
	fh = token_probs(db->rcur, &m, hdr, nh, f);
	ch = bayes_select_clues(f, fh, BAYES_MAX_HEADER_CLUES);
	fb = token_probs(db->rcur, &m, body, nb, f + ch);
	cb = bayes_select_clues(f + ch, fb, BAYES_MAX_CLUES - ch);
	out->nclues = ch + cb;
	out->prob = bayes_combine(f, out->nclues);
	r = 0;
out:
	free(f);
	mdb_txn_reset(txn);
	return r;
}
