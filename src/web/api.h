/*
 * api - the JSON API under /api/v1/ and the request/reply shapes the HTTP server hands to it.
 *
 *   GET  /api/v1/status               this node in detail, and the towers
 *   GET  /api/v1/nodes                the towers and their nodes (colour, reason, flow, spec)
 *   GET  /api/v1/history?res=1s|1m    rates and gauges over time (15 min / 48 h), per link
 *   POST /api/v1/login                {"token": "..."} -> session cookie (no auth needed)
 *   POST /api/v1/logout               clears the cookie
 *   POST /api/v1/maintenance          {"on": true|false}
 *   and the mail pages' endpoints in mailapi.h.
 *
 * The server has checked the token before anything here runs (except login). Nothing here
 * writes a secret into a reply.
 */
#ifndef MX_WEB_API_H
#define MX_WEB_API_H

#include "core/buf.h"
#include "core/config.h"
#include "core/stats.h"
#include "core/token.h"
#include "web/auth.h"
#include "web/history.h"
#include "web/nodeview.h"

#include <stddef.h>

/* A JSON reply is at most this big: 48 h of minute samples in a dozen series fits with room. */
#define API_REPLY_MAX (4 * 1024 * 1024)

struct queue;
struct tracking;

struct web_state {
	const struct config *cfg;
	const struct stat_segment *seg;
	struct history *h;
	char token[TOKEN_LEN + 1];
	/* Opened on first use and kept (the API runs on one thread): opening the tracking
	 * database (schema, WAL) on every request cost more than the request. */
	struct queue *q;
	struct tracking *trk;
};

struct web_request {
	const char *method;
	const char *path;
	const char *body;
	size_t body_len;
	/* A query argument's value, or NULL. */
	const char *(*arg)(void *conn, const char *name);
	void *conn;
	int via_cookie; /* authenticated by the session cookie (not a bearer token) */
};

struct web_reply {
	int status;
	const char *type;
	struct buf body;
	char set_cookie[AUTH_COOKIE_MAX + 128]; /* a Set-Cookie value, "" for none */
};

void web_reply_init(struct web_reply *r);
/* Set status and a {"error": msg} body. */
void web_reply_error(struct web_reply *r, int status, const char *msg);

/* Answer one /api/v1/ request; r->status 404 when the path is not ours. */
void api_handle(struct web_state *w, const struct web_request *rq, struct web_reply *r);

/* A node as JSON: the summary the overview needs, or (detail) everything the server page shows. */
int api_node_json(struct buf *b, const struct nodeview *v, struct history *h, int detail);
/* {"towers":[...]} body part: "towers":[...] without the braces. */
int api_towers_json(struct buf *b, const struct nodeview *v);

#endif
