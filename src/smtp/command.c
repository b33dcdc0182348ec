/*
 * command - see command.h.
 */
#include "smtp/command.h"

#include <errno.h>
#include <string.h>

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_alnum(int c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

int smtp_cmd_split(struct slice line, struct slice *verb, struct slice *arg)
{
	size_t i = 0;

	for (size_t k = 0; k < line.len; k++) {
		unsigned char c = (unsigned char)line.p[k];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -EINVAL;
	}
	while (i < line.len && is_alpha((unsigned char)line.p[i]))
		i++;
	if (i == 0 || (i < line.len && line.p[i] != ' '))
		return -EINVAL;
	verb->p = line.p;
	verb->len = i;
	while (i < line.len && (line.p[i] == ' ' || line.p[i] == '\t'))
		i++;
	arg->p = line.p + i;
	arg->len = line.len - i;
	*arg = slice_trim(*arg);
	return 0;
}

int smtp_cmd_keyword(struct slice arg, const char *keyword, struct slice *rest)
{
	size_t n = strlen(keyword);

	if (arg.len < n + 1 || !slice_eq_ci((struct slice){arg.p, n}, keyword) || arg.p[n] != ':')
		return -EINVAL;
	rest->p = arg.p + n + 1;
	rest->len = arg.len - n - 1;
	while (rest->len && rest->p[0] == ' ') {
		rest->p++;
		rest->len--;
	}
	return 0;
}

int smtp_param_next(struct slice *params, struct slice *key, struct slice *value)
{
	const char *p = params->p, *end = params->p + params->len;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end) {
		params->p = p;
		params->len = 0;
		return 0;
	}
	key->p = p;
	while (p < end && (is_alnum((unsigned char)*p) || *p == '-'))
		p++;
	key->len = (size_t)(p - key->p);
	value->p = p;
	value->len = 0;
	if (key->len == 0 || !is_alnum((unsigned char)key->p[0]))
		return -EINVAL;
	if (p < end && *p == '=') {
		p++;
		value->p = p;
		while (p < end && *p != ' ' && *p != '\t') {
			unsigned char c = (unsigned char)*p;

			if (c < 0x21 || c == '=' || c == 0x7f)
				return -EINVAL;
			p++;
		}
		value->len = (size_t)(p - value->p);
		if (value->len == 0)
			return -EINVAL;
	}
	if (p < end && *p != ' ' && *p != '\t')
		return -EINVAL;
	params->p = p;
	params->len = (size_t)(end - p);
	return 1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int smtp_xtext_decode(struct slice v, char *out, size_t outsz)
{
	size_t o = 0;

	for (size_t i = 0; i < v.len; i++) {
		int c = (unsigned char)v.p[i];

		if (c == '+') {
			int hi, lo;

			if (i + 2 >= v.len)
				return -EINVAL;
			hi = hexval((unsigned char)v.p[i + 1]);
			lo = hexval((unsigned char)v.p[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = hi * 16 + lo;
			i += 2;
		} else if (c < 0x21 || c > 0x7e || c == '=') {
			return -EINVAL;
		}
		if (o + 1 >= outsz)
			return -EINVAL;
		out[o++] = (char)c;
	}
	if (outsz == 0)
		return -EINVAL;
	out[o] = '\0';
	return 0;
}
