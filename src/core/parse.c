/*
 * parse - see parse.h.
 */
#include "core/parse.h"

#include <errno.h>
#include <string.h>

int parse_u64_n(const char *p, size_t len, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		d = (unsigned)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	return parse_u64_n(s, strlen(s), min, max, out);
}

static int parse_suffixed(const char *s, const char *suffixes, const uint64_t *mult,
			  uint64_t *out)
{
	size_t n = strlen(s);
	uint64_t m = 1, v;
	const char *k;
	int r;

	if (n == 0)
		return -EINVAL;
	k = strchr(suffixes, s[n - 1] | 0x20);
	if (s[n - 1] >= 'A' && k != NULL) {
		m = mult[k - suffixes];
		n--;
	}
	r = parse_u64_n(s, n, 0, UINT64_MAX, &v);
	if (r < 0)
		return r;
	if (m != 1 && v > UINT64_MAX / m)
		return -ERANGE;
	*out = v * m;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	static const uint64_t mult[] = {1024ULL, 1024ULL * 1024, 1024ULL * 1024 * 1024};

	return parse_suffixed(s, "kmg", mult, out);
}

int parse_duration(const char *s, uint64_t *out)
{
	static const uint64_t mult[] = {1, 60, 3600, 86400};

	return parse_suffixed(s, "smhd", mult, out);
}

int parse_hostport(const char *s, char *host, size_t hostsz, uint16_t *port)
{
	const char *h = s, *colon;
	size_t hl;
	uint64_t p;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (end == NULL || end[1] != ':')
			return -EINVAL;
		h = s + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -EINVAL;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostsz)
		return -EINVAL;
	if (parse_u64(colon + 1, 1, 65535, &p) < 0)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return 0;
}
