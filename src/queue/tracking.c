/*
 * tracking - see tracking.h. Three tables: messages (one row per queue id), rcpts (for search
 * by recipient) and events (each attempt). Prepared statements live as long as the handle.
 */
#include "queue/tracking.h"

#include "core/fsutil.h"
#include "core/log.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A writer holding the lock (qmgr's write vs. a dashboard read) is waited for this long. */
#define TRACKING_BUSY_MS 2000

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS messages(id TEXT PRIMARY KEY, arrival INTEGER, sender TEXT,"
    " rcpts TEXT, tenant TEXT, client_ip TEXT, verdict TEXT, score REAL, size INTEGER,"
    " fate TEXT NOT NULL DEFAULT '', fate_time INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS rcpts(id TEXT, addr TEXT);"
    "CREATE TABLE IF NOT EXISTS events(id TEXT, time INTEGER, rcpt TEXT, route TEXT,"
    " result TEXT, reply TEXT);"
    "CREATE INDEX IF NOT EXISTS messages_arrival ON messages(arrival);"
    "CREATE INDEX IF NOT EXISTS messages_sender ON messages(sender);"
    "CREATE INDEX IF NOT EXISTS rcpts_addr ON rcpts(addr);"
    "CREATE INDEX IF NOT EXISTS rcpts_id ON rcpts(id);"
    "CREATE INDEX IF NOT EXISTS events_id ON events(id);";

struct tracking {
	sqlite3 *db;
	sqlite3_stmt *ins_msg, *ins_rcpt, *ins_event, *upd_fate, *sel_events;
	int batch, in_txn;
};

static int prep(struct tracking *t, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(t->db, sql, -1, st, NULL) != SQLITE_OK) {
		log_error("tracking: prepare: %s", sqlite3_errmsg(t->db));
		return -EIO;
	}
	return 0;
}

struct tracking *tracking_open(const struct config *cfg)
{
	struct tracking *t = calloc(1, sizeof *t);
	char path[PATH_MAX], dir[PATH_MAX];
	char *err = NULL;

	if (t == NULL)
		return NULL;
	if (config_path(cfg, "db", dir, sizeof dir) < 0 ||
	    config_path(cfg, "db/tracking.sqlite", path, sizeof path) < 0)
		goto fail;
	fs_mkdir_p(dir, 0700);
	if (sqlite3_open_v2(path, &t->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		log_error("tracking: open %s: %s", path,
		          t->db ? sqlite3_errmsg(t->db) : "no memory");
		goto fail;
	}
	sqlite3_busy_timeout(t->db, TRACKING_BUSY_MS);
	if (sqlite3_exec(t->db, schema, NULL, NULL, &err) != SQLITE_OK) {
		log_error("tracking: schema: %s", err ? err : "?");
		sqlite3_free(err);
		goto fail;
	}
	if (prep(t,
	         "INSERT OR IGNORE INTO messages(id, arrival, sender, rcpts, tenant, client_ip,"
	         " verdict, score, size) VALUES(?,?,?,?,?,?,?,?,?)",
	         &t->ins_msg) < 0 ||
	    prep(t, "INSERT INTO rcpts(id, addr) VALUES(?,?)", &t->ins_rcpt) < 0 ||
	    prep(t, "INSERT INTO events(id, time, rcpt, route, result, reply) VALUES(?,?,?,?,?,?)",
	         &t->ins_event) < 0 ||
	    prep(t, "UPDATE messages SET fate=?, fate_time=? WHERE id=?", &t->upd_fate) < 0 ||
	    prep(t, "SELECT time, rcpt, route, result, reply FROM events WHERE id=? ORDER BY rowid",
	         &t->sel_events) < 0)
		goto fail;
	return t;
fail:
	tracking_close(t);
	return NULL;
}

void tracking_batch(struct tracking *t, int on)
{
	if (t == NULL)
		return;
	if (!on)
		tracking_flush(t);
	t->batch = on;
}

int tracking_flush(struct tracking *t)
{
	if (t == NULL || !t->in_txn)
		return 0;
	t->in_txn = 0;
	if (sqlite3_exec(t->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		log_warn("tracking: commit failed: %s; this batch's records are lost",
		         sqlite3_errmsg(t->db));
		sqlite3_exec(t->db, "ROLLBACK", NULL, NULL, NULL);
		return -EIO;
	}
	return 0;
}

/* In batch mode, open the batch's transaction before the first write. */
static void txn_open(struct tracking *t)
{
	if (t->batch && !t->in_txn && sqlite3_exec(t->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK)
		t->in_txn = 1;
}

void tracking_close(struct tracking *t)
{
	if (t == NULL)
		return;
	tracking_flush(t);
	sqlite3_finalize(t->ins_msg);
	sqlite3_finalize(t->ins_rcpt);
	sqlite3_finalize(t->ins_event);
	sqlite3_finalize(t->upd_fate);
	sqlite3_finalize(t->sel_events);
	sqlite3_close(t->db);
	free(t);
}

static int step_done(struct tracking *t, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		log_warn("tracking: write failed: %s", sqlite3_errmsg(t->db));
		return -EIO;
	}
	return 0;
}

int tracking_received(struct tracking *t, const char *id, const struct envelope *e)
{
	char rcpts[2048];
	size_t o = 0;
	int r;

	if (t == NULL)
		return -EINVAL;
	rcpts[0] = '\0';
	for (size_t i = 0; i < e->nrcpts && o < sizeof rcpts; i++) {
		int n =
		    snprintf(rcpts + o, sizeof rcpts - o, "%s%s", i ? "," : "", e->rcpts[i].addr);

		if (n < 0)
			break;
		o += (size_t)n;
	}
	txn_open(t);
	sqlite3_exec(t->db, "SAVEPOINT received", NULL, NULL, NULL);
	sqlite3_bind_text(t->ins_msg, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(t->ins_msg, 2, (sqlite3_int64)e->arrival_sec);
	sqlite3_bind_text(t->ins_msg, 3, e->sender ? e->sender : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(t->ins_msg, 4, rcpts, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(t->ins_msg, 5, e->tenant ? e->tenant : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(t->ins_msg, 6, e->client_ip ? e->client_ip : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(t->ins_msg, 7, envelope_verdict_name(e->verdict.verdict), -1,
	                  SQLITE_STATIC);
	sqlite3_bind_double(t->ins_msg, 8, e->verdict.score);
	sqlite3_bind_int64(t->ins_msg, 9, (sqlite3_int64)e->body_len);
	r = step_done(t, t->ins_msg);
	if (r == 0 && sqlite3_changes(t->db) > 0) {
		for (size_t i = 0; i < e->nrcpts && r == 0; i++) {
			sqlite3_bind_text(t->ins_rcpt, 1, id, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(t->ins_rcpt, 2, e->rcpts[i].addr, -1, SQLITE_TRANSIENT);
			r = step_done(t, t->ins_rcpt);
		}
	}
	if (r < 0)
		sqlite3_exec(t->db, "ROLLBACK TO received", NULL, NULL, NULL);
	sqlite3_exec(t->db, "RELEASE received", NULL, NULL, NULL);
	return r;
}

int tracking_attempt(struct tracking *t, const char *id, const char *rcpt, const char *route,
                     const char *result, const char *reply)
{
	if (t == NULL)
		return -EINVAL;
	txn_open(t);
	sqlite3_bind_text(t->ins_event, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(t->ins_event, 2, (sqlite3_int64)time(NULL));
	sqlite3_bind_text(t->ins_event, 3, rcpt ? rcpt : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(t->ins_event, 4, route ? route : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(t->ins_event, 5, result, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(t->ins_event, 6, reply ? reply : "", -1, SQLITE_TRANSIENT);
	return step_done(t, t->ins_event);
}

int tracking_fate(struct tracking *t, const char *id, const char *fate)
{
	if (t == NULL)
		return -EINVAL;
	txn_open(t);
	sqlite3_bind_text(t->upd_fate, 1, fate, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(t->upd_fate, 2, (sqlite3_int64)time(NULL));
	sqlite3_bind_text(t->upd_fate, 3, id, -1, SQLITE_TRANSIENT);
	return step_done(t, t->upd_fate);
}

static void col_copy(sqlite3_stmt *st, int i, char *out, size_t outsz)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(out, outsz, "%s", s ? (const char *)s : "");
}

static int load_events(struct tracking *t, struct tracking_record *r)
{
	size_t cap = 0;
	int rc;

	sqlite3_bind_text(t->sel_events, 1, r->id, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(t->sel_events)) == SQLITE_ROW) {
		struct tracking_event *ev;

		if (r->nevents == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			void *np = realloc(r->events, ncap * sizeof *r->events);

			if (np == NULL)
				break;
			r->events = np;
			cap = ncap;
		}
		ev = &r->events[r->nevents++];
		ev->time = sqlite3_column_int64(t->sel_events, 0);
		col_copy(t->sel_events, 1, ev->rcpt, sizeof ev->rcpt);
		col_copy(t->sel_events, 2, ev->route, sizeof ev->route);
		col_copy(t->sel_events, 3, ev->result, sizeof ev->result);
		col_copy(t->sel_events, 4, ev->reply, sizeof ev->reply);
	}
	sqlite3_reset(t->sel_events);
	sqlite3_clear_bindings(t->sel_events);
	return 0;
}

int tracking_search(struct tracking *t, const struct tracking_query *q,
                    struct tracking_record **out, size_t *n)
{
	static const char sql[] =
	    "SELECT id, arrival, sender, rcpts, tenant, client_ip, verdict, score, size, fate,"
	    " fate_time FROM messages WHERE (?1 IS NULL OR id = ?1)"
	    " AND (?2 IS NULL OR instr(lower(sender), lower(?2)) > 0)"
	    " AND (?3 IS NULL OR id IN (SELECT id FROM rcpts WHERE instr(lower(addr), lower(?3)) > "
	    "0))"
	    " AND (?4 = 0 OR arrival >= ?4) AND (?5 = 0 OR arrival <= ?5)"
	    " ORDER BY arrival DESC, id DESC LIMIT ?6";
	struct tracking_record *recs = NULL;
	sqlite3_stmt *st;
	size_t cnt = 0, cap = 0;
	unsigned limit =
	    q->limit && q->limit < TRACKING_SEARCH_MAX ? q->limit : TRACKING_SEARCH_MAX;
	int rc;

	*out = NULL;
	*n = 0;
	if (t == NULL || sqlite3_prepare_v2(t->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (q->id)
		sqlite3_bind_text(st, 1, q->id, -1, SQLITE_TRANSIENT);
	if (q->sender)
		sqlite3_bind_text(st, 2, q->sender, -1, SQLITE_TRANSIENT);
	if (q->rcpt)
		sqlite3_bind_text(st, 3, q->rcpt, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, q->since);
	sqlite3_bind_int64(st, 5, q->until);
	sqlite3_bind_int(st, 6, (int)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct tracking_record *r;

		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			void *np = realloc(recs, ncap * sizeof *recs);

			if (np == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			recs = np;
			cap = ncap;
		}
		r = &recs[cnt++];
		memset(r, 0, sizeof *r);
		col_copy(st, 0, r->id, sizeof r->id);
		r->arrival = sqlite3_column_int64(st, 1);
		col_copy(st, 2, r->sender, sizeof r->sender);
		col_copy(st, 3, r->rcpts, sizeof r->rcpts);
		col_copy(st, 4, r->tenant, sizeof r->tenant);
		col_copy(st, 5, r->client_ip, sizeof r->client_ip);
		col_copy(st, 6, r->verdict, sizeof r->verdict);
		r->score = sqlite3_column_double(st, 7);
		r->size = (uint64_t)sqlite3_column_int64(st, 8);
		col_copy(st, 9, r->fate, sizeof r->fate);
		r->fate_time = sqlite3_column_int64(st, 10);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		tracking_records_free(recs, cnt);
		return -EIO;
	}
	for (size_t i = 0; i < cnt; i++)
		load_events(t, &recs[i]);
	*out = recs;
	*n = cnt;
	return 0;
}

void tracking_records_free(struct tracking_record *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].events);
	free(r);
}
