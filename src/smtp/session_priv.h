/*
 * session_priv - the session's insides, shared by session.c (framing, message bytes, replies)
 * and session_cmd.c (the command table). Nobody else includes this.
 */
#ifndef MX_SMTP_SESSION_PRIV_H
#define MX_SMTP_SESSION_PRIV_H

#include "smtp/datastream.h"
#include "smtp/session.h"

/* Reply bytes buffered before the connection layer drains them: one 64 KiB read of pipelined
 * NOOPs makes about 150 KiB of replies; past 1 MiB the peer is not reading and is dropped. */
#define SMTP_OUT_MAX (1024 * 1024)

enum mode { M_COMMAND, M_DATA, M_BDAT, M_WAIT, M_TLS, M_CLOSED };

enum data_err { DE_NONE, DE_TOOBIG, DE_NOSPACE, DE_IO, DE_LINE };

struct smtp_session {
	struct smtp_session_params prm;
	const struct smtp_session_ops *ops;
	void *ctx;
	void (*wakeup)(void *arg);
	void *wakeup_arg;

	enum mode mode;
	int greeted, refused, early, esmtp, tls, draining, in_feed;
	unsigned errors;
	uint64_t progress;
	char ip[SMTP_IP_MAX];
	char host[SMTP_HOST_MAX];
	char helo[SMTP_HELO_MAX + 1];
	char proto[8];
	char tls_info[96];
	struct buf line;
	int line_overflow;
	struct buf out;

	/* the transaction */
	int has_mail, data_open, bdat_seen;
	char mail_from[SMTP_PATH_MAX];
	size_t rcpt_cap;
	struct smtp_txn txn;
	struct smtp_data_decoder dec;
	enum data_err data_err;
	uint64_t data_bytes;
	uint64_t chunk_left;
	int chunk_last, chunk_discard;
	struct smtp_reply chunk_reply; /* answer to a discarded chunk */
};

void session_reply(struct smtp_session *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A reply line that does not count as an error (multi-line EHLO, greeting, 452 4.5.3). */
void session_reply_line(struct smtp_session *s, int code, char sep, const char *text);
void session_reply_r(struct smtp_session *s, const struct smtp_reply *r);
void session_close(struct smtp_session *s);
void session_txn_reset(struct smtp_session *s);
void session_after_command(struct smtp_session *s);
void session_set_proto(struct smtp_session *s);
/* A BDAT chunk's last octet arrived (or it had none): answer or finish the message. */
void session_chunk_done(struct smtp_session *s);
/* Command mode: frame one line (or part of one) and run it. Returns bytes used. */
size_t session_feed_command(struct smtp_session *s, const char *p, size_t len);

#endif
