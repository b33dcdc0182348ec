/*
 * token - the node's API token: 32 random bytes as 64 hex digits in <home>/api.token (0600),
 * made at first use. Compared in constant time. Never logged.
 */
#ifndef MX_CORE_TOKEN_H
#define MX_CORE_TOKEN_H

#include "core/config.h"

#include <stddef.h>

#define TOKEN_LEN 64

/* Read the token, creating it if missing. out holds TOKEN_LEN + 1. 0 or -errno. */
int token_ensure(const struct config *cfg, char *out);
/* Constant-time: 1 when the given (p, len) equals the token. */
int token_check(const char *token, const char *p, size_t len);

#endif
