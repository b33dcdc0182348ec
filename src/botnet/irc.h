/*
 * irc - one IRC message (RFC 1459 2.3, RFC 2812 2.3, IRCv3 message tags) split into borrowed
 * slices, and the helpers the botnet follower needs to read a C&C channel: the kind of
 * message, JOIN's channel and key lists, PRIVMSG/NOTICE target and text, TOPIC, CTCP.
 *
 * The line comes from a server we do not trust (a botnet's command channel), so nothing here
 * allocates, every slice points into the caller's bytes, and malformation is an error return,
 * never a guess: a follower that misreads a line would log a command the bots never got.
 *
 * Owner: the caller owns the line; struct irc_msg only borrows it and is valid while it is.
 *
 * Limits: 512 bytes for the message without its tags, CR-LF included (RFC 1459 2.3);
 * 8191 bytes for the tags part, '@' and the space after it included (IRCv3 message-tags);
 * 15 parameters (RFC 2812 2.3.1); 50 bytes for a channel name (RFC 2812 1.3).
 */
#ifndef MX_BOTNET_IRC_H
#define MX_BOTNET_IRC_H

#include "core/buf.h"

#include <stddef.h>

/* RFC 1459 2.3: a message is at most 512 characters, counting the CR-LF. */
#define IRC_LINE_MAX 512
/* IRCv3 message-tags: the tags part, with its '@' and the space after it, is at most 8191. */
#define IRC_TAGS_MAX 8191
/* RFC 2812 2.3.1: 14 middle parameters and one trailing. */
#define IRC_PARAMS_MAX 15
/* RFC 2812 1.3: channel names are up to fifty characters, the prefix character included. */
#define IRC_CHANNEL_MAX 50

struct irc_msg {
	struct slice tags;   /* after '@', before the space; len 0 when there are none */
	struct slice prefix; /* after ':', before the space; len 0 when there is none */
	struct slice nick;   /* the prefix up to '!' or '@' (a server name when no user/host) */
	struct slice user;   /* after '!', before '@'; len 0 when absent */
	struct slice host;   /* after '@'; len 0 when absent */
	struct slice command;
	int numeric; /* 0..999 for a three-digit reply, else -1 */
	struct slice params[IRC_PARAMS_MAX];
	size_t nparams;
	int trailing; /* the last parameter came after " :" (may be empty, may hold spaces) */
};

/*
 * Parse one message in p[0..len). A final "\r\n" or "\n" is allowed and left out; any other
 * CR, LF or NUL is an error. Returns 0, -EINVAL (malformed: empty, no command, a bad command
 * or prefix, an empty tag key) or -EMSGSIZE (past IRC_LINE_MAX or IRC_TAGS_MAX).
 */
int irc_parse(const char *p, size_t len, struct irc_msg *m);

/* Next tag of the list in *rest (consumed): key (vendor prefix and '+' kept) and raw value
 * (len 0 when none). 1 when a tag was returned, 0 at the end. */
int irc_tag_next(struct slice *rest, struct slice *key, struct slice *val);
/* Unescape a tag value (\: \s \\ \r \n; other \x is x; a lone final \ is dropped) into out
 * (NUL-terminated, cut at outsz - 1). Returns the unescaped length before any cut. */
size_t irc_tag_unescape(struct slice val, char *out, size_t outsz);
/* The value of tag key, raw, in *val: 1 when present. */
int irc_tag_find(const struct irc_msg *m, const char *key, struct slice *val);

/* The command is verb (ASCII case-insensitive). */
int irc_is(const struct irc_msg *m, const char *verb);
/* The prefix names a server (no user or host, a dot in the name), not a client. */
int irc_prefix_is_server(const struct irc_msg *m);
/* A channel name: '#', '&', '+' or '!' then up to IRC_CHANNEL_MAX bytes in all, none of them
 * space, comma, ':' or BEL (RFC 2812 1.3, 2.3.1). */
int irc_is_channel(struct slice s);

/* JOIN's lists ("#a,#b" "k1,k2"): the next channel and its key (len 0 when none); both
 * lists are consumed. 1 when a channel was returned, 0 at the end, -EINVAL for a name that
 * is not a channel ("0", leave all, is -EINVAL too: it names no channel). */
int irc_join_next(struct slice *chans, struct slice *keys, struct slice *chan, struct slice *key);
/* PRIVMSG or NOTICE with a target and a text: 0 and both slices, else -EINVAL. */
int irc_privmsg(const struct irc_msg *m, struct slice *target, struct slice *text);
/* A topic: TOPIC chan :text (a change) or 332 me chan :text (RPL_TOPIC on join). 0 and
 * both slices, else -EINVAL. */
int irc_topic(const struct irc_msg *m, struct slice *chan, struct slice *topic);
/* CTCP in a PRIVMSG/NOTICE text: "\1VERB arg\1" (the closing \1 may be missing). 1 with the
 * verb and argument (len 0 when none), 0 when the text is not CTCP. */
int irc_ctcp(struct slice text, struct slice *verb, struct slice *arg);

#endif
