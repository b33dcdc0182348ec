/*
 * session - the ESMTP server protocol (RFC 5321 with PIPELINING, SIZE, 8BITMIME,
 * ENHANCEDSTATUSCODES, SMTPUTF8, CHUNKING, STARTTLS, XCLIENT) as a pure state machine:
 * bytes in, reply bytes and backend calls out. No sockets, no clock, no TLS: the connection
 * layer (server.c) moves bytes and runs timers; a backend ops table (queue for smtpd, Maildir
 * for the sink) stores messages. That keeps every protocol rule testable by feeding bytes.
 *
 * Flow control: smtp_session_feed() consumes input until the session waits for its backend
 * (end of message: scan and commit run asynchronously), wants TLS, or wants to close; the
 * caller keeps what was not consumed. The backend finishes a message with
 * smtp_session_data_done(); if that happens outside feed, the session calls io.wakeup so the
 * connection layer flushes the reply and feeds the held input again.
 *
 * Owner: the connection layer creates and frees the session; the backend context is owned by
 * whoever created it (see server.h), and the session only borrows it.
 *
 * Limits (all from struct smtp_session_params): line length, message size, recipients, errors.
 */
#ifndef MX_SMTP_SESSION_H
#define MX_SMTP_SESSION_H

#include "core/buf.h"
#include "smtp/address.h"

#include <stddef.h>
#include <stdint.h>

/* Reply text (after the code) we ever build; backends' texts are cut to fit. */
#define SMTP_REPLY_TEXT_MAX 512
/* A HELO argument longer than a domain is refused (RFC 5321 4.5.3.1.2). */
#define SMTP_HELO_MAX 256
/* Textual peer address and name (IPv6 with zone fits in 64). */
#define SMTP_IP_MAX 64
#define SMTP_HOST_MAX 256

/* A reply a backend hands back: code and text, the text starting with the enhanced code. */
struct smtp_reply {
	int code;
	char text[SMTP_REPLY_TEXT_MAX];
};

void smtp_reply_set(struct smtp_reply *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* What the backend sees of the current transaction. Strings are owned by the session. */
struct smtp_txn {
	const char *helo;
	const char *client_ip;
	const char *client_host; /* "" when unknown */
	const char *proto;       /* "SMTP", "ESMTP", "ESMTPS" */
	const char *mail_from;   /* "" for the null sender */
	char **rcpts;            /* accepted recipients, in order */
	size_t nrcpts;
	int smtputf8, body_8bit, tls;
	const char *tls_info; /* "TLSv1.3 TLS_AES_256_GCM_SHA384" or "" */
	uint64_t size_hint;   /* SIZE= or 0 */
};

struct smtp_session_ops {
	/* A new transaction starts or the old is gone (RSET, HELO, end of message). May be NULL. */
	void (*txn_reset)(void *ctx);
	/* Recipient passed syntax and relay-trick checks: 0 accepts; else fill r (4xx/5xx). */
	int (*rcpt)(void *ctx, const struct smtp_txn *t, const struct smtp_addr *a,
	            struct smtp_reply *r);
	/* DATA or first BDAT: open storage. 0, or fill r (4xx) and return < 0. */
	int (*data_open)(void *ctx, const struct smtp_txn *t, struct smtp_reply *r);
	/* Decoded message bytes. 0, -ENOSPC (disk full), -EFBIG, -EIO. */
	int (*data_write)(void *ctx, const char *p, size_t len);
	/* The message is complete; answer later with smtp_session_data_done(). */
	void (*data_close)(void *ctx, const struct smtp_txn *t);
	/* Throw the open message away (error, RSET-less disconnect, or pending close). */
	void (*data_abort)(void *ctx);
};

enum smtp_session_flag {
	SMTP_OFFER_STARTTLS = 1 << 0, /* a TLS context exists */
	SMTP_ALLOW_XCLIENT = 1 << 1,  /* the peer is in smtp.xclient_networks */
};

struct smtp_session_params {
	const char *hostname; /* borrowed; outlives the session */
	size_t max_line;      /* bytes incl. CRLF */
	uint64_t max_message_size;
	size_t max_recipients;
	unsigned max_errors;
	unsigned flags; /* enum smtp_session_flag */
};

enum smtp_greet {
	SMTP_GREET_OK,       /* 220 */
	SMTP_GREET_BUSY,     /* 421 4.3.2 too many sessions */
	SMTP_GREET_PER_IP,   /* 421 4.7.0 too many sessions from this address */
	SMTP_GREET_DRAINING, /* 421 4.3.2 shutting down */
};

enum smtp_session_want {
	SMTP_WANT_NONE = 0,
	SMTP_WANT_CLOSE = 1 << 0, /* flush the output, then close */
	SMTP_WANT_TLS = 1 << 1,   /* flush the 220, then start the TLS handshake */
	SMTP_WANT_WAIT = 1 << 2,  /* waiting for the backend: stop reading */
};

enum smtp_phase { SMTP_PHASE_COMMAND, SMTP_PHASE_DATA, SMTP_PHASE_WAIT };

struct smtp_session;

/* NULL on allocation failure. The peer strings are copied. */
struct smtp_session *smtp_session_new(const struct smtp_session_params *p, const char *client_ip,
                                      const char *client_host);
void smtp_session_free(struct smtp_session *s);
void smtp_session_set_backend(struct smtp_session *s, const struct smtp_session_ops *ops,
                              void *ctx);
void smtp_session_set_wakeup(struct smtp_session *s, void (*wakeup)(void *arg), void *arg);

/* Send the greeting (or a 421 that closes). Input that came earlier marks an early talker. */
void smtp_session_greet(struct smtp_session *s, enum smtp_greet kind);
/* Consume input; returns the bytes used (all unless waiting, closing or switching to TLS). */
size_t smtp_session_feed(struct smtp_session *s, const char *p, size_t len);
/* The backend's answer to data_close. */
void smtp_session_data_done(struct smtp_session *s, const struct smtp_reply *r);
/* The command or data timer fired: 421 and close. */
void smtp_session_timeout(struct smtp_session *s);
/* Shutting down: an idle session gets 421 now, a busy one after its transaction. */
void smtp_session_drain(struct smtp_session *s);
/* TLS is up (info: protocol and cipher, for trace headers): forget everything said before
 * (RFC 3207 4.2). */
void smtp_session_tls_started(struct smtp_session *s, const char *info);

/* Reply bytes to send; the caller sends them and buf_reset()s. */
struct buf *smtp_session_output(struct smtp_session *s);
unsigned smtp_session_wants(const struct smtp_session *s); /* enum smtp_session_want */
enum smtp_phase smtp_session_phase(const struct smtp_session *s);
/* Bumped for every complete command and every data read: the timers restart on change. */
uint64_t smtp_session_progress(const struct smtp_session *s);
/* The peer as the session knows it (XCLIENT may have changed it). */
const char *smtp_session_client_ip(const struct smtp_session *s);
int smtp_session_early_talker(const struct smtp_session *s);

#endif
