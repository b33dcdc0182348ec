/*
 * irc - one IRC message split into borrowed slices (see irc.h for the grammar's sources and
 * the limits). The grammar, RFC 2812 2.3.1 with IRCv3's tags in front:
 *
 *   message = [ "@" tags SPACE ] [ ":" prefix SPACE ] command [ params ] [ CR LF ]
 *   params  = *14( SPACE middle ) [ SPACE ":" trailing ] / 14( SPACE middle ) [ SPACE [ ":" ]
 * trailing ]
 *
 * Where servers differ from the RFC we follow what they send: runs of spaces between
 * parameters are one separator (ircd's own parsers skip them), and a line ending in a bare LF
 * is accepted. Everything else that breaks the grammar is refused, since a follower must not
 * act on a line it only half understood.
 */
#include "botnet/irc.h"

#include <errno.h>
#include <string.h>

static int irc_upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

static int irc_is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int irc_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* The next space-separated word of [*pp, end): skips leading spaces; *pp moves past it. */
static struct slice irc_word(const char **pp, const char *end)
{
	const char *p = *pp, *w;

	while (p < end && *p == ' ')
		p++;
	w = p;
	while (p < end && *p != ' ')
		p++;
	*pp = p;
	return (struct slice){w, (size_t)(p - w)};
}

/* nick!user@host: '!' comes before '@'; either may be missing. Empty parts are malformed. */
static int irc_split_prefix(struct irc_msg *m)
{
	const char *p = m->prefix.p, *end = p + m->prefix.len;
	const char *bang = memchr(p, '!', m->prefix.len);
	const char *at = memchr(p, '@', m->prefix.len);

	if (bang && at && at < bang)
		bang = NULL; /* "n@h!x": the '!' belongs to the host */
	m->nick = (struct slice){p, (size_t)((bang ? bang : at ? at : end) - p)};
	if (bang)
		m->user = (struct slice){bang + 1, (size_t)((at ? at : end) - bang - 1)};
	if (at)
		m->host = (struct slice){at + 1, (size_t)(end - at - 1)};
	if (m->nick.len == 0 || (bang && m->user.len == 0) || (at && m->host.len == 0))
		return -EINVAL;
	return 0;
}

/* A command is letters, or exactly three digits (a numeric reply). */
static int irc_set_command(struct irc_msg *m, struct slice c)
{
	size_t i;

	m->command = c;
	m->numeric = -1;
	if (c.len == 3 && irc_is_digit(c.p[0]) && irc_is_digit(c.p[1]) && irc_is_digit(c.p[2])) {
		m->numeric = (c.p[0] - '0') * 100 + (c.p[1] - '0') * 10 + (c.p[2] - '0');
		return 0;
	}
	if (c.len == 0)
		return -EINVAL;
	for (i = 0; i < c.len; i++)
		if (!irc_is_alpha((unsigned char)c.p[i]))
			return -EINVAL;
	return 0;
}

static int irc_parse_params(struct irc_msg *m, const char *p, const char *end)
{
	for (;;) {
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			return 0;
		if (*p == ':' || m->nparams == IRC_PARAMS_MAX - 1) {
			/* The trailing parameter: the rest of the line, spaces and all. */
			if (*p == ':')
				p++;
			m->params[m->nparams++] = (struct slice){p, (size_t)(end - p)};
			m->trailing = 1;
			return 0;
		}
		m->params[m->nparams++] = irc_word(&p, end);
	}
}

int irc_parse(const char *p, size_t len, struct irc_msg *m)
{
	const char *end, *tags_end;

	memset(m, 0, sizeof *m);
	m->numeric = -1;
	if (len > 0 && p[len - 1] == '\n')
		len--;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	if (len == 0 || memchr(p, '\0', len) || memchr(p, '\r', len) || memchr(p, '\n', len))
		return -EINVAL;
	end = p + len;
	if (p < end && *p == '@') {
		tags_end = memchr(p, ' ', len);
		if (tags_end == NULL)
			return -EINVAL; /* tags and no message */
		if ((size_t)(tags_end - p) + 1 > IRC_TAGS_MAX)
			return -EMSGSIZE;
		m->tags = (struct slice){p + 1, (size_t)(tags_end - p - 1)};
		if (m->tags.len == 0)
			return -EINVAL; /* "@ CMD" */
		for (struct slice rest = m->tags, k, v; irc_tag_next(&rest, &k, &v);)
			if (k.len == 0 || (k.len == 1 && k.p[0] == '+'))
				return -EINVAL;
		p = tags_end;
		while (p < end && *p == ' ')
			p++;
	}
	/* The message proper, with the CR-LF we took off, within 512 bytes. */
	if ((size_t)(end - p) + 2 > IRC_LINE_MAX)
		return -EMSGSIZE;
	if (p < end && *p == ':') {
		if (++p == end || *p == ' ')
			return -EINVAL; /* ":" or ": nick": an empty prefix */
		m->prefix = irc_word(&p, end);
		if (irc_split_prefix(m) < 0)
			return -EINVAL;
	}
	if (irc_set_command(m, irc_word(&p, end)) < 0)
		return -EINVAL;
	return irc_parse_params(m, p, end);
}

int irc_tag_next(struct slice *rest, struct slice *key, struct slice *val)
{
	const char *p = rest->p, *end, *semi, *eq;

	if (rest->len == 0)
		return 0; /* also when p is NULL: no arithmetic on it */
	end = p + rest->len;
	semi = memchr(p, ';', rest->len);
	if (semi == NULL)
		semi = end;
	eq = memchr(p, '=', (size_t)(semi - p));
	*key = (struct slice){p, (size_t)((eq ? eq : semi) - p)};
	*val = eq ? (struct slice){eq + 1, (size_t)(semi - eq - 1)} : (struct slice){semi, 0};
	if (semi == end)
		*rest = (struct slice){end, 0};
	else
		*rest = (struct slice){semi + 1, (size_t)(end - semi - 1)};
	return 1;
}

size_t irc_tag_unescape(struct slice val, char *out, size_t outsz)
{
	size_t i, n = 0;

	for (i = 0; i < val.len; i++) {
		char c = val.p[i];

		if (c == '\\') {
			if (++i == val.len)
				break; /* a lone final backslash is dropped */
			switch (val.p[i]) {
			case ':':
				c = ';';
				break;
			case 's':
				c = ' ';
				break;
			case 'r':
				c = '\r';
				break;
			case 'n':
				c = '\n';
				break;
			default:
				c = val.p[i];
				break; /* \\ and any other \x */
			}
		}
		if (outsz > 0 && n < outsz - 1)
			out[n] = c;
		n++;
	}
	if (outsz > 0)
		out[n < outsz - 1 ? n : outsz - 1] = '\0';
	return n;
}

int irc_tag_find(const struct irc_msg *m, const char *key, struct slice *val)
{
	struct slice rest = m->tags, k, v;
	size_t klen = strlen(key);

	while (irc_tag_next(&rest, &k, &v))
		if (k.len == klen && memcmp(k.p, key, klen) == 0) {
			*val = v;
			return 1;
		}
	return 0;
}

int irc_is(const struct irc_msg *m, const char *verb)
{
	size_t i, n = strlen(verb);

	if (m->command.len != n)
		return 0;
	for (i = 0; i < n; i++)
		if (irc_upper((unsigned char)m->command.p[i]) != irc_upper((unsigned char)verb[i]))
			return 0;
	return 1;
}

int irc_prefix_is_server(const struct irc_msg *m)
{
	return m->prefix.len > 0 && m->user.len == 0 && m->host.len == 0 &&
	       memchr(m->prefix.p, '.', m->prefix.len) != NULL;
}

int irc_is_channel(struct slice s)
{
	size_t i;

	if (s.len < 2 || s.len > IRC_CHANNEL_MAX || strchr("#&+!", s.p[0]) == NULL ||
	    s.p[0] == '\0')
		return 0;
	for (i = 1; i < s.len; i++)
		if (strchr(" ,:\a\r\n", s.p[i]) != NULL || s.p[i] == '\0')
			return 0;
	return 1;
}

/* The next comma-separated item of *list (consumed). */
static struct slice irc_list_next(struct slice *list)
{
	const char *comma = list->len ? memchr(list->p, ',', list->len) : NULL;
	struct slice item;

	if (comma == NULL) {
		item = *list;
		*list = (struct slice){list->len ? list->p + list->len : list->p, 0};
		return item;
	}
	item = (struct slice){list->p, (size_t)(comma - list->p)};
	*list = (struct slice){comma + 1, list->len - item.len - 1};
	return item;
}

int irc_join_next(struct slice *chans, struct slice *keys, struct slice *chan, struct slice *key)
{
	if (chans->len == 0)
		return 0;
	*chan = irc_list_next(chans);
	*key = irc_list_next(keys);
	return irc_is_channel(*chan) ? 1 : -EINVAL;
}

int irc_privmsg(const struct irc_msg *m, struct slice *target, struct slice *text)
{
	if ((!irc_is(m, "PRIVMSG") && !irc_is(m, "NOTICE")) || m->nparams < 2 ||
	    m->params[0].len == 0)
		return -EINVAL;
	*target = m->params[0];
	*text = m->params[1];
	return 0;
}

int irc_topic(const struct irc_msg *m, struct slice *chan, struct slice *topic)
{
	size_t c;

	if (irc_is(m, "TOPIC") && m->nparams == 2)
		c = 0;
	else if (m->numeric == 332 && m->nparams == 3)
		c = 1;
	else
		return -EINVAL;
	if (!irc_is_channel(m->params[c]))
		return -EINVAL;
	*chan = m->params[c];
	*topic = m->params[c + 1];
	return 0;
}

int irc_ctcp(struct slice text, struct slice *verb, struct slice *arg)
{
	const char *p, *end, *sp;

	if (text.len < 2 || text.p[0] != '\1')
		return 0;
	p = text.p + 1;
	end = text.p + text.len;
	if (end[-1] == '\1')
		end--;
	if (end == p || *p == ' ')
		return 0; /* "\1\1" or "\1 x": no verb */
	sp = memchr(p, ' ', (size_t)(end - p));
	*verb = (struct slice){p, (size_t)((sp ? sp : end) - p)};
	*arg = sp ? (struct slice){sp + 1, (size_t)(end - sp - 1)} : (struct slice){end, 0};
	return 1;
}
