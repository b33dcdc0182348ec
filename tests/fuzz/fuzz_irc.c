/*
 * fuzz_irc - the IRC line parser and the follower's helpers on arbitrary bytes, the way a C&C
 * server would send them: the input is cut at LF into lines, each parsed, and every accepted
 * message walked through its tags, JOIN lists, PRIVMSG/CTCP and TOPIC.
 *
 * Invariants: every slice lies inside the line; an accepted line has no CR, LF or NUL inside
 * it, a non-empty command (letters, or three digits and its numeric), at most 15 parameters,
 * no middle parameter that is empty, starts with ':' or holds a space, and a message within
 * 512 bytes and tags within 8191; nick/user/host lie inside the prefix; the unescaped tag value
 * is never longer than the raw one; a JOIN channel is a channel name.
 */
#include "botnet/irc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *fz_lo, *fz_hi;

/* The slice lies in [fz_lo, fz_hi) (an empty one may sit at its end). */
static void fz_inside(struct slice s)
{
	if (s.len == 0)
		return;
	if (s.p < fz_lo || s.p + s.len > fz_hi || s.p + s.len < s.p)
		abort();
}

static void fz_within(struct slice in, struct slice outer)
{
	if (in.len && (in.p < outer.p || in.p + in.len > outer.p + outer.len))
		abort();
}

static void fz_check(const char *line, size_t len, const struct irc_msg *m)
{
	struct slice rest = m->tags, k, v, t, x, verb, arg;
	char out[64];
	size_t i;

	fz_lo = line;
	fz_hi = line + len;
	fz_inside(m->tags);
	fz_inside(m->prefix);
	fz_inside(m->command);
	fz_within(m->nick, m->prefix);
	fz_within(m->user, m->prefix);
	fz_within(m->host, m->prefix);
	if (m->prefix.len && m->nick.len == 0)
		abort();
	if (m->tags.len && m->tags.len + 2 > IRC_TAGS_MAX)
		abort();
	if (m->command.len == 0 || m->nparams > IRC_PARAMS_MAX)
		abort();
	if ((m->numeric >= 0) !=
	    (m->command.len == 3 && m->command.p[0] >= '0' && m->command.p[0] <= '9'))
		abort();
	if ((size_t)(fz_hi - m->command.p) > IRC_LINE_MAX)
		abort(); /* the message proper (from the prefix's ':' on, less CR-LF) fits */
	for (i = 0; i < len; i++)
		if (line[i] == '\0' || ((line[i] == '\r' || line[i] == '\n') && i + 2 < len))
			abort();
	for (i = 0; i < m->nparams; i++) {
		struct slice p = m->params[i];

		fz_inside(p);
		if (i + 1 < m->nparams || !m->trailing)
			if (p.len == 0 || p.p[0] == ':' || memchr(p.p, ' ', p.len))
				abort();
	}
	while (irc_tag_next(&rest, &k, &v)) {
		fz_inside(k);
		fz_inside(v);
		if (k.len == 0 || irc_tag_unescape(v, out, sizeof out) > v.len)
			abort();
		if (strlen(out) >= sizeof out)
			abort();
	}
	if (irc_is(m, "JOIN") && m->nparams >= 1) {
		struct slice chans = m->params[0],
		             keys = m->nparams > 1 ? m->params[1] : (struct slice){"", 0};
		int r, n = 0;

		while ((r = irc_join_next(&chans, &keys, &t, &x)) != 0 && n++ < 1000) {
			fz_inside(t);
			fz_inside(x);
			if (r == 1 && !irc_is_channel(t))
				abort();
		}
	}
	if (irc_privmsg(m, &t, &x) == 0 && irc_ctcp(x, &verb, &arg) == 1) {
		fz_inside(verb);
		fz_inside(arg);
		if (verb.len == 0)
			abort();
	}
	if (irc_topic(m, &t, &x) == 0 && !irc_is_channel(t))
		abort();
	(void)irc_prefix_is_server(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy of exactly this size: an overread hits ASan's redzone. */
	char *in = malloc(size ? size : 1);
	size_t off = 0;

	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	while (off < size) {
		const char *lf = memchr(in + off, '\n', size - off);
		size_t n = lf ? (size_t)(lf - (in + off)) + 1 : size - off;
		struct irc_msg m;
		int r = irc_parse(in + off, n, &m);

		if (r == 0)
			fz_check(in + off, n, &m);
		else if (r != -EINVAL && r != -EMSGSIZE)
			abort();
		off += n;
	}
	free(in);
	return 0;
}
