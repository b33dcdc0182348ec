/*
 * fuzz_http_json - what the HTTP API takes from a client, on arbitrary bytes: the request body
 * (json_find_str, login and maintenance), the query arguments (history's res, tracking's q, id,
 * sender, rcpt, since, until), the path (the quarantine's /ID/release|delete and any other
 * path), the Authorization header (auth_bearer_check) and the session cookie
 * (auth_session_check). Each request goes through api_handle as the server hands it over, on a
 * throwaway home under /dev/shm (or $TMPDIR) with a real history ring, queue and tracking
 * database, so every endpoint runs to the end.
 *
 * Input: byte 0 = method, byte 1 = endpoint (an index into fz_paths), then five fields cut at
 * NUL bytes: path tail, query string (a=b&c=d), body, cookie value, Authorization value.
 *
 * Invariants: every reply body is well-formed JSON; no reply carries the token; a status is a
 * real HTTP status; json_find_str returns a value that fits and came from the body; a bearer
 * header passes only with the token itself; a cookie passes only if it is exactly the one
 * auth_session_make gives for its expiry.
 */
#include "core/config.h"
#include "core/log.h"
#include "web/api.h"
#include "web/auth.h"
#include "web/history.h"
#include "web/json.h"
#include "web/mailapi.h"

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The token of the fuzzed node: fixed, so that seeds can hold it and reach the login paths. */
static const char fz_token[] =
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static const char *const fz_methods[] = {"GET", "POST", "HEAD", "PUT"};
static const char *const fz_paths[] = {
	"", /* the path is the tail alone */
	"/api/v1/login",      "/api/v1/logout",     "/api/v1/maintenance", "/api/v1/status",
	"/api/v1/nodes",      "/api/v1/history",    "/api/v1/quarantine/", "/api/v1/quarantine",
	"/api/v1/stuck",      "/api/v1/tracking",   "/api/v1/suspects",    "/api/v1/signatures",
};
#define FZ_NPATHS (sizeof fz_paths / sizeof fz_paths[0])
/* A query string holds at most this many arguments; the endpoints read fewer. */
#define FZ_ARGS 16

static struct config fz_cfg;
static struct history *fz_hist;

struct fz_query {
	char *name[FZ_ARGS], *value[FZ_ARGS];
	size_t n;
};

/* ---- a strict JSON checker (RFC 8259), for the replies ---- */

static int js_value(const char **p, const char *end, int depth);

static void js_ws(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r'))
		(*p)++;
}

static int js_string(const char **p, const char *end)
{
	if (*p >= end || **p != '"')
		return -1;
	for ((*p)++; *p < end; (*p)++) {
		unsigned char c = (unsigned char)**p;
		if (c == '"') {
			(*p)++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (++*p >= end)
				return -1;
			if (**p == 'u') {
				for (int i = 0; i < 4; i++)
					if (++*p >= end || strchr("0123456789abcdefABCDEF", **p) == NULL)
						return -1;
			} else if (strchr("\"\\/bfnrt", **p) == NULL) {
				return -1;
			}
		}
	}
	return -1;
}

static int js_number(const char **p, const char *end)
{
	const char *s = *p;

	if (*p < end && **p == '-')
		(*p)++;
	if (*p >= end || **p < '0' || **p > '9')
		return -1;
	while (*p < end && ((**p >= '0' && **p <= '9') || **p == '.' || **p == 'e' || **p == 'E' ||
			    **p == '+' || **p == '-'))
		(*p)++;
	return *p > s ? 0 : -1;
}

static int js_container(const char **p, const char *end, int depth, char close, int keyed)
{
	(*p)++;
	js_ws(p, end);
	if (*p < end && **p == close) {
		(*p)++;
		return 0;
	}
	for (;;) {
		js_ws(p, end);
		if (keyed) {
			if (js_string(p, end) < 0)
				return -1;
			js_ws(p, end);
			if (*p >= end || **p != ':')
				return -1;
			(*p)++;
		}
		if (js_value(p, end, depth + 1) < 0)
			return -1;
		js_ws(p, end);
		if (*p >= end)
			return -1;
		if (**p == close) {
			(*p)++;
			return 0;
		}
		if (**p != ',')
			return -1;
		(*p)++;
	}
}

static int js_value(const char **p, const char *end, int depth)
{
	static const char *const lits[] = {"true", "false", "null"};

	js_ws(p, end);
	if (*p >= end || depth > 64)
		return -1;
	switch (**p) {
	case '{': return js_container(p, end, depth, '}', 1);
	case '[': return js_container(p, end, depth, ']', 0);
	case '"': return js_string(p, end);
	default: break;
	}
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(lits[i]);
		if ((size_t)(end - *p) >= n && memcmp(*p, lits[i], n) == 0) {
			*p += n;
			return 0;
		}
	}
	return js_number(p, end);
}

static int js_valid(const char *s, size_t len)
{
	const char *p = s, *end = s + len;

	if (js_value(&p, end, 0) < 0)
		return 0;
	js_ws(&p, end);
	return p == end;
}

/* ---- the request ---- */

static const char *fz_arg(void *conn, const char *name)
{
	struct fz_query *q = conn;

	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->name[i], name) == 0)
			return q->value[i];
	return NULL;
}

/* Cut "a=b&c&d=" in place, as the server's library hands arguments over (no unescaping). */
static void fz_query_parse(struct fz_query *q, char *s)
{
	q->n = 0;
	while (*s != '\0' && q->n < FZ_ARGS) {
		char *amp = strchr(s, '&'), *eq;
		if (amp != NULL)
			*amp = '\0';
		eq = strchr(s, '=');
		if (eq != NULL)
			*eq = '\0';
		q->name[q->n] = s;
		q->value[q->n] = eq != NULL ? eq + 1 : s + strlen(s);
		q->n++;
		if (amp == NULL)
			break;
		s = amp + 1;
	}
}

/* The next NUL-terminated field of the input, or "" when it has run out. */
static char *fz_field(char **p, char *end)
{
	char *s = *p, *nul;

	if (s >= end)
		return end;
	nul = memchr(s, '\0', (size_t)(end - s) + 1); /* the copy ends in a NUL */
	*p = nul + 1;
	return s;
}

static void fz_check_json_find(const char *body, size_t len, const char *key)
{
	static const size_t sizes[] = {1, 2, 8, TOKEN_LEN + 2};

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char out[TOKEN_LEN + 2];
		int rc;

		memset(out, 'Z', sizeof out);
		rc = json_find_str(body, len, key, out, sizes[i]);
		if (sizes[i] < sizeof out && out[sizes[i]] != 'Z')
			abort(); /* wrote past outsz */
		if (rc == 0) {
			size_t n = strnlen(out, sizes[i]);
			if (n >= sizes[i] || memmem(body, len, out, n) == NULL)
				abort(); /* not terminated inside the buffer, or not from the body */
		} else if (rc != -ENOENT && rc != -E2BIG && rc != -EINVAL) {
			abort();
		}
	}
}

static void fz_check_auth(const char *cookie, const char *authz)
{
	uint64_t now = (uint64_t)time(NULL);

	if (auth_session_check(fz_token, cookie, now)) {
		char want[AUTH_COOKIE_MAX];
		unsigned long long expiry = strtoull(cookie, NULL, 10);

		if (auth_session_make(fz_token, expiry - AUTH_SESSION_SECONDS, want) < 0 ||
		    strcmp(want, cookie) != 0)
			abort(); /* a cookie we never made was taken */
	}
	if (auth_bearer_check(fz_token, authz) && strstr(authz, fz_token) == NULL)
		abort(); /* a bearer header without the token was taken */
}

static int fz_rm_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0; /* go on whatever one entry did */
}

/* At exit, the throwaway home goes (a crash leaves it, named on stderr). */
/* The API's queue and tracking handles live across inputs, as in the web process (opening
 * the tracking database per input made this target the slowest after fuzz_mime). */
static struct web_state fz_w;

static void fz_cleanup(void)
{
	mailapi_close(&fz_w);
	if (fz_hist != NULL)
		history_close(fz_hist);
	fz_hist = NULL;
	nftw(fz_cfg.home, fz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	char tmpl[256];

	(void)argc;
	(void)argv;
	snprintf(tmpl, sizeof tmpl, "%s/fuzz_http_json.XXXXXX", base != NULL ? base : "/tmp");
	if (mkdtemp(tmpl) == NULL) {
		perror("fuzz_http_json: mkdtemp");
		exit(1);
	}
	config_defaults(&fz_cfg);
	snprintf(fz_cfg.home, sizeof fz_cfg.home, "%s", tmpl);
	log_set_level(LOG_LEVEL_ERROR);
	fz_hist = history_open(&fz_cfg, 1);
	if (fz_hist == NULL) {
		fprintf(stderr, "fuzz_http_json: cannot open a history ring in %s\n", tmpl);
		exit(1);
	}
	atexit(fz_cleanup);
	fprintf(stderr, "fuzz_http_json: home %s\n", tmpl);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct web_state *wp = &fz_w;
	struct fz_query q;
	struct web_request rq;
	struct web_reply r;
	char *in, *p, *end, *tail, *query, *body, *cookie, *authz, path[512];
	size_t body_len;

	if (size < 2)
		return 0;
	/* A private copy, NUL-terminated, without slack: an overread hits ASan's redzone. */
	in = malloc(size - 2 + 1);
	if (in == NULL)
		return 0;
	memcpy(in, data + 2, size - 2);
	in[size - 2] = '\0';
	p = in;
	end = in + size - 2;
	tail = fz_field(&p, end);
	query = fz_field(&p, end);
	body = fz_field(&p, end);
	body_len = strlen(body);
	cookie = fz_field(&p, end);
	authz = fz_field(&p, end);

	/* The body as the server gives it: bytes with a length, NULs included up to the end. */
	if (p < end && body + body_len + 1 == p)
		body_len = (size_t)(end - body);

	fz_check_json_find(body, body_len, "token");
	fz_check_json_find(body, body_len, "on");
	fz_check_json_find(body, body_len, tail);
	fz_check_auth(cookie, authz);

	fz_w.cfg = &fz_cfg;
	fz_w.seg = NULL;
	fz_w.h = fz_hist;
	memcpy(fz_w.token, fz_token, sizeof fz_token);
	snprintf(path, sizeof path, "%s%s", fz_paths[data[1] % FZ_NPATHS], tail);
	fz_query_parse(&q, query);
	rq = (struct web_request){
		.method = fz_methods[data[0] % 4],
		.path = path,
		.body = body,
		.body_len = body_len,
		.arg = fz_arg,
		.conn = &q,
		.via_cookie = data[0] & 4,
	};
	web_reply_init(&r);
	api_handle(wp, &rq, &r);
	if (r.status < 100 || r.status > 599)
		abort();
	if (r.body.len > 0 && !js_valid(r.body.p, r.body.len))
		abort(); /* a reply that is not JSON */
	if ((r.body.len > 0 && memmem(r.body.p, r.body.len, fz_token, TOKEN_LEN) != NULL) ||
	    strstr(r.set_cookie, fz_token) != NULL)
		abort(); /* the token leaked into a reply */
	buf_free(&r.body);
	free(in);
	return 0;
}
