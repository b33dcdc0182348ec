/*
 * json - escaping writer and a tiny flat-object lookup for request bodies (see json.h).
 */
#include "web/json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int json_strn(struct buf *b, const char *s, size_t len)
{
	int rc = buf_puts(b, "\"");

	for (size_t i = 0; rc == 0 && i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};
			rc = buf_append(b, esc, 2);
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f) {
			rc = buf_printf(b, "\\u%04x", c);
		} else {
			rc = buf_append(b, &s[i], 1);
		}
	}
	return rc == 0 ? buf_puts(b, "\"") : rc;
}

int json_str(struct buf *b, const char *s)
{
	return json_strn(b, s, strlen(s));
}

int json_key(struct buf *b, const char *key)
{
	int rc = json_str(b, key);

	return rc == 0 ? buf_puts(b, ":") : rc;
}

int json_field(struct buf *b, const char *key, const char *value)
{
	int rc = buf_puts(b, ",");

	if (rc == 0)
		rc = json_key(b, key);
	return rc == 0 ? json_str(b, value ? value : "") : rc;
}

static int json_copy(const char *p, size_t n, char *out, size_t outsz)
{
	if (n + 1 > outsz)
		return -E2BIG;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int json_find_str(const char *body, size_t len, const char *key, char *out, size_t outsz)
{
	size_t klen = strlen(key);

	/* JSON: "key" <ws> : <ws> "value" */
	for (size_t i = 0; i + klen + 2 <= len; i++) {
		if (body[i] != '"' || memcmp(body + i + 1, key, klen) != 0 || body[i + 1 + klen] != '"')
			continue;
		size_t j = i + klen + 2;
		while (j < len && (body[j] == ' ' || body[j] == '\t' || body[j] == '\n' || body[j] == '\r'))
			j++;
		if (j >= len || body[j] != ':')
			continue;
		j++;
		while (j < len && (body[j] == ' ' || body[j] == '\t' || body[j] == '\n' || body[j] == '\r'))
			j++;
		if (j >= len)
			return -ENOENT;
		if (body[j] != '"') { /* a bare literal: true/false/number */
			size_t k = j;
			while (k < len && body[k] != ',' && body[k] != '}' && body[k] != ' ')
				k++;
			return json_copy(body + j, k - j, out, outsz);
		}
		size_t k = j + 1;
		while (k < len && body[k] != '"' && body[k] != '\\')
			k++;
		if (k >= len || body[k] != '"')
			return -EINVAL;
		return json_copy(body + j + 1, k - j - 1, out, outsz);
	}
	/* Form: key=value&... */
	for (size_t i = 0; i + klen + 1 <= len; i++) {
		if ((i == 0 || body[i - 1] == '&') && memcmp(body + i, key, klen) == 0 &&
		    body[i + klen] == '=') {
			size_t j = i + klen + 1, k = j;
			while (k < len && body[k] != '&')
				k++;
			return json_copy(body + j, k - j, out, outsz);
		}
	}
	return -ENOENT;
}
