/*
 * address - see address.h. A hand-written recursive-descent parser over a slice: the grammar is
 * small, and writing it out keeps every accepted byte visible. Nothing here allocates.
 */
#include "smtp/address.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

struct cursor {
	const char *p, *end;
};

static int cur_peek(const struct cursor *c)
{
	return c->p < c->end ? (unsigned char)*c->p : -1;
}

/* RFC 5322 atext, plus any non-ASCII byte (RFC 6531 UTF8-non-ascii, checked later as UTF-8). */
static int is_atext(int ch)
{
	if (ch < 0)
		return 0;
	if (ch >= 0x80)
		return 1;
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return 1;
	return ch != 0 && strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL;
}

static int is_letdig(int ch)
{
	return ch >= 0x80 || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9');
}

/* Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str]. */
static int parse_domain(struct cursor *c)
{
	for (;;) {
		int last = -1;

		if (!is_letdig(cur_peek(c)))
			return -EINVAL;
		while (is_letdig(cur_peek(c)) || cur_peek(c) == '-')
			last = (unsigned char)*c->p++;
		if (last == '-')
			return -EINVAL;
		if (cur_peek(c) != '.')
			return 0;
		c->p++;
	}
}

/* address-literal: "[" 1*dcontent "]"; the content is not interpreted, it is refused anyway. */
static int parse_literal(struct cursor *c)
{
	const char *start;

	c->p++; /* '[' */
	start = c->p;
	while (c->p < c->end && *c->p != ']') {
		int ch = (unsigned char)*c->p;

		if (ch < 33 || ch > 126 || ch == '[' || ch == '\\')
			return -EINVAL;
		c->p++;
	}
	if (c->p == start || cur_peek(c) != ']')
		return -EINVAL;
	c->p++;
	return 0;
}

/* A-d-l = At-domain *( "," At-domain ) ":" */
static int parse_route(struct cursor *c)
{
	for (;;) {
		if (cur_peek(c) != '@')
			return -EINVAL;
		c->p++;
		if (parse_domain(c) < 0)
			return -EINVAL;
		if (cur_peek(c) == ':') {
			c->p++;
			return 0;
		}
		if (cur_peek(c) != ',')
			return -EINVAL;
		c->p++;
	}
}

static int parse_quoted(struct cursor *c, unsigned *flags)
{
	c->p++; /* '"' */
	*flags |= SMTP_ADDR_QUOTED;
	for (;;) {
		int ch = cur_peek(c);

		if (ch < 0)
			return -EINVAL;
		c->p++;
		if (ch == '"')
			return 0;
		if (ch == '\\') {
			ch = cur_peek(c);
			if (ch < 32 || ch > 126)
				return -EINVAL;
			c->p++;
		} else if (ch < 32 || ch == 127) {
			return -EINVAL;
		}
		if (ch == '@')
			*flags |= SMTP_ADDR_QUOTED_AT;
		else if (ch == '%')
			*flags |= SMTP_ADDR_PERCENT;
		else if (ch == '!')
			*flags |= SMTP_ADDR_BANG;
	}
}

static int parse_dotstring(struct cursor *c, unsigned *flags)
{
	for (;;) {
		if (!is_atext(cur_peek(c)))
			return -EINVAL;
		while (is_atext(cur_peek(c))) {
			if (*c->p == '%')
				*flags |= SMTP_ADDR_PERCENT;
			else if (*c->p == '!')
				*flags |= SMTP_ADDR_BANG;
			c->p++;
		}
		if (cur_peek(c) != '.')
			return 0;
		c->p++;
	}
}

int smtp_addr_parse(struct slice s, struct smtp_addr *a, struct slice *rest)
{
	struct cursor c = {s.p, s.p + s.len};
	const char *local, *dom = NULL;
	size_t llen, dlen = 0;
	int r;

	memset(a, 0, sizeof *a);
	a->domain = a->addr;
	while (cur_peek(&c) == ' ')
		c.p++;
	if (cur_peek(&c) != '<')
		return -EINVAL;
	if ((size_t)(c.end - c.p) > SMTP_PATH_MAX) {
		const char *gt = memchr(c.p, '>', (size_t)(c.end - c.p));

		if (gt == NULL || gt - c.p + 1 > SMTP_PATH_MAX)
			return -ENAMETOOLONG;
	}
	c.p++;
	if (cur_peek(&c) == '>') {
		a->flags = SMTP_ADDR_NULL;
		c.p++;
		goto done;
	}
	if (cur_peek(&c) == '@') {
		if ((r = parse_route(&c)) < 0)
			return r;
		a->flags |= SMTP_ADDR_ROUTE;
	}
	local = c.p;
	r = cur_peek(&c) == '"' ? parse_quoted(&c, &a->flags) : parse_dotstring(&c, &a->flags);
	if (r < 0)
		return r;
	llen = (size_t)(c.p - local);
	if (llen > SMTP_LOCAL_MAX)
		return -ENAMETOOLONG;
	if (cur_peek(&c) == '@') {
		c.p++;
		dom = c.p;
		if (cur_peek(&c) == '[') {
			if ((r = parse_literal(&c)) < 0)
				return r;
			a->flags |= SMTP_ADDR_LITERAL;
		} else if (cur_peek(&c) != '>') {
			if ((r = parse_domain(&c)) < 0)
				return r;
		}
		dlen = (size_t)(c.p - dom);
	}
	if (dlen == 0)
		a->flags |= SMTP_ADDR_NODOMAIN;
	if (dlen > SMTP_DOMAIN_MAX)
		return -ENAMETOOLONG;
	if (cur_peek(&c) != '>')
		return -EINVAL;
	c.p++;
	if (llen + 1 + dlen + 1 > sizeof a->addr)
		return -ENAMETOOLONG;
	memcpy(a->addr, local, llen);
	a->local_len = llen;
	if (dlen) {
		a->addr[llen] = '@';
		memcpy(a->addr + llen + 1, dom, dlen);
		a->addr[llen + 1 + dlen] = '\0';
		a->domain = a->addr + llen + 1;
	} else {
		a->addr[llen] = '\0';
		a->domain = a->addr + llen;
	}
	for (const char *q = a->addr; *q; q++)
		if ((unsigned char)*q >= 0x80) {
			a->flags |= SMTP_ADDR_UTF8;
			break;
		}
	if ((a->flags & SMTP_ADDR_UTF8) && !smtp_utf8_valid(a->addr, strlen(a->addr)))
		return -EINVAL;
done:
	rest->p = c.p;
	rest->len = (size_t)(c.end - c.p);
	return 0;
}

int smtp_utf8_valid(const char *p, size_t len)
{
	const unsigned char *s = (const unsigned char *)p, *e = s + len;

	while (s < e) {
		unsigned c = *s, n;
		uint32_t cp;

		if (c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if ((size_t)(e - s) <= n)
			return 0;
		for (unsigned i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		s += n + 1;
	}
	return 1;
}
