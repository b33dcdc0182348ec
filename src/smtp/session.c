/*
 * session - see session.h. This file holds the session's life, the reply buffer, the error
 * policy and the message bytes (DATA and BDAT chunks); the command table is in session_cmd.c.
 * The SMTP server's reply codes are chosen in these two files, except the ones a backend
 * returns through struct smtp_reply.
 *
 * Error policy: every 4xx/5xx reply to a command counts against max_errors (except 452 4.5.3
 * for too many recipients, which is flow control); at the limit the session answers 421 and
 * closes.
 * Protocol violations that desynchronise the stream (bare CR/LF/NUL in a message, BDAT without
 * a count, HTTP verbs) close at once with 521.
 */
#include "smtp/session.h"

#include "core/log.h"
#include "core/parse.h"
#include "smtp/command.h"
#include "smtp/datastream.h"
#include "smtp/session_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void smtp_reply_set(struct smtp_reply *r, int code, const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof r->text, fmt, ap);
	va_end(ap);
}

void session_close(struct smtp_session *s)
{
	s->mode = M_CLOSED;
}

/*
 * Append one reply line; a peer that lets replies pile up past SMTP_OUT_MAX (or a reply we
 * cannot allocate room for) is dropped. Nothing is added once closing: the rest of a
 * multi-line reply whose middle line failed would reach the peer as a complete reply.
 */
void session_reply_line(struct smtp_session *s, int code, char sep, const char *text)
{
	if (s->mode == M_CLOSED)
		return;
	if (buf_printf(&s->out, "%03d%c%s\r\n", code, sep, text) < 0) {
		log_warn("smtp: client=%s reply buffer full, closing", s->ip);
		session_close(s);
	}
}

void session_reply(struct smtp_session *s, int code, const char *fmt, ...)
{
	char text[SMTP_REPLY_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	session_reply_line(s, code, ' ', text);
	if (code >= 400 && code != 421)
		s->errors++;
}

void session_reply_r(struct smtp_session *s, const struct smtp_reply *r)
{
	session_reply(s, r->code, "%s", r->text);
}

/* After a command: too many errors, or draining with no transaction left, ends the session. */
void session_after_command(struct smtp_session *s)
{
	if (s->mode == M_CLOSED || s->mode == M_TLS || s->mode == M_WAIT)
		return;
	if (s->errors >= s->prm.max_errors) {
		log_info("smtp: client=%s too many errors (%u), closing", s->ip, s->errors);
		session_reply(s, 421, "4.7.0 %s Error: too many errors", s->prm.hostname);
		session_close(s);
	} else if (s->draining && !s->has_mail && !s->data_open) {
		session_reply(s, 421,
		              "4.3.2 %s Service shutting down, closing transmission channel",
		              s->prm.hostname);
		session_close(s);
	}
}

static void txn_free_rcpts(struct smtp_session *s)
{
	for (size_t i = 0; i < s->txn.nrcpts; i++)
		free(s->txn.rcpts[i]);
	s->txn.nrcpts = 0;
}

/* Forget the transaction; an open message is aborted. */
void session_txn_reset(struct smtp_session *s)
{
	if (s->data_open && s->ops && s->ops->data_abort)
		s->ops->data_abort(s->ctx);
	s->data_open = 0;
	s->has_mail = 0;
	s->bdat_seen = 0;
	s->mail_from[0] = '\0';
	txn_free_rcpts(s);
	s->txn.smtputf8 = s->txn.body_8bit = 0;
	s->txn.size_hint = 0;
	s->data_err = DE_NONE;
	s->data_bytes = 0;
	if (s->ops && s->ops->txn_reset)
		s->ops->txn_reset(s->ctx);
}

void session_set_proto(struct smtp_session *s)
{
	snprintf(s->proto, sizeof s->proto, "%s", !s->esmtp ? "SMTP" : s->tls ? "ESMTPS" : "ESMTP");
}

struct smtp_session *smtp_session_new(const struct smtp_session_params *p, const char *client_ip,
                                      const char *client_host)
{
	struct smtp_session *s = calloc(1, sizeof *s);

	if (s == NULL)
		return NULL;
	s->prm = *p;
	snprintf(s->ip, sizeof s->ip, "%s", client_ip);
	snprintf(s->host, sizeof s->host, "%s", client_host ? client_host : "");
	buf_init(&s->line, p->max_line);
	buf_init(&s->out, SMTP_OUT_MAX);
	s->txn.helo = s->helo;
	s->txn.client_ip = s->ip;
	s->txn.client_host = s->host;
	s->txn.proto = s->proto;
	s->txn.mail_from = s->mail_from;
	s->txn.tls_info = s->tls_info;
	session_set_proto(s);
	return s;
}

void smtp_session_free(struct smtp_session *s)
{
	if (s == NULL)
		return;
	if (s->data_open && s->ops && s->ops->data_abort)
		s->ops->data_abort(s->ctx);
	txn_free_rcpts(s);
	free(s->txn.rcpts);
	buf_free(&s->line);
	buf_free(&s->out);
	free(s);
}

void smtp_session_set_backend(struct smtp_session *s, const struct smtp_session_ops *ops, void *ctx)
{
	s->ops = ops;
	s->ctx = ctx;
}

void smtp_session_set_wakeup(struct smtp_session *s, void (*wakeup)(void *arg), void *arg)
{
	s->wakeup = wakeup;
	s->wakeup_arg = arg;
}

void smtp_session_greet(struct smtp_session *s, enum smtp_greet kind)
{
	if (s->greeted || s->mode == M_CLOSED)
		return;
	s->greeted = 1;
	switch (kind) {
	case SMTP_GREET_OK:
		if (s->early) {
			/* RFC 5321 3.1: 554 instead of 220, then 503 to all but QUIT. */
			log_info("smtp: client=%s pregreet: talked before the greeting", s->ip);
			s->refused = 1;
			session_reply_line(s, 554, ' ',
			                   "5.5.1 Error: SMTP protocol synchronization");
		} else {
			char text[SMTP_REPLY_TEXT_MAX];

			snprintf(text, sizeof text, "%s ESMTP mxtower", s->prm.hostname);
			session_reply_line(s, 220, ' ', text);
		}
		return;
	case SMTP_GREET_BUSY:
		session_reply(s, 421, "4.3.2 %s Service busy, too many sessions", s->prm.hostname);
		break;
	case SMTP_GREET_PER_IP:
		session_reply(s, 421, "4.7.0 %s Error: too many sessions from %s", s->prm.hostname,
		              s->ip);
		break;
	case SMTP_GREET_DRAINING:
		session_reply(s, 421, "4.3.2 %s Service shutting down", s->prm.hostname);
		break;
	}
	session_close(s);
}

/* ---- message bytes ---- */

static void data_emit(void *arg, const char *p, size_t len)
{
	struct smtp_session *s = arg;
	int r;

	if (s->data_err != DE_NONE || s->chunk_discard)
		return;
	s->data_bytes += len;
	if (s->data_bytes > s->prm.max_message_size) {
		s->data_err = DE_TOOBIG;
		return;
	}
	r = s->ops && s->ops->data_write ? s->ops->data_write(s->ctx, p, len) : 0;
	if (r == -ENOSPC)
		s->data_err = DE_NOSPACE;
	else if (r == -EFBIG)
		s->data_err = DE_TOOBIG;
	else if (r < 0)
		s->data_err = DE_IO;
}

static void data_bad(struct smtp_session *s)
{
	const char *what = s->dec.bad_byte == '\n'   ? "bare <LF>"
	                   : s->dec.bad_byte == '\r' ? "bare <CR>"
	                                             : "NUL byte";

	log_warn("smtp: client=%s %s in message, rejected and disconnected (smuggling defence)",
	         s->ip, what);
	session_reply(s, 521, "5.5.2 %s Error: %s received in message", s->prm.hostname, what);
	session_txn_reset(s);
	session_close(s);
}

/* The message is complete: answer its errors now, or hand it to the backend. */
static void data_finish(struct smtp_session *s)
{
	if (s->data_err == DE_NONE && s->dec.line_too_long)
		s->data_err = DE_LINE;
	s->mode = M_COMMAND;
	switch (s->data_err) {
	case DE_NONE:
		break;
	case DE_TOOBIG:
		session_reply(s, 552, "5.3.4 Error: message size exceeds fixed limit");
		goto failed;
	case DE_NOSPACE:
		session_reply(s, 452, "4.3.1 Error: insufficient system storage");
		goto failed;
	case DE_IO:
		session_reply(s, 451, "4.3.0 Error: local error in processing");
		goto failed;
	case DE_LINE:
		session_reply(s, 500, "5.5.2 Error: line too long");
		goto failed;
	}
	s->mode = M_WAIT;
	if (s->ops && s->ops->data_close) {
		s->ops->data_close(s->ctx, &s->txn);
	} else {
		struct smtp_reply r;

		smtp_reply_set(&r, 250, "2.0.0 Ok");
		smtp_session_data_done(s, &r);
	}
	return;
failed:
	session_txn_reset(s);
}

void smtp_session_data_done(struct smtp_session *s, const struct smtp_reply *r)
{
	if (s->mode != M_WAIT)
		log_panic("smtp: data_done outside of a message (mode %d)", (int)s->mode);
	s->mode = M_COMMAND;
	s->data_open = 0; /* the backend owns the message's fate now */
	session_reply_r(s, r);
	session_txn_reset(s);
	session_after_command(s);
	if (!s->in_feed && s->wakeup)
		s->wakeup(s->wakeup_arg);
}

static size_t feed_data(struct smtp_session *s, const char *p, size_t len)
{
	size_t used = 0;
	enum smtp_data_status st = smtp_data_decode(&s->dec, p, len, &used, data_emit, s);

	s->progress++;
	if (st == SMTP_DATA_BAD)
		data_bad(s);
	else if (st == SMTP_DATA_END)
		data_finish(s);
	return used;
}

void session_chunk_done(struct smtp_session *s)
{
	s->mode = M_COMMAND;
	if (s->chunk_discard) {
		s->chunk_discard = 0;
		session_reply_r(s, &s->chunk_reply);
		session_txn_reset(s);
	} else if (s->chunk_last) {
		if (smtp_data_finish(&s->dec, data_emit, s) == SMTP_DATA_BAD)
			data_bad(s);
		else
			data_finish(s);
	} else if (s->data_err != DE_NONE) {
		data_finish(s); /* answers the error and resets */
	} else {
		session_reply(s, 250, "2.0.0 %llu octets received",
		              (unsigned long long)s->data_bytes);
	}
	session_after_command(s);
}

static size_t feed_chunk(struct smtp_session *s, const char *p, size_t len)
{
	size_t n = len < s->chunk_left ? len : (size_t)s->chunk_left, used = 0;

	s->progress++;
	if (!s->chunk_discard &&
	    smtp_data_decode(&s->dec, p, n, &used, data_emit, s) == SMTP_DATA_BAD) {
		data_bad(s);
		return used;
	}
	s->chunk_left -= n;
	if (s->chunk_left == 0)
		session_chunk_done(s);
	return n;
}

size_t smtp_session_feed(struct smtp_session *s, const char *p, size_t len)
{
	size_t used = 0;

	s->in_feed++;
	if (!s->greeted) {
		/* Early talker: nothing said before the greeting is ever executed. */
		s->early = 1;
		used = len;
		goto out;
	}
	while (used < len) {
		if (s->mode == M_CLOSED || s->mode == M_TLS) {
			/* After STARTTLS, plaintext that followed it is an injection (RFC 3207 5).
			 */
			used = len;
			break;
		}
		if (s->mode == M_WAIT)
			break;
		if (s->mode == M_DATA)
			used += feed_data(s, p + used, len - used);
		else if (s->mode == M_BDAT)
			used += feed_chunk(s, p + used, len - used);
		else
			used += session_feed_command(s, p + used, len - used);
	}
out:
	s->in_feed--;
	return used;
}

void smtp_session_timeout(struct smtp_session *s)
{
	if (s->mode == M_CLOSED || s->mode == M_WAIT)
		return;
	log_info("smtp: client=%s timeout in %s", s->ip,
	         s->mode == M_COMMAND ? "command"
	         : s->mode == M_TLS   ? "tls"
	                              : "data");
	session_reply(s, 421, "4.4.2 %s Error: timeout exceeded", s->prm.hostname);
	session_txn_reset(s);
	session_close(s);
}

void smtp_session_drain(struct smtp_session *s)
{
	s->draining = 1;
	if (s->greeted && s->mode == M_COMMAND)
		session_after_command(s);
}

void smtp_session_tls_started(struct smtp_session *s, const char *info)
{
	s->tls = 1;
	snprintf(s->tls_info, sizeof s->tls_info, "%s", info ? info : "");
	s->esmtp = 0;
	s->helo[0] = '\0';
	buf_reset(&s->line);
	s->line_overflow = 0;
	session_txn_reset(s);
	session_set_proto(s);
	s->mode = M_COMMAND;
}

struct buf *smtp_session_output(struct smtp_session *s)
{
	return &s->out;
}

unsigned smtp_session_wants(const struct smtp_session *s)
{
	switch (s->mode) {
	case M_CLOSED:
		return SMTP_WANT_CLOSE;
	case M_TLS:
		return SMTP_WANT_TLS;
	case M_WAIT:
		return SMTP_WANT_WAIT;
	default:
		return SMTP_WANT_NONE;
	}
}

enum smtp_phase smtp_session_phase(const struct smtp_session *s)
{
	if (s->mode == M_WAIT)
		return SMTP_PHASE_WAIT;
	if (s->mode == M_DATA || s->mode == M_BDAT)
		return SMTP_PHASE_DATA;
	return SMTP_PHASE_COMMAND;
}

uint64_t smtp_session_progress(const struct smtp_session *s)
{
	return s->progress;
}

const char *smtp_session_client_ip(const struct smtp_session *s)
{
	return s->ip;
}

int smtp_session_early_talker(const struct smtp_session *s)
{
	return s->early;
}
