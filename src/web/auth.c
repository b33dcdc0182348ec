/*
 * auth - bearer token and session cookie checks (see auth.h).
 */
#include "web/auth.h"

#include "core/token.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AUTH_MAC_HEX 64

static int auth_mac(const char *token, uint64_t expiry, char hex[AUTH_MAC_HEX + 1])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char msg[64];
	int n = snprintf(msg, sizeof msg, "mxtower-session:%" PRIu64, expiry);

	if (HMAC(EVP_sha256(), token, (int)strlen(token), (const unsigned char *)msg, (size_t)n, mac,
		 &maclen) == NULL ||
	    maclen * 2 != AUTH_MAC_HEX)
		return -EIO;
	for (unsigned int i = 0; i < maclen; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	OPENSSL_cleanse(mac, sizeof mac);
	return 0;
}

int auth_session_make(const char *token, uint64_t now, char out[AUTH_COOKIE_MAX])
{
	char hex[AUTH_MAC_HEX + 1];
	uint64_t expiry = now + AUTH_SESSION_SECONDS;

	if (auth_mac(token, expiry, hex) < 0)
		return -EIO;
	snprintf(out, AUTH_COOKIE_MAX, "%" PRIu64 ".%s", expiry, hex);
	return 0;
}

int auth_session_check(const char *token, const char *cookie, uint64_t now)
{
	char hex[AUTH_MAC_HEX + 1];
	char *end;

	if (cookie == NULL || token == NULL || token[0] == '\0')
		return 0;
	errno = 0;
	unsigned long long expiry = strtoull(cookie, &end, 10);
	if (errno != 0 || end == cookie || *end != '.' || expiry < now ||
	    expiry > now + AUTH_SESSION_SECONDS)
		return 0;
	if (strlen(end + 1) != AUTH_MAC_HEX || auth_mac(token, expiry, hex) < 0)
		return 0;
	return CRYPTO_memcmp(hex, end + 1, AUTH_MAC_HEX) == 0;
}

int auth_bearer_check(const char *token, const char *authorization)
{
	static const char scheme[] = "Bearer ";

	if (authorization == NULL || strncasecmp(authorization, scheme, sizeof scheme - 1) != 0)
		return 0;
	const char *p = authorization + sizeof scheme - 1;
	while (*p == ' ')
		p++;
	size_t len = strlen(p);
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	return token_check(token, p, len);
}
