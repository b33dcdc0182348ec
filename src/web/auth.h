/*
 * auth - who may use the API: a request carries the node's API token as
 * "Authorization: Bearer TOKEN", or the session cookie that POST /api/v1/login gave for it.
 *
 * The cookie is "EXPIRY.MAC" with MAC = HMAC-SHA256(token, "mxtower-session:" EXPIRY) in hex:
 * stateless, so it survives a restart of the web process, stops working when the token changes,
 * and never contains the token itself. Every comparison is constant-time.
 */
#ifndef MX_WEB_AUTH_H
#define MX_WEB_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_COOKIE "mxtower_session"
/* An operator's shift and a half: the NOC screen stays logged in, a stolen cookie does not last. */
#define AUTH_SESSION_SECONDS (12 * 3600)
/* "EXPIRY.MAC": 20 digits, a dot, 64 hex digits, NUL. */
#define AUTH_COOKIE_MAX 96

/* A session cookie value for token, valid until now + AUTH_SESSION_SECONDS. 0 or -EIO. */
int auth_session_make(const char *token, uint64_t now, char out[AUTH_COOKIE_MAX]);
/* 1 if the cookie value is a live session for token. */
int auth_session_check(const char *token, const char *cookie, uint64_t now);
/* 1 if the Authorization header value is "Bearer TOKEN" with the right token. */
int auth_bearer_check(const char *token, const char *authorization);

#endif
