/*
 * api - JSON views of the node, its towers and its history, login/logout and maintenance
 * (see api.h). Mail pages (quarantine, stuck mail, tracking, suspects, signatures) are in
 * mailapi.c.
 */
#include "web/api.h"

#include "core/log.h"
#include "web/json.h"
#include "web/mailapi.h"
#include "web/maintenance.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void web_reply_init(struct web_reply *r)
{
	memset(r, 0, sizeof *r);
	r->status = 200;
	r->type = "application/json";
	buf_init(&r->body, API_REPLY_MAX);
}

void web_reply_error(struct web_reply *r, int status, const char *msg)
{
	r->status = status;
	r->type = "application/json";
	buf_reset(&r->body);
	buf_puts(&r->body, "{\"error\":");
	json_str(&r->body, msg);
	buf_puts(&r->body, "}");
}

static const char *const api_queue_names[] = {
	[STAT_G_QUEUE_ACTIVE] = "active",         [STAT_G_QUEUE_DEFERRED] = "deferred",
	[STAT_G_QUEUE_HOLD] = "hold",             [STAT_G_QUEUE_QUARANTINE] = "quarantine",
	[STAT_G_QUEUE_UNSCANNED] = "unscanned",
};

static int api_node_detail(struct buf *b, const struct nodeview *v, struct history *h)
{
	const struct hist_sample *s = &v->cur;
	uint64_t count = 0;
	int rc = buf_puts(b, ",\"totals\":{");

	for (int c = 0; rc == 0 && c < STAT__COUNT; c++)
		rc = buf_printf(b, "%s\"%s\":%" PRIu64, c ? "," : "", stats_counter_name(c),
				s->counters[c]);
	if (rc == 0)
		rc = buf_puts(b, "},\"queues\":{");
	for (int g = STAT_G_QUEUE_ACTIVE; rc == 0 && g <= STAT_G_QUEUE_UNSCANNED; g++)
		rc = buf_printf(b, "%s\"%s\":%" PRId64, g ? "," : "", api_queue_names[g],
				s->gauges[g]);
	if (rc == 0)
		rc = buf_printf(b, ",\"oldest_age\":%" PRId64 "},\"sessions\":%" PRId64,
				s->gauges[STAT_G_OLDEST_AGE], s->gauges[STAT_G_SESSIONS]);
	if (rc == 0)
		rc = buf_puts(b, ",\"latency\":{\"bounds_ms\":[");
	for (int i = 0; rc == 0 && i < STAT_LAT_BUCKETS - 1; i++)
		rc = buf_printf(b, "%s%g", i ? "," : "", (double)stats_latency_bounds_us[i] / 1000.0);
	if (rc == 0)
		rc = buf_puts(b, "],\"counts\":[");
	for (int i = 0; rc == 0 && i < STAT_LAT_BUCKETS; i++) {
		count += s->latency[i];
		rc = buf_printf(b, "%s%" PRIu64, i ? "," : "", s->latency[i]);
	}
	if (rc == 0)
		rc = buf_printf(b, "],\"count\":%" PRIu64 ",\"avg_ms\":%.3f}", count,
				count ? (double)s->latency_sum_us / (double)count / 1000.0 : 0.0);
	if (rc == 0)
		rc = buf_puts(b, ",\"processes\":[");
	for (int i = 0; rc == 0 && i < v->nprocs; i++) {
		const struct nodeview_proc *p = &v->procs[i];
		rc = buf_printf(b,
				"%s{\"kind\":\"%s\",\"index\":%d,\"pid\":%d,\"live\":%s,"
				"\"started\":%" PRIu64 ",\"heartbeat\":%" PRIu64
				",\"restarts\":%" PRIu64 "}",
				i ? "," : "", p->kind, p->index, p->pid, p->live ? "true" : "false",
				p->started, p->heartbeat, p->restarts);
	}
	if (rc == 0)
		rc = buf_puts(b, "],\"events\":[");
	struct hist_event ev[HIST_EVENTS];
	size_t nev = history_events(h, ev, HIST_EVENTS);
	for (size_t i = 0; rc == 0 && i < nev; i++) {
		rc = buf_printf(b, "%s{\"t\":%" PRIu64 ",\"text\":", i ? "," : "", ev[i].t);
		if (rc == 0)
			rc = json_str(b, ev[i].text);
		if (rc == 0)
			rc = buf_puts(b, "}");
	}
	return rc == 0 ? buf_puts(b, "]") : rc;
}

int api_node_json(struct buf *b, const struct nodeview *v, struct history *h, int detail)
{
	int rc = buf_puts(b, "{\"name\":");

	if (rc == 0)
		rc = json_str(b, v->name);
	if (rc == 0)
		rc = buf_puts(b, ",\"tower\":");
	if (rc == 0)
		rc = json_str(b, v->tower);
	if (rc == 0)
		rc = buf_puts(b, ",\"datacentre\":");
	if (rc == 0)
		rc = json_str(b, v->datacentre);
	if (rc == 0)
		rc = buf_printf(b, ",\"colour\":\"%s\",\"reason\":", colour_name(v->colour.colour));
	if (rc == 0)
		rc = json_str(b, v->colour.reason);
	if (rc == 0)
		rc = buf_printf(b,
				",\"flow\":%.3f,\"spec_msgs\":%" PRIu64 ",\"yellow_at\":%" PRIu64
				",\"delivered_rate\":%.3f,\"rejected_rate\":%.3f"
				",\"bytes_in_rate\":%.1f,\"bytes_out_rate\":%.1f"
				",\"last_report\":%" PRIu64 ",\"now\":%" PRIu64 ",\"boot\":%" PRIu64
				",\"maintenance\":%s,\"maintenance_since\":%" PRIu64
				",\"scan_live\":%u,\"scan_workers\":%" PRIu64 ",\"processes_live\":%u",
				v->msgs_rate, v->in.spec_msgs, v->in.yellow_at, v->delivered_rate,
				v->rejected_rate, v->bytes_in_rate, v->bytes_out_rate, v->in.last_report,
				v->now, v->boot, v->in.maintenance ? "true" : "false",
				v->maintenance_since, v->cur.scan_live, v->in.scan_configured,
				v->cur.procs_live);
	if (rc == 0 && detail)
		rc = api_node_detail(b, v, h);
	return rc == 0 ? buf_puts(b, "}") : rc;
}

int api_towers_json(struct buf *b, const struct nodeview *v)
{
	/* Single-node mode: one tower holding this node. */
	int rc = buf_puts(b, "\"towers\":[{\"name\":");

	if (rc == 0)
		rc = json_str(b, v->tower);
	if (rc == 0)
		rc = buf_printf(b, ",\"flow\":%.3f,\"spec_msgs\":%" PRIu64 ",\"nodes\":[", v->msgs_rate,
				v->in.spec_msgs);
	if (rc == 0)
		rc = api_node_json(b, v, NULL, 0);
	return rc == 0 ? buf_puts(b, "]}]") : rc;
}

static void api_status(struct web_state *w, struct web_reply *r, int detail)
{
	struct nodeview *v = malloc(sizeof *v);
	int rc;

	if (v == NULL) {
		web_reply_error(r, 500, "out of memory");
		return;
	}
	nodeview_build(v, w->cfg, w->seg, w->h, (uint64_t)time(NULL));
	rc = buf_puts(&r->body, "{");
	if (rc == 0 && detail) {
		rc = buf_puts(&r->body, "\"node\":");
		if (rc == 0)
			rc = api_node_json(&r->body, v, w->h, 1);
		if (rc == 0)
			rc = buf_puts(&r->body, ",");
	}
	if (rc == 0)
		rc = api_towers_json(&r->body, v);
	if (rc == 0)
		rc = buf_puts(&r->body, "}");
	if (rc != 0)
		web_reply_error(r, 500, "reply too large");
	free(v);
}

/* One series of per-second rates of a counter (or of messages when c < 0). */
static int api_series_rate(struct buf *b, const char *name, const struct hist_sample *s, size_t n,
			   int c)
{
	int rc = buf_printf(b, ",\"%s\":[", name);

	for (size_t i = 1; rc == 0 && i < n; i++) {
		uint64_t dt = s[i].t - s[i - 1].t;
		uint64_t a = c < 0 ? history_msgs(&s[i - 1]) : s[i - 1].counters[c];
		uint64_t bb = c < 0 ? history_msgs(&s[i]) : s[i].counters[c];
		rc = buf_printf(b, "%s%.4g", i > 1 ? "," : "",
				dt ? (double)history_delta(a, bb) / (double)dt : 0.0);
	}
	return rc == 0 ? buf_puts(b, "]") : rc;
}

static void api_history(struct web_state *w, const struct web_request *rq, struct web_reply *r)
{
	const char *res = rq->arg ? rq->arg(rq->conn, "res") : NULL;
	int minutes = res != NULL && strcmp(res, "1m") == 0;
	size_t max = minutes ? HIST_MINUTES : HIST_SECONDS;
	struct hist_sample *s = calloc(max, sizeof *s);
	struct buf *b = &r->body;
	int rc = 0;

	if (res != NULL && strcmp(res, "1s") != 0 && !minutes) {
		web_reply_error(r, 400, "res must be 1s or 1m");
		goto out;
	}
	if (s == NULL) {
		web_reply_error(r, 500, "out of memory");
		goto out;
	}
	uint64_t now = (uint64_t)time(NULL);
	uint64_t span = minutes ? (uint64_t)HIST_MINUTES * 60 : HIST_SECONDS;
	size_t n = history_get(w->h, minutes, now > span ? now - span : 0, s, max);

	rc = buf_printf(b, "{\"resolution\":%d,\"node\":", minutes ? 60 : 1);
	if (rc == 0)
		rc = json_str(b, w->cfg->node.name);
	if (rc == 0)
		rc = buf_puts(b, ",\"t\":[");
	for (size_t i = 1; rc == 0 && i < n; i++)
		rc = buf_printf(b, "%s%" PRIu64, i > 1 ? "," : "", s[i].t);
	if (rc == 0)
		rc = buf_puts(b, "]");
	static const struct {
		const char *name;
		int c;
	} rates[] = {
		{"msgs", -1},
		{"accepted", STAT_MSG_ACCEPTED},
		{"rejected", STAT_MSG_REJECTED},
		{"quarantined", STAT_MSG_QUARANTINED},
		{"delivered", STAT_MSG_DELIVERED},
		{"deferred", STAT_MSG_DEFERRED},
		{"bounced", STAT_MSG_BOUNCED},
		{"connections", STAT_CONNECTIONS},
	};
	for (size_t k = 0; rc == 0 && k < sizeof rates / sizeof rates[0]; k++)
		rc = api_series_rate(b, rates[k].name, s, n, rates[k].c);
	if (rc == 0)
		rc = buf_puts(b, ",\"queue\":[");
	for (size_t i = 1; rc == 0 && i < n; i++)
		rc = buf_printf(b, "%s%" PRId64, i > 1 ? "," : "",
				s[i].gauges[STAT_G_QUEUE_ACTIVE] + s[i].gauges[STAT_G_QUEUE_DEFERRED]);
	if (rc == 0)
		rc = buf_puts(b, "],\"oldest\":[");
	for (size_t i = 1; rc == 0 && i < n; i++)
		rc = buf_printf(b, "%s%" PRId64, i > 1 ? "," : "", s[i].gauges[STAT_G_OLDEST_AGE]);
	if (rc == 0)
		rc = buf_puts(b, "],\"latency_ms\":[");
	for (size_t i = 1; rc == 0 && i < n; i++) {
		uint64_t c0 = 0, c1 = 0;
		for (int k = 0; k < STAT_LAT_BUCKETS; k++) {
			c0 += s[i - 1].latency[k];
			c1 += s[i].latency[k];
		}
		uint64_t dc = history_delta(c0, c1);
		uint64_t ds = history_delta(s[i - 1].latency_sum_us, s[i].latency_sum_us);
		rc = buf_printf(b, "%s%.4g", i > 1 ? "," : "", dc ? (double)ds / (double)dc / 1000.0 : 0.0);
	}
	if (rc == 0)
		rc = buf_puts(b, "],\"colour\":[");
	for (size_t i = 1; rc == 0 && i < n; i++)
		rc = buf_printf(b, "%s\"%s\"", i > 1 ? "," : "", colour_name(s[i].colour));
	/* Bandwidth per link: this node's datacentre is its link. */
	if (rc == 0)
		rc = buf_puts(b, "],\"links\":{");
	if (rc == 0)
		rc = json_str(b, w->cfg->node.datacentre);
	if (rc == 0)
		rc = buf_puts(b, ":{\"t\":0");
	if (rc == 0)
		rc = api_series_rate(b, "in", s, n, STAT_BYTES_IN);
	if (rc == 0)
		rc = api_series_rate(b, "out", s, n, STAT_BYTES_OUT);
	if (rc == 0)
		rc = buf_puts(b, "}}}");
	if (rc != 0)
		web_reply_error(r, 500, "reply too large");
out:
	free(s);
}

static void api_login(struct web_state *w, const struct web_request *rq, struct web_reply *r)
{
	char given[TOKEN_LEN + 2], cookie[AUTH_COOKIE_MAX];

	if (strcmp(rq->method, "POST") != 0) {
		web_reply_error(r, 405, "POST only");
		return;
	}
	if (json_find_str(rq->body, rq->body_len, "token", given, sizeof given) < 0 ||
	    !token_check(w->token, given, strlen(given))) {
		web_reply_error(r, 401, "bad token");
		return;
	}
	if (auth_session_make(w->token, (uint64_t)time(NULL), cookie) < 0) {
		web_reply_error(r, 500, "cannot make a session");
		return;
	}
	snprintf(r->set_cookie, sizeof r->set_cookie,
		 AUTH_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d", cookie,
		 AUTH_SESSION_SECONDS);
	buf_puts(&r->body, "{\"ok\":true}");
}

static void api_maintenance(struct web_state *w, const struct web_request *rq, struct web_reply *r)
{
	char on[8];
	int want;

	if (strcmp(rq->method, "POST") != 0) {
		web_reply_error(r, 405, "POST only");
		return;
	}
	if (json_find_str(rq->body, rq->body_len, "on", on, sizeof on) < 0) {
		web_reply_error(r, 400, "want {\"on\": true|false}");
		return;
	}
	if (strcmp(on, "true") == 0 || strcmp(on, "on") == 0 || strcmp(on, "1") == 0)
		want = 1;
	else if (strcmp(on, "false") == 0 || strcmp(on, "off") == 0 || strcmp(on, "0") == 0)
		want = 0;
	else {
		web_reply_error(r, 400, "want {\"on\": true|false}");
		return;
	}
	int rc = maintenance_set(w->cfg, want);
	if (rc < 0) {
		log_warn("maintenance: cannot set: %s", strerror(-rc));
		web_reply_error(r, 500, "cannot save the flag");
		return;
	}
	log_info("maintenance %s (API)", want ? "on" : "off");
	buf_printf(&r->body, "{\"maintenance\":%s}", want ? "true" : "false");
}

void api_handle(struct web_state *w, const struct web_request *rq, struct web_reply *r)
{
	const char *p = rq->path;
	int get = strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0;

	if (strcmp(p, "/api/v1/login") == 0) {
		api_login(w, rq, r);
	} else if (strcmp(p, "/api/v1/logout") == 0) {
		snprintf(r->set_cookie, sizeof r->set_cookie,
			 AUTH_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
		buf_puts(&r->body, "{\"ok\":true}");
	} else if (strcmp(p, "/api/v1/maintenance") == 0) {
		api_maintenance(w, rq, r);
	} else if (strcmp(p, "/api/v1/status") == 0 || strcmp(p, "/api/v1/nodes") == 0 ||
		   strcmp(p, "/api/v1/history") == 0) {
		if (!get)
			web_reply_error(r, 405, "GET only");
		else if (strcmp(p, "/api/v1/history") == 0)
			api_history(w, rq, r);
		else
			api_status(w, r, strcmp(p, "/api/v1/status") == 0);
	} else if (!mailapi_handle(w, rq, r)) {
		web_reply_error(r, 404, "no such endpoint");
	}
}
