/*
 * session_cmd - the SMTP commands as one table of {verb, check, proceed} (OpenSMTPD's shape):
 * the check bits say what must have happened before (HELO, MAIL, RCPT) and whether arguments
 * are allowed, and are enforced in one place; proceed does the rest. Line framing (CRLF only,
 * max_line) is here too. The relay rules for recipients live in rcpt_check().
 */
#include "core/log.h"
#include "core/parse.h"
#include "smtp/command.h"
#include "smtp/session_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum check {
	CK_NOARGS = 1 << 0, /* arguments are a syntax error */
	CK_HELO = 1 << 1,   /* HELO/EHLO first */
	CK_MAIL = 1 << 2,   /* inside a transaction */
	CK_NOMAIL = 1 << 3, /* outside a transaction */
	CK_RCPT = 1 << 4,   /* at least one accepted recipient */
	CK_REFUSED = 1 << 5 /* allowed after a 554 greeting */
};

struct verb {
	const char *name;
	unsigned check;
	void (*proceed)(struct smtp_session *s, struct slice arg);
	const char *syntax; /* for the 501 reply */
};

static void cmd_helo_common(struct smtp_session *s, struct slice arg, int esmtp)
{
	char ext[8][SMTP_REPLY_TEXT_MAX];
	size_t n = 0;

	if (arg.len == 0 || arg.len > SMTP_HELO_MAX || memchr(arg.p, ' ', arg.len)) {
		session_reply(s, 501, "5.5.4 Syntax: %s hostname", esmtp ? "EHLO" : "HELO");
		return;
	}
	session_txn_reset(s);
	memcpy(s->helo, arg.p, arg.len);
	s->helo[arg.len] = '\0';
	s->esmtp = esmtp;
	session_set_proto(s);
	if (!esmtp) {
		session_reply(s, 250, "%s", s->prm.hostname);
		return;
	}
	snprintf(ext[n++], sizeof ext[0], "PIPELINING");
	snprintf(ext[n++], sizeof ext[0], "SIZE %llu", (unsigned long long)s->prm.max_message_size);
	snprintf(ext[n++], sizeof ext[0], "8BITMIME");
	snprintf(ext[n++], sizeof ext[0], "ENHANCEDSTATUSCODES");
	snprintf(ext[n++], sizeof ext[0], "SMTPUTF8");
	snprintf(ext[n++], sizeof ext[0], "CHUNKING");
	if ((s->prm.flags & SMTP_OFFER_STARTTLS) && !s->tls)
		snprintf(ext[n++], sizeof ext[0], "STARTTLS");
	if (s->prm.flags & SMTP_ALLOW_XCLIENT)
		snprintf(ext[n++], sizeof ext[0], "XCLIENT NAME ADDR PROTO HELO");
	session_reply_line(s, 250, '-', s->prm.hostname);
	for (size_t i = 0; i < n; i++)
		session_reply_line(s, 250, i + 1 < n ? '-' : ' ', ext[i]);
}

static void cmd_helo(struct smtp_session *s, struct slice arg)
{
	cmd_helo_common(s, arg, 0);
}

static void cmd_ehlo(struct smtp_session *s, struct slice arg)
{
	cmd_helo_common(s, arg, 1);
}

static void cmd_mail(struct smtp_session *s, struct slice arg)
{
	struct smtp_addr a;
	struct slice rest, key, val;
	int r, utf8 = 0, body8 = 0;
	uint64_t size = 0;

	if (smtp_cmd_keyword(arg, "FROM", &rest) < 0) {
		session_reply(s, 501, "5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	r = smtp_addr_parse(rest, &a, &rest);
	if (r < 0 || (!(a.flags & SMTP_ADDR_NULL) && (a.flags & SMTP_ADDR_NODOMAIN))) {
		session_reply(s, 501, "5.1.7 Bad sender address syntax");
		return;
	}
	while ((r = smtp_param_next(&rest, &key, &val)) > 0) {
		if (!s->esmtp)
			goto badparam;
		if (slice_eq_ci(key, "SIZE") && val.len) {
			if (parse_u64_n(val.p, val.len, 0, UINT64_MAX, &size) < 0)
				goto badparam;
		} else if (slice_eq_ci(key, "BODY") && slice_eq_ci(val, "8BITMIME")) {
			body8 = 1;
		} else if (slice_eq_ci(key, "BODY") && slice_eq_ci(val, "7BIT")) {
			body8 = 0;
		} else if (slice_eq_ci(key, "SMTPUTF8") && val.len == 0) {
			utf8 = 1;
		} else {
			goto badparam;
		}
	}
	if (r < 0)
		goto badparam;
	if ((a.flags & SMTP_ADDR_UTF8) && !utf8) {
		session_reply(s, 553, "5.6.7 Error: non-ASCII sender needs SMTPUTF8");
		return;
	}
	if (size > s->prm.max_message_size) {
		session_reply(s, 552, "5.3.4 Error: message size exceeds fixed limit");
		return;
	}
	session_txn_reset(s);
	snprintf(s->mail_from, sizeof s->mail_from, "%s", a.addr);
	s->txn.smtputf8 = utf8;
	s->txn.body_8bit = body8;
	s->txn.size_hint = size;
	s->txn.tls = s->tls;
	s->has_mail = 1;
	session_reply(s, 250, "2.1.0 Ok");
	return;
badparam:
	session_reply(s, 555, "5.5.4 Error: unsupported MAIL parameter");
}

/* The relay rules that hold before any tenant is asked. 0, or a reply in r. */
static int rcpt_check(struct smtp_session *s, const struct smtp_addr *a, struct smtp_reply *r)
{
	static const struct {
		unsigned flag;
		const char *why;
	} tricks[] = {
	    {SMTP_ADDR_ROUTE, "source route"},
	    {SMTP_ADDR_PERCENT, "percent hack"},
	    {SMTP_ADDR_BANG, "bang path"},
	    {SMTP_ADDR_QUOTED_AT, "'@' in quoted local part"},
	    {SMTP_ADDR_LITERAL, "address literal"},
	    {SMTP_ADDR_NODOMAIN, "no domain"},
	};

	for (size_t i = 0; i < sizeof tricks / sizeof tricks[0]; i++)
		if (a->flags & tricks[i].flag) {
			char esc[SMTP_PATH_MAX * 4];

			log_info("smtp: client=%s relay trick refused (%s) rcpt=<%s>", s->ip,
			         tricks[i].why,
			         log_escape(esc, sizeof esc, a->addr, strlen(a->addr)));
			smtp_reply_set(r, 550, "5.7.1 <%s>: Relay access denied (%s)", a->addr,
			               tricks[i].why);
			return -EPERM;
		}
	if ((a->flags & SMTP_ADDR_UTF8) && !s->txn.smtputf8) {
		smtp_reply_set(r, 553, "5.6.7 Error: non-ASCII recipient needs SMTPUTF8");
		return -EINVAL;
	}
	return 0;
}

static void cmd_rcpt(struct smtp_session *s, struct slice arg)
{
	struct smtp_addr a;
	struct smtp_reply r;
	struct slice rest, key, val;
	char *copy;

	if (smtp_cmd_keyword(arg, "TO", &rest) < 0) {
		session_reply(s, 501, "5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if (smtp_addr_parse(rest, &a, &rest) < 0 || (a.flags & SMTP_ADDR_NULL)) {
		session_reply(s, 501, "5.1.3 Bad recipient address syntax");
		return;
	}
	if (smtp_param_next(&rest, &key, &val) != 0) {
		session_reply(s, 555, "5.5.4 Error: unsupported RCPT parameter");
		return;
	}
	if (s->txn.nrcpts >= s->prm.max_recipients) {
		/* RFC 5321 4.5.3.1.10: 452, the client sends the rest in another transaction. */
		session_reply_line(s, 452, ' ', "4.5.3 Error: too many recipients");
		return;
	}
	if (rcpt_check(s, &a, &r) < 0 ||
	    (s->ops && s->ops->rcpt && s->ops->rcpt(s->ctx, &s->txn, &a, &r) != 0)) {
		if (r.code == 452)
			session_reply_line(s, r.code, ' ', r.text);
		else
			session_reply_r(s, &r);
		return;
	}
	if (s->txn.nrcpts == s->rcpt_cap) {
		size_t ncap = s->rcpt_cap ? s->rcpt_cap * 2 : 8;
		char **n = realloc(s->txn.rcpts, ncap * sizeof *n);

		if (n == NULL)
			goto nomem;
		s->txn.rcpts = n;
		s->rcpt_cap = ncap;
	}
	if ((copy = strdup(a.addr)) == NULL)
		goto nomem;
	s->txn.rcpts[s->txn.nrcpts++] = copy;
	session_reply(s, 250, "2.1.5 Ok");
	return;
nomem:
	session_reply(s, 451, "4.3.0 Error: out of memory");
}

static void cmd_data(struct smtp_session *s, struct slice arg)
{
	struct smtp_reply r;

	if (s->bdat_seen) {
		session_reply(s, 503, "5.5.1 Error: DATA after BDAT");
		return;
	}
	if (s->ops && s->ops->data_open && s->ops->data_open(s->ctx, &s->txn, &r) < 0) {
		session_reply_r(s, &r);
		return;
	}
	s->data_open = 1;
	s->data_bytes = 0;
	smtp_data_init(&s->dec, SMTP_DATA_DOT, s->prm.max_line);
	s->mode = M_DATA;
	session_reply(s, 354, "End data with <CR><LF>.<CR><LF>");
}

/*
 * BDAT count [LAST] (RFC 3030). The count's octets follow at once, so a refused BDAT still
 * swallows them: letting chunk bytes run as commands would be smuggling by another name.
 */
static void cmd_bdat(struct smtp_session *s, struct slice arg)
{
	struct slice num = arg, last = {"", 0};
	const char *sp = memchr(arg.p, ' ', arg.len);
	uint64_t n;
	struct smtp_reply r;

	if (sp) {
		num.len = (size_t)(sp - arg.p);
		last = slice_trim((struct slice){sp, arg.len - num.len});
	}
	if (parse_u64_n(num.p, num.len, 0, UINT64_MAX, &n) < 0 ||
	    (last.len && !slice_eq_ci(last, "LAST"))) {
		session_reply(s, 501, "5.5.4 Syntax: BDAT count [LAST]");
		log_info("smtp: client=%s BDAT without a valid count, closing", s->ip);
		session_txn_reset(s);
		session_close(s);
		return;
	}
	s->chunk_left = n;
	s->chunk_last = last.len != 0;
	s->chunk_discard = 1;
	s->mode = M_BDAT;
	if (s->refused)
		smtp_reply_set(&s->chunk_reply, 503, "5.5.1 Error: SMTP protocol synchronization");
	else if (s->helo[0] == '\0')
		smtp_reply_set(&s->chunk_reply, 503, "5.5.1 Error: send HELO/EHLO first");
	else if (!s->has_mail)
		smtp_reply_set(&s->chunk_reply, 503, "5.5.1 Error: need MAIL command");
	else if (s->txn.nrcpts == 0)
		smtp_reply_set(&s->chunk_reply, 554, "5.5.1 Error: no valid recipients");
	else if (s->data_bytes + n > s->prm.max_message_size || n > s->prm.max_message_size)
		smtp_reply_set(&s->chunk_reply, 552,
		               "5.3.4 Error: message size exceeds fixed limit");
	else if (!s->data_open && s->ops && s->ops->data_open &&
	         s->ops->data_open(s->ctx, &s->txn, &r) < 0)
		s->chunk_reply = r;
	else
		s->chunk_discard = 0;
	if (!s->chunk_discard && !s->data_open) {
		s->data_open = 1;
		s->bdat_seen = 1;
		s->data_bytes = 0;
		smtp_data_init(&s->dec, SMTP_DATA_CHUNK, s->prm.max_line);
	}
	if (n == 0)
		session_chunk_done(s);
}

static void cmd_rset(struct smtp_session *s, struct slice arg)
{
	session_txn_reset(s);
	session_reply(s, 250, "2.0.0 Ok");
}

static void cmd_noop(struct smtp_session *s, struct slice arg)
{
	session_reply(s, 250, "2.0.0 Ok");
}

static void cmd_quit(struct smtp_session *s, struct slice arg)
{
	session_txn_reset(s);
	session_reply(s, 221, "2.0.0 Bye");
	session_close(s);
}

static void cmd_vrfy(struct smtp_session *s, struct slice arg)
{
	if (arg.len == 0) {
		session_reply(s, 501, "5.5.4 Syntax: VRFY address");
		return;
	}
	/* RFC 5321 3.5.3: 252 when we will not verify but would accept. */
	session_reply(s, 252,
	              "2.0.0 Cannot VRFY user, but will accept message and attempt delivery");
}

static void cmd_help(struct smtp_session *s, struct slice arg)
{
	session_reply(s, 214, "2.0.0 See RFC 5321");
}

static void cmd_starttls(struct smtp_session *s, struct slice arg)
{
	if (!(s->prm.flags & SMTP_OFFER_STARTTLS)) {
		session_reply(s, 502, "5.5.1 Error: command not implemented");
		return;
	}
	if (s->tls) {
		session_reply(s, 503, "5.5.1 Error: TLS already active");
		return;
	}
	session_reply(s, 220, "2.0.0 Ready to start TLS");
	s->mode = M_TLS;
}

/* Copy an XCLIENT value (xtext, "[UNAVAILABLE]" means none) into out. 0 or -EINVAL. */
static int xclient_value(struct slice v, char *out, size_t outsz)
{
	if (slice_eq_ci(v, "[UNAVAILABLE]") || slice_eq_ci(v, "[TEMPUNAVAIL]")) {
		out[0] = '\0';
		return 0;
	}
	return smtp_xtext_decode(v, out, outsz);
}

/* XCLIENT (Postfix's extension): a trusted proxy tells us who the real client is. */
static void cmd_xclient(struct smtp_session *s, struct slice arg)
{
	char ip[SMTP_IP_MAX], host[SMTP_HOST_MAX], helo[SMTP_HELO_MAX + 1], proto[8];
	struct slice rest = arg, key, val;
	int r, have_ip = 0, have_host = 0, have_helo = 0, have_proto = 0;

	if (!(s->prm.flags & SMTP_ALLOW_XCLIENT)) {
		log_info("smtp: client=%s XCLIENT refused: not in smtp.xclient_networks", s->ip);
		session_reply(s, 550, "5.7.0 Error: insufficient authorization");
		return;
	}
	while ((r = smtp_param_next(&rest, &key, &val)) > 0) {
		if (val.len == 0)
			goto syntax;
		if (slice_eq_ci(key, "ADDR")) {
			unsigned char bin[16];
			char *v = ip;

			if (xclient_value(val, ip, sizeof ip) < 0)
				goto syntax;
			if (strncasecmp(v, "IPV6:", 5) == 0)
				memmove(v, v + 5, strlen(v + 5) + 1);
			if (v[0] && inet_pton(AF_INET, v, bin) != 1 &&
			    inet_pton(AF_INET6, v, bin) != 1)
				goto syntax;
			have_ip = v[0] != '\0';
		} else if (slice_eq_ci(key, "NAME")) {
			if (xclient_value(val, host, sizeof host) < 0)
				goto syntax;
			have_host = 1;
		} else if (slice_eq_ci(key, "HELO")) {
			if (xclient_value(val, helo, sizeof helo) < 0)
				goto syntax;
			have_helo = 1;
		} else if (slice_eq_ci(key, "PROTO")) {
			if (!slice_eq_ci(val, "SMTP") && !slice_eq_ci(val, "ESMTP"))
				goto syntax;
			snprintf(proto, sizeof proto, "%.*s", (int)val.len, val.p);
			have_proto = 1;
		} else if (!slice_eq_ci(key, "PORT") && !slice_eq_ci(key, "LOGIN") &&
		           !slice_eq_ci(key, "DESTADDR") && !slice_eq_ci(key, "DESTPORT")) {
			goto syntax;
		}
	}
	if (r < 0 || arg.len == 0)
		goto syntax;
	if (have_ip) {
		log_info("smtp: client=%s XCLIENT addr=%s", s->ip, ip);
		snprintf(s->ip, sizeof s->ip, "%s", ip);
	}
	if (have_host)
		snprintf(s->host, sizeof s->host, "%s", host);
	session_txn_reset(s);
	s->helo[0] = '\0';
	s->esmtp = 0;
	if (have_helo)
		snprintf(s->helo, sizeof s->helo, "%s", helo);
	session_set_proto(s);
	if (have_proto)
		snprintf(s->proto, sizeof s->proto, "%s", proto);
	/* As Postfix does: the session starts again with a greeting. */
	session_reply(s, 220, "%s ESMTP mxtower", s->prm.hostname);
	return;
syntax:
	session_reply(s, 501, "5.5.4 Syntax: XCLIENT attribute=value...");
}

/* Web verbs on the SMTP port are a cross-protocol attack; there is nothing to answer. */
static void cmd_http(struct smtp_session *s, struct slice arg)
{
	log_info("smtp: client=%s sent an HTTP request, closing", s->ip);
	session_reply(s, 521, "5.5.1 %s Error: this is an SMTP server", s->prm.hostname);
	session_txn_reset(s);
	session_close(s);
}

static const struct verb verbs[] = {
    {"HELO", 0, cmd_helo, NULL},
    {"EHLO", 0, cmd_ehlo, NULL},
    {"MAIL", CK_HELO | CK_NOMAIL, cmd_mail, NULL},
    {"RCPT", CK_HELO | CK_MAIL, cmd_rcpt, NULL},
    {"DATA", CK_NOARGS | CK_HELO | CK_MAIL | CK_RCPT, cmd_data, "DATA"},
    {"BDAT", CK_REFUSED, cmd_bdat, NULL}, /* checks its state itself, after the octets */
    {"RSET", CK_NOARGS, cmd_rset, "RSET"},
    {"NOOP", 0, cmd_noop, NULL},
    {"QUIT", CK_NOARGS | CK_REFUSED, cmd_quit, "QUIT"},
    {"VRFY", 0, cmd_vrfy, NULL},
    {"HELP", 0, cmd_help, NULL},
    {"STARTTLS", CK_NOARGS, cmd_starttls, "STARTTLS"},
    {"XCLIENT", CK_NOMAIL, cmd_xclient, NULL},
    {"GET", CK_REFUSED, cmd_http, NULL},
    {"POST", CK_REFUSED, cmd_http, NULL},
    {"CONNECT", CK_REFUSED, cmd_http, NULL},
};

static void dispatch(struct smtp_session *s, struct slice line)
{
	struct slice verb, arg;
	const struct verb *v = NULL;

	if (smtp_cmd_split(line, &verb, &arg) < 0) {
		session_reply(s, 500, "5.5.2 Error: bad syntax");
		return;
	}
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (slice_eq_ci(verb, verbs[i].name)) {
			v = &verbs[i];
			break;
		}
	if (v == NULL) {
		session_reply(s, 500, "5.5.2 Error: command not recognized");
		return;
	}
	if (s->refused && !(v->check & CK_REFUSED)) {
		session_reply(s, 503, "5.5.1 Error: SMTP protocol synchronization");
		return;
	}
	if ((v->check & CK_NOARGS) && arg.len) {
		session_reply(s, 501, "5.5.4 Syntax: %s", v->syntax);
		return;
	}
	if ((v->check & CK_HELO) && s->helo[0] == '\0') {
		session_reply(s, 503, "5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if ((v->check & CK_NOMAIL) && s->has_mail) {
		session_reply(s, 503, "5.5.1 Error: nested MAIL command");
		return;
	}
	if ((v->check & CK_MAIL) && !s->has_mail) {
		session_reply(s, 503, "5.5.1 Error: need MAIL command");
		return;
	}
	if ((v->check & CK_RCPT) && s->txn.nrcpts == 0) {
		session_reply(s, 554, "5.5.1 Error: no valid recipients");
		return;
	}
	v->proceed(s, arg);
}

size_t session_feed_command(struct smtp_session *s, const char *p, size_t len)
{
	const char *lf = memchr(p, '\n', len);
	size_t seg = lf ? (size_t)(lf - p) : len;
	struct slice line;

	if (!s->line_overflow && s->line.len + seg + (lf ? 1 : 0) > s->prm.max_line)
		s->line_overflow = 1;
	/* line_overflow 2: no memory for the line, a temporary failure and not the peer's fault. */
	if (!s->line_overflow && buf_append(&s->line, p, seg) < 0)
		s->line_overflow = 2;
	if (lf == NULL)
		return len;
	s->progress++;
	line.p = s->line.p ? s->line.p : "";
	line.len = s->line.len;
	if (s->line_overflow == 2)
		session_reply(s, 451, "4.3.0 Error: out of memory");
	else if (s->line_overflow)
		session_reply(s, 500, "5.5.2 Error: line too long");
	else if (line.len == 0 || line.p[line.len - 1] != '\r')
		session_reply(s, 500, "5.5.2 Error: bare <LF> received; lines end with <CR><LF>");
	else
		dispatch(s, (struct slice){line.p, line.len - 1});
	buf_reset(&s->line);
	s->line_overflow = 0;
	session_after_command(s);
	return seg + 1;
}
