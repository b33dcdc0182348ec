/*
 * token - see token.h.
 */
#include "core/token.h"

#include "core/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int token_ensure(const struct config *cfg, char *out)
{
	char path[CONFIG_PATH + 16];
	unsigned char raw[TOKEN_LEN / 2];
	size_t len = 0;
	char *p;
	int r;

	if (config_path(cfg, "api.token", path, sizeof path) < 0)
		return -ENAMETOOLONG;
	p = fs_read_file(path, 4096, &len);
	if (p) {
		while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
			len--;
		if (len == TOKEN_LEN) {
			memcpy(out, p, TOKEN_LEN);
			out[TOKEN_LEN] = '\0';
			free(p);
			return 0;
		}
		free(p);
	}
	if (RAND_bytes(raw, sizeof raw) != 1)
		return -EIO;
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	out[TOKEN_LEN] = '\0';
	r = fs_mkdir_p(cfg->home, 0755);
	if (r < 0)
		return r;
	{
		char line[TOKEN_LEN + 2];

		memcpy(line, out, TOKEN_LEN);
		line[TOKEN_LEN] = '\n';
		r = fs_write_atomic(path, line, TOKEN_LEN + 1, 0600);
	}
	OPENSSL_cleanse(raw, sizeof raw);
	return r;
}

int token_check(const char *token, const char *p, size_t len)
{
	size_t n = strlen(token);

	if (len != n || n == 0)
		return 0;
	return CRYPTO_memcmp(token, p, n) == 0;
}
