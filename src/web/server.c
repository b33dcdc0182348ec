/*
 * server - the web process: libmicrohttpd on the master's listening socket, the HTTP limits,
 * authentication in front of every API request, the embedded page, and the once-a-second
 * sampler on the main thread.
 *
 * Threads: MHD runs one internal polling thread that answers every request (so the rate table
 * needs no lock); the main thread samples the stats segment into the history (which has its
 * own mutex) and handles signals (SIGTERM/SIGINT: stop; SIGHUP: nothing to reload here).
 *
 * Limits, each answered with its status code and nothing changed:
 *   header block > WEB_CONN_MEMORY        431 (MHD answers it itself)
 *   body > WEB_BODY_MAX                   413
 *   > WEB_RATE_BURST requests from one address faster than WEB_RATE_PER_SEC   429
 *   no or bad token/cookie                401; a cookie-authenticated write without the
 *                                         X-Mxtower-Csrf header   403
 */
#include "web/web.h"

#include "core/log.h"
#include "core/stats.h"
#include "core/token.h"
#include "web/api.h"
#include "web/mailapi.h"
#include "web/auth.h"
#include "web/metrics.h"
#include "web/sampler.h"
#include "web/static.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Request line + headers: a browser's are under 8 KiB; MHD needs room for its own buffers. */
#define WEB_CONN_MEMORY (32 * 1024)
/* The largest body we take: a login or a maintenance flag is a few bytes. */
#define WEB_BODY_MAX (16 * 1024)
/* A dashboard polls ~3 requests every 2 s; a page load is ~6. 20/s with a burst of 100 leaves
 * room for several screens behind one NAT address and stops a token-guessing loop cold. */
#define WEB_RATE_PER_SEC 20.0
#define WEB_RATE_BURST 100.0
/* Addresses tracked for the rate limit; the least recently seen is replaced. */
#define WEB_RATE_SLOTS 256
/* A NOC wall of screens plus a Prometheus or two; more is a flood, and each costs a buffer. */
#define WEB_MAX_CONNS 128
/* A browser opens at most 6 per origin; 32 leaves room for several tabs behind one address. */
#define WEB_MAX_CONNS_PER_IP 32
/* Wake this far past a second boundary: clears timer slack and coarse clocks. */
#define WEB_TICK_SLACK_NS 20000000L
/* Idle keep-alive connections are closed after this many seconds. */
#define WEB_CONN_TIMEOUT 30

struct web_rate {
	unsigned char addr[16];
	double tokens;
	double last;
	int used;
};

struct web_conn {
	struct buf body;
	int too_big;
};

static struct web_state web;
static struct web_rate web_rates[WEB_RATE_SLOTS];
static volatile sig_atomic_t web_stop;

static double web_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The client address as 16 bytes (IPv4 mapped), for the rate table. */
static void web_client_addr(struct MHD_Connection *c, unsigned char out[16])
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	memset(out, 0, 16);
	if (ci == NULL || ci->client_addr == NULL)
		return;
	if (ci->client_addr->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ci->client_addr;
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &sin->sin_addr, 4);
	} else if (ci->client_addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ci->client_addr;
		memcpy(out, &sin6->sin6_addr, 16);
	}
}

/* Token bucket per address: 1 when this request may go on. */
static int web_rate_allow(const unsigned char addr[16])
{
	double now = web_now();
	struct web_rate *slot = NULL, *oldest = &web_rates[0];

	for (int i = 0; i < WEB_RATE_SLOTS; i++) {
		struct web_rate *r = &web_rates[i];
		if (r->used && memcmp(r->addr, addr, 16) == 0) {
			slot = r;
			break;
		}
		if (!r->used || r->last < oldest->last)
			oldest = r;
	}
	if (slot == NULL) {
		slot = oldest;
		memcpy(slot->addr, addr, 16);
		slot->tokens = WEB_RATE_BURST;
		slot->last = now;
		slot->used = 1;
	}
	slot->tokens += (now - slot->last) * WEB_RATE_PER_SEC;
	if (slot->tokens > WEB_RATE_BURST)
		slot->tokens = WEB_RATE_BURST;
	slot->last = now;
	if (slot->tokens < 1.0)
		return 0;
	slot->tokens -= 1.0;
	return 1;
}

static void web_headers(struct MHD_Response *resp, const char *type)
{
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'self'; img-src 'self' data:; script-src 'self'; "
				"style-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
				"form-action 'self'; base-uri 'none'");
}

static enum MHD_Result web_send(struct MHD_Connection *c, int status, const char *type,
				const void *p, size_t len, const char *set_cookie)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)p, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (resp == NULL)
		return MHD_NO;
	web_headers(resp, type);
	if (set_cookie != NULL && set_cookie[0] != '\0')
		MHD_add_response_header(resp, "Set-Cookie", set_cookie);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"mxtower\"");
	if (status == MHD_HTTP_TOO_MANY_REQUESTS)
		MHD_add_response_header(resp, "Retry-After", "1");
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result web_send_error(struct MHD_Connection *c, int status, const char *msg)
{
	char body[160];
	int n = snprintf(body, sizeof body, "{\"error\":\"%s\"}", msg);

	return web_send(c, status, "application/json", body, (size_t)n, NULL);
}

static const char *web_arg(void *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

/* 1 bearer, 2 cookie, 0 neither. */
static int web_authenticated(struct MHD_Connection *c)
{
	const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, AUTH_COOKIE);

	if (authz != NULL)
		return auth_bearer_check(web.token, authz) ? 1 : 0;
	if (cookie != NULL && auth_session_check(web.token, cookie, (uint64_t)time(NULL)))
		return 2;
	return 0;
}

static enum MHD_Result web_metrics(struct MHD_Connection *c)
{
	struct nodeview *v = malloc(sizeof *v);
	struct buf b;
	enum MHD_Result ret;

	if (v == NULL)
		return web_send_error(c, 500, "out of memory");
	nodeview_build(v, web.cfg, web.seg, web.h, (uint64_t)time(NULL));
	buf_init(&b, API_REPLY_MAX);
	if (metrics_render(&b, v) < 0)
		ret = web_send_error(c, 500, "metrics too large");
	else
		ret = web_send(c, 200, "text/plain; version=0.0.4; charset=utf-8", b.p ? b.p : "",
			       b.len, NULL);
	buf_free(&b);
	free(v);
	return ret;
}

static enum MHD_Result web_route(struct MHD_Connection *c, const char *url, const char *method,
				 struct web_conn *wc)
{
	int is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

	if (wc->too_big)
		return web_send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "body too large");
	if (strncmp(url, "/api/", 5) != 0 && strcmp(url, "/metrics") != 0) {
		const struct web_static_file *f = web_static_find(url);
		if (f == NULL)
			return web_send_error(c, 404, "not found");
		if (!is_get)
			return web_send_error(c, 405, "GET only");
		return web_send(c, 200, f->type, f->data, f->len, NULL);
	}
	int how = 0;
	if (strcmp(url, "/api/v1/login") != 0) {
		how = web_authenticated(c);
		if (how == 0) {
			char ip[INET6_ADDRSTRLEN] = "?";
			unsigned char a[16];
			web_client_addr(c, a);
			inet_ntop(AF_INET6, a, ip, sizeof ip);
			log_info("http: 401 %s %s from %s", method, url, ip);
			return web_send_error(c, MHD_HTTP_UNAUTHORIZED, "token required");
		}
		/* A cookie rides along with any cross-site request; a custom header cannot. */
		if (how == 2 && !is_get &&
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Mxtower-Csrf") == NULL)
			return web_send_error(c, MHD_HTTP_FORBIDDEN, "missing X-Mxtower-Csrf header");
	}
	if (strcmp(url, "/metrics") == 0)
		return is_get ? web_metrics(c) : web_send_error(c, 405, "GET only");

	struct web_request rq = {
		.method = method,
		.path = url,
		.body = wc->body.p ? wc->body.p : "",
		.body_len = wc->body.len,
		.arg = web_arg,
		.conn = c,
		.via_cookie = how == 2,
	};
	struct web_reply r;
	web_reply_init(&r);
	api_handle(&web, &rq, &r);
	enum MHD_Result ret =
		web_send(c, r.status, r.type, r.body.p ? r.body.p : "", r.body.len, r.set_cookie);
	buf_free(&r.body);
	return ret;
}

static enum MHD_Result web_answer(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct web_conn *wc = *con_cls;

	(void)cls;
	(void)version;
	if (wc == NULL) {
		unsigned char addr[16];
		web_client_addr(c, addr);
		if (!web_rate_allow(addr))
			return web_send_error(c, MHD_HTTP_TOO_MANY_REQUESTS, "slow down");
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl != NULL && strtoull(cl, NULL, 10) > WEB_BODY_MAX)
			return web_send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "body too large");
		wc = calloc(1, sizeof *wc);
		if (wc == NULL)
			return MHD_NO;
		buf_init(&wc->body, WEB_BODY_MAX);
		*con_cls = wc;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!wc->too_big && buf_append(&wc->body, upload_data, *upload_data_size) < 0)
			wc->too_big = 1;
		*upload_data_size = 0;
		return MHD_YES;
	}
	return web_route(c, url, method, wc);
}

static void web_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			  enum MHD_RequestTerminationCode toe)
{
	struct web_conn *wc = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (wc != NULL) {
		buf_free(&wc->body);
		free(wc);
		*con_cls = NULL;
	}
}

static void web_on_signal(int sig)
{
	if (sig == SIGTERM || sig == SIGINT)
		web_stop = 1;
}

static void web_signals(sigset_t *blocked)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = web_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(blocked);
	sigaddset(blocked, SIGTERM);
	sigaddset(blocked, SIGINT);
	sigaddset(blocked, SIGHUP);
}

int web_main(const struct config *cfg, int listen_fd)
{
	struct stat_segment *seg = NULL;
	struct MHD_Daemon *d = NULL;
	struct sampler sampler;
	sigset_t sigs;
	int rc = 1;

	log_set_proc("web");
	web_signals(&sigs);
	memset(&web, 0, sizeof web);
	web.cfg = cfg;
	if (token_ensure(cfg, web.token) < 0) {
		log_error("web: cannot read or make the API token");
		return 1;
	}
	web.h = history_open(cfg, 1);
	if (web.h == NULL)
		log_warn("web: no history file; graphs start empty");
	seg = stats_map(cfg, 0);
	if (seg != NULL)
		stats_claim(seg, "web", 0);
	web.seg = seg;

	/* The MHD thread inherits a mask without our signals: they land on the main thread. */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
			     web_answer, NULL, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)WEB_CONN_MEMORY,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)WEB_MAX_CONNS,
			     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)WEB_MAX_CONNS_PER_IP,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)WEB_CONN_TIMEOUT,
			     MHD_OPTION_NOTIFY_COMPLETED, web_completed, NULL, MHD_OPTION_END);
	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
	if (d == NULL) {
		log_error("web: cannot start the HTTP server on fd %d", listen_fd);
		goto out;
	}
	log_info("web: serving on fd %d", listen_fd);

	sampler_init(&sampler);
	while (!web_stop) {
		/* One clock for "which second" and "how long to the next": time() may be coarser. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t now = (uint64_t)ts.tv_sec;
		if (web.seg == NULL) { /* the master may map it after forking us */
			seg = stats_map(cfg, 0);
			if (seg != NULL) {
				stats_claim(seg, "web", 0);
				web.seg = seg;
			}
		}
		stats_heartbeat();
		sampler_tick(&sampler, cfg, web.seg, web.h, now);
		/* Sleep to just past the next whole second, so samples land one per second. */
		clock_gettime(CLOCK_REALTIME, &ts);
		struct timespec nap = {0, 1000000000L - ts.tv_nsec + WEB_TICK_SLACK_NS};
		if (nap.tv_nsec >= 1000000000L) {
			nap.tv_sec = 1;
			nap.tv_nsec -= 1000000000L;
		}
		nanosleep(&nap, NULL);
	}
	log_info("web: stopping");
	rc = 0;
out:
	if (d != NULL)
		MHD_stop_daemon(d);
	mailapi_close(&web);
	history_close(web.h);
	return rc;
}
