/*
 * fuzzy_db - campaigns in LMDB (see fuzzy.h for the layout).
 *
 * "mh" is a multi-value index: key = slot byte + min-hash (9 bytes), values = campaign ids
 * (8 bytes, sorted, fixed size). A lookup collects the ids under each of the message's
 * FUZZY_NHASH keys, and an id that turns up under FUZZY_MATCH_MIN of them is the same campaign.
 * A matching variant adds its own min-hashes to the index under the campaign's id, so a
 * campaign that drifts a little per wave is still followed.
 */
#include "scan/fuzzy.h"

#include "core/log.h"
#include "core/sort.h"
#include "store/lmdb_env.h"

#include <endian.h>
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FUZZY_MAX_DBS 4
#define FUZZY_KEY_LEN 9

/* One sighting waiting for the batched write (FUZZY_DB_DEFER). */
struct fuzzy_pending {
	uint64_t id;
	uint64_t now;
	uint8_t kind;
	uint8_t index; /* add sig's min-hashes under id (a new campaign or a drifted variant) */
	uint8_t fresh; /* no campaign matched at lookup: look again when writing if need be */
	size_t snap;   /* the lookup's snapshot (transaction id) */
	char ip[64];
	struct fuzzy_sig sig;
};

struct fuzzy_db {
	MDB_env *env;
	MDB_dbi fp, mh;
	unsigned flags;
	/* FUZZY_DB_DEFER: a read transaction kept between lookups (reset after each, renewed for
	 * the next, as bayes_db does) and the sightings not yet written. */
	MDB_txn *rtxn;
	struct fuzzy_pending *pend;
	unsigned npend;
	uint64_t pend_since; /* time of the oldest pending sighting */
};

/*
 * The fingerprint layout the "mh" index was written with (fuzzy_shingle.c). Version 2
 * (2026-11-29) changed every min-hash: an index of another version can never match again, so
 * it is emptied on open (campaign records and their counters stay for the botnet API; a
 * learned campaign has to be learned again to be recognised).
 */
#define FUZZY_SIG_VERSION 2
static const char version_key[] = "sig_version";

static int index_version(MDB_txn *txn, struct fuzzy_db *db, const char *path)
{
	MDB_dbi meta;
	MDB_val k = {sizeof version_key - 1, (void *)version_key}, v;
	MDB_stat st;
	uint32_t have = 0, want = FUZZY_SIG_VERSION;
	int r;

	if ((r = mdb_dbi_open(txn, "meta", MDB_CREATE, &meta)) != 0)
		return r;
	r = mdb_get(txn, meta, &k, &v);
	if (r == 0 && v.mv_size == sizeof have)
		memcpy(&have, v.mv_data, sizeof have);
	else if (r != 0 && r != MDB_NOTFOUND)
		return r;
	if (have == want)
		return 0;
	if ((r = mdb_stat(txn, db->mh, &st)) != 0)
		return r;
	if (st.ms_entries) {
		log_warn("fuzzy: %s: min-hash index of fingerprint version %u, this is %u: "
			 "emptied (learned campaigns need learning again)", path, have, want);
		if ((r = mdb_drop(txn, db->mh, 0)) != 0)
			return r;
	}
	v.mv_size = sizeof want;
	v.mv_data = &want;
	return mdb_put(txn, meta, &k, &v, 0);
}

/* LMDB's default order for both keys and duplicates: bytewise, a shorter key first when it
 * is a prefix of the longer one. */
static int bytes_cmp(const MDB_val *a, const MDB_val *b)
{
	size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;
	int d = memcmp(a->mv_data, b->mv_data, n);

	if (d)
		return d;
	return a->mv_size < b->mv_size ? -1 : a->mv_size > b->mv_size;
}

static int u64_be_cmp(const void *a, const void *b)
{
	uint64_t x, y;

	memcpy(&x, a, sizeof x);
	memcpy(&y, b, sizeof y);
	x = be64toh(x);
	y = be64toh(y);
	return x < y ? -1 : x > y;
}

/*
 * The "mh" index's comparators: the same order as LMDB's default (bytewise), so a file written
 * with or without them reads the same, but a 9-byte key is compared as its slot byte and one
 * big-endian integer, not through memcmp: B-tree searches of this index made 200,000
 * compares per 300 scanned messages, at 36 instructions each.
 */
static int mh_key_cmp(const MDB_val *a, const MDB_val *b)
{
	const uint8_t *x = a->mv_data, *y = b->mv_data;

	if (a->mv_size != FUZZY_KEY_LEN || b->mv_size != FUZZY_KEY_LEN)
		return bytes_cmp(a, b);
	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return u64_be_cmp(x + 1, y + 1);
}

static int mh_id_cmp(const MDB_val *a, const MDB_val *b)
{
	if (a->mv_size != sizeof(uint64_t) || b->mv_size != sizeof(uint64_t))
		return bytes_cmp(a, b);
	return u64_be_cmp(a->mv_data, b->mv_data);
}

struct fuzzy_db *fuzzy_db_open(const char *path, unsigned flags)
{
	struct fuzzy_db *db = calloc(1, sizeof *db);
	MDB_txn *txn = NULL;
	int r;

	if (db == NULL)
		return NULL;
	db->flags = flags;
	if ((flags & FUZZY_DB_DEFER) &&
	    (db->pend = calloc(FUZZY_PENDING_MAX, sizeof *db->pend)) == NULL) {
		free(db);
		return NULL;
	}
	if (lmdb_env_open("fuzzy", path, FUZZY_MAP_SIZE, FUZZY_MAX_DBS,
			  (flags & FUZZY_DB_SYNC) ? 0 : LMDB_ENV_NOSYNC, &db->env) < 0) {
		free(db->pend);
		free(db);
		return NULL;
	}
	if ((r = mdb_txn_begin(db->env, NULL, 0, &txn)) != 0)
		goto fail;
	if ((r = mdb_dbi_open(txn, "fp", MDB_CREATE | MDB_INTEGERKEY, &db->fp)) != 0 ||
	    (r = mdb_dbi_open(txn, "mh", MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED, &db->mh)) != 0 ||
	    (r = mdb_set_compare(txn, db->mh, mh_key_cmp)) != 0 ||
	    (r = mdb_set_dupsort(txn, db->mh, mh_id_cmp)) != 0 ||
	    (r = index_version(txn, db, path)) != 0)
		goto fail;
	r = mdb_txn_commit(txn);
	txn = NULL;
	if (r != 0)
		goto fail;
	return db;
fail:
	log_warn("fuzzy: open %s: %s", path, mdb_strerror(r));
	if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(db->env);
	free(db->pend);
	free(db);
	return NULL;
}

void fuzzy_db_close(struct fuzzy_db *db)
{
	int r;

	if (db == NULL)
		return;
	if ((r = fuzzy_db_flush(db)) < 0)
		log_warn("fuzzy: %u sightings not recorded: %s", db->npend, strerror(-r));
	if (db->rtxn)
		mdb_txn_abort(db->rtxn);
	mdb_env_sync(db->env, 1);
	mdb_env_close(db->env);
	free(db->pend);
	free(db);
}

static void mh_key(uint8_t key[FUZZY_KEY_LEN], unsigned slot, uint64_t mh)
{
	key[0] = (uint8_t)slot;
	memcpy(key + 1, &mh, sizeof mh);
}

/* Ids gathered by one lookup: every candidate of every slot. */
#define MH_IDS_MAX (FUZZY_NHASH * FUZZY_MAX_CANDIDATES)
/*
 * Best campaign for sig: *id and its number of equal slots (0 when none reaches the bar).
 *
 * An id is stored at most once under a key, so no id can be counted more often than the slots
 * that gave any id at all (hit). When hit plus the slots still to read falls under
 * FUZZY_MATCH_MIN, no id can reach the bar and the rest is not read: a message of a new
 * campaign (most of them) costs 17 B-tree descents instead of 32, with the same answer.
 */
static int mh_best(MDB_txn *txn, struct fuzzy_db *db, const struct fuzzy_sig *sig, uint64_t *id,
                   unsigned *sim)
{
	uint64_t ids[MH_IDS_MAX];
	size_t n = 0;
	unsigned left = 0, hit = 0;
	MDB_cursor *cur;
	int r;

	*id = 0;
	*sim = 0;
	for (unsigned i = 0; i < FUZZY_NHASH; i++)
		left += sig->mh[i] != UINT64_MAX;
	if ((r = mdb_cursor_open(txn, db->mh, &cur)) != 0)
		return lmdb_errno(r);
	for (unsigned i = 0; i < FUZZY_NHASH; i++) {
		uint8_t key[FUZZY_KEY_LEN];
		MDB_val k = {sizeof key, key}, v;
		unsigned got = 0;
		size_t n0 = n;

		if (sig->mh[i] == UINT64_MAX)
			continue;
		if (hit + left < FUZZY_MATCH_MIN)
			break;
		left--;
		mh_key(key, i, sig->mh[i]);
		r = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
		if (r == 0 && v.mv_size == sizeof(uint64_t)) {
			MDB_val blk = {0, NULL};

			/* The ids of a key in blocks (a page of them at a time: the index is
			 * MDB_DUPFIXED) instead of one MDB_NEXT_DUP call per id; the same ids in
			 * the same order. A key with a single id has no block. */
			r = mdb_cursor_get(cur, &k, &blk, MDB_GET_MULTIPLE);
			if (r != 0 || blk.mv_data == NULL) {
				memcpy(&ids[n++], v.mv_data, sizeof(uint64_t));
				got = 1;
			}
			while (r == 0 && blk.mv_data && got < FUZZY_MAX_CANDIDATES) {
				size_t take = blk.mv_size / sizeof(uint64_t);

				if (take > FUZZY_MAX_CANDIDATES - got)
					take = FUZZY_MAX_CANDIDATES - got;
				memcpy(&ids[n], blk.mv_data, take * sizeof(uint64_t));
				n += take;
				got += (unsigned)take;
				if (got >= FUZZY_MAX_CANDIDATES)
					break;
				blk.mv_data = NULL;
				r = mdb_cursor_get(cur, &k, &blk, MDB_NEXT_MULTIPLE);
			}
		}
		hit += n > n0;
	}
	mdb_cursor_close(cur);
	sort_u64(ids, n);
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && ids[j] == ids[i])
			j++;
		if (j - i >= FUZZY_MATCH_MIN && j - i > *sim) {
			*sim = (unsigned)(j - i);
			*id = ids[i];
		}
		i = j;
	}
	return 0;
}

static int fp_get(MDB_txn *txn, struct fuzzy_db *db, uint64_t id, struct fuzzy_campaign *c)
{
	MDB_val k = {sizeof id, &id}, v;
	int r = mdb_get(txn, db->fp, &k, &v);

	if (r != 0)
		return lmdb_errno(r);
	if (v.mv_size != sizeof *c)
		return -EIO; /* another layout: treat as absent rather than read garbage */
	memcpy(c, v.mv_data, sizeof *c);
	return 0;
}

static int fp_put(MDB_txn *txn, struct fuzzy_db *db, const struct fuzzy_campaign *c)
{
	uint64_t id = c->id;
	MDB_val k = {sizeof id, &id}, v = {sizeof *c, (void *)c};

	return lmdb_errno(mdb_put(txn, db->fp, &k, &v, 0));
}

/* One fingerprint to add to the index under a campaign id. */
struct mh_req {
	const struct fuzzy_sig *sig;
	uint64_t id;
};

/* An index entry as LMDB orders it: the slot byte, then the min-hash's stored bytes (so its
 * byte-swapped value), then the id's bytes. */
struct mh_ent {
	uint64_t mh_be, id_be;
};

static int mh_ent_less(const struct mh_ent *a, const struct mh_ent *b)
{
	return a->mh_be < b->mh_be || (a->mh_be == b->mh_be && a->id_be < b->id_be);
}

/*
 * Index the min-hashes of n fingerprints under their ids (duplicates are no-ops). The entries
 * go in LMDB's key order through one cursor: LMDB then finds the place of a key that falls on
 * the leaf page the cursor is on without descending from the root, and a batch of 64 new
 * campaigns (2,048 random keys) lands several to a page. The index holds the same pairs
 * whatever the order they are written in.
 */
static int mh_index(MDB_txn *txn, struct fuzzy_db *db, const struct mh_req *req, unsigned n)
{
	struct mh_ent e[FUZZY_PENDING_MAX];
	MDB_cursor *cur;
	int r;

	if (n == 0)
		return 0;
	if (n > FUZZY_PENDING_MAX)
		return -EINVAL;
	if ((r = mdb_cursor_open(txn, db->mh, &cur)) != 0)
		return lmdb_errno(r);
	for (unsigned slot = 0; slot < FUZZY_NHASH && r == 0; slot++) {
		unsigned ne = 0;

		for (unsigned q = 0; q < n; q++) {
			struct mh_ent x;
			unsigned j = ne++;

			if (req[q].sig->mh[slot] == UINT64_MAX) {
				ne--;
				continue;
			}
			x.mh_be = __builtin_bswap64(req[q].sig->mh[slot]);
			x.id_be = __builtin_bswap64(req[q].id);
			for (; j && mh_ent_less(&x, &e[j - 1]); j--)
				e[j] = e[j - 1];
			e[j] = x;
		}
		for (unsigned j = 0; j < ne; j++) {
			uint8_t key[FUZZY_KEY_LEN];
			uint64_t mh = __builtin_bswap64(e[j].mh_be), id = __builtin_bswap64(e[j].id_be);
			MDB_val k = {sizeof key, key}, v = {sizeof id, &id};

			mh_key(key, slot, mh);
			r = mdb_cursor_put(cur, &k, &v, MDB_NODUPDATA);
			if (r == MDB_KEYEXIST)
				r = 0;
			if (r != 0)
				break;
		}
	}
	mdb_cursor_close(cur);
	return lmdb_errno(r);
}

/*
 * Find the campaign of sig; with create, a new one (in memory) when none matches. *index is
 * set when sig's min-hashes belong in the index under m->c.id: a new campaign, or a variant
 * that matched without being identical (so a drifting campaign stays followed).
 */
static int text_lookup(MDB_txn *txn, struct fuzzy_db *db, const struct fuzzy_sig *sig, int create,
                       struct fuzzy_match *m, int *index)
{
	uint64_t id;
	unsigned sim;
	int r;

	memset(m, 0, sizeof *m);
	*index = 0;
	if ((r = mh_best(txn, db, sig, &id, &sim)) < 0)
		return r;
	if (sim && fp_get(txn, db, id, &m->c) == 0) {
		m->found = 1;
		m->similarity = sim;
		*index = create && sim < FUZZY_NHASH;
		return 0;
	}
	if (!create)
		return 0;
	m->c.id = fuzzy_sig_id(sig);
	m->c.kind = FUZZY_KIND_TEXT;
	if (fp_get(txn, db, m->c.id, &m->c) == 0) { /* indexed but under the bar: same id */
		m->found = 1;
		m->similarity = FUZZY_NHASH;
		return 0;
	}
	m->c.id = fuzzy_sig_id(sig);
	m->c.kind = FUZZY_KIND_TEXT;
	*index = 1;
	return 0;
}

/* Find or (with create) make the campaign of sig in a write transaction; *c filled. */
static int text_find(MDB_txn *txn, struct fuzzy_db *db, const struct fuzzy_sig *sig, int create,
                     struct fuzzy_match *m)
{
	int index, r = text_lookup(txn, db, sig, create, m, &index);

	if (r == 0 && index) {
		struct mh_req q = {sig, m->c.id};

		r = mh_index(txn, db, &q, 1);
	}
	return r;
}

static int attach_find(MDB_txn *txn, struct fuzzy_db *db, uint64_t id, int create,
                       struct fuzzy_match *m)
{
	memset(m, 0, sizeof *m);
	if (fp_get(txn, db, id, &m->c) == 0) {
		m->found = 1;
		m->similarity = FUZZY_NHASH;
		return 0;
	}
	memset(&m->c, 0, sizeof m->c);
	if (create) {
		m->c.id = id;
		m->c.kind = FUZZY_KIND_ATTACH;
	}
	return 0;
}

static int txn_finish(MDB_txn *txn, int r, int write)
{
	if (r < 0 || !write) {
		mdb_txn_abort(txn);
		return r;
	}
	return lmdb_errno(mdb_txn_commit(txn));
}

/* The kept read transaction, renewed (FUZZY_DB_DEFER). */
static int read_begin(struct fuzzy_db *db)
{
	int r;

	if (db->rtxn == NULL)
		r = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &db->rtxn);
	else
		r = mdb_txn_renew(db->rtxn);
	if (r != 0 && db->rtxn) {
		mdb_txn_abort(db->rtxn);
		db->rtxn = NULL;
	}
	return lmdb_errno(r);
}

/* fuzzy_sig_similarity(a, b) >= FUZZY_MATCH_MIN, stopping once the answer is known: a batch
 * compares every new campaign with the earlier ones (2,000 pairs of 64), nearly all unrelated. */
static int sig_reaches_bar(const struct fuzzy_sig *a, const struct fuzzy_sig *b)
{
	unsigned same = 0, differ = 0;

	for (unsigned i = 0; i < FUZZY_NHASH; i++) {
		if (a->mh[i] == b->mh[i]) {
			if (++same >= FUZZY_MATCH_MIN)
				return 1;
		} else if (++differ > FUZZY_NHASH - FUZZY_MATCH_MIN) {
			return 0;
		}
	}
	return 0;
}

/*
 * A sighting that matched nothing when scanned (pend[i]) may match something by now: when
 * another writer committed since its snapshot (a learn, another worker's batch), or when an
 * earlier new campaign of this batch is like it. Otherwise it is certainly new and the second
 * lookup (32 cursor positionings) is skipped.
 */
static int fresh_may_match(const struct fuzzy_db *db, MDB_txn *txn, unsigned i)
{
	const struct fuzzy_pending *p = &db->pend[i];

	if (mdb_txn_id(txn) != p->snap + 1)
		return 1;
	for (unsigned j = 0; j < i; j++)
		if (db->pend[j].fresh && db->pend[j].kind == FUZZY_KIND_TEXT &&
		    sig_reaches_bar(&db->pend[j].sig, &p->sig))
			return 1;
	return 0;
}

int fuzzy_db_flush(struct fuzzy_db *db)
{
	struct mh_req req[FUZZY_PENDING_MAX];
	unsigned nreq = 0;
	MDB_txn *txn;
	int r = 0;

	if (db->npend == 0)
		return 0;
	if ((r = mdb_txn_begin(db->env, NULL, 0, &txn)) != 0)
		return lmdb_errno(r);
	for (unsigned i = 0; i < db->npend && r == 0; i++) {
		const struct fuzzy_pending *p = &db->pend[i];
		struct fuzzy_match m;
		int index = p->index;

		if (p->fresh && p->kind == FUZZY_KIND_TEXT && fresh_may_match(db, txn, i)) {
			/*
			 * No campaign matched when it was scanned, but one may exist now: a learn
			 * (`mxtower learn --spam` of this very campaign), another worker's batch,
			 * an earlier sighting in this one. Joining it keeps one campaign where the
			 * immediate path would have had one; a second, never-learned campaign
			 * beside a learned one could win the next variant's match and hide
			 * FUZZY_SPAM. The batch's index entries so far go in first, as if each
			 * sighting had been written in turn.
			 */
			if ((r = mh_index(txn, db, req, nreq)) < 0)
				break;
			nreq = 0;
			if ((r = text_lookup(txn, db, &p->sig, 1, &m, &index)) < 0)
				break;
		} else if (fp_get(txn, db, p->id, &m.c) != 0) {
			/* the record as it is now: learn may have changed it since the lookup */
			memset(&m.c, 0, sizeof m.c);
			m.c.id = p->id;
			m.c.kind = p->kind;
		}
		fuzzy_campaign_observe(&m.c, p->ip, p->now);
		r = fp_put(txn, db, &m.c);
		if (index) {
			req[nreq].sig = &p->sig;
			req[nreq++].id = m.c.id;
		}
	}
	if (r == 0)
		r = mh_index(txn, db, req, nreq);
	db->npend = 0;
	return txn_finish(txn, r, 1);
}

int fuzzy_db_flush_due(struct fuzzy_db *db, uint64_t now)
{
	if (db->npend == 0 ||
	    (db->npend < FUZZY_PENDING_MAX && now < db->pend_since + FUZZY_PENDING_AGE))
		return 0;
	return fuzzy_db_flush(db);
}

/* Deferred sighting: looked up in the kept read transaction, counted in *m at once (so the
 * verdict sees it, as the immediate path does), written with the next batch. */
static int observe_deferred(struct fuzzy_db *db, const struct fuzzy_sig *sig, uint64_t att,
                            const char *ip, uint64_t now, struct fuzzy_match *m)
{
	struct fuzzy_pending *p;
	size_t snap;
	int index = 0, r;

	if (db->npend >= FUZZY_PENDING_MAX && (r = fuzzy_db_flush(db)) < 0)
		return r;
	if ((r = read_begin(db)) < 0)
		return r;
	if (sig)
		r = text_lookup(db->rtxn, db, sig, 1, m, &index);
	else
		r = attach_find(db->rtxn, db, att, 1, m);
	snap = mdb_txn_id(db->rtxn);
	mdb_txn_reset(db->rtxn);
	if (r < 0)
		return r;
	fuzzy_campaign_observe(&m->c, ip, now);
	if (db->npend == 0)
		db->pend_since = now;
	p = &db->pend[db->npend++];
	p->id = m->c.id;
	p->now = now;
	p->kind = (uint8_t)m->c.kind;
	p->index = (uint8_t)index;
	p->fresh = !m->found;
	p->snap = snap;
	snprintf(p->ip, sizeof p->ip, "%s", ip ? ip : "");
	if (sig && (index || !m->found))
		p->sig = *sig;
	return 0;
}

int fuzzy_db_text(struct fuzzy_db *db, const struct fuzzy_sig *sig, const char *ip, uint64_t now,
                  int observe, struct fuzzy_match *m)
{
	MDB_txn *txn;
	int r;

	if (observe && (db->flags & FUZZY_DB_DEFER))
		return observe_deferred(db, sig, 0, ip, now, m);
	if ((r = mdb_txn_begin(db->env, NULL, observe ? 0 : MDB_RDONLY, &txn)) != 0)
		return lmdb_errno(r);
	r = text_find(txn, db, sig, observe, m);
	if (r == 0 && observe) {
		fuzzy_campaign_observe(&m->c, ip, now);
		r = fp_put(txn, db, &m->c);
	}
	return txn_finish(txn, r, observe);
}

int fuzzy_db_attach(struct fuzzy_db *db, uint64_t id, const char *ip, uint64_t now, int observe,
                    struct fuzzy_match *m)
{
	MDB_txn *txn;
	int r;

	if (observe && (db->flags & FUZZY_DB_DEFER))
		return observe_deferred(db, NULL, id, ip, now, m);
	if ((r = mdb_txn_begin(db->env, NULL, observe ? 0 : MDB_RDONLY, &txn)) != 0)
		return lmdb_errno(r);
	r = attach_find(txn, db, id, observe, m);
	if (r == 0 && observe) {
		fuzzy_campaign_observe(&m->c, ip, now);
		r = fp_put(txn, db, &m->c);
	}
	return txn_finish(txn, r, observe);
}

static void learn_apply(struct fuzzy_campaign *c, int spam, int delta)
{
	uint32_t *f = spam ? &c->spam : &c->ham;

	if (delta > 0)
		(*f)++;
	else if (*f)
		(*f)--;
	if (c->first_seen == 0)
		c->first_seen = c->last_seen = (uint64_t)time(NULL);
}

int fuzzy_db_learn_text(struct fuzzy_db *db, const struct fuzzy_sig *sig, int spam, int delta)
{
	struct fuzzy_match m;
	MDB_txn *txn;
	int r;

	if ((r = mdb_txn_begin(db->env, NULL, 0, &txn)) != 0)
		return lmdb_errno(r);
	r = text_find(txn, db, sig, delta > 0, &m);
	if (r == 0 && (m.found || delta > 0)) {
		learn_apply(&m.c, spam, delta);
		r = fp_put(txn, db, &m.c);
	}
	return txn_finish(txn, r, 1);
}

int fuzzy_db_learn_attach(struct fuzzy_db *db, uint64_t id, int spam, int delta)
{
	struct fuzzy_match m;
	MDB_txn *txn;
	int r;

	if ((r = mdb_txn_begin(db->env, NULL, 0, &txn)) != 0)
		return lmdb_errno(r);
	r = attach_find(txn, db, id, delta > 0, &m);
	if (r == 0 && (m.found || delta > 0)) {
		learn_apply(&m.c, spam, delta);
		r = fp_put(txn, db, &m.c);
	}
	return txn_finish(txn, r, 1);
}

int fuzzy_campaign_get(struct fuzzy_db *db, uint64_t id, struct fuzzy_campaign *out)
{
	MDB_txn *txn;
	int r;

	if ((r = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0)
		return lmdb_errno(r);
	r = fp_get(txn, db, id, out);
	mdb_txn_abort(txn);
	return r;
}

int fuzzy_campaign_each(struct fuzzy_db *db, uint64_t min_count, fuzzy_campaign_fn fn, void *arg)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int r;

	if ((r = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) != 0)
		return lmdb_errno(r);
	if ((r = mdb_cursor_open(txn, db->fp, &cur)) != 0) {
		mdb_txn_abort(txn);
		return lmdb_errno(r);
	}
	for (r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0;
	     r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct fuzzy_campaign c;

		if (v.mv_size != sizeof c)
			continue;
		memcpy(&c, v.mv_data, sizeof c);
		if (c.count >= min_count && fn(arg, &c))
			break;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return r == 0 || r == MDB_NOTFOUND ? 0 : lmdb_errno(r);
}
