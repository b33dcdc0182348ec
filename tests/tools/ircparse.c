/*
 * ircparse - read IRC lines (LF-terminated) on stdin and print, for each, one JSON object on
 * stdout with what src/botnet/irc.c made of it, for tests that compare our parser with what a
 * real server sent:
 *
 *   {"ok":true,"tags":{"k":"unescaped v",...},"prefix":..,"nick":..,"user":..,"host":..,
 *    "server":bool,"command":..,"numeric":N,"params":[..],"trailing":bool,
 *    "privmsg":{"target":..,"text":..},"ctcp":{"verb":..,"arg":..},"topic":{"channel":..,
 *    "text":..},"join":[{"channel":..,"key":..}]}
 *   {"ok":false,"error":"EINVAL"|"EMSGSIZE","len":N}
 *
 * Bytes of 0x80 and up are written as \u00XX (the reader decodes the line as Latin-1 to
 * compare). Lines of any length are read: the parser, not the tool, judges the length.
 */
#include "botnet/irc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_str(const char *p, size_t len)
{
	putchar('"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void put_slice(const char *key, struct slice s)
{
	printf(",\"%s\":", key);
	put_str(s.p ? s.p : "", s.len);
}

static void put_msg(const struct irc_msg *m)
{
	struct slice rest = m->tags, k, v, t, x, verb, arg;
	char val[IRC_TAGS_MAX + 1];
	size_t i;

	printf("{\"ok\":true,\"tags\":{");
	for (i = 0; irc_tag_next(&rest, &k, &v); i++) {
		size_t n = irc_tag_unescape(v, val, sizeof val);

		printf("%s", i ? "," : "");
		put_str(k.p, k.len);
		putchar(':');
		put_str(val, n < sizeof val ? n : sizeof val - 1);
	}
	putchar('}');
	put_slice("prefix", m->prefix);
	put_slice("nick", m->nick);
	put_slice("user", m->user);
	put_slice("host", m->host);
	printf(",\"server\":%s", irc_prefix_is_server(m) ? "true" : "false");
	put_slice("command", m->command);
	printf(",\"numeric\":%d,\"params\":[", m->numeric);
	for (i = 0; i < m->nparams; i++) {
		printf("%s", i ? "," : "");
		put_str(m->params[i].p, m->params[i].len);
	}
	printf("],\"trailing\":%s", m->trailing ? "true" : "false");
	if (irc_privmsg(m, &t, &x) == 0) {
		printf(",\"privmsg\":{\"target\":");
		put_str(t.p, t.len);
		printf(",\"text\":");
		put_str(x.p, x.len);
		putchar('}');
		if (irc_ctcp(x, &verb, &arg) == 1) {
			printf(",\"ctcp\":{\"verb\":");
			put_str(verb.p, verb.len);
			printf(",\"arg\":");
			put_str(arg.p, arg.len);
			putchar('}');
		}
	}
	if (irc_topic(m, &t, &x) == 0) {
		printf(",\"topic\":{\"channel\":");
		put_str(t.p, t.len);
		printf(",\"text\":");
		put_str(x.p, x.len);
		putchar('}');
	}
	if (irc_is(m, "JOIN") && m->nparams >= 1) {
		struct slice chans = m->params[0];
		struct slice keys = m->nparams > 1 ? m->params[1] : (struct slice){"", 0};
		int r;

		printf(",\"join\":[");
		for (i = 0; (r = irc_join_next(&chans, &keys, &t, &x)) != 0; i++) {
			printf("%s{\"channel\":", i ? "," : "");
			put_str(t.p, t.len);
			printf(",\"key\":");
			put_str(x.p ? x.p : "", x.len);
			printf(",\"valid\":%s}", r == 1 ? "true" : "false");
		}
		putchar(']');
	}
	printf("}\n");
}

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		struct irc_msg m;
		int r = irc_parse(line, (size_t)n, &m);

		if (r == 0)
			put_msg(&m);
		else
			printf("{\"ok\":false,\"error\":\"%s\",\"len\":%zd}\n",
			       r == -EMSGSIZE ? "EMSGSIZE" : "EINVAL", n);
	}
	free(line);
	return 0;
}
