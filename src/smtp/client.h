/*
 * smtp client - the delivery side of SMTP: one connection to a tenant's server, used by qmgr's
 * delivery threads with blocking I/O and socket timeouts (a connection belongs to one thread at
 * a time; qmgr hands it from job to job for reuse).
 *
 * It speaks ESMTP with PIPELINING when offered (MAIL, every RCPT and DATA in one write),
 * opportunistic STARTTLS (no certificate verification: the point is to hide the traffic from
 * passive observers, and an unverifiable peer still beats plain text), 8BITMIME, and
 * dot-stuffs the message on the way out. Limits: reply lines of SMTP_CLIENT_LINE_MAX bytes and
 * SMTP_CLIENT_REPLY_LINES lines per reply; anything longer is a protocol error.
 */
#ifndef MX_SMTP_CLIENT_H
#define MX_SMTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

/* RFC 5321 4.5.3.1.5: a reply line is at most 512 octets; we take up to 2 KiB before calling
 * the peer broken. */
#define SMTP_CLIENT_LINE_MAX 2048
/* EHLO replies list extensions one per line; 64 is several times what real servers send. */
#define SMTP_CLIENT_REPLY_LINES 64
/* What we keep of a reply's text for logs and DSNs. */
#define SMTP_CLIENT_TEXT_MAX 400

struct smtp_reply {
	int code;                        /* 250, 451, 550 ...; 0 = no reply (connection lost) */
	char text[SMTP_CLIENT_TEXT_MAX]; /* "550 5.1.1 no such user" (first line, sanitised) */
};

struct smtp_client;
struct ssl_ctx_st;

struct smtp_client_opts {
	const char *helo;       /* our name in EHLO */
	struct ssl_ctx_st *tls; /* NULL: never STARTTLS */
	unsigned timeout_s;     /* per read/write */
};

/*
 * Connect to host:port, read the greeting, EHLO (HELO if refused), STARTTLS when offered and
 * opts->tls is set (then EHLO again). NULL on failure with the reason in *why (a reply with
 * code 0 for a network failure, or the server's refusal).
 */
struct smtp_client *smtp_client_connect(const char *host, uint16_t port,
                                        const struct smtp_client_opts *opts,
                                        struct smtp_reply *why);
/* Did STARTTLS succeed on this connection? */
int smtp_client_tls(const struct smtp_client *c);
/* Can this connection carry another transaction? */
int smtp_client_usable(const struct smtp_client *c);
/* QUIT (best effort) and free. NULL is fine. */
void smtp_client_close(struct smtp_client *c);

/*
 * The message: prefix bytes (headers we add, CRLF line ends) then bytes [off, off+len) of fd.
 * The body must already use CRLF line ends and not be dot-stuffed.
 */
struct smtp_client_msg {
	const char *from;
	const char *const *rcpts;
	size_t nrcpts;
	int body_8bit;
	int smtputf8; /* RFC 6531: sent when the server offers it */
	const char *prefix;
	size_t prefix_len;
	int fd;
	uint64_t off, len;
};

/*
 * One transaction. rcpt_replies (nrcpts of them) get each RCPT's reply; *final gets the reply
 * that decides the message for the accepted recipients (the end-of-data reply, or MAIL's or
 * DATA's refusal). Returns 0 when the dialogue completed (look at the replies), or -errno when
 * the connection broke (every recipient without a final 2xx must be retried; the connection is
 * then unusable). Bytes of the message written are added to *bytes_out.
 */
int smtp_client_send(struct smtp_client *c, const struct smtp_client_msg *m,
                     struct smtp_reply *rcpt_replies, struct smtp_reply *final,
                     uint64_t *bytes_out);

#endif
