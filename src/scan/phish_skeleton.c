/*
 * phish_skeleton - what a domain name looks like, reduced to ASCII: punycode (RFC 3492)
 * labels decoded, confusable characters mapped (phish_confusables.c), and the multi-letter
 * look-alikes of plain ASCII folded ("rn" -> "m", "vv" -> "w", "0" -> "o", "1" -> "l"). Two
 * names with the same skeleton look the same to a reader.
 */
#include "scan/phish.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* RFC 3492 parameters for IDNA. */
#define PUNY_BASE 36
#define PUNY_TMIN 1
#define PUNY_TMAX 26
#define PUNY_SKEW 38
#define PUNY_DAMP 700
#define PUNY_BIAS 72
#define PUNY_N 128

static uint32_t puny_adapt(uint32_t delta, uint32_t npoints, int first)
{
	uint32_t k = 0;

	delta = first ? delta / PUNY_DAMP : delta / 2;
	delta += delta / npoints;
	while (delta > ((PUNY_BASE - PUNY_TMIN) * PUNY_TMAX) / 2) {
		delta /= PUNY_BASE - PUNY_TMIN;
		k += PUNY_BASE;
	}
	return k + (PUNY_BASE - PUNY_TMIN + 1) * delta / (delta + PUNY_SKEW);
}

static int puny_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0' + 26;
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	return -1;
}

static size_t utf8_put(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

int phish_punycode_decode(const char *p, size_t len, char *out, size_t outsz)
{
	uint32_t cps[PHISH_LABEL_MAX], n = PUNY_N, i = 0, bias = PUNY_BIAS;
	size_t ncp = 0, b = 0, in, o = 0;

	for (size_t j = 0; j < len; j++)
		if (p[j] == '-')
			b = j;
	if (b > PHISH_LABEL_MAX)
		return -EINVAL;
	for (size_t j = 0; j < b; j++) {
		if ((unsigned char)p[j] >= 0x80)
			return -EINVAL;
		cps[ncp++] = (unsigned char)p[j];
	}
	for (in = b > 0 ? b + 1 : 0; in < len;) {
		uint32_t oldi = i, w = 1;

		for (uint32_t k = PUNY_BASE;; k += PUNY_BASE) {
			int d;
			uint32_t t;

			if (in >= len || (d = puny_digit(p[in++])) < 0)
				return -EINVAL;
			if ((uint32_t)d > (UINT32_MAX - i) / w)
				return -EINVAL;
			i += (uint32_t)d * w;
			t = k <= bias ? PUNY_TMIN : k >= bias + PUNY_TMAX ? PUNY_TMAX : k - bias;
			if ((uint32_t)d < t)
				break;
			if (w > UINT32_MAX / (PUNY_BASE - t))
				return -EINVAL;
			w *= PUNY_BASE - t;
		}
		if (ncp >= PHISH_LABEL_MAX)
			return -EINVAL;
		bias = puny_adapt(i - oldi, (uint32_t)ncp + 1, oldi == 0);
		if (i / (ncp + 1) > 0x10FFFF - n)
			return -EINVAL;
		n += i / (uint32_t)(ncp + 1);
		i %= (uint32_t)(ncp + 1);
		memmove(&cps[i + 1], &cps[i], (ncp - i) * sizeof cps[0]);
		cps[i++] = n;
		ncp++;
	}
	for (size_t j = 0; j < ncp; j++) {
		if (o + 5 > outsz)
			return -EINVAL;
		o += utf8_put(cps[j], out + o);
	}
	if (o >= outsz)
		return -EINVAL;
	out[o] = '\0';
	return 0;
}

/* Next UTF-8 code point of s (advances *s); invalid bytes come back as 0xFFFD. */
static uint32_t utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	uint32_t cp;
	int n;

	if (p[0] < 0x80) {
		*s = p + 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0) {
		cp = p[0] & 0x1f;
		n = 1;
	} else if ((p[0] & 0xf0) == 0xe0) {
		cp = p[0] & 0x0f;
		n = 2;
	} else if ((p[0] & 0xf8) == 0xf0) {
		cp = p[0] & 0x07;
		n = 3;
	} else {
		*s = p + 1;
		return 0xFFFD;
	}
	for (int i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*s = p + i;
			return 0xFFFD;
		}
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	*s = p + n + 1;
	return cp;
}

/* Map one label's UTF-8 text to skeleton characters appended at out[*o]. */
static int skeleton_label(const char *u, char *out, size_t outsz, size_t *o)
{
	const unsigned char *s = (const unsigned char *)u;

	while (*s) {
		uint32_t cp = utf8_next(&s);
		int c;

		if (cp >= 'A' && cp <= 'Z')
			c = (int)cp + 32;
		else if ((cp >= 'a' && cp <= 'z') || cp == '-')
			c = (int)cp;
		else if (cp == '0')
			c = 'o';
		else if (cp == '1')
			c = 'l';
		else if (cp >= '2' && cp <= '9')
			c = (int)cp;
		else if ((c = phish_confusable(cp)) != 0) {
			if (c == '0')
				c = 'o';
			else if (c == '1')
				c = 'l';
		} else
			c = '?';
		/* fold the two-letter look-alikes as the second letter arrives */
		if (*o > 0 && ((out[*o - 1] == 'r' && c == 'n') || (out[*o - 1] == 'v' && c == 'v'))) {
			out[*o - 1] = c == 'n' ? 'm' : 'w';
			continue;
		}
		if (*o + 1 >= outsz)
			return -EINVAL;
		out[(*o)++] = (char)c;
	}
	return 0;
}

int phish_skeleton(const char *domain, char *out, size_t outsz)
{
	size_t o = 0, len = strlen(domain);
	const char *p = domain;

	if (len == 0 || len >= PHISH_DOMAIN_MAX || outsz == 0)
		return -EINVAL;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		char label[PHISH_LABEL_MAX * 4 + 1];

		if (l >= PHISH_LABEL_MAX * 4)
			return -EINVAL;
		if (l > 4 && strncasecmp(p, "xn--", 4) == 0) {
			if (phish_punycode_decode(p + 4, l - 4, label, sizeof label) < 0)
				return -EINVAL;
		} else {
			memcpy(label, p, l);
			label[l] = '\0';
		}
		if (skeleton_label(label, out, outsz, &o) < 0)
			return -EINVAL;
		if (!dot)
			break;
		if (o + 1 >= outsz)
			return -EINVAL;
		out[o++] = '.';
		p = dot + 1;
	}
	out[o] = '\0';
	return 0;
}
