/*
 * test_smtp_session - the protocol state machine fed byte sequences, with a fake backend.
 *
 * Each table case is a conversation: the input bytes, the reply codes expected in order (the
 * last line of each reply), how many messages reached the backend, and what the first one
 * held. Every case runs twice, fed whole (pipelined) and one byte at a time, and both runs must
 * answer the same: a server whose behaviour depends on read boundaries can be smuggled past.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "smtp/session.h"

struct fake {
	struct smtp_session *s;
	int async;     /* data_close answers later */
	int write_err; /* data_write returns this */
	int opens, closes, aborts, resets, wakeups, pending;
	struct buf msg, first;
	size_t nmsgs;
	char first_rcpts[512];
};

static int fake_rcpt(void *ctx, const struct smtp_txn *t, const struct smtp_addr *a,
                     struct smtp_reply *r)
{
	if (strcmp(a->domain, "client.example") != 0) {
		smtp_reply_set(r, 550, "5.7.1 <%s>: Relay access denied", a->addr);
		return -ENOENT;
	}
	if (strncmp(a->addr, "nobody@", 7) == 0) {
		smtp_reply_set(r, 550, "5.1.1 <%s>: Recipient address rejected", a->addr);
		return -ESRCH;
	}
	return 0;
}

static void fake_reset(void *ctx)
{
	((struct fake *)ctx)->resets++;
}

static int fake_open(void *ctx, const struct smtp_txn *t, struct smtp_reply *r)
{
	struct fake *f = ctx;

	f->opens++;
	buf_reset(&f->msg);
	return 0;
}

static int fake_write(void *ctx, const char *p, size_t len)
{
	struct fake *f = ctx;

	if (f->write_err)
		return f->write_err;
	return buf_append(&f->msg, p, len);
}

static void fake_close(void *ctx, const struct smtp_txn *t)
{
	struct fake *f = ctx;
	struct smtp_reply r;

	f->closes++;
	if (f->nmsgs++ == 0) {
		buf_append(&f->first, f->msg.p ? f->msg.p : "", f->msg.len);
		for (size_t i = 0; i < t->nrcpts; i++) {
			strcat(f->first_rcpts, t->rcpts[i]);
			strcat(f->first_rcpts, " ");
		}
	}
	if (f->async) {
		f->pending = 1;
		return;
	}
	smtp_reply_set(&r, 250, "2.0.0 Ok: queued as TEST%zu", f->nmsgs);
	smtp_session_data_done(f->s, &r);
}

static void fake_abort(void *ctx)
{
	((struct fake *)ctx)->aborts++;
}

static const struct smtp_session_ops fake_ops = {
    .txn_reset = fake_reset,
    .rcpt = fake_rcpt,
    .data_open = fake_open,
    .data_write = fake_write,
    .data_close = fake_close,
    .data_abort = fake_abort,
};

static void fake_wakeup(void *arg)
{
	((struct fake *)arg)->wakeups++;
}

static struct smtp_session_params params(void)
{
	struct smtp_session_params p = {
	    .hostname = "mx.test",
	    .max_line = 100,
	    .max_message_size = 200,
	    .max_recipients = 3,
	    .max_errors = 5,
	    .flags = SMTP_OFFER_STARTTLS,
	};
	return p;
}

static void fake_init(struct fake *f, const struct smtp_session_params *p)
{
	memset(f, 0, sizeof *f);
	buf_init(&f->msg, 1 << 20);
	buf_init(&f->first, 1 << 20);
	f->s = smtp_session_new(p, "192.0.2.9", "");
	assert_non_null(f->s);
	smtp_session_set_backend(f->s, &fake_ops, f);
	smtp_session_set_wakeup(f->s, fake_wakeup, f);
}

static void fake_fini(struct fake *f)
{
	smtp_session_free(f->s);
	buf_free(&f->msg);
	buf_free(&f->first);
}

/* The code of every final reply line ("NNN "), space separated, appended to codes. */
static void reply_codes(const struct buf *out, char *codes, size_t sz)
{
	const char *p = out->p ? out->p : "", *end = p + out->len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		assert_non_null(eol);
		assert_true(eol - p >= 5 && eol[-1] == '\r');
		if (p[3] == ' ')
			snprintf(codes + strlen(codes), sz - strlen(codes), "%s%.3s",
			         codes[0] ? " " : "", p);
		p = eol + 1;
	}
}

/* Greet, feed all of in (whole or bytewise), collect codes; returns the session's wants. */
static unsigned converse(struct fake *f, const char *in, size_t len, int bytewise, char *codes,
                         size_t sz, struct buf *all)
{
	size_t off = 0;

	smtp_session_greet(f->s, SMTP_GREET_OK);
	while (off < len) {
		size_t n = bytewise ? 1 : len - off, used = smtp_session_feed(f->s, in + off, n);

		off += used;
		if (smtp_session_wants(f->s) & (SMTP_WANT_CLOSE | SMTP_WANT_TLS | SMTP_WANT_WAIT))
			break;
		assert_int_equal(used, n);
	}
	buf_append(all, smtp_session_output(f->s)->p, smtp_session_output(f->s)->len);
	codes[0] = '\0';
	reply_codes(all, codes, sz);
	return smtp_session_wants(f->s);
}

struct conv_case {
	const char *name;
	const char *in;
	size_t inlen;
	const char *codes;
	size_t nmsgs;
	const char *msg; /* first message's bytes, or NULL not to check */
	unsigned wants;
	const char *text; /* a substring the replies must hold, or NULL */
};

#define IN(s) s, sizeof(s) - 1
#define HELLO "EHLO c.example\r\nMAIL FROM:<s@sender.example>\r\nRCPT TO:<u@client.example>\r\n"

static const struct conv_case conv[] = {
    {"basic", IN(HELLO "DATA\r\nSubject: t\r\n\r\nhi\r\n..dot\r\n.\r\nQUIT\r\n"),
     "220 250 250 250 354 250 221", 1, "Subject: t\r\n\r\nhi\r\n.dot\r\n", SMTP_WANT_CLOSE,
     "queued as TEST1"},
    {"two messages pipelined",
     IN(HELLO "DATA\r\na\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<v@client.example>\r\nDATA\r\nb\r\n.\r\n"),
     "220 250 250 250 354 250 250 250 354 250", 2, "a\r\n", 0, NULL},
    {"helo first", IN("MAIL FROM:<s@sender.example>\r\n"), "220 503", 0, NULL, 0,
     "send HELO/EHLO first"},
    {"helo", IN("HELO c.example\r\nMAIL FROM:<s@sender.example> SIZE=10\r\n"), "220 250 555", 0,
     NULL, 0, NULL},
    {"ehlo extensions", IN("EHLO c.example\r\n"), "220 250", 0, NULL, 0,
     "250-PIPELINING\r\n250-SIZE 200\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n"
     "250-SMTPUTF8\r\n250-CHUNKING\r\n250 STARTTLS\r\n"},
    {"need rcpt", IN("EHLO c.example\r\nMAIL FROM:<s@sender.example>\r\nDATA\r\n"),
     "220 250 250 554", 0, NULL, 0, NULL},
    {"nested mail", IN(HELLO "MAIL FROM:<s@sender.example>\r\n"), "220 250 250 250 503", 0, NULL, 0,
     NULL},
    {"rcpt before mail", IN("EHLO c.example\r\nRCPT TO:<u@client.example>\r\n"), "220 250 503", 0,
     NULL, 0, NULL},
    {"rset", IN(HELLO "RSET\r\nDATA\r\nNOOP\r\n"), "220 250 250 250 250 503 250", 0, NULL, 0, NULL},
    {"vrfy", IN("VRFY u@client.example\r\n"), "220 252", 0, NULL, 0, NULL},
    {"unknown", IN("FOO bar\r\n"), "220 500", 0, NULL, 0, "not recognized"},
    {"relay denied", IN("EHLO c\r\nMAIL FROM:<s@sender.example>\r\nRCPT TO:<u@other.example>\r\n"),
     "220 250 250 550", 0, NULL, 0, "5.7.1"},
    {"unknown user", IN("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<nobody@client.example>\r\n"),
     "220 250 250 550", 0, NULL, 0, "5.1.1"},
    {"percent hack", IN("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<u%other.example@client.example>\r\n"),
     "220 250 250 550", 0, NULL, 0, "5.7.1"},
    {"bang path", IN("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<other.example!u@client.example>\r\n"),
     "220 250 250 550", 0, NULL, 0, "5.7.1"},
    {"source route", IN("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<@client.example:u@other.example>\r\n"),
     "220 250 250 550", 0, NULL, 0, "5.7.1"},
    {"quoted at", IN("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<\"u@other.example\"@client.example>\r\n"),
     "220 250 250 550", 0, NULL, 0, "5.7.1"},
    {"empty domain", IN("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<u@>\r\n"), "220 250 250 550", 0, NULL,
     0, "5.7.1"},
    {"ip literal", IN("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<u@[127.0.0.1]>\r\n"), "220 250 250 550",
     0, NULL, 0, "5.7.1"},
    {"bad rcpt syntax", IN("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:u@client.example\r\n"),
     "220 250 250 501", 0, NULL, 0, NULL},
    {"too many rcpts",
     IN("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@client.example>\r\nRCPT TO:<b@client.example>\r\n"
        "RCPT TO:<c@client.example>\r\nRCPT TO:<d@client.example>\r\nDATA\r\nx\r\n.\r\n"),
     "220 250 250 250 250 250 452 354 250", 1, "x\r\n", 0, "4.5.3"},
    {"size param", IN("EHLO c\r\nMAIL FROM:<s@sender.example> SIZE=201\r\n"), "220 250 552", 0,
     NULL, 0, "5.3.4"},
    {"size exceeded",
     IN(HELLO "DATA\r\n"
              "0123456789012345678901234567890123456789\r\n"
              "0123456789012345678901234567890123456789\r\n"
              "0123456789012345678901234567890123456789\r\n"
              "0123456789012345678901234567890123456789\r\n"
              "0123456789012345678901234567890123456789\r\n"
              ".\r\nNOOP\r\n"),
     "220 250 250 250 354 552 250", 0, NULL, 0, "5.3.4"},
    {"smtputf8 needed", IN("EHLO c\r\nMAIL FROM:<j\xc3\xb6rg@sender.example>\r\n"), "220 250 553",
     0, NULL, 0, "5.6.7"},
    {"smtputf8",
     IN("EHLO c\r\nMAIL FROM:<j\xc3\xb6rg@sender.example> SMTPUTF8 BODY=8BITMIME\r\n"
        "RCPT TO:<j\xc3\xb6rg@client.example>\r\n"),
     "220 250 250 250", 0, NULL, 0, NULL},
    {"command line too long",
     IN("NOOP 0123456789012345678901234567890123456789012345678901234567890123456789"
        "012345678901234567890123456789\r\nNOOP\r\n"),
     "220 500 250", 0, NULL, 0, "line too long"},
    {"data line too long",
     IN(HELLO "DATA\r\n0123456789012345678901234567890123456789012345678901234567890123456789"
              "012345678901234567890123456789\r\n.\r\n"),
     "220 250 250 250 354 500", 0, NULL, 0, "line too long"},
    {"bare LF command", IN("NOOP\nNOOP\r\n"), "220 500 250", 0, NULL, 0, "bare <LF>"},
    {"too many errors", IN("A\r\nB\r\nC\r\nD\r\nE\r\nNOOP\r\n"), "220 500 500 500 500 500 421", 0,
     NULL, SMTP_WANT_CLOSE, "too many errors"},
    /* smuggling: none of these ends the message or runs the commands after it */
    {"smuggle LF.LF",
     IN(HELLO "DATA\r\na\n.\nMAIL FROM:<x@evil.example>\r\nRCPT TO:<u@client.example>\r\n"
              "DATA\r\nsmuggled\r\n.\r\n"),
     "220 250 250 250 354 521", 0, NULL, SMTP_WANT_CLOSE, "bare <LF>"},
    {"smuggle CR.CR", IN(HELLO "DATA\r\na\r.\rMAIL FROM:<x@evil.example>\r\n.\r\n"),
     "220 250 250 250 354 521", 0, NULL, SMTP_WANT_CLOSE, "bare <CR>"},
    {"smuggle CRLF.LF", IN(HELLO "DATA\r\na\r\n.\nMAIL FROM:<x@evil.example>\r\n.\r\n"),
     "220 250 250 250 354 521", 0, NULL, SMTP_WANT_CLOSE, "bare <LF>"},
    {"smuggle LF.CRLF", IN(HELLO "DATA\r\na\n.\r\nMAIL FROM:<x@evil.example>\r\n.\r\n"),
     "220 250 250 250 354 521", 0, NULL, SMTP_WANT_CLOSE, "bare <LF>"},
    {"smuggle NUL.", IN(HELLO "DATA\r\na\r\n\0.\r\nMAIL FROM:<x@evil.example>\r\n.\r\n"),
     "220 250 250 250 354 521", 0, NULL, SMTP_WANT_CLOSE, "NUL"},
    {"bdat", IN(HELLO "BDAT 5\r\nhelloBDAT 8 LAST\r\n world\r\nQUIT\r\n"),
     "220 250 250 250 250 250 221", 1, "hello world\r\n", SMTP_WANT_CLOSE, "5 octets"},
    {"bdat no crlf at end", IN(HELLO "BDAT 3 LAST\r\nabc"), "220 250 250 250 250", 1, "abc\r\n", 0,
     NULL},
    {"bdat 0 last", IN(HELLO "BDAT 3\r\nab\nBDAT 0 LAST\r\n"), "220 250 250 250 521", 0, NULL,
     SMTP_WANT_CLOSE, NULL},
    {"bdat swallowed when refused", IN("EHLO c\r\nBDAT 6 LAST\r\nQUIT\r\nNOOP\r\n"),
     "220 250 503 250", 0, NULL, 0, "need MAIL"},
    {"bdat too big", IN(HELLO "BDAT 300 LAST\r\n"), "220 250 250 250", 0, NULL, 0, NULL},
    {"bdat bad count", IN(HELLO "BDAT x\r\nQUIT\r\n"), "220 250 250 250 501", 0, NULL,
     SMTP_WANT_CLOSE, NULL},
    {"data after bdat", IN(HELLO "BDAT 1\r\naDATA\r\n"), "220 250 250 250 250 503", 0, NULL, 0,
     NULL},
    {"starttls", IN("EHLO c\r\nSTARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n"), "220 250 220",
     0, NULL, SMTP_WANT_TLS, "Ready to start TLS"},
    {"xclient refused", IN("EHLO c\r\nXCLIENT ADDR=192.0.2.1\r\n"), "220 250 550", 0, NULL, 0,
     "5.7.0"},
    {"http", IN("GET / HTTP/1.1\r\nHost: x\r\n"), "220 521", 0, NULL, SMTP_WANT_CLOSE, NULL},
};

static void test_conversations(void **state)
{
	struct smtp_session_params p = params();

	(void)state;
	for (size_t i = 0; i < sizeof conv / sizeof conv[0]; i++) {
		const struct conv_case *c = &conv[i];
		char first_codes[512] = "";

		for (int bytewise = 0; bytewise <= 1; bytewise++) {
			struct fake f;
			char codes[512];
			struct buf all;
			unsigned wants;

			buf_init(&all, 1 << 20);
			fake_init(&f, &p);
			wants = converse(&f, c->in, c->inlen, bytewise, codes, sizeof codes, &all);
			if (strcmp(codes, c->codes) != 0)
				fail_msg("%s (%s): codes '%s', want '%s'\n%s", c->name,
				         bytewise ? "bytewise" : "whole", codes, c->codes, all.p);
			if (bytewise)
				assert_string_equal(codes, first_codes);
			snprintf(first_codes, sizeof first_codes, "%s", codes);
			if (f.nmsgs != c->nmsgs)
				fail_msg("%s: %zu messages, want %zu", c->name, f.nmsgs, c->nmsgs);
			if (c->msg) {
				assert_int_equal(f.first.len, strlen(c->msg));
				assert_memory_equal(f.first.p, c->msg, f.first.len);
			}
			if (wants != c->wants)
				fail_msg("%s: wants %#x, want %#x", c->name, wants, c->wants);
			if (c->text && strstr(all.p, c->text) == NULL)
				fail_msg("%s: no '%s' in\n%s", c->name, c->text, all.p);
			/* once the session is gone, every message opened was handed over or
			 * aborted exactly once */
			smtp_session_free(f.s);
			f.s = NULL;
			if (f.opens != f.closes + f.aborts)
				fail_msg("%s: %d opened, %d closed, %d aborted", c->name, f.opens,
				         f.closes, f.aborts);
			fake_fini(&f);
			buf_free(&all);
		}
	}
}

/* The backend answers later: input after the message waits, then runs after the wakeup. */
static void test_async_backend(void **state)
{
	static const char in[] = HELLO "DATA\r\nx\r\n.\r\nNOOP\r\n";
	struct smtp_session_params p = params();
	struct fake f;
	struct smtp_reply r;
	size_t used;
	char codes[128] = "";

	(void)state;
	fake_init(&f, &p);
	f.async = 1;
	smtp_session_greet(f.s, SMTP_GREET_OK);
	used = smtp_session_feed(f.s, in, sizeof in - 1);
	assert_int_equal(used, sizeof in - 1 - strlen("NOOP\r\n"));
	assert_int_equal(smtp_session_wants(f.s), SMTP_WANT_WAIT);
	assert_int_equal(smtp_session_phase(f.s), SMTP_PHASE_WAIT);
	assert_int_equal(smtp_session_feed(f.s, in + used, 6), 0);
	smtp_reply_set(&r, 250, "2.0.0 Ok: queued as LATER");
	smtp_session_data_done(f.s, &r);
	assert_int_equal(f.wakeups, 1);
	assert_int_equal(smtp_session_feed(f.s, in + used, 6), 6);
	reply_codes(smtp_session_output(f.s), codes, sizeof codes);
	assert_string_equal(codes, "220 250 250 250 354 250 250");
	assert_int_equal(f.aborts, 0);
	fake_fini(&f);
}

/* A disconnect while the backend works aborts the message exactly once. */
static void test_free_while_waiting(void **state)
{
	static const char in[] = HELLO "DATA\r\nx\r\n.\r\n";
	struct smtp_session_params p = params();
	struct fake f;

	(void)state;
	fake_init(&f, &p);
	f.async = 1;
	smtp_session_greet(f.s, SMTP_GREET_OK);
	smtp_session_feed(f.s, in, sizeof in - 1);
	assert_int_equal(f.closes, 1);
	smtp_session_free(f.s);
	f.s = NULL;
	assert_int_equal(f.aborts, 1);
	fake_fini(&f);
}

static void test_early_talker(void **state)
{
	struct smtp_session_params p = params();
	struct fake f;
	char codes[128] = "";

	(void)state;
	fake_init(&f, &p);
	assert_int_equal(smtp_session_feed(f.s, IN("EHLO early\r\n")), strlen("EHLO early\r\n"));
	assert_true(smtp_session_early_talker(f.s));
	smtp_session_greet(f.s, SMTP_GREET_OK);
	smtp_session_feed(f.s, IN("EHLO c\r\nMAIL FROM:<>\r\nQUIT\r\n"));
	reply_codes(smtp_session_output(f.s), codes, sizeof codes);
	assert_string_equal(codes, "554 503 503 221");
	assert_int_equal(smtp_session_wants(f.s), SMTP_WANT_CLOSE);
	fake_fini(&f);
}

static void test_greetings_refused(void **state)
{
	static const enum smtp_greet kinds[] = {SMTP_GREET_BUSY, SMTP_GREET_PER_IP,
	                                        SMTP_GREET_DRAINING};
	struct smtp_session_params p = params();

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct fake f;

		fake_init(&f, &p);
		smtp_session_greet(f.s, kinds[i]);
		assert_memory_equal(smtp_session_output(f.s)->p, "421 4.", 6);
		assert_int_equal(smtp_session_wants(f.s), SMTP_WANT_CLOSE);
		fake_fini(&f);
	}
}

static void test_starttls_resets(void **state)
{
	struct smtp_session_params p = params();
	struct fake f;
	struct buf *out;

	(void)state;
	fake_init(&f, &p);
	smtp_session_greet(f.s, SMTP_GREET_OK);
	smtp_session_feed(f.s, IN("EHLO c\r\nSTARTTLS\r\nRCPT TO:<injected@client.example>\r\n"));
	assert_int_equal(smtp_session_wants(f.s), SMTP_WANT_TLS);
	smtp_session_tls_started(f.s, "TLSv1.3 TEST");
	out = smtp_session_output(f.s);
	buf_reset(out);
	/* the pipelined plaintext RCPT was dropped; the TLS session needs EHLO again */
	smtp_session_feed(f.s, IN("MAIL FROM:<>\r\nEHLO c\r\n"));
	assert_non_null(strstr(out->p, "503 5.5.1"));
	assert_null(strstr(out->p, "STARTTLS"));
	fake_fini(&f);
}

static void test_xclient(void **state)
{
	struct smtp_session_params p = params();
	struct fake f;
	char codes[128] = "";

	(void)state;
	p.flags |= SMTP_ALLOW_XCLIENT;
	fake_init(&f, &p);
	smtp_session_greet(f.s, SMTP_GREET_OK);
	smtp_session_feed(f.s, IN("EHLO proxy\r\nXCLIENT ADDR=198.51.100.7 NAME=mx.sender.example"
	                          "\r\nMAIL FROM:<>\r\nEHLO real\r\nXCLIENT ADDR=bogus\r\n"));
	reply_codes(smtp_session_output(f.s), codes, sizeof codes);
	assert_string_equal(codes, "220 250 220 503 250 501");
	assert_string_equal(smtp_session_client_ip(f.s), "198.51.100.7");
	assert_non_null(strstr(smtp_session_output(f.s)->p, "XCLIENT NAME ADDR PROTO HELO"));
	fake_fini(&f);
}

static void test_write_errors(void **state)
{
	static const struct {
		int err;
		const char *text;
	} errs[] = {{-ENOSPC, "452 4.3.1"}, {-EFBIG, "552 5.3.4"}, {-EIO, "451 4.3.0"}};
	struct smtp_session_params p = params();

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct fake f;

		fake_init(&f, &p);
		f.write_err = errs[i].err;
		smtp_session_greet(f.s, SMTP_GREET_OK);
		smtp_session_feed(f.s, IN(HELLO "DATA\r\nx\r\n.\r\n"));
		assert_non_null(strstr(smtp_session_output(f.s)->p, errs[i].text));
		assert_int_equal(f.aborts, 1);
		assert_int_equal(f.closes, 0);
		fake_fini(&f);
	}
}

static void test_timeout_and_drain(void **state)
{
	struct smtp_session_params p = params();
	struct fake f;
	struct smtp_reply r;

	(void)state;
	/* timeout inside DATA aborts the message */
	fake_init(&f, &p);
	smtp_session_greet(f.s, SMTP_GREET_OK);
	smtp_session_feed(f.s, IN(HELLO "DATA\r\npartial"));
	assert_int_equal(smtp_session_phase(f.s), SMTP_PHASE_DATA);
	smtp_session_timeout(f.s);
	assert_non_null(strstr(smtp_session_output(f.s)->p, "421 4.4.2"));
	assert_int_equal(f.aborts, 1);
	assert_int_equal(smtp_session_wants(f.s), SMTP_WANT_CLOSE);
	fake_fini(&f);

	/* drain: an idle session closes now */
	fake_init(&f, &p);
	smtp_session_greet(f.s, SMTP_GREET_OK);
	smtp_session_drain(f.s);
	assert_int_equal(smtp_session_wants(f.s), SMTP_WANT_CLOSE);
	fake_fini(&f);

	/* drain: a message in flight finishes first, then 421 */
	fake_init(&f, &p);
	f.async = 1;
	smtp_session_greet(f.s, SMTP_GREET_OK);
	smtp_session_feed(f.s, IN(HELLO "DATA\r\nx\r\n.\r\n"));
	smtp_session_drain(f.s);
	assert_int_equal(smtp_session_wants(f.s), SMTP_WANT_WAIT);
	smtp_reply_set(&r, 250, "2.0.0 Ok: queued as D");
	smtp_session_data_done(f.s, &r);
	assert_non_null(
	    strstr(smtp_session_output(f.s)->p, "250 2.0.0 Ok: queued as D\r\n421 4.3.2"));
	assert_int_equal(smtp_session_wants(f.s), SMTP_WANT_CLOSE);
	fake_fini(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conversations),
	    cmocka_unit_test(test_async_backend),
	    cmocka_unit_test(test_free_while_waiting),
	    cmocka_unit_test(test_early_talker),
	    cmocka_unit_test(test_greetings_refused),
	    cmocka_unit_test(test_starttls_resets),
	    cmocka_unit_test(test_xclient),
	    cmocka_unit_test(test_write_errors),
	    cmocka_unit_test(test_timeout_and_drain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
