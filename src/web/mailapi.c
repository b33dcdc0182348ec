/*
 * mailapi - the mail pages' endpoints (see mailapi.h):
 *
 *   GET  /api/v1/quarantine                 held messages with the reason they are held
 *   POST /api/v1/quarantine/ID/release      to active/ (qmgr delivers it)
 *   POST /api/v1/quarantine/ID/delete       gone for good (suspects archived first)
 *   GET  /api/v1/stuck                      copies at the central location (<home>/central/)
 *   GET  /api/v1/tracking?q=&id=&sender=&rcpt=&since=&until=   message tracking
 *   GET  /api/v1/suspects                   suspected new viruses, held and archived
 *   GET  /api/v1/signatures                 the analysts' signature files
 *
 * Every id from the URL is checked with queue_id_valid() before it reaches a path. Lists are
 * capped at MAILAPI_LIST_MAX: a page for a human, not an export.
 */
#include "web/mailapi.h"

#include "core/log.h"
#include "queue/queue.h"
#include "queue/tracking.h"
#include "scan/quarantine.h"
#include "scan/scan.h"
#include "web/json.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Rows per list: more than a screen can show, few enough to build in a few milliseconds. */
#define MAILAPI_LIST_MAX 500
/* Tracking results per search (the module caps at TRACKING_SEARCH_MAX). */
#define MAILAPI_TRACK_MAX 200

struct mailapi_list {
	const struct config *cfg;
	struct queue *q;
	struct buf *b;
	int n;
	int suspects_only;
	int rc;
};

static int mailapi_rcpts(struct buf *b, const struct envelope *e)
{
	int rc = buf_puts(b, "[");

	for (size_t i = 0; rc == 0 && i < e->nrcpts; i++) {
		if (i)
			rc = buf_puts(b, ",");
		if (rc == 0)
			rc = json_str(b, e->rcpts[i].addr ? e->rcpts[i].addr : "");
	}
	return rc == 0 ? buf_puts(b, "]") : rc;
}

/* One queue message as a JSON object (no braces around the reason when there is none). */
static int mailapi_msg(struct buf *b, const struct config *cfg, const struct queue_msg *m,
		       int n, const char *reason)
{
	const struct envelope *e = &m->env;
	int rc = buf_puts(b, n ? ",{\"id\":" : "{\"id\":");

	if (rc == 0)
		rc = json_str(b, m->id);
	if (rc == 0)
		rc = json_field(b, "sender", e->sender);
	if (rc == 0)
		rc = buf_puts(b, ",\"recipients\":");
	if (rc == 0)
		rc = mailapi_rcpts(b, e);
	if (rc == 0)
		rc = buf_printf(b, ",\"time\":%" PRIu64 ",\"attempts\":%u,\"verdict\":\"%s\","
				"\"score\":%.2f,\"size\":%" PRIu64,
				e->arrival_sec, e->attempts, scan_verdict_name(e->verdict.verdict),
				e->verdict.score, e->body_len);
	if (rc == 0)
		rc = json_field(b, "virus", e->verdict.virus);
	if (rc == 0)
		rc = json_field(b, "last_error", e->last_error);
	if (rc == 0 && reason != NULL)
		rc = json_field(b, "reason", reason);
	(void)cfg;
	return rc == 0 ? buf_puts(b, "}") : rc;
}

static int mailapi_quarantine_one(void *arg, const char *id)
{
	struct mailapi_list *x = arg;
	struct queue_msg m;
	char reason[QUARANTINE_NOTE_MAX + 128];

	if (x->n >= MAILAPI_LIST_MAX)
		return 1;
	if (queue_msg_load(x->q, QUEUE_QUARANTINE, id, &m) < 0)
		return 0; /* released or deleted meanwhile, or garbled: not listable */
	if (!x->suspects_only || m.env.verdict.verdict == VERDICT_SUSPECT) {
		quarantine_reason(x->cfg, &m, reason, sizeof reason);
		x->rc = mailapi_msg(x->b, x->cfg, &m, x->n, reason);
		x->n++;
	}
	queue_msg_free(&m);
	return x->rc != 0;
}

static struct queue *mailapi_queue(struct web_state *w)
{
	if (w->q == NULL)
		w->q = queue_open(w->cfg);
	return w->q;
}

static struct tracking *mailapi_tracking_db(struct web_state *w)
{
	if (w->trk == NULL)
		w->trk = tracking_open(w->cfg);
	return w->trk;
}

void mailapi_close(struct web_state *w)
{
	queue_close(w->q);
	tracking_close(w->trk);
	w->q = NULL;
	w->trk = NULL;
}

static void mailapi_quarantine_list(struct web_state *w, struct web_reply *r, int suspects)
{
	struct queue *q = mailapi_queue(w);
	struct mailapi_list x = {.cfg = w->cfg, .q = q, .b = &r->body, .suspects_only = suspects};

	if (q == NULL) {
		web_reply_error(r, 500, "cannot open the queue");
		return;
	}
	buf_puts(&r->body, suspects ? "{\"suspects\":[" : "{\"messages\":[");
	queue_dir_foreach(q, QUEUE_QUARANTINE, mailapi_quarantine_one, &x);
	if (suspects && x.rc == 0) {
		/* Archived samples: <home>/suspects/ID.txt, once they left the quarantine. */
		char dir[CONFIG_PATH];
		DIR *d = NULL;
		if (config_path(w->cfg, "suspects", dir, sizeof dir) == 0)
			d = opendir(dir);
		for (struct dirent *de; d != NULL && x.rc == 0 && x.n < MAILAPI_LIST_MAX &&
					(de = readdir(d)) != NULL;) {
			size_t len = strlen(de->d_name);
			char id[QUEUE_ID_MAX];
			if (len < 5 || len - 4 >= sizeof id || strcmp(de->d_name + len - 4, ".txt") != 0)
				continue;
			memcpy(id, de->d_name, len - 4);
			id[len - 4] = '\0';
			if (!queue_id_valid(id))
				continue;
			x.rc = buf_printf(&r->body, "%s{\"id\":\"%s\",\"state\":\"archived\"}",
					  x.n ? "," : "", id);
			x.n++;
		}
		if (d != NULL)
			closedir(d);
	}
	if (x.rc == 0)
		x.rc = buf_printf(&r->body, "],\"count\":%d}", x.n);
	if (x.rc != 0)
		web_reply_error(r, 500, "reply too large");
}

static void mailapi_quarantine_act(struct web_state *w, const struct web_request *rq,
				   struct web_reply *r, const char *id, const char *what)
{
	struct queue *q;
	int rc;

	if (strcmp(rq->method, "POST") != 0) {
		web_reply_error(r, 405, "POST only");
		return;
	}
	if (!queue_id_valid(id)) {
		web_reply_error(r, 400, "not a queue id");
		return;
	}
	q = mailapi_queue(w);
	if (q == NULL) {
		web_reply_error(r, 500, "cannot open the queue");
		return;
	}
	if (strcmp(what, "release") == 0)
		rc = quarantine_release(w->cfg, q, id);
	else
		rc = quarantine_delete(w->cfg, q, id);
	if (rc == -ENOENT) {
		web_reply_error(r, 404, "no such message in the quarantine");
		return;
	}
	if (rc < 0) {
		log_warn("id=%s web: quarantine %s failed: %s", id, what, strerror(-rc));
		web_reply_error(r, 500, "failed");
		return;
	}
	log_info("id=%s web: quarantine %s", id, what);
	buf_printf(&r->body, "{\"ok\":true,\"id\":\"%s\",\"action\":\"%s\"}", id, what);
}

static void mailapi_stuck(struct web_state *w, struct web_reply *r)
{
	char dir[CONFIG_PATH], path[CONFIG_PATH + 300];
	DIR *d = NULL;
	int n = 0, rc;

	rc = buf_puts(&r->body, "{\"messages\":[");
	if (config_path(w->cfg, "central", dir, sizeof dir) == 0)
		d = opendir(dir);
	for (struct dirent *de; d != NULL && rc == 0 && n < MAILAPI_LIST_MAX &&
				(de = readdir(d)) != NULL;) {
		struct queue_msg m;
		if (!queue_id_valid(de->d_name))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (queue_msg_load_path(path, de->d_name, &m) < 0)
			continue;
		rc = mailapi_msg(&r->body, w->cfg, &m, n++, NULL);
		queue_msg_free(&m);
	}
	if (d != NULL)
		closedir(d);
	if (rc == 0)
		rc = buf_printf(&r->body, "],\"count\":%d}", n);
	if (rc != 0)
		web_reply_error(r, 500, "reply too large");
}

static int mailapi_track_json(struct buf *b, const struct tracking_record *t, int n)
{
	const char *strs[][2] = {{"recipients", t->rcpts}, {"tenant", t->tenant},
				 {"client_ip", t->client_ip}, {"verdict", t->verdict}};
	int rc = buf_puts(b, n ? ",{\"id\":" : "{\"id\":");

	if (rc == 0)
		rc = json_str(b, t->id);
	if (rc == 0)
		rc = buf_printf(b, ",\"time\":%" PRId64, t->arrival);
	if (rc == 0)
		rc = json_field(b, "sender", t->sender);
	for (size_t i = 0; rc == 0 && i < sizeof strs / sizeof strs[0]; i++)
		rc = json_field(b, strs[i][0], strs[i][1]);
	if (rc == 0)
		rc = buf_printf(b, ",\"score\":%.2f,\"size\":%" PRIu64, t->score, t->size);
	if (rc == 0)
		rc = json_field(b, "fate", t->fate[0] ? t->fate : "queued");
	if (rc == 0 && t->nevents > 0) {
		const struct tracking_event *e = &t->events[t->nevents - 1];

		rc = json_field(b, "last_attempt", e->result);
		if (rc == 0)
			rc = json_field(b, "reply", e->reply);
	}
	return rc == 0 ? buf_puts(b, "}") : rc;
}

static int64_t mailapi_arg_time(const struct web_request *rq, const char *name)
{
	const char *v = rq->arg ? rq->arg(rq->conn, name) : NULL;

	return v != NULL ? (int64_t)strtoll(v, NULL, 10) : 0;
}

static void mailapi_tracking(struct web_state *w, const struct web_request *rq,
			     struct web_reply *r)
{
	const char *qs = rq->arg(rq->conn, "q");
	struct tracking_query q = {
		.id = rq->arg(rq->conn, "id"),
		.sender = rq->arg(rq->conn, "sender"),
		.rcpt = rq->arg(rq->conn, "rcpt"),
		.since = mailapi_arg_time(rq, "since"),
		.until = mailapi_arg_time(rq, "until"),
		.limit = MAILAPI_TRACK_MAX,
	};
	struct tracking_record *res[2] = {NULL, NULL};
	size_t nres[2] = {0, 0};
	int passes = 1, n = 0, rc = 0;
	struct tracking *t = mailapi_tracking_db(w);

	if (t == NULL) {
		web_reply_error(r, 500, "cannot open the tracking database");
		return;
	}
	if (qs != NULL && qs[0] != '\0') {
		/* One search box: a queue id, else sender or recipient (two searches, merged). */
		if (queue_id_valid(qs)) {
			q.id = qs;
		} else {
			q.sender = qs;
			passes = 2;
		}
	}
	for (int p = 0; p < passes && rc == 0; p++) {
		if (p == 1) {
			q.sender = NULL;
			q.rcpt = qs;
		}
		rc = tracking_search(t, &q, &res[p], &nres[p]);
	}
	if (rc < 0) {
		web_reply_error(r, 500, "search failed");
		goto out;
	}
	rc = buf_puts(&r->body, "{\"results\":[");
	for (int p = 0; p < passes; p++) {
		for (size_t i = 0; rc == 0 && i < nres[p] && n < MAILAPI_TRACK_MAX; i++) {
			int dup = 0;
			for (size_t j = 0; p == 1 && j < nres[0]; j++)
				dup |= strcmp(res[0][j].id, res[1][i].id) == 0;
			if (!dup)
				rc = mailapi_track_json(&r->body, &res[p][i], n++);
		}
	}
	if (rc == 0)
		rc = buf_printf(&r->body, "],\"count\":%d}", n);
	if (rc != 0)
		web_reply_error(r, 500, "reply too large");
out:
	for (int p = 0; p < 2; p++)
		if (res[p] != NULL)
			tracking_records_free(res[p], nres[p]);
}

static void mailapi_signatures(struct web_state *w, struct web_reply *r)
{
	char dir[CONFIG_PATH], path[CONFIG_PATH + 300];
	struct stat st;
	DIR *d = NULL;
	int n = 0, rc;

	rc = buf_puts(&r->body, "{\"signatures\":[");
	if (config_path(w->cfg, "signatures", dir, sizeof dir) == 0)
		d = opendir(dir);
	for (struct dirent *de; d != NULL && rc == 0 && n < MAILAPI_LIST_MAX &&
				(de = readdir(d)) != NULL;) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		rc = buf_puts(&r->body, n++ ? ",{\"name\":" : "{\"name\":");
		if (rc == 0)
			rc = json_str(&r->body, de->d_name);
		if (rc == 0)
			rc = buf_printf(&r->body, ",\"bytes\":%lld,\"time\":%lld}",
					(long long)st.st_size, (long long)st.st_mtime);
	}
	if (d != NULL)
		closedir(d);
	if (rc == 0)
		rc = buf_printf(&r->body, "],\"count\":%d}", n);
	if (rc != 0)
		web_reply_error(r, 500, "reply too large");
}

int mailapi_handle(struct web_state *w, const struct web_request *rq, struct web_reply *r)
{
	static const char qpre[] = "/api/v1/quarantine/";
	const char *p = rq->path;
	int get = strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0;

	if (strncmp(p, qpre, sizeof qpre - 1) == 0) {
		char id[QUEUE_ID_MAX];
		const char *rest = p + sizeof qpre - 1, *slash = strchr(rest, '/');
		if (slash == NULL || (size_t)(slash - rest) >= sizeof id ||
		    (strcmp(slash + 1, "release") != 0 && strcmp(slash + 1, "delete") != 0)) {
			web_reply_error(r, 404, "want /api/v1/quarantine/ID/release|delete");
			return 1;
		}
		memcpy(id, rest, (size_t)(slash - rest));
		id[slash - rest] = '\0';
		mailapi_quarantine_act(w, rq, r, id, slash + 1);
		return 1;
	}
	static const char *const lists[] = {"/api/v1/quarantine", "/api/v1/stuck",
					    "/api/v1/tracking", "/api/v1/suspects",
					    "/api/v1/signatures"};
	size_t k;
	for (k = 0; k < sizeof lists / sizeof lists[0]; k++)
		if (strcmp(p, lists[k]) == 0)
			break;
	if (k == sizeof lists / sizeof lists[0])
		return 0;
	if (!get) {
		web_reply_error(r, 405, "GET only");
		return 1;
	}
	switch (k) {
	case 0: mailapi_quarantine_list(w, r, 0); break;
	case 1: mailapi_stuck(w, r); break;
	case 2: mailapi_tracking(w, rq, r); break;
	case 3: mailapi_quarantine_list(w, r, 1); break;
	default: mailapi_signatures(w, r); break;
	}
	return 1;
}
